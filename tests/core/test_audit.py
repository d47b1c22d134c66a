import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core.audit import audit_record, verify_chain
from core.models import AppendOnlyError, AuditEvent


def test_chain_of_a_real_workflow_verifies(audited, capsys):
    assert verify_chain() is None
    call_command("audit_verify")
    assert "Audit chain intact" in capsys.readouterr().out


def test_events_link_to_the_one_before(audited):
    events = list(AuditEvent.objects.order_by("seq"))
    assert events[0].prev_hash == ""
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
        assert after.seq == before.seq + 1


def _sql(statement, params):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_altered_event_is_named(audited):
    target = AuditEvent.objects.order_by("seq")[2]
    _sql("UPDATE core_auditevent SET actor_name = %s WHERE seq = %s", ["mallory", target.seq])
    with pytest.raises(CommandError, match=f"event #{target.seq} was altered"):
        call_command("audit_verify")


def test_altered_payload_is_named(audited):
    target = AuditEvent.objects.get(action="signoff.approve")
    _sql("UPDATE core_auditevent SET after = %s WHERE seq = %s", ['{"forged": true}', target.seq])
    with pytest.raises(CommandError, match=f"event #{target.seq} was altered"):
        call_command("audit_verify")


def test_missing_event_in_the_middle_is_named(audited):
    _sql("DELETE FROM core_auditevent WHERE seq = %s", [3])
    with pytest.raises(CommandError, match="event #3 is missing"):
        call_command("audit_verify")


def test_missing_last_event_is_named(audited):
    last = AuditEvent.objects.order_by("-seq").first().seq
    _sql("DELETE FROM core_auditevent WHERE seq = %s", [last])
    with pytest.raises(CommandError, match=f"event #{last} is missing"):
        call_command("audit_verify")


def test_rehashed_forgery_is_named_by_its_seal(audited):
    """Recomputing a forged event's own hash does not help: its seal needs the audit key."""
    from core.audit import _digest_of

    target = AuditEvent.objects.order_by("seq")[1]
    target.actor_name = "mallory"
    forged_hash = _digest_of(target)
    _sql(
        "UPDATE core_auditevent SET actor_name = %s, hash = %s WHERE seq = %s",
        ["mallory", forged_hash, target.seq],
    )
    with pytest.raises(CommandError, match=f"event #{target.seq} was altered .its seal"):
        call_command("audit_verify")


def test_events_cannot_be_changed_or_deleted_through_the_orm(audited):
    event = AuditEvent.objects.first()
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_audit_record_without_actor_is_system(world):
    event = audit_record(actor=None, action="test.system", obj=world.departments["legal"])
    assert event.actor_name == "system" and event.object_type == "governance.department"
