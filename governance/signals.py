"""What governance tells the apps above it (releases re-evaluates its gates on these).
Receivers call one service each; no logic lives in the signals themselves."""

from django.dispatch import Signal

#: Sent after a component's community roles changed and committed. Argument: component_id.
component_roles_changed = Signal()
