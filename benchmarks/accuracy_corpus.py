"""Seeded generator of a labelled corpus for the scanner accuracy benchmark.

Written from general knowledge of real-world code, credential formats and license notices
(not from Gatehouse's detectors or their tests). ``generate(seed, n_files)`` returns a
``Corpus``: file contents plus ground truth --

* ``secrets``: (path, line) -> Planted for every planted credential (one per line),
* ``secret_neutral``: lines that count neither way (private-key bodies and END lines, and a
  few genuinely ambiguous lines, see ``AMBIGUOUS``),
* ``secret_decoys``: (path, line) -> decoy kind, for labelling false positives,
* ``internal`` / ``internal_decoys``: planted internal references and look-alikes,
* ``licenses``: path -> SPDX expression or None, for the license-category files.

Every credential value is drawn at run time from the seeded RNG; none is a literal here.
"""

from __future__ import annotations

import base64
import json
import random
import string
import textwrap
import uuid
import zlib
from dataclasses import dataclass, field

# The held-out policy: a fictional company, Halvorsen Labs.
INTERNAL_DOMAINS = ["intra.halvorsen-labs.net", "hlv-build.net"]
INTERNAL_PACKAGES = ["net.halvorsen.core", "halvorsen_internal", "@hlv-int"]
INTERNAL_EMAIL_DOMAINS = ["halvorsen-labs.net"]
INTERNAL_PATTERNS = [r"\bHLV-\d{3,6}\b", r"\bINC\d{7}\b"]

POLICY_YAML = f"""internal_references:
  domains: {json.dumps(INTERNAL_DOMAINS)}
  packages: {json.dumps(INTERNAL_PACKAGES)}
  email_domains: {json.dumps(INTERNAL_EMAIL_DOMAINS)}
  patterns: {json.dumps(INTERNAL_PATTERNS)}
licenses:
  allowed: [Apache-2.0, MIT]
  denied: [GPL-3.0-only]
"""

# Labels a reasonable tool could dispute; the bench prints these with the results.
AMBIGUOUS = {
    "decoy:test-creds-url": "postgres://postgres:postgres@localhost / amqp://guest:guest@"
    " in dev/CI configs: labelled not-a-secret (default/test credentials).",
    "decoy:placeholder-format": "format-shaped placeholders (AKIAXXXXXXXXXXXXXXXX, ghp_xxx…):"
    " labelled not-a-secret; the AKIA one matches the AWS key-id regex.",
    "neutral:private-key-id": "GCP service-account private_key_id (40 hex): not counted.",
    "secret:jwt": "JWTs are planted as secrets (bearer tokens); some tools treat them as data.",
    "secret:url-query-password": "JDBC ?password= query parameter: planted as a secret.",
    "decoy:public-org-url": "github.com/halvorsen-labs/… (a public org named like the"
    " company): labelled not internal.",
    "license:none-mentions-gpl": "a no-license file whose comment says it avoids a GPL"
    " dependency: labelled none.",
    "license:none-spdx-regex": "tooling code containing the string 'SPDX-License-Identifier:'"
    " inside a regex: labelled none.",
    "secret:tf-variable-default": 'Terraform `variable "x_password" { default = "…" }`: the'
    " keyword is two lines above the value line; planted on the value line.",
    "decoy:public-key-format": "Stripe publishable keys (pk_live_…) are public by design:"
    " labelled not-a-secret.",
    "license:mit-meta-short": "'licensed under the MIT license found in the LICENSE file'"
    " (React-style) labelled MIT.",
}

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
B64 = string.ascii_letters + string.digits + "+/"
B64URL = string.ascii_letters + string.digits + "-_"
HEX = "0123456789abcdef"
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
BAD_WORDS = ("example", "test", "xxx", "changeme", "dummy", "sample", "fake", "passw", "secret")


@dataclass
class Planted:
    path: str
    line: int
    kind: str
    value: str


@dataclass
class Corpus:
    seed: int
    files: dict[str, str] = field(default_factory=dict)
    secrets: dict[tuple[str, int], Planted] = field(default_factory=dict)
    secret_neutral: dict[tuple[str, int], str] = field(default_factory=dict)
    secret_decoys: dict[tuple[str, int], str] = field(default_factory=dict)
    internal: dict[tuple[str, int], str] = field(default_factory=dict)
    internal_decoys: dict[tuple[str, int], str] = field(default_factory=dict)
    licenses: dict[str, str | None] = field(default_factory=dict)
    license_style: dict[str, str] = field(default_factory=dict)
    category: dict[str, str] = field(default_factory=dict)
    values: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    # A finding on an alias line counts for the planted line it points to (the YAML/HCL key
    # line that opens a block holding a private key).
    secret_alias: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)


class FileBuilder:
    """Accumulates the lines of one file and records the labels of each line."""

    def __init__(self, corpus: Corpus, path: str, category: str):
        self.corpus, self.path, self.lines = corpus, path, []
        corpus.category[path] = category

    @property
    def next_no(self) -> int:
        return len(self.lines) + 1

    def add(self, *texts: str) -> None:
        for text in texts:
            self.lines.extend(text.split("\n"))

    def _one(self, text: str) -> tuple[str, int]:
        assert "\n" not in text, text
        self.lines.append(text)
        return self.path, len(self.lines)

    def secret(self, text: str, kind: str, value: str) -> None:
        assert value in text or kind == "private-key", (value, text)
        key = self._one(text)
        self.corpus.secrets[key] = Planted(key[0], key[1], kind, value)
        self.corpus.values.setdefault(key, []).append(value)

    def neutral(self, text: str, why: str, value: str | None = None) -> None:
        key = self._one(text)
        self.corpus.secret_neutral[key] = why
        if value:
            self.corpus.values.setdefault(key, []).append(value)

    def decoy(self, text: str, kind: str) -> None:
        key = self._one(text)
        self.corpus.secret_decoys[key] = kind

    def internal(self, text: str, kind: str) -> None:
        key = self._one(text)
        self.corpus.internal[key] = kind

    def lookalike(self, text: str, kind: str) -> None:
        key = self._one(text)
        self.corpus.internal_decoys[key] = kind

    def done(self) -> None:
        assert self.path not in self.corpus.files, self.path
        self.corpus.files[self.path] = "\n".join(self.lines) + "\n"


# --------------------------------------------------------------------------------------------
# Random values


class Values:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def chars(self, n: int, alphabet: str = ALNUM) -> str:
        while True:
            value = "".join(self.rng.choice(alphabet) for _ in range(n))
            if not any(w in value.lower() for w in BAD_WORDS):
                return value

    def mixed(self, n: int, alphabet: str = ALNUM) -> str:
        """Random chars with at least one upper, one lower and one digit (if n >= 3)."""
        while True:
            value = self.chars(n, alphabet)
            if (
                any(c.isupper() for c in value)
                and any(c.islower() for c in value)
                and sum(c.isdigit() for c in value) >= 2
            ):
                return value

    def hex(self, n: int) -> str:
        return "".join(self.rng.choice(HEX) for _ in range(n))

    def digits(self, n: int) -> str:
        return str(self.rng.randint(1, 9)) + "".join(
            self.rng.choice("0123456789") for _ in range(n - 1)
        )

    def b64bytes(self, n: int, urlsafe: bool = False, pad: bool = True) -> str:
        while True:
            raw = self.rng.randbytes(n)
            text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()
            if not pad:
                text = text.rstrip("=")
            if not any(w in text.lower() for w in BAD_WORDS):
                return text

    def uuid(self) -> str:
        return str(uuid.UUID(bytes=self.rng.randbytes(16), version=4))

    def crc_token(self, prefix: str) -> str:
        """GitHub/npm style: 30 random base62 chars + 6-char base62 CRC32 checksum."""
        body = self.chars(30)
        crc = zlib.crc32(body.encode())
        out = ""
        while crc:
            crc, rem = divmod(crc, 62)
            out = BASE62[rem] + out
        return prefix + body + out.rjust(6, "0")

    def keyword_secret(self) -> str:
        style = self.rng.choice(["hex", "alnum", "b64", "urlsafe", "symbols", "alnum"])
        if style == "hex":
            return self.hex(self.rng.choice([32, 40, 64]))
        if style == "alnum":
            return self.mixed(self.rng.randint(20, 40))
        if style == "b64":
            return self.b64bytes(self.rng.choice([24, 30, 33, 48]))
        if style == "urlsafe":
            return self.b64bytes(self.rng.choice([24, 32]), urlsafe=True, pad=False)
        while True:
            value = self.mixed(self.rng.randint(14, 24), ALNUM + "!#%^*-_=+.~@")
            if value[0].isalnum() and sum(not c.isalnum() for c in value) >= 2:
                return value

    def password(self) -> str:
        return self.mixed(self.rng.randint(14, 24))


# --------------------------------------------------------------------------------------------
# Names, hosts and helpers

WORDS = [
    "orders", "billing", "ledger", "catalog", "search", "checkout", "inventory", "payments",
    "reports", "gateway", "notifier", "scheduler", "auth", "profile", "shipping", "metrics",
    "audit", "pricing", "tenant", "ingest", "export", "invoice", "webhooks", "session",
]  # fmt: skip
PUBLIC_HOSTS = [
    "github.com", "pypi.org", "registry.npmjs.org", "repo.maven.apache.org", "docker.io",
    "gcr.io", "proxy.golang.org", "files.pythonhosted.org", "api.stripe.com", "hooks.slack.com",
    "www.googleapis.com", "quay.io", "objects.githubusercontent.com", "deb.debian.org",
]  # fmt: skip
GIT_HOSTS = ["git.sr.ht", "bitbucket.org", "nexus.openfern.io"]
DB_HOSTS = [
    "db-prod-01.c8xk2lmq0wz1.eu-west-1.rds.amazonaws.com", "10.20.4.17", "pg-primary",
    "mysql.svc.cluster.local", "cluster0.q1w2e3.mongodb.net", "redis-master", "rabbitmq",
    "orders-db.postgres.database.azure.com", "127.0.0.1",
]  # fmt: skip
PEOPLE = [
    ("Kari", "Nordmann"), ("Jonas", "Berg"), ("Ingrid", "Solheim"), ("Lars", "Haugen"),
    ("Maja", "Lund"), ("Ola", "Dahl"), ("Sofie", "Bakke"), ("Emil", "Strand"),
    ("Priya", "Raman"), ("Tomás", "Ortega"), ("Mei", "Chen"), ("Amara", "Okafor"),
]  # fmt: skip
HOLDERS = [
    "The Kestrel Authors", "Brightwater Software Ltd.", "Nikolai Vesely", "OpenFern contributors",
    "Pelican Data GmbH", "Ana Lima <ana.lima@fastmail.com>", "Tidewater Systems, Inc.",
    "the Quillon project", "Ruth Abernathy", "Marlin Foundation",
]  # fmt: skip


def snake(name: str) -> str:
    return name


def upper(name: str) -> str:
    return name.upper()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def pascal(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("_"))


def dotted(name: str) -> str:
    return name.replace("_", ".")


def kebab(name: str) -> str:
    return name.replace("_", "-")


# Keyword names under which a bare random value is a secret.
SECRET_NAMES = [
    "password", "db_password", "secret", "secret_key", "client_secret", "token", "auth_token",
    "access_token", "api_key", "apikey", "app_secret", "api_secret", "admin_password",
    "signing_secret", "private_token", "smtp_password", "db_pass", "passwd", "auth_key",
    "encryption_key", "master_key", "webhook_secret",
]  # fmt: skip


# --------------------------------------------------------------------------------------------
# Per-language idioms: assign(name, value) -> list of (line, is_target)

Lines = list[tuple[str, bool]]


def q(rng: random.Random) -> str:
    return rng.choice(['"', "'"])


def idiom_py(rng, name, value) -> Lines:
    c = rng.randrange(4)
    if c == 0:
        return [(f'{upper(name)} = "{value}"', True)]
    if c == 1:
        return [
            (f"client = {pascal(rng.choice(WORDS))}Client(", False),
            (f'    base_url="https://{rng.choice(PUBLIC_HOSTS)}",', False),
            (f'    {snake(name)}="{value}",', True),
            ("    timeout=30,", False),
            (")", False),
        ]
    if c == 2:
        return [
            ("SETTINGS = {", False),
            (f'    "{snake(name)}": "{value}",', True),
            (f'    "region": "{rng.choice(["eu-west-1", "us-east-1", "eu-north-1"])}",', False),
            ("}", False),
        ]
    return [(f"{snake(name)} = '{value}'", True)]


