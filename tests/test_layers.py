"""The dependency direction of DESIGN.md, checked on the source: vcs knows nothing
of Django, nor do the scan detectors; governance knows nothing of reviews;
no app imports from a later one."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "vcs": {"django", "core", "governance", "reviews", "config", "rest_framework"},
    "scans/detectors": {"django", "core", "governance", "reviews", "config", "rest_framework"},
    "core": {"governance", "reviews"},
    "governance": {"reviews"},
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
            if module.split(".")[0] in FORBIDDEN[package]:
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offenders, "\n".join(offenders)
