from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "releases"

    def ready(self):
        # releases sits above reviews, scans and governance: it listens to what they report
        # and re-evaluates the gates of the component's open releases, after commit.
        from governance.signals import component_roles_changed
        from reviews.signals import review_changed
        from scans.signals import finding_triaged, scan_finished

        def queue(trigger):
            def receiver(sender, **kwargs):
                from releases.services import component_releases_changed

                component_releases_changed(trigger=trigger, **kwargs)

            return receiver

        for signal, trigger in [
            (review_changed, "review"),
            (scan_finished, "scan finished"),
            (finding_triaged, "finding triaged"),
            (component_roles_changed, "roles changed"),
        ]:
            signal.connect(queue(trigger), weak=False, dispatch_uid=f"releases.{trigger}")
