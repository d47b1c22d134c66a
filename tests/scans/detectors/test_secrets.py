"""SecretsDetector: each rule on realistic snippets in several syntaxes, the decoys it must
leave alone, redaction, line numbers, binary data and lock files.

Credential-shaped values are generated from a seeded random source, so that this file holds
nothing a secret scanner (ours or GitHub's) should flag; the only literal ones are published
documentation examples, used as decoys.
"""

# Tables of realistic lines read best unwrapped.
# ruff: noqa: E501

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import string
import zlib

import pytest

from scans.detectors.base import Kind, Policy, Severity
from scans.detectors.secrets import SecretsDetector
from tests.scans.detectors import corpus

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
_rng = random.Random(4242)


def rand(n: int, alphabet: str = ALNUM) -> str:
    """A random string that mixes letters and digits, as generated secrets do."""
    while True:
        value = "".join(_rng.choice(alphabet) for _ in range(n))
        mixed = any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
        if mixed or alphabet.isdigit():
            return value


BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def base62(number: int, width: int = 6) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = BASE62[rest] + digits
    return digits.rjust(width, "0")


def crc_token(prefix: str, body: str | None = None) -> str:
    """GitHub's and npm's format: 30 random base62 characters and their CRC32 in base62."""
    body = body or rand(30)
    return prefix + body + base62(zlib.crc32(body.encode()))


def scan(text: str, filename: str = "config.py") -> list:
    return SecretsDetector().scan(text.encode(), filename=filename, policy=Policy())


def jwt(claims: dict | None = None) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = claims or {"sub": "42", "iat": 1700000000, "scope": "admin"}
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{rand(43, ALNUM + '-_')}"


def pem(kind: str = "RSA PRIVATE KEY", lines: int = 12) -> tuple[str, str]:
    """A private-key block, and its body (what must never leak)."""
    body = [rand(64, B64) for _ in range(lines)] + [rand(24, B64) + "=="]
    return f"-----BEGIN {kind}-----\n" + "\n".join(body) + f"\n-----END {kind}-----", "".join(body)


GITHUB = crc_token("ghp_")
GITHUB_FINE = "github_pat_" + rand(22) + "_" + rand(59)
GITLAB = "glpat-" + rand(20, ALNUM + "-_")
AWS_ID = "AKIA" + rand(16, string.ascii_uppercase + "234567")
AWS_SECRET = rand(40, B64)
SLACK = f"xoxb-{rand(11, string.digits)}-{rand(12, string.digits)}-{rand(24)}"
SLACK_HOOK = f"https://hooks.slack.com/services/T{rand(8, string.ascii_uppercase + string.digits)}/B{rand(10, string.ascii_uppercase + string.digits)}/{rand(24)}"
STRIPE = "sk_live_" + rand(24)
STRIPE_TEST = "sk_test_" + rand(24)
GOOGLE = "AIza" + rand(35, ALNUM + "-_")
NPM = crc_token("npm_")
TWILIO = "SK" + rand(32, "0123456789abcdef")
SENDGRID = f"SG.{rand(22, ALNUM + '-_')}.{rand(43, ALNUM + '-_')}"
AZURE = rand(86, B64) + "=="
JWT = jwt()
PASSWORD = rand(16, ALNUM + "!#%^*-_")
TOKEN = rand(32, "0123456789abcdef")
BEARER = rand(40, ALNUM + "-_.")
URL_PASSWORD = rand(18, ALNUM + "-_~")
BASIC = base64.b64encode(f"deploy:{rand(16)}".encode()).decode()
KEY_BLOCK, KEY_BODY = pem()


