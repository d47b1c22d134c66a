"""License by reference: a header that says where its license is instead of carrying it.

Headers are written in the style of well-known projects' headers (zlib, libpng, Lua,
libgit2, Boost, QEMU, Go, React, expat, Qt), shortened.
"""

from __future__ import annotations

import pytest

from scans.detectors.base import Kind, Policy, Severity
from scans.detectors.licenses import LicenseDetector
from tests.scans.detectors.test_licenses import APACHE_HEADER, MIT_TEXT, commented

DETECTOR = LicenseDetector()
NO_POLICY = Policy()


def scan(text: str, filename: str = "module.c", policy: Policy = NO_POLICY):
    return DETECTOR.scan(text.encode(), filename=filename, policy=policy)


def references(text: str, filename: str = "module.c") -> list[tuple[str, int]]:
    return [
        (f.data["reference"], f.line) for f in scan(text, filename) if f.rule == "license-reference"
    ]


@pytest.mark.parametrize(
    ("source", "reference", "line"),
    [
        (
            "/* adler.c -- a checksum\n"
            " * Copyright (C) 1995-2011 Jean Example\n"
            " * For conditions of distribution and use, see copyright notice in zlib.h\n"
            " */\n",
            "zlib.h",
            3,
        ),
        (
            "/* pngthing.c - values from the info struct\n"
            " *\n"
            " * This code is released under the libpng license.\n"
            " * For conditions of distribution and use, see the disclaimer\n"
            " * and license in png.h\n"
            " */\n",
            "png.h",
            5,
        ),
        ("/*\n** Lua thing\n** See Copyright Notice in lua.h\n*/\n", "lua.h", 3),
        (
            "/*\n * This file is part of Frob, distributed under the GNU GPL v2 with\n"
            " * a Linking Exception. For full terms see the included COPYING file.\n */\n",
            "COPYING",
            3,
        ),
        ("# Licensed under the MIT license, see LICENSE.txt\nimport os\n", "LICENSE.txt", 1),
        ("// This file is part of Frob; see LICENSE in the project root.\n", "LICENSE", 1),
        (
            "/* Copyright (c) 1998 Example Ltd\n"
            "   See the file COPYING for copying permission.\n*/\n",
            "COPYING",
            2,
        ),
        ("-- see the LICENSE file\n", "LICENSE", 1),
        (
            "//  Distributed under the Boost Software License, Version 1.0.\n"
            "//  (See accompanying file LICENSE_1_0.txt or copy at\n"
            "//  https://www.boost.org/LICENSE_1_0.txt)\n",
            "LICENSE_1_0.txt",
            2,
        ),
        (
            "/*\n * This work is licensed under the terms of the GNU GPL, version 2 or later.\n"
            " * See the COPYING file in the top-level directory.\n */\n",
            "COPYING",
            3,
        ),
        (
            "// Use of this source code is governed by a BSD-style\n"
            "// license that can be found in the LICENSE file.\n\npackage frob\n",
            "LICENSE",
            2,
        ),
        (
            "/**\n * This source code is licensed under the MIT license found in the\n"
            " * LICENSE file in the root directory of this source tree.\n */\n",
            "LICENSE",
            3,
        ),
        ("; See LICENSES/MIT.txt for the terms.\n", "LICENSES/MIT.txt", 1),
        ("# see ../LICENSE\n", "../LICENSE", 1),
        ("<!-- Refer to the accompanying LICENSE-APACHE file. -->\n", "LICENSE-APACHE", 1),
        (
            "## License\n\nThis project is licensed under the MIT License - see the\n"
            "[LICENSE.md](LICENSE.md) file for details.\n",
            "LICENSE.md",
            4,
        ),
        ("The icons are under the MIT license (see file license\nin this folder).\n", "license", 1),
        (
            "// Copyright 2014 The Frob Developers. See the COPYRIGHT\n"
            "// file at the top-level directory of this distribution.\n",
            "COPYRIGHT",
            1,
        ),
        (
            "** This file may be used under the terms of the GNU Lesser General Public\n"
            "** License version 2.1 as published by the Free Software Foundation and\n"
            "** appearing in the file LICENSE.LGPL included in the packaging of this file.\n",
            "LICENSE.LGPL",
            3,
        ),
        ('{\n  "name": "frob",\n  "license": "SEE LICENSE IN LICENSE.txt"\n}\n', "LICENSE.txt", 3),
        ("# Released under the terms described in COPYING.LIB.\n", "COPYING.LIB", 1),
    ],
)
def test_reference_names_the_file_as_written(source, reference, line):
    (finding,) = [f for f in scan(source) if f.rule == "license-reference"]

    assert finding.kind == Kind.LICENSE
    assert finding.severity == Severity.INFO
    assert finding.license is None
    assert finding.data == {"source": "reference", "reference": reference}
    assert finding.line == line
    assert reference.split("/")[-1] in finding.excerpt


def test_reference_beside_a_license_header_reports_both():
    source = "# Licensed under the MIT license, see LICENSE.txt\n"
    assert {(f.rule, f.license) for f in scan(source, "x.py")} == {
        ("license-header", "MIT"),
        ("license-reference", None),
    }


def test_each_file_is_referred_to_once():
    source = "/* see COPYING */\n/* see COPYING */\n/* and see LICENSE.md */\n"
    assert references(source) == [("COPYING", 1), ("LICENSE.md", 3)]


def test_reference_is_informational_whatever_the_policy():
    policy = Policy(licenses_allowed=["MIT"], licenses_denied=["GPL-3.0-only"])
    (finding,) = scan("// see LICENSE\n", policy=policy)
    assert (finding.rule, finding.severity) == ("license-reference", Severity.INFO)


@pytest.mark.parametrize(
    "source",
    [
        commented(APACHE_HEADER, "#"),  # "See the License for the specific language ..."
        "# See the NOTICE file distributed with this work for additional information.\n",
        "# see LICENSE_KEY in the environment\n",
        "LICENSE_FILE = 'LICENSE'  # see get_license()\n",
        "See the COPYRIGHT section below.\n",
        "Please see the LICENSE section of the README.\n",
        "// See https://example.org/LICENSE.txt for license information.\n",
        "Read the license at https://example.com/license.txt\n",
        "# see the license for details\n",
        'msgid ""\n# This file is distributed under the same license as the Frob package.\n',
        "# see copyright notice in the header\n",
        "# the licensee can see license terms in their contract\n",
        "# Copyright 2020 Foo. See LICENSE_TEMPLATE.\n",
        "raise ValueError('see the license')\n",
    ],
)
def test_prose_and_code_that_refer_to_no_license_file_are_not_references(source):
    assert references(source, "module.py") == []


def test_reference_below_the_head_is_not_read():
    source = "x = 1\n" * 250 + "# see LICENSE\n"
    assert references(source, "module.py") == []


def test_license_file_pointing_elsewhere_is_not_a_header_reference():
    assert references(MIT_TEXT + "\nSee also COPYING.\n", "LICENSE") == []
