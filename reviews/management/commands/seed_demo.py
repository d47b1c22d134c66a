"""Seed a demo: the default departments, seven demo users and four components under review.

Every workflow step goes through the real services (submission_create, signoff_create,
comment_create), so the demo carries the same audit events, object permissions and
queued notifications as real use. The components' internal repositories are real git
repositories created under ``settings.GATEHOUSE_DEMO_REPOS_DIR``.

The demo tells a story across the last twelve weeks (``STORY``): each component's
submission, sign-offs and comments are dated back after the services made them, with
each department reviewing at its own speed (``seed_demo_sync`` dates the releases, scans
and syncs in the same story). Only model timestamps move; the sealed audit events keep
the time they were written.

Idempotent: departments are ensured, existing users are left as they are (only their
demo reviewer group is ensured), a component whose slug exists is skipped, and a demo
repository is created only if its folder is missing. Notifications are queued after each
commit as usual; with the default file-system broker they wait under ``var/celery`` until
a worker delivers them, so seeding needs no running worker and sends no mail itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

import vcs
from core.management.demo import DemoCommand
from governance.defaults import ensure_default_departments
from governance.models import Component, Department, Repository
from governance.services import ComponentDraft
from reviews.enums import Answer, Decision
from reviews.models import Comment, ReviewTicket, SignOff, Submission
from reviews.services import (
    comment_create,
    component_set_external,
    signoff_create,
    submission_create,
)
from scans.models import ScanPolicy, ScanRun
from scans.services import policy_update

# What the demo company declares internal, and its license lists (see load_policy).
DEMO_POLICY = {
    "internal_domains": ["corp.example.internal"],
    "internal_email_domains": ["corp.example.internal"],
    "internal_packages": ["com.example.internal"],
    "internal_patterns": [r"EXJIRA-\d+"],
    "licenses_allowed": ["Apache-2.0", "MIT", "BSD-3-Clause"],
    "licenses_denied": ["GPL-3.0-only", "AGPL-3.0-or-later"],
}
DEMO_PASSWORD = "gatehouse-demo"  # published demo password; refused with DEBUG off
BRANCH = "main"


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    department: str | None = None  # slug of the department whose reviewer group they join
    superuser: bool = False

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"


USERS: list[DemoUser] = [
    DemoUser("admin", "Olivia", "Office", superuser=True),
    DemoUser("alice", "Alice", "Anders"),
    DemoUser("bob", "Bob", "Brennan"),
    DemoUser("tina", "Tina", "Torres", department="technical"),
    DemoUser("cora", "Cora", "Castillo", department="compliance"),
    DemoUser("leo", "Leo", "Lindqvist", department="legal"),
    DemoUser("sam", "Sam", "Sato", department="security"),
]
REVIEWER_DEPARTMENT = {u.username: u.department for u in USERS if u.department}


@dataclass(frozen=True)
class DemoCommit:
    message: str
    date: str  # ISO 8601; fixed dates make the demo commit SHAs the same on every machine
    files: dict[str, str]


@dataclass(frozen=True)
class Decide:
    """A reviewer's sign-off on their department's ticket."""

    reviewer: str
    decision: str
    comment: str = ""
    # Answers by question position; on approval every other question is answered "yes".
    answers: dict[int, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Remark:
    """A comment on a department's ticket (or on the submission when department is None)."""

    author: str
    body: str
    department: str | None = None


@dataclass(frozen=True)
class DemoComponent:
    slug: str
    name: str
    license: str
    description: str
    open_paths: list[str]
    internal_paths: list[str]
    submitter: str
    justification: str
    commits: list[DemoCommit]
    review: list[Decide | Remark]


# --------------------------------------------------------------------------- repository contents

COPYRIGHT = "Copyright 2023-2025 Example Financial Group"

APACHE_LICENSE = f"""\
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION

   The full terms of the Apache License, Version 2.0 apply to this work.

   APPENDIX: How to apply the Apache License to your work.

   {COPYRIGHT}

   Licensed under the Apache License, Version 2.0 (the "License");
   you may not use this file except in compliance with the License.
   You may obtain a copy of the License at

       http://www.apache.org/licenses/LICENSE-2.0

   Unless required by applicable law or agreed to in writing, software
   distributed under the License is distributed on an "AS IS" BASIS,
   WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
   See the License for the specific language governing permissions and
   limitations under the License.
"""