# (rule, filename, text); the secret sits on the line marked «here» (which is removed).
POSITIVES = [
    ("github-token", "ci.py", f'GITHUB_TOKEN = "{GITHUB}"  # «here»'),
    ("github-token", ".env", f"GH_TOKEN={GITHUB_FINE}  # «here»"),
    ("github-token", "deploy.sh", f"git clone https://x-access-token:{GITHUB}@github.com/o/r  # «here»"),
    ("gitlab-token", ".gitlab-ci.yml", f"variables:\n  GITLAB_TOKEN: {GITLAB}  # «here»"),
    ("aws-access-key", "settings.py", f'AWS_ACCESS_KEY_ID = "{AWS_ID}"  # «here»'),
    ("aws-access-key", "credentials", f"[default]\naws_access_key_id = {AWS_ID}  # «here»"),
    ("aws-secret-key", "credentials", f"[default]\naws_secret_access_key = {AWS_SECRET}  # «here»"),
    ("aws-secret-key", "s3.js", f'const s3 = new S3({{ secretAccessKey: "{AWS_SECRET}" }});  // «here»'),
    ("slack-token", "bot.js", f"const token = '{SLACK}';  // «here»"),
    ("slack-webhook", "alerts.yaml", f"notify:\n  url: {SLACK_HOOK}  # «here»"),
    ("stripe-key", "billing.rb", f"Stripe.api_key = '{STRIPE}'  # «here»"),
    ("stripe-test-key", "billing.rb", f"Stripe.api_key = '{STRIPE_TEST}'  # «here»"),
    ("google-api-key", "index.html", f'<script src="https://maps.googleapis.com/maps/api/js?key={GOOGLE}"></script>  <!-- «here» -->'),
    ("npm-token", ".npmrc", f"//registry.npmjs.org/:_authToken={NPM}  # «here»"),
    ("twilio-key", "sms.py", f'client = Client("{TWILIO}", secret)  # «here»'),
    ("sendgrid-key", "mail.php", f"    'api_key' => '{SENDGRID}',  // «here»"),
    ("azure-key", "appsettings.json", f'  "Storage": "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={AZURE};EndpointSuffix=core.windows.net"  // «here»'),
    ("jwt", "test_api.py", f'headers = {{"Authorization": "Bearer {JWT}"}}  # «here»'),
    ("jwt", "fixtures.json", f'  "id_token": "{JWT}",  «here»'),
    ("private-key", "server.pem", KEY_BLOCK.replace("-----\n", "-----  «here»\n", 1)),
    ("gcp-service-account", "sa.json", '{\n  "type": "service_account",\n  "private_key": "' + KEY_BLOCK.replace("\n", "\\n") + '\\n",  «here»\n}'),
    ("private-key", "values.yaml", "tls:\n  key: |\n    " + KEY_BLOCK.replace("\n", "\n    ").replace("-----\n", "-----  «here»\n", 1)),
    ("private-key", "deploy.key", pem("OPENSSH PRIVATE KEY")[0].replace("-----\n", "-----  «here»\n", 1)),
    ("private-key", "signing.asc", pem("PGP PRIVATE KEY BLOCK")[0].replace("-----\n", "-----  «here»\nVersion: GnuPG v2\n\n", 1)),
    ("url-credentials", "settings.py", f'DATABASES_URL = "postgres://app:{URL_PASSWORD}@db.prod:5432/orders"  # «here»'),
    ("url-credentials", "docker-compose.yml", f"    environment:\n      - MONGO_URL=mongodb+srv://svc:{URL_PASSWORD}@cluster0.mongodb.net/app  # «here»"),
    ("url-credentials", "celery.py", f'broker_url = "amqp://worker:{URL_PASSWORD}@mq:5672//"  # «here»'),
    ("url-credentials", "cache.env", f"REDIS_URL=redis://:{URL_PASSWORD}@redis:6379/0  # «here»"),
    ("url-credentials", "App.java", f'    String url = "jdbc:mysql://root:{URL_PASSWORD}@10.0.0.5:3306/shop";  // «here»'),
    ("bearer-token", "client.sh", f"curl -H 'Authorization: Bearer {BEARER}' https://api.io  # «here»"),
    ("basic-auth", "hooks.py", f'headers = {{"Authorization": "Basic {BASIC}"}}  # «here»'),
    ("keyword-secret", "settings.py", f'DB_PASSWORD = "{PASSWORD}"  # «here»'),
    ("keyword-secret", "settings.py", f'DATABASES = {{"default": {{"PASSWORD": "{PASSWORD}"}}}}  # «here»'),
    ("keyword-secret", "config.py", f'client = Api(api_key="{TOKEN}")  # «here»'),
    ("keyword-secret", "types.py", f'class Config:\n    secret_key: str = "{TOKEN}"  # «here»'),
    ("keyword-secret", "config.ts", f"export const config = {{\n  clientSecret: '{TOKEN}',  // «here»\n}};"),
    ("keyword-secret", "Db.java", f'    private static final String DB_PASSWORD = "{PASSWORD}";  // «here»'),
    ("keyword-secret", "Db.java", f'        props.setProperty("password", "{PASSWORD}");  // «here»'),
    ("keyword-secret", "main.go", f'\tcfg := Config{{\n\t\tAPIKey: "{TOKEN}",  // «here»\n\t}}'),
    ("keyword-secret", "config.php", f"define('AUTH_KEY', '{TOKEN}');  // «here»"),
    ("keyword-secret", "application.yml", f"spring:\n  datasource:\n    password: {PASSWORD}  # «here»"),
    ("keyword-secret", ".env", f"APP_SECRET={TOKEN}  # «here»"),
    ("keyword-secret", ".env", f"export DB_PASS='{PASSWORD}'  # «here»"),
    ("keyword-secret", "app.properties", f"spring.datasource.password={PASSWORD}  # «here»"),
    ("keyword-secret", "settings.ini", f"[db]\npasswd = {PASSWORD}  ; «here»"),
    ("keyword-secret", "web.config", f'  <add key="ApiKey" value="{TOKEN}" />  <!-- «here» -->'),
    ("keyword-secret", "settings.xml", f"  <password>{PASSWORD}</password>  <!-- «here» -->"),
    ("keyword-secret", "run.sh", f"mytool sync --api-token {TOKEN}  # «here»"),
    ("keyword-secret", "config.toml", f'[auth]\ntoken = "{TOKEN}"  # «here»'),
    ("keyword-secret", "secret.yaml", f"data:\n  password: {base64.b64encode(rand(20).encode()).decode()}  # «here»"),
]  # fmt: skip


