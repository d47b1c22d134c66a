"""API plumbing every Gatehouse app shares, switched on in settings.REST_FRAMEWORK.

Services raise Django's ValidationError and PermissionDenied; ``api_exception_handler``
turns those into the same 400 and 403 bodies a serializer error or a DRF permission
error has, so a client sees one error shape whichever layer refused the request.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, pagination, parsers
from rest_framework.settings import api_settings


def validation_error_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A service's ValidationError as DRF reports field errors: field -> [messages]."""
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    if hasattr(exc, "error_dict"):
        return {
            (non_field if field == "__all__" else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {non_field: exc.messages}


def api_exception_handler(exc, context):
    """DRF's handler, plus the exceptions our services raise."""
    # Imported here: rest_framework.views reads the parser and paging settings, which
    # name classes of this module, when it is first imported.
    from rest_framework.views import exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_error_detail(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        # Services deny with a reason a person can read; pass it on as `detail`.
        exc = exceptions.PermissionDenied(str(exc) or None)
    return exception_handler(exc, context)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, but a body nested deeper than Python's recursion limit (a few
    kilobytes of ``[``) is a 400, not a RecursionError and a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from exc


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """The project's paging, bounded: an enormous ``limit`` or ``offset`` would overflow
    the database's integer and fail the request."""

    max_limit = 500
    max_offset = 10**9

    def get_offset(self, request):
        return min(super().get_offset(request), self.max_offset)
