"""Is a blob text, and in which encoding: decided once, before any detector reads it.

Detectors read UTF-8. A file saved as UTF-16 (PowerShell and Windows editors do this),
UTF-32 or Latin-1 is transcoded to UTF-8 first, newline for newline, so line numbers are
those of the decoded text; only what is really binary is left out. A NUL byte alone does
not make a file binary: UTF-16 is full of them, and a text file with one stray NUL is
still text. The decision is by content:

1. a byte-order mark names the encoding (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE);
2. else known binary signatures (images, archives, executables, compiled classes...);
3. else the NUL pattern of UTF-16/32 text without a BOM (ASCII-heavy text puts its NULs
   at every second or at three of every four bytes);
4. else valid UTF-8 is text; otherwise Latin-1, if it reads as text;
5. text is text when control characters (other than tab, newline, form feed, carriage
   return, escape and backspace) are rare in a sample.
"""

from __future__ import annotations

import codecs
import re

SAMPLE_BYTES = 8192
#: Above this share of control characters in the sample, a decoding is not text.
MAX_CONTROL_SHARE = 0.10

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SIGNATURES: tuple[bytes, ...] = (
    b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"\xff\xd8\xff", b"PK\x03\x04", b"PK\x05\x06",
    b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07",
    b"\x7fELF", b"MZ", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe",
    b"\x00asm", b"%PDF-", b"SQLite format 3\x00", b"\x00\x00\x01\x00", b"RIFF", b"OggS",
    b"fLaC", b"ID3", b"wOFF", b"wOF2", b"\x00\x01\x00\x00\x00", b"OTTO", b"\xd0\xcf\x11\xe0",
    b"\x28\xb5\x2f\xfd", b"\x04\x22\x4d\x18",
)  # fmt: skip
# C0 controls but the usual whitespace (tab, newline, form feed, carriage return), escape
# and backspace; DEL; and C1, which random bytes decoded as Latin-1 are full of.
_CONTROLS = re.compile("[\x00-\x07\x0b\x0e-\x1a\x1c-\x1f\x7f-\x9f]")


def _control_share(text: str) -> float:
    """The share of control characters, counted by the regex engine rather than a Python
    loop: this runs on every blob."""
    if not text:
        return 0.0
    return len(_CONTROLS.findall(text)) / len(text)


def _reads_as_text(data: bytes, encoding: str) -> str | None:
    """The sample decoded with ``encoding`` when it reads as text, else None."""
    sample = data[:SAMPLE_BYTES]
    try:
        text = sample.decode(encoding)
    except UnicodeDecodeError as exc:
        # Only a character cut by the sample's end is forgiven.
        if len(data) <= len(sample) or exc.start < len(sample) - 4:
            return None
        text = sample[: exc.start].decode(encoding)
    return text if _control_share(text) <= MAX_CONTROL_SHARE else None


def _utf16_or_32_without_bom(data: bytes) -> str | None:
    sample = data[: SAMPLE_BYTES - SAMPLE_BYTES % 4]
    if len(sample) < 8 or b"\x00" not in sample:
        return None
    n = len(sample)
    zeros = [sample[k::4].count(0) for k in range(4)]
    quarter = n / 4
    # UTF-32 LE: ASCII-range text has NULs in the last three bytes of each four.
    if zeros[1] > 0.9 * quarter and zeros[2] > 0.9 * quarter and zeros[3] > 0.9 * quarter:
        return "utf-32-le" if zeros[0] < 0.5 * quarter else None
    if zeros[0] > 0.9 * quarter and zeros[1] > 0.9 * quarter and zeros[2] > 0.9 * quarter:
        return "utf-32-be" if zeros[3] < 0.5 * quarter else None
    odd, even = zeros[1] + zeros[3], zeros[0] + zeros[2]
    if odd > 0.7 * (n / 2) and even < 0.2 * (n / 2):
        return "utf-16-le"
    if even > 0.7 * (n / 2) and odd < 0.2 * (n / 2):
        return "utf-16-be"
    return None


_CONTROL_BYTES = bytes([*range(0, 8), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])


_NON_ASCII = re.compile("[^\x00-\x7f\ufffd]")


def _valid_utf8(data: bytes) -> bool:
    """``data`` is UTF-8: all of it (a C-speed check; a Latin-1 file is often ASCII for its
    first kilobytes), or nearly all, with a stray bad byte among real multi-byte
    characters (read as UTF-8, the bad byte replaced, rather than as Latin-1 mojibake)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Judged on the neighbourhood of the first bad byte, not the whole file.
        around = data[max(0, exc.start - 32768) : exc.start + 32768]
        text = around.decode("utf-8", errors="replace")
        return len(_NON_ASCII.findall(text)) > 20 * text.count("\ufffd")
    return True


def detect_encoding(data: bytes) -> str | None:
    """The encoding ``data`` is text in, or None when it is binary."""
    if data.startswith(_SIGNATURES):
        return None
    sample = data[:SAMPLE_BYTES]
    if data.isascii() and b"\x00" not in sample:
        # The common case, at C speed: plain ASCII (so UTF-8) with few control bytes.
        controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
        if controls <= MAX_CONTROL_SHARE * len(sample):
            return "utf-8"
        return None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding if _reads_as_text(data[len(bom) :], encoding) is not None else None
    wide = _utf16_or_32_without_bom(data)
    if wide is not None and _reads_as_text(data, wide) is not None:
        return wide
    # Not wide text: a sample full of control bytes is binary, whatever decodes it.
    if len(sample) - len(sample.translate(None, _CONTROL_BYTES)) > MAX_CONTROL_SHARE * len(sample):
        return None
    if _valid_utf8(data):
        text = sample.decode("utf-8", errors="replace")
        return "utf-8" if _control_share(text) <= MAX_CONTROL_SHARE else None
    if b"\x00" not in data[:SAMPLE_BYTES] and _reads_as_text(data, "latin-1") is not None:
        return "latin-1"
    return None


def as_utf8(data: bytes) -> bytes | None:
    """``data`` as UTF-8 text for the detectors (BOM dropped, NUL bytes turned into spaces,
    undecodable bytes replaced), or None when it is binary. Returns ``data`` itself when
    it already is plain UTF-8, so the common case copies nothing."""
    encoding = detect_encoding(data)
    if encoding is None:
        return None
    if encoding == "utf-8":
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        return data.replace(b"\x00", b" ") if b"\x00" in data else data
    bom = next((b for b, e in _BOMS if e == encoding and data.startswith(b)), b"")
    text = data[len(bom) :].decode(encoding, errors="replace")
    return text.replace("\x00", " ").encode("utf-8")
