"""Secrets: credentials in provider formats, and secret values given secret-like names.

Compiled regular expressions find the candidates; Python then validates the few they yield
(checksums, structure, entropy, placeholders, environment look-ups, code). Every rule is
anchored on a character that is rare in source code -- an upper-case letter, ``_``, ``-``,
``:``, ``.``, or an uncommon letter of a keyword such as the ``k`` of ``token`` -- with the
rest of its prefix checked by a look-behind, and the rules sharing an anchor form one
alternation. Each alternation starts with its literal anchor, which ``re`` finds with a fast
scan; one alternation over all rules would instead be tried at every position holding any
of the anchors, and is a quarter slower on real source (41 against 52 MB/s here) even before
counting its capturing groups. So a blob gets one pass per anchor (17), none with capturing
groups; a match is handed to the rule of its anchor that matches there, compiled on its own
with named groups (only the rules that can start with the character after the anchor are
tried). A pass costs about as much as its scan for the anchor whatever its rules, so:

* a pass starts at the anchor's first occurrence, found by ``str.find`` (memchr): most files
  hold no ``Q`` or ``J`` at all, and skip those passes;
* a format goes on a rarer letter of its prefix when the character after that letter is
  rare there, literal first, so that the alternation rejects other positions at once:
  ``sk-``, ``sk_live_`` and ``key-`` on ``k``, ``HRKU-`` on ``K``, ``GOCSPX-`` and
  ``CCIPAT_`` on ``P``; Azure's identifiable keys, whose signatures all hold an ``A``
  (``AzFu``, ``ACDb``, ``+ASt``), share the ``A`` pass with a look-behind over the random
  part before the signature;
* the prefixes on a busy anchor (``ghp_``, ``npm_``, ``glsa_`` on ``_``; ``glpat-``,
  ``xoxb-`` on ``-``; ``hvs.``, ``sl.`` on ``.``) are checked all at once by one look-behind
  per length over their last (up to five) characters, and a hit is handed to the rules of
  the prefix found there by a dictionary look-up: thirty prefixes cost the ``_`` pass about
  what its seven look-behinds did before.

A value can be seen by several rules: a GitHub token assigned to ``GITHUB_TOKEN``, a JWT
after ``Bearer``. The keyword, URL and ``Bearer`` alternatives only *look ahead* at their
value, so the pass goes on inside it and a provider rule sees the token too. A shape that a
provider rule *accepts* (a token, a private-key block) is claimed by that rule, which alone
reports it. A shape it *rejects* is not claimed, and the keyword rule still judges the value
by its name: an ``sk-...`` value that the OpenAI rule doubts is still a secret when assigned
to ``api_key``. The exception is a value its format proves made up -- a wrong checksum
(GitHub, npm, Grafana service accounts), a PyPI token whose macaroon is not for pypi.org, a
JWT whose claims say dummy or that is the jwt.io sample: it stays claimed, and silent.

Decisions worth knowing:

* Stripe test-mode keys (``sk_test_``/``rk_test_``) and Braintree sandbox tokens are
  reported as *warnings*: they cannot move money but do open the account's test data.
* ``Bearer <token>`` is reported only outside documentation files (``.md``, ``.rst``,
  ``.txt``...), whose examples are nearly always made up, and only when the token looks
  random. A lower-case ``bearer`` is not looked for.
* In lock files (``package-lock.json``, ``yarn.lock``, ``go.sum``...) only rules whose shape
  a hex or base64 hash cannot take fire: prefixed tokens with ``_``/``-``/``.`` in fixed
  places, private keys, credentials in URLs, ``Bearer``/``Basic`` headers. No keyword rule.
* Names: a name counts when one of its words is a secret word (``password``, ``pass``,
  ``pwd``, ``secret``, ``token``, ``credentials``, ``auth``), in any case style, or when it
  *ends* in ``key`` after another word (``apiKey``, ``stripeKey``, ``x-api-key``); a bare
  ``key`` does not, nor an object's (``event.key``), nor ``cache_key``, ``primary_key``,
  ``sort_key`` and their kin. Since such names hold a dictionary's keys as often as
  secrets, a name that only ends in key (no ``api``, ``secret``, ``access``... before it)
  needs a value that looks generated: 16+ characters with digits, not pieces of words.
* Passwords: a value given a name that ends in a password word (``password``, ``db_pass``,
  ``MYSQL_PWD``; not ``HTTPPasswordMgr``) or a bare ``secret`` is reported even at low
  entropy (``hunter2``, rule ``password-assignment``) when it is a literal of 6 to 23
  characters with a digit (or mixing cases and a symbol), and not a placeholder, a weak
  stand-in (``changeme``, ``admin123``), an identifier, a stored hash's format, an
  environment look-up or code; not in documentation files, whose passwords are examples.
  Other names (tokens, keys) need a random-looking value: those are generated, not typed.
* Unquoted values count only outside programming-language files: ``password: x`` in YAML
  or ``.env`` is a literal, ``password = x`` in Python is a variable -- unless the
  assignment sits inside a string literal, as in a libpq connection string
  ``"host=db user=app password=..."``, or inside a multi-line string (a Python triple-quoted
  string, a JS/Go template literal, a Kotlin/Java text block, a Ruby/PHP heredoc), whose
  lines are read as the configuration they usually hold.
* Some formats assign without ``=`` or ``:``, and are read in files of that format only:
  Dockerfile's ``ENV NAME value``, ``.netrc``'s ``password value``, and a Terraform
  ``variable "db_password" { default = "..." }``.
* Compound credentials -- an AWS access key id and its secret key, a Twilio SID and its
  auth token, an Azure/Entra client id and its secret, an Algolia application id and its
  admin key, an Alibaba AccessKey id and its secret -- are one finding, on the secret's
  line, with ``data = {"pair": <id rule>, "pair_line": N}``. The id is looked for within
  five lines of the secret; a secret without a name (``Client("AC...", "<token>")``) is
  found through its id.
* A name-only vendor match (``DATADOG_API_KEY``, ``OKTA_TOKEN``) stays rule
  ``keyword-secret`` with ``data["provider"]``: nothing in the value proves the vendor.
  A vendor shape that only a name makes readable (NuGet's ``oy2...``, crates.io's
  ``cio...``, an AWS session token, an Azure SAS ``sig=``) gets the vendor's rule.
* Inline allowlists: a finding on a line carrying ``gatehouse:allow`` or detect-secrets'
  ``pragma: allowlist secret`` (or below ``pragma: allowlist nextline secret``) is kept,
  as severity INFO with ``data["allowlisted"]`` naming the marker, so a scan lists what was
  allowlisted and a gate does not block on it.
* One value on several lines of a file (a test URL repeated) is one finding, on its first
  line, with ``data["count"]`` and ``data["lines"]`` (at most 100 line numbers).
* Hostile input: every repeat is bounded (a token of a few hundred characters at most) and
  possessive, and a JWT starts only at a word boundary, so no text makes a pass quadratic.
  Each candidate still costs some microseconds of Python, so a file that is nothing but
  ``password=`` repeated scans at under 1 MB/s; the engine's time limit is the backstop.
  What a candidate reads around it is bounded too (its line's quotes within 2,000
  characters, a pair's five lines, the ids near it), so a one-line file is no worse.
* ``identity`` is the SHA-256 of the value, as the scanning design asks. For a weak
  password that hash can be reversed by a dictionary attack, so it must be treated as
  sensitive too (never shown on a public page).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import hashlib
import json
import math
import re
import string
import urllib.parse
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from scans.detectors.base import Finding, Kind, Policy, Severity

_BINARY_SNIFF = 8192
_EXCERPT_WIDTH = 160

# fmt: off
_LOCK_FILES = frozenset({
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock",
    "poetry.lock", "pipfile.lock", "pdm.lock", "uv.lock", "go.sum", "cargo.lock",
    "composer.lock", "gemfile.lock", "podfile.lock", "pubspec.lock", "mix.lock", "flake.lock",
    "packages.lock.json", "gradle.lockfile", "conda-lock.yml",
})
# Programming languages: an unquoted value after ``=`` is an expression, not a literal.
_CODE_SUFFIXES = frozenset({
    ".py", ".pyi", ".pyx", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".java", ".kt", ".kts",
    ".scala", ".groovy", ".gradle", ".go", ".rb", ".php", ".cs", ".fs", ".vb", ".c", ".h",
    ".cc", ".cpp", ".cxx", ".hpp", ".m", ".mm", ".swift", ".rs", ".dart", ".lua", ".pl", ".pm",
    ".r", ".jl", ".ex", ".exs", ".erl", ".clj", ".vue", ".svelte", ".vim", ".el",
})
# Style sheets and vector images: `.icon-pass:before{...}` names no password.
_NO_KEYWORD_SUFFIXES = frozenset({".css", ".scss", ".sass", ".less", ".styl", ".svg", ".map"})
_DOC_SUFFIXES = frozenset({
    ".md", ".markdown", ".rst", ".txt", ".adoc", ".asciidoc", ".textile", ".org",
})
# SHA-256 of values published in vendors' documentation and in RFCs, copied into countless
# docstrings: the jwt.io sample token, Stripe's documented test keys, the Azurite
# development storage key, GitHub's sample token, the OAuth examples of RFC 6749 and RFC
# 5849. Kept as hashes so that this file does not itself look like it holds credentials.
_DOCUMENTATION_EXAMPLES = frozenset({
    "7f75367e7881255134e1375e723d1dea8ad5f6a4fdb79d938df1f1754a830606",
    "2cafc0970149a84f3b9e62eaf169f36f59907a3b3e31f7b82e68c69cd27f7326",
    "f2d6ca16515033e5dce14eba840b979d27b5cbae24bb3e5bf484339667f86397",
    "0011cc25eb4320717494d2703e8cba85743e71b500283c21c8b88147992f9059",
    "3543c50b0cb9cea8e55eb1f529b79f043cb250d485fde7b66cabbb5183add7da",
    "6c96130f130ab0d6d158397e24d2bcc1c9a5e73ae081f6e983f1c7b545d24a4c",
    "00cf4c781dc37003f7c7dd7d4c9a6ef1e0f4c62d9a291aa8bc398774e3fefd32",
    "ca7459e2b26776de081b9a07e40227fd6cff232a1e3233ff6b6aa6d036ca9981",
    "a35b81a7d7927b70ec99270dd2362b88580a28574af812f2c02f56469579186f",
    "293257ab6495ebb11cf9e4aee0686ca30df8de2ab8d251f2cbbcf177bdfcae91",
    "cb87c87e4a138d9a72259d2a01bab15623c9846e568c1509b287721645a6ea53",
    "4c20e6f5cc11b93731e74cbe20739821d61c3563c9f50ecb884a27cd369f01fb",
    "6aa14267d94944e6b6483c81f5ad37f87bbc7e88aa368d4aba1e71e0b79cd8c4",
    "bb9b1163338b2a51495834ad5c65420443d6327381cf0f94ebf92b117f209d72",
    "649e1f5c769e718ba10d1a702a36499a731441d960b06da91c4c97786bf84595",
    "8d567eb88afff34f31ab97fbb2731e582703bdeaf3c92b989cf568e0b23cef31",
    "9d03b692e941d5ace207a9f8048834439f6de98e5c6c1590c22c4f4577c88a42",
    "53f5da0aaa93d64cd5772c554cbf940f0539e689dddbeb8f923eec3f72c02ea9",
})
# Passwords in URLs that are a service's documented default or a stand-in, not a secret.
_DEFAULT_URL_PASSWORDS = frozenset({
    "pass", "pw", "pwd", "root", "admin", "guest", "postgres", "mysql", "redis", "rabbitmq",
    "mongo", "mongodb", "oracle", "sa", "user", "foo", "bar", "baz", "qux", "abc", "abc123",
    "pass123", "dev", "demo", "local", "localhost", "tiger", "anonymous",
})
# fmt: on

# Words that mark a made-up value. Searched case-insensitively in the value, so that
# "EXAMPLEKEY", "<token>", "${VAR}" or "my-secret-here" are all caught. A random secret
# holds one of these with negligible probability; the short words below (four letters) it
# holds often enough to matter, so in long values they count only between separators:
# "your_api_key_here", "sk_test_...", "fake-token".
_PLACEHOLDER = re.compile(
    r"example|sample|dummy|placeholder|change_?me|change-me|changeit|redacted|replace|insert"
    r"|fixme|lorem|foobar|secret|passw|token|api_?key|undefined|qwerty|12345|abcde"
    r"|x{5}|0{6}|\*\*\*|\.\.\.|•|<|>|\{\{|\}\}|\$\{|%\(|%s\b",
    re.IGNORECASE,
)
_SHORT_WORDS = r"test|here|your|fake|mock|todo|none|null|demo"
_SHORT_PLACEHOLDER = re.compile(_SHORT_WORDS, re.IGNORECASE)
_SHORT_PLACEHOLDER_WORD = re.compile(
    rf"(?:^|[^a-z0-9])(?:{_SHORT_WORDS})(?:$|[^a-z0-9])", re.IGNORECASE
)
# The same, after undoing common letter substitutions ("P@ssw0rd", "S3cr3t", "adm1n").
_LEET = str.maketrans("@4310$5!7", "aaeiossit")
_WEAK_WORDS = re.compile(
    r"ssword|passwd|secret|admin|letmein|welcome|qwerty|changeme|default|anonymous"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-f]+|[0-9A-F]+")
_HASH_PREFIX = re.compile(
    r"(?:sha-?\d*|md5|blake2b?|crc32|h1|pbkdf2_\w+|argon2\w*|bcrypt|scrypt)[:$-]"
    # crypt(3)'s stored passwords: `$6$rounds=656000$salt$hash`, `$2b$12$...`, `$y$...`
    r"|\$(?:[1256y]|2[abxy]|gy|7|argon2(?:id|i|d)|scrypt|pbkdf2(?:-sha\d+)?|sha\d*|md5)\$",
    re.IGNORECASE,
)
_HOST = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?::\d+)?")
_REFERENCE_PART = re.compile(r"[$_]?[A-Za-z][a-z0-9]*|[$_]?[A-Za-z][\w$]*")
_CALL = re.compile(r"[A-Za-z_$][\w$.]*\(")
# Before a quoted name that a value follows as the next item: a call's first argument
# (`put(`, `Setenv(`), or a pair's first element (`{ {`, `[(`, `= (`).
_CALL_OPENING = re.compile(r"(?:\w\(|[\[{(,=][ \t]*[({])[ \t]*$")
# Where an unquoted value ends before white space: at an escape (`\n`, `\"`: the value is
# inside a string literal), or at the next `name=` of a list (`a=1;b=2`, `k=v:k2=v2`).
_BARE_END = re.compile(r"\\[nrt\"']|[;&:,][ \t]*[A-Za-z_][\w.-]{0,40}=")
_WORDISH = re.compile(
    r"[a-z]+\d*(?:[_.|\-](?:[a-z]+\d*|\d+))*"  # lower-case words: my-app, scram-sha-256, a|b
    r"|[A-Z]+\d*(?:[_-](?:[A-Z]+\d*|\d+))*"  # constants: DB_PASSWORD, MIT-MAGIC-COOKIE-1
    r"|[a-z]+(?:[A-Z][a-z]+)+\d{0,4}"  # camelCase words
    r"|_?(?:[A-Z][a-z]+)+\d{0,4}(?:-(?:[A-Z][a-z]+)+)*"  # PascalCase: _Private, ConvertTo-Json
)
# Not literals either: a command-line option (`--status`), an assignment (`KEY=value`), and
# a JWT without a signature (`alg: none`), which authenticates nothing.
_NOT_A_LITERAL = re.compile(
    r"--?[a-z][a-z0-9-]*"
    r"|(?:[A-Z][A-Z0-9_]*|[a-z][a-z0-9_]*)=(?:[A-Z][A-Z0-9_]*|[a-z][a-z0-9_.-]*)"
    r"|eyJ[\w-]+\.[\w-]*\.[\w-]{0,15}"
)
# A lower-case path or repository id (`org/model-name`, `wan-2.1/t2v-480p`): never a
# generated token or key (a typed password may hold a slash: `apples/oranges`).
_LOWER_PATH = re.compile(r"[a-z0-9][a-z0-9._~-]*(?:/[a-z0-9._~-]+)+/?")
_NUMBERED_NAME = re.compile(r"\d+(?:[_.-][a-z]+\d*)+")
_CONSTANT = re.compile(r"[A-Z]+\d*(?:_[A-Z]+\d*)*")
_TEMPLATE = re.compile(r"\$\{|\$\(|\{\{|\}\}|#\{|%\(|%[sd]\b|\{\d*\}|\{[a-z_]\w*\}")
_ENV_REFERENCE = re.compile(r"\$[A-Za-z_({].*|%[A-Za-z_]\w*%")
# Paths: absolute or relative with lower-case segments, anything with a slash that ends in
# a file extension (base64 has no dots), or a Windows drive.
_PATH = re.compile(
    r"(?:~|\.{1,2})?(?:/{1,2}[A-Za-z_.@][a-z0-9_.@-]*)+/?"  # also `//event/client/failed`
    r"|[\w.~-]*/.*\.[A-Za-z]{1,5}"
    r"|[A-Za-z]:\\.*"
)
# A file's name (or path) by its extension: `server.pem`, `C:/keys/client.p12`, `sa.json`.
# Random secrets hold no dot followed by one of these.
_FILE_NAME = re.compile(
    r"\S*\.(?:pem|crt|cer|der|key|p12|pfx|jks|keystore|truststore|p8|pub|ppk|gpg|asc|kdbx"
    r"|json|txt|ya?ml|xml|conf|cfg|ini|env|properties|toml|csv|log|db|sqlite3?|bin|dat)",
    re.IGNORECASE,
)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{8,}={0,2}")
_CHAR_CLASSES = tuple(map(re.compile, (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]")))
_WHITESPACE = re.compile(r"\s")
_LETTER = re.compile(r"[^\W\d_]")

# --- names ------------------------------------------------------------------------------

_NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-$")
# fmt: off
_PASSWORD_WORDS = frozenset({
    "password", "passwd", "pwd", "pass", "passphrase", "passcode", "pw", "psw", "pswd",
})
_SECRET_WORDS = frozenset({
    "secret", "secrets", "token", "tokens", "credential", "credentials", "creds", "cred", "auth",
})
# `<qualifier> key` names a secret (api key, signing key); a bare `key` does not.
_KEY_QUALIFIERS = frozenset({
    "api", "access", "private", "secret", "signing", "sign", "encryption", "encrypt", "master",
    "client", "consumer", "app", "application", "auth", "shared", "session", "account",
    "subscription", "storage", "hmac", "jwt", "aes", "crypto", "cipher", "deploy", "admin",
    "service", "root", "webhook",
})
# A name holding any of these words names something about a secret, not the secret itself.
_NOT_SECRET_NAME_WORDS = frozenset({
    "hash", "hashed", "hashes", "hasher", "digest", "checksum", "sha", "sha1", "sha256",
    "sha512", "md5", "crc", "length", "len", "min", "max", "size", "count", "type", "types",
    "kind", "name",
    "names", "field", "fields", "label", "prompt", "pattern", "patterns", "regex", "regexp",
    "re", "rx", "format", "fmt", "url", "uri", "urls", "endpoint", "path", "file", "filename",
    "dir", "directory", "env", "var", "variable", "header", "headers", "param", "parameter",
    "placeholder", "hint", "help", "message", "msg", "text", "error", "errors", "title",
    "description", "desc", "policy", "policies", "expiry", "expires", "expiration", "expire",
    "ttl", "timeout", "lifetime", "age", "id", "ids", "prefix", "suffix", "mode", "method",
    "methods", "strategy", "provider", "providers", "class", "module", "validator",
    "validators", "validation", "form", "input", "widget", "ref", "reference", "manager",
    "handler", "backend", "backends", "public", "publishable", "pub", "generator", "getter",
    "callback", "template", "salt", "algorithm",
    "algo", "alg", "version", "enabled", "enable", "required", "visible", "changed", "last",
    "updated", "created", "date", "time", "timestamp", "status", "state", "limit", "rotation",
    "location", "source", "lookup", "loader", "factory", "encoding", "encoder", "decoder",
    "serializer", "cache", "scope", "scopes", "audience", "issuer", "claim", "claims", "usage",
    "list", "map", "dict", "bucket", "arn", "mount", "volume", "char", "chars", "charset",
    "alphabet", "separator", "delimiter", "sep", "start", "end", "index", "idx", "pos",
    "offset", "line", "column", "col", "question", "answer", "confirm", "confirmation",
    "strength", "rules", "rule", "protocol",
})
# fmt: on
# Words naming the holder of a secret: after the secret word the name is the holder's
# (`auth_user`, `token_email`, `AUTH_USER_MODEL`), before it the holder's secret
# (`user_auth`, `email_password`, `login_token`).
_HOLDER_WORDS = frozenset({"user", "username", "login", "email"})
# `<anything> key` names a secret (api key, stripeKey, validKey) unless the word before
# says which kind of key it is, and that kind is not a secret: a cache or dictionary key,
# a database's primary or sort key, a translation key, a key's fingerprint.
# fmt: off
_NOT_KEY_QUALIFIERS = frozenset({
    "cache", "primary", "foreign", "sort", "partition", "range", "lookup", "natural",
    "composite", "unique", "idempotency", "dedup", "dedupe", "group", "order", "ordering",
    "translation", "i18n", "l10n", "locale", "lang", "language", "object", "s3", "item",
    "entry", "node", "row", "lock", "queue", "dict", "hot", "shortcut", "keyboard", "css",
    "style", "cursor", "page", "next", "prev", "previous", "parent", "child", "gpg", "pgp",
    "gnupg", "fingerprint", "thumbprint", "fpr", "meta", "metadata", "attr", "attribute",
    "prop", "property", "setting", "settings", "config", "option", "options", "cookie", "local",
    "react", "vue", "public", "pub", "ssh", "host", "known", "trusted", "hash", "map",
    "sorting", "cluster", "shard", "routing", "message", "i18next", "label", "form", "field",
    "column", "table", "index", "search", "query", "filter", "state", "context", "redux",
    "store", "registry", "deprecated", "legacy", "old", "new", "raw", "default", "missing",
    "invalid", "unknown", "dynamic", "static", "pressed", "press", "down", "up", "enter",
    "escape", "esc", "tab", "space", "arrow", "modifier", "mod", "ctrl", "alt", "shift",
    "music", "piano", "license", "licence", "spdx"
})
# fmt: on
# One-word compounds: `dbpass`, `adminpwd`, `stripekey`.
_PASS_COMPOUND_PREFIXES = frozenset(
    {
        "db",
        "my",
        "user",
        "admin",
        "root",
        "sql",
        "mysql",
        "pg",
        "smtp",
        "mail",
        "ftp",
        "ldap",
        "redis",
        "app",
        "api",
        "svc",
        "service",
        "wifi",
        "ssh",
        "vnc",
        "proxy",
        "master",
        "sa",
    }
)  # fmt: skip
_KEY_COMPOUND_PREFIXES = _KEY_QUALIFIERS | {
    "stripe", "twilio", "sendgrid", "mailgun", "openai", "google", "maps", "firebase",
    "algolia", "datadog", "aws", "azure", "product", "live", "prod",
    "x", "gcp", "mapbox", "github", "gitlab", "slack", "heroku",
}  # fmt: skip
_SECRET_COMPOUNDS = ("password", "passwd", "passphrase", "secret", "token", "credential")
_NOT_SECRET_COMPOUNDS = ("tokeniz", "secretar")
_SETTER_WORDS = frozenset({"set", "with", "use"})
_KEYWORD_WORDS = _PASSWORD_WORDS | _SECRET_WORDS | _KEY_QUALIFIERS | {"key"}


def _name_words(name: str) -> list[str]:
    return [word.lower() for word in _NAME_WORDS.findall(name)]


@functools.lru_cache(maxsize=4096)  # the same few names recur in every file
def _secret_name(name: str) -> str | None:
    """'password' or 'secret' when ``name`` names a secret value, 'key' when it only ends
    in key (its value must look generated: see _generated_key), else None."""
    if name in ("PWD", "OLDPWD"):
        return None  # the shell's working directory
    words = _name_words(name)
    if not words or any(word in _NOT_SECRET_NAME_WORDS for word in words):
        return None
    kind, at = _secret_word(name, words)
    if kind is not None and any(word in _HOLDER_WORDS for word in words[at + 1 :]):
        return None  # `auth_user`, `password_login`: the holder, not the secret
    return kind


def _secret_word(name: str, words: list[str]) -> tuple[str | None, int]:
    """The kind of secret ``words`` name ('password', 'secret', 'key'), and the index of
    the word that says so."""
    for i, word in enumerate(words):
        if word in _PASSWORD_WORDS or "password" in word or "passwd" in word:
            return "password", i
    for i, word in enumerate(words):
        if word.endswith(("pass", "pwd")) and (
            word[: -4 if word.endswith("pass") else -3] in _PASS_COMPOUND_PREFIXES
        ):
            return "password", i  # dbpass, adminpwd
    for i, word in enumerate(words):
        if word in _SECRET_WORDS:
            return "secret", i
        if any(bad in word for bad in _NOT_SECRET_COMPOUNDS):
            continue
        if any(part in word for part in _SECRET_COMPOUNDS):
            return "secret", i
        if word in ("key", "keys") and i:
            if words[i - 1] in _KEY_QUALIFIERS:
                return "secret", i
            # a name that ends in key (stripeKey, validKey): unless it says which kind, or
            # the key is an object's (`o.key`, `event.key`)
            own = _name_words(name.rsplit(".", 1)[-1])
            if i == len(words) - 1 and len(own) > 1:
                kinds = own[:-1]
                joined = "".join(kinds)
                if not any(w in _NOT_KEY_QUALIFIERS for w in kinds) and not any(
                    kind in joined for kind in ("s3", "i18n", "l10n")
                ):
                    return "key", i
        if word.endswith("key") and word[:-3] in _KEY_COMPOUND_PREFIXES:
            return "secret", i
    return None, -1


def _uuid_key_name(name: str) -> bool:
    """Whether ``name`` says API key or token, whose value may be a UUID: see above."""
    words = _name_words(name)
    if not words or words[-1] not in _UUID_KEY_HEADS:
        return False
    return (
        words[-1].startswith("api")
        or "api" in words
        or (len(words) > 1 and words[-2] in _UUID_KEY_QUALIFIERS)
    )


@functools.lru_cache(maxsize=4096)
def _typed_secret_name(name: str) -> bool:
    """A name whose value a person types: one that ends in a password word (`password`,
    `db_pass`, `MYSQL_ROOT_PASSWORD`, `adminPwd`), or a bare `secret`; not a name about
    passwords (`HTTPPasswordMgr`, `password_reset`)."""
    words = _name_words(name)
    if words in (["secret"], ["secrets"]):
        return True
    if not words or _secret_name(name) != "password":
        return False
    last = words[-1]
    return last in _PASSWORD_WORDS or last.endswith(("password", "passwd", "pass", "pwd"))


# --- values -----------------------------------------------------------------------------


def _entropy(value: str) -> float:
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _char_classes(value: str) -> int:
    """How many of lower-case, upper-case, digits and other characters ``value`` holds."""
    return sum(1 for regex in _CHAR_CLASSES if regex.search(value))


def _identity(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _has_placeholder_words(value: str) -> bool:
    short = _SHORT_PLACEHOLDER if len(value) < 24 else _SHORT_PLACEHOLDER_WORD
    return bool(_PLACEHOLDER.search(value) or short.search(value))


def _is_placeholder(value: str, *, leet: bool = True) -> bool:
    """A made-up or redacted value: placeholder words, masks, repeated or sequential runs.
    With ``leet``, also weak words spelled with substitutions (``P@ssw0rd``, ``s3cr3t``)."""
    if _has_placeholder_words(value):
        return True
    if leet and _WEAK_WORDS.search(value.lower().translate(_LEET)):
        return True
    counts = Counter(value)
    if len(counts) <= 3 or counts.most_common(1)[0][1] * 2 > len(value):
        return True
    return _identity(value) in _DOCUMENTATION_EXAMPLES


def _decoded_base64_text(value: str) -> str | None:
    """The text a base64 value encodes, when it encodes printable text (a k8s Secret)."""
    if len(value) % 4 or not _BASE64.fullmatch(value):
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 4 or not all(32 <= b < 127 for b in raw):
        return None
    return raw.decode("ascii")


def _looks_random(value: str, *, min_length: int) -> bool:
    """High entropy for its length and alphabet: what a generated secret looks like."""
    n = len(value)
    if n < min_length:
        return False
    if _HEX.fullmatch(value):
        has_digit = _CHAR_CLASSES[2].search(value) is not None
        has_letter = _LETTER.search(value) is not None
        enough = _entropy(value) >= min(0.6 * math.log2(n), 3.0)
        return n >= max(min_length, 16) and has_digit and has_letter and enough
    if _char_classes(value) < 2:
        return False
    # Random strings over 36..90 symbols stay above 0.7 * log2(n) bits per symbol (n <= 64)
    # in more than 99.9% of draws; words and identifiers mostly fall below it.
    return _entropy(value) >= min(0.7 * math.log2(n), 4.2)


def _plausible_literal(value: str, *, quoted: bool = True, word_digits: bool = False) -> bool:
    """False for references, templates, paths, hashes, ids and words: not a secret.
    With ``word_digits``, a word followed by digits (``hunter2``) is not taken for a word."""
    if not value or value[0] in "{[(" or _WHITESPACE.search(value):
        return False
    if not quoted and (value[0] in "*&!#@%-" or re.search(r"\\[nrt]", value)):
        return False  # YAML aliases, anchors, tags, comments; options; text with escapes
    if _ENV_REFERENCE.fullmatch(value) or (value[0] == "@" and value[-1] == "@"):
        return False
    if _TEMPLATE.search(value) or "://" in value or _PATH.fullmatch(value):
        return False
    if "." in value and _FILE_NAME.fullmatch(value):
        return False
    if _NOT_A_LITERAL.fullmatch(value):
        return False
    if _HASH_PREFIX.match(value) or _UUID.fullmatch(value):
        return False
    if _CALL.match(value) or _HOST.fullmatch(value) or _is_reference(value):
        return False
    if _WORDISH.fullmatch(value.rstrip("=")) and not (
        word_digits and _WORD_DIGITS.fullmatch(value)
    ):
        return False
    if _NUMBERED_NAME.fullmatch(value):
        return False  # 0001_initial, 2024_q3-report
    if ("(" in value and ")" in value) or ("[" in value and "]" in value):
        return False
    if not _LETTER.search(value) or _EMAIL.fullmatch(value):
        return False  # numbers, versions, dates, addresses
    return not value.startswith(("ENC[", "vault:", "arn:"))


def _is_reference(value: str) -> bool:
    """`settings.SECRET_KEY`, `self.token`, `a:dict.istemp`: names joined by dots."""
    parts = re.split(r"[.:]", value)
    return len(parts) > 1 and all(
        _REFERENCE_PART.fullmatch(part)
        and (_WORDISH.fullmatch(part.lstrip("$_")) or len(part) <= 2)
        for part in parts
    )


def _plausible_secret(value: str, *, password: bool, quoted: bool) -> bool:
    if _PLACEHOLDER.search(value) or not _plausible_literal(value, quoted=quoted):
        return False
    if not password and "/" in value and _LOWER_PATH.fullmatch(value):
        return False
    if _is_placeholder(value):
        return False
    decoded = _decoded_base64_text(value)
    if decoded is not None and (
        _is_placeholder(decoded) or _WORDISH.fullmatch(decoded) or len(decoded) < 6
    ):
        return False
    if password:
        return _looks_random(value, min_length=8)
    return _looks_random(value, min_length=12 if _char_classes(value) >= 3 else 16)


# A word and digits: a typed password (hunter2, Summer2024) unless it names a technology.
_WORD_DIGITS = re.compile(r"[A-Za-z]{3,}\d+[!?.#@$%*]?")
_TECHNICAL_WORD = re.compile(
    r"(?:sha|md|base|utf|latin|ucs|iso|pbkdf|argon|scrypt|bcrypt|rsa|aes|des|ecdsa|ed|http"
    r"|tls|ssl|ipv|python|django|node|java|php|ruby|perl|mysql|postgres|postgresql|redis"
    r"|mongo|mariadb|oracle|win|windows|ubuntu|debian|centos|alpine|lib|log|level|version"
    r"|step|stage|phase|item|value|field|column|row|col|page|test|user|admin|guest|demo"
    r"|sample|secret|pass|password|root|default|abc|xyz|qwerty|asdf|foo|bar|baz|temp|tmp)"
    r"\d+",
    re.IGNORECASE,
)


def _unicode_classes(value: str) -> int:
    """Like _char_classes, with letters of any script counted as letters (sésame)."""
    return (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not c.isalnum() for c in value)
    )


def _plausible_weak_password(value: str, *, quoted: bool) -> bool:
    """A typed password of low entropy (``hunter2``, ``Tr0ub4dor``): 6 to 64 characters,
    two classes of characters, not a placeholder, a weak stand-in, an identifier or code."""
    if not 6 <= len(value) <= 64 or _unicode_classes(value) < 2:
        return False
    if re.fullmatch(r"[a-z0-9_]+\$.*", value):
        return False  # a stored password's format, `algorithm$...`
    if not any(c.isdigit() for c in value) and _unicode_classes(value) < 3:
        return False  # words and type names (`string?`): a typed password has a digit,
        # or mixes cases and a symbol
    if value[0] in "{[(<$%@*&!#-" or _TECHNICAL_WORD.fullmatch(value):
        return False
    if value.lower() in _DEFAULT_URL_PASSWORDS or _is_placeholder(value):
        return False
    if _PLACEHOLDER.search(value) or not _plausible_literal(value, quoted=quoted, word_digits=True):
        return False
    if re.fullmatch(r"[A-Za-z]+[-_.][A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*", value):
        return False  # identifiers: en-us, utf-8, my_app2, v1.2
    decoded = _decoded_base64_text(value)
    return decoded is None or not (_is_placeholder(decoded) or _WORDISH.fullmatch(decoded))


# Word pieces: DBInstances, Ec2SubnetId, AWS::CloudFormation::Module, hypothesis-stats-2.
# Each piece is atomic and the run possessive: a run of letters or digits is read one way,
# never re-split (exponential on a long lower-case run that then fails).
_IDENTIFIER = re.compile(r"(?:(?>[A-Z]?[a-z]{2,})|(?>[A-Z]+(?![a-z]))|(?>\d{1,4})|[_\-:./])++")


_CASE_SEGMENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def _generated_key(value: str) -> bool:
    """What a value given a name that only ends in key (`resultKey`, `stripeKey`) must
    look like to be a key: generated -- 16+ characters with digits and letters, not pieces
    of words -- since such names hold a dictionary's keys and a table's columns as often.
    Pieces of words: an identifier's (`Ec2SubnetId`), or a camelCase name whose pieces
    (`height`, `Of`, `WGS`, `84`) average 3.5 characters or more, which random letters and
    digits of mixed case do in fewer than 1 draw in 200."""
    if (
        len(value) < 16
        or _CHAR_CLASSES[2].search(value) is None
        or _LETTER.search(value) is None
        or _IDENTIFIER.fullmatch(value)
    ):
        return False
    if value.isalnum() and not value.islower() and not value.isupper():
        return len(value) < 3.5 * len(_CASE_SEGMENT.findall(value))
    return True


def _plausible_url_password(password: str, user: str) -> bool:
    """A URL's password, unless it is a stand-in: a word (``tiger``), words that say what
    belongs there (``some_pass``, ``password1``, ``changeme``), a service's default, a
    reference. Weak words spelled with substitutions (``s3cr3t``, ``p%40ssword``) are
    typed by a person, and count: in a URL they log in somewhere."""
    password = urllib.parse.unquote(password)
    if len(password) < 6 or password.lower() == user.lower() or ":" in password:
        return False  # short stand-ins, and CVS's `:pserver:` read as a password
    if password.isalpha() and password.islower():
        return False  # a word: scott:tiger, root:masterkey
    if _URL_STAND_IN.fullmatch(password):
        return False
    if password[0] in "$%{<[*(:" or password.lower() in _DEFAULT_URL_PASSWORDS:
        return False
    if password.isdigit() and len(password) <= 5:
        return False  # host:port read as user:password
    if _CONSTANT.fullmatch(password):
        return False  # a name standing in for the value: SAS_KEY, PASSWORD
    return not (_TEMPLATE.search(password) or _is_placeholder(password, leet=False))


# Words that stand in for a URL's user or password, joined (`some_pass`, `my-password`,
# `db_password1`, `user_pass`, `changeme123`).
_STAND_IN_WORD = (
    r"(?:pass(?:word|wd|phrase)?|pwd?|secret|changeme|change_?it|admin|root|default|letmein"
    r"|welcome|qwerty|test(?:ing)?|example|sample|dummy|fake|user(?:name)?|usr|login|name"
    r"|some|my|your|the|db|database|foo|bar|baz|qux|app|service|x+)"
)
# Atomic and possessive: a run of digits or of `x` is read one way only, never
# re-split (which takes exponential time on `changeme` and 30 digits and a `?`).
_URL_STAND_IN = re.compile(
    rf"(?>{_STAND_IN_WORD})(?:[_.-]?(?>{_STAND_IN_WORD}|\d{{1,4}}))*+[!.]?", re.IGNORECASE
)


# --- provider formats -------------------------------------------------------------------

# A check's verdict: "" (keep, under the provider's rule), another rule name (keep, under
# that rule), None (not this format, or doubtful: not claimed, so the keyword rule still
# judges the value), or _MADE_UP (a checksum or header proves it made up: claimed, silent).
_MADE_UP = "!"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _base62(number: int, width: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    return digits.rjust(width, "0")


def _random_tail(value: str, skip: int, *, min_length: int = 16) -> bool:
    tail = value[skip:]
    return not _is_placeholder(tail) and _looks_random(tail, min_length=min_length)


def _check_tail(skip: int, min_length: int = 16) -> Callable[[str], str | None]:
    """A check that the part after a vendor prefix of ``skip`` characters looks random."""

    def check(value: str) -> str | None:
        return "" if _random_tail(value, skip, min_length=min_length) else None

    return check


def _check_part(start: int, end: int, min_length: int = 16) -> Callable[[str], str | None]:
    """A check that ``value[start:end]`` (the random part around a signature) looks random."""

    def check(value: str) -> str | None:
        part = value[start:end]
        return (
            "" if not _is_placeholder(part) and _looks_random(part, min_length=min_length) else None
        )

    return check


def _check_aws(value: str) -> str | None:
    tail = value[4:]
    return "" if not _is_placeholder(tail) and len(set(tail)) >= 8 else None


def _check_crc32_base62(prefix: int) -> Callable[[str], str | None]:
    """GitHub's and npm's format: 30 random base62 characters, then the CRC32 of those 30
    in 6 base62 digits. A value of that length with a wrong checksum is made up."""

    def check(value: str) -> str | None:
        body = value[prefix:]
        if len(body) != 36:
            return "" if _random_tail(value, prefix, min_length=30) else None
        if _base62(zlib.crc32(body[:30].encode()), 6) != body[30:]:
            return _MADE_UP
        return "" if _random_tail(body[:30], 0, min_length=24) else None

    return check


def _check_slack(value: str) -> str | None:
    """Slack's tokens: numeric ids (team, user, app) and a random part, dash-separated --
    bot ``xoxb-<team>-<bot>-<24>`` (legacy ``xoxb-<id>-<24>``), user ``xoxp-`` and
    legacy ``xoxs-``/``xoxo-`` ``<id>-<id>-<id>-<hex>``, app-level
    ``xapp-<n>-<app>-<id>-<hex>``, configuration ``xoxe.xoxp-<n>-<base62>`` and refresh
    ``xoxe-<n>-<base62>``, workspace ``xoxa-2-...``/``xoxr-``, client ``xoxc-``. The ids
    are not secret, and are often made up (`123456789012`): the random part is judged,
    unless an id is one digit repeated or the random part holds a run (a mask's `ffff...`)."""
    parts = value[5:].split("-")
    ids = [part for part in parts if part.isdigit()]
    words = "".join(part for part in parts if not part.isdigit())
    secret = parts[-1]  # the random part ends the token
    if not words or secret.isdigit() or _is_placeholder(words):
        return None
    if any(len(part) > 3 and len(set(part)) == 1 for part in ids) or _RUN.search(secret):
        return None
    if ids and len(secret) >= 8 and sum(map(len, ids)) >= 16:
        ok = _entropy(secret) >= 2.0  # the ids are the structure: `xoxs-<3 ids>-<10 hex>`
    elif ids:
        ok = _looks_random(secret, min_length=12)
    else:  # no id (`xoxa-<12>`): only random letters and digits of every kind
        ok = _char_classes(secret) == 3 and _looks_random(secret, min_length=12)
    return "" if ok else None


def _check_slack_cookie(value: str) -> str | None:
    """``xoxd-``: a browser session's cookie, a long (often URL-encoded) base64 value."""
    tail = urllib.parse.unquote(value[5:])
    return "" if _random_tail(tail, 0, min_length=60) else None


_RUN = re.compile(r"(.)\1{7}")  # eight of a character: a mask or padding, not randomness
_OPENAI_KINDS = re.compile(r"(?:proj|svcacct|admin|service|None)-")


def _check_openai(value: str) -> str | None:
    if value.startswith("sk-ant-"):
        # sk-ant-api03-<93>AA, sk-ant-admin01-..., sk-ant-oat01-...
        kind = re.match(r"sk-ant-[a-z]{2,8}\d{2}-", value)
        if not kind:
            return None
        return "anthropic-key" if _random_tail(value, kind.end(), min_length=32) else None
    body = value[3:]
    kind = _OPENAI_KINDS.match(body)
    if kind:
        body = body[kind.end() :]  # `admin`, `proj` are words, not placeholders
    if "T3BlbkFJ" in body:  # base64 of "OpenAI", between two random halves
        before, _, after = body.partition("T3BlbkFJ")
        halves = before + after
        ok = len(before) >= 16 and len(after) >= 16 and not _is_placeholder(halves)
        return "" if ok and _looks_random(halves, min_length=32) else None
    if kind is None and _char_classes(body.replace("-", "").replace("_", "")) < 3:
        return None  # CSS classes and slugs: "sk-button-primary-large"
    return "" if _random_tail(body, 0, min_length=20) else None


def _check_stripe(value: str) -> str | None:
    if not _random_tail(value, 8, min_length=10):
        return None
    return "stripe-test-key" if "_test_" in value[:8] else ""


def _check_telegram(value: str) -> str | None:
    bot, _, tail = value.partition(":")
    if not 8 <= len(bot) <= 12:
        return None
    return "" if _random_tail(tail, 0, min_length=30) else None


def _b64_json(part: str) -> dict | None:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, binascii.Error):
        return None
    return decoded if isinstance(decoded, dict) else None