def _marked(text: str) -> tuple[str, int]:
    lines = text.split("\n")
    line = next(i for i, text in enumerate(lines, 1) if "«here»" in text)
    return text.replace("  # «here»", "").replace("  // «here»", "").replace(
        "  ; «here»", ""
    ).replace("  <!-- «here» -->", "").replace("  «here»", ""), line


@pytest.mark.parametrize(("rule", "filename", "text"), POSITIVES)
def test_secret_is_reported_on_its_line(rule, filename, text):
    text, line = _marked(text)
    findings = scan(text, filename)
    assert [(f.rule, f.line) for f in findings] == [(rule, line)]
    assert findings[0].kind == Kind.SECRET


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        # placeholders
        ("settings.py", 'DB_PASSWORD = "changeme"'),
        ("settings.py", 'API_KEY = "your_api_key_here"'),
        ("settings.py", 'SECRET_KEY = "<your-secret-key>"'),
        ("config.yaml", "password: ${DB_PASSWORD}"),
        ("config.yaml", 'password: "{{ vault_db_password }}"'),
        ("config.ini", "password = %(db_password)s"),
        ("config.yaml", "api_token: xxxxxxxxxxxxxxxxxxxxxxxx"),
        ("config.yaml", "password: '********'"),
        ("settings.py", 'password = "password"'),
        ("settings.py", 'token = "example-token"'),
        ("settings.py", 'token = "dummy"'),
        ("settings.py", 'password = "test"'),
        ("settings.py", 'password = "P@ssw0rd!"'),
        ("settings.py", 'SECRET = "my-super-secret-value"'),
        ("settings.py", 'GITHUB_TOKEN = "ghp_' + "x" * 36 + '"'),
        ("settings.py", 'STRIPE_KEY = "sk_live_' + "X" * 24 + '"'),
        ("README.md", "export SLACK_TOKEN=xoxb-your-bot-token-here"),
        ("alerts.yaml", "url: https://hooks.slack.com/services/T00000000/B00000000/" + "X" * 24),
        ("k8s.yaml", "  password: cGFzc3dvcmQ="),  # base64 of "password"
        # documentation example keys
        ("credentials", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"),
        ("credentials", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("s3.py", 'key_id = "AKIA' + "EXAMPLE" + "ABCDEFGHI" + '"'),
        ("docs.py", "# eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6Ikpv"
                    "aG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
        ("oauth.py", "    Authorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
        # environment look-ups and references
        ("settings.py", 'DB_PASSWORD = os.environ["DB_PASSWORD"]'),
        ("settings.py", "api_key = os.getenv('API_KEY')"),
        ("settings.py", 'token = os.environ.get("TOKEN", "")'),
        ("index.js", "const token = process.env.GITHUB_TOKEN;"),
        ("App.java", 'String password = System.getenv("DB_PASSWORD");'),
        ("App.java", '@Value("${db.password}") private String password;'),
        ("config.rb", "config.secret_key = ENV['SECRET_KEY']"),
        ("deploy.sh", 'export DB_PASSWORD="$DB_PASSWORD"'),
        ("deploy.sh", "mysql --password $MYSQL_PASSWORD"),
        (".env", "SECRET_KEY=${SECRET_KEY}"),
        ("docker-compose.yml", "      - POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-}"),
        ("application.properties", "spring.datasource.password=${DB_PASSWORD}"),
        ("workflow.yml", "        token: ${{ secrets.GITHUB_TOKEN }}"),
        # code, not values
        ("views.py", "password = form.cleaned_data['password']"),
        ("views.py", "token = get_token(request)"),
        ("views.py", "secret = settings.SECRET_KEY"),
        ("views.py", 'if user.check_password("irrelevant-but-long-1"):'),
        ("crypto.py", 'def sign(private_key: "RSAPrivateKey", data: bytes) -> bytes:'),
        ("app.js", "const token = await getAccessToken();"),
        ("App.java", "String password = credentials.getPassword();"),
        ("views.py", 'headers = {"Authorization": f"Bearer {token}"}'),
        ("api.js", "fetch(url, { headers: { Authorization: `Bearer ${token}` } })"),
        ("api.go", 'req.Header.Set("Authorization", "Bearer "+token)'),
        ("parse.py", 'if pem.startswith("-----BEGIN RSA PRIVATE KEY-----"):'),
        ("README.md", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----"),
        ("README.md", "-----BEGIN PRIVATE KEY-----\n<paste your key here>\n-----END PRIVATE KEY-----"),
        ("README.md", f"curl -H 'Authorization: Bearer {BEARER}' https://api.io"),  # docs
        # names about secrets, not secrets
        ("settings.py", 'TOKEN_TYPE = "bearer"'),
        ("settings.py", 'token_url = "https://oauth2.googleapis.com/token"'),
        ("settings.py", 'secret_name = "prod-db-credentials"'),
        ("settings.py", 'password_hint = "Your first pet"'),
        ("settings.py", 'private_key_path = "/etc/ssl/private/server.key"'),
        ("settings.py", 'KEY_FUNCTION = "django.core.cache.backends.base.default_key_func"'),
        ("settings.py", 'PUBLISHABLE_KEY = "pk_live_' + rand(24) + '"'),
        ("nlp.py", 'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")'),
        ("style.css", ".codicon-pass:before{content:\"\\eb95\"}"),
        ("shell.sh", "echo $PWD"),
        # checksums, hashes, UUIDs, git SHAs
        ("Dockerfile", f"FROM python@sha256:{rand(64, '0123456789abcdef')}"),
        ("index.html", f'<script src="x.js" integrity="sha384-{rand(64, B64)}"></script>'),
        ("release.yml", f"sha256: {rand(64, '0123456789abcdef')}"),
        ("CHANGES.md", f"commit: {rand(40, '0123456789abcdef')}"),
        ("deps.toml", f'rev = "{rand(40, "0123456789abcdef")}"'),
        ("settings.py", 'token = "3f1c2a9e-8b7d-4c6a-9e5f-1a2b3c4d5e6f"'),
        ("settings.py", "secret_id: 3f1c2a9e-8b7d-4c6a-9e5f-1a2b3c4d5e6f"),
        ("fixtures.py", f'password_hash = "pbkdf2_sha256$600000${rand(22)}${rand(43, B64)}="'),
        ("settings.py", f'password_sha256 = "{rand(64, "0123456789abcdef")}"'),
        # connection strings without a literal password
        ("settings.py", 'DATABASE_URL = "postgres://app:${DB_PASSWORD}@db:5432/app"'),
        ("settings.py", 'url = f"postgres://{user}:{password}@{host}/{db}"'),
        ("settings.py", 'BROKER_URL = "amqp://guest:guest@localhost:5672//"'),
        ("README.md", "mongodb://<username>:<password>@cluster0.example.mongodb.net/test"),
        ("README.md", "postgresql://user:password@localhost/mydb"),
        ("README.md", "sqla+postgresql://scott:tiger@localhost/mydatabase"),
        ("settings.py", 'url = "https://user@git.example.org/repo.git"'),
        ("copyright", "cvs://:pserver:anoncvs@sources.example.org:/cvs/src"),
    ],
)  # fmt: skip
def test_decoy_is_not_reported(filename, text):
    assert scan(text, filename) == []


@pytest.mark.parametrize(
    "filename", ["package-lock.json", "yarn.lock", "poetry.lock", "go.sum", "Cargo.lock",
                 "composer.lock", "Pipfile.lock", "pnpm-lock.yaml"]
)  # fmt: skip
def test_lock_file_hashes_are_not_secrets(filename):
    rng = random.Random(filename)
    lines = []
    for i in range(200):
        digest = base64.b64encode(rng.randbytes(64)).decode()
        hex_digest = rng.randbytes(32).hex()
        lines += [
            f'    "node_modules/pkg{i}": {{"integrity": "sha512-{digest}"}},',
            f'  resolved "https://registry.yarnpkg.com/pkg{i}/-/pkg{i}-1.0.0.tgz#{hex_digest[:40]}"',
            f'    {{file = "pkg{i}-1.0.tar.gz", hash = "sha256:{hex_digest}"}},',
            f"example.com/pkg{i} v1.0.0 h1:{base64.b64encode(rng.randbytes(32)).decode()}",
            f'checksum = "{hex_digest}"',
            f'            "shasum": "{hex_digest[:40]}", "reference": "{hex_digest[:40]}",',
            f'    "token": "{base64.b64encode(rng.randbytes(30)).decode()}",',
        ]
    assert scan("\n".join(lines), filename) == []


def test_lock_file_still_reports_a_credential_in_a_registry_url():
    text = f'  resolved "https://deploy:{URL_PASSWORD}@npm.pkg.example.org/pkg/-/pkg-1.0.0.tgz"\n'
    findings = scan(text, "yarn.lock")
    assert [(f.rule, f.line) for f in findings] == [("url-credentials", 1)]


def test_provider_format_wins_over_the_keyword_that_names_it():
    findings = scan(f'SLACK_BOT_TOKEN = "{SLACK}"\nstripe_secret = "{STRIPE}"\n')
    assert [f.rule for f in findings] == ["slack-token", "stripe-key"]


def test_stripe_test_key_is_a_warning_and_live_key_blocks():
    findings = scan(f'LIVE = "{STRIPE}"\nTEST = "{STRIPE_TEST}"\n')
    assert [(f.rule, f.severity) for f in findings] == [
        ("stripe-key", Severity.BLOCKING),
        ("stripe-test-key", Severity.WARNING),
    ]


PLANTED = [GITHUB, GITHUB_FINE, GITLAB, AWS_ID, AWS_SECRET, SLACK, SLACK_HOOK, STRIPE, GOOGLE,
           NPM, TWILIO, SENDGRID, AZURE, JWT, PASSWORD, TOKEN, BEARER, URL_PASSWORD, BASIC]  # fmt: skip


def test_no_finding_holds_a_secret_value():
    text = "\n".join(_marked(text)[0] for _, _, text in POSITIVES)
    text += "\n" + f'ONE_LINE = "{GITHUB}", "{STRIPE}", "{NPM}"'  # several on one line
    findings = scan(text, "mixed.py") + scan(text, ".env") + scan(text, "README.md")
    assert len(findings) > len(POSITIVES)
    for finding in findings:
        shown = repr(finding)
        for value in PLANTED:
            assert value not in shown
            assert value[4:] not in shown
        assert KEY_BODY[:40] not in shown
        assert all(chunk not in shown for chunk in KEY_BODY.split("\n"))


def test_identity_is_the_sha256_of_the_value_and_the_excerpt_keeps_only_the_vendor_prefix():
    findings = scan(f'\n\ntoken = "{GITHUB}"\n')
    (finding,) = findings
    assert finding.identity == hashlib.sha256(GITHUB.encode()).hexdigest()
    assert finding.excerpt == 'token = "ghp_…(40 chars)"'
    assert "GitHub" in finding.message


def test_the_same_secret_moved_keeps_its_identity():
    before = scan(f'a = 1\napi_key = "{TOKEN}"\n')
    after = scan(f'api_key = "{TOKEN}"\n\n\n# moved\n')
    assert [f.identity for f in before] == [f.identity for f in after]
    assert [f.line for f in before] == [2] and [f.line for f in after] == [1]


def test_line_numbers_are_one_based_and_count_every_newline():
    text = "\r\n".join(
        ["# settings", "", f'GITHUB_TOKEN = "{GITHUB}"', "x = 1", *["pass"] * 200, KEY_BLOCK,
         f'npm = "{NPM}"']
    )  # fmt: skip
    findings = scan(text, "settings.py")
    assert [(f.rule, f.line) for f in findings] == [
        ("github-token", 3),
        ("private-key", 205),
        ("npm-token", 205 + KEY_BLOCK.count("\n") + 1),
    ]


def test_binary_data_is_ignored():
    data = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + f'token = "{GITHUB}"'.encode()
    assert SecretsDetector().scan(data, filename="logo.png", policy=Policy()) == []


def test_invalid_utf8_is_scanned_not_rejected():
    data = b"caf\xe9 = 1\n" + f'GITHUB_TOKEN = "{GITHUB}"\n'.encode()
    findings = SecretsDetector().scan(data, filename="legacy.py", policy=Policy())
    assert [(f.rule, f.line) for f in findings] == [("github-token", 2)]


def test_detector_declares_its_kind_and_version():
    detector = SecretsDetector()
    assert detector.kind == Kind.SECRET
    assert detector.version.startswith("secrets-")


_CHECKSUMMED = re.compile(r"\b(gh[pousr]_|npm_)[A-Za-z0-9]{36}\b")


def _with_checksums(file: corpus.CorpusFile) -> corpus.CorpusFile:
    """The corpus draws GitHub and npm tokens as 36 random characters; real ones end in a
    CRC32 checksum, which the detector now checks: give the planted ones theirs."""

    def fix(match: re.Match) -> str:
        return crc_token(match.group(1), match.group()[len(match.group(1)) :][:30])

    file.lines = [_CHECKSUMMED.sub(fix, line) for line in file.lines]
    for planted in file.planted:
        planted.value = _CHECKSUMMED.sub(fix, planted.value)
    return file


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_corpus_is_found_entirely_and_nothing_else(seed):
    """Recall 1.0 and no false positive on generated files with planted secrets and decoys.
    An id and its secret (an AWS key id and secret key, a Twilio SID and token) are one
    finding on the secret's line that names the id's line in data["pair_line"]."""
    detector = SecretsDetector()
    for file in map(_with_checksums, corpus.generate(seed)):
        findings = detector.scan(file.text.encode(), filename=file.filename, policy=Policy())
        planted = {p.line for p in file.planted if p.kind == "secret"}
        found = {f.line for f in findings} | {
            f.data["pair_line"] for f in findings if "pair_line" in f.data
        }
        found |= {line for f in findings for line in f.data.get("lines", ())}
        assert found == planted, file.filename
        values = [p.value for p in file.planted if p.kind == "secret"]
        assert not any(value in repr(f) for f in findings for value in values)


@pytest.mark.parametrize(
    ("filename", "text", "line"),
    [
        ("Dockerfile", f'FROM python:3.12-slim\nENV APP_SECRET "{TOKEN}"\n', 2),
        ("Dockerfile", f"ENV DB_PASSWORD {PASSWORD}\n", 1),
        ("api.dockerfile", f"ENV CLIENT_SECRET={TOKEN}\n", 1),
        (".netrc", f"machine api.example.com login deploy password {PASSWORD}\n", 1),
        ("variables.tf", f'variable "db_password" {{\n  type      = string\n'
                         f'  sensitive = true\n  default   = "{PASSWORD}"\n}}\n', 4),
        ("db.js", f'const conninfo = "host=db port=5432 user=app password={PASSWORD} '
                  'dbname=ledger";\n', 1),
        ("db.py", f"DSN = 'host=db user=app password={PASSWORD} sslmode=require'\n", 1),
    ],
)  # fmt: skip
def test_format_specific_assignments_are_found(filename, text, line):
    findings = scan(text, filename)
    assert [f.line for f in findings] == [line]
    assert PASSWORD not in repr(findings) and TOKEN not in repr(findings)


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        ("Dockerfile", "ENV APP_SECRET $APP_SECRET\nENV PATH /usr/local/bin:$PATH\n"),
        ("Dockerfile", 'ENV DB_PASSWORD ""\nENV API_TOKEN changeme\n'),
        (".netrc", "machine api.example.com login deploy password ${NETRC_PASSWORD}\n"),
        ("notes.txt", f"ENV DB_PASSWORD {PASSWORD}\n"),  # not a Dockerfile
        ("variables.tf", 'variable "db_password" {\n  type = string\n  sensitive = true\n}\n'),
        ("variables.tf", 'variable "region" {\n  default = "eu-west-1"\n}\n'),
        ("db.py", 'DSN = f"host=db user=app password={password}"\nQ = "password=%s" % pw\n'),
        ("db.py", "check(password=user_password, salt=salt)\n"),
        ("db.js", "const url = `password=${process.env.DB_PASSWORD}`;\n"),
    ],
)
def test_format_specific_look_alikes_are_not_secrets(filename, text):
    assert scan(text, filename) == []
