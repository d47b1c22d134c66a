"""Declared dependencies from pom.xml, package.json, requirements, pyproject.toml and go.mod."""

from __future__ import annotations

import pytest

from scans.detectors.base import Kind, Policy, Severity
from scans.detectors.dependencies import DependencyDetector

DETECTOR = DependencyDetector()


def scan(text: str, filename: str):
    return DETECTOR.scan(text.encode(), filename=filename, policy=Policy())


def declared(text: str, filename: str) -> list[tuple[int, str, str | None, str]]:
    findings = scan(text, filename)
    assert all(f.rule == "declared-dependency" for f in findings), findings
    return [(f.line, f.identity, f.data["version"], f.data["scope"]) for f in findings]


# ---------------------------------------------------------------------------- Maven

POM = """\
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>com.example</groupId>
    <artifactId>parent</artifactId>
    <version>3.1.0</version>
  </parent>
  <artifactId>service</artifactId>

  <properties>
    <jackson.version>2.17.1</jackson.version>
    <junit.version>5.10.2</junit.version>
  </properties>

  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>org.slf4j</groupId>
        <artifactId>slf4j-api</artifactId>
        <version>2.0.13</version>
      </dependency>
    </dependencies>
  </dependencyManagement>

  <dependencies>
    <dependency>
      <groupId>com.fasterxml.jackson.core</groupId>
      <artifactId>jackson-databind</artifactId>
      <version>${jackson.version}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-api</artifactId>
    </dependency>
    <dependency>
      <groupId>${project.groupId}</groupId>
      <artifactId>service-core</artifactId>
      <version>${project.version}</version>
    </dependency>
    <dependency>
      <groupId>org.junit.jupiter</groupId>
      <artifactId>junit-jupiter</artifactId>
      <version>${junit.version}</version>
      <scope>test</scope>
    </dependency>
    <dependency>
      <groupId>com.example</groupId>
      <artifactId>plugin-api</artifactId>
      <version>${undefined.version}</version>
      <optional>true</optional>
    </dependency>
  </dependencies>
</project>
"""


def test_pom_dependencies_with_properties_resolved():
    assert declared(POM, "pom.xml") == [
        (30, "maven:com.fasterxml.jackson.core:jackson-databind", "2.17.1", "compile"),
        (35, "maven:org.slf4j:slf4j-api", "2.0.13", "compile"),
        (39, "maven:com.example:service-core", "3.1.0", "compile"),
        (44, "maven:org.junit.jupiter:junit-jupiter", "5.10.2", "test"),
        (50, "maven:com.example:plugin-api", "${undefined.version}", "compile"),
        (21, "maven:org.slf4j:slf4j-api", "2.0.13", "compile"),
    ]


def test_pom_finding_carries_the_sbom_fields():
    finding = scan(POM, "pom.xml")[0]
    assert finding.kind == Kind.DEPENDENCY
    assert finding.severity == Severity.INFO
    assert finding.data == {
        "name": "com.fasterxml.jackson.core:jackson-databind",
        "version": "2.17.1",
        "ecosystem": "maven",
        "scope": "compile",
    }
    assert finding.excerpt == "<artifactId>jackson-databind</artifactId>"


def test_pom_marks_managed_and_optional():
    findings = scan(POM, "pom.xml")
    assert findings[-1].data["managed"] is True
    assert findings[4].data["optional"] is True


def test_pom_profile_dependencies():
    pom = (
        "<project><profiles><profile><id>it</id><dependencies><dependency>"
        "<groupId>org.testcontainers</groupId><artifactId>postgresql</artifactId>"
        "<version>1.19.8</version></dependency></dependencies></profile></profiles></project>"
    )
    (finding,) = scan(pom, "pom.xml")
    assert finding.identity == "maven:org.testcontainers:postgresql"
    assert finding.data["profile"] == "it"


@pytest.mark.parametrize(
    "pom",
    [
        "<project><dependencies><dependency><groupId>a</groupId>",
        "not xml at all",
        "",
        "<settings><servers/></settings>",
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>\n'
        "<project><version>&lol2;</version></project>",
    ],
)
def test_malformed_pom_is_one_warning(pom):
    (finding,) = scan(pom, "pom.xml")
    assert finding.rule == "unparseable-manifest"
    assert finding.severity == Severity.WARNING


# ---------------------------------------------------------------------------- npm

