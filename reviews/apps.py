from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"

    def ready(self):
        from scans.signals import scan_finished

        def on_scan_finished(sender, scan_id, **kwargs):
            from reviews.services import submission_scan_finished

            submission_scan_finished(scan_id=scan_id)

        scan_finished.connect(on_scan_finished, dispatch_uid="reviews.scan_finished")