MIT_LICENSE = f"""\
MIT License

{COPYRIGHT}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def _py(spdx: str, body: str) -> str:
    return f"# SPDX-License-Identifier: {spdx}\n# {COPYRIGHT}\n{body}"


MQ_CORE_COMMITS = [
    DemoCommit(
        "Import the broker core and the client API",
        "2025-03-03T09:14:00+00:00",
        {
            "README.md": """\
# mq-core

The message-queue core of the Example middleware stack: durable topics,
at-least-once delivery and consumer groups, with a small Python client.

    from api.client import Client

    with Client("mq://localhost:5670") as client:
        client.publish("orders", b'{"id": 1}')

## Layout

- `core/` - the broker: topics, partitions, the commit log
- `api/` - the public client API
- `sharding/` - multi-region shard routing (internal only, not published)
- `legacy/` - v1 wire-protocol shims (internal extension, not published)
""",
            "LICENSE": APACHE_LICENSE,
            "pyproject.toml": """\
[project]
name = "mq-core"
version = "2.4.0"
requires-python = ">=3.10"
license = "Apache-2.0"
""",
            "core/__init__.py": _py("Apache-2.0", '"""The broker core."""\n'),
            "core/broker.py": _py(
                "Apache-2.0",
                '''"""Topics, partitions and at-least-once delivery."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import timedelta


@dataclass
class Message:
    topic: str
    payload: bytes
    offset: int
    headers: dict[str, str] = field(default_factory=dict)


class Broker:
    """An in-process broker; the network front end wraps one of these."""

    def __init__(self, partitions: int = 8) -> None:
        self._partitions = partitions
        self._logs: dict[tuple[str, int], deque[Message]] = defaultdict(deque)
        self._offsets: dict[tuple[str, str, int], int] = defaultdict(int)
        self._lock = threading.Lock()

    def partition_for(self, key: bytes) -> int:
        return hash(key) % self._partitions

    def publish(self, topic: str, payload: bytes, *, key: bytes = b"") -> Message:
        partition = self.partition_for(key)
        with self._lock:
            log = self._logs[(topic, partition)]
            message = Message(topic, payload, offset=len(log))
            log.append(message)
        return message

    def poll(self, topic: str, group: str, partition: int, max_messages: int = 100):
        with self._lock:
            log = self._logs[(topic, partition)]
            start = self._offsets[(group, topic, partition)]
            return list(log)[start : start + max_messages]

    def commit(self, topic: str, group: str, partition: int, offset: int) -> None:
        with self._lock:
            key = (group, topic, partition)
            self._offsets[key] = max(self._offsets[key], offset + 1)
''',
            ),
            "api/__init__.py": _py("Apache-2.0", "from api.client import Client\n"),
            "api/client.py": _py(
                "Apache-2.0",
                '''"""The public client API."""

from __future__ import annotations

from urllib.parse import urlsplit


class Client:
    """Publish to and consume from an mq-core broker."""

    def __init__(self, url: str, *, client_id: str = "mq-client", timeout: float = 10.0):
        parts = urlsplit(url)
        if parts.scheme != "mq":
            raise ValueError("broker URLs look like mq://host:port")
        self.host = parts.hostname or "localhost"
        self.port = parts.port or 5670
        self.client_id = client_id
        self.timeout = timeout
        self._connected = False

    def __enter__(self) -> Client:
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def connect(self) -> None:
        self._connected = True

    def publish(self, topic: str, payload: bytes, *, key: bytes = b"") -> None:
        if not self._connected:
            raise RuntimeError("connect() first")

    def close(self) -> None:
        self._connected = False
''',
            ),
        },
    ),
    DemoCommit(
        "Route partitions across regions with the shard map",
        "2025-03-17T14:02:00+00:00",
        {
            "sharding/__init__.py": _py(
                "LicenseRef-Example-Internal",
                '"""Multi-region shard routing. Internal only: never published."""\n',
            ),
            "sharding/router.py": _py(
                "LicenseRef-Example-Internal",
                '''"""Map partitions to regional broker clusters using the internal shard map."""

SHARD_MAP_URL = "https://shardmap.mq.corp.example.internal/v2/map"
REGIONS = ("ldn-dc2", "nyc-dc4", "sgp-dc1")


def cluster_for(topic: str, partition: int) -> str:
    region = REGIONS[partition % len(REGIONS)]
    return f"mq-{region}.corp.example.internal:5670"
