"""The Celery application; tasks are discovered in each app's ``tasks.py``."""

import os

from celery import Celery, bootsteps, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("gatehouse")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class WorkerHeartbeat(bootsteps.StartStopStep):
    """While the worker's consumer runs (connected to the broker, its task consumers
    started), a thread writes the heartbeat /healthz reads, naming the queues it consumes.
    The consumer stops this step when it loses the broker and on shutdown: the thread
    deletes the row then, so a worker that is not consuming stops counting at once."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.thread = None

    def start(self, parent):
        from core.health import WORKER_PREFIX, HeartbeatThread

        self.stop(parent)
        queues = sorted(parent.app.amqp.queues.consume_from or ())
        self.thread = HeartbeatThread(f"{WORKER_PREFIX}{parent.hostname}", queues=queues)
        self.thread.start()

    def stop(self, parent):
        if self.thread is not None:
            self.thread.stop()
            self.thread = None

    shutdown = stop


app.steps["consumer"].add(WorkerHeartbeat)


@signals.beat_init.connect
def _beat_heartbeat(sender, **kwargs):
    """Beat writes its heartbeat from a thread while its scheduler loop keeps ticking (the
    thread ends with the process; the row then goes stale)."""
    from core.health import BEAT, HeartbeatThread, beat_ticking

    sender.gatehouse_heartbeat = HeartbeatThread(BEAT, alive=beat_ticking(sender)).start()


@app.on_after_configure.connect
def _create_filesystem_broker_folders(sender, **kwargs):
    """The file-system transport needs its folders before the first message."""
    options = sender.conf.broker_transport_options or {}
    if str(sender.conf.broker_url).startswith("filesystem://"):
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            if options.get(key):
                os.makedirs(options[key], exist_ok=True)


@signals.worker_init.connect
def _load_detectors(**kwargs):
    """Compile the scan detectors' patterns once, as the worker starts (before a prefork
    pool forks its children, which inherit them), so no scan pays for it."""
    from scans.engine import engine_version

    engine_version()
