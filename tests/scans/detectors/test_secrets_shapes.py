"""SecretsDetector, the shapes real code gives credentials: key blocks after other text or
inside string literals, one-line credential files, connection URLs in assignments, keyword
values passed as arguments or map values, configuration lines held in escaped strings, each
documented shape of a vendor's tokens; and the look-alikes real projects hold (placeholder
words in URLs, file names, identifiers, event names, stored password hashes).

Every credential-shaped value is generated here from a seeded random source with the
format's alphabet, length and structure: nothing in this file is a real credential.
"""

# Tables of realistic lines read best unwrapped.
# ruff: noqa: E501

from __future__ import annotations

import json
import string
import urllib.parse

import pytest

from scans.detectors.base import Policy
from scans.detectors.secrets import SecretsDetector
from tests.scans.detectors.values import ALNUM, B64, B64URL, HEX, Values, b64url

UPPER_DIGITS = string.ascii_uppercase + string.digits
_values = Values(31337)
_rng = _values.random
rand, letters, digits, a_uuid = _values.rand, _values.letters, _values.digits, _values.uuid


def scan(text: str, filename: str) -> list:
    return SecretsDetector().scan(text.encode(), filename=filename, policy=Policy())


def key_body(lines: int = 10) -> list[str]:
    """A PEM body: 64-character base64 lines (a DER key starts with MII), a short last line."""
    body = ["MII" + rand(61, B64)] + [rand(64, B64) for _ in range(lines - 1)]
    return [*body, rand(22, B64) + "=="]