''',
            ),
        },
    ),
    DemoCommit(
        "Keep the v1 wire-protocol shims as an internal extension",
        "2025-04-02T10:41:00+00:00",
        {
            "legacy/__init__.py": _py(
                "LicenseRef-Example-Internal",
                '"""v1 compatibility shims for the trading platform. Internal only."""\n',
            ),
            "legacy/v1_shims.py": _py(
                "LicenseRef-Example-Internal",
                '''"""Translate v1 frames (fixed 64-byte header) to and from v2 messages."""

import struct

V1_HEADER = struct.Struct(">4sHHQ48x")


def decode_v1(frame: bytes) -> tuple[str, bytes]:
    magic, version, topic_len, _ = V1_HEADER.unpack_from(frame)
    if magic != b"MQv1":
        raise ValueError("not a v1 frame")
    body = frame[V1_HEADER.size :]
    return body[:topic_len].decode(), body[topic_len:]
''',
            ),
        },
    ),
    DemoCommit(
        "Add tests and community files for the open-source release",
        "2025-04-22T16:20:00+00:00",
        {
            "CONTRIBUTING.md": (
                "# Contributing\n\nPull requests are welcome. Sign off every commit "
                "(`git commit -s`) to certify the Developer Certificate of Origin.\n"
            ),
            "SECURITY.md": (
                "# Security policy\n\nReport vulnerabilities privately to "
                "security@example.com; we answer within two working days.\n"
            ),
            "NOTICE": f"mq-core\n{COPYRIGHT}\n\nThis product includes software developed "
            "at Example Financial Group.\n",
            "tests/test_broker.py": _py(
                "Apache-2.0",
                """from core.broker import Broker


def test_published_message_is_polled_until_committed():
    broker = Broker(partitions=1)
    broker.publish("orders", b"1")
    assert [m.payload for m in broker.poll("orders", "billing", 0)] == [b"1"]
    broker.commit("orders", "billing", 0, offset=0)
    assert broker.poll("orders", "billing", 0) == []
""",
            ),
        },
    ),
]

CONFIG_CLIENT_COMMITS = [
    DemoCommit(
        "Config client: typed settings from the config service, with a local cache",
        "2025-05-06T08:55:00+00:00",
        {
            "README.md": """\
# config-client

Typed access to the central configuration service, with a local cache so a
service keeps starting while the config service is down.

    from config_client import ConfigClient

    config = ConfigClient("https://config.example.com", app="pricing")
    timeout = config.get_float("http.timeout", default=5.0)
""",
            "LICENSE": MIT_LICENSE,
            "pyproject.toml": """\
[project]
name = "config-client"
version = "1.3.0"
requires-python = ">=3.10"
license = "MIT"
dependencies = ["httpx>=0.27"]
""",
            "config_client/__init__.py": _py(
                "MIT", "from config_client.client import ConfigClient\n"
            ),
            "config_client/client.py": _py(
                "MIT",
                '''"""Read typed settings from the config service."""

from __future__ import annotations

from config_client.cache import FileCache


class ConfigClient:
    def __init__(self, base_url: str, *, app: str, cache: FileCache | None = None):
        self.base_url = base_url.rstrip("/")
        self.app = app
        self.cache = cache or FileCache(app)
        self._values: dict[str, str] = {}

    def refresh(self, fetch) -> None:
        """Load every key for the app; fall back to the cache when the service fails."""
        try:
            self._values = dict(fetch(f"{self.base_url}/v1/apps/{self.app}/settings"))
            self.cache.store(self._values)
        except OSError:
            self._values = self.cache.load()

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._values.get(key, default)

    def get_float(self, key: str, default: float) -> float:
        value = self.get(key)
        return float(value) if value is not None else default
''',
            ),
            "config_client/cache.py": _py(
                "MIT",
                '''"""A JSON file cache of the last settings fetched."""

import json
from pathlib import Path


