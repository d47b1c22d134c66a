"""Reads for the hook pages: query count bounded."""

from integrations.models import HookDelivery, RepositoryHook

LOG_LENGTH = 50


def hook_of(repository) -> RepositoryHook | None:
    return RepositoryHook.objects.select_related("rotated_by").filter(repository=repository).first()


def recent_deliveries(hook: RepositoryHook) -> list[HookDelivery]:
    return list(HookDelivery.objects.filter(hook=hook).order_by("-received_at", "-id")[:LOG_LENGTH])