def _b64url_bytes(part: str) -> bytes | None:
    """What a base64url part decodes to, a dangling last character dropped."""
    if len(part) % 4 == 1:
        part = part[:-1]
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (ValueError, binascii.Error):
        return None


# A JWT header that is not quite JSON (hand-made, spaced, bytes garbled) is still one when
# it opens an object whose first keys include "alg" or "typ".
_JWT_HEADER_BYTES = re.compile(
    rb'\{\s*"[^"]{0,20}"\s*:[^\n]{0,200}?"(?:alg|typ)"\s*:|\{\s*"(?:alg|typ)"'
)


def _check_jwt(value: str) -> str | None:
    header, payload, signature = value.split(".", 2)
    decoded = _b64_json(header)
    claims = _b64url_bytes(payload)
    if claims is None:
        return None
    if decoded is not None:
        if not ({"alg", "typ"} & decoded.keys()):
            return None  # not a JWT after all
    elif not _JWT_HEADER_BYTES.match(_b64url_bytes(header) or b""):
        return None
    if _identity(value) in _DOCUMENTATION_EXAMPLES or _has_placeholder_words(signature):
        return _MADE_UP  # a JWT, made up: no keyword rule should take it either
    return _MADE_UP if re.search(rb"dummy|placeholder", claims, re.IGNORECASE) else ""


