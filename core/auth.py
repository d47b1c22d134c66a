"""Authentication pieces: the sign-in lockout backend."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, first in AUTHENTICATION_BACKENDS: a locked-out account
    is refused before its password is looked at. Every sign-in a person can reach (the
    login page, the admin's) passes its request; code that authenticates without one (the
    test client's login) has no address or form to lock and is left to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_address(request) -> str:
    """The client's address, the way DRF's throttles read it: REMOTE_ADDR, unless
    GATEHOUSE_NUM_PROXIES proxies are in front, then the address the outermost of them
    saw (X-Forwarded-For, counted from the right, so a client cannot choose it)."""
    from django.conf import settings

    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-min(proxies, len(hops))] if hops else remote
