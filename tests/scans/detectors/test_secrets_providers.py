"""SecretsDetector, provider formats: each family's documented shape (and checksum or
structure where it has one) in the syntaxes it is written in, and the decoys of that shape
that must stay silent (placeholders, wrong checksums, templates, look-ups).

Every credential-shaped value is generated here from a seeded random source with the
vendor's alphabet, length and checksum: nothing in this file is a real credential, nor a
string a secret scanner should flag.
"""

# Tables of realistic lines read best unwrapped.
# ruff: noqa: E501

from __future__ import annotations

import base64
import json
import string
import urllib.parse
import zlib

import pytest

from scans.detectors.base import Policy
from scans.detectors.secrets import SecretsDetector
from tests.scans.detectors.test_secrets import crc_token, pem
from tests.scans.detectors.values import ALNUM, B64, B64URL, HEX, Values, b64url

LOWER_DIGITS = string.ascii_lowercase + string.digits
_values = Values(20260412, mixed_from=12)
_rng = _values.random
rand, digits = _values.rand, _values.digits


def scan(text: str, filename: str = "config.py") -> list:
    return SecretsDetector().scan(text.encode(), filename=filename, policy=Policy())


def grafana_sa() -> str:
    key = "glsa_" + rand(32)
    return f"{key}_{zlib.crc32(key.encode()).to_bytes(4, 'little').hex()}"


def pypi() -> str:
    macaroon = b"\x02\x01\x08pypi.org\x02\x01\x02" + bytes(_rng.getrandbits(8) for _ in range(90))
    return "pypi-" + b64url(macaroon)


def discord_bot() -> str:
    user = base64.b64encode(digits(18).encode()).decode().rstrip("=")
    return f"{user}.{rand(6, B64URL)}.{rand(38, B64URL)}"


def sentry_org() -> str:
    payload = {
        "iat": 1700000000.5,
        "url": "https://sentry.io",
        "region_url": "https://us.sentry.io",
        "org": "acme",
    }
    encoded = base64.b64encode(json.dumps(payload).encode()).decode()
    return f"sntrys_{encoded}_{rand(43, B64)}"


def grafana_cloud() -> str:
    payload = {"o": digits(6), "n": "stack-write", "k": rand(24), "m": {"r": "prod-eu-west-0"}}
    return "glc_" + base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def mapbox() -> str:
    payload = b64url(json.dumps({"u": "acme", "a": rand(25, LOWER_DIGITS)}).encode())
    return f"sk.{payload}.{rand(22, B64URL)}"


def openai(kind: str) -> str:
    return f"sk-{kind}-{rand(74, B64URL)}T3BlbkFJ{rand(74, B64URL)}"


def azure_sas_url() -> str:
    sig = urllib.parse.quote(
        base64.b64encode(bytes(_rng.getrandbits(8) for _ in range(32))).decode(), safe=""
    )
    return (
        f"https://acmeprod.blob.core.windows.net/exports/report.csv?sv=2022-11-02&ss=b&srt=sco"
        f"&sp=rl&se=2026-06-30T00:00:00Z&st=2026-01-01T00:00:00Z&spr=https&sig={sig}"
    )


def entra() -> str:
    return rand(3, ALNUM) + "8Q~" + rand(33, ALNUM + "_~.-") + rand(1)


def cask(signature: str) -> str:
    return rand(52) + "JQQJ99" + rand(1) + "B" + rand(16) + signature + rand(4)