def _check_pypi(value: str) -> str | None:
    """A PyPI token is a macaroon: its header names its location, pypi.org."""
    head = value[5:49]
    try:
        raw = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except (ValueError, binascii.Error):
        return _MADE_UP
    if raw[:2] != b"\x02\x01" or not raw[3 : 3 + raw[2]].endswith(b"pypi.org"):
        return _MADE_UP
    return "" if _random_tail(value, 30, min_length=30) else None


def _check_grafana_cloud(value: str) -> str | None:
    tail = value[4:]
    if tail.startswith("eyJ"):  # base64 of a JSON object: {"o":org,"n":name,"k":key,"m":..}
        decoded = _decoded_json(tail)
        if decoded is None or "k" not in decoded:
            return None
        return "" if _random_tail(str(decoded["k"]), 0, min_length=16) else None
    return "" if _random_tail(value, 4, min_length=32) else None


def _decoded_json(part: str) -> dict | None:
    try:
        decoded = json.loads(
            base64.b64decode(part.rstrip("=") + "=" * (-len(part.rstrip("=")) % 4))
        )
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return decoded if isinstance(decoded, dict) else None


def _check_grafana_sa(value: str) -> str | None:
    """glsa_<32 random>_<CRC32 of "glsa_<random>", little-endian, in hex>."""
    key, _, checksum = value.rpartition("_")
    expected = zlib.crc32(key.encode()).to_bytes(4, "little").hex()
    if checksum.lower() != expected:
        return _MADE_UP
    return "" if _random_tail(key, 5, min_length=24) else None


def _check_sentry_org(value: str) -> str | None:
    payload, _, secret = value[7:].rpartition("_")
    decoded = _decoded_json(payload)
    if decoded is None or not ({"iat", "url", "region_url", "org"} & decoded.keys()):
        return None
    return "" if _random_tail(secret, 0, min_length=32) else None


def _check_atlassian(value: str) -> str | None:
    if not re.fullmatch(r"AT[AC]TT3[\w=-]{100,300}=[0-9A-F]{8}", value):
        return None
    return "" if _random_tail(value[12:-9], 0, min_length=60) else None


def _check_mapbox(value: str) -> str | None:
    payload, _, signature = value[3:].partition(".")
    decoded = _b64_json(payload)
    if decoded is None or "u" not in decoded:
        return None
    return "" if _random_tail(signature, 0, min_length=16) else None


def _check_discord(value: str) -> str | None:
    """<base64 of the bot's numeric id>.<6: time>.<27 or 38: HMAC>."""
    user, _, rest = value.partition(".")
    try:
        raw = base64.b64decode(user + "=" * (-len(user) % 4), validate=True)
    except (ValueError, binascii.Error):
        return None
    if not (raw.isdigit() and 17 <= len(raw) <= 20):
        return None
    return "" if _random_tail(rest.partition(".")[2], 0, min_length=24) else None


