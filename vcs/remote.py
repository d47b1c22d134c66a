"""Talking to another machine: which address git may reach, with which credential.

Repository URLs are user input, so before git contacts a host three things are settled
here, in plain Python:

* **Where it may go.** The host is resolved once; a loopback, private, link-local,
  multicast, reserved or cloud-metadata address is refused unless an allow-list entry
  names that very host (``https://git.corp.example/``, not the catch-all ``https://``).
  git is then pinned to the addresses that were checked (``http.curloptResolve``), so a
  second DNS answer cannot send it elsewhere, and it follows no redirect at all.
* **What it may carry.** A credential (an HTTP header) is scoped to a URL prefix and a
  purpose (fetch, push) and reaches git only through its environment, only for a URL
  under that prefix. It never appears in an argument list, a message or a log line.
* **What the user is told.** Every network failure reads the same ("Could not reach
  the repository at ..."), whether the port was closed, silent, not TLS or the host
  unknown, so the message cannot be used to map a network; the detail goes to the
  server log.

``normalize_url`` gives the key under which two spellings of one repository (host case,
a trailing slash or ``.git``, a symlinked folder) are the same repository.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from vcs.errors import BranchNotFound, GitTimeout, RepositoryUnreachable, UnsafeURL
from vcs.git import (
    _SHA_RE,
    _describe_failure,
    _parse_allow,
    _path_components,
    _run_git,
    validate_branch,
    validate_url,
)

__all__ = [
    "Credentials",
    "Resolver",
    "check_egress",
    "ls_remote_branch",
    "normalize_url",
    "remote_env",
    "unreachable",
]

log = logging.getLogger("vcs.remote")

FETCH = "fetch"
PUSH = "push"
PURPOSES = frozenset({FETCH, PUSH})

#: host, port -> the addresses it resolves to. socket.getaddrinfo by default; tests and
#: callers with their own resolver pass another.
Resolver = Callable[[str, int], Sequence[str]]

# Cloud metadata endpoints that are not already loopback/link-local/private.
_METADATA = (
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS over IPv6
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, not the internet


# --------------------------------------------------------------------------- errors


def unreachable(url: str, detail: str = "", *, timed_out: bool = False) -> RepositoryUnreachable:
    """The one message a user sees for any network failure; the detail is logged, and kept
    on the error (``.detail``) for the caller, never in its message."""
    log.warning("git could not reach %s: %s", url, detail or "timed out")
    error = (GitTimeout if timed_out else RepositoryUnreachable)(
        f"Could not reach the repository at {url}."
    )
    error.detail = detail
    return error


# --------------------------------------------------------------------------- identity


def normalize_url(url: str) -> str:
    """The key two URLs of one repository share: scheme and host in lower case, no default
    port, no trailing ``/`` or ``.git``, percent-escapes decoded; for ``file://`` the real
    path (symlinks resolved). Call on a URL validate_url accepted."""
    if url.startswith("file://"):
        path = os.path.realpath(url[len("file://") :])
        for suffix in ("/.git", ".git"):
            if path.endswith(suffix) and len(path) > len(suffix):
                path = path[: -len(suffix)]
                break
        return "file://" + path.rstrip("/")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, 443) else f"{host}:{port}"
    path = unquote(parts.path).rstrip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")].rstrip("/")
    return f"{parts.scheme.lower()}://{netloc}{path}"


# --------------------------------------------------------------------------- egress


def _default_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def _is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv4Address) and address in _SHARED)
        or any(address in network for network in _METADATA)
    )


def _names_host(allow: Sequence[str], host: str, port: int) -> bool:
    """Whether an allow-list entry names this host (and port) itself, not just a scheme."""
    return any(
        p.scheme == "https" and p.host is not None and p.host == host and p.port == port
        for p in _parse_allow(allow)
    )


def check_egress(
    url: str,
    allow: Sequence[str],
    *,
    resolver: Resolver | None = None,
    unresolved_ok: bool = False,
) -> tuple[str, int, tuple[str, ...]]:
    """Validate ``url`` and settle where git may connect for it.

    Returns ``(host, port, addresses)``: the addresses git is pinned to (empty for a
    ``file://`` URL or an IP literal). Raises UnsafeURL when the host resolves to an
    internal address no allow-list entry names, or when a ``file://`` path leaves the
    allowed folders through a symlink; RepositoryUnreachable (the uniform message) when
    the host does not resolve -- unless ``unresolved_ok`` (checking a URL someone saves:
    a name that does not resolve now is refused when git would use it).
    """
    url = validate_url(url, allow)
    if url.startswith("file://"):
        _check_file_realpath(url, allow)
        return "", 0, ()
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or 443
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: Sequence[str] = (str(literal),)
    else:
        try:
            addresses = (resolver or _default_resolver)(host, port)
        except (OSError, UnicodeError) as exc:
            if unresolved_ok:
                return host, port, ()
            raise unreachable(url, f"{host} did not resolve: {exc}") from None
        if not addresses:
            if unresolved_ok:
                return host, port, ()
            raise unreachable(url, f"{host} did not resolve")
    internal = [a for a in addresses if _is_internal(ipaddress.ip_address(a.split("%")[0]))]
    if internal and not _names_host(allow, host, port):
        log.warning("refused %s: %s resolves to %s", url, host, ", ".join(internal))
        raise UnsafeURL(
            "Repository URL points to an internal network address; only hosts the "
            "open-source office names in the allow-list may be internal."
        )
    return host, port, () if literal is not None else tuple(addresses)


def _check_file_realpath(url: str, allow: Sequence[str]) -> None:
    """A symlink inside an allowed folder must not lead git outside of it."""
    real = os.path.realpath(url[len("file://") :])
    comps = _path_components(real)
    for prefix in _parse_allow(allow):
        if prefix.scheme != "file":
            continue
        root = _path_components(os.path.realpath("/" + "/".join(prefix.path)))
        if comps[: len(root)] == root:
            return
    raise UnsafeURL("Repository URL is not in an allowed location.")


# --------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class Credential:
    """One HTTP header sent only to URLs under ``prefix``, for the given purposes."""

    prefix: str
    header: str = field(repr=False)
    purposes: frozenset[str] = PURPOSES

    def matches(self, url: str, purpose: str) -> int:
        """The length of the prefix when it covers ``url`` for ``purpose``, else -1."""
        if purpose not in self.purposes:
            return -1
        (entry,) = _parse_allow([self.prefix])
        parts = urlsplit(url)
        if parts.scheme != "https" or (parts.hostname or "").lower() != entry.host:
            return -1
        if (parts.port or 443) != entry.port:
            return -1
        comps = _path_components(unquote(parts.path))
        return len(entry.path) if comps[: len(entry.path)] == entry.path else -1


class CredentialError(ValueError):
    """The credentials file is malformed; the message never quotes a secret."""


class Credentials:
    """The credentials Gatehouse may use, each scoped to a URL prefix and a purpose.

    Loaded from a JSON file (a list of ``{"prefix", "header" | "header_env", "for"}``);
    ``header_env`` names an environment variable that holds the header, so the file itself
    can be free of secrets. Only ``https://host[:port]/path/`` prefixes are accepted.
    """

    def __init__(self, entries: Iterable[Credential] = ()):
        self._entries = tuple(entries)

    def __repr__(self) -> str:
        return f"<Credentials: {len(self._entries)} prefixes>"

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def from_json(cls, text: str, *, environ: Mapping[str, str] | None = None) -> Credentials:
        environ = os.environ if environ is None else environ
        try:
            items = json.loads(text or "[]")
        except ValueError as exc:
            raise CredentialError(f"The credentials file is not JSON: {exc.msg}.") from None
        if not isinstance(items, list):
            raise CredentialError("The credentials file must hold a JSON list.")
        entries = []
        for number, item in enumerate(items, start=1):
            where = f"credential #{number}"
            if not isinstance(item, dict):
                raise CredentialError(f"{where} must be an object.")
            prefix = item.get("prefix")
            if not isinstance(prefix, str) or not prefix.startswith("https://"):
                raise CredentialError(f"{where}: 'prefix' must be an https:// URL prefix.")
            try:
                (parsed,) = _parse_allow([prefix])
            except ValueError:
                message = f"{where}: 'prefix' is not a plain https://host/path."
                raise CredentialError(message) from None
            if parsed.host is None:
                raise CredentialError(f"{where}: 'prefix' must name a host.")
            if ("header" in item) == ("header_env" in item):
                raise CredentialError(f"{where}: give exactly one of 'header' and 'header_env'.")
            header = item.get("header")
            if "header_env" in item:
                header = environ.get(str(item["header_env"]), "")
                if not header:
                    raise CredentialError(
                        f"{where}: the environment variable {item['header_env']!r} is empty."
                    )
            if not isinstance(header, str) or ":" not in header:
                raise CredentialError(f"{where}: the header must look like 'Name: value'.")
            if any(ch in header for ch in "\r\n\0"):
                raise CredentialError(f"{where}: the header must be one line.")
            purposes = item.get("for", sorted(PURPOSES))
            if isinstance(purposes, str):
                purposes = [purposes]
            if not purposes or not set(purposes) <= PURPOSES:
                raise CredentialError(f"{where}: 'for' lists fetch and/or push.")
            entries.append(Credential(prefix, header.strip(), frozenset(purposes)))
        return cls(entries)

    @classmethod
    def load(cls, path: str, *, environ: Mapping[str, str] | None = None) -> Credentials:
        if not path:
            return cls()
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise CredentialError(f"The credentials file cannot be read: {exc.strerror}.") from None
        return cls.from_json(text, environ=environ)

    def header_for(self, url: str, purpose: str) -> str | None:
        """The header of the longest prefix covering ``url`` for ``purpose``, or None."""
        best, header = -1, None
        for entry in self._entries:
            length = entry.matches(url, purpose)
            if length > best:
                best, header = length, entry.header
        return header


NO_CREDENTIALS = Credentials()


def remote_env(
    url: str,
    allow: Sequence[str],
    *,
    purpose: str,
    credentials: Credentials | None = None,
    resolver: Resolver | None = None,
) -> dict[str, str]:
    """Check ``url`` (see check_egress) and return the environment for one git process
    that contacts it: git pinned to the checked addresses and, when a credential covers
    the URL for ``purpose``, that credential as ``http.extraHeader``. Config travels in
    ``GIT_CONFIG_*`` variables, so nothing secret is on a command line."""
    host, port, addresses = check_egress(url, allow, resolver=resolver)
    config: list[tuple[str, str]] = []
    if addresses:
        pinned = ",".join(f"[{a}]" if ":" in a else a for a in addresses)
        config.append(("http.curloptResolve", f"{host}:{port}:{pinned}"))
    header = (credentials or NO_CREDENTIALS).header_for(url, purpose) if host else None
    if header:
        config.append(("http.extraHeader", header))
    env = {"GIT_CONFIG_COUNT": str(len(config))}
    for index, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


# --------------------------------------------------------------------------- ls-remote


def ls_remote_branch(
    url: str,
    branch: str,
    *,
    allow: Sequence[str],
    timeout: float = 30.0,
    credentials: Credentials | None = None,
    resolver: Resolver | None = None,
) -> str:
    """Return the commit sha that ``refs/heads/<branch>`` points to at ``url``.

    Validates both inputs and the egress before any process starts. The sha is 40 hex
    digits (64 for a SHA-256 repository). Raises UnsafeURL, InvalidRef, BranchNotFound,
    RepositoryUnreachable (GitTimeout on a time-out; the same message either way) or
    VcsError.
    """
    branch = validate_branch(branch)
    env = remote_env(url, allow, purpose=FETCH, credentials=credentials, resolver=resolver)
    ref = f"refs/heads/{branch}"
    try:
        result = _run_git(["ls-remote", "--heads", "--", url, ref], timeout=timeout, env=env)
    except GitTimeout:
        raise unreachable(url, f"ls-remote timed out after {timeout:g} s", timed_out=True) from None
    if result.returncode != 0:
        raise unreachable(url, _describe_failure(result))
    # ls-remote patterns match the *tail* of a ref ("refs/heads/x" also matches
    # "refs/heads/a/refs/heads/x"), so only an exact name counts.
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        sha, sep, name = line.partition("\t")
        if sep and name == ref and _SHA_RE.match(sha):
            return sha
    raise BranchNotFound(f"Branch '{branch}' does not exist in {url}.")