def block(kind: str = "PRIVATE KEY", body: list[str] | None = None, newline: str = "\n") -> str:
    lines = body or key_body()
    return newline.join([f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----"])


def prefixed(prefix: str, kind: str = "RSA PRIVATE KEY") -> str:
    """Every line of a key block behind the same prefix (a diff's, a log's, a comment's)."""
    return "\n".join(prefix + line for line in block(kind).split("\n"))


def logged(kind: str = "EC PRIVATE KEY") -> str:
    """A key block in a log, each line behind its own timestamp."""
    lines = block(kind).split("\n")
    return "\n".join(
        f"2026-03-0{1 + i % 9}T10:{i:02d}:{_rng.randint(10, 59)}.{digits(3)}Z api[{digits(4)}]: {line}"
        for i, line in enumerate(lines)
    )


def service_account(order: list[str] | None = None, key: str | None = None) -> dict:
    fields = {
        "type": "service_account",
        "project_id": "ledger-prod-" + digits(6),
        "private_key_id": rand(40, HEX),
        "private_key": (key or block()) + "\n",
        "client_email": f"deployer@ledger-prod-{digits(6)}.iam.gserviceaccount.com",
        "client_id": digits(21),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return {name: fields[name] for name in (order or list(fields))}


def authorized_user() -> dict:
    return {
        "client_id": digits(12)
        + "-"
        + rand(32, string.ascii_lowercase + string.digits)
        + ".apps.googleusercontent.com",
        "client_secret": "GOCSPX-" + rand(28, B64URL),
        "refresh_token": "1//0" + rand(99, B64URL),
        "type": "authorized_user",
    }


def jwt_with(header: bytes, claims: dict | None = None) -> str:
    claims = claims or {
        "sub": "usr_" + digits(8),
        "exp": 1893456000,
        "iat": 1767225600,
        "scope": "orders:write",
    }
    return f"{b64url(header)}.{b64url(json.dumps(claims).encode())}.{rand(43, B64URL)}"


def slack(kind: str) -> str:
    shapes = {
        "bot": lambda: f"xoxb-{digits(12)}-{digits(13)}-{rand(24)}",
        "legacy-bot": lambda: f"xoxb-{digits(12)}-{rand(24)}",
        "user": lambda: f"xoxp-{digits(12)}-{digits(12)}-{digits(13)}-{rand(32, HEX)}",
        "app": lambda: f"xapp-1-A{rand(10, UPPER_DIGITS)}-{digits(13)}-{rand(64, HEX)}",
        "config-access": lambda: f"xoxe.xoxp-1-{rand(164)}",
        "config-bot": lambda: f"xoxe.xoxb-1-{rand(164)}",
        "config-refresh": lambda: f"xoxe-1-{rand(146)}",
        "workspace": lambda: f"xoxa-2-{digits(9)}-{digits(11)}-{digits(13)}-{rand(18, HEX)}",
        "workspace-short": lambda: f"xoxa-{rand(12)}",
        "refresh": lambda: f"xoxr-{digits(1)}-{rand(24)}",
        "legacy": lambda: f"xoxs-{digits(12)}-{digits(9)}-{digits(10)}-{rand(10, HEX)}",
        "legacy-o": lambda: f"xoxo-{digits(6)}-{digits(6)}-{digits(6)}-{rand(18, HEX)}",
        "client": lambda: f"xoxc-{digits(11)}-{digits(13)}-{digits(13)}-{rand(64, HEX)}",
        "cookie": lambda: "xoxd-" + urllib.parse.quote(rand(150, B64), safe=""),
    }
    return shapes[kind]()


def sendgrid(first: str = "", second: str = "") -> str:
    one = first + rand(22 - len(first), B64URL)
    two = second + rand(43 - len(second), B64URL)
    return f"SG.{one}.{two}"


JWT_SPACED = jwt_with(b'{ "typ": "JWT", "alg": "HS512" }')
JWT_X5T = jwt_with(b'{"alg":"ES256","x5t":"' + rand(8).encode() + b'"}')
JWT_KID = jwt_with(b'{"kid":"' + rand(10).encode() + b'","alg":"RS256"}')
AWS_ID = "AKIA" + rand(16, string.ascii_uppercase + "234567")
AWS_SECRET = rand(40, B64)
PASSWORD = rand(6, string.ascii_letters) + "!" + rand(5, string.digits) + "#" + rand(6, ALNUM)
URL_PASSWORD = rand(18, B64URL)
TOKEN = rand(40)

# (item, rule, filename, text): the value sits on the line marked « here» (removed).
SHAPES = [
    # 1. private-key blocks after other text on their line, or inside string literals
    ("key-block", "private-key", "leak.patch", "@@ -0,0 +1,30 @@\n+# test key\n" + prefixed("+").replace("\n", " « here»\n", 1)),
    ("key-block", "private-key", "server.log", "boot ok\n" + logged().replace("\n", " « here»\n", 1)),
    ("key-block", "private-key", "notes.txt", "see below:\n" + prefixed("    | ").replace("\n", " « here»\n", 1)),
    ("key-block", "private-key", "keys.rb", "# frozen\n" + prefixed("# ", "OPENSSH PRIVATE KEY").replace("\n", " « here»\n", 1)),
    ("key-block", "private-key", "values.yaml", "tls:\n  key: " + block().replace("\n", " « here»\n", 1).replace("\n", "\n    ")),
    ("key-block", "private-key", "inventory.yml", "hosts:\n  - name: bastion\n    ssh_key: '" + block("OPENSSH PRIVATE KEY").replace("\n", "\\n") + "'  « here»"),
    ("key-block", "private-key", "fixture.json", '{"id": 7, "pem": "' + block("EC PRIVATE KEY").replace("\n", "\\n") + '\\n"}  « here»'),
    ("key-block", "private-key", "keys_test.go", '\tpem := "' + block("RSA PRIVATE KEY").replace("\n", "\\n") + '"  « here»'),
    ("key-block", "private-key", "keys_test.go", "\tpem := `" + block("RSA PRIVATE KEY").replace("\n", " « here»\n", 1) + "`"),
    ("key-block", "private-key", "conftest.py", 'KEY = b"' + block().replace("\n", "\\n") + '"  « here»'),
    ("key-block", "private-key", "KeyTest.java", '  String pem = "' + block().replace("\n", '\\n" +  « here»\n    "', 1).replace("\n", '\\n" +\n    "') + '";'),
    ("key-block", "private-key", "deploy.sh", "echo 'prefix text " + block().replace("\n", " « here»\n", 1) + "' > /tmp/id"),
    ("key-block", "private-key", "app.env", 'SIGNING_KEY="' + block().replace("\n", "\\n") + '"  « here»'),
    ("key-block", "private-key", "dump.txt", "payload=" + block(newline="\\r\\n") + "  « here»"),
    # 2. service-account and authorized-user JSON on one line, in string literals, any order
    ("gcp", "gcp-service-account", "sa.json", json.dumps(service_account(), separators=(",", ":")) + "  « here»"),
    ("gcp", "gcp-service-account", "sa.json", json.dumps(service_account(["token_uri", "client_email", "private_key", "project_id", "type"]), separators=(",", ":")) + "  « here»"),
    ("gcp", "gcp-service-account", "creds_test.go", "\tcreds := " + json.dumps(json.dumps(service_account())) + "  « here»"),
    ("gcp", "gcp-service-account", "creds.py", "CREDS = '" + json.dumps(service_account()) + "'  « here»"),
    ("gcp", "gcp-service-account", "creds.ts", "const creds = " + json.dumps(json.dumps(service_account(["private_key", "client_email", "type"]))) + ";  « here»"),
    ("gcp", "gcp-service-account", ".env", "GOOGLE_CREDENTIALS=" + json.dumps(service_account(), separators=(",", ":")) + "  « here»"),
    ("gcp", "gcp-service-account", "fixture.json", json.dumps(service_account(key=block(body=["MII" + rand(29, B64)])), separators=(",", ":")) + "  « here»"),
    ("gcp", "gcp-authorized-user", "adc.json", json.dumps(authorized_user(), separators=(",", ":")) + "  « here»"),
    ("gcp", "gcp-authorized-user", "adc_test.go", "\tadc := " + json.dumps(json.dumps(authorized_user())) + "  « here»"),
    # 3. credentials in connection URLs inside assignments and quoted values
    ("url", "url-credentials", ".env", f"REDIS_URL=redis://cache:{URL_PASSWORD}@redis.internal:6379/0  « here»"),
    ("url", "url-credentials", ".env", f"AMQP_URL='amqps://billing:{URL_PASSWORD}@mq.internal/billing'  « here»"),
    ("url", "url-credentials", ".env", f'DATABASE_URL="postgres://orders:{URL_PASSWORD}@db.internal:5432/orders"  « here»'),
    ("url", "url-credentials", ".env", f'SERVICE_URL="https://svc-reports:{URL_PASSWORD}@reports.internal/api"  « here»'),
    ("url", "url-credentials", "proxy.sh", f"export HTTPS_PROXY=http://egress:{URL_PASSWORD}@proxy.internal:8080  « here»"),
    ("url", "url-credentials", "mirror.sh", f"git clone ssh://deploy:{URL_PASSWORD}@git.internal/ops/infra.git  « here»"),
    ("url", "url-credentials", "db_test.go", f"\tdsn := `postgres://app:{URL_PASSWORD}@localhost:5432/app?sslmode=disable`  « here»"),
    ("url", "url-credentials", "compose.yml", f"services:\n  api:\n    environment:\n      - CELERY_BROKER=amqp://worker:{URL_PASSWORD}@rabbit:5672//  « here»"),
    ("url", "url-credentials", "ldap.env", "LDAP_URL=ldaps://directory-reader:correct-horse-battery@ldap.internal:636  « here»"),
    ("url", "url-credentials", ".env", "SERVICE_URL=https://alice:s3cr3t@service.internal/v1  « here»"),
    ("url", "url-credentials", ".env", "PROXY_URL=http://api-user:p%40ssword@proxy.internal:8080/v1  « here»"),
    ("url", "url-credentials", "settings.py", f'CACHES = {{"default": {{"LOCATION": "redis://:{URL_PASSWORD}@cache:6379/1"}}}}  « here»'),
    # 4. keyword values as a call's next argument or a map's value
    ("argument", "keyword-secret", "main.go", f'\tos.Setenv("API_KEY", "{TOKEN}")  « here»'),
    ("argument", "keyword-secret", "Client.java", f'    headers.put("X-Api-Key", "{TOKEN}");  « here»'),
    ("argument", "keyword-secret", "conf.go", f'\tm := map[string]string{{"client_secret": "{TOKEN}"}}  « here»'),
    ("argument", "keyword-secret", "fixture.json", f'{{"user_auth": "{rand(44, B64)}="}}  « here»'),
    ("argument", "keyword-secret", "config_test.py", f'    config.set("api_token", "{TOKEN}")  « here»'),
    ("argument", "keyword-secret", "env.go", f'\ttoken := utils.GetEnvOrDefault("api_token", "{a_uuid()}")  « here»'),
    ("argument", "keyword-secret", "Startup.cs", f'var opts = new Dictionary<string, string> {{ {{ "client_secret", "{TOKEN}" }} }};  « here»'),
    ("argument", "keyword-secret", "seed.py", f'PAIRS = [("api_key", "{TOKEN}")]  « here»'),
    ("argument", "keyword-secret", "client.rb", f'req["X-Auth-Token"] = "{TOKEN}"  « here»'),
    ("argument", "keyword-secret", "settings.py", f'PAYMENTS = {{"email_password": "{PASSWORD}"}}  « here»'),
    ("argument", "keyword-secret", "app.js", f'const headers = {{ "X-API-KEY": "{a_uuid()}" }};  « here»'),
    # 5. configuration lines inside strings with escaped newlines
    ("escaped-lines", "keyword-secret", "rules.go", f'\t"login({{\\nusername = process.env.USERNAME\\npasswd = \\"{PASSWORD}\\"\\n}})",  « here»'),
    ("escaped-lines", "keyword-secret", "rules.go", f'\t"database.host = db.internal\\ndatabase_pw = \\"{PASSWORD}\\"",  « here»'),
    ("escaped-lines", "keyword-secret", "rules.go", f'\t"service.connect(\\n  service-pw: {rand(32)}\\n)",  « here»'),
    ("escaped-lines", "keyword-secret", "rules.go", f'\t"dsn: postgres://db.internal/app\\nclient.pw = \\"{PASSWORD}\\"",  « here»'),
    ("escaped-lines", "keyword-secret", "rules.go", f'\t"login({{\\n  \\"password\\": \\"{PASSWORD}\\"\\n}})",  « here»'),
    ("escaped-lines", "keyword-secret", "test_conf.py", f'    ini = "[db]\\nhost = x\\npassword = {PASSWORD}\\n"  « here»'),
    ("escaped-lines", "keyword-secret", "test_conf.py", f'    cfg = "service.connect(\\n  service-pw: {rand(32)}\\n)"  « here»'),
    ("escaped-lines", "keyword-secret", "ConfTest.java", f'    String props = "spring.datasource.url=jdbc:h2:mem\\nspring.datasource.password={PASSWORD}\\n";  « here»'),
    ("escaped-lines", "keyword-secret", "conf.test.js", f'  const yaml = "db:\\n  password: \\"{PASSWORD}\\"\\n";  « here»'),
    ("escaped-lines", "keyword-secret", "cases.json", f'{{"input": "host = x\\napi_key = {TOKEN}\\n"}}  « here»'),
    # 6. Slack: every documented shape, beside other tools' allow comments
    *[("slack", "slack-token", "tokens.json", f'  "{name}": "{slack(kind)}",{comment}  « here»')
      for name, kind, comment in [
          ("bot_token", "bot", " // betterleaks:allow"), ("bot_token2", "legacy-bot", " // gitleaks:allow"),
          ("user_token", "user", ""), ("token", "app", "  # nosec"), ("access", "config-access", ""),
          ("access_token4", "config-bot", ""), ("refresh", "config-refresh", " // betterleaks:allow"),
          ("access_token", "workspace", " // betterleaks:allow"), ("access_token2", "workspace-short", ""),
          ("refresh_token1", "refresh", ""), ("access_token1", "legacy", " // gitleaks:allow"),
          ("access_token7", "legacy-o", ""), ("client", "client", ""), ("d", "cookie", ""),
      ]],
    ("slack", "slack-token", "capture.txt", f'Content-Disposition: form-data; name="token"\\r\\n\\r\\n {slack("client")}\\r\\n  « here»'),
    ("slack", "slack-token", "tokens_test.go", f'\ttps := utils.GenerateSampleSecrets("access", "{slack("config-access")}")  « here»'),
    # 7. SendGrid keys whose parts start with `_` or `-`
    ("sendgrid", "sendgrid-key", "mail.patch", f'+sg_key = "{sendgrid("_", "-")}"  « here»'),
    ("sendgrid", "sendgrid-key", "mail.yml", f"token: {sendgrid('-', '_')}  « here»"),
    ("sendgrid", "sendgrid-key", "mail.py", f'SENDGRID = "{sendgrid("_", "_")}"  « here»'),
    ("sendgrid", "sendgrid-key", "mail_test.go", f"\tkey := `{sendgrid('-', '-')}`  « here»"),
    # 8. JWTs alone, after :=, Bearer, in a list; loosely formed headers
    ("jwt", "jwt", "token.txt", jwt_with(b'{"alg":"HS256","typ":"JWT"}') + "  « here»"),
    ("jwt", "jwt", "auth_test.go", "\tJWT := " + jwt_with(b'{"alg":\x89\x9e\x9e","typ":"JWT"}') + "  « here»"),
    ("jwt", "jwt", "auth_test.go", "\tJWT := " + jwt_with(b'{ "alg" : "RS256", "typ" : "JWT", "kid": "k-' + digits(4).encode() + b'" }') + "  « here»"),
    ("jwt", "jwt", "call.sh", f"curl -H 'Authorization: Bearer {JWT_SPACED}' https://api.internal  « here»"),
    ("jwt", "jwt", "tokens.py", f'TOKENS = ["{JWT_X5T}"]  « here»'),
    ("jwt", "jwt", "session.json", f'{{"id_token": "{JWT_KID}"}}  « here»'),
    # 9. Stripe's prefixes
    ("stripe", "stripe-key", "billing.py", f'STRIPE_KEY = "rk_live_{rand(99)}"  « here»'),
    ("stripe", "stripe-test-key", "billing.py", f'STRIPE_KEY = "rk_test_{rand(99)}"  « here»'),
    ("stripe", "stripe-key", "stripe_test.go", f'\t"rk_prod_{rand(99)}", // betterleaks:allow  « here»'),
    ("stripe", "stripe-key", "stripe_test.go", f'\t"sk_prod_{rand(99)}", // gitleaks:allow  « here»'),
    ("stripe", "stripe-key", "Billing.java", f'    Stripe.apiKey = "sk_live_{rand(99)}";  « here»'),
    ("stripe", "stripe-webhook-secret", "webhooks.rb", f"ENDPOINT_SECRET = 'whsec_{rand(32)}'  « here»"),
    # 10. AWS access key ids in declarations of every language
    ("aws", "aws-access-key", "aws_test.go", f'\taws_token2 := "{AWS_ID}"  « here»'),
    ("aws", "aws-access-key", "aws.js", f'let accessKey = "{AWS_ID}";  « here»'),
    ("aws", "aws-access-key", "Aws.kt", f'    val awsKey = "{AWS_ID}"  « here»'),
    ("aws", "aws-access-key", "aws.go", f'var awsID = "{AWS_ID}"  « here»'),
    ("aws", "aws-access-key", "aws.rs", f'    let key_id = "{AWS_ID}";  « here»'),
    ("aws", "aws-secret-key", "aws_test.go", f'\taws_token := "{AWS_ID}"\n\taws_secret := "{AWS_SECRET}"  « here»'),
    # 11. Hugging Face's legacy tokens, by name
    ("huggingface", "huggingface-token", "hub.py", f'HF_TOKEN = "api_{letters(34)}"  « here»'),
    ("huggingface", "huggingface-token", "values.yaml", f"huggingface_token: api_{letters(34)}  « here»"),
    ("huggingface", "huggingface-token", "hub.ts", f"const hfToken = 'api_{letters(34)}';  « here»"),
]  # fmt: skip


def _marked(text: str) -> tuple[str, int]:
    line = next(i for i, line in enumerate(text.split("\n"), 1) if "« here»" in line)
    return text.replace("  « here»", "").replace(" « here»", ""), line


@pytest.mark.parametrize(
    ("item", "rule", "filename", "text"), SHAPES, ids=[f"{s[0]}-{i}" for i, s in enumerate(SHAPES)]
)
def test_shape_is_found_on_its_line(item, rule, filename, text):
    text, line = _marked(text)
    findings = scan(text, filename)
    assert [(f.rule, f.line) for f in findings] == [(rule, line)], text[:300]


def test_no_finding_shows_the_values_it_found():
    for _, _, filename, text in SHAPES:
        text, _ = _marked(text)
        for finding in scan(text, filename):
            shown = finding.excerpt + finding.message
            for run in (piece for piece in text.replace("\\n", "\n").split() if len(piece) > 40):
                for i in range(0, len(run) - 24, 12):
                    chunk = run[i : i + 24]
                    if (
                        sum(c.isdigit() for c in chunk) >= 3
                        and sum(c.isupper() for c in chunk) >= 3
                    ):
                        assert chunk not in shown, (filename, chunk)


# (item, filename, text): what real projects and documentation hold that must stay silent.
LOOK_ALIKES = [
    # placeholder words and documented defaults in URL credentials
    ("url", "engines.rst", '    ...     "mysql+pymysql://some_user:some_pass@some_host/test?charset=utf8mb4"'),
    ("url", "engines.html", '<span class="s2">&quot;mysql+pymysql://some_user:some_pass@some_host/test&quot;</span>'),
    ("url", "db.py", 'engine = create_engine("postgresql://username:password@localhost/mydb")'),
    ("url", "db.py", 'engine = create_engine("postgresql://user:pass@localhost/mydb")'),
    ("url", "db.py", 'engine = create_engine("oracle+cx_oracle://scott:tiger@tnsname")'),
    ("url", ".env", "DATABASE_URL=postgres://app:changeme@db/app"),
    ("url", ".env", "DATABASE_URL=postgres://app:my_password@db/app"),
    ("url", ".env", "DATABASE_URL=postgres://app:your-password-here@db/app"),
    ("url", ".env", "DATABASE_URL=postgres://db_user:db_password1@db/app"),
    ("url", ".env", "REDIS_URL=redis://user:${REDIS_PASSWORD}@cache:6379"),
    ("url", ".env", "REDIS_URL=redis://user:<password>@cache:6379"),
    ("url", ".env", "REDIS_URL=redis://user:xxx@cache:6379"),
    ("url", ".env", "REDIS_URL=redis://user:xxxxxxxxxx@cache:6379"),
    ("url", ".env", "AMQP_URL=amqp://guest:guest@localhost:5672//"),
    ("url", ".env", "MONGO_URL=mongodb://root:example@mongo:27017"),
    ("url", ".env", "SSH_URL=ssh://foo:bar@example.com"),
    ("url", "values.yaml", "  url: postgres://postgres:postgres@localhost/test"),
    # file names and paths under secret names
    ("file-name", "endpoints.py", '    reactor, "ssl:443:privateKey=key.pem:certKey=crt.pem")'),
    ("file-name", "endpoints.py", '    "ssl:443:privateKey=C\\\\:/key.pem:certKey=C\\\\:/cert.pem")'),
    ("file-name", "tap.py", 'server = strports.service("ssl:8443:privateKey=server.pem", site)'),
    ("file-name", "ssl.py", 'ctx = DefaultOpenSSLContextFactory(privateKey="server.pem", certificate="server.crt")'),
    ("file-name", "app.yaml", "tls:\n  privateKey: ssl.pem\n  password_file: secrets/db.txt"),
    ("file-name", "settings.py", 'GOOGLE_CREDENTIALS = "service-account.json"'),
    ("file-name", "app.properties", "server.ssl.key-store-password-file=keystore.p12\nssl.key=client.key"),
    ("file-name", "mysql.html", "ssl_key=/home/user/client-key.pem&amp;ssl_cert=/home/user/client-cert.pem"),
    ("file-name", "Config.java", 'String clientSecret = "C:\\\\secrets\\\\client_secret.json";'),
    # identifiers, field names, paths and namespaced event names under secret-ish names
    ("identifier", "nmea.py", '        unitKey="heightOfGeoidAboveWGS84Units"'),
    ("identifier", "nmea.py", '        valueKey="speedInKnotsAboveThreshold2"'),
    ("identifier", "client.py", '    AUTH_FAILED_EVENT = "//event/client/basicauth/authfailed"'),
    ("identifier", "events.py", 'TOKEN_REFRESHED = "event:token:refreshed"'),
    ("identifier", "events.js", "const AUTH_TOPIC = '/topics/auth/login-failed';"),
    ("identifier", "settings.py", 'AUTH_USER_MODEL = "accounts.User"'),
    ("identifier", "forms.py", 'PASSWORD_FIELD = "password"'),
    ("identifier", "models.py", 'auth_user = "admin_operator"'),
    ("identifier", "hub.py", 'url = helper._prepare_url("hf_token", "nvidia/some-asr-model")'),
    ("identifier", "hub.py", '    "token-classification": "dbmdz/bert-large-cased-finetuned-conll03-english",'),
    ("identifier", "channel.py", 'auth_protocol = "MIT-MAGIC-COOKIE-1"'),
    ("identifier", "setup.yml", "- win_shell: |\n    $certPassword = ConvertTo-SecureString -String '{{ cert_pw }}' -Force -AsPlainText"),
    ("identifier", "runme.py", "status = run_command('passwd', '--status', 'root', capture=True)"),
    ("identifier", "cli.py", '    "`--secrets KEY=value` leaves the value in your shell history."'),
    # stored password hashes, unsigned JWTs
    ("hash", "users.yml", 'password: "$6$rounds=656000$' + rand(16) + "$" + rand(86, ALNUM + "./") + '"'),
    ("hash", "users.yml", "password: $6$" + rand(16) + "$" + rand(86, ALNUM + "./")),
    ("hash", "htpasswd.py", f'PASSWORD = "$2b$12${rand(53, ALNUM + "./")}"'),
    ("hash", "test_jwt.py", 'token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.e30."'),
    ("hash", "test_jwt.py", 'token = "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3Qta2V5In0.e30."'),
    # keyword-looking code and text in escaped strings and arguments
    ("argument", "log.py", 'log.info("password: %s\\n", pw)'),
    ("argument", "errors.py", 'raise ValueError("pw must be set\\n")'),
    ("argument", "login.js", 'const pw = document.getElementById("pw").value;'),
    ("argument", "forms.py", 'choices = [("password", "Password"), ("token", "Token")]'),
    ("argument", "forms.py", 'fields = {"password", "confirm_password"}'),
    ("argument", "main.go", '\tos.Setenv("API_KEY", os.Getenv("UPSTREAM_API_KEY"))'),
    ("argument", "main.go", '\tos.Setenv("API_KEY", "")'),
    ("argument", "settings.py", 'token = "3f1c2a9e-8b7d-4c6a-9e5f-1a2b3c4d5e6f"'),
    ("argument", "settings.py", 'request_id = "3f1c2a9e-8b7d-4c6a-9e5f-1a2b3c4d5e6f"'),
    ("argument", "settings.py", 'api_key = "00000000-0000-0000-0000-000000000000"'),
    ("argument", "git.py", "    #       Example: `credential.https://huggingface.co.helper=store`"),
    # made-up tokens of each shape
    ("slack", "README.md", "export SLACK_BOT_TOKEN=xoxb-your-bot-token-here"),
    ("slack", "tokens.json", '"bot_token": "xoxb-0000000000-xxxxxxxxxxxxxxxxxxxxxxxx"'),
    ("slack", "tokens.txt", "xoxe.xoxp-1-SlackAppConfigurationAccessTokenHere\nxoxe.xoxp-1-RANDOMSTRINGHERE\nxoxe-1-xxx"),
    ("slack", "links.md", "https://github.com/xoxa-nyc/xoxa-nyc.github.io/blob/master/README.md"),
    ("slack", "links.md", "https://indieweb.org/images/3/35/2018-250-xoxo-indieweb-1.jpg"),
    ("slack", "cookies.json", '"cookie": "xoxd-abcdef1234567890..."'),
    ("slack", "slack_test.go", '\tTestClientToken = "xoxc-888888888888-888888888888-8888888888888-' + "f" * 15 + rand(49, HEX) + '"'),
    ("stripe", "billing.py", 'STRIPE_PUBLISHABLE = "pk_live_' + rand(32) + '"'),
    ("stripe", "billing.py", 'k = "sk_prod_xxxxxxxxxxxxxxxxxxxxxxxx"'),
    ("stripe", "rules.go", 'nonMatchingToken := "task_test_' + rand(30) + '"'),
    ("huggingface", "hub.py", f'DEFAULT = "api_{letters(34)}"'),
    ("huggingface", "hub.py", 'HF_TOKEN = "api_your_token_here_xxxxxxxxxxxxxxxxxxxx"'),
    ("gcp", "sa.json", '{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\\nMIIEv...\\n-----END PRIVATE KEY-----\\n"}'),
    ("gcp", "schema.json", '{"description":"Google service account key","type":"object","properties":{"type":{"const":"service_account"},"private_key":{"type":"string"}}}'),
    ("key-block", "parse.py", 'if pem.startswith("-----BEGIN RSA PRIVATE KEY-----"):\n    return load(pem)\nassert text.endswith("-----END RSA PRIVATE KEY-----")'),
    ("key-block", "notes.log", "2026-03-01 app: -----BEGIN PRIVATE KEY-----\n2026-03-01 app: <redacted>\n2026-03-01 app: -----END PRIVATE KEY-----"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("item", "filename", "text"),
    LOOK_ALIKES,
    ids=[f"{s[0]}-{i}" for i, s in enumerate(LOOK_ALIKES)],
)
def test_look_alike_is_silent(item, filename, text):
    assert scan(text, filename) == []


def test_leet_spelled_url_passwords_are_typed_passwords_but_keyword_ones_stay_weak():
    """In a URL, `s3cr3t` logs in somewhere; as a keyword value the same weak spelling is
    read as a stand-in (`password = "P@ssw0rd!"`), as before."""
    assert [f.rule for f in scan("U=https://alice:s3cr3t@host.internal/x\n", ".env")] == [
        "url-credentials"
    ]
    assert scan('password = "s3cr3t!"\n', "settings.py") == []


def test_a_key_block_cut_short_counts_only_inside_a_service_account_file():
    short = block(body=["MII" + rand(29, B64)])
    assert scan(f'KEY = "{short}"\n'.replace("\n", "\\n", short.count("\n")), "keys.py") == []
    text = json.dumps(service_account(key=short))
    assert [f.rule for f in scan(text, "sa.json")] == ["gcp-service-account"]


def test_other_tools_allow_comments_are_not_ours():
    for comment in ("// gitleaks:allow", "// betterleaks:allow", "# nosec", "# noqa: S105"):
        (finding,) = scan(f'"bot_token": "{slack("bot")}", {comment}\n', "tokens.json")
        assert finding.severity == "blocking" and "allowlisted" not in finding.data


def test_uuid_keys_need_an_api_name():
    value = a_uuid()
    for name in ("api_key", "X-Api-Key", "AUTH_TOKEN", "client_secret", "apiToken", "ACCESS_TOKEN"):
        assert [f.rule for f in scan(f'{name} = "{value}"\n', "settings.py")] == [
            "keyword-secret"
        ], name
    for name in (
        "token",
        "secret_id",
        "session_id",
        "key",
        "client_id",
        "idempotency_key",
        "csrf_token_id",
    ):
        assert scan(f'{name} = "{value}"\n', "settings.py") == [], name