def _check_entra(value: str) -> str | None:
    """<3 random><version digit>Q~<31 (version 7) or 34 (version 8) random>."""
    after = len(value) - 6
    if (value[3], after) not in (("7", 31), ("8", 34)):
        return None
    rest = value[:3] + value[6:]
    return "" if not _is_placeholder(rest) and _looks_random(rest, min_length=30) else None


def _check_cask(value: str) -> str | None:
    """Microsoft's common annotated security key: 52 random, JQQJ9, version, a provider
    signature at 76 (AZDO for an Azure DevOps personal access token)."""
    if not _random_tail(value[:52], 0, min_length=40):
        return None
    return "" if value[76:80] == "AZDO" else "azure-identifiable-key"


def _check_asana(value: str) -> str | None:
    if not re.fullmatch(r"[12]/\d{16}(?:/\d{16})?:[0-9a-f]{32}", value):
        return None
    return "" if _random_tail(value, value.index(":") + 1, min_length=32) else None


def _check_braintree(value: str) -> str | None:
    if not _random_tail(value, len(value) - 32, min_length=32):
        return None
    return "braintree-sandbox-token" if "$sandbox$" in value else ""


def _check_teams(value: str) -> str | None:
    if "/IncomingWebhook/" not in value:
        return None
    hook = re.search(r"/IncomingWebhook/([0-9a-f]{32})/", value)
    return "" if hook and _random_tail(hook.group(1), 0, min_length=32) else None


def _check_twilio_sid(value: str) -> str | None:
    return "" if _random_tail(value, 2, min_length=32) else None


@dataclass(frozen=True)
class _Provider:
    """A token format. ``pattern`` follows the ``anchor`` character; ``back`` counts the
    characters of the token before the anchor, which the pattern's look-behind checks."""

    rule: str
    anchor: str
    pattern: str
    back: int
    what: str
    show: int  # leading characters that are a public vendor prefix, safe to show
    check: Callable[[str], str | None]  # value -> "" (keep), another rule name, None...
    hash_safe: bool = True  # cannot occur inside a hex or base64 hash (lock files)
    boundary: str = "word"  # what may not touch the token: "word", "base64" or "entra"
    extend: str = ""  # characters the token may hold before ``back`` (a bot id's digits)
    trim_dot: bool = True  # a full stop after the token ends a sentence
    identifier: bool = False  # an id, not a secret: only pairs with its secret
    # The literal prefixes, ending in the anchor, that the pattern's look-behind checks: the
    # pass looks for them all at once (one look-behind per length) instead of rule by rule.
    prefixes: tuple[str, ...] = ()


_B64URL_CHARS = string.ascii_letters + string.digits + "_-"
_B64 = "A-Za-z0-9+/"
# fmt: off
_PROVIDERS = (
    # --- anchor A: AWS, Google, Alibaba, Atlassian, Square, New Relic, Artifactory, Twilio
    # SIDs, and Azure's identifiable keys (their signatures all hold an A).
    _Provider("aws-access-key", "A", r"(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}", 0,
              "AWS access key id", 4, _check_aws, hash_safe=False, boundary="base64"),
    _Provider("google-api-key", "A", r"Iza[\w-]{35}", 0,
              "Google API key", 4, _check_tail(4, 20), hash_safe=False, boundary="base64"),
    _Provider("alibaba-access-key", "A", r"I(?<=LTAI)[A-Za-z0-9]{12,20}", 2,
              "Alibaba Cloud AccessKey id", 4, _check_tail(4, 12), hash_safe=False,
              boundary="base64"),
    _Provider("atlassian-api-token", "A", r"T[AC]TT3[\w=-]{100,300}+", 0,
              "Atlassian API token", 6, _check_atlassian),
    _Provider("bitbucket-app-password", "A", r"TBB[A-Za-z0-9]{32}", 0,
              "Bitbucket app password", 4, _check_tail(4, 28), hash_safe=False),
    _Provider("square-token", "A", r"AA(?<=EAAA)[\w-]{60}", 1,
              "Square access token", 4, _check_tail(4, 40), hash_safe=False, boundary="base64"),
    _Provider("newrelic-key", "A", r"K-(?<=NRAK-)[A-Z0-9]{27}", 2,
              "New Relic user API key", 5, _check_tail(5, 20)),
    _Provider("newrelic-key", "A", r"L(?<=[0-9a-f]{36}NRAL)", 38,
              "New Relic license key", 0, _check_part(0, 36, 32), hash_safe=False),
    _Provider("artifactory-token", "A", r"KCp[A-Za-z0-9]{69}", 0,
              "JFrog Artifactory API key", 4, _check_tail(4, 40), hash_safe=False),
    _Provider("twilio-account-sid", "A", r"C[0-9a-f]{32}", 0,
              "Twilio account SID", 2, _check_twilio_sid, hash_safe=False, identifier=True),
    # a JWT whose header has a space after its brace: base64url of `{ "alg": ...}`
    _Provider("jwt", "A",
              r"(?<=eyA)(?<![\w-]eyA)i[\w-]{6,4000}+\.e[wy][\w-]{6,16000}+\.[\w-]{16,4000}+", 2,
              "JSON Web Token", 3, _check_jwt),
    _Provider("azure-function-key", "A", r"zFu(?<=[\w-]{44}AzFu)[\w-]{5}[AQgw]==", 44,
              "Azure Functions key", 0, _check_part(0, 44, 32), hash_safe=False,
              boundary="base64"),
    _Provider("azure-search-key", "A", r"zSe(?<=[A-Za-z0-9]{42}AzSe)[A-D][A-Za-z0-9]{5}", 42,
              "Azure AI Search key", 0, _check_part(0, 42, 32), hash_safe=False,
              boundary="base64"),
    _Provider("azure-cosmos-key", "A", rf"CDb(?<=[{_B64}]{{76}}ACDb)[{_B64}]{{5}}[AQgw]==", 76,
              "Azure Cosmos DB key", 0, _check_part(0, 76, 60), hash_safe=False,
              boundary="base64"),
    _Provider("azure-storage-key", "A", rf"St(?<=[{_B64}]{{76}}\+ASt)[{_B64}]{{5}}[AQgw]==", 77,
              "Azure storage account key", 0, _check_part(0, 76, 60), hash_safe=False,
              boundary="base64"),
    _Provider("azure-batch-key", "A", rf"Ba(?<=[{_B64}]{{76}}\+ABa)[{_B64}]{{5}}[AQgw]==", 77,
              "Azure Batch key", 0, _check_part(0, 76, 60), hash_safe=False, boundary="base64"),
    _Provider("azure-apim-key", "A", rf"PIM(?<=[{_B64}]{{76}}APIM)[{_B64}]{{5}}[AQgw]==", 76,
              "Azure API Management key", 0, _check_part(0, 76, 60), hash_safe=False,
              boundary="base64"),
    _Provider("azure-service-bus-key", "A",
              rf"(?:Sb|Eh|Rm)(?<=[{_B64}]{{33}}\+A(?:Sb|Eh|Rm))[A-P][{_B64}]{{5}}=", 34,
              "Azure Service Bus, Event Hubs or Relay key", 0, _check_part(0, 33, 28),
              hash_safe=False, boundary="base64"),
    _Provider("azure-container-registry-key", "A",
              rf"CR(?<=[{_B64}]{{42}}\+ACR)[A-D][{_B64}]{{5}}", 43,
              "Azure Container Registry key", 0, _check_part(0, 42, 32), hash_safe=False,
              boundary="base64"),
    _Provider("azure-redis-key", "A", rf"zCa(?<=[{_B64}]{{33}}AzCa)[A-P][{_B64}]{{5}}=", 33,
              "Azure Cache for Redis key", 0, _check_part(0, 33, 28), hash_safe=False,
              boundary="base64"),
    _Provider("azure-iot-key", "A", rf"IoT(?<=[{_B64}]{{33}}AIoT)[A-P][{_B64}]{{5}}=", 33,
              "Azure IoT key", 0, _check_part(0, 33, 28), hash_safe=False, boundary="base64"),
    _Provider("azure-event-grid-key", "A", rf"ZEG(?<=[{_B64}]{{33}}AZEG)[A-P][{_B64}]{{5}}=", 33,
              "Azure Event Grid key", 0, _check_part(0, 33, 28), hash_safe=False,
              boundary="base64"),
    # --- anchor _: prefixes ending in `_` (those with `prefixes` are looked for all at once)
    _Provider("replicate-token", "_", r"(?<=r8_)[A-Za-z0-9]{37}", 2,
              "Replicate API token", 3, _check_tail(3, 30), prefixes=("r8_",)),
    _Provider("grafana-token", "_", r"(?<=glsa_)[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}", 4,
              "Grafana service account token", 5, _check_grafana_sa, prefixes=("glsa_",)),
    _Provider("notion-token", "_", r"(?<=ntn_)[0-9]{11}[A-Za-z0-9]{35}", 3,
              "Notion integration token", 4, _check_tail(15, 30), prefixes=("ntn_",)),
    _Provider("figma-token", "_", r"(?<=figd_)[\w-]{40}", 4,
              "Figma personal access token", 5, _check_tail(5, 32), prefixes=("figd_",)),
    _Provider("rubygems-token", "_", r"(?<=rubygems_)[a-f0-9]{48}", 8,
              "RubyGems API key", 9, _check_tail(9, 40), prefixes=("rubygems_",)),
    _Provider("sentry-token", "_", r"(?<=sntryu_)[a-f0-9]{64}", 6,
              "Sentry user token", 7, _check_tail(7, 48), prefixes=("sntryu_",)),
    _Provider("digitalocean-token", "_", r"v1_(?<=do[opr]_v1_)[a-f0-9]{64}", 3,
              "DigitalOcean token", 7, _check_tail(7, 48)),
    _Provider("sentry-token", "_",
              r"eyJ(?<=sntrys_eyJ)[A-Za-z0-9+/=]{20,1000}+_[A-Za-z0-9+/]{43}", 6,
              "Sentry organization token", 7, _check_sentry_org),
    # --- anchor _, continued
    _Provider("github-token", "_", r"(?<=gh[pousr]_)[A-Za-z0-9]{36,251}", 3,
              "GitHub token", 4, _check_crc32_base62(4),
              prefixes=("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    _Provider("github-token", "_", r"(?<=github_)pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}", 6,
              "GitHub fine-grained token", 11, _check_tail(11, 40), prefixes=("github_",)),
    _Provider("stripe-webhook-secret", "_", r"(?<=whsec_)[A-Za-z0-9]{24,300}+", 5,
              "Stripe webhook signing secret", 6, _check_tail(6, 24), prefixes=("whsec_",)),
    _Provider("shopify-token", "_", r"(?<=shp(?:at|ss|ca|pa)_)[a-fA-F0-9]{32}", 5,
              "Shopify access token", 6, _check_tail(6, 32),
              prefixes=("shpat_", "shpss_", "shpca_", "shppa_")),
    _Provider("huggingface-token", "_", r"(?<=hf_)[A-Za-z]{34}", 2,
              "Hugging Face token", 3, _check_tail(3, 30), prefixes=("hf_",)),
    _Provider("groq-key", "_", r"(?<=gsk_)[A-Za-z0-9]{52}", 3,
              "Groq API key", 4, _check_tail(4, 40), prefixes=("gsk_",)),
    _Provider("dockerhub-token", "_", r"(?<=dckr_)(?:pat|oat)_[\w-]{20,300}+", 4,
              "Docker Hub access token", 9, _check_tail(9, 20), prefixes=("dckr_",)),
    _Provider("buildkite-token", "_", r"(?<=bkua_)[a-f0-9]{40}", 4,
              "Buildkite API token", 5, _check_tail(5, 32), prefixes=("bkua_",)),
    _Provider("npm-token", "_", r"(?<=npm_)[A-Za-z0-9]{36}", 3,
              "npm access token", 4, _check_crc32_base62(4), prefixes=("npm_",)),
    _Provider("huggingface-token", "_", r"(?<=api_org_)[A-Za-z]{34}", 7,
              "Hugging Face organization token", 8, _check_tail(8, 30), prefixes=("api_org_",)),
    _Provider("linear-key", "_", r"(?<=lin_api_)[A-Za-z0-9]{40}", 7,
              "Linear API key", 8, _check_tail(8, 32), prefixes=("lin_api_",)),
    _Provider("planetscale-token", "_", r"(?<=pscale_)(?:tkn|pw|oauth)_[\w.-]{32,64}", 6,
              "PlanetScale token or password", 10, _check_tail(11, 30), prefixes=("pscale_",)),
    _Provider("grafana-token", "_", r"(?<=glc_)[A-Za-z0-9+/]{32,400}+={0,3}", 3,
              "Grafana Cloud token", 4, _check_grafana_cloud, boundary="base64",
              prefixes=("glc_",)),
    _Provider("notion-token", "_", r"(?<=secret_)[A-Za-z0-9]{43}", 6,
              "Notion integration token", 7, _check_tail(7, 32), prefixes=("secret_",)),
    _Provider("braintree-token", "_",
              r"(?<=access_)token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32}", 6,
              "Braintree (PayPal) access token", 24, _check_braintree, prefixes=("access_",)),
    # --- anchor k: sk_live_, sk-, key- (the literal after the k is rare: `_`, `-`, `ey-`)
    _Provider("stripe-key", "k",
              r"_(?:live|test|prod)_(?<=[sr]k_(?:live|test|prod)_)[A-Za-z0-9]{10,247}", 1,
              "Stripe secret key", 8, _check_stripe),
    _Provider("openai-key", "k", r"-(?<=sk-)[A-Za-z0-9_-]{20,250}", 1,
              "OpenAI API key", 3, _check_openai),
    _Provider("mailgun-key", "k", r"ey-(?<=key-)[0-9a-f]{32}", 0,
              "Mailgun API key", 4, _check_tail(4, 32), hash_safe=False),
    # --- more of anchor -
    _Provider("brevo-key", "-", r"(?<=xkeysib-)[a-f0-9]{64}-[A-Za-z0-9]{16}", 7,
              "Brevo (Sendinblue) API key", 8, _check_tail(8, 48), prefixes=("xkeysib-",)),
    _Provider("brevo-key", "-", r"(?<=xsmtpsib-)[a-f0-9]{64}-[A-Za-z0-9]{16}", 8,
              "Brevo (Sendinblue) SMTP key", 9, _check_tail(9, 48), prefixes=("xsmtpsib-",)),
    _Provider("pypi-token", "-", r"(?<=pypi-)AgE[\w-]{50,1000}+", 4,
              "PyPI API token", 8, _check_pypi, prefixes=("pypi-",)),
    _Provider("gitlab-token", "-", r"(?<=gl(?:pat|cbt)-)[\w.-]{20,300}+", 5,
              "GitLab token", 6, _check_tail(6, 20), prefixes=("glpat-", "glcbt-")),
    _Provider("gitlab-token", "-", r"(?<=glffct-)[\w.-]{20,300}+", 6,
              "GitLab feature flags token", 7, _check_tail(7, 20), prefixes=("glffct-",)),
    _Provider("square-token", "-", r"(?<=sq0(?:atp|csp)-)[\w-]{22,43}", 6,
              "Square access token", 7, _check_tail(7, 22), prefixes=("sq0atp-", "sq0csp-")),
    # --- more of anchor .
    _Provider("doppler-token", ".", r"(?<=dp\.)(?:pt|st|ct|sa|scim|audit)\.[A-Za-z0-9]{40,44}", 2,
              "Doppler token", 6, _check_tail(6, 32), prefixes=("dp.",)),
    _Provider("mapbox-token", ".", r"(?<=sk\.)eyJ[\w-]{10,400}+\.[\w-]{20,100}", 2,
              "Mapbox secret token", 3, _check_mapbox, prefixes=("sk.",)),
    # --- anchors P, J, K: CCIPAT_, GOCSPX-, CCIPRJ_, HRKU-
    _Provider("circleci-token", "P", r"AT_(?<=CCIPAT_)[A-Za-z0-9]{22}_[a-f0-9]{40}", 3,
              "CircleCI personal token", 7, _check_tail(7, 40)),
    _Provider("gcp-oauth-client-secret", "P", r"X-(?<=GOCSPX-)[\w-]{28}", 4,
              "Google OAuth client secret", 7, _check_tail(7, 24)),
    _Provider("circleci-token", "J", r"_(?<=CCIPRJ_)[A-Za-z0-9]{22}_[a-f0-9]{40}", 5,
              "CircleCI project token", 7, _check_tail(7, 40)),
    _Provider("heroku-api-key", "K", r"U-AA(?<=HRKU-AA)[\w-]{58}", 2,
              "Heroku API key", 5, _check_tail(7, 40)),
    # --- anchor -
    _Provider("gitlab-token", "-", r"(?<=gl(?:oas|rtr|ptt|imt)-)[\w.-]{20,300}+", 5,
              "GitLab token", 6, _check_tail(6, 20),
              prefixes=("gloas-", "glrtr-", "glptt-", "glimt-")),
    _Provider("gitlab-token", "-", r"(?<=gl[dfr]t-)[\w.-]{20,300}+", 4,
              "GitLab token", 5, _check_tail(5, 20), prefixes=("gldt-", "glft-", "glrt-")),
    _Provider("gitlab-token", "-", r"(?<=glsoat-)[\w.-]{20,300}+", 6,
              "GitLab SCIM token", 7, _check_tail(7, 20), prefixes=("glsoat-",)),
    _Provider("gitlab-token", "-", r"(?<=glagent-)[\w.-]{50,300}+", 7,
              "GitLab agent token", 8, _check_tail(8, 40), prefixes=("glagent-",)),
    _Provider("slack-token", "-", r"(?<=xox[abceoprs]-)[A-Za-z0-9-]{10,250}", 4,
              "Slack token", 5, _check_slack, prefixes=tuple(f"xox{c}-" for c in "abceoprs")),
    _Provider("slack-token", "-", r"(?<=xoxd-)[\w%/+-]{60,1000}+={0,2}", 4,
              "Slack session cookie", 5, _check_slack_cookie, boundary="base64",
              prefixes=("xoxd-",)),
    _Provider("slack-token", "-", r"(?<=xapp-)[A-Za-z0-9-]{20,250}", 4,
              "Slack app token", 5, _check_slack, prefixes=("xapp-",)),
    _Provider("aws-appsync-key", "-", r"(?<=da2-)[a-z0-9]{26}", 3,
              "AWS AppSync API key", 4, _check_tail(4, 20), prefixes=("da2-",)),
    _Provider("pulumi-token", "-", r"(?<=pul-)[a-f0-9]{40}", 3,
              "Pulumi access token", 4, _check_tail(4, 32), prefixes=("pul-",)),
    _Provider("mailchimp-key", "-", r"us(?<=[0-9a-f]{32}-us)\d{1,2}", 32,
              "Mailchimp API key", 0, _check_part(0, 32, 32), hash_safe=False),
    # --- anchor .
    _Provider("vault-token", ".", r"(?<=hv[sb]\.)[A-Za-z0-9_-]{90,1000}+", 3,
              "HashiCorp Vault token", 4, _check_tail(4, 60), prefixes=("hvs.", "hvb.")),
    _Provider("dropbox-token", ".", r"(?<=sl\.)(?:u\.)?[\w-]{130,1500}+", 2,
              "Dropbox access token", 3, _check_tail(3, 100), prefixes=("sl.",)),
    _Provider("terraform-cloud-token", ".",
              r"atlasv1\.(?<=[A-Za-z0-9]{14}\.atlasv1\.)[\w-]{60,70}", 14,
              "Terraform Cloud API token", 0, _check_tail(23, 48)),
    _Provider("discord-bot-token", ".", r"(?<=\.[\w-]{6}\.)[\w-]{27,38}", 0,
              "Discord bot token", 0, _check_discord, extend=_B64URL_CHARS + "."),
    # --- anchor Q: Entra ID client secrets, <3><7|8>Q~<31|34>
    _Provider("azure-entra-client-secret", "Q", r"~(?<=[\w.~-]{3}[78]Q~)[\w.~-]{31,34}", 4,
              "Azure Entra ID (AAD) client secret", 0, _check_entra, boundary="entra",
              trim_dot=False),
    # --- anchor J
    _Provider("aws-session-token", "J",
              rf"b3JpZ2luX2Vj(?<=[AI][Qg]oJb3JpZ2luX2Vj)[{_B64}]{{100,3000}}+={{0,2}}", 3,
              "AWS session token", 4, _check_tail(16, 60), boundary="base64"),
    _Provider("azure-devops-pat", "J",
              r"QQJ9(?<=[A-Za-z0-9]{52}JQQJ9)[9DH][A-Za-z0-9][A-L][A-Za-z0-9]{16}[A-Za-z]"
              r"[A-Za-z0-9]{7}(?:[A-Za-z0-9]{2}==)?", 52,
              "Azure DevOps personal access token", 0, _check_cask, hash_safe=False),
    _Provider("jwt", "J",
              r"(?<=eyJ)(?<![\w-]eyJ)[\w-]{6,4000}+\.e[wy][\w-]{6,16000}+\.[\w-]{16,4000}+", 2,
              "JSON Web Token", 3, _check_jwt),
    # --- anchor S
    _Provider("sendgrid-key", "S", r"G\.[\w-]{22}\.[\w-]{43}", 0,
              "SendGrid API key", 3, _check_tail(3, 40)),
    _Provider("twilio-key", "S", r"K[0-9a-f]{32}", 0,
              "Twilio API key", 2, _check_tail(2, 32), hash_safe=False),
    # --- anchor :
    _Provider("telegram-bot-token", ":", r"(?<=[0-9]{8}:)[A-Za-z0-9_-]{35}", 0,
              "Telegram bot token", 0, _check_telegram, hash_safe=False, extend=string.digits),
    _Provider("asana-token", ":", r"(?<=/[0-9]{16}:)[0-9a-f]{32}", 0,
              "Asana personal access token", 0, _check_asana, hash_safe=False,
              extend=string.digits + "/"),
    # --- anchor k: webhooks
    _Provider("slack-webhook", "k",
              r"\.com/(?<=hooks\.slack\.com/)(?:services|workflows|triggers)/[\w/-]{20,300}+", 10,
              "Slack webhook URL", 16, _check_tail(16, 20)),
    _Provider("discord-webhook", "k",
              r"s/(?<=discord\.com/api/webhooks/)\d{15,22}/[\w-]{50,300}+", 22,
              "Discord webhook URL", 25, _check_tail(25, 50)),
    _Provider("discord-webhook", "k",
              r"s/(?<=discordapp\.com/api/webhooks/)\d{15,22}/[\w-]{50,300}+", 25,
              "Discord webhook URL", 28, _check_tail(28, 50)),
    _Provider("teams-webhook", "k",
              r"\.office\.com/webhookb2/(?<=\.webhook\.office\.com/webhookb2/)[\w@/-]{60,400}+", 6,
              "Microsoft Teams webhook URL", 29, _check_teams),
)
# fmt: on
_RULE_WHAT = {
    "stripe-test-key": "Stripe test-mode key",
    "anthropic-key": "Anthropic API key",
    "braintree-sandbox-token": "Braintree sandbox access token",
    "azure-identifiable-key": "Azure identifiable key",
}
_WARNING_RULES = frozenset({"stripe-test-key", "braintree-sandbox-token"})

