"""SecretsDetector, context: the names that say secret, typed passwords, multi-line strings
and heredocs, compound credentials (an id and its secret), inline allowlist comments,
repeated values, and hostile input.

Credential-shaped values are generated from a seeded random source (see test_secrets).
"""

# Tables of realistic lines read best unwrapped.
# ruff: noqa: E501

from __future__ import annotations

import random
import string
import time

import pytest

from scans.detectors.base import Policy, Severity
from scans.detectors.secrets import SecretsDetector

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
_rng = random.Random(777)


def rand(n: int, alphabet: str = ALNUM) -> str:
    while True:
        value = "".join(_rng.choice(alphabet) for _ in range(n))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def scan(text: str, filename: str = "config.py") -> list:
    return SecretsDetector().scan(text.encode(), filename=filename, policy=Policy())


def rules_and_lines(text: str, filename: str = "config.py") -> list[tuple[str, int]]:
    return [(f.rule, f.line) for f in scan(text, filename)]


TOKEN = rand(32, HEX)
KEY = rand(40, B64)
AWS_ID = "AKIA" + rand(16, string.ascii_uppercase + "234567")
AWS_SECRET = rand(40, B64)


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["stripeKey", "apiKey", "validKey", "fooKey", "sendgridKey", "STRIPE_KEY", "stripe-key",
     "x-api-key", "X-API-KEY", "db_pass", "dbPass", "DBPASS", "clientSecret", "AUTH_TOKEN",
     "authToken", "auth-token", "MY_APP_SECRET", "webhookSigningKey", "productKey",
     "encryptionKeys", "adminpwd"],
)  # fmt: skip
def test_names_that_end_in_a_secret_word_count_in_any_case_style(name):
    for filename, template in [("config.js", "const {n} = '{v}';"), ("config.py", '{n} = "{v}"'),
                               ("config.json", '  "{n}": "{v}",'), ("app.yml", "{n}: {v}")]:  # fmt: skip
        text = template.format(n=name, v=TOKEN)
        assert [f.line for f in scan(text, filename)] == [1], (name, filename)


@pytest.mark.parametrize(
    "name",
    ["key", "KEY", "cache_key", "cacheKey", "primary_key", "sort_key", "partitionKey",
     "lookup_key", "objectKey", "s3_key", "i18nKey", "translationKey", "public_key", "publicKey",
     "hotkey", "monkey", "keyboard", "gpg_key", "keyFingerprint", "key_id", "api_key_id",
     "api_key_name", "secret_name", "token_type", "password_hash", "sshHostKey", "row_key",
     "idempotencyKey", "searchKey", "stateKey", "license_key", "spdxLicenseKey", "e.key", "event.altKey", "o.key"],
)  # fmt: skip
def test_names_that_only_mention_a_key_do_not(name):
    for filename, template in [("config.js", "const {n} = '{v}';"), ("config.py", '{n} = "{v}"')]:
        assert scan(template.format(n=name, v=TOKEN), filename) == [], (name, filename)


# --- typed passwords ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        ("settings.py", 'password = "hunter2"'),
        ("settings.py", 'DATABASES = {"default": {"PASSWORD": "Summer2024!"}}'),
        ("db.js", "const dbPass = 'kitten42';"),
        ("Db.java", '    private static final String DB_PASSWORD = "Tr0ub4dor&3";'),
        ("main.go", '\tcfg.Password = "orange77"'),
        ("application.yml", "spring:\n  datasource:\n    password: walrus99"),
        (".env", "DB_PASS=pelican12"),
        ("docker-compose.yml", "      - POSTGRES_PASSWORD=gopher2020"),
        ("settings.ini", "[smtp]\npwd = lemon-Tree8"),
        ("app.properties", "mail.smtp.password=Bicycle9"),
        ("settings.xml", "  <password>canary71</password>"),
        ("config.py", 'secret = "quartz88"'),
        ("deploy.sh", "export MYSQL_PWD='violet31'"),
    ],
)
def test_low_entropy_password_given_a_password_name_is_reported(filename, text):
    findings = scan(text, filename)
    # A password of some entropy is a keyword-secret, as before; a weaker one is new.
    assert [f.rule for f in findings] in (["password-assignment"], ["keyword-secret"])
    assert findings[0].severity == Severity.BLOCKING
    assert findings[0].line == text.count("\n") + 1
    assert "…(" in findings[0].excerpt


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        ("settings.py", 'password = "changeme"'),
        ("settings.py", 'password = "password1"'),
        ("settings.py", 'password = "admin123"'),
        ("settings.py", 'password = "test1234"'),
        ("settings.py", 'password = "abc123"'),
        ("settings.py", 'password = "secret"'),
        ("settings.py", 'password = "s3cr3t!"'),
        ("settings.py", 'password = "qwerty123"'),
        ("settings.py", 'password = "swordfish"'),  # one class: a word
        ("settings.py", 'password = "sésame"'),
        ("settings.py", 'password = "foo$bar"'),  # a stored password's format
        ("settings.py", 'password = "sha256"'),
        ("settings.py", 'password = "utf-8"'),
        ("settings.py", 'password = "my_password2"'),
        ("settings.py", 'password = "${DB_PASSWORD}"'),
        ("settings.py", 'password = os.environ.get("DB_PASSWORD", "")'),
        ("settings.py", "password = user_password2"),
        ("views.py", 'password = request.POST["password"]'),
        ("notes.txt", 'password = request.POST["password"]'),
        ("README.md", 'Set `password = "hunter2"` in the config.'),  # documentation
        ("docs.rst", "    password: walrus99"),
        ("settings.py", 'api_key = "kitten42"'),  # a key is generated, never typed
        ("settings.py", 'token = "orange77"'),
        ("settings.py", 'password_hint = "dog2"'),
        ("forms.py", 'widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})'),
        ("migrations.py", 'migration = loader.get_migration("auth", "0001_initial")'),
    ],
)
def test_weak_values_that_are_not_passwords_are_silent(filename, text):
    assert scan(text, filename) == []