def idiom_java(rng, name, value) -> Lines:
    c = rng.randrange(3)
    if c == 0:
        return [(f'    private static final String {upper(name)} = "{value}";', True)]
    if c == 1:
        return [
            ("    static Properties defaults() {", False),
            ("        Properties props = new Properties();", False),
            (f'        props.setProperty("{dotted(name)}", "{value}");', True),
            ("        return props;", False),
            ("    }", False),
        ]
    return [
        ("    void configure(ClientConfig config) {", False),
        (f'        config.set{pascal(name)}("{value}");', True),
        ("    }", False),
    ]


def idiom_go(rng, name, value) -> Lines:
    c = rng.randrange(3)
    if c == 0:
        return [(f'const {camel(name)} = "{value}"', True)]
    if c == 1:
        return [
            ("var defaultConfig = Config{", False),
            (f'\tEndpoint: "https://{rng.choice(PUBLIC_HOSTS)}",', False),
            (f'\t{pascal(name)}: "{value}",', True),
            ("}", False),
        ]
    return [
        ("func newClient() *Client {", False),
        (f'\t{camel(name)} := "{value}"', True),
        (f"\treturn &Client{{{pascal(name)}: {camel(name)}}}", False),
        ("}", False),
    ]


def idiom_js(rng, name, value, ts=False) -> Lines:
    c = rng.randrange(3)
    quote = q(rng)
    if c == 0:
        typ = ": string" if ts else ""
        return [(f"const {camel(name)}{typ} = {quote}{value}{quote};", True)]
    if c == 1:
        return [
            ("const config = {", False),
            (f"  region: {quote}eu-west-1{quote},", False),
            (f"  {camel(name)}: {quote}{value}{quote},", True),
            ("};", False),
        ]
    return [(f'export const {upper(name)} = "{value}";', True)]


def idiom_ts(rng, name, value) -> Lines:
    return idiom_js(rng, name, value, ts=True)


def idiom_yaml(rng, name, value) -> Lines:
    if rng.random() < 0.25:
        return [
            ("services:", False), (f"  {rng.choice(WORDS)}:", False),
            (f"    image: {rng.choice(['postgres:16', 'redis:7', 'bitnami/keycloak:24'])}", False),
            ("    environment:", False), (f"      - {upper(name)}={value}", True),
        ]  # fmt: skip
    section = rng.choice(["database", "auth", "smtp", "upstream", "credentials", "service"])
    val = rng.choice([f'"{value}"', f"'{value}'", value]) if value[0].isalnum() else f'"{value}"'
    return [(f"{section}:", False), ("  enabled: true", False), (f"  {snake(name)}: {val}", True)]


def idiom_json(rng, name, value) -> Lines:
    return [(f'  "{rng.choice([snake, camel])(name)}": "{value}",', True)]


def idiom_env(rng, name, value) -> Lines:
    return [(rng.choice([f"{upper(name)}={value}", f'{upper(name)}="{value}"']), True)]


def idiom_sh(rng, name, value) -> Lines:
    c = rng.randrange(3)
    if c == 0:
        return [(f'export {upper(name)}="{value}"', True)]
    if c == 1:
        return [(f"{upper(name)}='{value}'", True)]
    return [
        (f"{upper(name)}={value}", True),
        (
            f'curl -fsS -H "X-Api-Key: ${upper(name)}" https://{rng.choice(PUBLIC_HOSTS)}/v1/ping',
            False,
        ),
    ]


def idiom_tf(rng, name, value) -> Lines:
    c = rng.randrange(2)
    if c == 0:
        return [
            (f'resource "aws_db_instance" "{rng.choice(WORDS)}" {{', False),
            ('  engine         = "postgres"', False),
            ('  instance_class = "db.t3.medium"', False),
            (f'  {snake(name):<14} = "{value}"', True),
            ("}", False),
        ]
    return [
        (f'variable "{snake(name)}" {{', False),
        ("  type    = string", False),
        (f'  default = "{value}"', True),
        ("}", False),
    ]


def idiom_docker(rng, name, value) -> Lines:
    return [(rng.choice([f"ENV {upper(name)}={value}", f'ENV {upper(name)} "{value}"',
                         f"ARG {upper(name)}={value}"]), True)]  # fmt: skip


def idiom_xml(rng, name, value) -> Lines:
    value = value.replace("&", "&amp;")
    c = rng.randrange(3)
    if c == 0:
        return [(f"    <{camel(name)}>{value}</{camel(name)}>", True)]
    if c == 1:
        return [(f'    <property name="{dotted(name)}" value="{value}"/>', True)]
    return [(f'    <add key="{pascal(name)}" value="{value}" />', True)]


def idiom_properties(rng, name, value) -> Lines:
    prefix = rng.choice(["spring.datasource.", "app.", "mail.smtp.", "service.auth.", ""])
    sep = rng.choice(["=", " = ", ": "])
    return [(f"{prefix}{rng.choice([dotted, kebab])(name)}{sep}{value}", True)]


def idiom_md(rng, name, value) -> Lines:
    if rng.randrange(2):
        return [("```bash", False), (f'export {upper(name)}="{value}"', True), ("```", False)]
    return [("```yaml", False), (f"{snake(name)}: {value}", True), ("```", False)]