PACKAGE_JSON = """\
{
  "name": "web-ui",
  "version": "1.0.0",
  "dependencies": {
    "react": "^18.2.0",
    "@scope/widgets": "2.1.x"
  },
  "devDependencies": {
    "react": "^18.2.0",
    "jest": "^29.7.0"
  },
  "peerDependencies": {
    "react-dom": ">=18"
  },
  "optionalDependencies": {
    "fsevents": "~2.3.3"
  }
}
"""


def test_package_json_sections():
    assert declared(PACKAGE_JSON, "package.json") == [
        (5, "npm:react", "^18.2.0", "runtime"),
        (6, "npm:@scope/widgets", "2.1.x", "runtime"),
        (9, "npm:react", "^18.2.0", "dev"),
        (10, "npm:jest", "^29.7.0", "dev"),
        (13, "npm:react-dom", ">=18", "peer"),
        (16, "npm:fsevents", "~2.3.3", "optional"),
    ]


def test_package_json_marks_dev():
    findings = scan(PACKAGE_JSON, "package.json")
    assert [f.data["dev"] for f in findings] == [False, False, True, True, False, False]


def test_package_json_without_dependencies():
    assert scan('{"name": "x", "version": "1.0.0"}', "package.json") == []


@pytest.mark.parametrize(
    "text",
    ['{"dependencies": {"a": "1"', "[1, 2, 3]", '{"dependencies": ["react"]}', "\ufeff{oops}"],
)
def test_malformed_package_json_is_one_warning(text):
    (finding,) = scan(text, "package.json")
    assert (finding.rule, finding.severity) == ("unparseable-manifest", Severity.WARNING)


# ---------------------------------------------------------------------------- requirements

REQUIREMENTS = """\
# Runtime requirements
-r base.txt
--index-url https://pypi.org/simple
Django==5.2.19  # pinned for the LTS
requests[socks, security] >= 2.31, <3 ; python_version >= "3.8"
Foo_Bar.baz
celery~=5.3
hashed-pkg==1.0.4 \\
    --hash=sha256:0123456789abcdef
pkg @ https://example.com/pkg-1.0.tar.gz
-e git+https://github.com/example/editable.git#egg=editable
git+https://github.com/example/vcs-pkg.git#egg=vcs_pkg

"""


def test_requirements_lines():
    assert declared(REQUIREMENTS, "requirements.txt") == [
        (4, "pypi:django", "5.2.19", "runtime"),
        (5, "pypi:requests", ">=2.31,<3", "runtime"),
        (6, "pypi:foo-bar-baz", None, "runtime"),
        (7, "pypi:celery", "~=5.3", "runtime"),
        (8, "pypi:hashed-pkg", "1.0.4", "runtime"),
        (10, "pypi:pkg", None, "runtime"),
        (12, "pypi:vcs-pkg", None, "runtime"),
    ]


def test_requirements_extras_and_markers_are_kept():
    requests = scan(REQUIREMENTS, "requirements.txt")[1]
    assert requests.data["extras"] == ["socks", "security"]
    assert requests.data["marker"] == 'python_version >= "3.8"'


@pytest.mark.parametrize(
    ("filename", "scope"),
    [
        ("requirements-dev.txt", "dev"),
        ("requirements_test.txt", "dev"),
        ("requirements.in", "runtime"),
    ],
)
def test_requirements_file_names(filename, scope):
    (finding,) = scan("pytest==8.0\n", filename)
    assert finding.data["scope"] == scope


@pytest.mark.parametrize("filename", ["requirements.py", "my-requirements.txt", "reqs.txt"])
def test_other_file_names_are_not_manifests(filename):
    assert scan("pytest==8.0\n", filename) == []


def test_requirements_with_a_bad_line_keeps_the_good_ones_and_warns_once():
    findings = scan("good==1.0\n!!! not a requirement\nalso bad ===\nfine>=2\n", "requirements.txt")
    assert [(f.rule, f.line) for f in findings] == [
        ("declared-dependency", 1),
        ("declared-dependency", 4),
        ("unparseable-manifest", 2),
    ]
    assert "and 1 more" in findings[-1].message


# ---------------------------------------------------------------------------- pyproject.toml

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "example"
dependencies = [
    "httpx>=0.27",
    "Pydantic[email]==2.7.1",
    'tomli; python_version < "3.11"',
]

[project.optional-dependencies]
docs = ["sphinx>=7"]
postgres = ["psycopg[binary]"]

[dependency-groups]
test = ["pytest>=8", {include-group = "lint"}]
lint = ["ruff"]
"""

POETRY = """\
[tool.poetry]
name = "legacy"

