"""Talking to the Celery broker from the web process: is it reachable, how deep are the
queues. Both questions are asked through kombu, so they read Redis and the file-system
transport alike, with short timeouts: a health probe or a scrape must not hang on a
broker that does not answer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from kombu import Connection
from kombu.exceptions import ChannelError

#: Seconds a probe or a scrape waits for the broker (connecting, then each reply).
BROKER_TIMEOUT = 1.0


def app_queues() -> list[str]:
    """The queues Gatehouse sends tasks to: the default one and those the routes name."""
    queues = {settings.CELERY_TASK_DEFAULT_QUEUE}
    for route in settings.CELERY_TASK_ROUTES.values():
        if isinstance(route, dict) and route.get("queue"):
            queues.add(route["queue"])
    return sorted(queues)


@contextmanager
def broker_connection(timeout: float = BROKER_TIMEOUT) -> Iterator[Connection]:
    """A connection to the configured broker, established (one attempt, no retries) and
    released at the end. Raises whatever the transport raises when it cannot connect."""
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS or {})
    options.update(socket_timeout=timeout, socket_connect_timeout=timeout)
    connection = Connection(
        settings.CELERY_BROKER_URL, connect_timeout=timeout, transport_options=options
    )
    try:
        connection.ensure_connection(max_retries=0, timeout=timeout)
        _check_folders(connection)
        yield connection
    finally:
        connection.release()


def _check_folders(connection: Connection) -> None:
    """The file-system transport "connects" to anything; it works only when its message
    folders exist and can be written."""
    if connection.transport.driver_type != "filesystem":
        return
    options = connection.transport_options
    for key in ("data_folder_in", "data_folder_out"):
        folder = options.get(key)
        if not folder or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise OSError(f"the broker's {key} is not a writable folder")


def broker_reachable(timeout: float = BROKER_TIMEOUT) -> bool:
    """One real round trip to the broker (Redis answers a PING as the channel opens)."""
    try:
        with broker_connection(timeout) as connection:
            connection.default_channel  # noqa: B018 - opening it is the round trip
    except Exception:  # noqa: BLE001 - any failure to reach the broker means "failing"
        return False
    return True


def queue_depths(queues: list[str] | None = None, timeout: float = BROKER_TIMEOUT):
    """Messages waiting in each queue, {name: count}: Redis's list lengths (every priority
    step), or the file-system transport's message files for that queue. A queue the broker
    has never seen holds 0. Raises when the broker cannot be reached."""
    depths = {}
    with broker_connection(timeout) as connection:
        channel = connection.default_channel
        for name in queues or app_queues():
            try:
                depths[name] = channel.queue_declare(queue=name, passive=True).message_count
            except ChannelError as exc:
                if str(exc.reply_code) != "404":  # not found: Redis keeps no empty list
                    raise
                depths[name] = 0
    return depths