IDIOMS = {
    "py": idiom_py, "java": idiom_java, "go": idiom_go, "js": idiom_js, "ts": idiom_ts,
    "yaml": idiom_yaml, "json": idiom_json, "env": idiom_env, "sh": idiom_sh, "tf": idiom_tf,
    "docker": idiom_docker, "xml": idiom_xml, "properties": idiom_properties, "md": idiom_md,
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# File skeletons and filler code per language


def java_class(rng) -> str:
    return pascal(rng.choice(WORDS)) + rng.choice(["Client", "Config", "Service", "Settings"])


FILLER = {
    "py": [
        "import logging\nimport json\nfrom pathlib import Path\n\n"
        "logger = logging.getLogger(__name__)",
        'def load(path):\n    with open(path, encoding="utf-8") as fh:\n'
        "        return json.load(fh)",
        "TIMEOUT_SECONDS = 30\nRETRY_LIMIT = 5\nPAGE_SIZE = 200",
        "class Retry:\n    def __init__(self, attempts=3, backoff=1.5):\n"
        "        self.attempts = attempts\n        self.backoff = backoff",
        "def chunks(items, size):\n    for start in range(0, len(items), size):\n"
        "        yield items[start : start + size]",
    ],
    "java": [
        "    private static final int TIMEOUT_MS = 5_000;",
        "    private final Map<String, String> headers = new HashMap<>();",
        "    public Duration timeout() {\n        return Duration.ofMillis(TIMEOUT_MS);\n    }",
        "    @Override\n    public String toString() {\n"
        "        return getClass().getSimpleName();\n    }",
    ],
    "go": [
        "type Client struct {\n\thttp    *http.Client\n\tbaseURL string\n}",
        "func (c *Client) Close() error {\n\treturn nil\n}",
        "const defaultTimeout = 30 * time.Second",
        "func retry(n int, fn func() error) (err error) {\n\tfor i := 0; i < n; i++ {\n"
        "\t\tif err = fn(); err == nil {\n\t\t\treturn nil\n\t\t}\n\t}\n\treturn err\n}",
    ],
    "js": [
        "const TIMEOUT_MS = 10_000;",
        "function sleep(ms) {\n  return new Promise((resolve) => setTimeout(resolve, ms));\n}",
        "export async function fetchJson(url, init = {}) {\n  const res = await fetch(url, init);\n"
        "  if (!res.ok) throw new Error(`HTTP ${res.status}`);\n  return res.json();\n}",
        "const cache = new Map();",
    ],
    "yaml": [
        "replicas: 3\nresources:\n  limits:\n    cpu: 500m\n    memory: 512Mi",
        "logging:\n  level: info\n  format: json",
        "server:\n  port: 8080\n  shutdown: graceful",
        "features:\n  - search\n  - export\n  - audit",
    ],
    "json": [
        '  "name": "service-config",',
        '  "version": "1.4.2",',
        '  "timeoutMs": 15000,',
        '  "retries": 3,',
        '  "region": "eu-west-1",',
    ],
    "env": ["NODE_ENV=production", "LOG_LEVEL=info", "PORT=8080", "WORKERS=4", "TZ=UTC"],
    "sh": [
        'log() { printf "%s %s\\n" "$(date -u +%FT%TZ)" "$*" >&2; }',
        'cd "$(dirname "$0")/.."',
        "if [[ ! -d build ]]; then\n  mkdir -p build\nfi",
        'for f in dist/*.tar.gz; do\n  log "uploading $f"\ndone',
    ],
    "tf": [
        'provider "aws" {\n  region = "eu-west-1"\n}',
        'locals {\n  tags = {\n    team    = "platform"\n    managed = "terraform"\n  }\n}',
        'output "endpoint" {\n  value = aws_lb.main.dns_name\n}',
    ],
    "docker": [
        "WORKDIR /app",
        "COPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt",
        "EXPOSE 8080",
        'CMD ["python", "-m", "app"]',
        "RUN apt-get update && apt-get install -y --no-install-recommends curl \\\n"
        "    && rm -rf /var/lib/apt/lists/*",
    ],
    "xml": [
        '    <logging level="INFO"/>',
        "    <timeout>30</timeout>",
        '    <pool min="2" max="16"/>',
    ],
    "properties": [
        "server.port=8080",
        "logging.level.root=INFO",
        "spring.jpa.open-in-view=false",
        "management.endpoints.web.exposure.include=health,info",
    ],
    "md": [
        "## Configuration\n\nSet the variables below before starting the service.",
        "## Running locally\n\n```bash\nmake run\n```",
        "The service listens on port 8080 and exposes `/healthz`.",
    ],
    "c": [
        "static int clamp(int v, int lo, int hi)\n{\n\treturn v < lo ? lo : v > hi ? hi : v;\n}",
        "#include <stdio.h>\n#include <stdlib.h>",
    ],
    "rs": [
        "pub fn clamp(v: i64, lo: i64, hi: i64) -> i64 {\n    v.max(lo).min(hi)\n}",
        "use std::collections::HashMap;",
    ],
    "sql": [
        "CREATE TABLE audit_log (\n    id BIGSERIAL PRIMARY KEY,\n    at TIMESTAMPTZ NOT NULL\n);",
        "CREATE INDEX audit_log_at ON audit_log (at);",
    ],
    "lua": [
        "local M = {}\n\nfunction M.clamp(v, lo, hi)\n  return math.max(lo, math.min(hi, v))\nend"
    ],
    "css": [".btn {\n  padding: 4px 8px;\n  border-radius: 4px;\n}", ":root {\n  --gap: 8px;\n}"],
    "html": ['<div class="container">\n  <p>Hello</p>\n</div>'],
}
FILLER["ts"] = FILLER["js"] + ["export interface Options {\n  timeoutMs?: number;\n}"]

OPEN = {
    "py": lambda rng: ['"""Service configuration."""', ""],
    "java": lambda rng: [
        f"package org.openfern.{rng.choice(WORDS)};",
        "",
        "import java.time.Duration;",
        "import java.util.HashMap;",
        "import java.util.Map;",
        "import java.util.Properties;",
        "",
        f"public final class {java_class(rng)} {{",
    ],  # fmt: skip
    "go": lambda rng: [
        f"package {rng.choice(WORDS)}",
        "",
        "import (",
        '\t"net/http"',
        '\t"os"',
        '\t"time"',
        ")",
    ],  # fmt: skip
    "sh": lambda rng: ["#!/usr/bin/env bash", "set -euo pipefail", ""],
    "json": lambda rng: ["{"],
    "xml": lambda rng: ['<?xml version="1.0" encoding="UTF-8"?>', "<configuration>"],
    "docker": lambda rng: [
        f"FROM {rng.choice(['python:3.12-slim', 'node:20-alpine', 'eclipse-temurin:21-jre'])}"
    ],
    "md": lambda rng: [f"# {pascal(rng.choice(WORDS))} service", ""],
}
CLOSE = {"java": ["}"], "json": ['  "_": null', "}"], "xml": ["</configuration>"]}

EXT = {
    "py": [".py"], "java": [".java"], "go": [".go"], "js": [".js", ".mjs"], "ts": [".ts"],
    "yaml": [".yaml", ".yml"], "json": [".json"], "env": [".env"], "sh": [".sh"], "tf": [".tf"],
    "docker": [""], "xml": [".xml", ".config"], "properties": [".properties"], "md": [".md"],
}  # fmt: skip


class PathMaker:
    def __init__(self, rng):
        self.rng, self.used = rng, set()

    def make(self, lang: str, stem: str | None = None, top: str | None = None) -> str:
        rng = self.rng
        for attempt in range(1000):
            svc = rng.choice(WORDS)
            name = stem or rng.choice(["config", "settings", "client", "deploy", "main", "app",
                                       "values", "secrets", "local", "prod", "setup", "bootstrap",
                                       "service", "integration", "worker", "defaults"])  # fmt: skip
            if lang == "docker":
                base = "Dockerfile" + rng.choice(["", f".{name}"])
            elif lang == "env":
                base = rng.choice([".env", f".env.{name}", f"{name}.env"])
            elif lang == "java":
                suffix = rng.choice(["Config", "Client"])
                base = f"src/main/java/org/openfern/{svc}/{pascal(name)}{suffix}.java"
            else:
                base = name + rng.choice(EXT[lang])
            root = top or rng.choice(
                ["services", "apps", "deploy", "infra", "tools", "packages", "src"]
            )
            path = f"{root}/{svc}/{base}" if attempt < 900 else f"{root}/{svc}{attempt}/{base}"
            if path not in self.used:
                self.used.add(path)
                return path
        raise RuntimeError("path space exhausted")  # pragma: no cover

    def unique(self, path: str) -> str:
        head, _, tail = path.rpartition("/")
        n = 1
        while path in self.used:
            n += 1
            path = f"{head}{n}/{tail}"
        self.used.add(path)
        return path


def filler(fb: FileBuilder, rng, lang: str, count: int = 1) -> None:
    pool = FILLER.get(lang, FILLER["py"])
    for _ in range(count):
        fb.add(rng.choice(pool))
        if lang not in ("json", "env", "properties", "xml"):
            fb.add("")


# --------------------------------------------------------------------------------------------
# Secrets


class SecretFactory:
    """Makes (kind, value, preferred names) for each planted credential type."""

    KINDS = [
        "aws-access-key-id", "aws-secret-access-key", "github-pat", "github-oauth",
        "github-fine-grained", "gitlab-pat", "slack-bot", "slack-user", "slack-webhook",
        "stripe-live", "stripe-restricted", "google-api-key", "sendgrid", "npm-token",
        "pypi-token", "private-key", "jwt", "connection-url", "keyword",
        "azure-storage", "openai", "basic-auth", "libpq-dsn", "bearer-token",
    ]  # fmt: skip
    WEIGHTS = [5, 5, 3, 2, 2, 3, 2, 2, 2, 2, 1, 3, 2, 2, 2, 5, 3, 6, 14, 1, 1, 1, 1, 1]

    def __init__(self, v: Values):
        self.v = v

    def token(self, kind: str) -> tuple[str, list[str]]:
        v, rng = self.v, self.v.rng
        if kind == "aws-access-key-id":
            return rng.choice(["AKIA", "AKIA", "ASIA"]) + v.chars(
                16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
            ), ["aws_access_key_id"]
        if kind == "aws-secret-access-key":
            return v.mixed(40, B64), [
                "aws_secret_access_key",
                "aws_secret_key",
                "secret_access_key",
            ]
        if kind == "github-pat":
            return v.crc_token("ghp_"), ["github_token", "gh_token", "token", "ci_token"]
        if kind == "github-oauth":
            return v.crc_token("gho_"), ["github_token", "oauth_token"]
        if kind == "github-fine-grained":
            return "github_pat_11" + v.chars(20, UPPER_DIGITS) + "_" + v.chars(59), ["github_token"]
        if kind == "gitlab-pat":
            return "glpat-" + v.mixed(20, B64URL), ["gitlab_token", "ci_job_token", "token"]
        if kind == "slack-bot":
            return f"xoxb-{v.digits(11)}-{v.digits(13)}-{v.mixed(24)}", [
                "slack_bot_token",
                "slack_token",
            ]
        if kind == "slack-user":
            return f"xoxp-{v.digits(11)}-{v.digits(11)}-{v.digits(13)}-{v.hex(32)}", ["slack_token"]
        if kind == "slack-webhook":
            team, channel = v.chars(8, UPPER_DIGITS), v.chars(10, UPPER_DIGITS)
            url = f"https://hooks.slack.com/services/T{team}/B{channel}/{v.mixed(24)}"
            return url, ["slack_webhook_url", "webhook_url", "alert_webhook"]
        if kind == "stripe-live":
            return "sk_live_" + v.mixed(rng.choice([24, 99])), ["stripe_secret_key", "stripe_key"]
        if kind == "stripe-restricted":
            return "rk_live_" + v.mixed(rng.choice([24, 99])), ["stripe_restricted_key"]
        if kind == "google-api-key":
            return "AIzaSy" + v.mixed(33, B64URL), [
                "google_api_key",
                "maps_api_key",
                "firebase_api_key",
            ]
        if kind == "sendgrid":
            return f"SG.{v.mixed(22, B64URL)}.{v.mixed(43, B64URL)}", [
                "sendgrid_api_key",
                "mail_api_key",
            ]
        if kind == "npm-token":
            return v.crc_token("npm_"), ["npm_token", "npm_auth_token"]
        if kind == "pypi-token":
            ident = v.uuid().encode()
            raw = (b"\x02\x01\x08pypi.org\x02\x24" + ident + b"\x00\x02\x2c"
                   + v.rng.randbytes(rng.randint(60, 120)))  # fmt: skip
            return "pypi-" + base64.urlsafe_b64encode(raw).decode().rstrip("="), [
                "pypi_token", "twine_password", "pypi_api_token"]  # fmt: skip
        if kind == "jwt":
            alg = rng.choice(["HS256", "RS256", "HS512"])
            header = json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":"))
            payload = json.dumps(
                {
                    "sub": v.uuid(),
                    "name": " ".join(rng.choice(PEOPLE)),
                    "iat": rng.randint(1_600_000_000, 1_750_000_000),
                    "scope": rng.choice(["read write", "admin", "orders:read"]),
                },
                separators=(",", ":"),
            )
            sig_len = {"HS256": 43, "RS256": 342, "HS512": 86}[alg]
            parts = [
                base64.urlsafe_b64encode(p.encode()).decode().rstrip("=") for p in (header, payload)
            ]
            return ".".join(parts + [v.chars(sig_len, B64URL)]), [
                "access_token",
                "jwt",
                "auth_token",
            ]
        if kind == "connection-url":
            pw = v.password()
            user = rng.choice(["app", "orders_rw", "svc_billing", "admin", "etl", "reporting"])
            host = rng.choice(DB_HOSTS)
            url = rng.choice(
                [
                    f"postgres://{user}:{pw}@{host}:5432/{rng.choice(WORDS)}",
                    f"postgresql://{user}:{pw}@{host}/{rng.choice(WORDS)}?sslmode=require",
                    f"mysql://{user}:{pw}@{host}:3306/{rng.choice(WORDS)}",
                    f"mongodb+srv://{user}:{pw}@{host}/{rng.choice(WORDS)}?retryWrites=true",
                    f"redis://:{pw}@{host}:6379/0",
                    f"amqp://{user}:{pw}@{host}:5672/{rng.choice(WORDS)}",
                    f"https://{user}:{pw}@{rng.choice(GIT_HOSTS)}/repo.git",
                ]
            )
            return url, ["database_url", "db_url", "broker_url", "dsn", "mongo_uri", "cache_url"]
        if kind == "azure-storage":
            account = rng.choice(WORDS) + v.digits(4)
            return (
                f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={v.b64bytes(64)};"
                "EndpointSuffix=core.windows.net",
                ["storage_connection_string", "azure_storage_connection", "blob_connection"],
            )
        if kind == "openai":
            if rng.random() < 0.5:
                return "sk-" + v.mixed(20) + "T3BlbkFJ" + v.mixed(20), ["openai_api_key"]
            return "sk-proj-" + v.mixed(74, B64URL) + "T3BlbkFJ" + v.mixed(74, B64URL), [
                "openai_api_key"
            ]
        value = v.keyword_secret()
        return value, SECRET_NAMES

    def kind(self) -> str:
        return self.v.rng.choices(self.KINDS, self.WEIGHTS)[0]


NEUTRAL_NAMES = ["value", "default", "fallback", "credential", "header_value", "cfg_value"]


def pem_body(v: Values, kind: str) -> list[str]:
    start = {
        "RSA": "MIIEpAIBAAKCAQEA", "": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ",
        "EC": "MHcCAQEEI", "OPENSSH": "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAA",
    }[kind]  # fmt: skip
    total = {"RSA": 1580, "": 1620, "EC": 160, "OPENSSH": 380}[kind]
    text = start + v.chars(total - len(start), B64)
    width = 70 if kind == "OPENSSH" else 64
    lines = [text[i : i + width] for i in range(0, len(text), width)]
    lines[-1] += "=="[: (-len(text)) % 4] if kind == "EC" else ""
    return lines


def plant_private_key(fb: FileBuilder, rng, v: Values, lang: str) -> None:
    kind = rng.choice(["RSA", "", "EC", "OPENSSH"])
    label = (kind + " " if kind else "") + "PRIVATE KEY"
    dash = "-" * 5
    begin, end = f"{dash}BEGIN {label}{dash}", f"{dash}END {label}{dash}"
    body = pem_body(v, kind)
    if lang in ("json", "env"):
        blob = "\\n".join([begin, *body, end]) + "\\n"
        line = f'  "private_key": "{blob}",' if lang == "json" else f'JWT_PRIVATE_KEY="{blob}"'
        fb.secret(line, "private-key", "\\n".join(body))
        return
    opener = {
        "py": ('SIGNING_KEY = """', '"""'),
        "js": ("const privateKey = `", "`;"),
        "ts": ("export const PRIVATE_KEY = `", "`;"),
        "go": ("const signingKey = `", "`"),
        "tf": ("  private_key = <<-EOT\n    ", "  EOT"),
        "sh": ("cat > \"$HOME/.ssh/id_deploy\" <<'EOF'\n", "EOF"),
        "yaml": ("tls:\n  key: |\n    ", ""),
        "md": ("```\n", "```"),
        "pem": ("", ""),
    }[lang]
    pre_lines = opener[0].split("\n")
    indent = "    " if lang in ("tf", "yaml") else ""
    fb.add(*pre_lines[:-1])
    key_line = fb.next_no - 1
    fb.secret(pre_lines[-1] + begin, "private-key", body[0])
    if lang in ("tf", "yaml"):
        fb.corpus.secret_alias[(fb.path, key_line)] = (fb.path, key_line + 1)
    for row in body:
        fb.neutral(indent + row, "private-key body", row)
    fb.neutral(indent + end, "private-key END line")
    if opener[1]:
        fb.add(opener[1])