# --- multi-line strings and heredocs ------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "text", "line"),
    [
        ("conf.py", f'ENV_FILE = """\nDEBUG=false\nAPI_KEY={TOKEN}\n"""\n', 3),
        ("conf.py", "TEMPLATE = '''\n[db]\npassword: walrus99\n'''\n", 3),
        ("conf.py", f'def test():\n    write("""\n    stripe_key = {TOKEN}\n    """)\n', 3),
        ("env.js", f"const env = `\nNODE_ENV=production\nSECRET_TOKEN={TOKEN}\n`;\n", 3),
        ("env.ts", f"export const yaml = `\napi_key: {TOKEN}\nregion: eu\n`;\n", 2),
        ("main.go", f"var conf = `\n[auth]\nclient_secret = {TOKEN}\n`\n", 3),
        ("Conf.kt", 'val props = """\n    db.password=walrus99\n"""\n', 2),
        ("conf.rb", f"CONF = <<~EOS\n  api_token: {TOKEN}\nEOS\n", 2),
        ("setup.sh", "cat > .env <<EOF\nLOG_LEVEL=info\nDB_PASSWORD=walrus99\nEOF\n", 3),
        ("Dockerfile", f'RUN <<EOF\necho "token={TOKEN}" > /etc/app.conf\nEOF\n', 2),
        ("values.yaml", f"config: |\n  [server]\n  api_key = {TOKEN}\n", 3),
        ("k8s.yaml", f"data:\n  app.env: |\n    SECRET_KEY={TOKEN}\n    DEBUG=0\n", 3),
    ],
)
def test_key_value_lines_inside_multiline_strings_are_read(filename, text, line):
    findings = scan(text, filename)
    assert [f.line for f in findings] == [line], findings
    assert TOKEN not in repr(findings)


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        (
            "views.py",
            'def login(request):\n    """Log in.\n\n    password: the user\'s password\n    token = the session token\n    """\n    password = form.cleaned_data["password"]\n',
        ),
        (
            "api.py",
            '"""Module docs.\n\napi_key: str, the key to use\nsecret = settings.SECRET_KEY\n"""\n',
        ),
        (
            "app.js",
            "const q = `\n  password = ${password}\n  token: ${token}\n`;\nconst token = getToken();\n",
        ),
        ("app.js", "const a = `x`;\nconst password = userPassword;\nconst b = `y`;\n"),
        ("conf.py", 'x = """one line password=abc"""\npassword = compute_password()\n'),
    ],
)
def test_code_and_docstrings_around_multiline_strings_stay_silent(filename, text):
    assert scan(text, filename) == []


