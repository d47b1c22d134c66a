"""Reading a scan policy from YAML: strict shape, unknown keys are an error."""

from __future__ import annotations

import re

import yaml
from django.core.exceptions import ValidationError

from governance.validators import normalize_spdx_expression
from scans.detectors.dependencies import parse_denied_dependency, parse_denied_ecosystem

SHAPE: dict[str, set[str]] = {
    "internal_references": {"domains", "packages", "email_domains", "patterns"},
    "licenses": {"allowed", "denied"},
    "dependencies": {"denied", "ecosystems_denied"},
    "secrets": {"fixture_severity"},
}
SEVERITIES = ("info", "warning", "blocking")


def _strings(value, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValidationError(f"{where} must be a list of non-empty strings.")
    return [v.strip() for v in value]


def _entries(value, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(f"{where} must be a list.")
    for entry in value:
        if not isinstance(entry, str):
            raise ValidationError(
                f"{where}: {entry!r} is not a name (quote an entry YAML would read otherwise)."
            )
    return value


def normalize_denied_dependencies(value, where: str = "dependencies.denied") -> list[str]:
    """The policy's denied dependency names, checked one by one (ValidationError naming the
    first bad entry and why), each as ``name`` or ``ecosystem:name`` with the ecosystem in
    lower case."""
    normalized = []
    for entry in _entries(value, where):
        try:
            ecosystem, name = parse_denied_dependency(entry)
        except ValueError as exc:
            raise ValidationError(f"{where}: {entry!r} {exc}.") from exc
        normalized.append(f"{ecosystem}:{name}" if ecosystem else name)
    return normalized


def normalize_denied_ecosystems(value, where: str = "dependencies.ecosystems_denied") -> list[str]:
    """The policy's denied ecosystems, lower case; ValidationError naming an unknown one."""
    normalized = []
    for entry in _entries(value, where):
        try:
            normalized.append(parse_denied_ecosystem(entry))
        except ValueError as exc:
            raise ValidationError(f"{where}: {entry!r} {exc}.") from exc
    return normalized


def validate_denied_dependencies(value) -> None:
    """Model field validator (the admin's form): the same checks as the YAML reader."""
    normalize_denied_dependencies(value, "Denied dependencies")


def validate_denied_ecosystems(value) -> None:
    normalize_denied_ecosystems(value, "Denied dependency ecosystems")


def parse_policy_yaml(text: str) -> dict[str, list[str] | str]:
    """Return the ScanPolicy fields from YAML text, or raise ValidationError saying what is
    wrong (unknown keys, wrong types, bad regexes, unknown license ids, malformed dependency
    names, unknown ecosystems)."""
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValidationError(f"Not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise ValidationError("The policy must be a mapping with internal_references and licenses.")
    unknown = set(document) - set(SHAPE)
    if unknown:
        raise ValidationError(f"Unknown key(s): {', '.join(sorted(map(str, unknown)))}.")
    for section, keys in SHAPE.items():
        body = document.get(section) or {}
        if not isinstance(body, dict):
            raise ValidationError(f"{section} must be a mapping.")
        extra = set(body) - keys
        if extra:
            raise ValidationError(
                f"Unknown key(s) in {section}: {', '.join(sorted(map(str, extra)))}."
            )
    refs = document.get("internal_references") or {}
    licenses = document.get("licenses") or {}
    dependencies = document.get("dependencies") or {}
    fixture_severity = (document.get("secrets") or {}).get("fixture_severity", "warning")
    if fixture_severity not in SEVERITIES:
        raise ValidationError(f"secrets.fixture_severity must be one of {', '.join(SEVERITIES)}.")
    fields = {
        "internal_domains": _strings(refs.get("domains"), "internal_references.domains"),
        "internal_packages": _strings(refs.get("packages"), "internal_references.packages"),
        "internal_email_domains": _strings(
            refs.get("email_domains"), "internal_references.email_domains"
        ),
        "internal_patterns": _strings(refs.get("patterns"), "internal_references.patterns"),
        "licenses_allowed": _strings(licenses.get("allowed"), "licenses.allowed"),
        "licenses_denied": _strings(licenses.get("denied"), "licenses.denied"),
        "dependencies_denied": normalize_denied_dependencies(dependencies.get("denied")),
        "dependency_ecosystems_denied": normalize_denied_ecosystems(
            dependencies.get("ecosystems_denied")
        ),
        "fixture_severity": fixture_severity,
    }
    for pattern in fields["internal_patterns"]:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValidationError(f"Pattern {pattern!r} is not a valid regex: {exc}") from exc
    for key in ("licenses_allowed", "licenses_denied"):
        fields[key] = [normalize_spdx_expression(v) for v in fields[key]]
    return fields