def plant_secret(fb: FileBuilder, rng, v: Values, sf: SecretFactory, lang: str) -> None:
    kind = sf.kind()
    if kind == "private-key":
        if lang in ("py", "js", "ts", "go", "tf", "sh", "yaml", "md", "json", "env"):
            plant_private_key(fb, rng, v, lang)
            return
        kind = "keyword"
    value, names = sf.token(kind)
    if (
        kind not in ("keyword", "aws-secret-access-key", "aws-access-key-id")
        and rng.random() < 0.25
    ):
        names = NEUTRAL_NAMES  # format alone must carry it
    name = rng.choice(names)
    cmt = {
        "py": "# ",
        "sh": "# ",
        "yaml": "# ",
        "tf": "# ",
        "properties": "# ",
        "env": "# ",
        "docker": "# ",
        "go": "// ",
        "js": "// ",
        "ts": "// ",
        "java": "    // ",
    }.get(lang)
    no_format = (
        "keyword",
        "aws-secret-access-key",
        "connection-url",
        "basic-auth",
        "bearer-token",
        "libpq-dsn",
    )
    if cmt and kind not in no_format and rng.random() < 0.08:
        fb.secret(f"{cmt}old value, rotate before release: {value}", kind, value)
        return
    if kind == "jwt" and lang in ("sh", "md") and rng.random() < 0.6:
        line = f'curl -fsS -H "Authorization: Bearer {value}" https://api.openfern.io/v2/orders'
        if lang == "md":
            fb.add("```bash")
        fb.secret(line, kind, value)
        if lang == "md":
            fb.add("```")
        return
    if kind in ("basic-auth", "bearer-token"):
        user = rng.choice(["ci", "deploy", "admin", "svc-export"])
        if kind == "basic-auth":
            scheme, value = "Basic", base64.b64encode(f"{user}:{v.password()}".encode()).decode()
        else:
            scheme, value = "Bearer", v.mixed(rng.choice([32, 40, 48]))
        line = {
            "py": f'HEADERS = {{"Authorization": "{scheme} {value}"}}',
            "js": f'const headers = {{ Authorization: "{scheme} {value}" }};',
            "ts": f'const headers = {{ Authorization: "{scheme} {value}" }};',
            "go": f'\treq.Header.Set("Authorization", "{scheme} {value}")',
            "yaml": f"  Authorization: {scheme} {value}",
            "java": f'        conn.setRequestProperty("Authorization", "{scheme} {value}");',
        }.get(
            lang,
            f'curl -fsS -H "Authorization: {scheme} {value}" https://{rng.choice(PUBLIC_HOSTS)}/api/v1/status',
        )
        wrap = {
            "go": ("func authorize(req *http.Request) {", "}"),
            "yaml": ("headers:", None),
            "java": ("    void authorize(HttpURLConnection conn) {", "    }"),
        }.get(lang)
        if lang in ("md",):
            wrap = ("```bash", "```")
        if wrap:
            fb.add(wrap[0])
        fb.secret(line, kind, value)
        if wrap and wrap[1]:
            fb.add(wrap[1])
        return
    if kind == "libpq-dsn":
        pw = v.password()
        dsn = (
            f"host={rng.choice(DB_HOSTS)} port=5432 user=app password={pw} "
            f"dbname={rng.choice(WORDS)} sslmode=require"
        )
        for text, target in IDIOMS[lang](rng, rng.choice(["dsn", "pg_dsn", "conninfo"]), dsn):
            if target:
                fb.secret(text, kind, pw)
            else:
                fb.add(text)
        return
    if kind == "connection-url" and lang == "properties" and rng.random() < 0.5:
        pw = v.password()
        fb.secret(f"spring.datasource.url=jdbc:postgresql://{rng.choice(DB_HOSTS)}:5432/app?user=app&password={pw}",
                  "url-query-password", pw)  # fmt: skip
        return
    lines = IDIOMS[lang](rng, name, value)
    for text, target in lines:
        if target:
            fb.secret(text, kind, value.replace("&", "&amp;") if lang == "xml" else value)
        else:
            fb.add(text)


# Decoys: each returns one line (and may depend on the language).


