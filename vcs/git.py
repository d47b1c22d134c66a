"""Validation of user-supplied repository input, and the single place git is run.

Repository URLs and branch names come from users. git has a long history of
being abused through exactly those strings: transport helpers (``ext::``) that
run commands, arguments that turn into options (``--upload-pack=...``),
credential prompts that hang a worker, hooks and config picked up from the
environment. So input is checked in pure Python *before* any process starts,
and every git process is started by :func:`_run_git` with an argument list
(never a shell), a fresh minimal environment and a short list of config
overrides that disable everything we do not need.
"""

from __future__ import annotations

import contextlib
import math
import os
import posixpath
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from vcs.errors import GitTimeout, InvalidRef, UnsafeURL, VcsError

__all__ = ["git_env", "validate_branch", "validate_url"]

#: Schemes we can ever talk to; the allow list narrows this further.
SUPPORTED_SCHEMES: tuple[str, ...] = ("https", "file")

#: ``-c`` overrides put in front of every git command. They repeat what
#: git_env() enforces (belt and braces) and switch off hooks and credential
#: helpers, which could otherwise run programs we did not choose.
_HARDENING_CONFIG: tuple[str, ...] = (
    "protocol.allow=never",
    "protocol.https.allow=always",
    "protocol.file.allow=always",
    "core.hooksPath=/dev/null",
    "credential.helper=",
    "core.fsmonitor=false",
    # A redirect could hand a credential (or the pinned connection) to another host.
    "http.followRedirects=false",
)

#: Variables copied from the caller because operators legitimately set them for
#: outbound HTTPS (proxies, CA bundles). Nothing else is inherited.
_PASSTHROUGH_ENV: tuple[str, ...] = (
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    # git's own CA settings (Debian's git uses GnuTLS, which reads no SSL_CERT_*): an
    # internal forge signed by the company's CA.
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
)

_MAX_URL_LENGTH = 2048
_MAX_BRANCH_LENGTH = 255
_MAX_ERROR_DETAIL = 200

# git treats "<scheme>::<address>" as "run git-remote-<scheme>"; see transport.c.
_HELPER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+.-]*::")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# "host:path" / "user@host:path" is git's scp-like ssh syntax.
_SCP_RE = re.compile(r"^[^/:]+:")
_OPTION_MARKERS: tuple[str, ...] = ("--upload-pack", "--receive-pack", "--config", "--exec")
_HOST_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SHA_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_CREDENTIALS_RE = re.compile(r"://[^/@\s]*@")
_BRANCH_FORBIDDEN_CHARS = "~^:?*[\\"


# --------------------------------------------------------------------------- helpers


