"""What a forge sends: a push body and each provider's headers, signed its own way."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from urllib.parse import urlencode


def push_body(ref: str = "refs/heads/main", after: str = "", before: str = "0" * 40) -> bytes:
    return json.dumps(
        {"ref": ref, "before": before, "after": after or "1" * 40, "commits": [],
         "repository": {"full_name": "corp/mq-core"}, "object_kind": "push"}
    ).encode()  # fmt: skip


def _hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers_for(
    provider: str, secret: str, body: bytes, *, event: str = "push", delivery: str | None = None
) -> dict[str, str]:
    """Django test-client keyword headers for ``provider``'s delivery of ``body``."""
    delivery = delivery or str(uuid.uuid4())
    if provider == "github":
        return {"HTTP_X_GITHUB_EVENT": event, "HTTP_X_GITHUB_DELIVERY": delivery,
                "HTTP_X_HUB_SIGNATURE_256": f"sha256={_hmac(secret, body)}"}  # fmt: skip
    if provider == "gitlab":
        name = {"push": "Push Hook", "ping": "System Hook"}.get(event, event)
        return {"HTTP_X_GITLAB_EVENT": name, "HTTP_X_GITLAB_EVENT_UUID": delivery,
                "HTTP_X_GITLAB_TOKEN": secret}  # fmt: skip
    if provider == "gitea":
        return {"HTTP_X_GITEA_EVENT": event, "HTTP_X_GITEA_DELIVERY": delivery,
                "HTTP_X_GITEA_SIGNATURE": _hmac(secret, body)}  # fmt: skip
    if provider == "forgejo":
        return {"HTTP_X_FORGEJO_EVENT": event, "HTTP_X_FORGEJO_DELIVERY": delivery,
                "HTTP_X_FORGEJO_SIGNATURE": _hmac(secret, body)}  # fmt: skip
    raise ValueError(provider)


def as_form(body: bytes) -> bytes:
    """``body`` as GitHub and Gitea send it when the hook's content type is a form."""
    return urlencode({"payload": body.decode()}).encode()


def send(client, url: str, body: bytes, headers: dict[str, str], *, form: bool = False):
    kind = "application/x-www-form-urlencoded" if form else "application/json"
    return client.generic("POST", url, body, content_type=kind, **headers)
