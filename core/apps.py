from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Gatehouse core"

    def ready(self):
        # The admin has registered every app's models by now (django.contrib.admin comes
        # first in INSTALLED_APPS): from here on, every edit made in /admin/ is audited.
        from django.contrib import admin

        from core.admin import audit_every_admin

        audit_every_admin(admin.site)
