"""Reading stored bundles for the pages: which to show, and their parts as data."""

from __future__ import annotations

import io
import json
import zipfile

from django.db.models import QuerySet

from releases.models import EvidenceBundle, Release

#: Parts shown as pages of their own: (slug, file, title).
PAGES = (
    ("notice", "NOTICE", "NOTICE"),
    ("sbom", "sbom.cdx.json", "Bill of materials"),
    ("approvals", "approvals.json", "Approvals record"),
)


def bundles(release: Release) -> QuerySet[EvidenceBundle]:
    """The release's bundles, final first, without their archives (read on download)."""
    return (
        EvidenceBundle.objects.filter(release=release)
        .defer("archive")
        .select_related("built_by", "release__component")
        .order_by("preview", "-built_at", "-id")
    )


def part(bundle: EvidenceBundle, name: str) -> bytes:
    """One file of the bundle's archive."""
    with zipfile.ZipFile(io.BytesIO(bytes(bundle.archive))) as zf:  # loads the deferred field
        return zf.read(name)


def dependency_rows(sbom: bytes) -> list[dict]:
    """The SBOM's dependencies as table rows: ecosystem, name, version, scope, purl,
    where declared, whether the policy denies it."""
    rows = []
    for c in json.loads(sbom).get("components", []):
        props: dict[str, list[str]] = {}
        for p in c.get("properties", []):
            props.setdefault(p["name"], []).append(p["value"])
        rows.append({
            "ecosystem": (props.get("gatehouse:ecosystem") or [""])[0],
            "name": c.get("name", ""),
            "version": c.get("version") or "",
            "declared": (props.get("gatehouse:declared-version") or [""])[0],
            "scope": (props.get("gatehouse:scope") or [""])[0],
            "purl": c.get("purl", ""),
            "where": props.get("gatehouse:declared-in", []),
            "denied": bool(props.get("gatehouse:denied-by-policy")),
        })  # fmt: skip
    return rows
