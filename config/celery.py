"""The Celery application; tasks are discovered in each app's ``tasks.py``."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("gatehouse")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