# --- compound credentials -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "text", "line", "pair_line"),
    [
        (
            "credentials",
            f"[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n",
            3,
            2,
        ),
        (
            "settings.py",
            f'AWS_SECRET_ACCESS_KEY = "{AWS_SECRET}"\nAWS_ACCESS_KEY_ID = "{AWS_ID}"\n',
            1,
            2,
        ),
        (
            "s3.py",
            f's3 = boto3.client(\n    "s3",\n    "{AWS_ID}",\n    "{AWS_SECRET}",\n)\n',
            4,
            3,
        ),
        (
            "s3.js",
            f'new S3({{ accessKeyId: "{AWS_ID}", secretAccessKey: "{AWS_SECRET}" }});\n',
            1,
            1,
        ),
        (".env", f"AWS_ACCESS_KEY_ID={AWS_ID}\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\n", 2, 1),
    ],
)
def test_aws_key_id_and_secret_are_one_finding(filename, text, line, pair_line):
    findings = scan(text, filename)
    assert [(f.rule, f.line, f.data.get("pair"), f.data.get("pair_line")) for f in findings] == [
        ("aws-secret-key", line, "aws-access-key", pair_line)
    ]
    assert AWS_ID[4:] not in repr(findings) and AWS_SECRET not in repr(findings)


def test_twilio_sid_and_auth_token_are_one_finding():
    sid, token = "AC" + rand(32, HEX), rand(32, HEX)
    for filename, text, line in [
        ("sms.py", f'TWILIO_ACCOUNT_SID = "{sid}"\nTWILIO_AUTH_TOKEN = "{token}"\n', 2),
        ("sms.py", f'client = Client("{sid}", "{token}")\n', 1),
        ("sms.js", f"const client = twilio('{sid}', '{token}');\n", 1),
        (".env", f"TWILIO_SID={sid}\n\nTWILIO_TOKEN={token}\n", 3),
    ]:
        findings = scan(text, filename)
        assert [(f.rule, f.line, f.data.get("pair")) for f in findings] == [
            ("twilio-auth-token", line, "twilio-account-sid")
        ], (filename, text)
        assert sid[2:] not in repr(findings) and token not in repr(findings)
    # an API key SID with its secret
    key_sid, secret = "SK" + rand(32, HEX), rand(32)
    findings = scan(f'TWILIO_API_KEY = "{key_sid}"\nTWILIO_API_SECRET = "{secret}"\n')
    assert [(f.rule, f.line, f.data["pair"]) for f in findings] == [
        ("twilio-auth-token", 2, "twilio-key")
    ]


def test_azure_client_id_and_secret_are_one_finding():
    client_id = "3f1c2a9e-8b7d-4c6a-9e5f-" + rand(12, HEX)
    secret = rand(3) + "8Q~" + rand(34, ALNUM + "_~-")
    text = f'AZURE_TENANT_ID = "contoso.onmicrosoft.com"\nAZURE_CLIENT_ID = "{client_id}"\nAZURE_CLIENT_SECRET = "{secret}"\n'
    findings = scan(text)
    assert [(f.rule, f.line, f.data.get("pair"), f.data.get("pair_line")) for f in findings] == [
        ("azure-entra-client-secret", 3, "azure-client-id", 2)
    ]
    text = f'{{\n  "azure": {{\n    "clientId": "{client_id}",\n    "clientSecret": "{rand(34, ALNUM + "-_")}"\n  }}\n}}\n'
    findings = scan(text, "appsettings.json")
    assert [(f.rule, f.line, f.data.get("pair_line")) for f in findings] == [
        ("azure-client-secret", 4, 3)
    ]


def test_algolia_app_id_and_admin_key_are_one_finding():
    app_id = rand(10, string.ascii_uppercase + string.digits)
    text = f'ALGOLIA_APP_ID = "{app_id}"\nALGOLIA_ADMIN_KEY = "{TOKEN}"\nALGOLIA_SEARCH_KEY = "{rand(32, HEX)}"\n'
    findings = scan(text)
    assert [(f.rule, f.line, f.data.get("pair")) for f in findings] == [
        ("algolia-admin-key", 2, "algolia-app-id")
    ]


def test_alibaba_access_key_id_and_secret_are_one_finding():
    key_id, secret = "LTAI" + rand(20), rand(30)
    findings = scan(
        f'ALIBABA_CLOUD_ACCESS_KEY_ID = "{key_id}"\nALIBABA_CLOUD_ACCESS_KEY_SECRET = "{secret}"\n'
    )
    assert [(f.rule, f.line, f.data.get("pair")) for f in findings] == [
        ("alibaba-secret-key", 2, "alibaba-access-key")
    ]


