"""The web edge, attacked from outside: password guessing, token guessing, tokens at
rest, the Content-Security-Policy and production's transport security."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import ApiToken, AuditEvent
from core.tokens import token_create, token_revoke
from governance.models import Component
from notifications.models import Notification
from notifications.services import notification_email, outbox_drain
from tests.conftest import PASSWORD, submit

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- sign-in


def test_forty_wrong_passwords_lock_the_account_even_for_the_right_one(client, world):
    for _ in range(40):
        response = client.post("/accounts/login/", {"username": "alice", "password": "guess"})
        assert response.status_code in (200, 429)
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # From another address too: the lock is on the account, not on one connection.
    other = type(client)(REMOTE_ADDR="10.9.9.9")
    response = other.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429 and "_auth_user_id" not in other.session


def test_a_few_mistakes_do_not_lock_anyone_out(client, world):
    for _ in range(3):
        client.post("/accounts/login/", {"username": "bob", "password": "typo"})
    response = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(world.bob.pk)


def test_spraying_one_password_over_many_accounts_locks_the_address(client, world):
    for name in ["alice", "bob", "tina", "cora", "leo", "sam"]:
        client.post("/accounts/login/", {"username": name, "password": "Summer2026!"})
    response = client.post("/accounts/login/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 429


def test_a_forged_forwarded_for_header_does_not_pick_a_fresh_address(client, world):
    for n in range(6):
        client.post(
            "/accounts/login/",
            {"username": f"nobody{n}", "password": "x"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.1",
    )
    assert response.status_code == 429


# --------------------------------------------------------------------------- API tokens


def test_tokens_are_stored_hashed_and_shown_once(client, world):
    client.force_login(world.alice)
    made = client.post("/account/tokens/", {"name": "CI pipeline", "days": 30})
    assert made.status_code == 201
    key = made.context["new_key"]
    assert key.startswith("gth_") and key in made.content.decode()
    token = ApiToken.objects.get(user=world.alice)
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(list(ApiToken.objects.values()))
    assert key not in str(list(AuditEvent.objects.values()))
    later = client.get("/account/tokens/")
    assert key not in later.content.decode() and token.prefix in later.content.decode()
    # The key works for the API, and the page says when it was last used.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/components/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_revoked_or_expired_token_stops_working(world):
    token, key = token_create(user=world.bob, name="laptop")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/components/").status_code == 200
    token_revoke(token=token, actor=world.bob)
    refused = api.get("/api/components/")
    assert refused.status_code == 401
    assert refused.json()["detail"] == "Invalid, expired or revoked API token."

    token, key = token_create(user=world.bob, name="short", days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/components/").status_code == 401


def test_a_token_cannot_outlive_the_policy_or_be_made_for_someone_else(client, world):
    client.force_login(world.alice)
    response = client.post("/account/tokens/", {"name": "forever", "days": 10_000})
    assert response.status_code == 400 and not ApiToken.objects.exists()
    with pytest.raises(Exception, match="only make API tokens for yourself"):
        token_create(user=world.bob, name="not mine", actor=world.alice)
    # Revoking someone else's token through the page is a 404, and nothing changes.
    theirs, _ = token_create(user=world.bob, name="bob's")
    assert client.post(f"/account/tokens/{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_guessing_tokens_is_throttled_per_address(world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "token_failures": "5/min"
        },
    }  # fmt: skip
    _, real = token_create(user=world.alice, name="real")
    api = APIClient()
    codes = []
    for _ in range(8):
        api.credentials(HTTP_AUTHORIZATION=f"Token gth_{secrets.token_urlsafe(30)}")
        codes.append(api.get("/api/components/").status_code)
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    # Once over the limit, even the right token waits: guessing buys nothing.
    api.credentials(HTTP_AUTHORIZATION=f"Token {real}")
    assert api.get("/api/components/").status_code == 429
    # Another address is not held up by this one.
    other = APIClient(REMOTE_ADDR="10.1.1.1")
    other.credentials(HTTP_AUTHORIZATION=f"Token {real}")
    assert other.get("/api/components/").status_code == 200


def test_anonymous_api_requests_are_throttled(world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "3/min"
        },
    }  # fmt: skip
    api = APIClient()
    codes = [api.get("/api/components/").status_code for _ in range(5)]
    assert codes[:3] == [401] * 3
    assert codes[3:] == [429, 429]


def test_signed_in_api_use_is_throttled_per_person(world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "4/min"
        },
    }  # fmt: skip
    api = APIClient()
    api.force_authenticate(world.alice)
    codes = [api.get("/api/components/").status_code for _ in range(6)]
    assert codes == [200] * 4 + [429] * 2


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/", "/components/", "/api/components/", "/admin/", "/nope/"]
)
def test_every_page_carries_a_strict_content_security_policy(client, world, path):
    if path != "/accounts/login/":
        client.force_login(world.admin)
    response = client.get(path)
    policy = response["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["object-src"] == ["'none'"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_our_templates_carry_no_inline_script_or_style():
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        for marker in (" style=", "<style", " onclick=", " onchange=", " onsubmit=", "hx-on"):
            if marker in text:
                offenders.append(f"{template.relative_to(ROOT)}: {marker.strip()}")
        for chunk in text.split("<script")[1:]:
            tag = chunk.split(">", 1)[0]
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append(f"{template.relative_to(ROOT)}: inline <script>")
    assert not offenders, offenders


def _production_env(**extra) -> dict:
    env = {
        "PATH": os.environ["PATH"],
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "gatehouse.example.com",
        "GATEHOUSE_AUDIT_KEY": secrets.token_urlsafe(40),
        "GATEHOUSE_FINGERPRINT_KEY": secrets.token_urlsafe(40),
        "GATEHOUSE_EVIDENCE_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "GATEHOUSE_WEBHOOK_KEY": secrets.token_urlsafe(40),
        "GATEHOUSE_VAR_DIR": extra.pop("var"),
    }
    env.update(extra)
    return env


def test_check_deploy_is_clean_under_the_documented_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=_production_env(var=str(tmp_path)), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_its_keys(tmp_path):
    env = _production_env(var=str(tmp_path))
    del env["GATEHOUSE_AUDIT_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0 and "GATEHOUSE_AUDIT_KEY must be set" in result.stderr


def test_production_redirects_to_https_and_sends_hsts(tmp_path):
    script = (
        "import django; django.setup();"
        "from django.test import Client;"
        "c = Client(HTTP_HOST='gatehouse.example.com');"
        "r = c.get('/accounts/login/'); print(r.status_code, r['Location']);"
        "r = c.get('/api/components/', secure=True);"
        "print(r.status_code, r['Strict-Transport-Security'])"
    )
    env = _production_env(var=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    redirect, hsts = result.stdout.splitlines()
    assert redirect == "301 https://gatehouse.example.com/accounts/login/"
    assert hsts.startswith("401 max-age=31536000") and "includeSubDomains" in hsts


# --------------------------------------------------------------------------- names and mail


@pytest.mark.parametrize("name", ["Evil\nBcc: all@corp.example", "Tab\tbed", "Bidi\u202egnp.exe"])
def test_control_characters_are_refused_in_names(world, api, client, name):
    response = api(world.alice).post(
        "/api/components/",
        {"name": name, "slug": "evil", "license": "MIT", "open_paths": ["**"]},
        format="json",
    )
    assert response.status_code == 400 and "name" in response.json()
    client.force_login(world.admin)
    legal = world.departments["legal"]
    response = client.post(
        f"/admin/governance/department/{legal.pk}/change/",
        {"slug": legal.slug, "name": name, "reviewer_group": legal.reviewer_group_id,
         "quorum": 1, "sla_days": 5, "position": 0, "is_active": "on",
         "questions-TOTAL_FORMS": "0", "questions-INITIAL_FORMS": "0",
         "questions-MIN_NUM_FORMS": "0", "questions-MAX_NUM_FORMS": "1000"},
    )  # fmt: skip
    assert response.status_code == 200  # the form again, with the error
    assert "no line breaks" in response.content.decode()
    legal.refresh_from_db()
    assert legal.name == "Legal"


def test_a_stored_name_with_a_newline_no_longer_breaks_every_reviewer_mail(world, repo):
    submission = submit(world, repo)
    # A name stored before names were checked, read when the event is fanned out.
    Component.objects.filter(pk=submission.component_id).update(name="Legacy\nName")
    outbox_drain()
    note = Notification.objects.get(user=world.reviewers["legal"], kind="review")
    mail.outbox.clear()
    assert notification_email(notification_id=note.pk) == 1
    assert mail.outbox[0].subject == "[Gatehouse] Legal review needed: Legacy Name"


def test_pages_that_only_show_refuse_other_methods(client, world):
    """A page that changes nothing answers GET and HEAD only: a POST to it is a 405, not a
    page rendered as if it were a GET."""
    client.force_login(world.alice)
    for url in ("/community/", "/community/digests/", "/notifications/", "/notifications/bell/"):
        assert client.post(url).status_code == 405, url
        assert client.get(url).status_code == 200, url
