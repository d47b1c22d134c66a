"""Edits made in /admin/ to what shapes a decision are audit events in the same chain,
with before and after: departments (and their checklists), components, group membership
(who reviews), the scan policy and gate policies. Through the real admin pages."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from core.audit import verify_chain
from core.models import AuditEvent
from governance.models import ChecklistQuestion
from releases.models import GatePolicy
from scans.models import ScanPolicy


@pytest.fixture
def office(client, world):
    client.force_login(world.admin)
    return client


def _events(model: str):
    return [e for e in AuditEvent.objects.filter(action__startswith="admin.") if
            e.after.get("model", e.before.get("model")) == model]  # fmt: skip


def test_a_department_quorum_changed_in_the_admin_is_audited(office, world):
    legal = world.departments["legal"]
    page = office.get(f"/admin/governance/department/{legal.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        {
            "slug": legal.slug, "name": legal.name, "reviewer_group": legal.reviewer_group_id,
            "quorum": 2, "sla_days": legal.sla_days, "position": legal.position,
            "is_active": "on",
        }
    )  # fmt: skip
    questions = list(legal.questions.all())
    data.update(
        {
            "questions-TOTAL_FORMS": str(len(questions)),
            "questions-INITIAL_FORMS": str(len(questions)),
            "questions-MIN_NUM_FORMS": "0",
            "questions-MAX_NUM_FORMS": "1000",
        }
    )
    for i, q in enumerate(questions):
        data.update(
            {
                f"questions-{i}-id": q.pk, f"questions-{i}-department": legal.pk,
                f"questions-{i}-position": q.position,
                f"questions-{i}-text": q.text if i else "Reworded: " + q.text,
                f"questions-{i}-help_text": q.help_text, f"questions-{i}-is_active": "on",
            }
        )  # fmt: skip
    response = office.post(f"/admin/governance/department/{legal.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    legal.refresh_from_db()
    assert legal.quorum == 2
    (changed,) = _events("governance.department")
    assert changed.actor_name == "admin"
    assert changed.before["quorum"] == 1 and changed.after["quorum"] == 2
    (question,) = _events("governance.checklistquestion")
    assert question.after["text"].startswith("Reworded: ")
    assert question.before["text"] == ChecklistQuestion.objects.get(pk=questions[0].pk).text[10:]
    assert verify_chain() is None


def test_making_someone_a_reviewer_in_the_admin_is_audited(office, world):
    security = Group.objects.get(department__slug="security")
    bob = world.bob
    page = office.get(f"/admin/auth/user/{bob.pk}/change/")
    form = page.context["adminform"].form
    data = {
        "username": bob.username, "email": bob.email, "is_active": "on",
        "groups": [security.pk], "date_joined_0": form.initial["date_joined"].strftime("%Y-%m-%d"),
        "date_joined_1": form.initial["date_joined"].strftime("%H:%M:%S"),
    }  # fmt: skip
    response = office.post(f"/admin/auth/user/{bob.pk}/change/", data)
    assert response.status_code == 302, response.content[:3000]
    (event,) = _events("auth.user")
    assert event.before["groups"] == [] and event.after["groups"] == [security.pk]
    assert "password" not in event.before and "password" not in event.after


def test_policies_edited_in_the_admin_are_audited(office, world):
    ScanPolicy.objects.create(pk=1, licenses_denied=["GPL-3.0-only"])
    response = office.post(
        "/admin/scans/scanpolicy/1/change/",
        {
            "internal_domains": "[]", "internal_packages": "[]",
            "internal_email_domains": "[]", "internal_patterns": "[]",
            "licenses_allowed": "[]", "licenses_denied": "[]", "fixture_severity": "warning",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content[:2000]
    (event,) = _events("scans.scanpolicy")
    assert event.before["licenses_denied"] == ["GPL-3.0-only"]
    assert event.after["licenses_denied"] == []

    response = office.post("/admin/releases/gatepolicy/add/", {"gates": '["reviews", "scan"]'})
    assert response.status_code == 302, response.content[:2000]
    (added,) = _events("releases.gatepolicy")
    assert added.action == "admin.added" and added.after["gates"] == ["reviews", "scan"]
    policy = GatePolicy.objects.get()
    response = office.post(f"/admin/releases/gatepolicy/{policy.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    deleted = [e for e in _events("releases.gatepolicy") if e.action == "admin.deleted"]
    assert deleted and deleted[0].before["gates"] == ["reviews", "scan"]
    assert verify_chain() is None


def test_an_admin_save_that_changes_nothing_writes_nothing(office, world):
    legal = world.departments["legal"]
    before = AuditEvent.objects.count()
    response = office.post(
        "/admin/governance/department/",
        {
            "form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-MIN_NUM_FORMS": "0",
            "form-MAX_NUM_FORMS": "1000", "form-0-id": legal.pk, "form-0-quorum": legal.quorum,
            "form-0-sla_days": legal.sla_days, "form-0-is_active": "on", "_save": "Save",
        },
    )  # fmt: skip
    assert response.status_code == 302
    assert AuditEvent.objects.count() == before


def test_a_password_set_in_the_admin_is_audited_without_the_password(office, world):
    response = office.post(
        f"/admin/auth/user/{world.bob.pk}/password/",
        {"password1": "a-new-Secret-9876", "password2": "a-new-Secret-9876"},
    )
    assert response.status_code == 302, response.content[:2000]
    (event,) = _events("auth.user")
    assert event.after["change"] and "Secret" not in str(event.after)
    assert "password" not in event.after
