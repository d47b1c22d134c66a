"""Scan a repository in the foreground with the same engine the worker runs."""

import json
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

import vcs
from governance.repositories import git_credentials
from scans import engine
from scans.detectors.base import Policy
from scans.policy import parse_policy_yaml
from scans.services import DatabaseCache, active_policy


class Command(BaseCommand):
    help = "Scan URL_OR_PATH at --ref (default HEAD) and print the findings."
    # A read-only scan needs no project-wide system checks (a quarter second at start-up).
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("target", help="A repository URL, or a local repository path.")
        parser.add_argument(
            "--ref", default="HEAD", help="Any commit-ish: a branch, a tag, a sha, HEAD~1."
        )
        parser.add_argument("--policy", type=Path, help="A policy YAML file (default: stored)")
        parser.add_argument("--format", choices=["json", "table"], default="table")
        parser.add_argument("--open", action="append", default=[], help="open-scope glob")
        parser.add_argument("--internal", action="append", default=[], help="internal glob")
        parser.add_argument("--license", default="", help="the component's SPDX license")

    def handle(self, *args, **opts):
        url, allow = self._url(opts["target"])
        policy = self._policy(opts["policy"])
        mirror = vcs.mirror_dir_for(Path(settings.GATEHOUSE_MIRRORS_DIR), url)
        try:
            vcs.mirror_update(
                url, mirror, allow=allow, timeout=settings.GATEHOUSE_SCAN_TIME_LIMIT,
                max_size_bytes=settings.GATEHOUSE_SCAN_MAX_REPOSITORY_BYTES,
                credentials=git_credentials(),
            )  # fmt: skip
            commit = vcs.resolve_commitish(mirror, opts["ref"])
            result = engine.scan_commit(
                mirror=mirror, commit=commit, policy=policy,
                boundary=engine.Boundary(opts["open"], opts["internal"], opts["license"]),
                cache=DatabaseCache(),
                limits=engine.Limits(
                    max_blob_bytes=settings.GATEHOUSE_SCAN_MAX_BLOB_BYTES,
                    time_limit=settings.GATEHOUSE_SCAN_TIME_LIMIT,
                ),
                fingerprint_key=settings.GATEHOUSE_FINGERPRINT_KEY,
            )  # fmt: skip
        except vcs.VcsError as exc:
            raise CommandError(str(exc)) from exc
        if opts["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {
                        "commit": result.commit,
                        "findings": [f.to_json() for f in result.findings],
                        "stats": result.stats(),
                        **({"incomplete": result.incomplete} if result.incomplete else {}),
                        **({"unread": result.unread} if result.unread else {}),
                    },
                    indent=2,
                )
            )
            return
        for f in result.findings:
            where = f"{f.path}:{f.line}" if f.line else (f.path or "(repository)")
            self.stdout.write(f"{f.severity:<9}{f.kind:<13}{f.rule:<26}{where}  {f.message}")
        stats = result.stats()
        self.stdout.write(
            f"\n{result.commit[:12]}: {len(result.findings)} findings; {stats['files']} files, "
            f"{stats['bytes']} bytes, {stats['cached']} cached, {stats['skipped']} skipped, "
            f"{stats['seconds']} s"
            + (f"; INCOMPLETE: {result.incomplete}" if result.incomplete else "")
        )

    def _url(self, target: str) -> tuple[str, list[str]]:
        """A local path is allowed for this run only; a URL must pass the allow-list."""
        path = Path(target)
        if "://" not in target and path.exists():
            resolved = path.resolve()
            return f"file://{resolved}", [f"file://{resolved.parent}/"]
        return target, list(settings.GATEHOUSE_GIT_ALLOW)

    def _policy(self, file: Path | None) -> Policy:
        if file is None:
            return active_policy().as_policy()
        try:
            fields = parse_policy_yaml(file.read_text())
            return Policy(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
        except (OSError, ValidationError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
