"""API plumbing every Gatehouse app shares, switched on in settings.REST_FRAMEWORK.

Services raise Django's ValidationError and PermissionDenied; ``api_exception_handler``
turns those into the same 400 and 403 bodies a serializer error or a DRF permission
error has, so a client sees one error shape whichever layer refused the request.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, pagination, parsers, permissions, throttling
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.settings import api_settings

from core import tokens


def validation_error_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A service's ValidationError as DRF reports field errors: field -> [messages]."""
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    if hasattr(exc, "error_dict"):
        return {
            (non_field if field == "__all__" else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {non_field: exc.messages}


def api_exception_handler(exc, context):
    """DRF's handler, plus the exceptions our services raise."""
    # Imported here: rest_framework.views reads the parser and paging settings, which
    # name classes of this module, when it is first imported.
    from rest_framework.views import exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_error_detail(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        # Services deny with a reason a person can read; pass it on as `detail`.
        exc = exceptions.PermissionDenied(str(exc) or None)
    return exception_handler(exc, context)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, but a body nested deeper than Python's recursion limit (a few
    kilobytes of ``[``) is a 400, not a RecursionError and a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """The project's paging, bounded: an enormous ``limit`` or ``offset`` would overflow
    the database's integer and fail the request."""

    max_limit = 500
    max_offset = 10**9

    def get_offset(self, request):
        return min(super().get_offset(request), self.max_offset)


# --------------------------------------------------------------------------- throttling


class _SettingsRate:
    """Read the rate from the settings when asked, not when the class was defined, so a
    deployment (or a test) that changes DEFAULT_THROTTLE_RATES is obeyed."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class AnonThrottle(_SettingsRate, throttling.AnonRateThrottle):
    pass


class UserThrottle(_SettingsRate, throttling.UserRateThrottle):
    pass


class TokenFailureThrottle(_SettingsRate, throttling.SimpleRateThrottle):
    """Counts wrong API tokens per client address. Over the rate, that address gets 429
    for every token until the window has passed: tokens cannot be guessed at speed."""

    scope = "token_failures"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def wait_if_blocked(self, request) -> float | None:
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return self.wait() if len(self.history) >= self.num_requests else None

    def record_failure(self) -> None:
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


class IsAuthenticatedThrottled(permissions.IsAuthenticated):
    """IsAuthenticated, but an anonymous request is counted against the anonymous rate
    before it is refused. DRF checks permissions before throttles, so without this a
    refused request would never be counted at all."""

    def has_permission(self, request, view):
        if super().has_permission(request, view):
            return True
        view.check_throttles(request)
        return False


# --------------------------------------------------------------------------- tokens


class ApiTokenAuthentication(BaseAuthentication):
    """``Authorization: Token gth_...`` (or ``Bearer``): a personal token, stored hashed,
    that expires and can be revoked (core.tokens). Wrong tokens are throttled per address."""

    keywords = (b"token", b"bearer")

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        throttle = TokenFailureThrottle()
        wait = throttle.wait_if_blocked(request)
        if wait is not None:
            raise exceptions.Throttled(wait, detail="Too many wrong API tokens from your address.")
        token = None
        if len(parts) == 2:
            try:
                token = tokens.token_authenticate(parts[1].decode("ascii"))
            except UnicodeDecodeError:
                token = None
        if token is None:
            throttle.record_failure()
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API token.")
        return token.user, token

    def authenticate_header(self, request):
        return "Token"


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the schema describes the token: an Authorization header."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'A personal token from /account/tokens/: "Token gth_...".',
        }
