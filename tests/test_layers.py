"""The dependency direction of DESIGN.md, checked on the source: vcs knows nothing
of Django, nor do the scan detectors; governance knows nothing of scans, reviews or
releases; releases reads reviews and scans, never the other way round."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

TOP = {"notifications", "integrations", "community"}
LATER = {"governance", "scans", "reviews", "releases", "config", "rest_framework"} | TOP
FORBIDDEN = {
    "vcs": {"django", "core"} | LATER,
    "scans/detectors": {"django", "core"} | LATER,
    "core": LATER - {"rest_framework"},
    "governance": {"scans", "reviews", "releases"} | TOP,
    "scans": {"reviews", "releases"} | TOP,
    "reviews": {"releases"} | TOP,
    "releases": TOP,
}


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_later_layers(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for module in imported_modules(path):
            own = module == package.replace("/", ".") or module.startswith(
                package.replace("/", ".") + "."
            )
            if module.split(".")[0] in FORBIDDEN[package] and not own:
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offenders, "\n".join(offenders)
