"""Declared dependencies, read from the manifests of the common package managers.

The file name decides the format: ``pom.xml`` (Maven), ``package.json`` (npm),
``requirements*.txt`` / ``requirements*.in``, ``pyproject.toml`` (PEP 621, PEP 735 groups,
build requirements and Poetry) and ``go.mod``. Nothing is resolved or fetched: a
dependency is what the file declares, with the version or version range as written
(Maven ``${properties}`` are filled in from the same pom where they are defined). The
findings feed the SBOM later, so every one carries name, version, ecosystem and scope.

The policy may deny dependencies by name or whole ecosystems (``DenyList``): a denied one
is reported as a blocking ``denied-dependency`` finding instead of an informational
``declared-dependency`` one, with the same data and the reason in its message.

A manifest that cannot be read is reported once, as a warning, instead of failing the scan.
"""

from __future__ import annotations

import json
import re
import tomllib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from xml.parsers import expat

from scans.detectors.base import Finding, Kind, Policy, Severity

BINARY_SNIFF_BYTES = 8 * 1024

RULE_DECLARED = "declared-dependency"
RULE_DENIED = "denied-dependency"
RULE_UNPARSEABLE = "unparseable-manifest"
#: The ecosystems the parsers below report, as a policy names them.
ECOSYSTEMS = ("go", "maven", "npm", "pypi")

_REQUIREMENTS_NAME = re.compile(r"^requirements.*\.(?:txt|in)$", re.IGNORECASE)
_DEV_REQUIREMENTS = re.compile(r"dev|test", re.IGNORECASE)


class ManifestError(ValueError):
    """A manifest this detector cannot read; ``line`` is 1-based, or 0 when unknown."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Dependency:
    name: str
    version: str | None
    scope: str
    line: int
    extra: dict = field(default_factory=dict)


@dataclass
class _Parsed:
    ecosystem: str
    dependencies: list[Dependency]
    problems: list[ManifestError] = field(default_factory=list)


class _Lines:
    """Offsets to 1-based line numbers, and "where is this first written" look-ups."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(self, offset: int) -> int:
        return bisect_left(self._newlines, offset) + 1

    def find(self, pattern: re.Pattern[str] | str, start: int = 0) -> int:
        """Offset of the first match at or after ``start``, or -1."""
        if isinstance(pattern, str):
            return self.text.find(pattern, start)
        m = pattern.search(self.text, start)
        return m.start() if m else -1

    def line_of_first(self, patterns: Iterable[re.Pattern[str] | str], start: int = 0) -> int:
        for pattern in patterns:
            offset = self.find(pattern, max(start, 0))
            if offset >= 0:
                return self.line_of(offset)
        return self.line_of(start) if start > 0 else 0


# ---------------------------------------------------------------------------- PEP 508

_PEP508 = re.compile(
    r"""^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*
    (?:\[(?P<extras>[^\]]*)\])?\s*
    (?P<rest>[^;]*?)\s*
    (?:;\s*(?P<marker>.*?))?\s*$""",
    re.VERBOSE,
)
_SPECIFIER = re.compile(
    r"^\(?\s*(?:(?:~=|===|==|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+\s*(?:,\s*|(?=\)|$)))+\)?$"
)
_EXACT_PIN = re.compile(r"^\(?\s*===?\s*([A-Za-z0-9.+!_-]+)\s*\)?$")


def canonical_pypi_name(name: str) -> str:
    """PEP 503: the name as the index knows it ("Foo_Bar" and "foo-bar" are one project)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_pep508(requirement: str) -> tuple[str, str | None, dict] | None:
    """Name, version (an exact pin, else the specifier as written) and extras of a requirement."""
    m = _PEP508.match(requirement.strip())
    if not m:
        return None
    rest = m.group("rest").strip()
    extra: dict = {}
    if m.group("extras"):
        extra["extras"] = [e.strip() for e in m.group("extras").split(",") if e.strip()]
    if m.group("marker"):
        extra["marker"] = m.group("marker").strip()
    version: str | None = None
    if rest.startswith("@"):
        extra["url"] = rest[1:].strip()
    elif rest:
        if not _SPECIFIER.match(rest):
            return None
        pin = _EXACT_PIN.match(rest)
        version = pin.group(1) if pin else re.sub(r"\s+", "", rest.strip("()"))
    return canonical_pypi_name(m.group("name")), version, extra


# ---------------------------------------------------------------------------- requirements


_OPTION_IN_LINE = re.compile(r"\s+--?[a-z]")
_EGG = re.compile(r"#egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_COMMENT = re.compile(r"(?:^|\s)#.*$")


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Lines with backslash continuations joined, each with the line number it starts on."""
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        yield start, " ".join(pending)
        pending = []
    if pending:
        yield start, " ".join(pending)