# --- context rules ----------------------------------------------------------------------

# A value: quoted (with Python's string prefixes) or bare up to white space.
_VALUE = (
    r"""[fFrRbBuU]{0,2}(?:"(?:[^"\\\n]|\\.){1,300}"|'(?:[^'\\\n]|\\.){1,300}'|`[^`\n]{1,300}`)"""
    # escaped quotes: a value quoted inside a string literal, `"passwd = \"...\"\n"`
    r"""|\\"(?:[^"\\\n]|\\[^"\n]){1,300}\\"|\\'(?:[^'\\\n]|\\[^'\n]){1,300}\\'"""
    r"""|[^\s'"`]{1,300}"""
)
_SEPARATOR = (
    r":[ \t]*[A-Za-z_][\w.\[\]|, ]{0,30}?[ \t]*=(?!=)"  # annotated: `token: str = "..."`
    r"|:=|=>|=(?![=~])|:(?!:)|>|\(|,"
)
# After a keyword: the rest of the name, a closing quote or bracket, a separator (or XML's
# `key="ApiKey" value=`), and the value -- looked at, not consumed, so that the pass goes
# on inside it and provider rules see tokens there.
_KEYWORD_TAIL = (
    r"(?P<rest>[\w.-]{0,40}+)(?:\\?['\"`]\]?|\])?"
    rf"(?:[ \t]*(?P<sep>{_SEPARATOR})|[ \t]+value[ \t]*=)"
    rf"[ \t]*(?=(?P<value>{_VALUE}))"
)
# (anchor, handler, pattern after the anchor). Keywords are anchored on one of their
# letters, case variants spelled out: an IGNORECASE pattern would lose the fast skip.
# pass, password, passwd, pwd, pw, psw(d) | key, token | secret, cred(ential)s | auth
_PASS_REST = r"(?:[aA][sS][sS]|[wW](?:[dD]|(?![a-z]))|[sS][wW][dD]?(?![a-z]))"
_KEY_REST = r"(?:[eE][yY]|(?<=[tT][oO][kK])[eE][nN])"
_SECRET_REST = r"(?:(?<=[sS][eE][cC])[rR][eE][tT]|[rR][eE][dD])"
_AUTH_REST = r"(?<=[aA][uU][tT][hH])"
_BEARER = r"(?<!\wB)(?:earer|EARER)[ \t]+(?=(?P<token>[A-Za-z0-9._~+/-]{16,1000}+=*)(?![\w.~+/=-]))"
# fmt: off
_CONTEXT_RULES = (
    ("p", "keyword", _PASS_REST + _KEYWORD_TAIL),
    ("P", "keyword", _PASS_REST + _KEYWORD_TAIL),
    ("k", "keyword", _KEY_REST + _KEYWORD_TAIL),
    ("K", "keyword", _KEY_REST + _KEYWORD_TAIL),
    ("c", "keyword", _SECRET_REST + _KEYWORD_TAIL),
    ("C", "keyword", _SECRET_REST + _KEYWORD_TAIL),
    ("h", "keyword", _AUTH_REST + _KEYWORD_TAIL),
    ("H", "keyword", _AUTH_REST + _KEYWORD_TAIL),
    ("-", "cli", rf"-(?P<name>[A-Za-z][\w-]{{1,40}})[ \t]+(?=(?P<value>{_VALUE}))"),
    (":", "url", r"//(?<=[A-Za-z0-9+.-]://)(?=(?P<user>[^\s/@:'\"<>{}()\[\]`]{0,100}+)"
                 r":(?P<password>[^\s/@'\"<>`]{1,200})@[\w\[])"),
    ("B", "bearer", _BEARER),
    ("B", "basic",
     r"(?<!\wB)(?:asic|ASIC)[ \t]+(?P<token>[A-Za-z0-9+/]{8,1000}+={0,2})(?![\w+/=])"),
    ("A", "azure", r"(?<!\wA)ccountKey[ \t]*=[ \t]*(?P<key>[A-Za-z0-9+/]{20,500}+={0,2})"),
    ("S", "azure", r"(?<!\wS)haredAccessKey[ \t]*=[ \t]*(?P<key>[A-Za-z0-9+/]{20,500}+={0,2})"),
    ("-", "private_key", r"----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"),
    # Azure shared access signatures: a URL's query, or a connection string's entry.
    (":", "sas", r"//(?<=[A-Za-z]://)(?=[^\s'\"<>?#`]{1,300}+\?(?P<query>[^\s'\"<>`]{10,2000}+))"),
    ("S", "sas",
     r"(?<!\wS)haredAccessSignature[ \t]*=[ \t]*(?=(?P<query>[^\s'\"<>;`]{10,2000}+))"),
    # Google application-default credentials: {"type": "authorized_user", ...}
    ("_", "gcp_adc", r'user(?<="authorized_user)\\{0,2}"'),
)
# fmt: on

# Assignments that some file formats write without `=` or `:`, looked for only in files of
# that format: Dockerfile's legacy `ENV NAME value`, .netrc's `password value`, and a
# Terraform variable whose name says secret and whose value is its `default`.
_DOCKER_ENV = re.compile(
    r"^[ \t]*ENV[ \t]+(?P<name>[A-Za-z_][\w.-]{0,80})[ \t]+(?P<value>[^\s=][^\n]{0,300}?)[ \t]*$",
    re.MULTILINE,
)
_NETRC_PASSWORD = re.compile(r"(?<![\w-])(?P<name>password)[ \t]+(?P<value>[^\s]{1,300})")
_TERRAFORM_VARIABLE = re.compile(
    r'^[ \t]*variable[ \t]+"(?P<name>[\w-]{1,80})"[ \t]*\{(?P<body>[^{}]{0,2000}?)'
    r'^[ \t]*default[ \t]*=[ \t]*(?=(?P<value>"(?:[^"\\\n]|\\.){1,300}"))',
    re.MULTILINE,
)


@dataclass(frozen=True)
class _Alternative:
    regex: re.Pattern[str]  # anchor + pattern, with the named groups its handler reads
    handler: str
    provider: _Provider | None = None
    method: str = ""  # the _Scan method that handles a match: "_" + handler

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", "_" + self.handler)


def _first_chars(pattern: str) -> frozenset[str] | None:
    """The characters a match of ``pattern`` can start with, or None when that is not
    simple to tell: the run tries a match's rules only where they can start."""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser

    def first(items: list) -> set[str] | None:
        for op, av in items:
            if op is c.ASSERT or op is c.ASSERT_NOT:
                continue  # consumes nothing: the next item decides
            if op is c.LITERAL:
                return {chr(av)}
            if op is c.IN:
                chars: set[str] = set()
                for kind, value in av:
                    if kind is c.LITERAL:
                        chars.add(chr(value))
                    elif kind is c.RANGE and value[1] - value[0] < 128:
                        chars.update(map(chr, range(value[0], value[1] + 1)))
                    else:
                        return None
                return chars
            if op is c.SUBPATTERN:
                return first(list(av[-1]))
            if op is c.BRANCH:
                union: set[str] = set()
                for branch in av[1]:
                    part = first(list(branch))
                    if part is None:
                        return None
                    union |= part
                return union
            if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] >= 1:
                return first(list(av[2]))
            return None
        return None

    try:
        found = first(list(_parser.parse(pattern)))
    except Exception:  # noqa: BLE001 - an unexpected parse tree: try the rule everywhere
        return None
    return frozenset(found) if found else None


@dataclass(frozen=True)
class _Pass:
    """One anchor's alternation (without groups), and its rules in the same order. Rules
    with literal prefixes are looked for by one look-behind per prefix length, and a match
    there is handed to the rules of the prefix found (``prefixed``)."""

    anchor: str
    regex: re.Pattern[str]
    alternatives: tuple[_Alternative, ...]
    prefixed: dict[str, tuple[_Alternative, ...]]
    widths: tuple[int, ...]
    by_next: dict[str, tuple[_Alternative, ...]]  # the rules that can match before a char
    other: tuple[_Alternative, ...]  # the rules that can match before any other char


# How many trailing characters of its prefixes a pass checks: five tell most prefixes
# from common words ("Content-" is not "glagent-"); the "." pass, whose anchor is the
# commonest, checks three in one look-behind (hvs., sl.) and leaves the rest to the lookup.
_FILTER_WIDTHS = {".": 3}