# (rule, maker, name): the name is what a developer would call it; {V} is the value.
FAMILIES = [
    # cloud
    ("aws-access-key", lambda: "AKIA" + rand(16, string.ascii_uppercase + "234567"), "AWS_ACCESS_KEY_ID"),
    ("aws-session-token", lambda: "IQoJb3JpZ2luX2Vj" + rand(280, B64), "AWS_SESSION_TOKEN"),
    ("aws-appsync-key", lambda: "da2-" + rand(26, LOWER_DIGITS), "APPSYNC_API_KEY"),
    ("google-api-key", lambda: "AIza" + rand(35, B64URL), "GOOGLE_MAPS_KEY"),
    ("gcp-oauth-client-secret", lambda: "GOCSPX-" + rand(28, B64URL), "GOOGLE_CLIENT_SECRET"),
    ("azure-entra-client-secret", entra, "AZURE_CLIENT_SECRET"),
    ("azure-devops-pat", lambda: cask("AZDO"), "ADO_TOKEN"),
    ("azure-devops-pat", lambda: rand(52, string.ascii_lowercase + "234567"), "AZURE_DEVOPS_TOKEN"),
    ("azure-function-key", lambda: rand(44, B64URL) + "AzFu" + rand(5, B64URL) + "A==", "FUNCTION_KEY"),
    ("azure-search-key", lambda: rand(42) + "AzSe" + "B" + rand(5), "SEARCH_ADMIN_KEY"),
    ("azure-cosmos-key", lambda: rand(76, B64) + "ACDb" + rand(5, B64) + "w==", "COSMOS_KEY"),
    ("azure-storage-key", lambda: rand(76, B64) + "+ASt" + rand(5, B64) + "Q==", "STORAGE_ACCOUNT_KEY"),
    ("azure-service-bus-key", lambda: rand(33, B64) + "+ASb" + "C" + rand(5, B64) + "=", "SERVICEBUS_KEY"),
    ("alibaba-access-key", lambda: "LTAI" + rand(20), "ALIBABA_ACCESS_KEY_ID"),
    ("digitalocean-token", lambda: "dop_v1_" + rand(64, HEX), "DIGITALOCEAN_TOKEN"),
    ("digitalocean-token", lambda: "doo_v1_" + rand(64, HEX), "DO_OAUTH_TOKEN"),
    ("heroku-api-key", lambda: "HRKU-AA" + rand(58, B64URL), "HEROKU_API_KEY"),
    # version control
    ("github-token", lambda: crc_token("ghp_"), "GITHUB_TOKEN"),
    ("github-token", lambda: crc_token("gho_"), "GH_OAUTH_TOKEN"),
    ("github-token", lambda: crc_token("ghs_"), "INSTALLATION_TOKEN"),
    ("github-token", lambda: "github_pat_" + rand(22) + "_" + rand(59), "GH_PAT_TOKEN"),
    ("gitlab-token", lambda: "glpat-" + rand(20, B64URL), "GITLAB_TOKEN"),
    ("gitlab-token", lambda: "gldt-" + rand(20, B64URL), "GITLAB_DEPLOY_TOKEN"),
    ("gitlab-token", lambda: "glptt-" + rand(40, HEX), "GITLAB_TRIGGER_TOKEN"),
    ("gitlab-token", lambda: "glrt-" + rand(20, B64URL), "RUNNER_TOKEN"),
    ("bitbucket-app-password", lambda: "ATBB" + rand(32), "BITBUCKET_APP_PASSWORD"),
    ("atlassian-api-token", lambda: "ATATT3xFfGF0" + rand(170, B64URL) + "=" + rand(8, "0123456789ABCDEF"), "JIRA_API_TOKEN"),
    # CI and infrastructure
    ("circleci-token", lambda: "CCIPAT_" + rand(22) + "_" + rand(40, HEX), "CIRCLE_TOKEN"),
    ("buildkite-token", lambda: "bkua_" + rand(40, HEX), "BUILDKITE_API_TOKEN"),
    ("doppler-token", lambda: "dp.pt." + rand(43), "DOPPLER_TOKEN"),
    ("terraform-cloud-token", lambda: rand(14) + ".atlasv1." + rand(67, B64URL), "TFE_TOKEN"),
    ("vault-token", lambda: "hvs.CAES" + rand(92, B64URL), "VAULT_TOKEN"),
    ("pulumi-token", lambda: "pul-" + rand(40, HEX), "PULUMI_ACCESS_TOKEN"),
    # chat
    ("slack-token", lambda: f"xoxb-{digits(11)}-{digits(12)}-{rand(24)}", "SLACK_BOT_TOKEN"),
    ("slack-webhook", lambda: f"https://hooks.slack.com/services/T{rand(8, string.ascii_uppercase + string.digits)}/B{rand(10, string.ascii_uppercase + string.digits)}/{rand(24)}", "SLACK_WEBHOOK_URL"),
    ("discord-bot-token", discord_bot, "DISCORD_TOKEN"),
    ("discord-webhook", lambda: f"https://discord.com/api/webhooks/{digits(18)}/{rand(68, B64URL)}", "DISCORD_WEBHOOK"),
    ("telegram-bot-token", lambda: f"{digits(10)}:AA{rand(33, B64URL)}", "TELEGRAM_BOT_TOKEN"),
    ("teams-webhook", lambda: f"https://acme.webhook.office.com/webhookb2/{_values.uuid()}@{_values.uuid()}/IncomingWebhook/{rand(32, HEX)}/{_values.uuid()}", "TEAMS_WEBHOOK_URL"),
    # payment
    ("stripe-key", lambda: "sk_live_" + rand(24), "STRIPE_SECRET_KEY"),
    ("stripe-key", lambda: "rk_live_" + rand(99), "STRIPE_RESTRICTED_KEY"),
    ("square-token", lambda: "EAAA" + rand(60, B64URL), "SQUARE_ACCESS_TOKEN"),
    ("square-token", lambda: "sq0atp-" + rand(22, B64URL), "SQUARE_TOKEN"),
    ("square-token", lambda: "sq0csp-" + rand(43, B64URL), "SQUARE_APP_SECRET"),
    ("braintree-token", lambda: f"access_token$production${rand(16, LOWER_DIGITS)}${rand(32, HEX)}", "BRAINTREE_TOKEN"),
    ("shopify-token", lambda: "shpat_" + rand(32, HEX), "SHOPIFY_ACCESS_TOKEN"),
    ("shopify-token", lambda: "shpss_" + rand(32, HEX), "SHOPIFY_SHARED_SECRET"),
    # e-mail
    ("sendgrid-key", lambda: f"SG.{rand(22, B64URL)}.{rand(43, B64URL)}", "SENDGRID_API_KEY"),
    ("mailgun-key", lambda: "key-" + rand(32, HEX), "MAILGUN_API_KEY"),
    ("mailchimp-key", lambda: rand(32, HEX) + "-us" + str(_rng.randint(1, 21)), "MAILCHIMP_API_KEY"),
    ("brevo-key", lambda: f"xkeysib-{rand(64, HEX)}-{rand(16)}", "BREVO_API_KEY"),
    # AI
    ("openai-key", lambda: openai("proj"), "OPENAI_API_KEY"),
    ("openai-key", lambda: openai("admin"), "OPENAI_ADMIN_KEY"),
    ("openai-key", lambda: openai("svcacct"), "OPENAI_KEY"),
    ("openai-key", lambda: f"sk-{rand(20)}T3BlbkFJ{rand(20)}", "openaiKey"),
    ("anthropic-key", lambda: f"sk-ant-api03-{rand(93, B64URL)}AA", "ANTHROPIC_API_KEY"),
    ("huggingface-token", lambda: "hf_" + rand(34, string.ascii_letters), "HF_TOKEN"),
    ("replicate-token", lambda: "r8_" + rand(37), "REPLICATE_API_TOKEN"),
    ("groq-key", lambda: "gsk_" + rand(52), "GROQ_API_KEY"),
    # databases
    ("planetscale-token", lambda: "pscale_tkn_" + rand(43, ALNUM + "_"), "PLANETSCALE_SERVICE_TOKEN"),
    ("planetscale-token", lambda: "pscale_pw_" + rand(43, ALNUM + "_"), "DATABASE_PASSWORD"),
    # observability
    ("newrelic-key", lambda: "NRAK-" + rand(27, string.ascii_uppercase + string.digits), "NEW_RELIC_API_KEY"),
    ("newrelic-key", lambda: rand(36, HEX) + "NRAL", "NEW_RELIC_LICENSE_KEY"),
    ("sentry-token", sentry_org, "SENTRY_AUTH_TOKEN"),
    ("sentry-token", lambda: "sntryu_" + rand(64, HEX), "SENTRY_TOKEN"),
    ("grafana-token", grafana_cloud, "GRAFANA_CLOUD_TOKEN"),
    ("grafana-token", grafana_sa, "GRAFANA_SA_TOKEN"),
    # package registries
    ("npm-token", lambda: crc_token("npm_"), "NPM_TOKEN"),
    ("pypi-token", pypi, "PYPI_API_TOKEN"),
    ("rubygems-token", lambda: "rubygems_" + rand(48, HEX), "GEM_HOST_API_KEY"),
    ("nuget-key", lambda: "oy2" + rand(43, string.ascii_lowercase + "234567"), "NUGET_API_KEY"),
    ("dockerhub-token", lambda: "dckr_pat_" + rand(27, B64URL), "DOCKERHUB_TOKEN"),
    ("artifactory-token", lambda: "AKCp" + rand(69), "ARTIFACTORY_API_KEY"),
    ("crates-io-token", lambda: "cio" + rand(32), "CARGO_REGISTRY_TOKEN"),
    # others
    ("mapbox-token", mapbox, "MAPBOX_SECRET_TOKEN"),
    ("linear-key", lambda: "lin_api_" + rand(40), "LINEAR_API_KEY"),
    ("notion-token", lambda: "secret_" + rand(43), "NOTION_TOKEN"),
    ("notion-token", lambda: "ntn_" + digits(11) + rand(35), "NOTION_API_KEY"),
    ("figma-token", lambda: "figd_" + rand(40, B64URL), "FIGMA_TOKEN"),
    ("asana-token", lambda: f"1/{digits(16)}:{rand(32, HEX)}", "ASANA_PAT_TOKEN"),
    ("asana-token", lambda: f"2/{digits(16)}/{digits(16)}:{rand(32, HEX)}", "ASANA_TOKEN"),
    ("dropbox-token", lambda: "sl." + rand(136, B64URL), "DROPBOX_ACCESS_TOKEN"),
]  # fmt: skip

