"""The policy may deny dependencies by name (``name`` or ``ecosystem:name``) or whole
ecosystems: the YAML is read strictly, the admin's form checks the same, and the detector
reports a denied declaration as a blocking finding that says why, with the data the SBOM
reads."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from scans.detectors.base import Policy, Severity
from scans.detectors.dependencies import DependencyDetector
from scans.engine import ScanFinding
from scans.models import ScanPolicy
from scans.policy import parse_policy_yaml
from scans.services import policy_update

DETECTOR = DependencyDetector()


def scan(text: str, filename: str, **policy) -> dict[str, object]:
    """The findings by dependency name."""
    found = DETECTOR.scan(text.encode(), filename=filename, policy=Policy(**policy))
    return {f.data["name"]: f for f in found if "name" in f.data}


# --------------------------------------------------------------------------- YAML


def test_the_dependencies_section_is_read_and_normalised():
    fields = parse_policy_yaml(
        "dependencies:\n"
        "  denied: [left-pad, 'NPM:event-stream', 'pypi:PyCrypto', 'maven:junit:junit',\n"
        "           'go:github.com/pkg/errors', '@evil/pkg']\n"
        "  ecosystems_denied: [npm, Go]\n"
    )
    assert fields["dependencies_denied"] == [
        "left-pad",
        "npm:event-stream",
        "pypi:PyCrypto",
        "maven:junit:junit",
        "go:github.com/pkg/errors",
        "@evil/pkg",
    ]
    assert fields["dependency_ecosystems_denied"] == ["npm", "go"]
    # Without the section, nothing is denied.
    empty = parse_policy_yaml("licenses:\n  denied: [GPL-3.0-only]\n")
    assert empty["dependencies_denied"] == [] and empty["dependency_ecosystems_denied"] == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dependencies:\n  banned: [x]\n", "Unknown key(s) in dependencies: banned."),
        ("dependencies: [left-pad]\n", "dependencies must be a mapping."),
        ("dependencies:\n  denied: left-pad\n", "dependencies.denied must be a list."),
        ("dependencies:\n  denied: ['']\n", "dependencies.denied: '' is empty."),
        ("dependencies:\n  denied: ['left pad']\n", "'left pad' contains whitespace."),
        ("dependencies:\n  denied: [yes]\n", "dependencies.denied: True is not a name"),
        ("dependencies:\n  denied: [{npm: left-pad}]\n", "{'npm': 'left-pad'} is not a name"),
        (
            "dependencies:\n  denied: ['nmp:left-pad']\n",
            "dependencies.denied: 'nmp:left-pad' names an unknown ecosystem 'nmp' "
            "(known: go, maven, npm, pypi;",
        ),
        # A Maven coordinate needs its ecosystem: a bare one reads as one.
        ("dependencies:\n  denied: ['junit:junit']\n", "names an unknown ecosystem 'junit'"),
        ("dependencies:\n  denied: ['npm:']\n", "'npm:' names no dependency after npm:."),
        ("dependencies:\n  denied: ['maven:junit']\n", "is not a Maven coordinate"),
        ("dependencies:\n  denied: ['maven:a:b:c']\n", "is not a Maven coordinate"),
        ("dependencies:\n  denied: ['pypi:-bad-']\n", "'pypi:-bad-' is not a PyPI project name"),
        ("dependencies:\n  denied: ['npm:@scope']\n", "is not an npm package name"),
        ("dependencies:\n  denied: ['go:/abs']\n", "'go:/abs' is not a Go module path"),
        (
            "dependencies:\n  ecosystems_denied: [npm, cargo]\n",
            "dependencies.ecosystems_denied: 'cargo' is not a known ecosystem "
            "(known: go, maven, npm, pypi).",
        ),
        ("dependencies:\n  ecosystems_denied: npm\n", "ecosystems_denied must be a list."),
    ],
)
def test_a_bad_dependencies_section_is_refused_naming_the_entry(text, message):
    with pytest.raises(ValidationError) as caught:
        parse_policy_yaml(text)
    assert message in " ".join(caught.value.messages)


def test_load_policy_stores_the_denied_dependencies_and_refuses_bad_ones(tmp_path, db):
    good = tmp_path / "policy.yaml"
    good.write_text("dependencies:\n  denied: ['pypi:pycrypto']\n  ecosystems_denied: [npm]\n")
    call_command("load_policy", str(good))
    stored = ScanPolicy.objects.get(pk=1)
    assert stored.dependencies_denied == ["pypi:pycrypto"]
    assert stored.dependency_ecosystems_denied == ["npm"]
    assert stored.as_policy().dependencies_denied == ("pypi:pycrypto",)

    bad = tmp_path / "bad.yaml"
    bad.write_text("dependencies:\n  denied: ['crates:serde']\n")
    with pytest.raises(CommandError, match="'crates:serde' names an unknown ecosystem"):
        call_command("load_policy", str(bad))
    assert ScanPolicy.objects.get(pk=1).dependencies_denied == ["pypi:pycrypto"]


def test_the_admin_form_checks_the_denied_dependencies(db):
    policy = ScanPolicy(dependencies_denied=["npm:left-pad", "nmp:oops"])
    with pytest.raises(ValidationError) as caught:
        policy.full_clean()
    assert "Denied dependencies: 'nmp:oops' names an unknown ecosystem" in str(caught.value)
    policy = ScanPolicy(dependency_ecosystems_denied=["cargo"])
    with pytest.raises(ValidationError) as caught:
        policy.full_clean()
    assert "'cargo' is not a known ecosystem" in str(caught.value)
    ScanPolicy(
        dependencies_denied=["npm:left-pad"], dependency_ecosystems_denied=["go"]
    ).full_clean()


def test_denying_a_dependency_changes_the_policy_version(db):
    """Cached blob results are keyed by the policy's version: a new denial rescans."""
    before = ScanPolicy.objects.create(pk=1).as_policy().version
    named = policy_update(actor=None, fields={"dependencies_denied": ["left-pad"]})
    assert named.as_policy().version != before
    whole = policy_update(actor=None, fields={"dependency_ecosystems_denied": ["npm"]})
    assert len({before, named.as_policy().version, whole.as_policy().version}) == 3


