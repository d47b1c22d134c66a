"""Validators shared by every app's models and forms."""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible


def has_control_characters(text: str) -> bool:
    """Line breaks, tabs, NUL, escape sequences and the other Unicode control and format
    characters (the bidirectional overrides among them): nothing a name needs, and what
    breaks an e-mail header or disguises text."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text or "")


@deconstructible
class NoControlCharacters:
    """Refuses text with control characters. On every name and on any text that can reach
    an e-mail header (subjects carry component and department names)."""

    message = "Use one line of plain text: no line breaks, tabs or control characters."
    code = "control_characters"

    def __call__(self, value) -> None:
        if isinstance(value, str) and has_control_characters(value):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other) -> bool:
        return isinstance(other, NoControlCharacters)


no_control_characters = NoControlCharacters()


def one_line(text: str) -> str:
    """Text made safe for a header: control characters become spaces, runs of spaces one.
    For values stored before the validator existed; new ones are refused instead."""
    cleaned = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text or "")
    return " ".join(cleaned.split())
