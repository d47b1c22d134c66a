"""Secrets: credentials in provider formats, and high-entropy values given secret-like names.

Compiled regular expressions find the candidates; Python then validates the few they yield
(entropy, placeholders, environment look-ups, code). Every rule is anchored on a character
that is rare in source code -- an upper-case letter, ``_``, ``-``, ``:``, or an uncommon
letter of a keyword such as the ``k`` of ``token`` -- with the rest of its prefix checked
by a look-behind, and the rules sharing an anchor form one alternation. Each alternation
starts with its literal anchor, which ``re`` finds with a fast scan; one alternation over
all rules would instead be tried at every position holding any of the anchors, and is a
quarter slower on real source (41 against 52 MB/s here) even before counting its capturing
groups. So a blob gets one pass per anchor (16), none with capturing groups; a match is
handed to the rule of its anchor that matches there, compiled on its own with named groups.

A value can be seen by several rules: a GitHub token assigned to ``GITHUB_TOKEN``, a JWT
after ``Bearer``. The keyword, URL and ``Bearer`` alternatives only *look ahead* at their
value, so the pass goes on inside it and a provider rule sees the token too. Whatever shape
a provider rule recognises (a token, a private-key block) is claimed by that rule, which
alone decides: a documented example key is dropped even when it is assigned to ``api_key``.

Decisions worth knowing:

* Stripe test-mode keys (``sk_test_``/``rk_test_``) are reported as *warnings*: they cannot
  move money but do open the account's test data and settings, so they should still go.
* ``Bearer <token>`` is reported only outside documentation files (``.md``, ``.rst``,
  ``.txt``...), whose examples are nearly always made up, and only when the token looks
  random. A lower-case ``bearer`` is not looked for.
* In lock files (``package-lock.json``, ``yarn.lock``, ``go.sum``...) only rules whose shape
  a hex or base64 hash cannot take fire: prefixed tokens with ``_``/``-``/``.`` in fixed
  places, private keys, credentials in URLs, ``Bearer``/``Basic`` headers. No keyword rule.
* Unquoted values count only outside programming-language files: ``password: x`` in YAML
  or ``.env`` is a literal, ``password = x`` in Python is a variable -- unless the
  assignment sits inside a string literal, as in a libpq connection string
  ``"host=db user=app password=..."``.
* Some formats assign without ``=`` or ``:``, and are read in files of that format only:
  Dockerfile's ``ENV NAME value``, ``.netrc``'s ``password value``, and a Terraform
  ``variable "db_password" { default = "..." }``.
* Hostile input: every repeat is bounded (a token of a few hundred characters at most) and
  possessive, and a JWT starts only at a word boundary, so no text makes a pass quadratic.
  Each candidate still costs some 40 microseconds of Python, so a file that is nothing but
  ``password=`` repeated scans at about 0.25 MB/s; the engine's time limit is the backstop.
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
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

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
    r"(?:sha-?\d*|md5|blake2b?|crc32|h1|pbkdf2_\w+|argon2\w*|bcrypt|scrypt)[:$-]", re.IGNORECASE
)
_HOST = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?::\d+)?")
_REFERENCE_PART = re.compile(r"[$_]?[A-Za-z][a-z0-9]*|[$_]?[A-Za-z][\w$]*")
_CALL = re.compile(r"[A-Za-z_$][\w$.]*\(")
_CALL_OPENING = re.compile(r"\w\([ \t]*$")  # `put(` before a quoted argument
_WORDISH = re.compile(
    r"[a-z]+\d*(?:[_.|\-](?:[a-z]+\d*|\d+))*"  # lower-case words: my-app, scram-sha-256, a|b
    r"|[A-Z]+\d*(?:_[A-Z]+\d*)*"  # constants: DB_PASSWORD, AWS_S3_BUCKET
    r"|[a-z]+(?:[A-Z][a-z]+)+\d{0,4}"  # camelCase words
    r"|_?(?:[A-Z][a-z]+)+\d{0,4}"  # PascalCase words, _PrivateClass
)
_CONSTANT = re.compile(r"[A-Z]+\d*(?:_[A-Z]+\d*)*")
_TEMPLATE = re.compile(r"\$\{|\$\(|\{\{|\}\}|#\{|%\(|%[sd]\b|\{\d*\}|\{[a-z_]\w*\}")
_ENV_REFERENCE = re.compile(r"\$[A-Za-z_({].*|%[A-Za-z_]\w*%")
# Paths: absolute or relative with lower-case segments, anything with a slash that ends in
# a file extension (base64 has no dots), or a Windows drive.
_PATH = re.compile(
    r"(?:~|\.{1,2})?(?:/[A-Za-z_.@][a-z0-9_.@-]*)+/?"
    r"|[\w.~-]*/.*\.[A-Za-z]{1,5}"
    r"|[A-Za-z]:\\.*"
)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{8,}={0,2}")
_CHAR_CLASSES = tuple(map(re.compile, (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]")))
_WHITESPACE = re.compile(r"\s")
_LETTER = re.compile(r"[^\W\d_]")

# --- names ------------------------------------------------------------------------------

_NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-$")
# fmt: off
_PASSWORD_WORDS = frozenset({"password", "passwd", "pwd", "pass", "passphrase", "passcode"})
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
    "handler", "backend", "backends", "public", "publishable", "pub", "user", "username",
    "login", "email", "generator", "getter", "callback", "template", "salt", "algorithm",
    "algo", "alg", "version", "enabled", "enable", "required", "visible", "changed", "last",
    "updated", "created", "date", "time", "timestamp", "status", "state", "limit", "rotation",
    "location", "source", "lookup", "loader", "factory", "encoding", "encoder", "decoder",
    "serializer", "cache", "scope", "scopes", "audience", "issuer", "claim", "claims", "usage",
    "list", "map", "dict", "bucket", "arn", "mount", "volume", "char", "chars", "charset",
    "alphabet", "separator", "delimiter", "sep", "start", "end", "index", "idx", "pos",
    "offset", "line", "column", "col", "question", "answer", "confirm", "confirmation",
    "strength", "rules", "rule",
})
# fmt: on
_SECRET_COMPOUNDS = ("password", "passwd", "passphrase", "secret", "token", "credential")
_NOT_SECRET_COMPOUNDS = ("tokeniz", "secretar")
_SETTER_WORDS = frozenset({"set", "with", "use"})
_KEYWORD_WORDS = _PASSWORD_WORDS | _SECRET_WORDS | _KEY_QUALIFIERS | {"key"}


def _name_words(name: str) -> list[str]:
    return [word.lower() for word in _NAME_WORDS.findall(name)]


@functools.lru_cache(maxsize=4096)  # the same few names recur in every file
def _secret_name(name: str) -> str | None:
    """'password' or 'secret' when ``name`` names a secret value, else None."""
    if name in ("PWD", "OLDPWD"):
        return None  # the shell's working directory
    words = _name_words(name)
    if not words or any(word in _NOT_SECRET_NAME_WORDS for word in words):
        return None
    if any(word in _PASSWORD_WORDS or "password" in word or "passwd" in word for word in words):
        return "password"
    for i, word in enumerate(words):
        if word in _SECRET_WORDS:
            return "secret"
        if any(bad in word for bad in _NOT_SECRET_COMPOUNDS):
            continue
        if any(part in word for part in _SECRET_COMPOUNDS):
            return "secret"
        if word in ("key", "keys") and i and words[i - 1] in _KEY_QUALIFIERS:
            return "secret"
        if word.endswith("key") and word[:-3] in _KEY_QUALIFIERS:
            return "secret"
    return None


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


def _is_placeholder(value: str) -> bool:
    """A made-up or redacted value: placeholder words, masks, repeated or sequential runs."""
    if _has_placeholder_words(value) or _WEAK_WORDS.search(value.lower().translate(_LEET)):
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


def _plausible_literal(value: str, *, quoted: bool = True) -> bool:
    """False for references, templates, paths, hashes, ids and words: not a secret."""
    if not value or value[0] in "{[(" or _WHITESPACE.search(value):
        return False
    if not quoted and (value[0] in "*&!#@%-" or re.search(r"\\[nrt]", value)):
        return False  # YAML aliases, anchors, tags, comments; options; text with escapes
    if _ENV_REFERENCE.fullmatch(value) or (value[0] == "@" and value[-1] == "@"):
        return False
    if _TEMPLATE.search(value) or "://" in value or _PATH.fullmatch(value):
        return False
    if _HASH_PREFIX.match(value) or _UUID.fullmatch(value):
        return False
    if _CALL.match(value) or _HOST.fullmatch(value) or _is_reference(value):
        return False
    if _WORDISH.fullmatch(value.rstrip("=")):
        return False
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


def _plausible_url_password(password: str, user: str) -> bool:
    password = urllib.parse.unquote(password)
    if len(password) < 6 or password.lower() == user.lower() or ":" in password:
        return False  # short stand-ins, and CVS's `:pserver:` read as a password
    if password.isalpha() and password.islower():
        return False  # a word: scott:tiger, root:masterkey
    if password[0] in "$%{<[*(:" or password.lower() in _DEFAULT_URL_PASSWORDS:
        return False
    if password.isdigit() and len(password) <= 5:
        return False  # host:port read as user:password
    if _CONSTANT.fullmatch(password):
        return False  # a name standing in for the value: SAS_KEY, PASSWORD
    return not (_TEMPLATE.search(password) or _is_placeholder(password))


# --- provider formats -------------------------------------------------------------------


def _random_tail(value: str, skip: int, *, min_length: int = 16) -> bool:
    tail = value[skip:]
    return not _is_placeholder(tail) and _looks_random(tail, min_length=min_length)


def _check_tail(skip: int, min_length: int = 16) -> Callable[[str], str | None]:
    """A check that the part after a vendor prefix of ``skip`` characters looks random."""

    def check(value: str) -> str | None:
        return "" if _random_tail(value, skip, min_length=min_length) else None

    return check


def _check_aws(value: str) -> str | None:
    tail = value[4:]
    return "" if not _is_placeholder(tail) and len(set(tail)) >= 8 else None


def _check_slack(value: str) -> str | None:
    # xoxb-<team digits>-<bot digits>-<random>: placeholders lack the digit groups.
    tail = value[5:]
    if len(value) < 20 or not re.search(r"\d{4}", tail) or _is_placeholder(tail):
        return None
    return "" if _entropy(tail) >= 3.0 else None


def _check_openai(value: str) -> str | None:
    if value.startswith("sk-ant-"):
        return "anthropic-key" if _random_tail(value, 13, min_length=32) else None
    if _char_classes(value[3:].replace("-", "").replace("_", "")) < 3:
        return None  # CSS classes and slugs: "sk-button-primary-large"
    return "" if _random_tail(value, 3, min_length=20) else None


def _check_stripe(value: str) -> str | None:
    if not _random_tail(value, 8, min_length=10):
        return None
    return "stripe-test-key" if "_test_" in value[:8] else ""


def _check_telegram(value: str) -> str | None:
    return "" if _random_tail(value, value.index(":") + 1, min_length=30) else None


def _check_jwt(value: str) -> str | None:
    header, payload, signature = value.split(".", 2)
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
        claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(decoded, dict) or not ({"alg", "typ"} & decoded.keys()):
        return None
    if _identity(value) in _DOCUMENTATION_EXAMPLES or _has_placeholder_words(signature):
        return None
    return None if re.search(rb"dummy|placeholder", claims, re.IGNORECASE) else ""


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
    check: Callable[[str], str | None]  # value -> "" (keep), another rule name, or None
    hash_safe: bool = True  # cannot occur inside a hex or base64 hash (lock files)
    boundary: str = "word"  # what may not touch the token: "word" or "base64" characters


# fmt: off
_PROVIDERS = (
    _Provider("aws-access-key", "A", r"(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}", 0,
              "AWS access key id", 4, _check_aws, hash_safe=False, boundary="base64"),
    _Provider("google-api-key", "A", r"Iza[\w-]{35}", 0,
              "Google API key", 4, _check_tail(4, 20), hash_safe=False, boundary="base64"),
    _Provider("github-token", "_", r"(?<=gh[pousr]_)[A-Za-z0-9]{36,251}", 3,
              "GitHub token", 4, _check_tail(4, 30)),
    _Provider("github-token", "_", r"(?<=github_)pat_[A-Za-z0-9_]{50,250}", 6,
              "GitHub fine-grained token", 11, _check_tail(11, 40)),
    _Provider("gitlab-token", "-", r"(?<=glpat-)[\w.-]{20,300}+", 5,
              "GitLab personal access token", 6, _check_tail(6, 20)),
    _Provider("gitlab-token", "-", r"(?<=gl[dr]t-)[\w.-]{20,300}+", 4,
              "GitLab deploy or runner token", 5, _check_tail(5, 20)),
    _Provider("slack-token", "-", r"(?<=xox[abeoprs]-)[A-Za-z0-9-]{10,250}", 4,
              "Slack token", 5, _check_slack),
    _Provider("slack-token", "-", r"(?<=xapp-)[A-Za-z0-9-]{20,250}", 4,
              "Slack app token", 5, _check_slack),
    _Provider("slack-webhook", "k",
              r"(?<=hooks\.slack)\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,300}+", 10,
              "Slack webhook URL", 16, _check_tail(16, 20)),
    _Provider("discord-webhook", "k",
              r"(?<=discord\.com/api/webhook)s/\d{15,22}/[\w-]{50,300}+", 22,
              "Discord webhook URL", 25, _check_tail(25, 50)),
    _Provider("stripe-key", "_", r"(?<=[sr]k_)(?:live|test)_[A-Za-z0-9]{10,247}", 2,
              "Stripe secret key", 8, _check_stripe),
    _Provider("stripe-webhook-secret", "_", r"(?<=whsec_)[A-Za-z0-9]{24,300}+", 5,
              "Stripe webhook signing secret", 6, _check_tail(6, 24)),
    _Provider("npm-token", "_", r"(?<=npm_)[A-Za-z0-9]{36}", 3,
              "npm access token", 4, _check_tail(4, 30)),
    _Provider("pypi-token", "-", r"(?<=pypi-)AgE[\w-]{50,1000}+", 4,
              "PyPI API token", 8, _check_tail(8, 40)),
    _Provider("dockerhub-token", "_", r"(?<=dckr_)pat_[\w-]{20,300}+", 4,
              "Docker Hub access token", 9, _check_tail(9, 20)),
    _Provider("shopify-token", "_", r"(?<=shp(?:at|ss|ca|pa)_)[a-fA-F0-9]{32}", 5,
              "Shopify access token", 6, _check_tail(6, 32)),
    _Provider("openai-key", "-", r"(?<=sk-)[A-Za-z0-9_-]{20,250}", 2,
              "OpenAI API key", 3, _check_openai),
    _Provider("vault-token", "v", r"(?<=hv)[sb]\.[A-Za-z0-9_-]{90,1000}+", 1,
              "HashiCorp Vault token", 4, _check_tail(4, 60)),
    _Provider("square-token", "-", r"(?<=sq0(?:atp|csp)-)[\w-]{22,43}", 6,
              "Square access token", 7, _check_tail(7, 22)),
    _Provider("mailgun-key", "-", r"(?<=key-)[0-9a-f]{32}", 3,
              "Mailgun API key", 4, _check_tail(4, 32), hash_safe=False),
    _Provider("sendgrid-key", "S", r"G\.[\w-]{22}\.[\w-]{43}", 0,
              "SendGrid API key", 3, _check_tail(3, 40)),
    _Provider("twilio-key", "S", r"K[0-9a-f]{32}", 0,
              "Twilio API key", 2, _check_tail(2, 32), hash_safe=False),
    _Provider("telegram-bot-token", ":", r"(?<=[0-9]{8}:)[A-Za-z0-9_-]{35}", 0,
              "Telegram bot token", 0, _check_telegram, hash_safe=False),
    _Provider("jwt", "J",
              r"(?<=eyJ)(?<![\w-]eyJ)[\w-]{6,4000}+\.ey[\w-]{6,16000}+\.[\w-]{16,4000}+", 2,
              "JSON Web Token", 3, _check_jwt),
)
# fmt: on
_RULE_WHAT = {"stripe-test-key": "Stripe test-mode key", "anthropic-key": "Anthropic API key"}

# --- context rules ----------------------------------------------------------------------

# A value: quoted (with Python's string prefixes) or bare up to white space.
_VALUE = (
    r"""[fFrRbBuU]{0,2}(?:"(?:[^"\\\n]|\\.){1,300}"|'(?:[^'\\\n]|\\.){1,300}'|`[^`\n]{1,300}`)"""
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
    r"(?P<rest>[\w.-]{0,40}+)(?:['\"`]\]?|\])?"
    rf"(?:[ \t]*(?P<sep>{_SEPARATOR})|[ \t]+value[ \t]*=)"
    rf"[ \t]*(?=(?P<value>{_VALUE}))"
)
# (anchor, handler, pattern after the anchor). Keywords are anchored on one of their
# letters, case variants spelled out: an IGNORECASE pattern would lose the fast skip.
# pass, password, passwd, pwd | key, token | secret, cred(ential)s | auth
_PASS_REST = r"(?:[aA][sS][sS]|[wW][dD])"
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
    ("-", "cli", rf"(?<=--)(?P<name>[A-Za-z][\w-]{{1,40}})[ \t]+(?=(?P<value>{_VALUE}))"),
    (":", "url", r"(?<=[A-Za-z0-9+.-]:)//(?=(?P<user>[^\s/@:'\"<>{}()\[\]`]{0,100}+)"
                 r":(?P<password>[^\s/@'\"<>`]{1,200})@[\w\[])"),
    ("B", "bearer", _BEARER),
    ("B", "basic",
     r"(?<!\wB)(?:asic|ASIC)[ \t]+(?P<token>[A-Za-z0-9+/]{8,1000}+={0,2})(?![\w+/=])"),
    ("A", "azure", r"(?<!\wA)ccountKey[ \t]*=[ \t]*(?P<key>[A-Za-z0-9+/]{20,500}+={0,2})"),
    ("S", "azure", r"(?<!\wS)haredAccessKey[ \t]*=[ \t]*(?P<key>[A-Za-z0-9+/]{20,500}+={0,2})"),
    ("-", "private_key", r"----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"),
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


