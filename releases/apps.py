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

        # The finding tallies the portfolio and the charts add up follow the findings; the
        # charts summary follows those and the reviews (tallies first: in tests the
        # debounced refresh runs at once).
        def findings_changed(sender, **kwargs):
            from releases.summaries import chart_summary_changed, finding_tallies_changed

            finding_tallies_changed(**kwargs)
            chart_summary_changed()

        def review_changed_charts(sender, **kwargs):
            from releases.summaries import chart_summary_changed

            chart_summary_changed()

        scan_finished.connect(findings_changed, weak=False, dispatch_uid="releases.summary.scan")
        finding_triaged.connect(
            findings_changed, weak=False, dispatch_uid="releases.summary.triage"
        )
        review_changed.connect(
            review_changed_charts, weak=False, dispatch_uid="releases.summary.review"
        )
