"""Throwaway git repositories for tests: real `git init`, real commits."""

from __future__ import annotations

import subprocess
from pathlib import Path

GIT_IDENTITY = [
    "-c", "user.name=Test Engineer",
    "-c", "user.email=engineer@example.com",
    "-c", "commit.gpgsign=false",
    "-c", "init.defaultBranch=main",
]  # fmt: skip


class GitRepo:
    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q")

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def git(self, *args: str) -> str:
        result = subprocess.run(
            ["git", *GIT_IDENTITY, *args],
            cwd=self.path,
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.head()

    def head(self, ref: str = "HEAD") -> str:
        return self.git("rev-parse", ref)

    def branch(self, name: str) -> None:
        self.git("branch", name)