@dataclass(frozen=True)
class _Pass:
    """One anchor's alternation (without groups), and its rules in the same order."""

    regex: re.Pattern[str]
    alternatives: tuple[_Alternative, ...]


def _build_passes() -> tuple[_Pass, ...]:
    rules = [(p.anchor, "provider", p.pattern, p) for p in _PROVIDERS]
    rules += [(anchor, handler, pattern, None) for anchor, handler, pattern in _CONTEXT_RULES]
    patterns: dict[str, list[str]] = {}
    alternatives: dict[str, list[_Alternative]] = {}
    for anchor, handler, pattern, provider in rules:
        regex = re.compile(re.escape(anchor) + pattern)
        alternatives.setdefault(anchor, []).append(_Alternative(regex, handler, provider))
        patterns.setdefault(anchor, []).append(re.sub(r"\(\?P<\w+>", "(?:", pattern))
    return tuple(
        _Pass(re.compile(f"{re.escape(anchor)}(?:{'|'.join(rests)})"), tuple(alternatives[anchor]))
        for anchor, rests in patterns.items()
    )


_PASSES = _build_passes()
_END_OF_KEY = re.compile(r"-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----")
# Elided or made-up key bodies; a real body is base64, whose runs never hold these words.
_FAKE_KEY_BODY = re.compile(
    r"\.\.\.|…|<[^>\n]*>|\b(?:redacted|example|your|placeholder|[xX]{4,})\b", re.IGNORECASE
)
_KEY_HEADER_LINE = re.compile(r"(?m)^[ \t\"'+,]*[A-Za-z-]+: .*$")  # Proc-Type, Comment...
_KEY_BODY_CHARS = re.compile(r"[A-Za-z0-9+/=\s\"',\\|]+")  # base64, and what wraps it in code
_KEY_BODY_RUN = re.compile(r"(?:[A-Za-z0-9+/=\s\"',|]|\\[nr]){0,20000}+")
# What may not touch a token on either side (else it is part of a longer word or blob).
_TOUCHING_BEFORE = {"word": re.compile(r"[A-Za-z0-9_]"), "base64": re.compile(r"[A-Za-z0-9+/_-]")}
_TOUCHING_AFTER = {"word": re.compile(r"[A-Za-z0-9_-]"), "base64": re.compile(r"[A-Za-z0-9+/=_-]")}