def test_ids_far_from_their_secret_or_alone_are_not_paired():
    alone = scan(f'AWS_ACCESS_KEY_ID = "{AWS_ID}"\n')
    assert [(f.rule, f.data) for f in alone] == [("aws-access-key", {})]
    far = (
        f'AWS_ACCESS_KEY_ID = "{AWS_ID}"\n'
        + "x = 1\n" * 20
        + f'AWS_SECRET_ACCESS_KEY = "{AWS_SECRET}"\n'
    )
    assert [f.rule for f in scan(far)] == ["aws-access-key", "aws-secret-key"]
    sha = rand(40, HEX)  # a commit SHA beside a key id is not its secret
    assert [f.rule for f in scan(f'KEY_ID = "{AWS_ID}"\nREVISION = "{sha}"\n')] == [
        "aws-access-key"
    ]


# --- inline allowlists --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "text", "marker"),
    [
        ("settings.py", f'API_KEY = "{TOKEN}"  # gatehouse:allow', "gatehouse:allow"),
        (
            "config.js",
            f'const apiKey = "{TOKEN}"; // gatehouse:allow (test fixture)',
            "gatehouse:allow",
        ),
        ("app.yml", f"api_key: {TOKEN} # pragma: allowlist secret", "pragma: allowlist secret"),
        (
            "web.config",
            f'<add key="ApiKey" value="{TOKEN}" /> <!-- gatehouse:allow -->',
            "gatehouse:allow",
        ),
        (
            "settings.py",
            f'# pragma: allowlist nextline secret\nAPI_KEY = "{TOKEN}"',
            "pragma: allowlist nextline secret",
        ),
        ("App.java", f'/* gatehouse:allow */ String apiKey = "{TOKEN}";', "gatehouse:allow"),
    ],
)
def test_allowlist_comment_keeps_the_finding_as_info(filename, text, marker):
    (finding,) = scan(text, filename)
    assert finding.severity == Severity.INFO
    assert finding.data["allowlisted"] == marker
    assert "llowlisted" in finding.message
    assert TOKEN not in repr(finding)


def test_allowlist_covers_only_its_line():
    text = f'# pragma: allowlist nextline secret\nA_TOKEN = "{TOKEN}"\nB_TOKEN = "{rand(32, HEX)}"\nC_TOKEN = "{rand(32, HEX)}"  # gatehouse:allow\n'
    findings = scan(text)
    assert [(f.line, f.severity) for f in findings] == [
        (2, Severity.INFO), (3, Severity.BLOCKING), (4, Severity.INFO)
    ]  # fmt: skip


# --- repeated values ----------------------------------------------------------------------


def test_one_value_on_many_lines_is_one_finding_with_its_lines():
    password = rand(18, ALNUM + "-_")
    url = f"postgres://app:{password}@localhost:5432/test"
    text = "\n".join(f'    def test_{i}(self):\n        connect("{url}")' for i in range(150))
    findings = scan(text, "test_db.py")
    assert len(findings) == 1
    (finding,) = findings
    assert finding.line == 2
    assert finding.data["count"] == 150
    assert finding.data["lines"] == list(range(2, 201, 2))  # at most 100
    assert password not in repr(finding)


def test_different_values_stay_separate_and_an_allowlisted_copy_apart():
    text = f'A = "{TOKEN}"\nAPI_KEY = "{TOKEN}"\nOTHER_KEY = "{KEY}"\nAPI_TOKEN = "{TOKEN}"  # gatehouse:allow\nTOKEN2 = "{TOKEN}"\n'
    findings = scan(text)
    assert [(f.line, f.severity, f.data.get("count")) for f in findings] == [
        (2, Severity.BLOCKING, 2), (3, Severity.BLOCKING, None), (4, Severity.INFO, None)
    ]  # fmt: skip
    assert findings[0].data["lines"] == [2, 5]


# --- hostile input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "password=" * 20000,
        "A" * 1_000_000,
        "_" * 300_000,
        "-" * 300_000,
        "." * 300_000,
        "Q~" * 150_000,
        "sk-" * 100_000,
        "ghp_" * 80_000,
        "AKIA" * 80_000,
        ("a" * 51 + "JQQJ9") * 10_000,
        "https://" + "a" * 300_000,
        "x?sv=1&sig=" * 30_000,
        '"""' * 50_000,
        "`" * 100_000 + "\npassword = hunter2x\n",
        "key = " * 50000,
        "aaaa." * 100_000,
        "0" * 100_000 + ":" + "a" * 100_000,
    ],
    ids=lambda t: repr(t[:12]),
)
def test_hostile_input_scans_in_linear_time(text):
    for filename in ("input.py", "input.txt"):
        started = time.perf_counter()
        scan(text, filename)
        assert time.perf_counter() - started < 5.0, filename


def test_detector_version_is_bumped_for_the_new_rules():
    assert SecretsDetector().version == "secrets-3"
