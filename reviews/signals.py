"""What reviews tells the apps above it (releases re-evaluates its gates on these).
Receivers call one service each; no logic lives in the signals themselves."""

from django.dispatch import Signal

#: Sent after a change to a component's review committed: a sign-off, a moved commit, a
#: withdrawal. Argument: component_id.
review_changed = Signal()