def _build_passes() -> tuple[_Pass, ...]:
    rules = [(p.anchor, "provider", p.pattern, p) for p in _PROVIDERS]
    rules += [(anchor, handler, pattern, None) for anchor, handler, pattern in _CONTEXT_RULES]
    patterns: dict[str, list[str]] = {}
    alternatives: dict[str, list[_Alternative]] = {}
    prefixed: dict[str, dict[str, list[_Alternative]]] = {}
    for anchor, handler, pattern, provider in rules:
        alternative = _Alternative(re.compile(re.escape(anchor) + pattern), handler, provider)
        if provider is not None and provider.prefixes:
            for prefix in provider.prefixes:
                assert prefix.endswith(anchor), prefix
                prefixed.setdefault(anchor, {}).setdefault(prefix, []).append(alternative)
            continue
        alternatives.setdefault(anchor, []).append(alternative)
        patterns.setdefault(anchor, []).append(re.sub(r"\(\?P<\w+>", "(?:", pattern))
    passes = []
    for anchor in dict.fromkeys([rule[0] for rule in rules]):
        # The pass checks the last (up to) five characters of each prefix, in one look-behind
        # per length; the run then looks the whole prefix up.
        by_width: dict[int, set[str]] = {}
        width = _FILTER_WIDTHS.get(anchor, 5)
        for prefix in prefixed.get(anchor, {}):
            by_width.setdefault(min(len(prefix), width), set()).add(re.escape(prefix[-width:]))
        rests = [f"(?<={'|'.join(sorted(group))})" for _, group in sorted(by_width.items())]
        rests += patterns.get(anchor, [])
        alts = alternatives.get(anchor, [])
        firsts = [_first_chars(alt.regex.pattern[len(re.escape(anchor)) :]) for alt in alts]
        chars = set().union(*(f for f in firsts if f))
        by_next = {
            char: tuple(a for a, f in zip(alts, firsts, strict=True) if f is None or char in f)
            for char in chars
        }
        passes.append(
            _Pass(
                by_next=by_next,
                other=tuple(a for a, f in zip(alts, firsts, strict=True) if f is None),
                anchor=anchor,
                regex=re.compile(f"{re.escape(anchor)}(?:{'|'.join(rests)})"),
                alternatives=tuple(alternatives.get(anchor, ())),
                prefixed={k: tuple(v) for k, v in prefixed.get(anchor, {}).items()},
                widths=tuple(sorted({len(p) for p in prefixed.get(anchor, {})}, reverse=True)),
            )
        )
    return tuple(passes)


_PASSES = _build_passes()
_PLAN = tuple((p.anchor, p.regex, p.prefixed, p.widths, p.by_next, p.other) for p in _PASSES)
_END_OF_KEY = re.compile(r"-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----")
# Elided or made-up key bodies; a real body is base64, whose runs never hold these words.
_FAKE_KEY_BODY = re.compile(
    r"\.\.\.|…|<[^>\n]*>|\b(?:redacted|example|your|placeholder|[xX]{4,})\b", re.IGNORECASE
)
_KEY_HEADER_LINE = re.compile(r"(?m)^[ \t\"'+,]*[A-Za-z-]+: .*$")  # Proc-Type, Comment...
_KEY_BODY_CHARS = re.compile(r"[A-Za-z0-9+/=\s\"',\\|]+")  # base64, and what wraps it in code
_KEY_BODY_RUN = re.compile(r"(?:[A-Za-z0-9+/=\s\"',|]|\\[nr]){0,20000}+")
# A service-account key file's type, also inside a string literal (`\"type\": ...`).
_SERVICE_ACCOUNT = re.compile(r'"type\\{0,2}"\s*:\s*\\{0,2}"service_account')
_WRAPPING_CHARS = "\"',+; \t\r\f\v\\"
_BASE64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def _strip_wrapping(line: str) -> str:
    """``line`` without what wraps a key's line in code at its end: quotes, `+`, `,`, `;`,
    white space and `\\n`/`\\r` escapes. Stripped from the end in linear time (a regex
    anchored at `$` retries at every offset of a long run)."""
    while True:
        stripped = line.rstrip(_WRAPPING_CHARS)
        if stripped.endswith(("\\n", "\\r")):
            line = stripped[:-2]
        else:
            return stripped


def _prefixed_key_body(raw: str) -> str | None:
    """A key body whose every line follows a prefix -- a log's timestamp, a comment's
    marker, a quote's `> ` -- and may end in a string's wrapping: the base64 that ends each
    line, when all lines but the last hold the same width of it (PEM's 64). Header lines
    (`Proc-Type: ...`) and blank lines are skipped."""
    lines = raw.split("\n")[1:-1]  # the header's and the END line's own lines excepted
    runs = []
    for line in lines:
        line = _strip_wrapping(line)
        if not line or ": " in line[-40:]:
            continue
        runs.append(line[len(line.rstrip(_BASE64_CHARS)) :])
    if len(runs) < 2 or len(set(map(len, runs[:-1]))) != 1 or not 40 <= len(runs[0]) <= 80:
        return None
    return "\n".join(runs) if 0 < len(runs[-1]) <= len(runs[0]) else None


# What may not touch a token on either side (else it is part of a longer word or blob).
_TOUCHING_BEFORE = {
    "word": re.compile(r"[A-Za-z0-9_]"),
    "base64": re.compile(r"[A-Za-z0-9+/_-]"),
    "entra": re.compile(r"[A-Za-z0-9_.~+/-]"),
}
_TOUCHING_AFTER = {
    "word": re.compile(r"[A-Za-z0-9_-]"),
    "base64": re.compile(r"[A-Za-z0-9+/=_-]"),
    "entra": re.compile(r"[A-Za-z0-9_.~+/=-]"),
}

# --- vendors named by a value's name or shape ------------------------------------------

# Shapes that only a name makes readable: the vendor's rule when the keyword rule holds one.
# fmt: off
_VALUE_SHAPES = (
    (re.compile(r"oy2[a-z2-7]{43}"), "nuget-key", "NuGet API key"),
    (re.compile(r"cio[A-Za-z0-9]{32}"), "crates-io-token", "crates.io API token"),
    (re.compile(r"cmVmdGtu[A-Za-z0-9]{56}"), "artifactory-token",
     "JFrog Artifactory reference token"),
    (re.compile(rf"(?:FwoGZXIvYXdz|FQoGZXIvYXdz|IQoJb3JpZ2lu|AgoJb3JpZ2lu)[{_B64}]{{60,3000}}={{0,2}}"),
     "aws-session-token", "AWS session token"),
)
# Vendors a name says, with the shape of their keys: (name words, shape, rule or None, what).
# With a rule, a value of that shape takes it; with None, the finding stays keyword-secret
# and only names the vendor in data["provider"]. `uuid`: the vendor's keys are UUIDs.
_NAME_VENDORS = (
    ({"datadog", "dd"}, re.compile(r"[0-9a-f]{32}|[0-9a-f]{40}"), None, "Datadog"),
    ({"okta"}, re.compile(r"00[\w-]{40}"), None, "Okta"),
    ({"twitch"}, re.compile(r"(?:oauth:)?[a-z0-9]{30}"), None, "Twitch"),
    ({"travis"}, re.compile(r"[\w-]{22}"), None, "Travis CI"),
    ({"circle", "circleci"}, re.compile(r"[0-9a-f]{40}"), None, "CircleCI"),
    ({"ibm", "ibmcloud", "bluemix"}, re.compile(r"[\w-]{44}"), None, "IBM Cloud"),
    ({"atlassian", "jira", "confluence"}, re.compile(r"[A-Za-z0-9]{24}"), None, "Atlassian"),
    ({"postmark"}, "uuid", None, "Postmark"),
    ({"heroku"}, "uuid", None, "Heroku"),
    ({"azure", "ado", "devops", "vsts", "azdo"}, re.compile(r"[a-z2-7]{52}"), "azure-devops-pat",
     "Azure DevOps personal access token"),
    ({"algolia"}, re.compile(r"[0-9a-f]{32}"), None, "Algolia"),
    ({"twilio"}, re.compile(r"[0-9a-f]{32}|[A-Za-z0-9]{32}"), None, "Twilio"),
    ({"alibaba", "aliyun"}, re.compile(r"[A-Za-z0-9]{30}"), None, "Alibaba Cloud"),
    # Hugging Face's legacy user tokens: `api_` and 34 letters, told only by the name
    ({"hf", "huggingface", "hugging"}, re.compile(r"api_[A-Za-z]{34}"), "huggingface-token",
     "Hugging Face token"),
)
# A UUID is a key when the name says it is an API's or a client's key or token (`api_key`,
# `X-Api-Key`, `AUTH_TOKEN`, `client_secret`), not a bare `token` or a `secret_id`.
_UUID_KEY_HEADS = frozenset({"key", "token", "secret", "apikey", "apitoken"})
_UUID_KEY_QUALIFIERS = frozenset({
    "api", "access", "auth", "bearer", "private", "client", "integration", "service", "secret",
    "subscription", "account", "master", "admin",
})
# fmt: on
_SAS_SIGNATURE = re.compile(r"(?:^|[?&;])sig=(?P<sig>[A-Za-z0-9%+/_-]{30,120}(?:%3[dD]|=){0,2})")
_SAS_FIELDS = re.compile(r"(?:^|[?&;])(?:sv|sp|se|spr|srt|ss|sr)=")

# --- compound credentials --------------------------------------------------------------

_PAIR_WINDOW = 5  # lines between an id and its secret
_MAX_UNNAMED = 200  # ids whose unnamed secret is looked for, per file


@dataclass(frozen=True)
class _PairSpec:
    """An id and its secret: how to find the id near the secret, and the secret near it."""

    id_rule: str  # the id's rule, reported in data["pair"]
    secret_rule: str  # the pair's rule, when the secret's own rule is keyword-secret
    what: str
    id_regex: re.Pattern[str]  # group "id"
    secret_regex: re.Pattern[str] | None = None  # an unnamed secret near the id, group "s"


_QUOTED_OR_ASSIGNED = r"""(?:(?<=["'`])|(?<=[=:,(][ \t])|(?<=[=:]))"""
# fmt: off
_PAIRS = {
    "aws": _PairSpec(
        "aws-access-key", "aws-secret-key", "AWS access key id and secret access key",
        re.compile(r"(?<![A-Za-z0-9+/])(?P<id>(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})(?![A-Za-z0-9+/=])"),
        re.compile(_QUOTED_OR_ASSIGNED + rf"(?P<s>[{_B64}]{{40}})(?![A-Za-z0-9+/=])"),
    ),
    "twilio": _PairSpec(
        "twilio-account-sid", "twilio-auth-token", "Twilio SID and auth token",
        re.compile(r"(?<![A-Za-z0-9])(?P<id>(?:AC|SK)[0-9a-f]{32})(?![A-Za-z0-9])"),
        re.compile(_QUOTED_OR_ASSIGNED + r"(?P<s>[0-9a-f]{32}|[A-Za-z0-9]{32})(?![A-Za-z0-9])"),
    ),
    "alibaba": _PairSpec(
        "alibaba-access-key", "alibaba-secret-key", "Alibaba Cloud AccessKey id and secret",
        re.compile(r"(?<![A-Za-z0-9+/])(?P<id>LTAI[A-Za-z0-9]{12,20})(?![A-Za-z0-9])"),
        re.compile(_QUOTED_OR_ASSIGNED + r"(?P<s>[A-Za-z0-9]{30})(?![A-Za-z0-9])"),
    ),
    "azure": _PairSpec(
        "azure-client-id", "azure-client-secret", "Azure (Entra ID) client id and secret",
        re.compile(r"(?i:client|app(?:lication)?)[\w.-]{0,20}?(?i:id)['\"`]?\]?[ \t]*"
                   r"(?::=|=>|[:=,]|\))[ \t]*['\"`]?"
                   r"(?P<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"),
    ),
    "algolia": _PairSpec(
        "algolia-app-id", "algolia-admin-key", "Algolia application id and admin key",
        re.compile(r"(?i:app(?:lication)?)[_-]?(?i:id)['\"`]?\]?[ \t]*(?::=|=>|[:=,(])[ \t]*"
                   r"['\"`]?(?P<id>[A-Z0-9]{10})(?![A-Za-z0-9])"),
    ),
}
# fmt: on
_ID_RULES = {
    "aws-access-key": "aws",
    "twilio-key": "twilio",
    "twilio-account-sid": "twilio",
    "alibaba-access-key": "alibaba",
}  # fmt: skip
_AZURE_CONTEXT = re.compile(r"azure|entra|\baad\b|microsoftonline|msal|tenant", re.IGNORECASE)

# --- inline allowlists -----------------------------------------------------------------

_ALLOW_MARKERS = re.compile(r"gatehouse:allow|pragma:[ \t]*allowlist[ \t]+secret")
_ALLOW_NEXT_LINE = re.compile(r"pragma:[ \t]*allowlist[ \t]+nextline[ \t]+secret")
_MAX_LINES = 100

# --- multi-line strings ----------------------------------------------------------------

