"""The export plan: what happens to each file of a commit's tree when the component's open
scope is published. Publishing, the release gates, the public-tree preview and the review
pages all read this one function, so they cannot disagree about what goes public.

Plain data in, plain data out: the tree entries (``vcs.list_tree``) and the component's
globs and prefix mapping. Each file gets one fate:

* ``published``: an open glob matches and no internal glob does; ``published_path`` is
  where it lands outside, after the prefix mapping.
* ``internal``: an internal glob matches (the path, or the path it would be published
  as): it never leaves, whatever the open globs say.
* ``excluded``: no open glob matches, or it is a submodule (listed, never fetched or
  published).

With no open glob nothing is published: an empty open scope publishes nothing rather than
everything.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

PUBLISHED = "published"
INTERNAL = "internal"
EXCLUDED = "excluded"
FATES = (PUBLISHED, INTERNAL, EXCLUDED)


@lru_cache(maxsize=1024)
def glob_regex(glob: str) -> re.Pattern[str]:
    """``**`` spans folders, ``*`` and ``?`` stay within one; ``dir/`` or ``dir`` (no
    wildcard) covers everything under it."""
    glob = glob.strip().lstrip("./")
    if glob.endswith("/"):
        glob += "**"
    parts, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            parts.append(".*")
            i += 2
        elif glob[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            parts.append("[^/]")
            i += 1
        else:
            parts.append(re.escape(glob[i]))
            i += 1
    suffix = "(?:/.*)?" if not any(c in glob for c in "*?[") else ""
    return re.compile("".join(parts) + suffix + r"\Z", re.DOTALL)


def first_match(globs: Sequence[str], path: str) -> str:
    """The first of ``globs`` that matches ``path``, or ""."""
    return next((g for g in globs if glob_regex(g).match(path)), "")


@dataclass(frozen=True)
class PlannedFile:
    path: str
    fate: str
    #: Where a published file lands in the external repository ("" unless published).
    published_path: str = ""
    #: The glob that decided: the open glob that publishes it, or the internal glob that
    #: keeps it in ("" when excluded for want of an open glob).
    glob: str = ""
    reason: str = ""
    sha: str = ""
    size: int | None = None
    kind: str = "blob"


@dataclass(frozen=True)
class ExportPlan:
    files: tuple[PlannedFile, ...]
    #: What makes the plan impossible to publish as it is: two files landing on one
    #: published path.
    problems: tuple[str, ...] = ()
    open_paths: tuple[str, ...] = field(default=())

    @cached_property
    def by_path(self) -> dict[str, PlannedFile]:
        return {f.path: f for f in self.files}

    @cached_property
    def published(self) -> tuple[PlannedFile, ...]:
        return tuple(f for f in self.files if f.fate == PUBLISHED)

    @cached_property
    def published_paths(self) -> frozenset[str]:
        return frozenset(f.published_path for f in self.published)

    def fate(self, path: str) -> str:
        """The fate of ``path``; a path not in the tree ("" is the repository itself) is
        excluded."""
        planned = self.by_path.get(path)
        return planned.fate if planned else EXCLUDED

    def is_published(self, path: str) -> bool:
        return self.fate(path) == PUBLISHED

    def pairs(self) -> list[tuple[str, str]]:
        """(internal path, published path) of every published file, in tree order."""
        return [(f.path, f.published_path) for f in self.published]

    def counts(self) -> dict[str, dict[str, int]]:
        """Files and bytes per fate."""
        files = Counter(f.fate for f in self.files)
        sizes = Counter()
        for f in self.files:
            sizes[f.fate] += f.size or 0
        return {fate: {"files": files[fate], "bytes": sizes[fate]} for fate in FATES}


def map_path(path: str, from_prefix: str, to_prefix: str) -> str:
    """Where ``path`` lands outside: under the mapped prefix, or where it is."""
    if from_prefix and path.startswith(from_prefix):
        return to_prefix + path[len(from_prefix) :]
    return path


@dataclass(frozen=True)
class Scope:
    """A component's open scope and prefix mapping: the rules the plan applies per path."""

    open_paths: tuple[str, ...] = ()
    internal_paths: tuple[str, ...] = ()
    from_prefix: str = ""
    to_prefix: str = ""

    def fate(self, path: str) -> tuple[str, str, str]:
        """(fate, published path, deciding glob) of a file at ``path``."""
        target = map_path(path, self.from_prefix, self.to_prefix)
        internal = first_match(self.internal_paths, path) or first_match(
            self.internal_paths, target
        )
        if internal:
            return INTERNAL, "", internal
        opened = first_match(self.open_paths, path)
        if not opened:
            return EXCLUDED, "", ""
        return PUBLISHED, target, opened


def export_plan(
    entries: Iterable,
    *,
    open_paths: Sequence[str],
    internal_paths: Sequence[str] = (),
    from_prefix: str = "",
    to_prefix: str = "",
) -> ExportPlan:
    """The fate of each of ``entries`` (``vcs.TreeEntry``-like: ``path``, ``kind``,
    ``sha``, ``size``). See the module docstring."""
    scope = Scope(tuple(open_paths), tuple(internal_paths), from_prefix, to_prefix)
    files, problems, seen = [], [], {}
    for entry in entries:
        path = entry.path
        common = {"sha": entry.sha, "size": entry.size, "kind": entry.kind}
        if entry.kind == "commit":
            files.append(
                PlannedFile(path, EXCLUDED, reason="a submodule: never published", **common)
            )
            continue
        fate, target, glob = scope.fate(path)
        if fate == INTERNAL:
            files.append(
                PlannedFile(path, INTERNAL, glob=glob, reason=f"internal: {glob}", **common)
            )
            continue
        if fate == EXCLUDED:
            files.append(PlannedFile(path, EXCLUDED, reason="no open path matches", **common))
            continue
        if target in seen:
            problems.append(
                f"{path} and {seen[target]} would both be published as {target}: "
                "change the prefix mapping."
            )
        seen[target] = path
        files.append(
            PlannedFile(
                path,
                PUBLISHED,
                published_path=target,
                glob=glob,
                reason=f"open: {glob}",
                **common,
            )  # fmt: skip
        )
    return ExportPlan(tuple(files), tuple(problems), tuple(open_paths))
