"""Egress, credentials and repository identity (vcs.remote): plain Python, no network.

Resolution is the one thing faked here, by handing check_egress a resolver (its own
parameter, the way a caller with its own DNS would); everything else is the real code.
Real connections to a real https git server are in tests/vcs/test_https_credentials.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vcs import Credentials, UnsafeURL, check_egress, normalize_url
from vcs.errors import RepositoryUnreachable
from vcs.remote import CredentialError, ls_remote_branch, remote_env


def resolving_to(*addresses: str):
    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


# --------------------------------------------------------------------------- identity


@pytest.mark.parametrize(
    "alias",
    [
        "https://git.example.com/team/core.git",
        "https://GIT.Example.COM/team/core",
        "https://git.example.com/team/core/",
        "https://git.example.com/team/core.git/",
        "https://git.example.com:443/team/core.git",
        "HTTPS://git.example.com./team/core",
        "https://git.example.com/team/%63ore.git",
    ],
)
def test_spellings_of_one_https_repository_share_a_key(alias):
    assert normalize_url(alias) == "https://git.example.com/team/core"


def test_other_ports_and_paths_are_other_repositories():
    base = normalize_url("https://git.example.com/team/core")
    assert normalize_url("https://git.example.com:8443/team/core") != base
    assert normalize_url("https://git.example.com/team/core2") != base
    assert normalize_url("https://git.example.com/Team/core") != base  # paths keep case


def test_file_aliases_resolve_to_the_real_folder(tmp_path: Path):
    real = tmp_path / "repos" / "core.git"
    real.mkdir(parents=True)
    os.symlink(tmp_path / "repos", tmp_path / "link")
    key = normalize_url(f"file://{real}")
    assert normalize_url(f"file://{tmp_path}/link/core.git") == key
    assert normalize_url(f"file://{tmp_path}/repos/core.git/") == key
    assert normalize_url(f"file://{tmp_path}/repos/core") == key
    work = tmp_path / "work"
    (work / ".git").mkdir(parents=True)
    assert normalize_url(f"file://{work}/.git") == normalize_url(f"file://{work}")


# --------------------------------------------------------------------------- egress

ANY_HTTPS = ["https://"]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:5432/x.git",
        "https://[::1]:22/x.git",
        "https://169.254.169.254/latest/meta-data",
        "https://10.1.2.3/x.git",
        "https://192.168.0.10/x.git",
        "https://172.16.5.5/x.git",
        "https://0.0.0.0/x.git",
        "https://[::ffff:127.0.0.1]/x.git",
        "https://[fd00:ec2::254]/x.git",
        "https://100.100.100.200/x.git",
        "https://224.0.0.1/x.git",
    ],
)
def test_internal_addresses_are_refused_before_git_runs(url):
    with pytest.raises(UnsafeURL, match="internal network address"):
        check_egress(url, ANY_HTTPS)


def test_a_public_name_that_resolves_inside_is_refused():
    with pytest.raises(UnsafeURL, match="internal network address"):
        check_egress(
            "https://innocent.example.org/x.git", ANY_HTTPS, resolver=resolving_to("10.0.0.7")
        )
    with pytest.raises(UnsafeURL):  # one bad address among good ones is enough
        check_egress(
            "https://mixed.example.org/x.git",
            ANY_HTTPS,
            resolver=resolving_to("93.184.215.14", "127.0.0.1"),
        )


def test_numeric_spellings_of_loopback_are_refused():
    # What the resolver makes of "2130706433" is what counts, not how it is written.
    with pytest.raises(UnsafeURL):
        check_egress("https://2130706433/x.git", ANY_HTTPS, resolver=resolving_to("127.0.0.1"))


def test_a_host_the_allow_list_names_may_be_internal():
    allow = ["https://git.corp.example/", "https://127.0.0.1:8443/"]
    host, port, pinned = check_egress(
        "https://git.corp.example/team/x.git", allow, resolver=resolving_to("10.0.0.7")
    )
    assert (host, port, pinned) == ("git.corp.example", 443, ("10.0.0.7",))
    assert check_egress("https://127.0.0.1:8443/x.git", allow)[2] == ()
    with pytest.raises(UnsafeURL):  # another port of the named host is not named
        check_egress("https://127.0.0.1:5432/x.git", allow)


def test_public_hosts_are_pinned_to_the_checked_addresses():
    env = remote_env(
        "https://git.example.org/x.git",
        ANY_HTTPS,
        purpose="fetch",
        resolver=resolving_to("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"),
    )
    assert env["GIT_CONFIG_KEY_0"] == "http.curloptResolve"
    assert env["GIT_CONFIG_VALUE_0"] == (
        "git.example.org:443:93.184.215.14,[2606:2800:21f:cb07:6820:80da:af6b:8b2c]"
    )


def test_an_unknown_host_reads_like_any_unreachable_repository():
    def fail(host, port):
        raise OSError("Name or service not known")

    with pytest.raises(RepositoryUnreachable) as err:
        check_egress("https://no-such-host.example/x.git", ANY_HTTPS, resolver=fail)
    assert str(err.value) == "Could not reach the repository at https://no-such-host.example/x.git."


def test_a_symlink_out_of_the_allowed_folder_is_refused(tmp_path: Path):
    allowed = tmp_path / "allowed"
    outside = tmp_path / "outside" / "secret.git"
    allowed.mkdir()
    outside.mkdir(parents=True)
    os.symlink(outside, allowed / "escape.git")
    with pytest.raises(UnsafeURL, match="not in an allowed location"):
        check_egress(f"file://{allowed}/escape.git", [f"file://{allowed}/"])
    with pytest.raises(UnsafeURL):
        ls_remote_branch(f"file://{allowed}/escape.git", "main", allow=[f"file://{allowed}/"])


# --------------------------------------------------------------------------- credentials

CREDENTIALS = """[
  {"prefix": "https://git.corp.example/platform/", "header": "Authorization: Basic cGxhdGZvcm0=",
   "for": ["fetch"]},
  {"prefix": "https://git.corp.example/platform/core/", "header_env": "CORE_PUSH",
   "for": ["push"]},
  {"prefix": "https://github.com/example-oss/", "header": "Authorization: Bearer oss"}
]"""


@pytest.fixture
def credentials() -> Credentials:
    return Credentials.from_json(CREDENTIALS, environ={"CORE_PUSH": "Authorization: Bearer core"})


def test_a_credential_covers_only_urls_under_its_prefix(credentials):
    fetch = "fetch"
    assert credentials.header_for("https://git.corp.example/platform/x.git", fetch) == (
        "Authorization: Basic cGxhdGZvcm0="
    )
    assert credentials.header_for("https://GIT.corp.example/platform/x.git", fetch) is not None
    for elsewhere in [
        "https://git.corp.example/platformer/x.git",  # a longer name is not under it
        "https://git.corp.example/other/x.git",
        "https://git.corp.example.evil.com/platform/x.git",
        "https://git.corp.example:8443/platform/x.git",
        "https://evil.example/platform/x.git",
        "file:///git.corp.example/platform/x.git",
    ]:
        assert credentials.header_for(elsewhere, fetch) is None, elsewhere


def test_a_credential_serves_only_its_purposes(credentials):
    core = "https://git.corp.example/platform/core/repo.git"
    # Pushing to core uses its own credential; the fetch-only one never pushes.
    assert credentials.header_for(core, "push") == "Authorization: Bearer core"
    assert credentials.header_for(core, "fetch") == "Authorization: Basic cGxhdGZvcm0="
    assert credentials.header_for("https://git.corp.example/platform/x.git", "push") is None
    assert credentials.header_for("https://github.com/example-oss/lib.git", "push") is not None


def test_the_header_travels_in_the_environment_only_for_its_url(credentials):
    allow = ["https://git.corp.example/", "https://"]
    env = remote_env(
        "https://git.corp.example/platform/x.git",
        allow,
        purpose="fetch",
        credentials=credentials,
        resolver=resolving_to("10.0.0.7"),
    )
    assert ("http.extraHeader", "Authorization: Basic cGxhdGZvcm0=") in [
        (env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"])
        for i in range(int(env["GIT_CONFIG_COUNT"]))
    ]
    other = remote_env(
        "https://evil.example/platform/x.git",
        allow,
        purpose="fetch",
        credentials=credentials,
        resolver=resolving_to("93.184.215.14"),
    )
    assert "Authorization" not in repr(other)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{}", "JSON list"),
        ('[{"prefix": "http://x/", "header": "A: b"}]', "https://"),
        ('[{"prefix": "https://", "header": "A: b"}]', "name a host"),
        ('[{"prefix": "https://x/"}]', "exactly one"),
        ('[{"prefix": "https://x/", "header": "no colon here"}]', "Name: value"),
        ('[{"prefix": "https://x/", "header_env": "UNSET_VARIABLE"}]', "is empty"),
        ('[{"prefix": "https://x/", "header": "A: b", "for": ["delete"]}]', "fetch and/or push"),
    ],
)
def test_a_malformed_credentials_file_says_why_without_quoting_secrets(text, message):
    with pytest.raises(CredentialError, match=message) as err:
        Credentials.from_json(text, environ={})
    assert 'b"' not in str(err.value)


def test_credentials_never_show_their_headers(credentials):
    assert "cGxhdGZvcm0" not in repr(credentials)
    assert "cGxhdGZvcm0" not in repr(credentials._entries)


def test_a_name_that_does_not_resolve_may_be_saved_but_not_fetched():
    def fail(host, port):
        raise OSError("no DNS here")

    assert check_egress(
        "https://git.example.org/x.git", ANY_HTTPS, resolver=fail, unresolved_ok=True
    ) == ("git.example.org", 443, ())
    with pytest.raises(RepositoryUnreachable):
        remote_env("https://git.example.org/x.git", ANY_HTTPS, purpose="fetch", resolver=fail)
