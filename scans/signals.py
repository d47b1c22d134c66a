"""scans sits below reviews (reviews reads findings; scans knows nothing of submissions).
When a scan finishes, this signal is how reviews hears of it: its receiver
(reviews.apps) calls one reviews service, so no logic lives in the signal itself."""

from django.dispatch import Signal

#: Sent after a scan run's results are committed. Argument: scan_id.
scan_finished = Signal()

#: Sent after a finding's triage state changed and committed. Argument: component_id.
finding_triaged = Signal()
