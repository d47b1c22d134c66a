"""A generator of realistic source files with planted secrets and internal references, and
with the decoys that trip detectors up: placeholders, environment look-ups, documentation
example keys, checksums, UUIDs, git SHAs, lock files, public hosts and packages.

Every planted value is generated from a seeded random source, so that no credential-shaped
literal sits in this repository, and each sits on its own line, so that a finding can be
matched to what was planted by line. `generate(seed)` returns the files; one test asserts
perfect recall and no false positive on them, and a throwaway script can write them to disk
to run other tools (detect-secrets) for comparison.
"""

# Tables of realistic lines read best unwrapped.
# ruff: noqa: E501

from __future__ import annotations

import base64
import json
import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from scans.detectors.base import Policy

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
HEX = "0123456789abcdef"
BASE32 = string.ascii_uppercase + "234567"

POLICY = Policy(
    internal_domains=("corp.acme-internal.net", "acme.local"),
    internal_email_domains=("acme-corp.com",),
    internal_packages=("com.acme.internal", "@acme-internal", "acme_platform"),
    internal_patterns=(r"ACMEJIRA-\d+", r"\bINC\d{7}\b"),
)


@dataclass
class Planted:
    kind: str  # "secret" or "internal_ref"
    line: int  # 1-based
    value: str  # the planted value; for a secret it must never appear in a finding


@dataclass
class CorpusFile:
    filename: str
    lines: list[str] = field(default_factory=list)
    planted: list[Planted] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    def add(self, *lines: str) -> None:
        for line in lines:
            self.lines.extend(line.split("\n"))

    def plant(self, kind: str, value: str, *lines: str, at: int = 0) -> None:
        """Add ``lines``; the planted value is on ``lines[at]``."""
        self.planted.append(Planted(kind, len(self.lines) + at + 1, value))
        self.lines.extend(lines)


# --- values -----------------------------------------------------------------------------