[tool.poetry.dependencies]
python = "^3.11"
flask = "^3.0"
celery = {version = "^5.3", extras = ["redis"]}
internal-lib = {git = "https://git.example.com/lib.git"}

[tool.poetry.group.test.dependencies]
pytest = "*"

[tool.poetry.dev-dependencies]
black = "24.4.2"
"""


def test_pyproject_pep621_and_groups():
    assert declared(PYPROJECT, "pyproject.toml") == [
        (8, "pypi:httpx", ">=0.27", "runtime"),
        (9, "pypi:pydantic", "2.7.1", "runtime"),
        (10, "pypi:tomli", None, "runtime"),
        (14, "pypi:sphinx", ">=7", "optional"),
        (15, "pypi:psycopg", None, "optional"),
        (18, "pypi:pytest", ">=8", "dev"),
        (19, "pypi:ruff", None, "dev"),
        (2, "pypi:setuptools", ">=61", "build"),
        (2, "pypi:wheel", None, "build"),
    ]


def test_pyproject_keeps_groups_and_markers():
    findings = {f.identity: f.data for f in scan(PYPROJECT, "pyproject.toml")}
    assert findings["pypi:sphinx"]["group"] == "docs"
    assert findings["pypi:tomli"]["marker"] == 'python_version < "3.11"'
    assert findings["pypi:psycopg"]["extras"] == ["binary"]


def test_pyproject_poetry():
    assert declared(POETRY, "pyproject.toml") == [
        (6, "pypi:flask", "^3.0", "runtime"),
        (7, "pypi:celery", "^5.3", "runtime"),
        (8, "pypi:internal-lib", None, "runtime"),
        (14, "pypi:black", "24.4.2", "dev"),
        (11, "pypi:pytest", None, "dev"),
    ]


def test_pyproject_without_dependencies():
    assert scan("[tool.ruff]\nline-length = 100\n", "pyproject.toml") == []


@pytest.mark.parametrize(
    "text",
    [
        "[project\nname = 'x'",
        "[project]\ndependencies = 'requests'\n",
        "project = 3\n",
        "[tool.poetry.dependencies]\nflask = 3\n",
    ],
)
def test_malformed_pyproject_is_one_warning(text):
    (finding,) = scan(text, "pyproject.toml")
    assert (finding.rule, finding.severity) == ("unparseable-manifest", Severity.WARNING)


# ---------------------------------------------------------------------------- go.mod

GO_MOD = """\
module example.com/service

go 1.22

toolchain go1.22.3

require github.com/pkg/errors v0.9.1

require (
\tgithub.com/stretchr/testify v1.9.0
\tgolang.org/x/sys v0.20.0 // indirect
\t"example.com/quoted" v1.0.0-20240101000000-abcdef123456
)

replace example.com/old => ../old

exclude (
\tgolang.org/x/net v0.1.0
)
"""


def test_go_mod_requires():
    assert declared(GO_MOD, "go.mod") == [
        (7, "go:github.com/pkg/errors", "v0.9.1", "runtime"),
        (10, "go:github.com/stretchr/testify", "v1.9.0", "runtime"),
        (11, "go:golang.org/x/sys", "v0.20.0", "indirect"),
        (12, "go:example.com/quoted", "v1.0.0-20240101000000-abcdef123456", "runtime"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "module x\nrequire (\n\tgithub.com/a/b\n)\n",
        "module x\nrequire github.com/a/b 1.0\n",
        "module x\nfrobnicate github.com/a/b v1\n",
        "module x\nrequire (\n\tgithub.com/a/b v1.0.0\n",
    ],
)
def test_malformed_go_mod_warns(text):
    findings = scan(text, "go.mod")
    assert [f.rule for f in findings].count("unparseable-manifest") == 1
    assert findings[-1].severity == Severity.WARNING


# ---------------------------------------------------------------------------- any manifest


@pytest.mark.parametrize("filename", ["pom.xml", "package.json", "pyproject.toml", "go.mod"])
def test_binary_blob_with_a_manifest_name_is_skipped(filename):
    assert DETECTOR.scan(b"\0\0\0\0garbage", filename=filename, policy=Policy()) == []


def test_path_with_folders_is_read_by_file_name():
    (finding,) = scan("requests==2.32.3\n", "services/api/requirements.txt")
    assert finding.identity == "pypi:requests"


def test_unrelated_files_are_ignored():
    assert scan(PACKAGE_JSON, "tsconfig.json") == []