def parse_requirements(text: str, filename: str) -> _Parsed:
    scope = "dev" if _DEV_REQUIREMENTS.search(filename) else "runtime"
    parsed = _Parsed("pypi", [])
    for number, raw in _logical_lines(text):
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        if line.startswith("-"):
            # Options (-r other.txt, -c, --index-url, --hash ...) and editable installs:
            # another file's or a local project's requirements, not a declaration here.
            continue
        if "://" in line.split(";", 1)[0].split("@", 1)[0] or line.startswith((".", "/")):
            egg = _EGG.search(line)
            if egg:
                name = canonical_pypi_name(egg.group(1))
                parsed.dependencies.append(Dependency(name, None, scope, number, {"url": line}))
            continue
        option = _OPTION_IN_LINE.search(line)
        if option:
            line = line[: option.start()]
        requirement = parse_pep508(line)
        if requirement is None:
            parsed.problems.append(ManifestError(f"not a requirement: {line[:80]!r}", number))
            continue
        name, version, extra = requirement
        parsed.dependencies.append(Dependency(name, version, scope, number, extra))
    return parsed


# ---------------------------------------------------------------------------- pyproject.toml


def _quoted(value: str) -> list[str]:
    return [json.dumps(value), f"'{value}'"]


def _toml_header(name: str) -> re.Pattern[str]:
    parts = r"\s*\.\s*".join(rf"(?:{re.escape(p)}|\"{re.escape(p)}\")" for p in name.split("."))
    return re.compile(rf"^\s*\[\s*{parts}\s*\]", re.MULTILINE)


def parse_pyproject(text: str, filename: str) -> _Parsed:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ManifestError(f"invalid TOML: {exc}", int(line.group(1)) if line else 0) from exc
    lines = _Lines(text)
    parsed = _Parsed("pypi", [])

    def pep508_list(values: object, scope: str, section: str, extra: dict) -> None:
        if not isinstance(values, list):
            raise ManifestError(f"[{section}] should be a list of requirements")
        start = max(lines.find(_toml_header(section)), 0)
        if start == 0 and "." in section:
            # Written inline in the parent table: `dependencies = [...]` under [project].
            start = max(lines.find(_toml_header(section.rsplit(".", 1)[0])), 0)
        for value in values:
            if isinstance(value, dict):
                continue  # PEP 735 {include-group = "..."}: the group is listed on its own
            requirement = parse_pep508(value) if isinstance(value, str) else None
            if requirement is None:
                parsed.problems.append(
                    ManifestError(f"not a requirement in [{section}]: {value!r}"[:120])
                )
                continue
            name, version, details = requirement
            line = lines.line_of_first(_quoted(value), start)
            parsed.dependencies.append(Dependency(name, version, scope, line, details | extra))

    project = _table(doc, "project")
    if "dependencies" in project:
        pep508_list(project["dependencies"], "runtime", "project.dependencies", {})
    for group, values in _table(project, "optional-dependencies").items():
        pep508_list(values, "optional", "project.optional-dependencies", {"group": group})
    for group, values in _table(doc, "dependency-groups").items():
        pep508_list(values, "dev", "dependency-groups", {"group": group})
    build = _table(doc, "build-system")
    if "requires" in build:
        pep508_list(build["requires"], "build", "build-system", {})

    poetry = _table(_table(doc, "tool"), "poetry")
    poetry_sections = [("dependencies", "runtime", {}), ("dev-dependencies", "dev", {})]
    for group in _table(poetry, "group"):
        poetry_sections.append((f"group.{group}.dependencies", "dev", {"group": group}))
    for section, scope, extra in poetry_sections:
        table: object = poetry
        for part in section.split("."):
            table = _table(table, part)
        start = max(lines.find(_toml_header(f"tool.poetry.{section}")), 0)
        for name, spec in table.items():
            if name.lower() == "python":
                continue  # the interpreter, not a package
            version, details = _poetry_spec(spec)
            line = lines.line_of_first(
                [re.compile(rf"^\s*[\"']?{re.escape(name)}[\"']?\s*=", re.MULTILINE)], start
            )
            parsed.dependencies.append(
                Dependency(canonical_pypi_name(name), version, scope, line, details | extra)
            )
    return parsed