def decoy_lines(rng, v: Values, lang: str) -> list[tuple[str, str]]:
    """(line, decoy kind) candidates for one language."""
    sha = v.hex(64)
    gitsha = v.hex(40)
    u = v.uuid()
    host = rng.choice(PUBLIC_HOSTS)
    common = {
        "py": [
            ('password = os.environ["DB_PASSWORD"]', "env-lookup"),
            ('api_key = os.getenv("API_KEY", "")', "env-lookup"),
            ('SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY")', "env-lookup"),
            ('password = getpass.getpass("Password: ")', "input"),
            ("if password != confirm_password:", "comparison"),
            ('SECRET_KEY = "changeme"', "placeholder"),
            ('client_secret = "<your-client-secret>"', "placeholder"),
            ('API_KEY = "YOUR_API_KEY_HERE"', "placeholder"),
            ('token = "***"', "placeholder"),
            ('login(username="admin", password="password")', "test-word"),
            ('    "password": "password",', "test-word"),
            ('    aws_access_key_id="AKIAIOSFODNN7EXAMPLE",', "documented-example"),
            (
                '    aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",',
                "documented-example",
            ),
            ('PASSWORD_FIELD = "password"', "keyword-name"),
            ('token_type = "Bearer"', "keyword-name"),
            ('TOKEN_URL = "https://oauth2.googleapis.com/token"', "public-url"),
            (f'request_id = "{u}"', "uuid"),
            (f'GIT_SHA = "{gitsha}"', "git-sha"),
            (f'EXPECTED_SHA256 = "{sha}"', "checksum"),
            ("password_hash = hashlib.sha256(password.encode()).hexdigest()", "hashing"),
            ("secret = secrets.token_urlsafe(32)", "generated"),
            ("api_key = settings.API_KEY", "attribute"),
            (f'INDEX_URL = "https://{host}/simple/"', "public-url"),
            ('token = request.headers.get("Authorization", "").removeprefix("Bearer ")', "input"),
        ],
        "java": [
            ('        String password = System.getenv("DB_PASSWORD");', "env-lookup"),
            ('    @Value("${app.client-secret}")', "placeholder"),
            ("    private String clientSecret;", "keyword-name"),
            ("        if (!password.equals(confirmPassword)) {", "comparison"),
            ('        char[] password = System.console().readPassword("Password: ");', "input"),
            ('    private static final String PASSWORD_PARAM = "password";', "keyword-name"),
            ('        String token = request.getHeader("Authorization");', "input"),
            (f'    private static final String BUILD_COMMIT = "{gitsha}";', "git-sha"),
            (f'    private static final UUID TENANT = UUID.fromString("{u}");', "uuid"),
            ('    private static final String API_KEY = "changeme";', "placeholder"),
            ("import com.google.common.collect.ImmutableList;", "public-package"),
        ],
        "go": [
            ('\tpassword := os.Getenv("DB_PASSWORD")', "env-lookup"),
            ('\ttoken := r.Header.Get("Authorization")', "input"),
            (
                "\tif subtle.ConstantTimeCompare([]byte(password), []byte(expected)) != 1 {",
                "comparison",
            ),
            ('const tokenHeader = "X-Auth-Token"', "keyword-name"),
            (f'const buildCommit = "{gitsha}"', "git-sha"),
            (f'var defaultTenant = uuid.MustParse("{u}")', "uuid"),
            ('\tAPIKey: "YOUR_API_KEY_HERE",', "placeholder"),
        ],
        "js": [
            ("const apiKey = process.env.API_KEY;", "env-lookup"),
            ("const { password } = req.body;", "input"),
            ("if (password !== confirmPassword) {", "comparison"),
            ('  apiKey: "YOUR_API_KEY_HERE",', "placeholder"),
            ('const secret = crypto.randomBytes(32).toString("hex");', "generated"),
            ("const token = localStorage.getItem('token');", "input"),
            (f'const REGISTRY = "https://{host}/";', "public-url"),
            (f'const sessionId = "{u}";', "uuid"),
            ('  password: "<password>",', "placeholder"),
        ],
        "yaml": [
            ("  password: ${DB_PASSWORD}", "env-lookup"),
            ('  password: "{{ .Values.db.password }}"', "template"),
            ('  client_secret: "{{ vault_client_secret }}"', "template"),
            ("  api_key: changeme", "placeholder"),
            ("  token: <your-token>", "placeholder"),
            ("      key: password", "keyword-name"),
            ("          token: ${{ secrets.GITHUB_TOKEN }}", "template"),
            (f"  image: nginx@sha256:{sha}", "checksum"),
            (f"      - uses: actions/checkout@{gitsha}", "git-sha"),
            (f"  id: {u}", "uuid"),
            (f"  registry: https://{host}", "public-url"),
            ('  password: "***"', "placeholder"),
            ("  password: xxxxxxxx", "placeholder"),
        ],
        "json": [
            ('  "password": "password",', "test-word"),
            ('  "apiKey": "xxx",', "placeholder"),
            ('  "token": "${TOKEN}",', "env-lookup"),
            (f'  "integrity": "sha512-{v.b64bytes(64)}",', "checksum"),
            (
                '  "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",',
                "public-url",
            ),
            (f'  "id": "{u}",', "uuid"),
            (f'  "commit": "{gitsha}",', "git-sha"),
            ('  "secret": "{{ secret }}",', "template"),
        ],
        "env": [
            ("API_KEY=", "placeholder"),
            ("DB_PASSWORD=changeme", "placeholder"),
            ("SECRET_KEY=${SECRET_KEY}", "env-lookup"),
            ("STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx", "placeholder-format"),
            ("GITHUB_TOKEN=<your-token>", "placeholder"),
            ("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "documented-example"),
            ("DATABASE_URL=postgres://postgres:postgres@localhost:5432/app_test", "test-creds-url"),
            (f"RELEASE_SHA={gitsha}", "git-sha"),
        ],
        "sh": [
            ('read -rsp "Password: " PASSWORD', "input"),
            ('export TOKEN="$(vault kv get -field=token secret/ci/deploy)"', "generated"),
            (': "${API_KEY:?API_KEY must be set}"', "env-lookup"),
            (f'echo "{sha}  terraform.zip" | sha256sum -c -', "checksum"),
            (f"git checkout {gitsha}", "git-sha"),
            (
                'curl -fsS -H "Authorization: Bearer ${GITHUB_TOKEN}" https://api.github.com/user',
                "env-lookup",
            ),
            (
                'docker login -u "$REGISTRY_USER" --password-stdin < "$REGISTRY_PASSWORD_FILE"',
                "env-lookup",
            ),
        ],
        "tf": [
            ("  password = var.db_password", "reference"),
            ("  password = random_password.db.result", "reference"),
            ('  ami      = "ami-0c55b159cbfafe1f0"', "identifier"),
            ('  api_key  = data.vault_generic_secret.dd.data["api_key"]', "reference"),
            (f'  etag     = "{v.hex(32)}"', "checksum"),
        ],
        "docker": [
            (f"ARG NODE_SHA256={sha}", "checksum"),
            ('RUN echo "${NODE_SHA256}  /tmp/node.tar.xz" | sha256sum -c -', "checksum"),
            ("ENV PASSWORD_FILE=/run/secrets/db_password", "reference"),
            ("ARG GITHUB_TOKEN", "env-lookup"),
            (f"FROM python:3.12-slim@sha256:{sha} AS base", "checksum"),
        ],
        "xml": [
            ("    <password>${env.DB_PASSWORD}</password>", "env-lookup"),
            ('    <property name="password" value="${db.password}"/>', "template"),
            ('    <add key="ApiKey" value="" />', "placeholder"),
            ("    <groupId>com.fasterxml.jackson.core</groupId>", "public-package"),
            (f"    <sha1>{v.hex(40)}</sha1>", "checksum"),
        ],
        "properties": [
            ("spring.datasource.password=${DB_PASSWORD}", "env-lookup"),
            ("app.secret=changeme", "placeholder"),
            ("security.oauth2.client.client-secret=<client-secret>", "placeholder"),
            (f"build.commit={gitsha}", "git-sha"),
            ("spring.rabbitmq.addresses=amqp://guest:guest@localhost:5672", "test-creds-url"),
        ],
        "md": [
            ("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "documented-example"),
            (
                "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "documented-example",
            ),
            ("Replace `<your-token>` with a personal access token.", "placeholder"),
            ("export GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "placeholder-format"),
            ("aws_access_key_id = AKIAXXXXXXXXXXXXXXXX", "placeholder-format"),
            (f"Images are pinned by digest (`sha256:{sha}`).", "checksum"),
            ("The default password is `password`; change it on first login.", "test-word"),
        ],
    }
    acct = v.digits(12)
    pubkey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + v.chars(43, B64) + " deploy@ci-runner"
    extra = {
        "py": [
            ('SECRET_NAME = "prod/orders/db-credentials"', "keyword-non-secret"),
            ("PASSWORD_MIN_LENGTH = 12", "keyword-non-secret"),
            ('API_KEY_HEADER = "X-API-Key"', "keyword-non-secret"),
            ("password = None", "keyword-non-secret"),
            ('client_secret = config["oauth"]["client_secret"]', "reference"),
            ("SECRET_KEY = get_random_secret_key()", "generated"),
            (f'ROLE_ARN = "arn:aws:iam::{acct}:role/deploy"', "identifier"),
            (f'STRIPE_PUBLISHABLE_KEY = "pk_live_{v.mixed(24)}"', "public-key-format"),
        ],
        "java": [
            ('    @JsonProperty("password")', "keyword-name"),
            (
                '    private static final String TOKEN_ENDPOINT = "https://oauth2.googleapis.com/token";',
                "public-url",
            ),
            (
                '    private static final String SECRET_NAME = "prod/orders/db-credentials";',
                "keyword-non-secret",
            ),
            ("        String password = new String(passwordField.getPassword());", "input"),
        ],
        "go": [
            ('\tPassword string `json:"password" yaml:"password"`', "struct-tag"),
            ('\tAPIKey   string `json:"api_key,omitempty"`', "struct-tag"),
            ("\tpassword, err := term.ReadPassword(int(os.Stdin.Fd()))", "input"),
            ('const secretPath = "secret/data/ci/deploy"', "keyword-non-secret"),
        ],
        "js": [
            ("  password: { type: String, required: true, minlength: 12 },", "keyword-non-secret"),
            ('const TOKEN_STORAGE_KEY = "auth.token";', "keyword-non-secret"),
            (f'const stripe = Stripe("pk_live_{v.mixed(24)}");', "public-key-format"),
            ("const password = await bcrypt.hash(req.body.password, 12);", "hashing"),
        ],
        "yaml": [
            (f"  - {pubkey}", "public-key"),
            ("  password: null", "keyword-non-secret"),
            ("  passwordPolicy: strong", "keyword-non-secret"),
            ("        secretName: db-credentials", "keyword-non-secret"),
            (
                "  token_endpoint: https://login.microsoftonline.com/common/oauth2/v2.0/token",
                "public-url",
            ),
            (
                f"    caBundle: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1J{v.chars(120, B64)}",
                "public-cert",
            ),
            (f"  role_arn: arn:aws:iam::{acct}:role/{rng.choice(WORDS)}-deployer", "identifier"),
        ],
        "json": [
            ('  "passwordMinLength": 12,', "keyword-non-secret"),
            ('  "secretRef": "db-credentials",', "keyword-non-secret"),
            (f'  "publishableKey": "pk_live_{v.mixed(24)}",', "public-key-format"),
        ],
        "env": [
            ("SESSION_SECRET=", "placeholder"),
            ("TOKEN_TTL_SECONDS=3600", "keyword-non-secret"),
            (f"AWS_ROLE_ARN=arn:aws:iam::{acct}:role/ci", "identifier"),
        ],
        "sh": [
            ('PASSWORD="$(openssl rand -base64 24)"', "generated"),
            ("TOKEN=$(gh auth token)", "generated"),
            (f"echo '{pubkey}' >> ~/.ssh/authorized_keys", "public-key"),
        ],
        "tf": [
            ('  secret_name = "prod/orders/db-credentials"', "keyword-non-secret"),
            (f'  role_arn = "arn:aws:iam::{acct}:role/terraform"', "identifier"),
            ("  password = null", "keyword-non-secret"),
        ],
        "docker": [
            (
                "RUN --mount=type=secret,id=npm_token "
                "NPM_TOKEN=$(cat /run/secrets/npm_token) npm ci",
                "reference",
            ),
            (f"LABEL org.opencontainers.image.revision={v.hex(40)}", "git-sha"),
        ],
        "xml": [
            ('    <password-policy min-length="12"/>', "keyword-non-secret"),
            ('    <add key="ClientSecret" value="#{ClientSecret}#" />', "template"),
        ],
        "properties": [
            ("spring.security.user.password=", "placeholder"),
            ("server.ssl.key-store-password=${KEYSTORE_PASSWORD:}", "env-lookup"),
            ("token.expiry.seconds=3600", "keyword-non-secret"),
        ],
        "md": [
            (f"Add your public key (`{pubkey[:60]}...`) to the server.", "public-key"),
            ("Set `API_KEY` to the value shown in the dashboard.", "keyword-name"),
        ],
    }
    smap = json.dumps(
        {
            "version": 3,
            "sources": [f"src/{rng.choice(WORDS)}.ts"],
            "names": [],
            "mappings": ";".join(v.chars(rng.randint(6, 12), B64[:52]) for _ in range(8)),
        }
    )
    dash = "-" * 5
    extra["js"].append(
        ("//# sourceMappingURL=data:application/json;charset=utf-8;base64,"
         + base64.b64encode(smap.encode()).decode(), "data-uri")
    )  # fmt: skip
    extra["json"] += [
        ('  "password": "Passwort",', "i18n"),
        ('  "token_expired": "Your session has expired, please sign in again.",', "i18n"),
    ]
    extra["java"].append(
        (f"    private static final long serialVersionUID = -{v.digits(18)}L;", "identifier")
    )
    extra["yaml"] += [
        ("  password: *default_password", "reference"),
        ("  existingSecret: orders-db", "keyword-non-secret"),
        (
            f"  password: ENC[AES256_GCM,data:{v.b64bytes(18)},iv:{v.b64bytes(32)},"
            f"tag:{v.b64bytes(16)},type:str]",
            "encrypted",
        ),
    ]
    extra["properties"].append((f"distributionSha256Sum={v.hex(64)}", "checksum"))
    extra["md"].append((f"{dash}BEGIN RSA PRIVATE KEY{dash}", "placeholder-pem"))
    for lang_, items in extra.items():
        common[lang_] = common[lang_] + items
    common["ts"] = common["js"] + [
        ("const token: string | undefined = process.env.TOKEN;", "env-lookup")
    ]
    return common[lang]


def decoy_context(lang: str, text: str) -> tuple[list[str], list[str]]:
    """Lines to put around a decoy so it sits in a plausible block of its language."""
    indent = len(text) - len(text.lstrip(" \t"))
    if lang == "md" and text.startswith("-----BEGIN"):
        return ["```"], ["<paste the deploy key here>", text.replace("BEGIN", "END"), "```"]
    opens = text.rstrip().endswith(("{", ":")) and lang in ("py", "java", "go", "js", "ts")
    if lang == "py":
        if opens:
            return [], ['    raise ValueError("passwords do not match")']
        if indent and text.strip().startswith('"'):
            return ["DEFAULTS = {"], ["}"]
        if indent:
            return ["session = boto3.Session("], [")"]
    if lang == "java":
        after = (
            ['            throw new IllegalArgumentException("mismatch");', "        }"]
            if opens
            else []
        )
        if text.startswith("import "):
            return [], []
        if indent >= 8:
            return ["    void init(HttpServletRequest request, JPasswordField passwordField) {"], [
                *after,
                "    }",
            ]
        if text.strip().startswith("@"):
            return [], ["    private String value;"]
    if lang == "go" and text.startswith("\t"):
        if "`json:" in text:
            return ["type Credentials struct {"], ["}"]
        if text.strip().startswith("APIKey:"):
            return ["var sample = Config{"], ["}"]
        return ["func handler(w http.ResponseWriter, r *http.Request) {"], (
            ["\t\treturn", "\t}", "}"] if opens else ["\t_ = w", "}"]
        )
    if lang in ("js", "ts"):
        if opens:
            return [], ['  throw new Error("passwords do not match");', "}"]
        if indent:
            return ["const schema = {"], ["};"]
    if lang == "tf" and indent:
        return ['resource "aws_instance" "app" {'], ["}"]
    if lang == "yaml" and indent:
        parents = ["spec", "template", "config", "env", "data", "settings"]
        return [" " * i + parents[i // 2 % len(parents)] + ":" for i in range(0, indent, 2)], []
    return [], []


def write_secret_file(
    c: Corpus, rng, v: Values, sf: SecretFactory, pm: PathMaker, lang: str
) -> None:
    fb = FileBuilder(c, pm.make(lang), "secrets")
    fb.add(*OPEN.get(lang, lambda r: [])(rng))
    decoys = decoy_lines(rng, v, lang)
    rng.shuffle(decoys)
    n_secrets = rng.choice([1, 1, 2, 2, 3, 4])
    n_decoys = rng.randint(1, 4)
    events = ["s"] * n_secrets + ["d"] * n_decoys + ["f"] * rng.randint(1, 3)
    rng.shuffle(events)
    for event in events:
        if event == "s":
            plant_secret(fb, rng, v, sf, lang)
        elif event == "d" and decoys:
            text, kind = decoys.pop()
            before, after = decoy_context(lang, text)
            fb.add(*before)
            fb.decoy(text, kind)
            fb.add(*after)
        else:
            filler(fb, rng, lang)
    fb.add(*CLOSE.get(lang, []))
    fb.done()


def write_special_secret_file(
    c: Corpus, rng, v: Values, sf: SecretFactory, pm: PathMaker, which: str
) -> None:
    svc = rng.choice(WORDS)
    top = rng.choice(["deploy", "ops", "ci", "tools"])
    if which == "npmrc":
        fb = FileBuilder(c, pm.unique(f"{top}/{svc}/.npmrc"), "secrets")
        fb.add("registry=https://registry.npmjs.org/", "always-auth=true")
        value, _ = sf.token("npm-token")
        fb.secret(f"//registry.npmjs.org/:_authToken={value}", "npm-token", value)
        fb.decoy("//npm.pkg.github.com/:_authToken=${NPM_TOKEN}", "env-lookup")
    elif which == "pypirc":
        fb = FileBuilder(c, pm.unique(f"{top}/{svc}/.pypirc"), "secrets")
        value, _ = sf.token("pypi-token")
        fb.add("[distutils]", "index-servers =", "    pypi", "", "[pypi]", "username = __token__")
        fb.secret(f"password = {value}", "pypi-token", value)
    elif which == "aws":
        fb = FileBuilder(c, pm.unique(f"{top}/{svc}/aws/credentials"), "secrets")
        key_id, _ = sf.token("aws-access-key-id")
        secret, _ = sf.token("aws-secret-access-key")
        fb.add("[default]")
        fb.secret(f"aws_access_key_id = {key_id}", "aws-access-key-id", key_id)
        fb.secret(f"aws_secret_access_key = {secret}", "aws-secret-access-key", secret)
        fb.add("region = eu-west-1", "", "[example]")
        fb.decoy("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "documented-example")
        fb.decoy(
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "documented-example"
        )
    elif which == "git-credentials":
        fb = FileBuilder(c, pm.unique(f"{top}/{svc}/.git-credentials"), "secrets")
        value, _ = sf.token("github-pat")
        fb.secret(f"https://ci-bot:{value}@github.com", "github-pat", value)
    elif which == "pem":
        fb = FileBuilder(
            c,
            pm.unique(
                f"{top}/{svc}/" + rng.choice(["id_rsa", "server.key", "tls.key", "signing.pem"])
            ),
            "secrets",
        )
        plant_private_key(fb, rng, v, "pem")
    elif which == "gcp":
        fb = FileBuilder(c, pm.unique(f"{top}/{svc}/service-account.json"), "secrets")
        fb.add("{", '  "type": "service_account",', f'  "project_id": "{svc}-prod-{v.digits(6)}",')
        fb.neutral(f'  "private_key_id": "{v.hex(40)}",', "private-key-id")
        plant_private_key(fb, rng, v, "json")
        fb.add(f'  "client_email": "deployer@{svc}-prod.iam.gserviceaccount.com",',
               f'  "client_id": "{v.digits(21)}",',
               '  "auth_uri": "https://accounts.google.com/o/oauth2/auth",',
               '  "token_uri": "https://oauth2.googleapis.com/token"', "}")  # fmt: skip
    elif which == "k8s-secret":
        fb = FileBuilder(c, pm.unique(f"deploy/k8s/{svc}/secret.yaml"), "secrets")
        fb.add("apiVersion: v1", "kind: Secret", "metadata:", f"  name: {svc}-credentials",
               "type: Opaque", "data:")  # fmt: skip
        fb.add(f"  username: {base64.b64encode(b'app').decode()}")
        for key in rng.sample(["password", "api-token", "client-secret", "DB_PASSWORD"], 2):
            raw = v.keyword_secret()
            enc = base64.b64encode(raw.encode()).decode()
            fb.secret(f"  {key}: {enc}", "k8s-secret-data", enc)
        fb.add("stringData:")
        value = v.keyword_secret()
        fb.secret(f'  SIGNING_SECRET: "{value}"', "keyword", value)
    elif which == "netrc":
        fb = FileBuilder(c, pm.unique(f"{top}/{svc}/.netrc"), "secrets")
        pw = v.password()
        fb.secret(f"machine api.openfern.io login deploy password {pw}", "netrc", pw)
        fb.decoy("machine localhost login test password test", "test-word")
    elif which == "cloud-init":
        fb = FileBuilder(c, pm.unique(f"infra/{svc}/cloud-init.yaml"), "decoys")
        fb.add(
            "#cloud-config",
            "users:",
            "  - name: deploy",
            "    groups: sudo",
            "    ssh_authorized_keys:",
        )
        for _ in range(2):
            fb.decoy(
                "      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + v.chars(43, B64) + " ops@laptop",
                "public-key",
            )
        fb.decoy(
            f"      - ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ{v.chars(300, B64)} ci@runner",
            "public-key",
        )
        fb.add("package_update: true")
    elif which == "cert":
        # A public certificate and a public key: never secrets.
        fb = FileBuilder(c, pm.unique(f"{top}/{svc}/ca-bundle.pem"), "decoys")
        dash = "-" * 5
        for label, n in (("CERTIFICATE", 18), ("PUBLIC KEY", 6), ("PGP PUBLIC KEY BLOCK", 12)):
            fb.decoy(f"{dash}BEGIN {label}{dash}", "public-pem")
            for _ in range(n):
                fb.decoy(v.chars(64, B64), "public-pem-body")
            fb.decoy(f"{dash}END {label}{dash}", "public-pem")
    else:
        raise ValueError(which)
    fb.done()


def write_decoy_file(c: Corpus, rng, v: Values, pm: PathMaker) -> None:
    which = rng.choice(["package-lock", "go.sum", "requirements", "poetry.lock", "yarn.lock",
                        "Dockerfile", "workflow", "cargo.lock", "sri-html", "tf-lock"])  # fmt: skip
    svc = rng.choice(WORDS)
    top = rng.choice(["services", "apps", "packages", "tools"])
    libs = [
        "left-pad",
        "lodash",
        "react",
        "express",
        "chalk",
        "debug",
        "ms",
        "semver",
        "yargs",
        "uuid",
    ]
    pylibs = ["requests", "urllib3", "idna", "certifi", "charset-normalizer", "django", "celery"]
    golibs = ["github.com/stretchr/testify", "golang.org/x/sys", "github.com/google/uuid",
              "github.com/spf13/cobra", "gopkg.in/yaml.v3", "golang.org/x/text"]  # fmt: skip
    path = (
        f"{top}/{svc}/"
        + {
            "package-lock": "package-lock.json",
            "go.sum": "go.sum",
            "requirements": "requirements.txt",
            "poetry.lock": "poetry.lock",
            "yarn.lock": "yarn.lock",
            "Dockerfile": "Dockerfile",
            "workflow": ".github/workflows/ci.yml",
            "cargo.lock": "Cargo.lock",
            "sri-html": "index.html",
            "tf-lock": ".terraform.lock.hcl",
        }[which]
    )
    while path in c.files or path in pm.used:
        path = path.replace(f"/{svc}/", f"/{svc}x/", 1)
        svc += "x"
    pm.used.add(path)
    fb = FileBuilder(c, path, "decoys")
    if which == "package-lock":
        fb.add("{", f'  "name": "{svc}",', '  "lockfileVersion": 3,', '  "packages": {')
        for lib in rng.sample(libs, 5):
            ver = f"{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
            fb.add(f'    "node_modules/{lib}": {{', f'      "version": "{ver}",')
            fb.decoy(
                f'      "resolved": "https://registry.npmjs.org/{lib}/-/{lib}-{ver}.tgz",',
                "public-url",
            )
            fb.decoy(f'      "integrity": "sha512-{v.b64bytes(64)}"', "checksum")
            fb.add("    },")
        fb.add("  }", "}")
    elif which == "go.sum":
        for lib in rng.sample(golibs, 4):
            ver = f"v{rng.randint(0, 1)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
            fb.decoy(f"{lib} {ver} h1:{v.b64bytes(32)}", "checksum")
            fb.decoy(f"{lib} {ver}/go.mod h1:{v.b64bytes(32)}", "checksum")
    elif which == "requirements":
        for lib in rng.sample(pylibs, 4):
            fb.add(f"{lib}=={rng.randint(1, 5)}.{rng.randint(0, 30)}.{rng.randint(0, 9)} \\")
            fb.decoy(f"    --hash=sha256:{v.hex(64)} \\", "checksum")
            fb.decoy(f"    --hash=sha256:{v.hex(64)}", "checksum")
    elif which == "poetry.lock":
        for lib in rng.sample(pylibs, 3):
            fb.add(
                "[[package]]",
                f'name = "{lib}"',
                f'version = "{rng.randint(1, 5)}.{rng.randint(0, 9)}.0"',
                "files = [",
            )
            fb.decoy(
                f'    {{file = "{lib}-py3-none-any.whl", hash = "sha256:{v.hex(64)}"}},', "checksum"
            )
            fb.add("]", "")
    elif which == "yarn.lock":
        for lib in rng.sample(libs, 4):
            ver = f"{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}"
            fb.add(f'"{lib}@^{ver}":', f'  version "{ver}"')
            fb.decoy(
                f'  resolved "https://registry.yarnpkg.com/{lib}/-/{lib}-{ver}.tgz#{v.hex(40)}"',
                "checksum",
            )
            fb.decoy(f"  integrity sha512-{v.b64bytes(64)}", "checksum")
            fb.add("")
    elif which == "Dockerfile":
        fb.decoy(f"FROM golang:1.22@sha256:{v.hex(64)} AS build", "checksum")
        fb.add("ARG TERRAFORM_VERSION=1.8.5")
        fb.decoy(f"ARG TERRAFORM_SHA256={v.hex(64)}", "checksum")
        fb.add(
            "RUN curl -fsSLo /tmp/tf.zip https://releases.hashicorp.com/terraform/"
            '"${TERRAFORM_VERSION}/terraform_${TERRAFORM_VERSION}_linux_amd64.zip" \\'
        )
        fb.decoy('    && echo "${TERRAFORM_SHA256}  /tmp/tf.zip" | sha256sum -c -', "checksum")
        fb.decoy(
            f"COPY --from=ghcr.io/astral-sh/uv:0.4.0@sha256:{v.hex(64)} /uv /bin/uv", "checksum"
        )
    elif which == "workflow":
        fb.add(
            "name: ci",
            "on: [push, pull_request]",
            "jobs:",
            "  test:",
            "    runs-on: ubuntu-latest",
            "    steps:",
        )
        fb.decoy(f"      - uses: actions/checkout@{v.hex(40)} # v4.1.1", "git-sha")
        fb.decoy(f"      - uses: actions/setup-python@{v.hex(40)} # v5", "git-sha")
        fb.add("      - run: make test", "        env:")
        fb.decoy("          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}", "template")
        fb.decoy("          PYPI_TOKEN: ${{ secrets.PYPI_API_TOKEN }}", "template")
    elif which == "tf-lock":
        for prov in rng.sample(["aws", "random", "tls", "kubernetes", "helm"], 2):
            fb.add(
                f'provider "registry.terraform.io/hashicorp/{prov}" {{',
                f'  version     = "{rng.randint(2, 5)}.{rng.randint(0, 60)}.0"',
                "  hashes = [",
            )
            fb.decoy(f'    "h1:{v.b64bytes(32)}",', "checksum")
            for _ in range(3):
                fb.decoy(f'    "zh:{v.hex(64)}",', "checksum")
            fb.add("  ]", "}", "")
    elif which == "cargo.lock":
        for lib in rng.sample(["serde", "tokio", "anyhow", "rand", "regex"], 3):
            fb.add(
                "[[package]]",
                f'name = "{lib}"',
                f'version = "1.{rng.randint(0, 40)}.{rng.randint(0, 9)}"',
                'source = "registry+https://github.com/rust-lang/crates.io-index"',
            )
            fb.decoy(f'checksum = "{v.hex(64)}"', "checksum")
            fb.add("")
    else:
        fb.add("<!doctype html>", "<html>", "<head>")
        fb.decoy(
            '  <script src="https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/js/'
            'bootstrap.bundle.min.js" '
            f'integrity="sha384-{v.b64bytes(48)}" crossorigin="anonymous"></script>',
            "checksum",
        )
        fb.decoy(
            '  <link rel="icon" href="data:image/png;base64,'
            f'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQ{v.b64bytes(60)}">',
            "data-uri",
        )
        fb.add("</head>", "<body>", '<form method="post" action="/login">')
        fb.decoy(
            '  <input type="password" name="password" autocomplete="current-password">',
            "keyword-name",
        )
        fb.add("</form>", "</body>", "</html>")
    fb.done()


# --------------------------------------------------------------------------------------------
# Internal references

IDOM, BDOM = INTERNAL_DOMAINS
EDOM = INTERNAL_EMAIL_DOMAINS[0]
JPKG, PYPKG, NPMSCOPE = INTERNAL_PACKAGES


def internal_lines(
    rng, v: Values, lang: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(planted, look-alikes) line candidates for one language."""
    svc, mod = rng.choice(WORDS), rng.choice(WORDS)
    first, last = rng.choice(PEOPLE)
    user = f"{first.lower()}.{last.lower()}".replace("á", "a")
    team = rng.choice(["platform", "sre", "billing-team", "oncall", "data-eng"])
    ticket = f"HLV-{rng.randint(100, 99999)}"
    inc = f"INC{rng.randint(0, 9999999):07d}"
    cls = pascal(mod) + rng.choice(["Client", "Verifier", "Repository", "Mapper"])
    bad_host = rng.choice(
        [
            f"{svc}.intra.halvorsen-labs.com",
            f"{svc}.intra-halvorsen-labs.net",
            f"{svc}.my{BDOM}",
            f"{svc}.{BDOM}.au",
            f"{svc}.hlv-build.network",
        ]
    )
    bad_email = f"{user}@" + rng.choice(
        [
            "halvorsen-labs.com",
            "halvorsen-labs.network",
            "thehalvorsen-labs.net",
            "mail-halvorsen-labs.net",
        ]
    )
    pub = [
        (f"https://github.com/halvorsen-labs/{svc}-sdk", "public-org-url"),
        (f"https://{rng.choice(PUBLIC_HOSTS)}/{svc}", "public-host"),
    ]
    p: dict[str, list[tuple[str, str]]] = {
        "py": [
            (f'API_BASE = "https://{svc}.{IDOM}/v{rng.randint(1, 3)}"', "host"),
            (f'BROKER = "kafka-0{rng.randint(1, 6)}.{IDOM}:9092"', "host"),
            (f'ALERT_EMAIL = "{team}@{EDOM}"', "email"),
            (f"from {PYPKG}.{mod} import {cls}", "package"),
            (f"import {PYPKG}.{mod} as {mod}", "package"),
            (f"# TODO({ticket}): drop the fallback once the rollout is done", "pattern"),
            (f'PIP_INDEX = "https://pypi.{BDOM}/simple/"', "host"),
        ],
        "java": [
            (f"import {JPKG}.{mod}.{cls};", "package"),
            (f"import static {JPKG}.{mod}.Defaults.TIMEOUT;", "package"),
            (f'    private static final String ENDPOINT = "https://{svc}.{IDOM}/api";', "host"),
            (f" * @author {user}@{EDOM}", "email"),
            (f"        // {ticket}: guard against a null tenant", "pattern"),
        ],
        "go": [
            (f'\t"git.{IDOM}/platform/{mod}"', "host"),
            (f'const endpoint = "https://{svc}.{IDOM}"', "host"),
            (f"// Maintainer: {first} {last} <{user}@{EDOM}>", "email"),
            (f"// See {ticket} for the retry budget.", "pattern"),
        ],
        "js": [
            (f'import {{ {cls} }} from "{NPMSCOPE}/{mod}";', "package"),
            (f'const {camel(mod)} = require("{NPMSCOPE}/{mod}");', "package"),
            (f'const API_URL = "https://{svc}.{IDOM}/graphql";', "host"),
            (f"// {ticket}: keep in sync with the backend enum", "pattern"),
            (f"// Owner: {team}@{EDOM}", "email"),
        ],
        "json": [
            (f'    "{NPMSCOPE}/{mod}": "^{rng.randint(1, 4)}.{rng.randint(0, 9)}.0",', "package"),
            (f'  "author": "{first} {last} <{user}@{EDOM}>",', "email"),
            (f'    "registry": "https://npm.{BDOM}/"', "host"),
        ],
        "yaml": [
            (f"  url: https://{svc}.{IDOM}", "host"),
            (
                f"    image: registry.{BDOM}/{team}/{svc}:1.{rng.randint(0, 9)}"
                f".{rng.randint(0, 9)}",
                "host",
            ),
            (f"  notify: {team}@{EDOM}", "email"),
            (f'  description: "Tracked in {ticket}"', "pattern"),
            (f"  # incident {inc}: raised the memory limit", "pattern"),
        ],
        "xml": [
            (f"    <groupId>{JPKG}</groupId>", "package"),
            (f"    <groupId>{JPKG}.{mod}</groupId>", "package"),
            (f"    <url>https://nexus.{BDOM}/repository/maven-releases/</url>", "host"),
            (f"    <email>{user}@{EDOM}</email>", "email"),
        ],
        "properties": [
            (f"service.{mod}.url=https://{svc}.{IDOM}/", "host"),
            (f"mail.from={team}@{EDOM}", "email"),
            (f"ldap.url=ldaps://ldap.{IDOM}:636", "host"),
        ],
        "docker": [
            (f"FROM registry.{BDOM}/base/python:3.12-slim", "host"),
            (f'LABEL maintainer="{user}@{EDOM}"', "email"),
            (f"RUN pip install --index-url https://pypi.{BDOM}/simple/ {svc}-worker", "host"),
        ],
        "sh": [
            (f"ssh deploy@bastion.{IDOM} 'sudo systemctl restart {svc}'", "host"),
            (f"curl -fsSLO https://artifacts.{BDOM}/{svc}/latest.tar.gz", "host"),
            (f"# {ticket}: remove once the migration is finished", "pattern"),
        ],
        "tf": [
            (f'  address = "https://vault.{IDOM}:8200"', "host"),
            (f'  source = "git::https://git.{IDOM}/infra/modules.git//vpc?ref=v1.2.0"', "host"),
            (f'    owner = "{team}@{EDOM}"', "email"),
        ],
        "md": [
            (f"See the [runbook](https://wiki.{IDOM}/display/OPS/{pascal(svc)}).", "host"),
            (f"Contact {first} ({user}@{EDOM}) for access.", "email"),
            (f"Tracked in {ticket}.", "pattern"),
            (f"Follow-up of incident {inc}.", "pattern"),
        ],
    }
    more = {
        "java": [
            (f"        {JPKG}.{mod}.{cls} delegate = new {JPKG}.{mod}.{cls}();", "package"),
            (f'@ComponentScan("{JPKG}")', "package"),
        ],
        "md": [(f"Signed-off-by: {first} {last} <{user}@{EDOM}>", "email")],
        "yaml": [(f"      - release/{ticket}-hotfix", "pattern")],
        "ts": [(f'import type {{ {cls} }} from "{NPMSCOPE}/types";', "package")],
        "py": [(f'    "{user}@{EDOM}",', "email")],
    }
    p["ts"] = p["js"] + more["ts"]
    for lang_ in ("java", "md", "yaml", "py"):
        p[lang_] = p[lang_] + more[lang_]
    look = {
        "host": (f'"https://{bad_host}/v1"', "lookalike-host"),
        "email": (f"{bad_email}", "lookalike-email"),
        "jpkg": (f"import net.halvorsen.corekit.{cls};", "lookalike-package"),
        "pypkg": (f"from {PYPKG}s.{mod} import {cls}", "lookalike-package"),
        "npm": (f'import {{ {cls} }} from "@hlv-integrations/{mod}";', "lookalike-package"),
        "ticket": (
            rng.choice(
                [
                    "HLV-ALPHA",
                    f"XHLV-{rng.randint(100, 999)}",
                    f"INC{rng.randint(10**7, 10**8 - 1)}",
                ]
            ),
            "lookalike-pattern",
        ),  # fmt: skip
    }
    comment = {
        "py": "# ",
        "sh": "# ",
        "yaml": "# ",
        "docker": "# ",
        "properties": "# ",
        "tf": "# ",
        "java": "    // ",
        "go": "// ",
        "js": "// ",
        "ts": "// ",
        "xml": "    <!-- ",
        "json": None,
        "md": "",
    }[lang]
    tail = " -->" if lang == "xml" else ""
    looks: list[tuple[str, str]] = []
    if comment is not None:
        looks.append((f"{comment}mirror: {look['host'][0].strip(chr(34))}{tail}", look["host"][1]))
        looks.append((f"{comment}former contact: {look['email'][0]}{tail}", look["email"][1]))
        looks.append((f"{comment}see also {look['ticket'][0]}{tail}", look["ticket"][1]))
        looks += [(f"{comment}upstream: {u}{tail}", k) for u, k in pub]
    else:
        looks.append((f'  "homepage": "https://{bad_host}/",', "lookalike-host"))
        looks.append((f'  "contributors": ["{bad_email}"],', "lookalike-email"))
        looks.append((f'    "@hlv-integrations/{mod}": "^1.0.0",', "lookalike-package"))
        looks.append((f'  "repository": "{pub[0][0]}",', "public-org-url"))
    if lang == "java":
        looks.append(look["jpkg"])
    if lang == "py":
        looks.append(look["pypkg"])
        looks.append((f"legacy_{PYPKG}_api = True", "lookalike-package"))
    if lang in ("js", "ts"):
        looks.append(look["npm"])
    return p[lang], looks


def write_internal_file(c: Corpus, rng, v: Values, pm: PathMaker, lang: str) -> None:
    path = pm.make(lang)
    if lang == "java":
        path = path.replace("org/openfern", "net/halvorsen/core")
    fb = FileBuilder(c, path, "internal")
    planted, looks = internal_lines(rng, v, lang)
    rng.shuffle(planted)
    rng.shuffle(looks)
    planted = planted[: rng.randint(2, min(4, len(planted)))]
    looks = looks[: rng.randint(1, 3)]
    if lang == "java":
        fb.internal(f"package {JPKG}.{rng.choice(WORDS)};", "package")
        fb.add("", "import java.util.Map;")
        for item in [x for x in planted if x[0].startswith("import ")]:
            fb.internal(*item)
        for item in [x for x in looks if x[0].startswith("import ")]:
            fb.lookalike(*item)
        fb.add("", "/**", " * Client for the internal service.")
        for item in [x for x in planted if x[0].startswith(" * ")]:
            fb.internal(*item)
        fb.add(" */", f"public final class {java_class(rng)} {{")
    elif lang == "go":
        fb.add(f"package {rng.choice(WORDS)}", "", "import (", '\t"net/http"')
        for item in [x for x in planted if x[0].startswith('\t"')]:
            fb.internal(*item)
        fb.add(")", "")
    elif lang == "json" and rng.random() < 0.5:
        fb.add("{")
        fb.internal(f'  "name": "{NPMSCOPE}/{rng.choice(WORDS)}-web",', "package")
    else:
        fb.add(*OPEN.get(lang, lambda r: [])(rng))
    placed = (
        {x for x in planted if x[0].startswith(("import ", " * ", '\t"'))}
        if lang in ("java", "go")
        else set()
    )
    placed |= {x for x in looks if x[0].startswith("import ")} if lang == "java" else set()
    events = [("p", x) for x in planted if x not in placed] + [
        ("l", x) for x in looks if x not in placed
    ]
    events += [("f", None)] * rng.randint(1, 2)
    rng.shuffle(events)
    for event, item in events:
        if event == "f":
            filler(fb, rng, lang)
            continue
        before, after = decoy_context(lang, item[0])
        fb.add(*before)
        (fb.internal if event == "p" else fb.lookalike)(*item)
        fb.add(*after)
    fb.add(*CLOSE.get(lang, []))
    fb.done()


# --------------------------------------------------------------------------------------------
# Licenses

APACHE = [
    'Licensed under the Apache License, Version 2.0 (the "License"); you may not use this file '
    "except in compliance with the License. You may obtain a copy of the License at",
    "@@    http://www.apache.org/licenses/LICENSE-2.0",
    "Unless required by applicable law or agreed to in writing, software distributed under the "
    'License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, '
    "either express or implied. See the License for the specific language governing permissions "
    "and limitations under the License.",
]
MIT = [
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this software "
    'and associated documentation files (the "Software"), to deal in the Software without '
    "restriction, including without limitation the rights to use, copy, modify, merge, publish, "
    "distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the "
    "Software is furnished to do so, subject to the following conditions:",
    "The above copyright notice and this permission notice shall be included in all copies or "
    "substantial portions of the Software.",
    'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING '
    "BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND "
    "NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, "
    "DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, "
    "ARISING FROM, "
    "OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.",
]
BSD_PRE = (
    "Redistribution and use in source and binary forms, with or without modification, are "
    "permitted provided that the following conditions are met:"
)
BSD_1 = (
    "1. Redistributions of source code must retain the above copyright notice, this list of "
    "conditions and the following disclaimer."
)
BSD_2 = (
    "2. Redistributions in binary form must reproduce the above copyright notice, this list of "
    "conditions and the following disclaimer in the documentation and/or other materials provided "
    "with the distribution."
)
BSD_3 = (
    "3. Neither the name of the copyright holder nor the names of its contributors may be used to "
    "endorse or promote products derived from this software without specific prior written "
    "permission."
)
BSD_DISCLAIMER = (
    'THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY '
    "EXPRESS OR "
    "IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY "
    "AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT "
    "HOLDER OR "
    "CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR "
    "CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR "
    "SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY "
    "THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR "
    "OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE "
    "POSSIBILITY OF SUCH DAMAGE."
)
WARRANTY = (
    "This {what} is distributed in the hope that it will be useful, but WITHOUT ANY WARRANTY; "
    "without even the implied warranty of MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  "
    "See the GNU {name} License for more details."
)


def gnu(first: str, what: str, name: str, tail: str) -> list[str]:
    return [first, WARRANTY.format(what=what, name=name), tail]


LICENSE_TEXTS: dict[str, list[str]] = {
    "Apache-2.0": APACHE,
    "MIT": MIT,
    "BSD-2-Clause": [BSD_PRE, BSD_1, BSD_2, BSD_DISCLAIMER],
    "BSD-3-Clause": [BSD_PRE, BSD_1, BSD_2, BSD_3, BSD_DISCLAIMER],
    "GPL-2.0-or-later": gnu(
        "This program is free software; you can redistribute it and/or modify it under the terms "
        "of the GNU General Public License as published by the Free Software Foundation; either "
        "version 2 of the License, or (at your option) any later version.",
        "program",
        "General Public",
        "You should have received a copy of the GNU General Public License along with this "
        "program; if not, write to the Free Software Foundation, Inc., 51 Franklin Street, Fifth "
        "Floor, Boston, MA 02110-1301 USA.",
    ),  # fmt: skip
    "GPL-3.0-or-later": gnu(
        "This program is free software: you can redistribute it and/or modify it under the terms "
        "of the GNU General Public License as published by the Free Software Foundation, either "
        "version 3 of the License, or (at your option) any later version.",
        "program",
        "General Public",
        "You should have received a copy of the GNU General Public License along with this "
        "program.  If not, see <https://www.gnu.org/licenses/>.",
    ),  # fmt: skip
    "GPL-2.0-only": gnu(
        "This program is free software; you can redistribute it and/or modify it under the terms "
        "of the GNU General Public License version 2 as published by the Free Software "
        "Foundation.",
        "program",
        "General Public",
        "You should have received a copy of the GNU General Public License along with this "
        "program; if not, see <http://www.gnu.org/licenses/>.",
    ),  # fmt: skip
    "LGPL-2.1-or-later": gnu(
        "This library is free software; you can redistribute it and/or modify it under the terms "
        "of the GNU Lesser General Public License as published by the Free Software Foundation; "
        "either version 2.1 of the License, or (at your option) any later version.",
        "library",
        "Lesser General Public",
        "You should have received a copy of the GNU Lesser General Public License along with this "
        "library; if not, write to the Free Software Foundation, Inc., 51 Franklin Street, Fifth "
        "Floor, Boston, MA  02110-1301  USA",
    ),  # fmt: skip
    "LGPL-3.0-or-later": gnu(
        "This program is free software: you can redistribute it and/or modify it under the terms "
        "of the GNU Lesser General Public License as published by the Free Software Foundation, "
        "either version 3 of the License, or (at your option) any later version.",
        "program",
        "Lesser General Public",
        "You should have received a copy of the GNU Lesser General Public License along with this "
        "program.  If not, see <http://www.gnu.org/licenses/>.",
    ),  # fmt: skip
    "AGPL-3.0-or-later": gnu(
        "This program is free software: you can redistribute it and/or modify it under the terms "
        "of the GNU Affero General Public License as published by the Free Software Foundation, "
        "either version 3 of the License, or (at your option) any later version.",
        "program",
        "Affero General Public",
        "You should have received a copy of the GNU Affero General Public License along with this "
        "program.  If not, see <https://www.gnu.org/licenses/>.",
    ),  # fmt: skip
    "MPL-2.0": [
        "This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0. If a "
        "copy of the MPL was not distributed with this file, You can obtain one at "
        "http://mozilla.org/MPL/2.0/.",
    ],
    "EPL-2.0": [
        "This program and the accompanying materials are made available under the terms of the "
        "Eclipse Public License 2.0 which is available at https://www.eclipse.org/legal/epl-2.0/",
    ],
}
# Partial headers: how many leading paragraphs still identify the license (None: no partial).
PARTIAL = {
    "Apache-2.0": 2, "MIT": 1, "BSD-2-Clause": None, "BSD-3-Clause": None, "GPL-2.0-or-later": 1,
    "GPL-3.0-or-later": 1, "GPL-2.0-only": 1, "LGPL-2.1-or-later": 1, "LGPL-3.0-or-later": 1,
    "AGPL-3.0-or-later": 1, "MPL-2.0": None, "EPL-2.0": None,
}  # fmt: skip
SHORT_NOTICES = {
    "MIT": "This source code is licensed under the MIT license found in the LICENSE file in the "
    "root directory of this source tree.",
    "Apache-2.0 OR MIT": "Licensed under the Apache License, Version 2.0 <LICENSE-APACHE or "
    "http://www.apache.org/licenses/LICENSE-2.0> or the MIT license <LICENSE-MIT or "
    "http://opensource.org/licenses/MIT>, at your option. This file may not be copied, modified, "
    "or distributed except according to those terms.",
    "MPL-2.0": "This Source Code Form is subject to the terms of the Mozilla Public License, "
    "v. 2.0.",
}

LICENSE_LANGS = {
    "py": (".py", ["hash", "docstring"]), "sh": (".sh", ["hash"]), "yaml": (".yaml", ["hash"]),
    "tf": (".tf", ["hash", "slashes", "star"]), "properties": (".properties", ["hash"]),
    "java": (".java", ["star", "slashes"]), "go": (".go", ["slashes", "plain"]),
    "js": (".js", ["star", "slashes"]), "ts": (".ts", ["star", "slashes"]),
    "c": (".c", ["star", "plain"]), "rs": (".rs", ["slashes"]), "sql": (".sql", ["dashes"]),
    "lua": (".lua", ["dashes"]), "xml": (".xml", ["xml"]), "html": (".html", ["xml"]),
    "md": (".md", ["xml"]), "css": (".css", ["star"]),
}  # fmt: skip


def reflow(paragraphs: list[str], width: int) -> list[str]:
    out: list[str] = []
    for i, para in enumerate(paragraphs):
        if i:
            out.append("")
        if para.startswith("@@"):
            out.append(para[2:])
            continue
        indent = "   " if para[:2] in ("1.", "2.", "3.") else ""
        out += textwrap.wrap(para, width, subsequent_indent=indent, break_long_words=False,
                             break_on_hyphens=False)  # fmt: skip
    return out


def comment_block(lines: list[str], style: str) -> list[str]:
    def pre(prefix: str) -> list[str]:
        return [(prefix + line).rstrip() if line else prefix.rstrip() for line in lines]

    if style == "hash":
        return pre("# ")
    if style == "slashes":
        return pre("// ")
    if style == "dashes":
        return pre("-- ")
    if style == "star":
        return ["/*", *pre(" * "), " */"]
    if style == "plain":
        return ["/*", *pre("   "), "*/"]
    if style == "xml":
        return ["<!--", *pre("  "), "-->"]
    if style == "docstring":
        return ['"""', *lines, '"""']
    raise ValueError(style)


def prefix_width(style: str) -> int:
    return {"hash": 2, "slashes": 3, "dashes": 3, "star": 3, "plain": 3, "xml": 2, "docstring": 0}[
        style
    ]


def copyright_line(rng) -> str:
    year = rng.randint(2005, 2024)
    years = rng.choice([str(year), f"{year}-{min(2025, year + rng.randint(1, 6))}"])
    return rng.choice(["Copyright (c) {y} {h}", "Copyright {y} {h}", "Copyright (C) {y} {h}",
                       "(c) {y} {h}", "Copyright {y} {h}. All rights reserved."]).format(
        y=years, h=rng.choice(HOLDERS))  # fmt: skip


def body_lines(rng, lang: str) -> list[str]:
    pool = FILLER.get(lang) or FILLER["py"]
    if lang == "java":
        return [
            f"package org.openfern.{rng.choice(WORDS)};",
            "",
            f"public final class {java_class(rng)} {{",
            rng.choice(pool),
            "}",
        ]
    if lang == "go":
        return [f"package {rng.choice(WORDS)}", "", rng.choice(pool)]
    if lang in ("properties", "xml"):
        return {
            "properties": ["server.port=8080", "logging.level.root=INFO"],
            "xml": ["<project>", "  <modelVersion>4.0.0</modelVersion>", "</project>"],
        }[lang]
    if lang == "md":
        return [f"# {pascal(rng.choice(WORDS))}", "", "Usage notes for this module."]
    if lang in ("tf", "yaml", "sh"):
        return [rng.choice(FILLER[lang])]
    return [rng.choice(pool)]


def write_license_file(
    c: Corpus, rng, v: Values, pm: PathMaker, spdx: str | None, mode: str
) -> None:
    lang = rng.choice(list(LICENSE_LANGS))
    ext, styles = LICENSE_LANGS[lang]
    style = rng.choice(styles)
    top = rng.choice(["lib", "src", "vendor", "third_party", "pkg", "modules", "contrib"])
    for n in range(1000):
        svc = rng.choice(WORDS) + (str(n) if n > 50 else "")
        path = f"{top}/{svc}/{rng.choice(WORDS)}{ext}"
        if path not in pm.used:
            break
    pm.used.add(path)
    fb = FileBuilder(c, path, "license")
    c.licenses[path] = spdx
    c.license_style[path] = mode
    if lang in ("sh", "py") and rng.random() < 0.3:
        fb.add("#!/usr/bin/env " + ("bash" if lang == "sh" else "python3"))
    header: list[str] = []
    if mode in ("full", "partial", "short"):
        width = rng.randint(60, 110) - prefix_width(style)
        if mode == "short":
            paragraphs = [SHORT_NOTICES[spdx]]
        else:
            paragraphs = (
                LICENSE_TEXTS[spdx][: PARTIAL[spdx]] if mode == "partial" else LICENSE_TEXTS[spdx]
            )
        header = reflow(paragraphs, width)
        if rng.random() < 0.85:
            header = [copyright_line(rng), ""] + header
    elif mode == "spdx":
        header = [f"SPDX-License-Identifier: {spdx}"]
        if rng.random() < 0.6:
            header = [
                f"SPDX-FileCopyrightText: {copyright_line(rng).replace('Copyright ', '')}"
            ] + header
        elif rng.random() < 0.5:
            header = [copyright_line(rng)] + header
        if rng.random() < 0.4 and style in ("star", "plain"):
            style = "slashes" if lang in ("c", "js", "ts", "java", "go", "rs") else style
        elif rng.random() < 0.5 and style in ("star", "plain") and len(header) == 1:
            style = "inline"
    if style == "inline":
        fb.add(f"/* {header[0]} */", "")
    elif header:
        fb.add(*comment_block(header, style))
        fb.add("")
    if mode == "none":
        fb.add(*none_body(rng, lang))
    else:
        fb.add(*body_lines(rng, lang))
    fb.done()


def none_body(rng, lang: str) -> list[str]:
    """Code that talks about licenses without carrying one."""
    hash_like = lang in ("py", "sh", "yaml", "tf", "properties")
    cmt = "# " if hash_like else "-- " if lang in ("sql", "lua") else "// "
    if lang in ("xml", "html", "md"):
        return ["<!-- The license check runs at start-up; an expired license disables exports. -->",
                "<section id=\"license-status\"></section>"]  # fmt: skip
    if lang == "css":
        return ["/* badge shown next to the license tier in the admin UI */", ".license-badge {",
                "  color: #2f6f3e;", "}"]  # fmt: skip
    roll = rng.random()
    if roll < 0.2:
        return [
            f"{cmt}Line editing uses libedit rather than GNU readline so that this tool does not",
            f"{cmt}pull a GPL dependency into the binary distribution.",
            *body_lines(rng, lang),
        ]
    if roll < 0.3 and lang in ("py", "sh"):
        return [
            f"{cmt}Finds the SPDX tag in a file header; returns None when there is none.",
            "import re" if lang == "py" else "",
            'SPDX_TAG = re.compile(r"SPDX-License-Identifier:\\s*(?P<expr>[^*\\n]+)")'
            if lang == "py"
            else "pattern='SPDX-License-Identifier:[[:space:]]*([^*]+)'",
            'ALLOWED = {"MIT", "Apache-2.0", "BSD-3-Clause"}' if lang == "py" else "",
        ]
    if lang == "py":
        return [
            "from dataclasses import dataclass", "", "",
            "@dataclass", "class LicenseSeat:", "    license_key_id: int", "    tier: str", "", "",
            "def seats_left(license_seats, used):",
            '    """How many seats of the customer\'s license are still free."""',
            "    # a perpetual license has no expiry date; see check_license_expiry below",
            "    return max(0, license_seats - used)",
        ]  # fmt: skip
    return [
        f"{cmt}LicenseCache keeps the per-tenant license lookups for five minutes.",
        f"{cmt}Renewing an expired license is handled by the billing service.",
        *body_lines(rng, lang),
        f"{cmt}license_tier values: free, team, enterprise",
    ]


def write_license_text_file(c: Corpus, rng, pm: PathMaker, spdx: str) -> None:
    top = rng.choice(["vendor", "third_party", "libs"])
    for n in range(1000):
        path = f"{top}/{rng.choice(WORDS)}{n if n else ''}/" + rng.choice(
            ["LICENSE", "LICENSE.txt", "LICENSE.md"]
        )
        if path not in pm.used:
            break
    pm.used.add(path)
    fb = FileBuilder(c, path, "license")
    c.licenses[path] = spdx
    c.license_style[path] = "license-file"
    width = rng.choice([72, 78, 80])
    if spdx == "MIT":
        fb.add("MIT License", "", copyright_line(rng), "", *reflow(MIT, width))
    else:
        fb.add(copyright_line(rng), "", *reflow(LICENSE_TEXTS[spdx], width))
    fb.done()


# --------------------------------------------------------------------------------------------


def generate(seed: int = 1, n_files: int = 300) -> Corpus:
    rng = random.Random(seed)  # noqa: S311 - a reproducible corpus, not cryptography
    v = Values(rng)
    sf = SecretFactory(v)
    pm = PathMaker(rng)
    c = Corpus(seed=seed)
    langs = list(IDIOMS)

    n_license = round(n_files * 0.37)
    n_internal = round(n_files * 0.15)
    n_decoy = round(n_files * 0.08)
    n_secret = max(1, n_files - n_license - n_internal - n_decoy)

    specials = [
        "npmrc",
        "pypirc",
        "aws",
        "git-credentials",
        "pem",
        "gcp",
        "cert",
        "k8s-secret",
        "netrc",
        "cloud-init",
    ]
    n_special = min(len(specials) * 2, max(1, n_secret // 10))
    for i in range(n_special):
        write_special_secret_file(c, rng, v, sf, pm, specials[i % len(specials)])
    for i in range(n_secret - n_special):
        write_secret_file(
            c, rng, v, sf, pm, langs[i % len(langs)] if i < 2 * len(langs) else rng.choice(langs)
        )
    for _ in range(n_decoy):
        write_decoy_file(c, rng, v, pm)
    ilangs = [
        "py",
        "java",
        "go",
        "js",
        "ts",
        "json",
        "yaml",
        "xml",
        "properties",
        "docker",
        "sh",
        "tf",
        "md",
    ]
    for i in range(n_internal):
        write_internal_file(c, rng, v, pm, ilangs[i % len(ilangs)])

    ids = list(LICENSE_TEXTS)
    n_text = max(2, round(n_license * 0.05))
    n_none = max(2, round(n_license * 0.12))
    n_spdx = max(3, round(n_license * 0.15))
    n_header = max(0, n_license - n_text - n_none - n_spdx)
    for i in range(n_text):
        write_license_text_file(c, rng, pm, ["MIT", "BSD-3-Clause"][i % 2])
    for _ in range(n_none):
        write_license_file(c, rng, v, pm, None, "none")
    spdx_exprs = [
        "Apache-2.0 OR MIT",
        "GPL-2.0+",
        "GPL-2.0-only WITH Linux-syscall-note",
        "MIT OR Apache-2.0",
        "LGPL-2.1+",
        *ids,
    ]
    for i in range(n_spdx):
        write_license_file(c, rng, v, pm, spdx_exprs[i % len(spdx_exprs)], "spdx")
    header_ids = [*ids, "Apache-2.0 OR MIT"]
    for i in range(n_header):
        spdx = header_ids[i % len(header_ids)]
        roll = rng.random()
        if spdx in SHORT_NOTICES and (roll < 0.2 or spdx not in LICENSE_TEXTS):
            mode = "short"
        elif PARTIAL[spdx] and roll < 0.45:
            mode = "partial"
        else:
            mode = "full"
        write_license_file(c, rng, v, pm, spdx, mode)
    return c


if __name__ == "__main__":  # a quick look at the corpus
    corpus = generate()
    print(len(corpus.files), "files;", len(corpus.secrets), "secrets;", len(corpus.internal),
          "internal refs;", len(corpus.licenses), "license files")  # fmt: skip