# --------------------------------------------------------------------------- detector

PACKAGE_JSON = """\
{
  "name": "client",
  "dependencies": {"left-pad": "1.3.0", "Left-Pad": "^2.0.0", "express": "^4.19.2"},
  "devDependencies": {"@evil/pkg": "0.0.1"}
}
"""


def test_a_denied_npm_name_is_blocking_with_the_reason_and_the_same_data():
    found = scan(PACKAGE_JSON, "package.json", dependencies_denied=("left-pad", "@evil/pkg"))
    pad = found["left-pad"]
    assert (pad.rule, pad.severity, pad.line) == ("denied-dependency", Severity.BLOCKING, 3)
    assert pad.message == (
        "npm dependency left-pad 1.3.0 (runtime) is denied by the policy: left-pad is denied"
    )
    assert pad.data == {
        "name": "left-pad", "version": "1.3.0", "ecosystem": "npm", "scope": "runtime",
        "dev": False,
    }  # fmt: skip
    assert pad.identity == "npm:left-pad"
    assert found["@evil/pkg"].rule == "denied-dependency"
    assert found["@evil/pkg"].data["scope"] == "dev"
    # npm names are compared case-sensitively: the legacy "Left-Pad" is another package.
    assert found["Left-Pad"].rule == "declared-dependency"
    assert found["Left-Pad"].severity == Severity.INFO
    assert found["express"].rule == "declared-dependency"


def test_a_denied_ecosystem_denies_every_dependency_in_it():
    found = scan(PACKAGE_JSON, "package.json", dependency_ecosystems_denied=("npm",))
    assert {f.rule for f in found.values()} == {"denied-dependency"}
    assert found["express"].message == (
        "npm dependency express ^4.19.2 (runtime) is denied by the policy: "
        "the npm ecosystem is denied"
    )
    # Another ecosystem's manifest is untouched.
    python = scan("requests==2.32.3\n", "requirements.txt", dependency_ecosystems_denied=("npm",))
    assert python["requests"].rule == "declared-dependency"


def test_pypi_names_are_compared_canonically():
    text = "PyCrypto==2.6.1\nFoo.Bar>=1\nrequests\n"
    found = scan(text, "requirements.txt", dependencies_denied=("pypi:pycrypto", "foo_bar"))
    assert found["pycrypto"].rule == "denied-dependency"
    assert found["pycrypto"].message.endswith("is denied by the policy: pycrypto is denied")
    assert found["foo-bar"].rule == "denied-dependency"
    assert found["requests"].rule == "declared-dependency"
    # Written any way in the policy, one project: "PyCrypto" denies "pycrypto".
    again = scan("pycrypto\n", "requirements.txt", dependencies_denied=("pypi:PyCrypto",))
    assert again["pycrypto"].rule == "denied-dependency"


def test_an_entry_of_another_ecosystem_does_not_deny():
    found = scan(PACKAGE_JSON, "package.json", dependencies_denied=("pypi:left-pad",))
    assert found["left-pad"].rule == "declared-dependency"
    found = scan("left-pad\n", "requirements.txt", dependencies_denied=("npm:left-pad",))
    assert found["left-pad"].rule == "declared-dependency"


