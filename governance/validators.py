"""Validation of the fields a component owner types: SPDX expressions and path globs."""

from __future__ import annotations

import re
from functools import lru_cache

from django.core.exceptions import ValidationError
from license_expression import ExpressionError, get_spdx_licensing

_LICENSE_REF = re.compile(r"^(DocumentRef-[A-Za-z0-9.\-]+:)?LicenseRef-[A-Za-z0-9.\-]+$")


@lru_cache(maxsize=1)
def _licensing():
    return get_spdx_licensing()


def normalize_spdx_expression(value: str) -> str:
    """Return the expression in canonical SPDX form, or raise ValidationError.

    Unknown license ids are an error (a typo like ``Apache2`` must not pass), and so are
    deprecated-style spellings the parser cannot resolve.
    """
    text = (value or "").strip()
    if not text:
        raise ValidationError("Enter an SPDX license expression, such as Apache-2.0.")
    licensing = _licensing()
    try:
        parsed = licensing.parse(text, strict=True)
    except ExpressionError as exc:
        raise ValidationError(f"'{text}' is not a valid SPDX license expression: {exc}") from exc
    if parsed is None:
        raise ValidationError("Enter an SPDX license expression, such as Apache-2.0.")
    # LicenseRef-* ids are the SPDX way to name a license outside the list.
    unknown = [k for k in licensing.unknown_license_keys(parsed) if not _LICENSE_REF.match(k)]
    if unknown:
        raise ValidationError(f"Unknown SPDX license id(s): {', '.join(sorted(unknown))}.")
    return parsed.render()


MAX_GLOBS = 100


def validate_path_globs(value) -> list[str]:
    """Return a cleaned list of repository-relative globs, or raise ValidationError."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError('Give a list of path globs, such as ["src/**"].')
    if len(value) > MAX_GLOBS:
        raise ValidationError(f"At most {MAX_GLOBS} globs.")
    cleaned: list[str] = []
    for raw in value:
        glob = raw.strip()
        if not glob:
            continue
        if glob.startswith("/") or "\\" in glob:
            raise ValidationError(f"'{glob}': globs are relative to the repository root, with /.")
        if any(part == ".." for part in glob.split("/")):
            raise ValidationError(f"'{glob}': '..' is not allowed in a path glob.")
        if any(ord(ch) < 32 for ch in glob) or len(glob) > 255:
            raise ValidationError(f"'{glob}' is not a usable path glob.")
        if glob not in cleaned:
            cleaned.append(glob)
    return cleaned


def parse_glob_lines(text: str) -> list[str]:
    """Split the one-glob-per-line text of a form field into a list."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]
