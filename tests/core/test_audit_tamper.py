"""Someone with database access tries to rewrite history, the ways issue 9 names: edit an
event and recompute the whole chain with plain SHA-256, delete an event, cut the newest
events and fix the chain head by hand, edit the anchor file. Each is caught and named."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core.audit import _digest_of, anchor_chain_head, audit_record, read_anchors, verify
from core.models import AuditChainHead, AuditEvent
from core.tasks import anchor_audit_chain


def _sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _rechain_plainly(from_seq: int) -> None:
    """What a forger without the key does: recompute every hash from ``from_seq`` on and
    point the chain head at the new end, exactly as the old code's verifier wanted."""
    events = list(AuditEvent.objects.order_by("seq"))
    prev = events[from_seq - 2].hash if from_seq > 1 else ""
    for event in events[from_seq - 1 :]:
        event.prev_hash = prev
        new_hash = _digest_of(event)
        _sql(
            "UPDATE core_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s",
            [prev, new_hash, event.seq],
        )
        prev = new_hash
    last = events[-1].seq
    _sql("UPDATE core_auditchainhead SET last_seq = %s, last_hash = %s", [last, prev])


@pytest.fixture
def history(audited):
    return audited


def test_an_edit_with_the_whole_chain_recomputed_is_named(history):
    target = AuditEvent.objects.get(action="signoff.approve")
    _sql("UPDATE core_auditevent SET actor_name = %s WHERE seq = %s", ["someone-else", target.seq])
    _rechain_plainly(target.seq)
    # Every hash and link is consistent again; only the seals know.
    with pytest.raises(CommandError, match=f"event #{target.seq} was altered"):
        call_command("audit_verify")


def test_cutting_the_newest_events_and_fixing_the_head_is_named_by_the_anchor(history):
    anchor = anchor_chain_head()
    assert anchor is not None and anchor.seq == AuditEvent.objects.count()
    cut_from = anchor.seq - 1
    _sql("DELETE FROM core_auditevent WHERE seq >= %s", [cut_from])
    survivor = AuditEvent.objects.order_by("-seq").first()
    _sql(
        "UPDATE core_auditchainhead SET last_seq = %s, last_hash = %s",
        [survivor.seq, survivor.hash],
    )
    with pytest.raises(CommandError, match=f"event #{cut_from} is missing: .*cut from the end"):
        call_command("audit_verify")


def test_cutting_after_the_newest_anchor_is_caught_by_the_sealed_head(history):
    last = AuditEvent.objects.order_by("-seq").first().seq
    _sql("DELETE FROM core_auditevent WHERE seq = %s", [last])
    survivor = AuditEvent.objects.get(seq=last - 1)
    _sql(
        "UPDATE core_auditchainhead SET last_seq = %s, last_hash = %s",
        [survivor.seq, survivor.hash],
    )
    with pytest.raises(CommandError, match="the chain head was altered"):
        call_command("audit_verify")


def test_an_event_rewritten_before_an_anchor_disagrees_with_it(history, settings):
    anchor_chain_head()
    # Even a forger holding the key cannot change what the file already says.
    target = AuditEvent.objects.order_by("-seq").first()
    _sql("UPDATE core_auditevent SET actor_name = %s WHERE seq = %s", ["x", target.seq])
    _rechain_plainly(target.seq)
    from core.audit import event_seal, head_seal

    forged = AuditEvent.objects.get(seq=target.seq)
    key = settings.GATEHOUSE_AUDIT_KEY
    _sql(
        "UPDATE core_auditevent SET seal = %s WHERE seq = %s",
        [event_seal(key, forged.hash), forged.seq],
    )
    _sql("UPDATE core_auditchainhead SET seal = %s", [head_seal(key, forged.seq, forged.hash)])
    problem = verify().problem
    assert problem is not None and problem.seq == target.seq
    assert "differs from the anchor" in problem.message


def test_an_edited_anchor_line_is_named(history, settings):
    anchor_chain_head()
    path = settings.GATEHOUSE_AUDIT_ANCHOR_FILE
    record = json.loads(path.read_text())
    record["seq"] = 1
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(CommandError, match="anchor line 1 was altered"):
        call_command("audit_verify")


def test_the_anchor_task_appends_only_when_the_head_moved(history, settings, world):
    assert anchor_audit_chain() == 1
    assert anchor_audit_chain() == 0  # nothing new: nothing written
    audit_record(actor=None, action="test.more", obj=world.departments["legal"])
    assert anchor_audit_chain() == 1
    anchors, broken = read_anchors(settings.GATEHOUSE_AUDIT_ANCHOR_FILE)
    assert [a.seq for a in anchors] == sorted(a.seq for a in anchors) and not broken
    assert anchors[-1].seq == AuditChainHead.objects.get().last_seq
    report = verify()
    assert report.problem is None and report.anchors == 2


def test_seals_made_under_a_rotated_key_still_verify(history, settings):
    old = settings.GATEHOUSE_AUDIT_KEY
    settings.GATEHOUSE_AUDIT_KEY = b"a-new-audit-key-after-rotation-0123456789"
    settings.GATEHOUSE_AUDIT_OLD_KEYS = [old]
    submit_more = AuditEvent.objects.count()
    audit_record(actor=None, action="test.after-rotation", obj=history)
    assert AuditEvent.objects.count() == submit_more + 1
    assert verify().problem is None
    settings.GATEHOUSE_AUDIT_OLD_KEYS = []  # the old key forgotten: its seals cannot be checked
    assert "was altered" in verify().problem.message


def test_no_secret_field_reaches_the_log(world):
    from core.admin import snapshot

    assert "password" not in snapshot(world.alice)