@dataclass(frozen=True)
class _Candidate:
    rule: str
    start: int  # span of the secret value in the text
    end: int
    value: str  # what the identity hashes; never stored
    preview: str  # the public part of the value that may be shown (a vendor prefix)
    message: str
    severity: str = Severity.BLOCKING


class SecretsDetector:
    """Credentials: provider token formats, private keys, JWTs, passwords in URLs and
    headers, and high-entropy values assigned to names like ``password`` or ``api_key``."""

    kind = Kind.SECRET
    version = "secrets-2"

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
        self.keywords = suffix not in _NO_KEYWORD_SUFFIXES and not self.is_lock
        self.is_dockerfile = base.startswith("dockerfile") or base.endswith(".dockerfile")
        self.is_netrc = base in (".netrc", "_netrc", "netrc")
        self.is_terraform = suffix in (".tf", ".tfvars")
        self.specific: list[_Candidate] = []  # from provider formats and key blocks
        self.generic: list[_Candidate] = []  # from keyword, URL and header rules
        self.claims: list[tuple[int, int]] = []  # spans a provider rule has decided on
        self._key_ends: list[re.Match[str]] | None = None

    def run(self) -> list[Finding]:
        text = self.text
        for one_pass in _PASSES:
            for match in one_pass.regex.finditer(text):
                at = match.start()
                for alternative in one_pass.alternatives:
                    found = alternative.regex.match(text, at)
                    if found:
                        getattr(self, "_" + alternative.handler)(found, alternative)
                        break
        self._format_assignments()
        if not self.specific and not self.generic:
            return []
        claims = _merged(self.claims)
        claim_starts = [start for start, _ in claims]
        kept = list(self.specific)
        for candidate in self.generic:
            i = bisect.bisect_left(claim_starts, candidate.end)
            if not (i and claims[i - 1][1] > candidate.start):  # else a provider rule decided
                kept.append(candidate)
        return self._findings(_outermost(kept))

    # --- provider formats -------------------------------------------------------------------

    def _provider(self, match: re.Match[str], alternative: _Alternative) -> None:
        provider = alternative.provider
        assert provider is not None
        text = self.text
        start, end = match.start() - provider.back, match.end()
        if provider.rule == "telegram-bot-token":
            while start and text[start - 1].isdigit():
                start -= 1
        while text[end - 1] == ".":  # a full stop after a token that may hold dots
            end -= 1
        if (start and _TOUCHING_BEFORE[provider.boundary].match(text, start - 1)) or (
            end < len(text) and _TOUCHING_AFTER[provider.boundary].match(text, end)
        ):
            return  # part of a longer word or encoded blob
        value = text[start:end]
        self.claims.append((start, end))
        if self.is_lock and not provider.hash_safe:
            return
        verdict = provider.check(value)
        if verdict is None:
            return
        rule = verdict or provider.rule
        what = _RULE_WHAT.get(rule, provider.what)
        self.specific.append(
            _Candidate(
                rule=rule,
                start=start,
                end=end,
                value=value,
                preview=value[: provider.show],
                message=f"{what} in the source: revoke it and remove it from the history.",
                severity=Severity.WARNING if rule == "stripe-test-key" else Severity.BLOCKING,
            )
        )

    def _private_key(self, match: re.Match[str], alternative: _Alternative) -> None:
        text = self.text
        start = match.start()
        while start and text[start - 1] == "-":
            start -= 1
        header_end = match.end()
        # The body may be PEM lines, a JSON string with \n escapes, or concatenated strings.
        closing = self._end_of_key(header_end)
        if closing:
            raw = text[header_end : closing.start()]
            body = _KEY_HEADER_LINE.sub("", re.sub(r"\\[nr]", "\n", raw))
            if "-----BEGIN" in raw or len(_KEY_BODY_CHARS.sub("", body)) > 16:
                closing = None  # code between a quoted header and another key's END line
        if closing:
            block_end = closing.end()
        else:  # no END line: the key, if any, is what directly follows the header
            body = _KEY_BODY_RUN.match(text, header_end).group()  # type: ignore[union-attr]
            block_end = header_end + len(body)
        key = "".join(re.findall(r"[A-Za-z0-9+/=]+", re.sub(r"\\[nr]", "\n", body)))
        self.claims.append((start, block_end))
        if len(key) < 64 or _entropy(key) < 4.5 or _FAKE_KEY_BODY.search(body):
            return
        header = text[start:header_end].strip("-").strip()
        what = header.removeprefix("BEGIN").strip().replace("PRIVATE KEY", "private key")
        self.specific.append(
            _Candidate(
                rule="private-key",
                start=start,
                end=block_end,
                value=key,
                preview=f"-----{header}-----",
                message=f"{what} block in the source: treat the key as compromised, "
                "replace it and remove it from the history.",
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
        self.claims.append((at, at + len(key)))
        if _is_placeholder(key) or not _looks_random(key, min_length=20):
            return
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
            quoted_name = before in ("'", '"') and text[match.end("rest")] == before
            if separator == ":" and self.is_python and not quoted_name:
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
        if quoted:
            prefix = raw[: len(raw) - len(stripped)]
            if "f" in prefix.lower() and "{" in stripped:
                return  # an f-string interpolates
            value = stripped[1:-1]
            at += len(prefix) + 1
        elif separator == "(" or (
            self.is_code and separator != ">" and not self._in_string_literal(at)
        ):
            return  # an expression: a variable, a call, an attribute
        else:
            value = raw.split("<", 1)[0].rstrip(",;)\\")
            if "{" in value or "}" in value:
                return  # a template, or a style sheet's rule
        if separator == "(":
            # `setPassword("...")`, `.apiKey("...")`; not `check_password("...")`.
            words = _name_words(name.rsplit(".", 1)[-1])
            if not words or not (words[0] in _SETTER_WORDS or set(words) <= _KEYWORD_WORDS):
                return
        if not _plausible_secret(value, password=kind == "password", quoted=quoted):
            return
        words = set(_name_words(name))
        rule, what = "keyword-secret", f"A high-entropy value assigned to `{name}`"
        if kind == "password":
            what = f"A literal password assigned to `{name}`"
        elif "secret" in words and words & {"aws", "access"} and re.fullmatch(r"[\w/+]{40}", value):
            rule, what = "aws-secret-key", f"An AWS secret access key assigned to `{name}`"
        self.generic.append(
            _Candidate(
                rule=rule,
                start=at,
                end=at + len(value),
                value=value,
                preview="",
                message=f"{what}: move it to the deployment's secret store and rotate it.",
            )
        )

    def _in_string_literal(self, at: int) -> bool:
        """Whether offset ``at`` of a code file sits inside a quoted string on its line, as
        `password=...` does in a libpq connection string `"host=db user=app password=..."`.
        Counts the quotes before it on the line (escaped ones excepted)."""
        text = self.text
        line_start = text.rfind("\n", 0, at) + 1
        before = re.sub(r"\\.", "", text[line_start:at])
        return any(before.count(q) % 2 == 1 for q in "\"'`")

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
        self.generic.append(
            _Candidate(
                rule="url-credentials",
                start=at,
                end=at + len(password),
                value=password,
                preview="",
                message=f"A password inside a {scheme}:// URL: take it out of the URL, "
                "read it from the deployment's secret store and rotate it.",
            )
        )

    def _bearer(self, match: re.Match[str], alternative: _Alternative) -> None:
        token = match.group("token")
        if self.is_doc or token.startswith("eyJ"):  # JWTs are the JWT rule's to judge
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

    # --- results ----------------------------------------------------------------------------

    def _findings(self, candidates: list[_Candidate]) -> list[Finding]:
        text = self.text
        newlines = [m.start() for m in re.finditer("\n", text)]
        starts = [candidate.start for candidate in candidates]
        findings = []
        for candidate in candidates:
            line = bisect.bisect_left(newlines, candidate.start)
            line_start = newlines[line - 1] + 1 if line else 0
            line_end = newlines[line] if line < len(newlines) else len(text)
            findings.append(
                Finding(
                    kind=Kind.SECRET,
                    rule=candidate.rule,
                    severity=candidate.severity,
                    line=line + 1,
                    message=candidate.message,
                    excerpt=self._excerpt(candidate, candidates, starts, line_start, line_end),
                    identity=_identity(candidate.value),
                )
            )
        return findings

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
            if other is candidate:
                focus = sum(map(len, pieces))
            pieces.append(f"{other.preview}…({other.end - other.start} chars)")
            position = max(position, min(other.end, high))
        pieces.append(self.text[position:high])
        excerpt = "".join(pieces)
        if len(excerpt) > _EXCERPT_WIDTH:
            begin = max(0, min(focus - 40, len(excerpt) - _EXCERPT_WIDTH))
            excerpt = excerpt[begin : begin + _EXCERPT_WIDTH]
        return excerpt.strip()


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
