"""How each forge proves a push webhook is its own, and where it says what was pushed.

Plain Python over a request's headers (a case-insensitive mapping) and raw body:

- GitHub signs the body with HMAC-SHA256 under the hook's secret, in
  ``X-Hub-Signature-256: sha256=<hex>``; ``X-GitHub-Delivery`` names the delivery.
- GitLab sends the secret itself as ``X-Gitlab-Token``; ``Idempotency-Key`` (GitLab 17)
  or ``X-Gitlab-Event-UUID`` names the delivery.
- Gitea signs like GitHub without the prefix, in ``X-Gitea-Signature``; Forgejo sends the
  same as ``X-Forgejo-*`` (and the Gitea names too).

Every comparison is in constant time. A forge's redelivery keeps its delivery id, so a
replay is refused by that id; and nothing in the body is trusted beyond the pushed ref's
name: Gatehouse resolves the branch itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    #: Header names, first present wins.
    event_headers: tuple[str, ...]
    delivery_headers: tuple[str, ...]
    #: The event names that are a push (branch or tag).
    push_events: frozenset[str]
    verify: Callable[[Mapping[str, str], bytes, str], str | None]

    def _first(self, headers: Mapping[str, str], names: tuple[str, ...]) -> str:
        return next((headers[n].strip() for n in names if headers.get(n, "").strip()), "")

    def event(self, headers: Mapping[str, str]) -> str:
        return self._first(headers, self.event_headers)[:60]

    def delivery_id(self, headers: Mapping[str, str]) -> str:
        return self._first(headers, self.delivery_headers)


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _verify_github(headers: Mapping[str, str], body: bytes, secret: str) -> str | None:
    given = headers.get("X-Hub-Signature-256", "")
    if not given:
        return "No X-Hub-Signature-256 header: set the hook's secret at the forge."
    if not hmac.compare_digest(given.encode(), f"sha256={_hmac_hex(secret, body)}".encode()):
        return "The signature does not match the hook's secret."
    return None


def _verify_gitlab(headers: Mapping[str, str], body: bytes, secret: str) -> str | None:
    given = headers.get("X-Gitlab-Token", "")
    if not given:
        return "No X-Gitlab-Token header: set the hook's secret token at the forge."
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return "The token is not the hook's secret."
    return None


def _verify_gitea(headers: Mapping[str, str], body: bytes, secret: str) -> str | None:
    given = headers.get("X-Forgejo-Signature") or headers.get("X-Gitea-Signature") or ""
    if not given:
        return "No X-Gitea-Signature header: set the hook's secret at the forge."
    if not hmac.compare_digest(given.strip().lower().encode(), _hmac_hex(secret, body).encode()):
        return "The signature does not match the hook's secret."
    return None


_GITEA = {
    "event_headers": ("X-Forgejo-Event", "X-Gitea-Event"),
    "delivery_headers": ("X-Forgejo-Delivery", "X-Gitea-Delivery"),
    "push_events": frozenset({"push"}),
    "verify": _verify_gitea,
}

PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            name="github", label="GitHub", event_headers=("X-GitHub-Event",),
            delivery_headers=("X-GitHub-Delivery",), push_events=frozenset({"push"}),
            verify=_verify_github,
        ),
        Provider(
            name="gitlab", label="GitLab", event_headers=("X-Gitlab-Event",),
            delivery_headers=("Idempotency-Key", "X-Gitlab-Event-UUID"),
            push_events=frozenset({"Push Hook", "Tag Push Hook"}), verify=_verify_gitlab,
        ),
        Provider(name="gitea", label="Gitea", **_GITEA),
        Provider(name="forgejo", label="Forgejo", **_GITEA),
    )
}  # fmt: skip


def guess_provider(url: str) -> str:
    """The adapter a repository's forge most likely speaks, from its URL's host."""
    host = url.split("://", 1)[-1].split("/", 1)[0].lower()
    if "github" in host:
        return "github"
    if "gitlab" in host:
        return "gitlab"
    if "forgejo" in host or "codeberg" in host:
        return "forgejo"
    return "gitea"