def _has_control_chars(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


# --------------------------------------------------------------------------- URL validation


@dataclass(frozen=True)
class _AllowedPrefix:
    """One parsed allow-list entry; paths are compared as whole components."""

    scheme: str
    host: str | None  # None: any host (the entry was just "https://")
    port: int  # effective port, 443 when not given; unused for file
    path: tuple[str, ...]


def _path_components(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.split("/") if part)


def _parse_allow(allow: Sequence[str]) -> list[_AllowedPrefix]:
    """Parse the allow list; a malformed entry is a configuration bug, so ValueError."""
    if isinstance(allow, str):
        raise ValueError("allow must be a sequence of URL prefixes, not a single string")
    prefixes: list[_AllowedPrefix] = []
    for entry in allow:
        if entry == "https://":
            prefixes.append(_AllowedPrefix("https", None, 443, ()))
        elif entry.startswith("https://"):
            parts = urlsplit(entry)
            if not parts.hostname or "@" in parts.netloc or parts.query or parts.fragment:
                raise ValueError(f"allow-list entry {entry!r} is not a plain https://host/path")
            comps = _path_components(parts.path)
            if any(c in (".", "..") for c in comps):
                raise ValueError(f"allow-list entry {entry!r} must not contain '.' or '..'")
            prefixes.append(_AllowedPrefix("https", parts.hostname, parts.port or 443, comps))
        elif entry.startswith("file:///"):
            path = entry[len("file://") :]
            if ".." in path.split("/"):
                raise ValueError(f"allow-list entry {entry!r} must not contain '..'")
            comps = _path_components(posixpath.normpath(path))
            prefixes.append(_AllowedPrefix("file", None, 0, comps))
        else:
            raise ValueError(f"allow-list entry {entry!r} must start with 'https://' or 'file:///'")
    return prefixes


def _is_valid_host(host: str) -> bool:
    if ":" in host:  # IPv6 literal; urlsplit already checked the brackets
        return all(ch in "0123456789abcdef:." for ch in host)
    host = host.removesuffix(".")
    return 0 < len(host) <= 253 and all(_HOST_LABEL_RE.match(lbl) for lbl in host.split("."))


def _check_https(url: str, prefixes: list[_AllowedPrefix]) -> None:
    """Refuse https URLs that carry secrets, odd syntax or point outside the allow list."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL("Repository URL has an invalid host or port.") from None
    if "@" in parts.netloc:
        raise UnsafeURL(
            "Repository URL must not contain a user name, password or token "
            "(remove the part before '@')."
        )
    host = parts.hostname
    if not host or not _is_valid_host(host):
        raise UnsafeURL("Repository URL must include a valid host name.")
    if parts.query or "?" in url:
        raise UnsafeURL("Repository URL must not contain a query string ('?').")
    if parts.fragment or "#" in url:
        raise UnsafeURL("Repository URL must not contain a fragment ('#').")
    raw_path = parts.path
    if re.search(r"%(?:2f|5c)", raw_path, re.IGNORECASE):
        raise UnsafeURL("Repository URL must not contain encoded slashes.")
    decoded = unquote(raw_path)
    if _has_control_chars(decoded) or "\\" in decoded:
        raise UnsafeURL("Repository URL must not contain encoded control characters.")
    if "//" in raw_path:
        raise UnsafeURL("Repository URL must not contain empty path segments ('//').")
    comps = _path_components(decoded)
    if any(c in (".", "..") for c in comps):
        raise UnsafeURL("Repository URL must not contain '.' or '..' path segments.")
    if not comps:
        raise UnsafeURL("Repository URL must include the path of the repository.")
    effective_port = port or 443
    for prefix in prefixes:
        if prefix.scheme != "https":
            continue
        if prefix.host is not None and (prefix.host != host or prefix.port != effective_port):
            continue
        if comps[: len(prefix.path)] == prefix.path:
            return
    raise UnsafeURL("Repository URL is not in an allowed location.")


def _check_file(url: str, prefixes: list[_AllowedPrefix]) -> None:
    """Refuse file URLs outside the allowed folders, comparing whole path components."""
    path = url[len("file://") :]
    if not path.startswith("/"):
        raise UnsafeURL("file:// URLs must not name a host; use file:///absolute/path.")
    if any(ch in path for ch in "?#%"):
        raise UnsafeURL("file:// URLs must not contain '?', '#' or '%'.")
    # Rejected outright rather than normalised away: the OS resolves '..' after
    # following symlinks, so normpath() could approve a path that escapes.
    if ".." in path.split("/"):
        raise UnsafeURL("Repository URL must not contain '..'.")
    comps = _path_components(posixpath.normpath(path))
    for prefix in prefixes:
        if prefix.scheme == "file" and comps[: len(prefix.path)] == prefix.path:
            return
    raise UnsafeURL("Repository URL is not in an allowed location.")


def validate_url(url: str, allow: Sequence[str]) -> str:
    """Return ``url`` unchanged if git may be pointed at it, else raise UnsafeURL.

    ``allow`` holds URL prefixes such as ``"https://"``, ``"https://github.com/org/"``
    or ``"file:///srv/demo-repos/"``; only the https and file schemes are supported.
    Nothing is stripped or rewritten: what is validated is exactly what git gets.
    """
    if not isinstance(url, str):
        raise UnsafeURL("Repository URL must be text.")
    if url == "":
        raise UnsafeURL("Repository URL is empty.")
    if url != url.strip():
        raise UnsafeURL("Repository URL must not start or end with whitespace.")
    if _has_control_chars(url):
        raise UnsafeURL("Repository URL must not contain control characters.")
    if url.startswith("-"):
        raise UnsafeURL("Repository URL must not start with '-'.")
    if _HELPER_RE.match(url):
        raise UnsafeURL("Repository URL must not use a git transport helper ('name::...').")
    if len(url) > _MAX_URL_LENGTH:
        raise UnsafeURL(f"Repository URL must be at most {_MAX_URL_LENGTH} characters.")
    if not url.isascii():
        raise UnsafeURL(
            "Repository URL must contain only ASCII characters "
            "(write international domain names in punycode)."
        )
    if any(ch.isspace() for ch in url):
        raise UnsafeURL("Repository URL must not contain spaces.")
    lowered = url.lower()
    if any(marker in lowered for marker in _OPTION_MARKERS):
        raise UnsafeURL("Repository URL must not contain git options such as '--upload-pack'.")
    if "\\" in url:
        raise UnsafeURL("Repository URL must not contain backslashes.")

    match = _SCHEME_RE.match(url)
    if match is None:
        if _SCP_RE.match(url):
            raise UnsafeURL(
                "SSH-style addresses such as 'git@host:org/repo.git' are not supported; "
                "use an https:// URL."
            )
        raise UnsafeURL("Repository URL must be a full URL such as https://host/org/repo.git.")

    prefixes = _parse_allow(allow)
    allowed_schemes = sorted({p.scheme for p in prefixes})
    scheme = match.group(1)
    if scheme not in allowed_schemes:
        if not allowed_schemes:
            raise UnsafeURL("No repository locations are allowed on this server.")
        shown = " or ".join(f"{s}://" for s in reversed(allowed_schemes))
        raise UnsafeURL(f"Repository URLs must start with {shown} (got '{scheme}://').")

    if scheme == "https":
        _check_https(url, prefixes)
    else:
        _check_file(url, prefixes)
    return url


# --------------------------------------------------------------------------- branch names


def validate_branch(name: str) -> str:
    """Return ``name`` if ``git check-ref-format --branch`` would accept it, else InvalidRef.

    Implemented in Python so bad input is refused without starting a process; it
    is slightly stricter than git (no whitespace or invisible characters at all).
    """
    return _check_ref_name(name, noun="Branch")


def _check_ref_name(name: str, *, noun: str) -> str:
    """The rules of validate_branch; ``noun`` ("Branch", "Ref") names the thing in messages."""
    lower = noun.lower()
    if not isinstance(name, str):
        raise InvalidRef(f"{noun} name must be text.")
    if name == "":
        raise InvalidRef(f"{noun} name is empty.")
    if len(name) > _MAX_BRANCH_LENGTH:
        raise InvalidRef(f"{noun} name must be at most {_MAX_BRANCH_LENGTH} characters.")
    if _has_control_chars(name):
        raise InvalidRef(f"{noun} name must not contain control characters.")
    if any(ch.isspace() for ch in name):
        raise InvalidRef(f"{noun} name must not contain spaces.")
    if not name.isprintable():
        raise InvalidRef(f"{noun} name must not contain invisible characters.")
    if name.startswith("-"):
        raise InvalidRef(f"{noun} name must not start with '-'.")
    bad = sorted({ch for ch in name if ch in _BRANCH_FORBIDDEN_CHARS})
    if bad:
        shown = " ".join(bad)
        raise InvalidRef(f"{noun} name must not contain these characters: {shown}")
    if ".." in name:
        raise InvalidRef(f"{noun} name must not contain '..'.")
    if "@{" in name:
        raise InvalidRef(f"{noun} name must not contain '@{{'.")
    if name in ("@", "HEAD"):
        raise InvalidRef(f"{noun} name must not be '{name}'.")
    if name.startswith("/") or name.endswith("/"):
        raise InvalidRef(f"{noun} name must not start or end with '/'.")
    if "//" in name:
        raise InvalidRef(f"{noun} name must not contain '//'.")
    if name.endswith("."):
        raise InvalidRef(f"{noun} name must not end with '.'.")
    for component in name.split("/"):
        if component.startswith("."):
            raise InvalidRef(f"No part of a {lower} name may start with '.'.")
        if component.endswith(".lock"):
            raise InvalidRef(f"No part of a {lower} name may end with '.lock'.")
    return name


# --------------------------------------------------------------------------- running git


def git_env() -> dict[str, str]:
    """Build the environment for every git process from scratch.

    Nothing from the caller leaks in (no GIT_DIR, GIT_SSH_COMMAND,
    GIT_CONFIG_PARAMETERS, ...) except PATH and the proxy/CA variables above;
    system and global config are ignored and prompts fail instead of hanging.
    """
    env = {
        "PATH": os.environ.get("PATH") or os.defpath,
        "HOME": "/nonexistent",
        "LANG": "C",
        "LC_ALL": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/true",
        "SSH_ASKPASS": "/bin/true",
        "GIT_PROTOCOL_FROM_USER": "0",
        "GIT_ALLOW_PROTOCOL": "https:file",
        "GCM_INTERACTIVE": "never",
        "GIT_NO_REPLACE_OBJECTS": "1",
    }
    for name in _PASSTHROUGH_ENV:
        value = os.environ.get(name)
        if value is not None:
            env[name] = value
    return env


def _kill_process_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill git and its helpers (git-remote-https, upload-pack), not just the parent."""
    if proc.returncode is not None:  # already reaped: the pid may have been reused
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _check_timeout(timeout: float) -> None:
    if not (isinstance(timeout, int | float) and math.isfinite(timeout) and timeout > 0):
        raise ValueError("timeout must be a positive finite number of seconds")


def _git_command(args: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The argv (git + hardening ``-c`` options + ``args``) and environment for one git process.

    Shared by _run_git and the long-lived ``cat-file --batch`` reader so both get
    exactly the same hardening. Raises VcsError if git is not installed.
    """
    env = git_env()
    git = shutil.which("git", path=env["PATH"])
    if git is None:
        raise VcsError("git is not installed on this server.")
    command = [git]
    for item in _HARDENING_CONFIG:
        command += ["-c", item]
    command += list(args)
    return command, env


def _run_git(
    args: Sequence[str],
    *,
    timeout: float,
    cwd: str | os.PathLike[str] | None = None,
    input: bytes | None = None,  # noqa: A002 - subprocess's name for it
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git <hardening -c options> <args>`` and return the finished process.

    The return code is *not* checked: each caller knows what a failure means.
    Output is bytes because later callers (cat-file) read binary blobs. With
    ``cwd=None`` git runs in a fresh empty directory with a ceiling just above
    it, so no repository (and no repository config) can be discovered.
    ``input`` is fed to git's standard input; ``env`` adds variables (a temporary
    GIT_INDEX_FILE, author dates) to the hardened environment.
    Raises GitTimeout if git runs longer than ``timeout`` seconds, VcsError if
    git cannot be started. Input must already be validated by the caller.
    """
    _check_timeout(timeout)
    command, full_env = _git_command(args)
    full_env.update(env or {})

    with contextlib.ExitStack() as stack:
        if cwd is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="gatehouse-git-"))
            full_env["GIT_CEILING_DIRECTORIES"] = os.path.dirname(workdir)
        else:
            workdir = os.fspath(cwd)
        try:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=full_env,
                cwd=workdir,
                close_fds=True,
                # Own process group, so a timeout can kill helpers git started too.
                start_new_session=True,
            )
        except OSError as exc:
            raise VcsError("git could not be started on this server.") from exc
        try:
            stdout, stderr = proc.communicate(input=input, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_process_group(proc)
            try:
                proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:  # a helper escaped the group; give up on it
                proc.kill()
                proc.wait()
                for pipe in (proc.stdout, proc.stderr):
                    if pipe is not None:
                        pipe.close()
            raise GitTimeout(f"git timed out after {timeout:g} s.") from None
        except BaseException:
            _kill_process_group(proc)
            proc.wait()
            raise
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def _describe_failure(result: subprocess.CompletedProcess[bytes]) -> str:
    """One short, printable line from git's stderr (the first 'fatal:'), safe to show."""
    lines = [ln.strip() for ln in result.stderr.decode("utf-8", "replace").splitlines()]
    lines = [ln for ln in lines if ln]
    fatal = [ln for ln in lines if ln.startswith("fatal:")]
    if fatal:
        detail = fatal[0].removeprefix("fatal:").strip()
    elif lines:
        detail = lines[-1]
    else:
        detail = ""
    detail = "".join(ch for ch in detail if ch.isprintable())
    detail = _CREDENTIALS_RE.sub("://***@", detail)
    if len(detail) > _MAX_ERROR_DETAIL:
        detail = detail[: _MAX_ERROR_DETAIL - 1].rstrip() + "…"
    return detail or f"git exited with status {result.returncode}"
