"""The bills of materials of a release: a CycloneDX 1.6 SBOM of the component and its
declared dependencies (built with cyclonedx-python-lib), and an SPDX 2.3 document of the
exported files (path, checksums, licenses found, copyright text). Pure: plain records in,
JSON text out.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.model.component import ComponentScope, ComponentType
from cyclonedx.model.license import LicenseExpression
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output.json import JsonV1Dot6
from license_expression import ExpressionError, get_spdx_licensing
from packageurl import PackageURL

#: Namespace of the deterministic ids (serial numbers, SPDX namespaces) of a release.
NAMESPACE = uuid.UUID("6f1c2a4e-3d0b-5a8e-9c7f-2b1e4d6a8c90")
NOASSERTION = "NOASSERTION"


@dataclass(frozen=True)
class Product:
    """The released component."""

    slug: str
    name: str
    version: str
    license: str
    description: str = ""
    repository: str = ""  # the external repository's URL
    tag: str = ""
    commit: str = ""  # the external (published) commit, or the internal one of a preview
    tree: str = ""


@dataclass(frozen=True)
class DependencyRecord:
    ecosystem: str
    name: str
    version: str | None  # as declared: a version or a range
    scope: str
    path: str  # the manifest, as published
    line: int = 0
    denied: bool = False


@dataclass(frozen=True)
class FileRecord:
    path: str  # as published
    sha1: str
    sha256: str
    size: int
    licenses: tuple[str, ...] = ()  # expressions found in the file
    copyrights: tuple[str, ...] = ()  # statements as written ("Copyright 2020 Jane")


@dataclass
class _Licenses:
    """License keys as SPDX wants them: a listed id, or a LicenseRef- declared once."""

    refs: dict[str, str] = field(default_factory=dict)  # LicenseRef-id -> the name found

    def keys(self, expression: str) -> list[str]:
        try:
            keys = _licensing().license_keys(expression)
        except ExpressionError:
            keys = [expression]
        return [self.key(k) for k in keys]

    def key(self, key: str) -> str:
        known = _licensing().known_symbols.get(key)
        if known is not None:
            return known.key
        if key.startswith("LicenseRef-") and re.fullmatch(r"LicenseRef-[A-Za-z0-9.-]+", key):
            ref = key
        else:
            ref = "LicenseRef-" + (re.sub(r"[^A-Za-z0-9.-]+", "-", key).strip("-") or "unknown")
        self.refs.setdefault(ref, key)
        return ref


@cache
def _licensing():
    return get_spdx_licensing()


# --------------------------------------------------------------------------- CycloneDX

_EXCLUDED_SCOPES = {"dev", "test", "build", "provided", "system", "import"}
_OPTIONAL_SCOPES = {"optional", "peer", "extra"}
_EXACT = {
    "pypi": re.compile(r"^(?:===?\s*)?([0-9][A-Za-z0-9.+!_-]*)$"),
    "npm": re.compile(r"^=?v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)$"),
    "maven": re.compile(r"^([0-9A-Za-z][0-9A-Za-z._-]*)$"),
    "go": re.compile(r"^(v\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)$"),
}


def exact_version(ecosystem: str, declared: str | None) -> str | None:
    """The one version a declaration pins, or None for a range (or nothing)."""
    pattern = _EXACT.get(ecosystem)
    match = pattern.match(declared.strip()) if pattern and declared else None
    return match.group(1) if match else None


def purl(ecosystem: str, name: str, version: str | None) -> PackageURL:
    if ecosystem == "npm" and name.startswith("@") and "/" in name:
        namespace, _, short = name.partition("/")
        return PackageURL(type="npm", namespace=namespace, name=short, version=version)
    if ecosystem == "maven" and ":" in name:
        group, _, artifact = name.partition(":")
        return PackageURL(type="maven", namespace=group, name=artifact, version=version)
    if ecosystem == "go":
        namespace, _, short = name.rpartition("/")
        return PackageURL(type="golang", namespace=namespace or None, name=short, version=version)
    kind = ecosystem if ecosystem in ("pypi", "npm", "maven") else "generic"
    return PackageURL(type=kind, name=name, version=version)


def _scope(scope: str) -> ComponentScope:
    if scope in _EXCLUDED_SCOPES:
        return ComponentScope.EXCLUDED
    if scope in _OPTIONAL_SCOPES:
        return ComponentScope.OPTIONAL
    return ComponentScope.REQUIRED


def product_purl(product: Product) -> PackageURL:
    qualifiers = (
        {"vcs_url": f"git+{product.repository}@{product.commit}"} if product.repository else {}
    )
    return PackageURL(type="generic", name=product.slug, version=product.version,
                      qualifiers=qualifiers or None)  # fmt: skip


def cyclonedx_json(
    product: Product, dependencies: Sequence[DependencyRecord], *, created: datetime
) -> str:
    """A CycloneDX 1.6 SBOM: the component (license, purl) and one component per
    distinct declared dependency (ecosystem, name, version, purl, scope), with the
    manifests that declare it as properties."""
    root = CdxComponent(
        type=ComponentType.LIBRARY,
        name=product.slug,
        version=product.version,
        description=product.description or product.name,
        bom_ref=f"component:{product.slug}@{product.version}",
        licenses=[LicenseExpression(product.license)] if product.license else [],
        purl=product_purl(product),
        properties=[Property(name="gatehouse:tree", value=product.tree)] if product.tree else [],
    )
    merged: dict[tuple, list[DependencyRecord]] = {}
    for dep in dependencies:
        merged.setdefault((dep.ecosystem, dep.name, dep.version or "", dep.scope), []).append(dep)
    components = []
    for (ecosystem, name, declared, scope), found in sorted(merged.items()):
        version = exact_version(ecosystem, declared)
        properties = [Property(name="gatehouse:ecosystem", value=ecosystem),
                      Property(name="gatehouse:scope", value=scope)]  # fmt: skip
        if declared:
            properties.append(Property(name="gatehouse:declared-version", value=declared))
        for dep in found:
            where = f"{dep.path}:{dep.line}" if dep.line else dep.path
            properties.append(Property(name="gatehouse:declared-in", value=where))
        if any(dep.denied for dep in found):
            properties.append(Property(name="gatehouse:denied-by-policy", value="true"))
        components.append(
            CdxComponent(
                type=ComponentType.LIBRARY,
                name=name,
                version=version,
                scope=_scope(scope),
                purl=purl(ecosystem, name, version),
                bom_ref=f"dependency:{ecosystem}:{name}:{declared}:{scope}",
                properties=properties,
            )
        )
    bom = Bom(
        serial_number=uuid.uuid5(NAMESPACE, f"cyclonedx:{product.slug}:{product.version}:"
                                            f"{product.tree}:{created.isoformat()}"),
        metadata=BomMetaData(
            timestamp=created, component=root,
            tools=ToolRepository(components=[
                CdxComponent(type=ComponentType.APPLICATION, name="gatehouse",
                             bom_ref="tool:gatehouse")
            ]),
        ),
        components=components,
    )  # fmt: skip
    bom.register_dependency(root, components)
    return JsonV1Dot6(bom).output_as_string(indent=1)


# --------------------------------------------------------------------------- SPDX


def _spdx_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def verification_code(files: Sequence[FileRecord]) -> str:
    """SPDX's package verification code: the SHA-1 of the files' sorted SHA-1s."""
    return hashlib.sha1("".join(sorted(f.sha1 for f in files)).encode()).hexdigest()  # noqa: S324


def spdx_json(
    product: Product, files: Sequence[FileRecord], *, created: datetime, base_url: str
) -> str:
    """An SPDX 2.3 document (JSON) describing one package, the release, that contains
    every exported file with its SHA-1 and SHA-256, the licenses and the copyright
    statements found in it."""
    licenses = _Licenses()
    file_entries, relationships = [], []
    found: set[str] = set()
    for n, record in enumerate(sorted(files, key=lambda f: f.path), start=1):
        spdx_id = f"SPDXRef-File-{n}"
        keys = sorted({k for e in record.licenses for k in licenses.keys(e)})
        found.update(keys)
        file_entries.append({
            "SPDXID": spdx_id,
            "fileName": "./" + record.path,
            "checksums": [{"algorithm": "SHA1", "checksumValue": record.sha1},
                          {"algorithm": "SHA256", "checksumValue": record.sha256}],
            "licenseConcluded": NOASSERTION,
            "licenseInfoInFiles": keys or [NOASSERTION],
            "copyrightText": "\n".join(record.copyrights) or NOASSERTION,
        })  # fmt: skip
        relationships.append({"spdxElementId": "SPDXRef-Package", "relationshipType": "CONTAINS",
                              "relatedSpdxElement": spdx_id})  # fmt: skip
    declared = NOASSERTION
    if product.license:
        try:
            declared = _licensing().parse(product.license, validate=True, strict=True).render()
        except ExpressionError:
            declared = " AND ".join(licenses.keys(product.license))
    # SPDX's form: git+https://host/path@tag. A repository on a local path has none.
    location = NOASSERTION
    if product.repository.startswith(("https://", "http://", "ssh://", "git://")):
        location = f"git+{product.repository}@{product.tag or product.commit}"
    package = {
        "SPDXID": "SPDXRef-Package",
        "name": product.slug,
        "versionInfo": product.version,
        "downloadLocation": location,
        "filesAnalyzed": True,
        "packageVerificationCode": {"packageVerificationCodeValue": verification_code(files)},
        "licenseConcluded": NOASSERTION,
        "licenseDeclared": declared,
        "licenseInfoFromFiles": sorted(found) or [NOASSERTION],
        "copyrightText": NOASSERTION,
        "summary": product.description or product.name,
    }
    if product.commit:
        package["sourceInfo"] = f"git commit {product.commit}, tree {product.tree}"
    unique = uuid.uuid5(NAMESPACE, f"spdx:{product.tree}:{created.isoformat()}")
    namespace = f"{base_url.rstrip('/')}/spdx/{product.slug}/{product.version}/{unique}"
    document = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{product.slug}-{product.version}",
        "documentNamespace": namespace,
        "creationInfo": {"created": _spdx_time(created), "creators": ["Tool: Gatehouse"]},
        "packages": [package],
        "files": file_entries,
        "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                           "relatedSpdxElement": "SPDXRef-Package"}, *relationships],
    }  # fmt: skip
    if licenses.refs:
        document["hasExtractedLicensingInfos"] = [
            {"licenseId": ref, "name": name,
             "extractedText": f"A license Gatehouse detected as {name!r}; its text is in the file."}
            for ref, name in sorted(licenses.refs.items())
        ]  # fmt: skip
    return json.dumps(document, indent=1, ensure_ascii=False)