POM = """\
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>service</artifactId>
  <dependencies>
    <dependency>
      <groupId>commons-collections</groupId>
      <artifactId>commons-collections</artifactId>
      <version>3.2.1</version>
    </dependency>
    <dependency>
      <groupId>junit</groupId>
      <artifactId>junit</artifactId>
      <version>4.13.2</version>
      <scope>test</scope>
    </dependency>
  </dependencies>
</project>
"""


def test_a_denied_maven_coordinate_is_group_and_artifact():
    found = scan(
        POM, "pom.xml", dependencies_denied=("maven:commons-collections:commons-collections",)
    )
    denied = found["commons-collections:commons-collections"]
    assert (denied.rule, denied.line) == ("denied-dependency", 8)
    assert denied.message == (
        "maven dependency commons-collections:commons-collections 3.2.1 (compile) is denied "
        "by the policy: commons-collections:commons-collections is denied"
    )
    assert found["junit:junit"].rule == "declared-dependency"
    # Maven coordinates are case-sensitive.
    other = scan(POM, "pom.xml", dependencies_denied=("maven:JUnit:JUnit",))
    assert other["junit:junit"].rule == "declared-dependency"


GO_MOD = """\
module example.com/service

go 1.22

require (
\tgithub.com/pkg/errors v0.9.1
\tgolang.org/x/text v0.14.0 // indirect
)
"""


def test_a_denied_go_module_by_path_and_the_go_ecosystem():
    found = scan(GO_MOD, "go.mod", dependencies_denied=("go:github.com/pkg/errors",))
    assert found["github.com/pkg/errors"].rule == "denied-dependency"
    assert found["github.com/pkg/errors"].line == 6
    assert found["golang.org/x/text"].rule == "declared-dependency"
    # Module paths are case-sensitive.
    other = scan(GO_MOD, "go.mod", dependencies_denied=("github.com/Pkg/Errors",))
    assert other["github.com/pkg/errors"].rule == "declared-dependency"
    whole = scan(GO_MOD, "go.mod", dependency_ecosystems_denied=("go",))
    assert whole["golang.org/x/text"].message.endswith("the go ecosystem is denied")
    assert whole["golang.org/x/text"].data["scope"] == "indirect"


def test_a_bare_name_is_denied_in_every_ecosystem():
    assert (
        scan(PACKAGE_JSON, "package.json", dependencies_denied=("express",))["express"].rule
        == "denied-dependency"
    )
    assert (
        scan("express\n", "requirements.txt", dependencies_denied=("express",))["express"].rule
        == "denied-dependency"
    )


def test_the_denied_finding_keeps_the_identity_scheme():
    """Fingerprints are kind, rule, path and identity: the denied finding has the declared
    one's identity, under its own rule, so a triage of one is not taken for the other and
    both survive a line move."""
    declared = scan(PACKAGE_JSON, "package.json")["left-pad"]
    denied = scan(PACKAGE_JSON, "package.json", dependencies_denied=("left-pad",))["left-pad"]
    assert declared.identity == denied.identity == "npm:left-pad"

    def fingerprint(finding, line):
        return ScanFinding(
            path="core/package.json", line=line, kind=finding.kind, rule=finding.rule,
            severity=finding.severity, message=finding.message, identity=finding.identity,
        ).fingerprint  # fmt: skip

    assert fingerprint(denied, 3) == fingerprint(denied, 30)
    assert fingerprint(denied, 3) != fingerprint(declared, 3)


def test_the_detector_version_changed():
    """Blob results cached by version 1 (no denials) are not reused."""
    assert DETECTOR.version != "1"


def test_the_admin_page_refuses_a_bad_entry_and_saves_a_good_one(client, world):
    from django.urls import reverse

    from tests.conftest import PASSWORD

    policy = ScanPolicy.objects.create(pk=1)
    client.login(username=world.admin.username, password=PASSWORD)
    url = reverse("admin:scans_scanpolicy_change", args=[policy.pk])
    lists = ("internal_domains", "internal_packages", "internal_email_domains",
             "internal_patterns", "licenses_allowed", "licenses_denied")  # fmt: skip
    form = dict.fromkeys(lists, "[]") | {
        "fixture_severity": "warning",
        "dependency_ecosystems_denied": '["npm"]',
    }
    response = client.post(url, {**form, "dependencies_denied": '["nmp:left-pad"]'})
    assert response.status_code == 200
    assert "names an unknown ecosystem" in response.content.decode()
    assert ScanPolicy.objects.get(pk=1).dependency_ecosystems_denied == []
    response = client.post(url, {**form, "dependencies_denied": '["npm:left-pad"]'})
    assert response.status_code == 302
    stored = ScanPolicy.objects.get(pk=1)
    assert stored.dependencies_denied == ["npm:left-pad"]
    assert stored.dependency_ecosystems_denied == ["npm"]
