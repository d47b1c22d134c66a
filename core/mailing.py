"""Tasks that send mail: a relay that is down or restarting (refused, hung up, timed out)
is tried again with backoff, for about half an hour in all, like a lost database
connection; an address the relay refuses is not (trying again changes nothing)."""

from __future__ import annotations

import smtplib

from django.db import InterfaceError, OperationalError

RELAY_DOWN = (
    ConnectionError,
    TimeoutError,
    smtplib.SMTPConnectError,
    smtplib.SMTPServerDisconnected,
)


def mail_task_options() -> dict:
    """The retry options of a Celery task whose work is sending mail (idempotent by its
    own claims, so a retry never sends one message twice)."""
    return {
        "acks_late": True,
        "autoretry_for": (OperationalError, InterfaceError, *RELAY_DOWN),
        "retry_backoff": 30,
        "retry_backoff_max": 600,
        "max_retries": 5,
    }
