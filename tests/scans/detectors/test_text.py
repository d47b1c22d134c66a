"""Text or binary, and which encoding (scans.detectors.text): decided by content."""

from __future__ import annotations

import codecs
import os

import pytest

from scans.detectors.text import as_utf8, detect_encoding

SAMPLE = "$Password = 'x'\r\n# Copyright (c) 2020 Société Générale\r\nWrite-Host ok\r\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (SAMPLE.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + SAMPLE.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF16_LE + SAMPLE.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + SAMPLE.encode("utf-16-be"), "utf-16-be"),
        (codecs.BOM_UTF32_LE + SAMPLE.encode("utf-32-le"), "utf-32-le"),
        (codecs.BOM_UTF32_BE + SAMPLE.encode("utf-32-be"), "utf-32-be"),
        (SAMPLE.encode("utf-16-le"), "utf-16-le"),  # no BOM: by its NUL pattern
        (SAMPLE.encode("utf-16-be"), "utf-16-be"),
        (SAMPLE.encode("utf-32-le"), "utf-32-le"),
        (SAMPLE.encode("latin-1"), "latin-1"),
        (("x" * 9000 + "café\n").encode("latin-1"), "latin-1"),  # past the sample, still seen
        (b"text with one stray \x00 in it\n" * 40, "utf-8"),
        ("Société ünïcödé ".encode() * 20 + b"\xff", "utf-8"),  # one bad byte in UTF-8
        (b"\x1b[31mred\x1b[0m and a backspace\x08\n", "utf-8"),
    ],
)
def test_text_in_any_encoding_is_text(data, encoding):
    assert detect_encoding(data) == encoding


@pytest.mark.parametrize(
    "data",
    [
        os.urandom(9000),
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
        b"\x7fELF" + b"\x00" * 100,
        b"PK\x03\x04" + b"text-looking member name.txt",
        bytes(range(256)) * 20,
        b"\x00\x01\x02\x03" * 2000,
    ],
)
def test_binary_is_binary(data):
    assert detect_encoding(data) is None and as_utf8(data) is None


def test_decoded_text_keeps_its_lines_and_loses_its_bom_and_nuls():
    utf16 = codecs.BOM_UTF16_LE + SAMPLE.encode("utf-16-le")
    assert as_utf8(utf16) == SAMPLE.encode("utf-8")
    assert as_utf8(SAMPLE.encode("latin-1")).decode("utf-8").splitlines() == SAMPLE.splitlines()
    assert as_utf8(b"a\x00b\n" + b"more text\n" * 5) == b"a b\n" + b"more text\n" * 5
    plain = b"plain ascii\n"
    assert as_utf8(plain) is plain  # nothing copied in the common case