def _table(doc: object, key: str) -> dict:
    value = doc.get(key, {}) if isinstance(doc, dict) else {}
    if not isinstance(value, dict):
        raise ManifestError(f"[{key}] should be a table")
    return value


def _poetry_spec(spec: object) -> tuple[str | None, dict]:
    if isinstance(spec, str):
        return (None if spec.strip() == "*" else spec.strip()), {}
    if isinstance(spec, dict):
        details = {k: spec[k] for k in ("git", "path", "url", "extras", "markers") if k in spec}
        if spec.get("optional"):
            details["optional"] = True
        version = spec.get("version")
        return (version if isinstance(version, str) else None), details
    if isinstance(spec, list):
        versions = [s.get("version") for s in spec if isinstance(s, dict) and s.get("version")]
        return (" || ".join(versions) or None), {}
    raise ManifestError(f"unexpected Poetry dependency specification: {spec!r}"[:120])


# ---------------------------------------------------------------------------- package.json

_NPM_SECTIONS = (
    ("dependencies", "runtime"),
    ("devDependencies", "dev"),
    ("peerDependencies", "peer"),
    ("optionalDependencies", "optional"),
)


def parse_package_json(text: str, filename: str) -> _Parsed:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"invalid JSON: {exc.msg}", exc.lineno) from exc
    if not isinstance(doc, dict):
        raise ManifestError("package.json is not a JSON object")
    lines = _Lines(text)
    parsed = _Parsed("npm", [])
    for section, scope in _NPM_SECTIONS:
        table = doc.get(section)
        if table is None:
            continue
        if not isinstance(table, dict):
            raise ManifestError(f'"{section}" is not an object')
        start = lines.find(re.compile(rf'"{section}"\s*:\s*\{{'))
        for name, spec in table.items():
            version = spec if isinstance(spec, str) else None
            line = lines.line_of_first([re.compile(rf"{re.escape(json.dumps(name))}\s*:")], start)
            parsed.dependencies.append(
                Dependency(name, version, scope, line, {"dev": scope == "dev"})
            )
    return parsed


# ---------------------------------------------------------------------------- pom.xml


@dataclass
class _Element:
    tag: str
    line: int
    children: list[_Element] = field(default_factory=list)
    text: str = ""

    def child(self, tag: str) -> _Element | None:
        return next((c for c in self.children if c.tag == tag), None)

    def all(self, *path: str) -> list[_Element]:
        found = [self]
        for tag in path:
            found = [c for element in found for c in element.children if c.tag == tag]
        return found

    def value(self, tag: str) -> str | None:
        element = self.child(tag)
        return element.text.strip() if element is not None and element.text.strip() else None