_HEREDOC = re.compile(r"<<[-~]?(['\"]?)(?P<word>[A-Za-z_]\w{0,30})\1[^\n]*\n")
# A configuration line in a multi-line string: `name = value`, `export NAME=value`,
# `- name: value`, then nothing but a comment or the string's closing delimiter.
_CONFIG_LINE_HEAD = re.compile(
    r"[ \t]*(?:export[ \t]+|-[ \t]+)?[\w.\-\[\]\"']{1,80}[ \t]*(?:=|:=|=>|:)[ \t]*"
)
_CONFIG_LINE_TAIL = re.compile(r"[ \t]*(?:(?:#|//|;).*|\"\"\"|'''|`;?)?[ \t]*")
_STRING_STYLES = {
    **dict.fromkeys((".py", ".pyi", ".pyx"), "triple"),
    **dict.fromkeys((".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".vue", ".svelte", ".go"),
                    "backtick"),
    **dict.fromkeys((".java", ".kt", ".kts", ".scala", ".groovy", ".gradle", ".swift", ".cs",
                     ".dart", ".jl"), "text-block"),
    **dict.fromkeys((".rb", ".php", ".pl", ".pm"), "heredoc"),
}  # fmt: skip


@dataclass(frozen=True)
class _Candidate:
    rule: str
    start: int  # span of the secret value in the text
    end: int
    value: str  # what the identity hashes; never stored
    preview: str  # the public part of the value that may be shown (a vendor prefix)
    message: str
    severity: str = Severity.BLOCKING
    name: str = ""  # the name the value was assigned to (keyword rules)
    data: dict = field(default_factory=dict, compare=False)


class SecretsDetector:
    """Credentials: provider token formats, private keys, JWTs, passwords in URLs and
    headers, and secret values assigned to names like ``password`` or ``api_key``."""

    kind = Kind.SECRET
    version = "secrets-3"

    def scan(self, data: bytes, *, filename: str, policy: Policy) -> list[Finding]:
        if b"\0" in data[:_BINARY_SNIFF]:
            return []
        return _Scan(data.decode("utf-8", errors="replace"), filename).run()


class _Scan:
    """One blob: the candidates the pass yields, then the findings that survive."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        base = filename.rsplit("/", 1)[-1].lower()
        suffix = base[base.rfind(".") :] if "." in base else ""
        lock_suffixes = (".lock", "-lock.json", "-lock.yaml", ".lockfile")
        self.is_lock = base in _LOCK_FILES or base.endswith(lock_suffixes)
        self.is_code = suffix in _CODE_SUFFIXES
        self.is_python = suffix in (".py", ".pyi", ".pyx")
        self.is_doc = suffix in _DOC_SUFFIXES
        self.string_style = _STRING_STYLES.get(suffix)
        self.keywords = suffix not in _NO_KEYWORD_SUFFIXES and not self.is_lock
        self.is_dockerfile = base.startswith("dockerfile") or base.endswith(".dockerfile")
        self.is_netrc = base in (".netrc", "_netrc", "netrc")
        self.is_terraform = suffix in (".tf", ".tfvars")
        self.specific: list[_Candidate] = []  # from provider formats and key blocks
        self.generic: list[_Candidate] = []  # from keyword, URL and header rules
        self.ids: list[_Candidate] = []  # identifiers that only pair with a secret
        self.claims: list[tuple[int, int]] = []  # spans a provider rule has decided on
        self.absorbed: set[tuple[int, int]] = set()  # parts of a credential file's finding
        self._key_ends: list[re.Match[str]] | None = None
        self._strings: list[tuple[int, int]] | None = None  # heredocs
        self._delimiters: list[list[int]] | None = None  # offsets of `, """ or '''
        self._newlines: list[int] | None = None
        self._azure_context: bool | None = None

    def run(self) -> list[Finding]:
        text = self.text
        find = text.find
        for anchor, regex, prefixed, widths, by_next, other in _PLAN:
            first = find(anchor)  # memchr: many files lack the rarer anchors
            if first < 0:
                continue
            for match in regex.finditer(text, first):
                at = match.start()
                if widths and self._prefixed(at, prefixed, widths):
                    continue
                for alternative in by_next.get(text[at + 1 : at + 2], other):
                    found = alternative.regex.match(text, at)
                    if found:
                        getattr(self, alternative.method)(found, alternative)
                        break
        self._format_assignments()
        if not self.specific and not self.generic and not self.ids:
            return []
        claims = _merged(self.claims)
        claim_starts = [start for start, _ in claims]
        kept = [c for c in self.specific if (c.start, c.end) not in self.absorbed]
        for candidate in self.generic:
            i = bisect.bisect_left(claim_starts, candidate.end)
            if not (i and claims[i - 1][1] > candidate.start):  # else a provider rule decided
                kept.append(candidate)
        kept = _outermost(kept)
        paired = self._paired(kept)
        # what an excerpt hides: ids too, and the other parts of a credential file
        hidden = [_Candidate("", start, end, "", "", "") for start, end in self.absorbed]
        redact = _outermost(paired + kept + self.ids + hidden)
        return self._findings(paired, redact)

    # --- provider formats -------------------------------------------------------------------

    def _prefixed(
        self, at: int, prefixed: dict[str, tuple[_Alternative, ...]], widths: tuple[int, ...]
    ) -> bool:
        """Hand the anchor at ``at`` to the provider rules of the prefix that ends there."""
        text = self.text
        for width in widths:
            for alternative in prefixed.get(text[at + 1 - width : at + 1], ()):
                found = alternative.regex.match(text, at)
                if found:
                    self._provider(found, alternative)
                    return True
        return False

    def _provider(self, match: re.Match[str], alternative: _Alternative) -> None:
        provider = alternative.provider
        assert provider is not None
        text = self.text
        start, end = match.start() - provider.back, match.end()
        if provider.extend:
            limit = max(0, start - 40)
            while start > limit and text[start - 1] in provider.extend:
                start -= 1
        if provider.trim_dot:
            while text[end - 1] == ".":  # a full stop after a token that may hold dots
                end -= 1
        if (start and _TOUCHING_BEFORE[provider.boundary].match(text, start - 1)) or (
            end < len(text) and _TOUCHING_AFTER[provider.boundary].match(text, end)
        ):
            return  # part of a longer word or encoded blob
        if self.is_lock and not provider.hash_safe:
            self.claims.append((start, end))
            return
        value = text[start:end]
        verdict = provider.check(value)
        if verdict is None:
            return  # not this format after all: the keyword rule may still judge it
        self.claims.append((start, end))
        if verdict == _MADE_UP:
            return
        rule = verdict or provider.rule
        what = _RULE_WHAT.get(rule, provider.what)
        candidate = _Candidate(
            rule=rule,
            start=start,
            end=end,
            value=value,
            preview=value[: provider.show],
            message=f"{what} in the source: revoke it and remove it from the history.",
            severity=Severity.WARNING if rule in _WARNING_RULES else Severity.BLOCKING,
        )
        (self.ids if provider.identifier else self.specific).append(candidate)

    def _private_key(self, match: re.Match[str], alternative: _Alternative) -> None:
        text = self.text
        start = match.start()
        while start and text[start - 1] == "-":
            start -= 1
        header_end = match.end()
        # The body may be PEM lines, a JSON string with \n escapes, or concatenated strings.
        closing = self._end_of_key(header_end)
        body = None
        if closing:
            raw = text[header_end : closing.start()]
            if "-----BEGIN" not in raw:
                body = _KEY_HEADER_LINE.sub("", re.sub(r"\\[nr]", "\n", raw))
                if len(_KEY_BODY_CHARS.sub("", body)) > 16:
                    # each line behind a prefix (a log's, a comment's), else code between a
                    # quoted header and another key's END line
                    body = _prefixed_key_body(raw)
        if body is not None and closing:
            block_end = closing.end()
        else:  # no END line: the key, if any, is what directly follows the header
            body = _KEY_BODY_RUN.match(text, header_end).group()  # type: ignore[union-attr]
            block_end = header_end + len(body)
        key = "".join(re.findall(r"[A-Za-z0-9+/=]+", re.sub(r"\\[nr]", "\n", body)))
        # A key block is claimed even when made up: nothing inside it is a keyword's value.
        self.claims.append((start, block_end))
        if len(key) < 24 or _FAKE_KEY_BODY.search(body):
            return
        around = text[max(0, start - 4000) : block_end + 4000]
        service_account = _SERVICE_ACCOUNT.search(around) is not None
        # Too short for a key, unless a service-account file holds it (a fixture's or a
        # paste's key cut short): the file's fields say what it is.
        short = len(key) < 64 or _entropy(key) < 4.5
        if short and (
            not service_account or _is_placeholder(key) or not _looks_random(key, min_length=24)
        ):
            return
        header = text[start:header_end].strip("-").strip()
        what = header.removeprefix("BEGIN").strip().replace("PRIVATE KEY", "private key")
        rule = "private-key"
        message = (
            f"{what} block in the source: treat the key as compromised, "
            "replace it and remove it from the history."
        )
        if service_account:
            rule = "gcp-service-account"
            message = (
                "A Google Cloud service-account key file (its private key): delete the key "
                "in IAM, use workload identity or a secret store, and remove it from the history."
            )
        self.specific.append(
            _Candidate(
                rule=rule,
                start=start,
                end=block_end,
                value=key,
                preview=f"-----{header}-----",
                message=message,
            )
        )

    def _end_of_key(self, after: int) -> re.Match[str] | None:
        """The first END line within 20,000 characters of ``after`` (found once per blob)."""
        if self._key_ends is None:
            self._key_ends = list(_END_OF_KEY.finditer(self.text))
        i = bisect.bisect_left(self._key_ends, after, key=lambda end: end.start())
        if i < len(self._key_ends) and self._key_ends[i].start() < after + 20000:
            return self._key_ends[i]
        return None

    def _azure(self, match: re.Match[str], alternative: _Alternative) -> None:
        key = match.group("key")
        at = match.start("key")
        if _is_placeholder(key) or not _looks_random(key, min_length=20):
            return
        self.claims.append((at, at + len(key)))
        self.specific.append(
            _Candidate(
                rule="azure-key",
                start=at,
                end=at + len(key),
                value=key,
                preview="",
                message="An Azure storage or service-bus key in a connection string: "
                "regenerate the key and remove it from the history.",
            )
        )

    def _sas(self, match: re.Match[str], alternative: _Alternative) -> None:
        query = match.group("query")
        self._sas_signature(query, match.start("query"), claim=True)

    def _sas_signature(self, query: str, at: int, *, claim: bool) -> bool:
        """An Azure shared access signature's ``sig=``: the base64 of a 32-byte HMAC, in a
        query that holds SAS fields (``sv=``, ``se=``, ``sp=``...)."""
        found = _SAS_SIGNATURE.search(query)
        if not found or not _SAS_FIELDS.search(query):
            return False
        sig = found.group("sig")
        decoded = urllib.parse.unquote(sig)
        try:
            raw = base64.b64decode(
                decoded.replace("-", "+").replace("_", "/") + "=" * (-len(decoded) % 4)
            )
        except (ValueError, binascii.Error):
            return False
        if len(raw) != 32 or _is_placeholder(decoded) or not _looks_random(decoded, min_length=30):
            return False
        start = at + found.start("sig")
        if claim:
            self.claims.append((start, start + len(sig)))
        self.specific.append(
            _Candidate(
                rule="azure-sas-token",
                start=start,
                end=start + len(sig),
                value=sig,
                preview="",
                message="An Azure shared access signature (sig=) in the source: revoke it "
                "(rotate the account key or the stored access policy) and remove it.",
            )
        )
        return True

    def _gcp_adc(self, match: re.Match[str], alternative: _Alternative) -> None:
        """A Google application-default credentials file (``gcloud auth
        application-default login``): a refresh token, with its OAuth client secret."""
        text = self.text
        at = match.start()
        if not re.search(r'"type\\{0,2}"\s*:\s*\\{0,2}"authorized$', text[max(0, at - 40) : at]):
            return
        low = text.rfind("{", max(0, at - 3000), at)
        high = text.find("}", at, at + 3000)
        if low < 0 or high < 0:
            return
        found = []
        for key in ("refresh_token", "client_secret"):
            entry = re.compile(
                rf'"{key}\\{{0,2}}"\s*:\s*\\{{0,2}}"(?P<v>[^"\\\s]{{8,400}})\\{{0,2}}"'
            ).search(text, low, high)
            if entry:
                found.append(entry)
                self.claims.append(entry.span("v"))
                self.absorbed.add(entry.span("v"))
        for entry in found:
            value = entry.group("v")
            if _is_placeholder(value) or not _looks_random(value, min_length=20):
                continue
            self.absorbed.discard(entry.span("v"))
            self.specific.append(
                _Candidate(
                    rule="gcp-authorized-user",
                    start=entry.start("v"),
                    end=entry.end("v"),
                    value=value,
                    preview="",
                    message="Google application-default credentials (an authorized_user file "
                    "with its refresh token): revoke the grant and remove the file.",
                )
            )
            return  # one finding for the file: the refresh token, else the client secret

    # --- names and context ------------------------------------------------------------------

    def _keyword(self, match: re.Match[str], alternative: _Alternative) -> None:
        text = self.text
        start = match.start()
        limit = max(0, start - 80)
        while start > limit and text[start - 1] in _NAME_CHARS:
            start -= 1
        name = text[start : match.end("rest")].lstrip("-.$")
        kind = _secret_name(name)
        if kind is not None:
            separator = match.group("sep") or "="
            before = text[start - 1 : start]
            after = text[match.end("rest") : match.end("rest") + 2]
            quoted_name = before in ("'", '"') and (after[:1] == before or after == "\\" + before)
            if (
                separator == ":"
                and self.is_python
                and not quoted_name
                and not self._in_multiline_string(start)
                and not self._in_string_literal(start)
            ):
                return  # `private_key: "RSAPrivateKey"` annotates; a dict's keys are quoted
            if separator == ">" and before != "<":
                return  # only XML's `<password>...</password>`
            if separator == "," and not (
                quoted_name
                and match.group("value")[:1] in "'\""
                and _CALL_OPENING.search(text, max(0, start - 20), start - 1)
            ):
                return  # only `put("password", "...")`, `define('API_KEY', '...')`
            self._assignment(name, kind, separator, match.start("value"), match.group("value"))

    def _format_assignments(self) -> None:
        """The assignment forms of Dockerfiles, .netrc and Terraform variables."""
        forms = []
        if self.is_dockerfile:
            forms.append(_DOCKER_ENV)
        if self.is_netrc:
            forms.append(_NETRC_PASSWORD)
        if self.is_terraform:
            forms.append(_TERRAFORM_VARIABLE)
        for form in forms:
            for match in form.finditer(self.text):
                name = match.group("name")
                kind = _secret_name(name)
                if kind is not None:
                    self._assignment(name, kind, " ", match.start("value"), match.group("value"))

    def _cli(self, match: re.Match[str], alternative: _Alternative) -> None:
        name = match.group("name")
        kind = _secret_name(name)
        if kind is not None:
            self._assignment(name, kind, " ", match.start("value"), match.group("value"))

    def _assignment(self, name: str, kind: str, separator: str, at: int, raw: str) -> None:
        """Judge the value ``raw`` (at offset ``at``) given to the secret-like ``name``."""
        if not self.keywords:
            return
        stripped = raw.lstrip("fFrRbBuU")
        quoted = len(stripped) >= 2 and stripped[0] in "\"'`" and stripped[-1] == stripped[0]
        if raw[:1] == "\\" and len(raw) > 4 and raw[1] in "\"'" and raw[-2:] == raw[:2]:
            quoted, value, at = True, raw[2:-2], at + 2  # `\"...\"`, inside a string literal
        elif quoted:
            prefix = raw[: len(raw) - len(stripped)]
            if "f" in prefix.lower() and "{" in stripped:
                return  # an f-string interpolates
            value = stripped[1:-1]
            at += len(prefix) + 1
        elif separator == "(" or (
            self.is_code
            and separator != ">"
            and not self._in_string_literal(at)
            and not self._config_line_in_multiline_string(at, len(raw))
        ):
            return  # an expression: a variable, a call, an attribute
        else:
            value = _BARE_END.split(raw, 1)[0].split("<", 1)[0].rstrip(",;)\\")
            if "{" in value or "}" in value:
                return  # a template, or a style sheet's rule
            if any(c in value for c in "[](){}<>"):
                return  # an expression: request.POST["password"], Union[str, None]
        if separator == "(":
            # `setPassword("...")`, `.apiKey("...")`; not `check_password("...")`.
            words = _name_words(name.rsplit(".", 1)[-1])
            if not words or not (words[0] in _SETTER_WORDS or set(words) <= _KEYWORD_WORDS):
                return
        if "sig=" in value and self._sas_signature(value, at, claim=False):
            return
        rule, what, data = "keyword-secret", f"A high-entropy value assigned to `{name}`", {}
        if _UUID.fullmatch(value):  # a UUID is a secret only for vendors whose keys are UUIDs
            words = set(_name_words(name))
            vendor = next((v for v in _NAME_VENDORS if v[1] == "uuid" and words & v[0]), None)
            if _is_placeholder(value) or len(set(value)) < 10:
                return
            if vendor is not None:
                what = f"A {vendor[3]} key assigned to `{name}`"
                data = {"provider": vendor[3]}
            elif _uuid_key_name(name):
                what = f"A key (a UUID) assigned to `{name}`"
            else:
                return
        elif _plausible_secret(value, password=kind == "password", quoted=quoted) and (
            kind != "key" or _generated_key(value)
        ):
            if kind == "password":
                what = f"A literal password assigned to `{name}`"
        elif (
            len(value) < 24
            and not self.is_doc
            and _typed_secret_name(name)
            and _plausible_weak_password(value, quoted=quoted)
        ):
            rule, what = "password-assignment", f"A literal password assigned to `{name}`"
        else:
            return
        words = set(_name_words(name))
        vendor = next((v for v in _NAME_VENDORS if words & v[0]), None)
        shape = next((s for s in _VALUE_SHAPES if s[0].fullmatch(value)), None)
        if shape is not None:
            rule, what = shape[1], f"A {shape[2]} assigned to `{name}`"
        elif "secret" in words and words & {"aws", "access"} and re.fullmatch(r"[\w/+]{40}", value):
            rule, what = "aws-secret-key", f"An AWS secret access key assigned to `{name}`"
        elif vendor is not None and vendor[1] != "uuid" and vendor[1].fullmatch(value):
            data = {"provider": vendor[3]}
            if vendor[2]:
                article = "An" if vendor[3][0] in "AEIOU" else "A"
                rule, what = vendor[2], f"{article} {vendor[3]} assigned to `{name}`"
            else:
                what = f"A {vendor[3]} credential assigned to `{name}`"
        self.generic.append(
            _Candidate(
                rule=rule,
                start=at,
                end=at + len(value),
                value=value,
                preview="",
                message=f"{what}: move it to the deployment's secret store and rotate it.",
                name=name,
                data=data,
            )
        )

    def _in_string_literal(self, at: int) -> bool:
        """Whether offset ``at`` of a code file sits inside a quoted string on its line, as
        `password=...` does in a libpq connection string `"host=db user=app password=..."`.
        Counts the quotes before it on the line (escaped ones excepted), within 2,000
        characters: a file that is one long line must not make every candidate read it.
        A backtick quotes nothing in Python (a comment's `code` markup)."""
        text = self.text
        line_start = max(text.rfind("\n", max(0, at - 2000), at) + 1, at - 2000, 0)
        before = re.sub(r"\\.", "", text[line_start:at])
        return any(before.count(q) % 2 == 1 for q in ("\"'" if self.is_python else "\"'`"))

    def _config_line_in_multiline_string(self, at: int, length: int) -> bool:
        """Whether the value at ``at`` ends a `name = value` line inside a multi-line
        string: a configuration file held in code, not prose in a docstring."""
        text = self.text
        line_start = text.rfind("\n", max(0, at - 200), at) + 1
        line_end = text.find("\n", at, at + length + 200)
        if (line_start == 0 and at > 200) or line_end < 0 and at + length + 200 < len(text):
            return False  # a line that long is not a configuration line
        line_end = len(text) if line_end < 0 else line_end
        return bool(
            _CONFIG_LINE_HEAD.fullmatch(text, line_start, at)
            and _CONFIG_LINE_TAIL.fullmatch(text, at + length, line_end)
            and self._in_multiline_string(at, line_start)
        )

    def _in_multiline_string(self, at: int, line_start: int | None = None) -> bool:
        """Whether offset ``at`` of a code file sits on a line inside a multi-line string
        (triple-quoted, template literal, text block, heredoc), whose lines are data: an
        odd count of the delimiter before it, the last of them on an earlier line."""
        style = self.string_style
        if style is None:
            return False
        text = self.text
        if line_start is None:
            line_start = text.rfind("\n", max(0, at - 2000), at) + 1
        if style == "heredoc":
            if self._strings is None:
                self._strings = _heredocs(text)
            i = bisect.bisect_right(self._strings, (at, len(text))) - 1
            return i >= 0 and self._strings[i][0] <= at < self._strings[i][1]
        if self._delimiters is None:
            found = ("`",) if style == "backtick" else ('"""', "'''")
            self._delimiters = [[m.start() for m in re.finditer(re.escape(d), text)] for d in found]
        return any(bisect.bisect_left(spots, line_start) % 2 for spots in self._delimiters)

    def _url(self, match: re.Match[str], alternative: _Alternative) -> None:
        text = self.text
        scheme_end = scheme_start = match.start()
        while scheme_start and (
            text[scheme_start - 1].isalnum() or text[scheme_start - 1] in "+-."
        ):
            scheme_start -= 1
        scheme = text[scheme_start:scheme_end].lower()
        password = match.group("password")
        if not scheme[:1].isalpha() or not _plausible_url_password(password, match.group("user")):
            return
        at = match.start("password")
        host = text[at + len(password) + 1 : at + len(password) + 120].split("/", 1)[0]
        rule, what = "url-credentials", f"A password inside a {scheme}:// URL"
        if "sentry" in host.lower():
            rule, what = "sentry-dsn", "A Sentry DSN with its secret key"
        self.generic.append(
            _Candidate(
                rule=rule,
                start=at,
                end=at + len(password),
                value=password,
                preview="",
                message=f"{what}: take it out of the URL, "
                "read it from the deployment's secret store and rotate it.",
            )
        )

    def _bearer(self, match: re.Match[str], alternative: _Alternative) -> None:
        token = match.group("token")
        if self.is_doc or token.startswith(("eyJ", "eyA")):  # JWTs are the JWT rule's
            return
        if _is_placeholder(token) or not _plausible_literal(token):
            return
        if _char_classes(token) < 3 or not _looks_random(token, min_length=20):
            return
        at = match.start("token")
        self.generic.append(
            _Candidate(
                rule="bearer-token",
                start=at,
                end=at + len(token),
                value=token,
                preview="",
                message="A literal bearer token in an Authorization header: "
                "read it from the deployment's secret store and rotate it.",
            )
        )

    def _basic(self, match: re.Match[str], alternative: _Alternative) -> None:
        encoded = match.group("token")
        decoded = _decoded_base64_text(encoded)
        if decoded is None or ":" not in decoded:
            return
        user, _, password = decoded.partition(":")
        if _identity(encoded) in _DOCUMENTATION_EXAMPLES or not _plausible_url_password(
            password, user
        ):
            return
        at = match.start("token")
        self.generic.append(
            _Candidate(
                rule="basic-auth",
                start=at,
                end=at + len(encoded),
                value=encoded,
                preview="",
                message="A user name and password in a Basic Authorization header "
                "(base64 is not encryption): rotate the password.",
            )
        )

    # --- compound credentials ---------------------------------------------------------------

    def _line_of(self, offset: int) -> int:
        """0-based line of ``offset``."""
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", self.text)]
        return bisect.bisect_left(self._newlines, offset)

    def _window(self, offset: int) -> tuple[int, int]:
        """The text span of the lines within _PAIR_WINDOW of ``offset``'s line."""
        line = self._line_of(offset)
        newlines = self._newlines or []
        low = newlines[line - _PAIR_WINDOW - 1] + 1 if line - _PAIR_WINDOW - 1 >= 0 else 0
        high = (
            newlines[line + _PAIR_WINDOW] if line + _PAIR_WINDOW < len(newlines) else len(self.text)
        )
        return low, high

    def _mentions_azure(self) -> bool:
        """Whether the file says Azure (or Entra, a tenant...): searched once per blob."""
        if self._azure_context is None:
            self._azure_context = _AZURE_CONTEXT.search(self.text) is not None
        return self._azure_context

    def _pair_kind(self, candidate: _Candidate) -> str | None:
        """Which compound credential ``candidate`` is the secret of, if any."""
        rule = candidate.rule
        if rule == "aws-secret-key":
            return "aws"
        if rule == "azure-entra-client-secret":
            return "azure"
        if rule not in ("keyword-secret", "password-assignment"):
            return None
        words = set(_name_words(candidate.name))
        if "algolia" in words and not words & {"search", "public", "read", "readonly"}:
            return "algolia"
        if "twilio" in words or (words >= {"auth", "token"} and len(candidate.value) == 32):
            return "twilio"
        if words & {"alibaba", "aliyun"} or (
            words >= {"access", "key", "secret"} and len(candidate.value) == 30
        ):
            return "alibaba"
        if {"client", "secret"} <= words and self._mentions_azure():
            return "azure"
        return None

    def _paired(self, candidates: list[_Candidate]) -> list[_Candidate]:
        """Compound credentials as one finding each, on the secret's line."""
        ids = sorted(
            [c for c in candidates if c.rule in _ID_RULES] + self.ids, key=lambda c: c.start
        )
        kinds = {id(c): self._pair_kind(c) for c in candidates}
        if not ids and not any(kinds.values()):
            return candidates
        used: set[int] = set()  # offsets of ids taken by a secret
        paired: dict[int, _Candidate] = {}  # id(candidate) -> its pair finding
        for candidate in candidates:
            kind = kinds[id(candidate)]
            if kind is None:
                continue
            spec = _PAIRS[kind]
            found = self._nearest_id(candidate, spec, ids, used)
            if found is not None:
                used.add(found[0])
                paired[id(candidate)] = self._pair(candidate, spec, *found)
        extra = []
        taken = [(c.start, c.end) for c in candidates]
        # A secret without a name, found through its id: looked for near the first ids only
        # (a file of thousands of key ids is data, and must not cost ids x candidates).
        for ident in ids[:_MAX_UNNAMED]:
            if ident.start in used:
                continue
            spec = _PAIRS[_ID_RULES[ident.rule]]
            secret = self._unnamed_secret(ident, spec, taken)
            if secret is not None:
                used.add(ident.start)
                taken.append((secret.start, secret.end))
                extra.append(self._pair(secret, spec, ident.start, ident.rule))
        if not paired and not extra:
            return candidates
        kept = [
            paired.get(id(c), c)
            for c in candidates
            if not (c.rule in _ID_RULES and c.start in used)
        ]
        return sorted(kept + extra, key=lambda c: (c.start, -c.end))

    def _nearest_id(
        self, secret: _Candidate, spec: _PairSpec, ids: list[_Candidate], used: set[int]
    ) -> tuple[int, str] | None:
        """The offset and rule of the id nearest to ``secret`` within the window."""
        low, high = self._window(secret.start)
        first = bisect.bisect_left(ids, low, key=lambda c: c.start)
        last = bisect.bisect_left(ids, high, key=lambda c: c.start)
        options = [
            (c.start, c.rule)
            for c in ids[first:last]
            if c.start not in used and _PAIRS[_ID_RULES[c.rule]] is spec
        ]
        if not options:
            for found in spec.id_regex.finditer(self.text, low, high):
                start = found.start("id")
                if start not in used and not _is_placeholder(found.group("id")):
                    options.append((start, spec.id_rule))
        if not options:
            return None
        return min(options, key=lambda o: (abs(o[0] - secret.start), o[0] > secret.start))

    def _unnamed_secret(
        self, ident: _Candidate, spec: _PairSpec, taken: list[tuple[int, int]]
    ) -> _Candidate | None:
        """A literal in the secret's shape near the id ``ident``: `Client("AC...", "...")`."""
        if spec.secret_regex is None or not self.keywords:
            return None
        low, high = self._window(ident.start)
        best = None
        for found in spec.secret_regex.finditer(self.text, low, high):
            value = found.group("s")
            start, end = found.span("s")
            if any(s < end and start < e for s, e in taken) or ident.start <= start < ident.end:
                continue
            if _is_placeholder(value) or not _looks_random(value, min_length=30):
                continue
            if spec.id_rule == "aws-access-key" and (
                _HEX.fullmatch(value) or _char_classes(value) < 3
            ):
                continue  # a git SHA or a hash, not a secret key
            if best is None or abs(start - ident.start) < abs(best[0] - ident.start):
                best = (start, end, value)
        if best is None:
            return None
        start, end, value = best
        return _Candidate(
            rule=spec.secret_rule, start=start, end=end, value=value, preview="", message=""
        )

    def _pair(
        self, secret: _Candidate, spec: _PairSpec, id_offset: int, id_rule: str
    ) -> _Candidate:
        rule = secret.rule
        if rule in ("keyword-secret", "password-assignment", spec.secret_rule):
            rule = spec.secret_rule
        id_line = self._line_of(id_offset) + 1
        return replace(
            secret,
            rule=rule,
            message=f"A {spec.what} (the id on line {id_line}): revoke the secret, "
            "move both to the deployment's secret store and remove them from the history.",
            severity=Severity.BLOCKING,
            data={**secret.data, "pair": id_rule, "pair_line": id_line},
        )

    # --- results ----------------------------------------------------------------------------

    def _findings(self, candidates: list[_Candidate], redact: list[_Candidate]) -> list[Finding]:
        text = self.text
        self._line_of(0)
        newlines = self._newlines or []
        starts = [candidate.start for candidate in redact]
        groups: dict[tuple[str, str], list[Finding]] = {}
        markers: dict[int, str] = {}  # per line: a long line holds many candidates
        for candidate in candidates:
            line = bisect.bisect_left(newlines, candidate.start)
            line_start = newlines[line - 1] + 1 if line else 0
            line_end = newlines[line] if line < len(newlines) else len(text)
            data = dict(candidate.data)
            severity, message = candidate.severity, candidate.message
            marker = markers.get(line)
            if marker is None:
                marker = markers[line] = self._allowlist_marker(
                    line_start, line_end, newlines, line
                )
            if marker:
                data["allowlisted"] = marker
                severity = Severity.INFO
                message = (
                    f"Allowlisted by an inline `{marker}` comment (listed, not blocking). {message}"
                )
            finding = Finding(
                kind=Kind.SECRET,
                rule=candidate.rule,
                severity=severity,
                line=line + 1,
                message=message,
                excerpt=self._excerpt(candidate, redact, starts, line_start, line_end),
                identity=_identity(candidate.value),
                data=data,
            )
            groups.setdefault((finding.identity, marker), []).append(finding)
        findings = []
        for group in groups.values():
            first = group[0]
            if len(group) > 1:
                lines = sorted({f.line for f in group})[:_MAX_LINES]
                first = replace(first, data={**first.data, "count": len(group), "lines": lines})
            findings.append(first)
        return sorted(findings, key=lambda f: f.line)

    def _allowlist_marker(
        self, line_start: int, line_end: int, newlines: list[int], line: int
    ) -> str:
        """The allowlist comment that covers the line, or ""."""
        text = self.text
        found = _ALLOW_MARKERS.search(text, line_start, line_end)
        if found:
            return (
                "gatehouse:allow" if found.group().startswith("g") else "pragma: allowlist secret"
            )
        if line:
            previous_start = newlines[line - 2] + 1 if line >= 2 else 0
            if _ALLOW_NEXT_LINE.search(text, previous_start, line_start):
                return "pragma: allowlist nextline secret"
        return ""

    def _excerpt(
        self,
        candidate: _Candidate,
        candidates: list[_Candidate],
        starts: list[int],
        line_start: int,
        line_end: int,
    ) -> str:
        """The text around the finding on its line, every secret in it replaced by a preview."""
        low = max(line_start, candidate.start - _EXCERPT_WIDTH // 2)
        high = min(line_end, candidate.end + _EXCERPT_WIDTH)
        # Candidates are sorted and disjoint: those in the window are a slice of the list.
        first = max(0, bisect.bisect_left(starts, low) - 1)
        last = bisect.bisect_left(starts, high)
        pieces = []
        position = low
        focus = 0
        for other in candidates[first:last]:
            if other.end <= low or other.start >= high:
                continue
            pieces.append(self.text[position : max(other.start, position)])
            if other.start == candidate.start:
                focus = sum(map(len, pieces))
            pieces.append(f"{other.preview}…({other.end - other.start} chars)")
            position = max(position, min(other.end, high))
        pieces.append(self.text[position:high])
        excerpt = "".join(pieces)
        if len(excerpt) > _EXCERPT_WIDTH:
            begin = max(0, min(focus - 40, len(excerpt) - _EXCERPT_WIDTH))
            excerpt = excerpt[begin : begin + _EXCERPT_WIDTH]
        return excerpt.strip()


def _heredocs(text: str) -> list[tuple[int, int]]:
    """The spans of a file's heredocs (``<<EOS`` ... ``EOS``), from the line after the
    opening to the closing word."""
    spans: list[tuple[int, int]] = []
    position = 0
    while True:
        opening = _HEREDOC.search(text, position)
        if not opening:
            return spans
        closing = re.compile(rf"^[ \t]*{re.escape(opening.group('word'))}\b", re.MULTILINE)
        end = closing.search(text, opening.end())
        stop = end.start() if end else len(text)
        spans.append((opening.end(), stop))
        position = stop + 1


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _outermost(candidates: list[_Candidate]) -> list[_Candidate]:
    """Sorted by position, without those inside another's value (in a key block, say)."""
    kept: list[_Candidate] = []
    for candidate in sorted(candidates, key=lambda c: (c.start, -c.end)):
        if not (kept and candidate.start < kept[-1].end and candidate.end <= kept[-1].end):
            kept.append(candidate)
    return kept