# (filename, template): the syntaxes a value is written in.
SYNTAXES = [
    ("config.py", '{name} = "{value}"'),
    ("settings.py", 'client = Client(api_token="{value}")'),
    ("config.js", 'const {name} = "{value}";'),
    ("index.ts", "export const config = {{ {name}: '{value}' }};"),
    ("App.java", '    private static final String {name} = "{value}";'),
    ("main.go", '\t{name} := "{value}"'),
    ("values.yaml", "  {name}: {value}"),
    ("config.json", '  "{name}": "{value}",'),
    (".env", "{name}={value}"),
    ("deploy.sh", "export {name}='{value}'"),
    ("main.tf", '  {name} = "{value}"'),
    ("app.properties", "{name}={value}"),
    ("settings.xml", "  <{name}>{value}</{name}>"),
]
# Rules read from a name and a vendor shape: with a neutral name, nothing says secret.
_NEEDS_A_NAME = {"nuget-key", "crates-io-token", "azure-devops-pat", "aws-session-token"}
CASES = [(rule, maker(), name) for rule, maker, name in FAMILIES]


@pytest.mark.parametrize(("filename", "template"), SYNTAXES, ids=[s[0] for s in SYNTAXES])
@pytest.mark.parametrize(
    ("rule", "value", "name"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_provider_format_is_found_in_every_syntax(rule, value, name, filename, template):
    if rule == "azure-devops-pat" and len(value) == 52 and "api_token" in template:
        # The old 52-character PAT is told only by an Azure DevOps name: give it one.
        template = template.replace("api_token", name)
    elif rule in _NEEDS_A_NAME and "api_token" in template:
        name = "api_token"
    text = "# settings\n" + template.format(name=name, value=value) + "\n"
    findings = scan(text, filename)
    assert [(f.rule, f.line) for f in findings] == [(rule, 2)], text
    shown = repr(findings)
    assert value not in shown and value[8:-4] not in shown


@pytest.mark.parametrize(("rule", "value", "name"), [c for c in CASES if c[0] not in _NEEDS_A_NAME])
def test_provider_format_needs_no_secret_name(rule, value, name):
    findings = scan(f'DEFAULTS = {{"upstream": "{value}"}}\n', "defaults.py")
    assert [f.rule for f in findings] == [rule]


# --- decoys of each shape ---------------------------------------------------------------


def _masked(value: str, keep: int) -> str:
    return value[:keep] + "".join("X" if c.isalnum() else c for c in value[keep:])


@pytest.mark.parametrize(
    ("rule", "value", "name"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_masked_placeholder_of_each_format_is_silent(rule, value, name):
    keep = next((i + 1 for i, c in enumerate(value[:12]) if c in "_-.:~"), 4)
    for decoy in (_masked(value, keep), value[:keep] + "<your-token-here>", "${" + name + "}"):
        assert scan(f'{name} = "{decoy}"\n', "settings.py") == [], decoy


@pytest.mark.parametrize(
    "decoy",
    [
        crc_token("ghp_")[:-1] + "0"
        if not crc_token("ghp_").endswith("0")
        else crc_token("ghp_")[:-1] + "1",
        "ghp_" + rand(36),  # no checksum: a made-up GitHub token
        "gho_" + rand(36),
        "npm_" + rand(36),
        grafana_sa()[:-8] + "00000000",
        "pypi-AgEI" + rand(120, B64URL),  # not a macaroon for pypi.org
    ],
)
def test_wrong_checksum_is_silent_even_under_a_secret_name(decoy):
    for filename, template in SYNTAXES[:9]:
        assert scan(template.format(name="API_TOKEN", value=decoy) + "\n", filename) == [], (
            filename,
            decoy,
        )


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        ("settings.py", 'OPENAI_API_KEY = "sk-proj-' + "X" * 48 + '"'),
        ("settings.py", 'OPENAI_API_KEY = "sk-proj-...your-key..."'),
        (".env", "OPENAI_API_KEY=sk-<your-key>"),
        ("style.css", ".sk-button-primary-large { color: red }"),
        ("index.js", "const cls = 'sk-loader-circle-animated-fast';"),
        ("config.yaml", "stripe_key: sk_live_XXXXXXXXXXXXXXXXXXXXXXXX"),
        ("README.md", "Set `SQUARE_ACCESS_TOKEN=EAAAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`."),
        ("index.rst", "Heading\n~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n"),
        ("theme.css", ".ui.visible.right.sidebar~.ui.visible.left.sidebar~.pusher{transform:translate3d(0,0,0)}"),
        ("fixtures.json", f'  "id": "{_values.uuid()}", "etag": "{rand(32, HEX)}", "sha": "{rand(40, HEX)}"'),
        ("models.py", f'    checksum = "{rand(64, HEX)}"'),
        ("settings.py", f'AZURE_CLIENT_ID = "{_values.uuid()}"'),
        ("settings.py", f'TWILIO_ACCOUNT_SID = "AC{rand(32, HEX)}"'),  # an id, not a secret
        ("settings.py", 'SAS_URL = "https://acct.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig=<signature>"'),
        ("settings.py", 'SAS = "https://acct.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig=XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX%3D"'),
        ("sa.json", '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----\\n"}'),
        ("adc.json", '{"type": "authorized_user", "client_id": "x.apps.googleusercontent.com", "client_secret": "<client-secret>", "refresh_token": "<refresh-token>"}'),
        ("docs.py", '# Discord tokens look like "MTIzNDU2Nzg5MDEyMzQ1Njc4.XXXXXX.XXXXXXXXXXXXXXXXXXXXXXXXXXX"'),
        ("notes.md", "pip install mypkg==1.2.3 # see https://pypi.org/project/mypkg"),
        ("main.go", "\tapi := newClient(os.Getenv(\"SENDGRID_API_KEY\"))"),
        ("settings.py", 'HEROKU_API_KEY = os.environ["HEROKU_API_KEY"]'),
        ("settings.py", f'POSTMARK_SERVER_TOKEN = "{"0" * 8}-0000-0000-0000-{"0" * 12}"'),
    ],
)  # fmt: skip
def test_decoys_of_provider_shapes_are_silent(filename, text):
    assert scan(text, filename) == []


def test_a_rejected_provider_shape_is_still_judged_by_its_name():
    """The OpenAI rule doubts an `sk-` value without its structure, yet the name says what
    it is: the keyword rule still reports it (no claim from a rule that rejected it)."""
    value = "sk-" + rand(32, HEX)  # an OpenAI-compatible vendor's key: sk- and 32 hex
    findings = scan(f'LLM_API_KEY = "{value}"\n')
    assert [f.rule for f in findings] == ["keyword-secret"]
    assert scan(f'css_class = "{value}"\n') == []


def test_vendor_named_keys_name_the_vendor():
    findings = scan(f'DD_API_KEY = "{rand(32, HEX)}"\nOKTA_API_TOKEN = "00{rand(40, B64URL)}"\n')
    assert [(f.rule, f.data.get("provider")) for f in findings] == [
        ("keyword-secret", "Datadog"),
        ("keyword-secret", "Okta"),
    ]
    findings = scan(
        f'POSTMARK_SERVER_TOKEN = "{_values.uuid()}"\nHEROKU_API_KEY: {_values.uuid()}\n', "app.yml"
    )
    assert [(f.rule, f.line, f.data["provider"]) for f in findings] == [
        ("keyword-secret", 1, "Postmark"),
        ("keyword-secret", 2, "Heroku"),
    ]


@pytest.mark.parametrize(
    ("name", "value", "provider"),
    [
        ("TWITCH_CLIENT_SECRET", rand(30, LOWER_DIGITS), "Twitch"),
        ("TRAVIS_API_TOKEN", rand(22, B64URL), "Travis CI"),
        ("IBMCLOUD_API_KEY", rand(44, B64URL), "IBM Cloud"),
        ("CIRCLECI_TOKEN", rand(40, HEX), "CircleCI"),
        ("CONFLUENCE_API_TOKEN", rand(24), "Atlassian"),
        ("datadogAppKey", rand(40, HEX), "Datadog"),
    ],
)
def test_name_only_vendors_stay_keyword_secrets_that_name_the_vendor(name, value, provider):
    for filename, template in SYNTAXES:
        if "api_token" in template:
            continue
        findings = scan(template.format(name=name, value=value) + "\n", filename)
        assert [(f.rule, f.data.get("provider")) for f in findings] == [
            ("keyword-secret", provider)
        ], filename


# --- structured credential files ---------------------------------------------------------


def test_gcp_service_account_json_is_one_finding_on_its_private_key():
    block, body = pem("PRIVATE KEY")
    key = {
        "type": "service_account", "project_id": "acme-prod", "private_key_id": rand(40, HEX),
        "private_key": block + "\n", "client_email": "ci@acme-prod.iam.gserviceaccount.com",
        "client_id": digits(21), "token_uri": "https://oauth2.googleapis.com/token",
    }  # fmt: skip
    text = json.dumps(key, indent=2)
    findings = scan(text, "acme-prod-1234.json")
    assert [(f.rule, f.line) for f in findings] == [("gcp-service-account", 5)]
    assert body[:40] not in repr(findings)


def test_gcp_application_default_credentials_are_one_finding():
    refresh = "1//0" + rand(99, B64URL)
    adc = {"client_id": digits(12) + "-" + rand(32, LOWER_DIGITS) + ".apps.googleusercontent.com",
           "client_secret": "GOCSPX-" + rand(28, B64URL), "refresh_token": refresh,
           "type": "authorized_user"}  # fmt: skip
    findings = scan(json.dumps(adc, indent=2), "application_default_credentials.json")
    assert [(f.rule, f.line) for f in findings] == [("gcp-authorized-user", 4)]
    assert refresh not in repr(findings)


@pytest.mark.parametrize(
    ("filename", "template"),
    [
        ("storage.py", 'EXPORT_URL = "{url}"'),
        ("app.js", "const exportUrl = `{url}`;"),
        ("appsettings.json", '  "Export": "{url}",'),
        (".env", "EXPORT_URL={url}"),
        (
            "conn.cs",
            'var conn = "BlobEndpoint=https://acmeprod.blob.core.windows.net/;SharedAccessSignature={query}";',
        ),
        ("settings.py", 'AZURE_SAS_TOKEN = "{query}"'),
    ],
)
def test_azure_sas_signature_is_found_in_urls_and_connection_strings(filename, template):
    url = azure_sas_url()
    query = url.split("?", 1)[1]
    findings = scan(template.format(url=url, query=query) + "\n", filename)
    assert [f.rule for f in findings] == ["azure-sas-token"]
    sig = query.rsplit("sig=", 1)[1]
    assert sig not in repr(findings) and urllib.parse.unquote(sig) not in repr(findings)


def test_sentry_dsn_with_its_secret_key_is_named():
    findings = scan(
        f'SENTRY_DSN = "https://{rand(32, HEX)}:{rand(32, HEX)}@o{digits(6)}.ingest.sentry.io/{digits(7)}"\n'
    )
    assert [f.rule for f in findings] == ["sentry-dsn"]
    assert (
        scan(f'SENTRY_DSN = "https://{rand(32, HEX)}@o{digits(6)}.ingest.sentry.io/{digits(7)}"\n')
        == []
    )


@pytest.mark.parametrize(
    "scheme", ["mongodb+srv", "postgres", "postgresql", "mysql", "redis", "rediss", "amqp", "amqps"]
)
def test_database_urls_with_passwords(scheme):
    password = rand(20, ALNUM + "-_")
    for filename, template in [("settings.py", 'DATABASE_URL = "{u}"'), (".env", "BROKER={u}"),
                               ("values.yaml", "  url: {u}"), ("App.java", '  String url = "{u}";')]:  # fmt: skip
        text = template.format(u=f"{scheme}://svc_orders:{password}@db.internal:5432/orders") + "\n"
        assert [f.rule for f in scan(text, filename)] == ["url-credentials"], (filename, scheme)


def test_stripe_test_key_and_braintree_sandbox_are_warnings():
    findings = scan(
        f'STRIPE = "sk_test_{rand(24)}"\n'
        f'BRAINTREE = "access_token$sandbox${rand(16, LOWER_DIGITS)}${rand(32, HEX)}"\n'
    )
    assert [(f.rule, f.severity) for f in findings] == [
        ("stripe-test-key", "warning"),
        ("braintree-sandbox-token", "warning"),
    ]


def test_lock_files_keep_only_hash_safe_provider_shapes():
    text = (f'    "resolved": "https://npm.pkg.github.com/download/x/1.0/{rand(40, HEX)}",\n'
            f'    "integrity": "sha512-{rand(33, B64)}AzFu{rand(5, B64URL)}A==",\n'
            f'    "token": "{crc_token("ghp_")}"\n')  # fmt: skip
    assert [f.rule for f in scan(text, "package-lock.json")] == ["github-token"]


def test_a_made_up_jwt_stays_silent_under_a_token_name():
    def part(data: dict) -> str:
        return b64url(json.dumps(data).encode())

    header = part({"alg": "HS256", "typ": "JWT"})
    dummy = f"{header}.{part({'sub': 'dummy-user'})}.{rand(43, B64URL)}"
    real = f"{header}.{part({'sub': '42', 'scope': 'admin'})}.{rand(43, B64URL)}"
    assert scan(f'ACCESS_TOKEN = "{dummy}"\n') == []
    assert [f.rule for f in scan(f'ACCESS_TOKEN = "{real}"\n')] == ["jwt"]