class FileCache:
    def __init__(self, app: str, folder: Path | None = None):
        self.path = (folder or Path.home() / ".cache" / "config-client") / f"{app}.json"

    def store(self, values: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(values, sort_keys=True))

    def load(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
''',
            ),
        },
    ),
    DemoCommit(
        "Find the config service through the internal service registry",
        "2025-05-20T11:30:00+00:00",
        {
            "config_client/internal/__init__.py": _py(
                "LicenseRef-Example-Internal", '"""Internal-only integrations."""\n'
            ),
            "config_client/internal/discovery.py": _py(
                "LicenseRef-Example-Internal",
                '''"""Resolve the config service from the internal service registry."""

REGISTRY = "http://registry.svc.corp.example.internal:8500"


def config_service_url(environment: str) -> str:
    return f"{REGISTRY}/v1/catalog/service/config-{environment}"
''',
            ),
        },
    ),
    DemoCommit(
        "Add tests with settings fixtures",
        "2025-06-03T15:12:00+00:00",
        {
            "tests/fixtures/settings.json": """\
{
  "desk": "FX-LDN-01",
  "http.timeout": "2.5",
  "limits.client_account": "ACC-0042-7781"
}
""",
            "tests/test_client.py": _py(
                "MIT",
                """import json
from pathlib import Path

from config_client import ConfigClient
from config_client.cache import FileCache

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "settings.json").read_text())


def test_falls_back_to_the_cache_when_the_service_fails(tmp_path):
    cache = FileCache("pricing", tmp_path)
    cache.store(FIXTURE)

    def down(url):
        raise OSError("connection refused")

    client = ConfigClient("https://config.example.com", app="pricing", cache=cache)
    client.refresh(down)
    assert client.get_float("http.timeout", default=5.0) == 2.5
""",
            ),
        },
    ),
]

GATEWAY_YAML = """\
# Trade gateway configuration
listen:
  host: 0.0.0.0
  port: 9878

routing:
  default_venue: simulator
  max_orders_per_second: 500

fix:
  sender_comp_id: EXAMPLE-GW
  target_comp_id: VENUE-SIM
  heartbeat_seconds: 30
  session:
    username: gw_prod
    password: "Tr4d3Gw!2025-prod"
"""
_SECRET_LINE = next(
    number for number, line in enumerate(GATEWAY_YAML.splitlines(), start=1) if "password:" in line
)

TRADE_GATEWAY_COMMITS = [
    DemoCommit(
        "Trade gateway: FIX sessions and order routing",
        "2025-06-10T09:05:00+00:00",
        {
            "README.md": """\
# trade-gateway

A FIX 4.4 order gateway: accepts orders from trading applications, checks
rate limits and routes them to execution venues.

    python -m gateway.server --config config/gateway.yaml
""",
            "LICENSE": APACHE_LICENSE,
            "config/gateway.yaml": GATEWAY_YAML,
            "gateway/__init__.py": _py("Apache-2.0", '"""The trade gateway."""\n'),
            "gateway/server.py": _py(
                "Apache-2.0",
                '''"""Start the gateway from its YAML configuration."""

import argparse

import yaml

from gateway.fix_session import FixSession


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="config/gateway.yaml")
    args = parser.parse_args()
    with open(args.config) as f:
        config = yaml.safe_load(f)
    session = FixSession(**config["fix"]["session"])
    session.logon()


if __name__ == "__main__":
    main()
''',
            ),
            "gateway/fix_session.py": _py(
                "Apache-2.0",
                '''"""A FIX session: logon, heartbeats and sequence numbers."""


class FixSession:
    def __init__(self, username: str, password: str, heartbeat_seconds: int = 30):
        self.username = username
        self._password = password
        self.heartbeat_seconds = heartbeat_seconds
        self.next_seq = 1

    def logon(self) -> str:
        message = f"35=A|553={self.username}|554={self._password}|108={self.heartbeat_seconds}"
        self.next_seq += 1
        return message
''',
            ),
        },
    ),
    DemoCommit(
        "Add venue adapters: simulator (public) and the internal dark pool",
        "2025-06-24T13:48:00+00:00",
        {
            "gateway/venues/__init__.py": _py("Apache-2.0", '"""Execution venues."""\n'),
            "gateway/venues/simulator.py": _py(
                "Apache-2.0",
                '''"""A venue that fills every order at the limit price, for tests and demos."""


def execute(order: dict) -> dict:
    return {"status": "filled", "price": order["limit"], "quantity": order["quantity"]}
''',
            ),
            "gateway/venues/internal/__init__.py": "",
            "gateway/venues/internal/dark_pool.py": _py(
                "LicenseRef-Example-Internal",
                '''"""Route block orders to the internal crossing engine. Internal only."""