def _parse_xml(data: bytes) -> _Element:
    """A small element tree with line numbers; entity declarations are refused outright."""
    parser = expat.ParserCreate()
    stack: list[_Element] = []
    root: list[_Element] = []

    def start(tag: str, attrs: dict) -> None:
        element = _Element(tag.rsplit(":", 1)[-1], parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(element)
        else:
            root.append(element)
        stack.append(element)

    def end(tag: str) -> None:
        stack.pop()

    def characters(text: str) -> None:
        if stack:
            stack[-1].text += text

    def entity(*args: object) -> None:
        raise ManifestError("XML entity declarations are not accepted", parser.CurrentLineNumber)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.EntityDeclHandler = entity
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ManifestError(f"invalid XML: {exc}", exc.lineno) from exc
    if not root:
        raise ManifestError("empty XML document")
    return root[0]


_PROPERTY = re.compile(r"\$\{([^}]+)\}")


def parse_pom(data: bytes) -> _Parsed:
    project = _parse_xml(data)
    if project.tag != "project":
        raise ManifestError(f"root element is <{project.tag}>, not <project>", project.line)
    properties: dict[str, str] = {}
    parent = project.child("parent")
    for prefix, element in (("project.parent.", parent), ("project.", project)):
        if element is not None:
            for key in ("groupId", "artifactId", "version"):
                if value := element.value(key):
                    properties[prefix + key] = value
                    properties.setdefault(prefix.replace("project.", "pom.") + key, value)
    properties.setdefault("project.groupId", properties.get("project.parent.groupId", ""))
    properties.setdefault("project.version", properties.get("project.parent.version", ""))
    for props in project.all("properties"):
        for prop in props.children:
            properties[prop.tag] = prop.text.strip()

    def resolve(value: str | None) -> str | None:
        for _ in range(5):
            if value is None or "${" not in value:
                break
            value = _PROPERTY.sub(lambda m: properties.get(m.group(1)) or m.group(0), value)
        return value

    managed: dict[str, str] = {}
    for dep in project.all("dependencyManagement", "dependencies", "dependency"):
        coordinates = f"{resolve(dep.value('groupId'))}:{resolve(dep.value('artifactId'))}"
        if version := resolve(dep.value("version")):
            managed.setdefault(coordinates, version)

    parsed = _Parsed("maven", [])
    sections: list[tuple[list[_Element], dict]] = [
        (project.all("dependencies", "dependency"), {}),
        (project.all("dependencyManagement", "dependencies", "dependency"), {"managed": True}),
    ]
    for profile in project.all("profiles", "profile"):
        sections.append(
            (profile.all("dependencies", "dependency"), {"profile": profile.value("id") or ""})
        )
    for deps, extra in sections:
        for dep in deps:
            group, artifact = resolve(dep.value("groupId")), resolve(dep.value("artifactId"))
            if not group or not artifact:
                parsed.problems.append(
                    ManifestError("<dependency> without groupId or artifactId", dep.line)
                )
                continue
            name = f"{group}:{artifact}"
            version = resolve(dep.value("version")) or managed.get(name)
            details = dict(extra)
            if dep.value("optional") == "true":
                details["optional"] = True
            artifact_element = dep.child("artifactId")
            line = artifact_element.line if artifact_element is not None else dep.line
            scope = dep.value("scope") or "compile"
            parsed.dependencies.append(Dependency(name, version, scope, line, details))
    return parsed


# ---------------------------------------------------------------------------- go.mod

_GO_DIRECTIVES = frozenset(
    [
        "module",
        "go",
        "toolchain",
        "require",
        "replace",
        "exclude",
        "retract",
        "tool",
        "godebug",
        "ignore",
    ]
)


def parse_go_mod(text: str, filename: str) -> _Parsed:
    parsed = _Parsed("go", [])
    block: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        code, _, comment = raw.partition("//")
        indirect = comment.strip().startswith("indirect")
        code = code.strip()
        if not code:
            continue
        if block is not None:
            if code == ")":
                block = None
            elif block == "require":
                _go_require(parsed, code, number, indirect)
            continue
        directive, _, rest = code.partition(" ")
        rest = rest.strip()
        if directive not in _GO_DIRECTIVES:
            parsed.problems.append(ManifestError(f"unknown go.mod directive {directive!r}", number))
            continue
        if rest == "(":
            block = directive
        elif directive == "require":
            _go_require(parsed, rest, number, indirect)
    if block is not None:
        parsed.problems.append(ManifestError(f"unclosed {block} block"))
    return parsed


def _go_require(parsed: _Parsed, entry: str, number: int, indirect: bool) -> None:
    parts = entry.split()
    if len(parts) != 2 or not parts[1].startswith("v"):
        parsed.problems.append(ManifestError(f"not a module requirement: {entry[:80]!r}", number))
        return
    path = parts[0].strip('"`')
    scope = "indirect" if indirect else "runtime"
    parsed.dependencies.append(Dependency(path, parts[1], scope, number, {"indirect": indirect}))


# ---------------------------------------------------------------------------- policy

_PYPI_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_NPM_NAME = re.compile(r"^(?:@[A-Za-z0-9][\w.~-]*/)?[A-Za-z0-9_.~-][\w.~-]*$")
_MAVEN_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_GO_PATH = re.compile(r"^[A-Za-z0-9._~+-]+(?:/[A-Za-z0-9._~+-]+)*$")
_NAME_SHAPES = {
    "pypi": (_PYPI_NAME, "is not a PyPI project name"),
    "npm": (_NPM_NAME, "is not an npm package name (name or @scope/name)"),
    "go": (_GO_PATH, "is not a Go module path"),
}


def parse_denied_dependency(entry: str) -> tuple[str | None, str]:
    """``(ecosystem, name)`` of a policy entry ``name`` or ``ecosystem:name``; the ecosystem
    is None for a bare name (denied in every ecosystem). Raises ValueError saying what is
    wrong: empty, whitespace, an unknown ecosystem, a name that ecosystem cannot have.

    Any ``:`` makes the part before it an ecosystem, so a Maven coordinate is written
    ``maven:group:artifact`` (a bare ``junit:junit`` is refused, as a typo like
    ``nmp:left-pad`` must be)."""
    text = entry.strip()
    if not text:
        raise ValueError("is empty")
    if any(c.isspace() for c in text):
        raise ValueError("contains whitespace")
    prefix, colon, name = text.partition(":")
    if not colon:
        return None, text
    ecosystem = prefix.lower()
    if ecosystem not in ECOSYSTEMS:
        raise ValueError(
            f"names an unknown ecosystem {prefix!r} (known: {', '.join(ECOSYSTEMS)}; "
            "a Maven coordinate is written maven:group:artifact)"
        )
    if not name:
        raise ValueError(f"names no dependency after {prefix}:")
    if ecosystem == "maven":
        parts = name.split(":")
        if len(parts) != 2 or not all(_MAVEN_ID.match(p) for p in parts):
            raise ValueError("is not a Maven coordinate maven:groupId:artifactId")
    else:
        shape, problem = _NAME_SHAPES[ecosystem]
        if not shape.match(name):
            raise ValueError(problem)
    return ecosystem, name


def parse_denied_ecosystem(entry: str) -> str:
    """The ecosystem a policy entry names, lower case; ValueError when it is unknown."""
    ecosystem = entry.strip().lower()
    if ecosystem not in ECOSYSTEMS:
        raise ValueError(f"is not a known ecosystem (known: {', '.join(ECOSYSTEMS)})")
    return ecosystem


def _match_key(ecosystem: str, name: str) -> str:
    """How names are compared within an ecosystem. PyPI names are compared canonically
    (PEP 503: "Foo_Bar", "foo.bar" and "foo-bar" name one project, as do "PyCrypto" and
    "pycrypto"); npm, Maven and Go names case-sensitively, as their registries keep them
    (npm's legacy mixed-case packages, Maven coordinates and Go module paths are all
    case-sensitive)."""
    return canonical_pypi_name(name) if ecosystem == "pypi" else name


@dataclass(frozen=True)
class DenyList:
    """The policy's denied dependencies, ready to match: per ecosystem, the match keys of
    the names denied there (a bare name is denied in each ecosystem)."""

    ecosystems: frozenset[str]
    names: dict[str, frozenset[str]]

    @classmethod
    def from_policy(cls, policy: Policy) -> DenyList:
        return _deny_list(
            tuple(policy.dependencies_denied), tuple(policy.dependency_ecosystems_denied)
        )

    def __bool__(self) -> bool:
        return bool(self.ecosystems or any(self.names.values()))

    def reason(self, ecosystem: str, name: str) -> str | None:
        """Why the policy denies ``name`` of ``ecosystem``, or None when it does not."""
        if ecosystem in self.ecosystems:
            return f"the {ecosystem} ecosystem is denied"
        if _match_key(ecosystem, name) in self.names.get(ecosystem, ()):
            return f"{name} is denied"
        return None


@lru_cache(maxsize=8)
def _deny_list(denied: Sequence[str], ecosystems: Sequence[str]) -> DenyList:
    # The policy was validated when it was saved (scans.policy); an entry that is not well
    # formed anyway (written around the validation) still denies what it literally names
    # rather than failing every scan: "junit:junit" then matches Maven's junit:junit.
    names: dict[str, set[str]] = {e: set() for e in ECOSYSTEMS}
    for entry in denied:
        try:
            ecosystem, name = parse_denied_dependency(entry)
        except ValueError:
            ecosystem, name = None, entry.strip()
        for target in (ecosystem,) if ecosystem else ECOSYSTEMS:
            names[target].add(_match_key(target, name))
    return DenyList(
        ecosystems=frozenset(e.strip().lower() for e in ecosystems),
        names={e: frozenset(keys) for e, keys in names.items()},
    )


# ---------------------------------------------------------------------------- detector


def _parser_for(filename: str) -> tuple[str, Callable[[bytes, str], _Parsed]] | None:
    def text_parser(parse: Callable[[str, str], _Parsed]) -> Callable[[bytes, str], _Parsed]:
        return lambda data, name: parse(data.decode("utf-8", errors="replace"), name)

    if filename == "pom.xml":
        return "maven", lambda data, name: parse_pom(data)
    if filename == "package.json":
        return "npm", text_parser(parse_package_json)
    if filename == "pyproject.toml":
        return "pypi", text_parser(parse_pyproject)
    if filename == "go.mod":
        return "go", text_parser(parse_go_mod)
    if _REQUIREMENTS_NAME.match(filename):
        return "pypi", text_parser(parse_requirements)
    return None


class DependencyDetector:
    """Dependencies declared in package manifests, one finding per declaration."""

    kind = Kind.DEPENDENCY
    version = "2"  # 2: denied dependencies (policy) are blocking denied-dependency findings

    def scan(self, data: bytes, *, filename: str, policy: Policy) -> list[Finding]:
        name = filename.rsplit("/", 1)[-1]
        chosen = _parser_for(name)
        if chosen is None or b"\0" in data[:BINARY_SNIFF_BYTES]:
            return []
        ecosystem, parse = chosen
        try:
            parsed = parse(data, name)
        except (ManifestError, RecursionError, UnicodeError, ValueError) as exc:
            line = getattr(exc, "line", 0)
            return [_unparseable(name, ecosystem, str(exc), line)]
        text_lines = data.decode("utf-8", errors="replace").splitlines()
        deny = DenyList.from_policy(policy)
        findings = [
            _declared(parsed.ecosystem, dep, text_lines, deny) for dep in parsed.dependencies
        ]
        if parsed.problems:
            first = parsed.problems[0]
            more = f" (and {len(parsed.problems) - 1} more)" if len(parsed.problems) > 1 else ""
            findings.append(_unparseable(name, ecosystem, f"{first}{more}", first.line))
        return findings


def _declared(ecosystem: str, dep: Dependency, text_lines: list[str], deny: DenyList) -> Finding:
    """One declaration; blocking, with the reason, when the policy denies it. The rule
    differs (so a triage of the denied finding is its own) but the identity and the data
    are the same: the SBOM reads either."""
    excerpt = text_lines[dep.line - 1].strip()[:200] if 0 < dep.line <= len(text_lines) else ""
    version = f" {dep.version}" if dep.version else ""
    message = f"{ecosystem} dependency {dep.name}{version} ({dep.scope})"
    denied = deny.reason(ecosystem, dep.name) if deny else None
    if denied:
        message = f"{message} is denied by the policy: {denied}"
    return Finding(
        kind=Kind.DEPENDENCY,
        rule=RULE_DENIED if denied else RULE_DECLARED,
        severity=Severity.BLOCKING if denied else Severity.INFO,
        line=dep.line,
        message=message,
        excerpt=excerpt,
        identity=f"{ecosystem}:{dep.name}",
        data={
            "name": dep.name,
            "version": dep.version,
            "ecosystem": ecosystem,
            "scope": dep.scope,
            **dep.extra,
        },
    )


def _unparseable(filename: str, ecosystem: str, reason: str, line: int) -> Finding:
    return Finding(
        kind=Kind.DEPENDENCY,
        rule=RULE_UNPARSEABLE,
        severity=Severity.WARNING,
        line=line,
        message=f"Cannot read {filename}: {reason}",
        identity=f"{ecosystem}:{filename}",
        data={"ecosystem": ecosystem},
    )