class Values:
    """Realistic secret values and decoys, all drawn from one seeded random source."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def chars(self, n: int, alphabet: str = ALNUM) -> str:
        while True:
            value = "".join(self.rng.choice(alphabet) for _ in range(n))
            # Real generated secrets mix classes; so do these (a 16-character draw from
            # ALNUM without a digit is possible but would be an unfair test of entropy).
            if alphabet not in (ALNUM, B64, B64URL) or (
                any(c.isdigit() for c in value)
                and any(c.isupper() for c in value)
                and any(c.islower() for c in value)
            ):
                return value

    def word(self) -> str:
        return self.rng.choice(
            ["orders", "billing", "ledger", "catalog", "search", "users", "reports", "events"]
        )

    def password(self) -> str:
        n = self.rng.randint(12, 22)
        while True:
            value = self.chars(n, ALNUM + "!#%^*-_=+.~")
            if value[0] not in "-.#*&!%":
                return value

    def url_password(self) -> str:
        return self.chars(self.rng.randint(12, 24), ALNUM + "-_.~")

    def aws_key_id(self) -> str:
        return self.rng.choice(["AKIA", "ASIA"]) + self.chars(16, BASE32)

    def aws_secret(self) -> str:
        return self.chars(40, B64)

    def github(self) -> str:
        if self.rng.random() < 0.25:
            return "github_pat_" + self.chars(22) + "_" + self.chars(59)
        return self.rng.choice(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]) + self.chars(36)

    def gitlab(self) -> str:
        return "glpat-" + self.chars(20, ALNUM + "-_")

    def slack_token(self) -> str:
        kind = self.rng.choice("bpa")
        digits = "".join(self.rng.choice(string.digits) for _ in range(12))
        return f"xox{kind}-{digits[:11]}-{digits[1:]}-{self.chars(24)}"

    def slack_webhook(self) -> str:
        team = "T" + self.chars(8, string.ascii_uppercase + string.digits)
        bot = "B" + self.chars(10, string.ascii_uppercase + string.digits)
        return f"https://hooks.slack.com/services/{team}/{bot}/{self.chars(24)}"

    def stripe(self) -> str:
        return self.rng.choice(["sk_live_", "rk_live_"]) + self.chars(self.rng.choice([24, 99]))

    def google(self) -> str:
        return "AIza" + self.chars(35, ALNUM + "-_")

    def npm(self) -> str:
        return "npm_" + self.chars(36)

    def twilio(self) -> str:
        return "SK" + self.chars(32, HEX)

    def sendgrid(self) -> str:
        return f"SG.{self.chars(22, B64URL)}.{self.chars(43, B64URL)}"

    def azure_key(self) -> str:
        return self.chars(86, B64) + "=="

    def bearer(self) -> str:
        return self.chars(self.rng.randint(32, 48), ALNUM + "-_.")

    def hex_token(self) -> str:
        return self.chars(self.rng.choice([32, 40, 64]), HEX)

    def b64_secret(self) -> str:
        return self.chars(self.rng.choice([32, 44]), B64)

    def jwt(self) -> str:
        alg = self.rng.choice(["HS256", "RS256", "ES256"])
        header = {"alg": alg, "typ": "JWT"}
        if alg != "HS256":
            header["kid"] = self.chars(12)
        claims = {
            "sub": str(self.rng.randint(1000, 99999)),
            "iat": 1700000000 + self.rng.randint(0, 10**6),
            "exp": 1800000000 + self.rng.randint(0, 10**6),
            "scope": self.rng.choice(["read", "read write", "admin"]),
        }

        def part(data: dict) -> str:
            raw = json.dumps(data, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).decode().rstrip("=")

        signature = self.chars(43 if alg == "HS256" else 86, B64URL)
        return f"{part(header)}.{part(claims)}.{signature}"

    def private_key(self) -> tuple[str, list[str]]:
        kind = self.rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY",
                                "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"])  # fmt: skip
        body = [self.chars(64, B64) for _ in range(self.rng.randint(8, 25))]
        body.append(self.chars(self.rng.randint(10, 60), B64) + "==")
        return "".join(body), [f"-----BEGIN {kind}-----", *body, f"-----END {kind}-----"]

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def sha(self, n: int = 40) -> str:
        return "".join(self.rng.choice(HEX) for _ in range(n))

    def integrity(self) -> str:
        return "sha512-" + base64.b64encode(self.rng.randbytes(64)).decode()


# --- secrets, in many syntaxes ----------------------------------------------------------

# (file kind, template); {name} and {value} are filled in. Kinds: py js java go rb php yaml
# env json xml properties sh ini toml tf md dockerfile.
ASSIGNMENTS = {
    "py": ['{name} = "{value}"', "{name} = '{value}'", '    "{name}": "{value}",',
           'client = Client({name}="{value}")', 'settings["{name}"] = "{value}"'],
    "js": ['const {name} = "{value}";', "  {name}: '{value}',", 'export const {name} = `{value}`;',
           'config.{name} = "{value}";'],
    "java": ['    private static final String {name} = "{value}";',
             '        props.put("{name}", "{value}");'],
    "go": ['const {name} = "{value}"', '\t{name}: "{value}",', '\t{name} := "{value}"'],
    "rb": ["  config.{name} = '{value}'", '{name}: "{value}"'],
    "php": ["    '{name}' => '{value}',", "define('{name}', '{value}');"],
    "yaml": ["  {name}: {value}", '  {name}: "{value}"', "    {name}: '{value}'"],
    "env": ["{name}={value}", 'export {name}="{value}"', "{name}='{value}'"],
    "json": ['  "{name}": "{value}",'],
    "xml": ["  <{name}>{value}</{name}>", '    <add key="{name}" value="{value}" />',
            '  <property name="{name}" value="{value}"/>'],
    "properties": ["{name}={value}", "{name} = {value}", "{name}: {value}"],
    "sh": ['export {name}="{value}"', "{name}='{value}'", "./deploy.sh --{name} {value}"],
    "ini": ["{name} = {value}", "{name}={value}"],
    "toml": ['{name} = "{value}"'],
    "tf": ['  {name} = "{value}"'],
    "dockerfile": ["ENV {name}={value}", "ARG {name}={value}"],
}  # fmt: skip
SECRET_NAMES = {
    "password": ["password", "db_password", "DB_PASSWORD", "dbPassword", "passwd", "pwd",
                 "MYSQL_ROOT_PASSWORD", "adminPassword", "smtp_pass", "DB_PASS"],
    "secret": ["api_key", "API_KEY", "apiKey", "secret_key", "SECRET_KEY", "client_secret",
               "clientSecret", "auth_token", "AUTH_TOKEN", "access_token", "token", "secret",
               "app_secret", "SIGNING_KEY", "encryption_key", "webhook_secret",
               "TWILIO_AUTH_TOKEN", "privateKey", "credentials"],
}  # fmt: skip
EXTENSIONS = {
    "py": ["settings.py", "config.py", "client.py", "tasks.py"],
    "js": ["config.js", "index.ts", "client.mjs", "api.jsx"],
    "java": ["AppConfig.java", "Client.kt"],
    "go": ["config.go", "main.go"],
    "rb": ["config.rb"],
    "php": ["config.php", "settings.php"],
    "yaml": ["config.yaml", "values.yml", "docker-compose.yml", "application.yml"],
    "env": [".env", ".env.production", "prod.env"],
    "json": ["config.json", "appsettings.json", "secrets.json"],
    "xml": ["web.config", "settings.xml", "app.config.xml"],
    "properties": ["application.properties", "gradle.properties"],
    "sh": ["deploy.sh", "setup.bash"],
    "ini": ["settings.ini", "app.cfg", "setup.cfg"],
    "toml": ["config.toml", "secrets.toml"],
    "tf": ["main.tf"],
    "dockerfile": ["Dockerfile"],
}  # fmt: skip
COMMENT = {"py": "#", "js": "//", "java": "//", "go": "//", "rb": "#", "php": "//", "yaml": "#",
           "env": "#", "json": None, "xml": None, "properties": "#", "sh": "#", "ini": ";",
           "toml": "#", "tf": "#", "dockerfile": "#"}  # fmt: skip


def _assignment(rng: random.Random, kind: str, name: str, value: str) -> str:
    templates = ASSIGNMENTS[kind]
    if kind == "sh" and not name.islower():
        templates = templates[:2]  # --OPTION is not how options are spelled
    return rng.choice(templates).format(name=name, value=value)


def _provider_line(v: Values, kind: str) -> tuple[str, str]:
    """A provider-format secret and the line that holds it."""
    rng = v.rng
    maker, names = rng.choice(PROVIDER_MAKERS)
    value = maker(v)
    return value, _assignment(rng, kind, rng.choice(names), value)


PROVIDER_MAKERS: list[tuple[Callable[[Values], str], list[str]]] = [
    (Values.aws_key_id, ["aws_access_key_id", "AWS_ACCESS_KEY_ID", "accessKeyId"]),
    (Values.aws_secret, ["aws_secret_access_key", "AWS_SECRET_ACCESS_KEY", "secretAccessKey"]),
    (Values.github, ["GITHUB_TOKEN", "gh_token", "token"]),
    (Values.gitlab, ["GITLAB_TOKEN", "private_token"]),
    (Values.slack_token, ["SLACK_BOT_TOKEN", "slack_token"]),
    (Values.slack_webhook, ["SLACK_WEBHOOK_URL", "webhook_url", "notify"]),
    (Values.stripe, ["STRIPE_SECRET_KEY", "stripe_key", "stripe"]),
    (Values.google, ["GOOGLE_API_KEY", "maps_api_key", "firebaseKey"]),
    (Values.npm, ["NPM_TOKEN", "npm_token"]),
    (Values.twilio, ["TWILIO_API_KEY", "twilio_key_sid"]),
    (Values.sendgrid, ["SENDGRID_API_KEY", "sendgrid"]),
    (Values.jwt, ["SERVICE_JWT", "id_token", "jwt"]),
]


def _keyword_secret(v: Values, kind: str) -> tuple[str, str]:
    rng = v.rng
    if rng.random() < 0.5:
        name, value = rng.choice(SECRET_NAMES["password"]), v.password()
    else:
        name = rng.choice(SECRET_NAMES["secret"])
        value = rng.choice([v.hex_token, v.b64_secret, lambda: v.chars(rng.randint(20, 40))])()
    if kind in ("yaml", "env", "properties", "ini", "sh", "dockerfile") and any(
        c in value for c in "#'\"=:&*!%"
    ):
        value = v.chars(len(value))  # keep unquoted values parseable
    return value, _assignment(rng, kind, name, value)


def _url_line(v: Values, kind: str) -> tuple[str, str]:
    rng = v.rng
    scheme = rng.choice(["postgres", "postgresql", "mysql", "mongodb+srv", "redis", "amqp",
                         "https", "ftp", "smtp"])  # fmt: skip
    user = rng.choice(["app", "svc_" + v.word(), "deploy", "admin_rw", ""])
    if scheme != "redis" and not user:
        user = "app"
    password = v.url_password()
    host = rng.choice(
        ["db.prod.internal", "10.0.3.17", "cluster0.mongodb.net", "mq", "ftp.example.org"]
    )
    url = f"{scheme}://{user}:{password}@{host}/{v.word()}"
    return password, _assignment(rng, kind, rng.choice(["DATABASE_URL", "broker_url", "dsn"]), url)


def _bearer_line(v: Values, kind: str) -> tuple[str, str]:
    token = v.bearer()
    line = v.rng.choice([
        f'headers = {{"Authorization": "Bearer {token}"}}',
        f"curl -H 'Authorization: Bearer {token}' https://api.service.io/v1/items",
        f'        request.setHeader("Authorization", "Bearer {token}");',
    ])  # fmt: skip
    return token, line


def _azure_line(v: Values, kind: str) -> tuple[str, str]:
    key = v.azure_key()
    conn = (f"DefaultEndpointsProtocol=https;AccountName=st{v.word()}prod;AccountKey={key};"
            "EndpointSuffix=core.windows.net")  # fmt: skip
    return key, _assignment(v.rng, kind, "AZURE_STORAGE_CONNECTION_STRING", conn)


# --- decoys -----------------------------------------------------------------------------


def _placeholder_lines(v: Values, kind: str) -> list[str]:
    rng = v.rng
    name = rng.choice(SECRET_NAMES["password"] + SECRET_NAMES["secret"])
    value = rng.choice([
        "changeme", "<your-token>", "${DB_PASSWORD}", "{{ db_password }}", "%(password)s",
        "xxxxxxxxxxxxxxxxxxxx", "********", "password", "example", "dummy", "test",
        "your_api_key_here", "REPLACE_ME", "<secret>", "TODO", "null", "secret123",
        "P@ssw0rd", "s3cr3t", "sk_test_xxxxxxxxxxxxxxxxxxxxxxxx", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AKIAXXXXXXXXXXXXXXXX", "my-super-secret-key", "insert-token-here", "fake-token-for-tests",
        "${{ secrets.DEPLOY_TOKEN }}", "$(cat /run/secrets/db)", "ENC[AES256_GCM,data:abc,iv:def]",
        "!vault |", "{{ .Values.db.password }}", "@db.password@", "%DB_PASSWORD%",
    ])  # fmt: skip
    if kind in ("env", "properties", "ini", "sh", "dockerfile", "yaml") and " " in value:
        value = "changeme"
    return [_assignment(rng, kind, name, value)]


ENV_LOOKUPS = {
    "py": ['{name} = os.environ["{env}"]', "{name} = os.getenv('{env}')",
           '{name} = os.environ.get("{env}", "")', "{name} = settings.{env}",
           "{name} = get_secret('{env}')", "{name} = self.{name}"],
    "js": ["const {name} = process.env.{env};", "  {name}: process.env.{env} || '',",
           "const {name} = await vault.read('{env}');", "  {name}: config.get('{env}'),"],
    "java": ['    String {name} = System.getenv("{env}");',
             '    @Value("${{{env}}}") private String {name};',
             "    String {name} = config.get{env}();"],
    "go": ['\t{name} := os.Getenv("{env}")', '\t{name}: cfg.{env},'],
    "rb": ["  config.{name} = ENV['{env}']", "  config.{name} = ENV.fetch('{env}')"],
    "php": ["    '{name}' => env('{env}'),", "    '{name}' => getenv('{env}'),"],
    "yaml": ["  {name}: ${{{env}}}", "  {name}: ${{{env}:-}}",
             "        - name: {env}\n          valueFrom:\n            secretKeyRef:\n              name: app-secrets\n              key: {name}"],
    "env": ["{name}=${{{env}}}", "{name}=$({env}_CMD)"],
    "json": ['  "{name}": "${{{env}}}",'],
    "xml": ["  <{name}>${{{env}}}</{name}>"],
    "properties": ["{name}=${{{env}}}", "{name}=${{vault.{env}}}"],
    "sh": ['export {name}="${{{env}}}"', '{name}="$({env}_cmd)"', "./run --{name} \"${env}\""],
    "ini": ["{name} = %({env})s"],
    "toml": ['{name} = "${{{env}}}"'],
    "tf": ["  {name} = var.{env}", "  {name} = data.aws_secretsmanager_secret_version.db.secret_string"],
    "dockerfile": ["ENV {name}=${{{env}}}", "ARG {name}"],
}  # fmt: skip


def _env_lines(v: Values, kind: str) -> list[str]:
    rng = v.rng
    name = rng.choice(SECRET_NAMES["password"] + SECRET_NAMES["secret"])
    env = rng.choice(["DB_PASSWORD", "API_KEY", "SECRET_KEY", "AUTH_TOKEN"])
    return rng.choice(ENV_LOOKUPS[kind]).format(name=name, env=env).split("\n")


def _hash_lines(v: Values, kind: str) -> list[str]:
    rng = v.rng
    return [rng.choice([
        f"sha256 = \"{v.sha(64)}\"",
        f"checksum: sha256:{v.sha(64)}",
        f"image: registry.example.org/app@sha256:{v.sha(64)}",
        f"commit: {v.sha()}",
        f"rev = \"{v.sha()}\"",
        f"# fixed in {v.sha()}",
        f"git checkout {v.sha()}",
        f"id = \"{v.uuid()}\"",
        f"tenant_id: {v.uuid()}",
        f"  \"requestId\": \"{v.uuid()}\",",
        f"token = \"{v.uuid()}\"",
        f"secret_id: {v.uuid()}",
        f"integrity=\"{v.integrity()}\"",
        f"md5sum: {v.sha(32)}",
        f"password_hash = \"pbkdf2_sha256$600000${v.chars(22)}${v.chars(43, B64)}=\"",
        f"password_sha256: {v.sha(64)}",
        f"etag: \"{v.sha(32)}\"",
        f"version = \"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}\"",
    ])]  # fmt: skip


def _code_lines(v: Values, kind: str) -> list[str]:
    rng = v.rng
    return [rng.choice([
        "password = get_password(user)",
        "token = request.headers.get('X-Auth-Token')",
        "api_key = settings.API_KEY",
        "secret = self._secret",
        "const token = await getAccessToken();",
        "String password = credentials.getPassword();",
        "password_hint = \"Your first pet's name\"",
        "TOKEN_TYPE = \"bearer\"",
        "token_url = \"https://oauth2.googleapis.com/token\"",
        "secret_name = \"prod-db-credentials\"",
        "PASSWORD_MIN_LENGTH = 12",
        "auth_method = \"oauth2\"",
        "if password == confirm_password:",
        "    raise ValueError(\"password too short\")",
        "  passwordField: document.getElementById('password'),",
        "<input type=\"password\" name=\"password\" autocomplete=\"current-password\">",
        "tokenizer = AutoTokenizer.from_pretrained(\"bert-base-uncased\")",
        "private_key_path = \"/etc/ssl/private/server.key\"",
        "secret_file: /run/secrets/db_password",
        "KEY_FUNCTION = \"django.core.cache.backends.base.default_key_func\"",
        "apiKeyHeader: \"X-Api-Key\",",
        "token = token.strip()",
        "headers = {\"Authorization\": f\"Bearer {token}\"}",
        "fetch(url, { headers: { Authorization: `Bearer ${token}` } })",
        "curl -H \"Authorization: Bearer $GITHUB_TOKEN\" https://api.github.com/user",
        "req.Header.Set(\"Authorization\", \"Bearer \"+token)",
        "if pem.startswith(\"-----BEGIN RSA PRIVATE KEY-----\"):",
        "PUBLISHABLE_KEY = \"pk_live_" + v.chars(24) + "\"",
        "const authorUrl = 'https://github.com/octocat';",
        "    monkey_patch(keyboard, passthrough=True)",
        "url = f\"postgres://{user}:{password}@{host}/{db}\"",
        "DATABASE_URL = \"postgres://${DB_USER}:${DB_PASSWORD}@db:5432/app\"",
        "REDIS_URL=redis://:${REDIS_PASSWORD}@redis:6379/0",
        "BROKER_URL = \"amqp://guest:guest@localhost:5672//\"",
        "mongodb://<username>:<password>@cluster0.example.mongodb.net/test",
        "postgresql://user:password@localhost/mydb",
        "https://user@git.example.org/repo.git",
        "SLACK_WEBHOOK = \"https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX\"",
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC" + v.chars(40, B64) + " deploy@ci",
    ])]  # fmt: skip


def _doc_example_lines(v: Values, kind: str) -> list[str]:
    rng = v.rng
    choice = rng.randrange(4)
    if choice == 0:  # the jwt.io sample token
        return [
            "# e.g. eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6"
            "IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
        ]
    if choice == 1:
        return [
            "-----BEGIN RSA PRIVATE KEY-----",
            "MIIEpAIBAAKCAQEA...",
            "-----END RSA PRIVATE KEY-----",
        ]
    if choice == 2:
        return [
            "-----BEGIN PUBLIC KEY-----",
            *[v.chars(64, B64) for _ in range(6)],
            "-----END PUBLIC KEY-----",
        ]
    return ["-----BEGIN CERTIFICATE-----", *[v.chars(64, B64) for _ in range(10)], "-----END CERTIFICATE-----"]  # fmt: skip


DECOYS = [_placeholder_lines, _env_lines, _hash_lines, _code_lines]


# --- internal references ----------------------------------------------------------------


def _internal_ref(v: Values) -> tuple[str, str]:
    """An internal reference and a line holding it."""
    rng = v.rng
    host = (
        rng.choice(["wiki", "jenkins", "git", "nexus", "grafana.ops"]) + ".corp.acme-internal.net"
    )
    user = rng.choice(["jane.doe", "ops-team", "b.smith", "release+bot"])
    ticket = f"ACMEJIRA-{rng.randint(1, 99999)}"
    options = [
        (host, f"url = \"https://{host}/display/{v.word()}\""),
        (host, f"# see {host}:8080 for the dashboards"),
        ("corp.acme-internal.net", "search_domain: corp.acme-internal.net"),
        ("db01.acme.local", "DB_HOST=db01.acme.local"),
        (f"{user}@acme-corp.com", f"# maintainer: {user}@acme-corp.com"),
        (f"{user}@corp.acme-internal.net", f"  \"author\": \"Jane <{user}@corp.acme-internal.net>\","),
        ("com.acme.internal.billing", "import com.acme.internal.billing.InvoiceService;"),
        ("com.acme.internal", "package com.acme.internal;"),
        ("com.acme.internal.platform", "    <groupId>com.acme.internal.platform</groupId>"),
        ("@acme-internal/design-system", "    \"@acme-internal/design-system\": \"^2.1.0\","),
        ("@acme-internal/auth", "import { login } from '@acme-internal/auth';"),
        ("acme_platform.db", "from acme_platform.db import session"),
        ("acme-platform", "acme-platform==3.2.1"),
        (ticket, f"# TODO({ticket}): remove after the migration"),
        (f"INC{rng.randint(10**6, 10**7 - 1)}", f"Fixes incident INC{rng.randint(10**6, 10**7 - 1)}"),
    ]  # fmt: skip
    return rng.choice(options)


def _public_ref_lines(v: Values) -> list[str]:
    return [v.rng.choice([
        "url = \"https://github.com/acme/widgets\"",
        "homepage: https://www.acme.com/products",
        "# contact support@acme.com",
        "mirror: https://acme-corp.com/downloads",
        "proxy = \"corp.acme-internal.net.cache.example.org\"",
        "host = \"notcorp.acme-internal.net.example\"",
        "DB_HOST=acme.localhost",
        "# mail jane@acme-corp.com.au",
        "import com.acme.internalx.Foo;",
        "import com.acme.public.api.Client;",
        "import org.com.acme.internal.Shadow;",
        "    \"@acme-internal-tools/lint\": \"^1.0.0\",",
        "from acme_platform_extras import helpers",
        "import requests  # https://docs.python-requests.org",
        "See ACMEJIRA- for the board",
        "INC123 is not an incident number",
        "contact = \"noreply@github.com\"",
        "<url>https://repo.maven.apache.org/maven2</url>",
    ])]  # fmt: skip


# --- filler -----------------------------------------------------------------------------

FILLER = {
    "py": ["import os", "import logging", "", "logger = logging.getLogger(__name__)", "",
           "def handle(event):", "    return {\"status\": \"ok\", \"items\": len(event)}",
           "class Settings:", "    debug = False", "    timeout = 30"],
    "js": ["import express from 'express';", "", "const app = express();",
           "app.get('/health', (req, res) => res.json({ ok: true }));", "module.exports = app;"],
    "java": ["package com.example.app;", "", "import java.util.List;",
             "public class AppConfig {", "    private int retries = 3;", "}"],
    "go": ["package main", "", "import \"fmt\"", "func main() {", "\tfmt.Println(\"ok\")", "}"],
    "rb": ["Rails.application.configure do", "  config.cache_classes = true", "end"],
    "php": ["<?php", "return [", "    'debug' => false,", "];"],
    "yaml": ["version: \"3.9\"", "services:", "  web:", "    image: nginx:1.25", "    ports:",
             "      - \"8080:80\"", "logging:", "  level: info"],
    "env": ["APP_ENV=production", "LOG_LEVEL=info", "PORT=8080"],
    "json": ["{", "  \"name\": \"service\",", "  \"version\": \"1.4.2\",", "  \"private\": true,"],
    "xml": ["<?xml version=\"1.0\" encoding=\"utf-8\"?>", "<configuration>", "  <appSettings>"],
    "properties": ["server.port=8080", "spring.application.name=orders", "logging.level.root=INFO"],
    "sh": ["#!/usr/bin/env bash", "set -euo pipefail", "cd \"$(dirname \"$0\")\""],
    "ini": ["[database]", "host = localhost", "port = 5432"],
    "toml": ["[server]", "host = \"0.0.0.0\"", "port = 8000"],
    "tf": ["resource \"aws_db_instance\" \"main\" {", "  engine = \"postgres\"", "}"],
    "dockerfile": ["FROM python:3.11-slim", "WORKDIR /app", "COPY . ."],
}  # fmt: skip


def _lock_file(v: Values) -> CorpusFile:
    rng = v.rng
    name = rng.choice(["package-lock.json", "yarn.lock", "poetry.lock", "go.sum", "Cargo.lock",
                       "composer.lock", "Pipfile.lock", "pnpm-lock.yaml"])  # fmt: skip
    file = CorpusFile(name)
    for i in range(rng.randint(20, 60)):
        package = f"pkg-{v.word()}-{i}"
        file.add(rng.choice([
            f"    \"node_modules/{package}\": {{ \"version\": \"1.{i}.0\", \"integrity\": \"{v.integrity()}\" }},",
            f"{package}@^1.{i}.0:\n  version \"1.{i}.3\"\n  resolved \"https://registry.yarnpkg.com/{package}/-/{package}-1.{i}.3.tgz#{v.sha()}\"\n  integrity {v.integrity()}",
            f"    {{file = \"{package}-1.{i}.0.tar.gz\", hash = \"sha256:{v.sha(64)}\"}},",
            f"github.com/acme/{package} v1.{i}.0 h1:{base64.b64encode(rng.randbytes(32)).decode()}",
            f"checksum = \"{v.sha(64)}\"",
            f"            \"shasum\": \"{v.sha()}\", \"reference\": \"{v.sha()}\",",
            f"    \"resolved\": \"https://registry.npmjs.org/{package}/-/{package}-1.{i}.0.tgz\",",
            f"  resolution: {{integrity: {v.integrity()}}}",
        ]))  # fmt: skip
    return file


def _source_file(v: Values, *, secrets: bool, refs: bool) -> CorpusFile:
    rng = v.rng
    kind = rng.choice(sorted(ASSIGNMENTS))
    file = CorpusFile(rng.choice(EXTENSIONS[kind]))
    file.add(*FILLER[kind][:4])
    for _ in range(rng.randint(6, 14)):
        roll = rng.random()
        if secrets and roll < 0.22:
            maker = rng.choice([_provider_line, _provider_line, _keyword_secret, _keyword_secret,
                                _url_line, _bearer_line, _azure_line])  # fmt: skip
            if maker is _bearer_line and kind not in ("py", "sh", "java"):
                maker = _keyword_secret
            value, line = maker(v, kind)
            file.plant("secret", value, line)
        elif secrets and roll < 0.26 and kind in ("py", "yaml", "json", "env", "sh"):
            value, key_lines = v.private_key()
            if kind == "json":
                escaped = "\\n".join(key_lines)
                file.plant("secret", value, f'  "private_key": "{escaped}\\n",')
            elif kind == "py":
                file.plant(
                    "secret", value, 'PRIVATE_KEY = """' + key_lines[0], *key_lines[1:], '"""'
                )
            elif kind == "yaml":
                file.plant("secret", value, "  tls.key: |", *("    " + k for k in key_lines), at=1)
            else:
                file.plant("secret", value, "cat > key.pem <<'EOF'", *key_lines, "EOF", at=1)
        elif refs and roll < 0.40:
            value, line = _internal_ref(v)
            file.plant("internal_ref", value, line)
        elif roll < 0.55:
            file.add(*rng.choice(DECOYS)(v, kind))
        elif roll < 0.60:
            file.add(*_doc_example_lines(v, kind))
        elif roll < 0.70:
            file.add(*_public_ref_lines(v))
        else:
            file.add(rng.choice(FILLER[kind]))
    return file


def generate(seed: int = 0, files: int = 60) -> list[CorpusFile]:
    """``files`` generated files (plus lock files), the same for the same seed."""
    rng = random.Random(seed)
    values = Values(rng)
    corpus = []
    for i in range(files):
        if i % 10 == 9:
            corpus.append(_lock_file(values))
        else:
            corpus.append(_source_file(values, secrets=rng.random() < 0.8, refs=rng.random() < 0.6))
    return corpus