CROSSING_ENGINE = "xeng-ldn-dc2.corp.example.internal:7001"
''',
            ),
        },
    ),
]

RPC_INTERFACES_COMMITS = [
    DemoCommit(
        "Publish the RPC interface definitions and the codec",
        "2025-04-14T08:30:00+00:00",
        {
            "README.md": """\
# rpc-interfaces

The interface layer of the Example middleware stack: the message schemas every
service speaks, and the small codec that reads and writes them.

    from rpc.codec import encode, decode

    frame = encode({"op": "ping", "seq": 1})
    assert decode(frame)["op"] == "ping"
""",
            "LICENSE": APACHE_LICENSE,
            "CONTRIBUTING.md": "# Contributing\n\nOpen a pull request with a test; the "
            "committers review within a week.\n",
            "CODE_OF_CONDUCT.md": "# Code of conduct\n\nWe follow the Contributor Covenant, "
            "version 2.1.\n",
            "SECURITY.md": "# Security\n\nReport vulnerabilities privately through the "
            "project's security advisories; we answer within two working days.\n",
            "rpc/__init__.py": _py("Apache-2.0", '__version__ = "2.1.0"\n'),
            "rpc/codec.py": _py(
                "Apache-2.0",
                """\
import json

MAGIC = b"RPC1"


def encode(message: dict) -> bytes:
    body = json.dumps(message, separators=(",", ":"), sort_keys=True).encode()
    return MAGIC + len(body).to_bytes(4, "big") + body


def decode(frame: bytes) -> dict:
    if frame[:4] != MAGIC:
        raise ValueError("not an RPC1 frame")
    size = int.from_bytes(frame[4:8], "big")
    return json.loads(frame[8 : 8 + size])
""",
            ),
            "tests/test_codec.py": _py(
                "Apache-2.0",
                """\
from rpc.codec import decode, encode


def test_round_trip():
    assert decode(encode({"op": "ping"})) == {"op": "ping"}
""",
            ),
        },
    ),
]


COMPONENTS: list[DemoComponent] = [
    DemoComponent(
        slug="mq-core",
        name="MQ Core",
        license="Apache-2.0",
        description=(
            "The message-queue core of the middleware stack: broker and client API go "
            "public; the multi-region sharding module and the v1 legacy shims stay internal."
        ),
        open_paths=[
            "README.md",
            "LICENSE",
            "NOTICE",
            "CONTRIBUTING.md",
            "SECURITY.md",
            "pyproject.toml",
            "core/**",
            "api/**",
            "tests/**",
        ],
        internal_paths=["sharding/**", "legacy/**"],
        submitter="alice",
        justification=(
            "Open Core release of the middleware: partners build on the client API and ask "
            "for the broker source; sharding and the v1 shims stay internal."
        ),
        commits=MQ_CORE_COMMITS,
        review=[
            Decide(
                "tina",
                Decision.APPROVE,
                "The open paths build and test without sharding/ or legacy/; the boundary "
                "matches the package layout.",
            ),
            Decide("cora", Decision.APPROVE),
            Decide(
                "leo",
                Decision.APPROVE,
                "Apache-2.0 fits; NOTICE and the DCO sign-off in CONTRIBUTING are in place.",
            ),
            Decide(
                "sam",
                Decision.APPROVE,
                "History scanned: the internal hostnames live only under sharding/, which "
                "stays internal.",
            ),
        ],
    ),
    DemoComponent(
        slug="config-client",
        name="Config Client",
        license="MIT",
        description=(
            "Client library for the central configuration service, with a local cache; "
            "the service-registry discovery stays internal."
        ),
        open_paths=["README.md", "LICENSE", "pyproject.toml", "config_client/**", "tests/**"],
        internal_paths=["config_client/internal/**"],
        submitter="alice",
        justification=(
            "mq-core's published examples need a config client; teams at two partner "
            "banks have asked for it."
        ),
        commits=CONFIG_CLIENT_COMMITS,
        review=[
            Decide("tina", Decision.APPROVE),
            Decide("leo", Decision.APPROVE, "MIT is fine; the only dependency (httpx) is BSD."),
            Remark(
                "cora",
                "tests/fixtures/settings.json names a trading desk (FX-LDN-01) and a client "
                "account (ACC-0042-7781). Are these synthetic? I finish the compliance review "
                "once that is confirmed.",
                department="compliance",
            ),
            Remark(
                "alice",
                "Both are made up for the tests; no real desk or account uses them. I can "
                "rename them to TEST-DESK / TEST-ACCOUNT if that is easier to review.",
                department="compliance",
            ),
        ],
    ),
    DemoComponent(
        slug="trade-gateway",
        name="Trade Gateway",
        license="Apache-2.0",
        description=(
            "FIX 4.4 order gateway with rate limits and venue routing; the internal dark-pool "
            "adapter stays internal."
        ),
        open_paths=["README.md", "LICENSE", "gateway/**", "config/**"],
        internal_paths=["gateway/venues/internal/**"],
        submitter="bob",
        justification=(
            "A reference FIX gateway for the venues that connect to us; it lowers their "
            "onboarding effort."
        ),
        commits=TRADE_GATEWAY_COMMITS,
        review=[
            Decide("tina", Decision.APPROVE),
            Decide(
                "sam",
                Decision.REQUEST_CHANGES,
                f"config/gateway.yaml line {_SECRET_LINE} hard-codes the FIX session password "
                "(fix.session.password). Move it to the vault (secret/trade-gateway/fix-session) "
                "and read it from the environment at start-up, rotate the credential, and "
                "publish from a history without it: deleting the line leaves it in git history.",
                answers={
                    0: (Answer.NO, f"Hard-coded password in config/gateway.yaml:{_SECRET_LINE}."),
                    1: (Answer.YES, ""),
                    3: (Answer.NO, "No SECURITY.md yet."),
                },
            ),
        ],
    ),
    DemoComponent(
        slug="rpc-interfaces",
        name="RPC Interfaces",
        license="Apache-2.0",
        description=(
            "The interface layer every service speaks: message schemas and the codec. "
            "Clean from the start; the model for the others."
        ),
        open_paths=["**"],  # the whole repository goes public
        internal_paths=[],
        submitter="alice",
        justification=(
            "Partners implement our RPC protocol today from a PDF; publishing the schemas and "
            "the codec lets them test against the real thing."
        ),
        commits=RPC_INTERFACES_COMMITS,
        review=[
            Decide("tina", Decision.APPROVE),
            Decide("cora", Decision.APPROVE),
            Decide("leo", Decision.APPROVE, "Apache-2.0 throughout, headers and LICENSE agree."),
            Decide("sam", Decision.APPROVE),
        ],
    ),
]


# --------------------------------------------------------------------------- the story in time


@dataclass(frozen=True)
class Story:
    """When things happened, so that the charts and every age show a real history.

    ``submitted_days_ago``: when the component was submitted, counted back from the first
    seeding; ``step_days``: for each step of its ``review``, how many days after the
    submission it happened. The departments review at their own speed -- technical within
    a day, security in two or three, compliance in about a week, legal in nine or ten.
    """

    submitted_days_ago: float
    step_days: list[float]


STORY: dict[str, Story] = {
    "rpc-interfaces": Story(80, [1.2, 5.1, 8.7, 2.6]),
    "mq-core": Story(70, [0.4, 6.2, 10.5, 3.1]),
    "config-client": Story(30, [0.9, 9.3, 4.2, 5.0]),
    "trade-gateway": Story(12, [0.3, 2.2]),
}


def backdate_submission(submission, *, story: Story, step_objects, now) -> None:
    """Move the model timestamps of one freshly seeded submission back into its story.

    Only the rows' own timestamps change (``update()``, no save() side effects); the audit
    events keep the time they were really written, because their hash chain and seals
    cover it (core/audit.py) and rewriting a sealed event is what the chain exists to
    catch. The charts and ages read the model timestamps, not the audit log.
    ``step_objects`` pairs each review step with what it created (a sign-off or a
    comment).
    """
    start = now - timedelta(days=story.submitted_days_ago)

    def at(days: float):
        return min(start + timedelta(days=days), now - timedelta(minutes=1))

    Component.objects.filter(pk=submission.component_id).update(
        created_at=start - timedelta(hours=2)
    )
    Repository.objects.filter(pk=submission.repository_id, created_at__gt=start).update(
        created_at=start - timedelta(hours=2)
    )
    decided: dict[int, object] = {}  # ticket id -> its last decision
    last = start
    for days, obj in zip(story.step_days, step_objects, strict=False):
        when = at(days)
        last = max(last, when)
        if isinstance(obj, SignOff):
            SignOff.objects.filter(pk=obj.pk).update(created_at=when)
            decided[obj.ticket_id] = max(decided.get(obj.ticket_id, when), when)
        elif isinstance(obj, Comment):
            Comment.objects.filter(pk=obj.pk).update(created_at=when)
    for ticket in ReviewTicket.objects.filter(submission=submission):
        ReviewTicket.objects.filter(pk=ticket.pk).update(
            created_at=start,
            updated_at=decided.get(ticket.pk, start),
            decided_at=decided.get(ticket.pk) if ticket.decided_at else None,
        )
    submission.refresh_from_db()
    Submission.objects.filter(pk=submission.pk).update(
        created_at=start,
        updated_at=last,
        decided_at=max(decided.values()) if submission.decided_at and decided else None,
        scope_changed_at=start + timedelta(minutes=1) if submission.scope_changed_at else None,
    )
    Component.objects.filter(pk=submission.component_id).update(updated_at=last)
    # The scan queued on submit: it runs later (worker or seed_demo_sync), which dates
    # its start and end; its creation belongs to the submission.
    ScanRun.objects.filter(
        component_id=submission.component_id, commit=submission.commit, created_at__gt=start
    ).update(created_at=start + timedelta(minutes=2))


# --------------------------------------------------------------------------- git


def _git(repo: Path, *args: str, author: DemoUser, date: str | None = None) -> str:
    """Run git in ``repo`` with the demo author and none of the caller's git configuration."""
    env = vcs.git_env()  # no global or system config: hooks, signing, templates stay out
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    command = [
        "git",
        "-c", f"user.name={author.first_name} {author.last_name}",
        "-c", f"user.email={author.email}",
        "-c", "init.defaultBranch=main",
        "-c", "commit.gpgsign=false",
        "-c", "core.hooksPath=/dev/null",
        *args,
    ]  # fmt: skip
    result = subprocess.run(  # a fixed argument list, no shell
        command, cwd=repo, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise CommandError(f"git {args[0]} failed in {repo}: {result.stderr.strip()}")
    return result.stdout.strip()


def _build_repository(path: Path, commits: list[DemoCommit], author: DemoUser) -> None:
    """Create the repository in a scratch folder beside ``path``, then move it into place.

    Moving it last means an interrupted run never leaves a half-built repository that a
    later run would mistake for a finished one.
    """
    scratch = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        _git(scratch, "init", "-q", author=author)
        for commit in commits:
            for name, content in commit.files.items():
                target = scratch / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content)
            _git(scratch, "add", "-A", author=author)
            _git(scratch, "commit", "-q", "-m", commit.message, author=author, date=commit.date)
        os.rename(scratch, path)  # also replaces an empty folder
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


def ensure_repository(path: Path, commits: list[DemoCommit], author: DemoUser) -> bool:
    """Create the demo repository at ``path`` unless a non-empty folder is there already.

    Returns True when it was created.
    """
    if path.is_dir() and any(path.iterdir()):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    _build_repository(path, commits, author)
    return True


def ensure_external_repository(path: Path) -> Path:
    """An empty bare repository at ``path`` (left alone when it exists): the demo's stand-in
    for a public repository on a forge."""
    if not (path / "HEAD").is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        env = vcs.git_env()
        result = subprocess.run(  # a fixed argument list, no shell
            ["git", "init", "-q", "--bare", "--template=", "-b", "main", str(path)],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise CommandError(f"git init failed for {path}: {result.stderr.strip()}")
    return path


# --------------------------------------------------------------------------- the command


class Command(DemoCommand):
    help = (
        "Create demo departments, users (password 'gatehouse-demo') and four components "
        "in different review states, with real git repositories. Safe to run again."
    )

    refusal = (
        "DEBUG is off: seed_demo creates users with the published password "
        f"'{DEMO_PASSWORD}'. Pass --force if this really is a demo server."
    )

    def handle(self, *args, **options):
        departments = {d.slug: d for d in ensure_default_departments()}
        self.stdout.write(f"Departments: {', '.join(departments)}")
        if not ScanPolicy.objects.exists():
            policy_update(actor=None, fields=DEMO_POLICY)
            self.stdout.write("Scan policy: the demo's internal domain corp.example.internal")

        users, created = self._ensure_users(departments)
        existing = [name for name in users if name not in created]
        self.stdout.write(f"Users created: {', '.join(created) or 'none'}")
        if existing:
            self.stdout.write(f"Users already there (left as they are): {', '.join(existing)}")

        repos_dir = Path(os.path.abspath(settings.GATEHOUSE_DEMO_REPOS_DIR))
        for spec in COMPONENTS:
            self._seed_component(spec, users=users, repos_dir=repos_dir)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready. Log in as {', '.join(u.username for u in USERS)} "
                f"with the password '{DEMO_PASSWORD}'."
            )
        )

    def _ensure_users(self, departments: dict[str, Department]):
        """Create the missing demo users; existing ones keep their password and profile."""
        User = get_user_model()
        users, created = {}, []
        with transaction.atomic():
            for spec in USERS:
                user = User.objects.filter(username=spec.username).first()
                if user is None:
                    make = (
                        User.objects.create_superuser
                        if spec.superuser
                        else User.objects.create_user
                    )
                    user = make(
                        spec.username,
                        spec.email,
                        DEMO_PASSWORD,
                        first_name=spec.first_name,
                        last_name=spec.last_name,
                    )
                    created.append(spec.username)
                if spec.department and spec.department in departments:
                    # The demo's sign-offs need it; adding an existing member is a no-op.
                    user.groups.add(departments[spec.department].reviewer_group)
                users[spec.username] = user
        return users, created

    def _seed_component(self, spec: DemoComponent, *, users, repos_dir: Path) -> None:
        if Component.objects.filter(slug=spec.slug).exists():
            self.stdout.write(f"  {spec.slug}: skipped (component exists)")
            return
        repo_path = repos_dir / spec.slug
        repo_created = ensure_repository(
            repo_path, spec.commits, author=next(u for u in USERS if u.username == spec.submitter)
        )
        try:
            # One transaction per component: a failure leaves no half-reviewed demo behind,
            # and the notifications are queued once it commits.
            with transaction.atomic():
                submission = self._submit_and_review(spec, users=users, repo_path=repo_path)
        except (ValidationError, PermissionDenied) as exc:
            message = "; ".join(getattr(exc, "messages", None) or [str(exc)])
            raise CommandError(f"Seeding {spec.slug} failed: {message}") from exc
        self.stdout.write(
            f"  {spec.slug}: created, submission #{submission.pk} "
            f"{submission.get_state_display().lower()} at {submission.commit[:10]} "
            f"(repository {repo_path}{', new' if repo_created else ', existing'})"
        )

    def _submit_and_review(self, spec: DemoComponent, *, users, repo_path: Path):
        submission = submission_create(
            actor=users[spec.submitter],
            repository_url=f"file://{repo_path}",
            branch=BRANCH,
            justification=spec.justification,
            new_component=ComponentDraft(
                name=spec.name,
                slug=spec.slug,
                license=spec.license,
                description=spec.description,
                open_paths=list(spec.open_paths),
                internal_paths=list(spec.internal_paths),
            ),
        ).submission
        # Where it will be published is part of what the departments approve: set before
        # they decide (a bare repository beside the internal ones, filled by seed_demo_sync).
        external = ensure_external_repository(repo_path.parent / "external" / f"{spec.slug}.git")
        component_set_external(
            component=submission.component, actor=users[spec.submitter], url=f"file://{external}"
        )
        submission.refresh_from_db()
        tickets = {t.department.slug: t for t in submission.tickets.select_related("department")}
        made = []  # what each review step created, to date it in the story
        for step in spec.review:
            if isinstance(step, Remark):
                made.append(
                    comment_create(
                        submission=submission,
                        actor=users[step.author],
                        body=step.body,
                        ticket=tickets[step.department] if step.department else None,
                    )
                )
                continue
            ticket = tickets[REVIEWER_DEPARTMENT[step.reviewer]]
            questions = list(ticket.department.questions.filter(is_active=True))
            answers = {
                q.pk: step.answers.get(i, (Answer.YES, ""))
                for i, q in enumerate(questions)
                if step.decision == Decision.APPROVE or i in step.answers
            }
            made.append(
                signoff_create(
                    ticket=ticket,
                    actor=users[step.reviewer],
                    decision=step.decision,
                    comment=step.comment,
                    answers=answers,
                )
            )
        if spec.slug in STORY:
            backdate_submission(
                submission, story=STORY[spec.slug], step_objects=made, now=timezone.now()
            )
        submission.refresh_from_db()
        return submission
