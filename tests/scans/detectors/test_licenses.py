"""License detection: SPDX tags, header notices in any comment style, license files, policy."""

from __future__ import annotations

import textwrap

import pytest

from scans.detectors.base import Kind, Policy, Severity
from scans.detectors.licenses import LicenseDetector, is_license_file

DETECTOR = LicenseDetector()
NO_POLICY = Policy()


def scan(text: str, filename: str = "module.py", policy: Policy = NO_POLICY):
    return DETECTOR.scan(text.encode(), filename=filename, policy=policy)


def licenses(text: str, filename: str = "module.py") -> set[str]:
    return {f.license for f in scan(text, filename) if f.license}


# ---------------------------------------------------------------------------- header notices

APACHE_HEADER = """\
Copyright 2021 Example Systems GmbH

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
"""

APACHE_ASF_HEADER = """\
Licensed to the Apache Software Foundation (ASF) under one
or more contributor license agreements.  See the NOTICE file
distributed with this work for additional information
regarding copyright ownership.  The ASF licenses this file
to you under the Apache License, Version 2.0 (the
"License"); you may not use this file except in compliance
with the License.  You may obtain a copy of the License at

  http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing,
software distributed under the License is distributed on an
"AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY
KIND, either express or implied.  See the License for the
specific language governing permissions and limitations
under the License.
"""

MIT_TEXT = """\
MIT License

Copyright (c) 2018 Jane Roe

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""

ISC_TEXT = """\
ISC License

Copyright (c) 2004-2010 by Internet Systems Consortium, Inc. ("ISC")

Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
"""

_BSD_OPENING = """\
Copyright (c) 2012, The Regents of the Example Institute
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.
"""

_BSD_DISCLAIMER = """
THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""

BSD2_TEXT = _BSD_OPENING + _BSD_DISCLAIMER

BSD3_TEXT = (
    _BSD_OPENING
    + """
3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from
   this software without specific prior written permission.
"""
    + _BSD_DISCLAIMER
)

_GNU_WARRANTY = """
This program is distributed in the hope that it will be useful,
but WITHOUT ANY WARRANTY; without even the implied warranty of
MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
GNU General Public License for more details.
"""

GPL2_OR_LATER = (
    """\
This program is free software; you can redistribute it and/or modify
it under the terms of the GNU General Public License as published by
the Free Software Foundation; either version 2 of the License, or
(at your option) any later version.
"""
    + _GNU_WARRANTY
    + """
You should have received a copy of the GNU General Public License along
with this program; if not, write to the Free Software Foundation, Inc.,
51 Franklin Street, Fifth Floor, Boston, MA 02110-1301 USA.
"""
)

GPL2_ONLY = (
    """\
This program is free software; you can redistribute it and/or modify it
under the terms of the GNU General Public License version 2 as published
by the Free Software Foundation.
"""
    + _GNU_WARRANTY
)

GPL3_OR_LATER = (
    """\
This file is part of Frobnicator.

Frobnicator is free software: you can redistribute it and/or modify
it under the terms of the GNU General Public License as published by
the Free Software Foundation, either version 3 of the License, or
(at your option) any later version.
"""
    + _GNU_WARRANTY
    + """
You should have received a copy of the GNU General Public License
along with Frobnicator.  If not, see <https://www.gnu.org/licenses/>.
"""
)

GPL3_ONLY = (
    """\
This program is free software: you can redistribute it and/or modify
it under the terms of the GNU General Public License as published by
the Free Software Foundation, version 3.
"""
    + _GNU_WARRANTY
    + """
You should have received a copy of the GNU General Public License
along with this program. If not, see <http://www.gnu.org/licenses/>.
"""
)

LGPL21_OR_LATER = """\
This library is free software; you can redistribute it and/or
modify it under the terms of the GNU Lesser General Public
License as published by the Free Software Foundation; either
version 2.1 of the License, or (at your option) any later version.

This library is distributed in the hope that it will be useful,
but WITHOUT ANY WARRANTY; without even the implied warranty of
MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
Lesser General Public License for more details.

You should have received a copy of the GNU Lesser General Public
License along with this library; if not, write to the Free Software
Foundation, Inc., 51 Franklin Street, Fifth Floor, Boston, MA  02110-1301  USA
"""

LGPL21_ONLY = """\
This library is free software; you can redistribute it and/or
modify it under the terms of the GNU Lesser General Public
License version 2.1 as published by the Free Software Foundation.

This library is distributed in the hope that it will be useful,
but WITHOUT ANY WARRANTY; without even the implied warranty of
MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
Lesser General Public License for more details.
"""

LGPL3_OR_LATER = """\
This program is free software: you can redistribute it and/or modify
it under the terms of the GNU Lesser General Public License as published by
the Free Software Foundation, either version 3 of the License, or
(at your option) any later version.

This program is distributed in the hope that it will be useful,
but WITHOUT ANY WARRANTY; without even the implied warranty of
MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
GNU Lesser General Public License for more details.

You should have received a copy of the GNU Lesser General Public License
along with this program.  If not, see <https://www.gnu.org/licenses/>.
"""

LGPL3_ONLY = """\
This library is free software; you can redistribute it and/or modify it
under the terms of the GNU Lesser General Public License version 3 as
published by the Free Software Foundation.

This library is distributed in the hope that it will be useful, but
WITHOUT ANY WARRANTY; without even the implied warranty of
MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See the GNU
Lesser General Public License for more details.
"""

AGPL3_OR_LATER = """\
This program is free software: you can redistribute it and/or modify
it under the terms of the GNU Affero General Public License as published
by the Free Software Foundation, either version 3 of the License, or
(at your option) any later version.

This program is distributed in the hope that it will be useful,
but WITHOUT ANY WARRANTY; without even the implied warranty of
MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
GNU Affero General Public License for more details.

You should have received a copy of the GNU Affero General Public License
along with this program.  If not, see <https://www.gnu.org/licenses/>.
"""

AGPL3_ONLY = """\
This program is free software: you can redistribute it and/or modify it
under the terms of the GNU Affero General Public License, version 3, as
published by the Free Software Foundation.

This program is distributed in the hope that it will be useful, but
WITHOUT ANY WARRANTY; without even the implied warranty of
MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See the GNU Affero
General Public License for more details.
"""

MPL2_HEADER = """\
This Source Code Form is subject to the terms of the Mozilla Public
License, v. 2.0. If a copy of the MPL was not distributed with this
file, You can obtain one at https://mozilla.org/MPL/2.0/.
"""

EPL2_HEADER = """\
Copyright (c) 2019 Contributors to the Example Project

This program and the accompanying materials are made available under the
terms of the Eclipse Public License 2.0 which is available at
http://www.eclipse.org/legal/epl-2.0.

SPDX-License-Identifier: EPL-2.0
"""

EPL2_HEADER_WITHOUT_TAG = EPL2_HEADER.replace("SPDX-License-Identifier: EPL-2.0\n", "")

HEADERS = {
    "Apache-2.0": APACHE_HEADER,
    "Apache-2.0 (ASF)": APACHE_ASF_HEADER,
    "MIT": MIT_TEXT,
    "ISC": ISC_TEXT,
    "BSD-2-Clause": BSD2_TEXT,
    "BSD-3-Clause": BSD3_TEXT,
    "GPL-2.0-or-later": GPL2_OR_LATER,
    "GPL-2.0-only": GPL2_ONLY,
    "GPL-3.0-or-later": GPL3_OR_LATER,
    "GPL-3.0-only": GPL3_ONLY,
    "LGPL-2.1-or-later": LGPL21_OR_LATER,
    "LGPL-2.1-only": LGPL21_ONLY,
    "LGPL-3.0-or-later": LGPL3_OR_LATER,
    "LGPL-3.0-only": LGPL3_ONLY,
    "AGPL-3.0-or-later": AGPL3_OR_LATER,
    "AGPL-3.0-only": AGPL3_ONLY,
    "MPL-2.0": MPL2_HEADER,
    "EPL-2.0": EPL2_HEADER_WITHOUT_TAG,
}


def expected_id(case: str) -> str:
    return case.split(" ")[0]


CODE_BODY = "\nimport os\n\n\ndef main():\n    return os.getcwd()\n"


def commented(text: str, style: str, width: int | None = None) -> str:
    """The text as a comment block in a given language's style, optionally re-wrapped."""
    if width:
        paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
        text = "\n\n".join(textwrap.fill(p, width) for p in paragraphs)
    lines = text.splitlines()
    if style == "/* */":
        return "/*\n" + "\n".join(f" * {line}".rstrip() for line in lines) + "\n */\n"
    if style == "<!-- -->":
        return "<!--\n" + "\n".join(f"  {line}" for line in lines) + "\n-->\n"
    if style == '"""':
        return '"""\n' + text + '"""\n'
    prefix = {"rem": "rem ", "REM": "REM ", "%": "% ", ";": ";; ", "--": "-- "}.get(
        style, style + " "
    )
    return "\n".join(f"{prefix}{line}".rstrip() for line in lines) + "\n"


COMMENT_STYLES = ["#", "//", "/* */", "--", ";", "<!-- -->", "rem", "REM", "%", '"""']


@pytest.mark.parametrize("style", COMMENT_STYLES)
@pytest.mark.parametrize("case", sorted(HEADERS))
def test_header_is_identified_in_every_comment_style(case, style):
    source = commented(HEADERS[case], style) + CODE_BODY

    findings = scan(source, "module.src")

    assert {f.license for f in findings} == {expected_id(case)}
    assert all(f.kind == Kind.LICENSE and f.severity == Severity.INFO for f in findings)
    assert all(f.rule == "license-header" and f.identity == f.license for f in findings)


@pytest.mark.parametrize("width", [40, 60, 100, 200])
@pytest.mark.parametrize("case", sorted(HEADERS))
def test_rewrapped_header_is_identified(case, width):
    source = commented(HEADERS[case], "#", width=width) + CODE_BODY

    assert licenses(source) == {expected_id(case)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The first lines only: the notice was cut short, the reference survives.
        ("\n".join(APACHE_HEADER.splitlines()[:5]), "Apache-2.0"),
        ("Licensed under the Apache License, Version 2.0", "Apache-2.0"),
        (
            "Licensed under the Apache License v2.0 with LLVM Exceptions.",
            "Apache-2.0 WITH LLVM-exception",
        ),
        ("\n".join(GPL2_OR_LATER.splitlines()[:4]), "GPL-2.0-or-later"),
        ("\n".join(GPL3_OR_LATER.splitlines()[:6]), "GPL-3.0-or-later"),
        ("\n".join(LGPL21_OR_LATER.splitlines()[:4]), "LGPL-2.1-or-later"),
        ("\n".join(AGPL3_OR_LATER.splitlines()[:4]), "AGPL-3.0-or-later"),
        ("This file is distributed under the GNU GPL v2 or later.", "GPL-2.0-or-later"),
        ("Released under the GPLv3.", "GPL-3.0-only"),
        ("Licensed under the GPL-2.0+.", "GPL-2.0-or-later"),
        ("Licensed under the LGPL.", "LGPL-2.1-or-later"),
        # MIT with the warranty paragraph missing.
        ("\n".join(MIT_TEXT.splitlines()[4:13]), "MIT"),
        ("This source code is licensed under the MIT license found in the\nLICENSE file.", "MIT"),
        ("Use of this source code is governed by an MIT-style license.", "MIT"),
        ("Released under the MIT License.", "MIT"),
        # BSD without its disclaimer still tells 2- from 3-clause.
        (BSD3_TEXT.split("THIS SOFTWARE")[0], "BSD-3-Clause"),
        (BSD2_TEXT.split("THIS SOFTWARE")[0], "BSD-2-Clause"),
        (
            "Use of this source code is governed by a BSD-style license that can be\n"
            "found in the LICENSE file.",
            "BSD-3-Clause",
        ),
        ("\n".join(MPL2_HEADER.splitlines()[:2]), "MPL-2.0"),
        ("made available under the terms of the Eclipse Public License v2.0", "EPL-2.0"),
        ("Distributed under the Boost Software License, Version 1.0.", "BSL-1.0"),
        ("Licensed under the ISC license.", "ISC"),
        ("Ansible is released under the terms of the GPLv3+ License.", "GPL-3.0-or-later"),
        (
            "Simplified BSD License (see https://opensource.org/licenses/BSD-2-Clause)",
            "BSD-2-Clause",
        ),
        ("Icons: CC BY 4.0 License (https://creativecommons.org/licenses/by/4.0/)", "CC-BY-4.0"),
        ("Fonts: SIL OFL 1.1 License (https://scripts.sil.org/OFL)", "OFL-1.1"),
        (
            ":Copyright: This module has been placed in the public domain.",
            "LicenseRef-public-domain",
        ),
        (
            "Copying and distribution of this file, with or without modification,\n"
            "are permitted in any medium without royalty provided the copyright\n"
            "notice and this notice are preserved.  This file is offered as-is,\n"
            "without any warranty.",
            "FSFAP",
        ),
        ("Universal character encoding detector, 0BSD-licensed rewrite.", "0BSD"),
        (
            "GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)",
            "GPL-3.0-or-later",
        ),
        (
            "GNU General Public License v3.0 (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)",
            "GPL-3.0-only",
        ),
    ],
)
def test_partial_or_short_header_is_identified(text, expected):
    assert licenses(commented(text, "//") + CODE_BODY, "main.c") == {expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "either version 2 of the License, or (at your option) any later version",
            "GPL-2.0-or-later",
        ),
        ("version 2 of the License.", "GPL-2.0-only"),
        ("version 2 of the License, or any later version.", "GPL-2.0-or-later"),
        (
            "either version 3 of the License, or (at your option) any later version",
            "GPL-3.0-or-later",
        ),
        ("version 3 of the License.", "GPL-3.0-only"),
    ],
)
def test_gpl_only_and_or_later_are_told_apart(text, expected):
    header = (
        "This program is free software; you can redistribute it and/or modify it under the "
        "terms of the GNU General Public License as published by the Free Software "
        f"Foundation; {text}\n" + _GNU_WARRANTY
    )
    assert licenses(commented(header, "#", width=78)) == {expected}


def test_or_later_must_follow_the_version_not_the_code_below():
    source = commented(GPL2_ONLY, "#") + "\n\ndef add(a, b):\n    return a + b  # or later\n"
    assert licenses(source) == {"GPL-2.0-only"}


def test_older_permission_notice_sharing_the_isc_disclaimer_is_not_isc():
    cwi = (
        "Permission to use, copy, modify, and distribute this software and its\n"
        "documentation for any purpose and without fee is hereby granted,\n"
        "provided that the above copyright notice appear in all copies and that\n"
        "both that copyright notice and this permission notice appear in\n"
        "supporting documentation.\n\n" + ISC_TEXT.split("\n\n", 3)[3]
    )
    assert "ISC" not in licenses(commented(cwi, "#"))


def test_isc_without_its_notice_condition_is_0bsd():
    zero_bsd = ISC_TEXT.replace(
        ", provided that the above\ncopyright notice and this permission notice appear in all"
        " copies",
        "",
    )
    assert licenses(commented(ISC_TEXT, "#")) == {"ISC"}
    assert licenses(commented(zero_bsd, "#")) == {"0BSD"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('  "license": "MIT",', "MIT"),
        ('    license="BSD-3-Clause",', "BSD-3-Clause"),
        ('license = "Apache-2.0 OR MIT"', "Apache-2.0 OR MIT"),
        ('license = { text = "Apache-2.0" }', "Apache-2.0"),
        ("license: GPL-3.0-or-later", "GPL-3.0-or-later"),
        ('  "license": ["GPL-3.0-or-later"],', "GPL-3.0-or-later"),
        ("/*! @license MIT */", "MIT"),
        (" * @license Apache-2.0", "Apache-2.0"),
        ("# License: BSD-2-Clause", "BSD-2-Clause"),
        ("License-Expression: LGPL-2.1", "LGPL-2.1-only"),
        ("    license='ISC license',", "ISC"),
        ("license = GPLv3+", "GPL-3.0-or-later"),
        ("License: GNU Lesser General Public License v2 or later (LGPLv2+)", "LGPL-2.0-or-later"),
        ('        "License :: OSI Approved :: MIT License",', "MIT"),
        ("        'License :: OSI Approved :: ISC License (ISCL)',", "ISC"),
        ('  "license": "Apache License, Version 2.0",', "Apache-2.0"),
    ],
)
def test_license_field_names_a_license(line, expected):
    (finding,) = scan(f"header\n{line}\n", "manifest")
    assert (finding.rule, finding.license, finding.line) == ("license-field", expected, 2)


def test_license_field_holding_a_list_over_several_lines():
    manifest = '{\n  "license": [\n    "GPL-3.0-or-later"\n  ],\n  "license_file": "COPYING"\n}\n'
    galaxy = "namespace: example\nlicense:\n  - MIT\nreadme: README.md\n"
    assert [(f.license, f.line) for f in scan(manifest, "MANIFEST.json")] == [
        ("GPL-3.0-or-later", 3)
    ]
    assert [(f.license, f.line) for f in scan(galaxy, "galaxy.yml")] == [("MIT", 3)]


@pytest.mark.parametrize(
    "line",
    [
        'license = "BSD"',
        'LICENSE = "LICENSE"',
        "license: Proprietary",
        'if license == "MIT":',
        'license = "LicenseRef-Internal"',
        "license_file = LICENSE.txt",
        '        "License :: OSI Approved :: BSD License",',
        "license = GPL-compatible",
    ],
)
def test_license_field_with_free_text_is_not_a_license(line):
    assert scan(f"{line}\n", "manifest") == []


@pytest.mark.parametrize(
    ("line", "reference"),
    [
        ('"license": "SEE LICENSE IN LICENSE.txt"', "LICENSE.txt"),
        ("# License: see the LICENSE file", "LICENSE"),
        ("The license: see the LICENSE file in the repository root.", "LICENSE"),
    ],
)
def test_free_text_pointing_at_a_license_file_is_a_reference_not_a_license(line, reference):
    # These were "nothing found" before license references existed: they name no license,
    # but they do say where it is.
    (finding,) = scan(f"{line}\n", "manifest")
    assert (finding.rule, finding.license, finding.data["reference"]) == (
        "license-reference",
        None,
        reference,
    )


def test_bsd_with_advertising_clause_is_bsd_4():
    text = BSD3_TEXT.replace(
        "3. Neither",
        "3. All advertising materials mentioning features or use of this software must\n"
        "   display the following acknowledgement: This product includes software\n"
        "   developed by the Example Institute.\n4. Neither",
    )
    assert licenses(commented(text, "#")) == {"BSD-4-Clause"}


def test_gpl_with_classpath_exception():
    text = GPL2_ONLY + (
        '\nOracle designates this particular file as subject to the "Classpath"\n'
        "exception as provided by Oracle in the LICENSE file that accompanied this code.\n"
    )
    assert licenses(commented(text, "/* */"), "Foo.java") == {
        "GPL-2.0-only WITH Classpath-exception-2.0"
    }


def test_dual_licensed_header_reports_both():
    text = (
        "Licensed under the Apache License, Version 2.0 <LICENSE-APACHE or\n"
        "http://www.apache.org/licenses/LICENSE-2.0> or the MIT license\n"
        "<LICENSE-MIT or http://opensource.org/licenses/MIT>, at your\n"
        "option. This file may not be copied, modified, or distributed\n"
        "except according to those terms.\n"
    )
    assert licenses(commented(text, "//"), "lib.rs") == {"Apache-2.0", "MIT"}


def test_header_line_is_where_the_notice_starts():
    source = "#!/usr/bin/env python\n" + commented(APACHE_HEADER, "#") + CODE_BODY

    (finding,) = scan(source)

    assert finding.line == 4
    assert finding.excerpt.startswith("# Licensed under the Apache License")


@pytest.mark.parametrize(
    "source",
    [
        CODE_BODY,
        "# This module has no license header at all.\nimport sys\n",
        "# TODO: check the license of the vendored parser\nLICENSE_FILE = 'LICENSE'\n",
        'LICENSES = {"Apache-2.0": "Apache License 2.0", "MIT": "MIT License"}\n',
        "def check(user):\n    raise PermissionError('Permission denied for user')\n",
        "# The GNU project's tools are used for the build: gcc, make, gnu-tar.\n",
        "# see https://choosealicense.com for how to pick a license\n",
        "Redistribution of this document is discussed in the FAQ.\n",
        "# Version 2.0 of the Apache integration, license key required.\n",
    ],
)
def test_code_and_prose_without_a_license_notice_report_nothing(source):
    assert scan(source) == []


def test_notice_far_below_the_head_is_not_read():
    source = "x = 1\n" * 300 + commented(MIT_TEXT, "#")
    assert scan(source) == []


def test_binary_file_is_skipped():
    data = b"\x7fELF\x00\x00" + MIT_TEXT.encode()
    assert DETECTOR.scan(data, filename="a.out", policy=NO_POLICY) == []


def test_invalid_utf8_is_tolerated():
    data = b"# caf\xe9\n" + commented(APACHE_HEADER, "#").encode()
    findings = DETECTOR.scan(data, filename="x.py", policy=NO_POLICY)
    assert [f.license for f in findings] == ["Apache-2.0"]


# ---------------------------------------------------------------------------- SPDX tags


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("# SPDX-License-Identifier: MIT", "MIT"),
        ("// SPDX-License-Identifier: Apache-2.0", "Apache-2.0"),
        ("/* SPDX-License-Identifier: GPL-2.0-only */", "GPL-2.0-only"),
        ("<!-- SPDX-License-Identifier: CC-BY-4.0 -->", "CC-BY-4.0"),
        ("-- SPDX-License-Identifier: gpl-2.0+", "GPL-2.0-or-later"),
        ("# SPDX-License-Identifier: GPL-3.0", "GPL-3.0-only"),
        ("# SPDX-License-Identifier: (MIT OR Apache-2.0)", "MIT OR Apache-2.0"),
        (
            "// SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note",
            "GPL-2.0-only WITH Linux-syscall-note",
        ),
        ("# SPDX-License-Identifier: LicenseRef-Acme-Proprietary", "LicenseRef-Acme-Proprietary"),
        ('LICENSE = "SPDX-License-Identifier: BSD-3-Clause"', "BSD-3-Clause"),
    ],
)
def test_spdx_tag_is_normalised(line, expected):
    (finding,) = scan(f"#!/bin/sh\n{line}\necho hi\n", "run.sh")

    assert finding.rule == "spdx-tag"
    assert finding.license == expected == finding.identity
    assert finding.line == 2
    assert finding.severity == Severity.INFO


@pytest.mark.parametrize(
    "line",
    [
        "# SPDX-License-Identifier: Apache2",
        "# SPDX-License-Identifier: MIT AND",
        "# SPDX-License-Identifier:",
        "# SPDX-License-Identifier: GPL v2",
        "# SPDX-License-Identifier: MIT OR OR BSD",
    ],
)
def test_invalid_spdx_tag_is_a_warning(line):
    (finding,) = scan(f"{line}\nx = 1\n")

    assert finding.rule == "invalid-spdx-tag"
    assert finding.severity == Severity.WARNING
    assert finding.license is None
    assert finding.line == 1


def test_spdx_tag_in_template_code_is_not_a_tag():
    source = (
        'HEADER = "# SPDX-License-Identifier: {license}"\nTAG = f"SPDX-License-Identifier: ${x}"\n'
    )
    assert scan(source) == []


def test_spdx_tag_deep_in_a_file_is_found():
    source = "x = 1\n" * 1000 + "# SPDX-License-Identifier: MIT\n"
    (finding,) = scan(source)
    assert finding.line == 1001


def test_header_repeating_the_tag_is_one_finding():
    source = commented("SPDX-License-Identifier: Apache-2.0\n\n" + APACHE_HEADER, "#")
    (finding,) = scan(source)
    assert finding.rule == "spdx-tag"
    assert finding.license == "Apache-2.0"


def test_header_disagreeing_with_the_tag_is_reported_too():
    source = commented("SPDX-License-Identifier: MIT\n\n" + GPL3_OR_LATER, "#")
    assert {(f.rule, f.license) for f in scan(source)} == {
        ("spdx-tag", "MIT"),
        ("license-header", "GPL-3.0-or-later"),
    }


# ---------------------------------------------------------------------------- license files

APACHE_TEXT = """\

                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION

   1. Definitions.

      "License" shall mean the terms and conditions for use, reproduction,
      and distribution as defined by Sections 1 through 9 of this document.

      "Licensor" shall mean the copyright owner or entity authorized by
      the copyright owner that is granting the License.

      "Work" shall mean the work of authorship, whether in Source or
      Object form, made available under the License, as indicated by a
      copyright notice that is included in or attached to the work.

   2. Grant of Copyright License. Subject to the terms and conditions of
      this License, each Contributor hereby grants to You a perpetual,
      worldwide, non-exclusive, no-charge, royalty-free, irrevocable
      copyright license to reproduce, prepare Derivative Works of,
      publicly display, publicly perform, sublicense, and distribute the
      Work and such Derivative Works in Source or Object form.

   3. Grant of Patent License. Subject to the terms and conditions of
      this License, each Contributor hereby grants to You a perpetual,
      worldwide, non-exclusive, no-charge, royalty-free, irrevocable
      (except as stated in this section) patent license to make, have made,
      use, offer to sell, sell, import, and otherwise transfer the Work.

   4. Redistribution. You may reproduce and distribute copies of the
      Work or Derivative Works thereof in any medium, with or without
      modifications, and in Source or Object form, provided that You
      meet the following conditions:

      (a) You must give any other recipients of the Work or
          Derivative Works a copy of this License; and

      (b) You must cause any modified files to carry prominent notices
          stating that You changed the files; and

   5. Submission of Contributions. Unless You explicitly state otherwise,
      any Contribution intentionally submitted for inclusion in the Work
      by You to the Licensor shall be under the terms and conditions of
      this License, without any additional terms or conditions.

   6. Trademarks. This License does not grant permission to use the trade
      names, trademarks, service marks, or product names of the Licensor,
      except as required for reasonable and customary use in describing the
      origin of the Work and reproducing the content of the NOTICE file.

   7. Disclaimer of Warranty. Unless required by applicable law or
      agreed to in writing, Licensor provides the Work (and each
      Contributor provides its Contributions) on an "AS IS" BASIS,
      WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or
      implied.

   8. Limitation of Liability. In no event and under no legal theory,
      whether in tort (including negligence), contract, or otherwise,
      shall any Contributor be liable to You for damages.

   9. Accepting Warranty or Additional Liability. While redistributing
      the Work or Derivative Works thereof, You may choose to offer,
      and charge a fee for, acceptance of support, warranty, indemnity,
      or other liability obligations and/or rights consistent with this
      License.

   END OF TERMS AND CONDITIONS

   APPENDIX: How to apply the Apache License to your work.

   Copyright [yyyy] [name of copyright owner]

   Licensed under the Apache License, Version 2.0 (the "License");
   you may not use this file except in compliance with the License.
   You may obtain a copy of the License at

       http://www.apache.org/licenses/LICENSE-2.0

   Unless required by applicable law or agreed to in writing, software
   distributed under the License is distributed on an "AS IS" BASIS,
   WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
   See the License for the specific language governing permissions and
   limitations under the License.
"""

GPL2_TEXT = """\
                    GNU GENERAL PUBLIC LICENSE
                       Version 2, June 1991

 Copyright (C) 1989, 1991 Free Software Foundation, Inc.,
 51 Franklin Street, Fifth Floor, Boston, MA 02110-1301 USA
 Everyone is permitted to copy and distribute verbatim copies
 of this license document, but changing it is not allowed.

                            Preamble

  The licenses for most software are designed to take away your
freedom to share and change it.  By contrast, the GNU General Public
License is intended to guarantee your freedom to share and change free
software--to make sure the software is free for all its users.  This
General Public License applies to most of the Free Software
Foundation's software and to any other program whose authors commit to
using it.

                    GNU GENERAL PUBLIC LICENSE
   TERMS AND CONDITIONS FOR COPYING, DISTRIBUTION AND MODIFICATION

  0. This License applies to any program or other work which contains
a notice placed by the copyright holder saying it may be distributed
under the terms of this General Public License.

  1. You may copy and distribute verbatim copies of the Program's
source code as you receive it, in any medium, provided that you
conspicuously and appropriately publish on each copy an appropriate
copyright notice and disclaimer of warranty.

                            NO WARRANTY

  11. BECAUSE THE PROGRAM IS LICENSED FREE OF CHARGE, THERE IS NO WARRANTY
FOR THE PROGRAM, TO THE EXTENT PERMITTED BY APPLICABLE LAW.

                     END OF TERMS AND CONDITIONS

            How to Apply These Terms to Your New Programs

    <one line to give the program's name and a brief idea of what it does.>
    Copyright (C) <year>  <name of author>

    This program is free software; you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation; either version 2 of the License, or
    (at your option) any later version.

    This program is distributed in the hope that it will be useful,
    but WITHOUT ANY WARRANTY; without even the implied warranty of
    MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
    GNU General Public License for more details.
"""

GPL3_TEXT = """\
                    GNU GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007

 Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>
 Everyone is permitted to copy and distribute verbatim copies
 of this license document, but changing it is not allowed.

                            Preamble

  The GNU General Public License is a free, copyleft license for
software and other kinds of works.

                       TERMS AND CONDITIONS

  0. Definitions.

  "This License" refers to version 3 of the GNU General Public License.

  "Copyright" also means copyright-like laws that apply to other kinds of
works, such as semiconductor masks.

  3. Protecting Users' Legal Rights From Anti-Circumvention Law.

  4. Conveying Verbatim Copies.

  15. Disclaimer of Warranty.

  16. Limitation of Liability.

                     END OF TERMS AND CONDITIONS

            How to Apply These Terms to Your New Programs

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
"""

AGPL3_TEXT = """\
                    GNU AFFERO GENERAL PUBLIC LICENSE
                       Version 3, 19 November 2007

 Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>
 Everyone is permitted to copy and distribute verbatim copies
 of this license document, but changing it is not allowed.

                            Preamble

  The GNU Affero General Public License is a free, copyleft license for
software and other kinds of works, specifically designed to ensure
cooperation with the community in the case of network server software.

                       TERMS AND CONDITIONS

  0. Definitions.

  "This License" refers to version 3 of the GNU Affero General Public License.

  4. Conveying Verbatim Copies.

  13. Remote Network Interaction; Use with the GNU General Public License.

  15. Disclaimer of Warranty.

                     END OF TERMS AND CONDITIONS

    This program is free software: you can redistribute it and/or modify
    it under the terms of the GNU Affero General Public License as published
    by the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.
"""

LGPL3_TEXT = """\
                   GNU LESSER GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007

 Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>
 Everyone is permitted to copy and distribute verbatim copies
 of this license document, but changing it is not allowed.


  This version of the GNU Lesser General Public License incorporates
the terms and conditions of version 3 of the GNU General Public
License, supplemented by the additional permissions listed below.

  0. Additional Definitions.

  As used herein, "this License" refers to version 3 of the GNU Lesser
General Public License, and the "GNU GPL" refers to version 3 of the GNU
General Public License.

  "The Library" refers to a covered work governed by this License,
other than an Application or a Combined Work as defined below.

  1. Exception to Section 3 of the GNU GPL.

  2. Conveying Modified Versions.

  3. Object Code Incorporating Material from Library Header Files.

  4. Combined Works.

  5. Combined Libraries.

  6. Revised Versions of the GNU Lesser General Public License.
"""

LGPL21_TEXT = """\
                  GNU LESSER GENERAL PUBLIC LICENSE
                       Version 2.1, February 1999

 Copyright (C) 1991, 1999 Free Software Foundation, Inc.
 51 Franklin Street, Fifth Floor, Boston, MA  02110-1301  USA
 Everyone is permitted to copy and distribute verbatim copies
 of this license document, but changing it is not allowed.

[This is the first released version of the Lesser GPL.  It also counts
 as the successor of the GNU Library Public License, version 2, hence
 the version number 2.1.]

                            Preamble

  The licenses for most software are designed to take away your
freedom to share and change it.  By contrast, the GNU General Public
Licenses are intended to guarantee your freedom to share and change
free software--to make sure the software is free for all its users.

  This license, the Lesser General Public License, applies to some
specially designated software packages--typically libraries--of the
Free Software Foundation and other authors who decide to use it.

                  GNU LESSER GENERAL PUBLIC LICENSE
   TERMS AND CONDITIONS FOR COPYING, DISTRIBUTION AND MODIFICATION

  A "library" means a collection of software functions and/or data
prepared so as to be conveniently linked with application programs
(which use some of those functions and data) to form executables.

                     END OF TERMS AND CONDITIONS
"""

MPL2_TEXT = """\
Mozilla Public License Version 2.0
==================================

1. Definitions
--------------

1.1. "Contributor"
    means each individual or legal entity that creates, contributes to
    the creation of, or owns Covered Software.

1.5. "Incompatible With Secondary Licenses"
    means

1.12. "Secondary License"
    means either the GNU General Public License, Version 2.0, the GNU
    Lesser General Public License, Version 2.1, the GNU Affero General
    Public License, Version 3.0, or any later versions of those
    licenses.

2. License Grants and Conditions
--------------------------------

6. Disclaimer of Warranty
-------------------------

Exhibit A - Source Code Form License Notice
-------------------------------------------

  This Source Code Form is subject to the terms of the Mozilla Public
  License, v. 2.0. If a copy of the MPL was not distributed with this
  file, You can obtain one at http://mozilla.org/MPL/2.0/.

Exhibit B - "Incompatible With Secondary Licenses" Notice
---------------------------------------------------------

  This Source Code Form is "Incompatible With Secondary Licenses", as
  defined by the Mozilla Public License, v. 2.0.
"""

EPL2_TEXT = """\
Eclipse Public License - v 2.0

    THE ACCOMPANYING PROGRAM IS PROVIDED UNDER THE TERMS OF THIS ECLIPSE
    PUBLIC LICENSE ("AGREEMENT"). ANY USE, REPRODUCTION OR DISTRIBUTION
    OF THE PROGRAM CONSTITUTES RECIPIENT'S ACCEPTANCE OF THIS AGREEMENT.

1. DEFINITIONS

"Secondary License" means either the GNU General Public License,
Version 2.0, or any later versions of that license, including any
exceptions or additional permissions as identified by the initial
Contributor.

2. GRANT OF RIGHTS

Exhibit A - Form of Secondary Licenses Notice

"This Source Code may also be made available under the following
Secondary Licenses when the conditions for such availability set forth
in the Eclipse Public License, v. 2.0 are satisfied: {name license(s),
version(s), and exceptions or additional permissions here}."
"""

UNLICENSE_TEXT = """\
This is free and unencumbered software released into the public domain.

Anyone is free to copy, modify, publish, use, compile, sell, or
distribute this software, either in source code form or as a compiled
binary, for any purpose, commercial or non-commercial, and by any
means.

In jurisdictions that recognize copyright laws, the author or authors
of this software dedicate any and all copyright interest in the
software to the public domain. We make this dedication for the benefit
of the public at large and to the detriment of our heirs and
successors. We intend this dedication to be an overt act of
relinquishment in perpetuity of all present and future rights to this
software under copyright law.

For more information, please refer to <https://unlicense.org>
"""


@pytest.mark.parametrize(
    ("filename", "text", "expected"),
    [
        ("LICENSE", APACHE_TEXT, "Apache-2.0"),
        ("LICENSE.txt", MIT_TEXT, "MIT"),
        ("LICENSE.md", "# " + MIT_TEXT, "MIT"),
        ("LICENCE", BSD2_TEXT, "BSD-2-Clause"),
        ("LICENSE", BSD3_TEXT, "BSD-3-Clause"),
        ("LICENSE", ISC_TEXT, "ISC"),
        ("COPYING", GPL2_TEXT, "GPL-2.0-only"),
        ("COPYING", GPL3_TEXT, "GPL-3.0-only"),
        ("LICENSE", AGPL3_TEXT, "AGPL-3.0-only"),
        ("COPYING.LESSER", LGPL3_TEXT, "LGPL-3.0-only"),
        ("COPYING.LIB", LGPL21_TEXT, "LGPL-2.1-only"),
        ("LICENSE", MPL2_TEXT, "MPL-2.0"),
        ("LICENSE", EPL2_TEXT, "EPL-2.0"),
        ("UNLICENSE", UNLICENSE_TEXT, "Unlicense"),
        ("license.rst", textwrap.fill(" ".join(APACHE_TEXT.split()), 72), "Apache-2.0"),
    ],
)
def test_license_file_is_classified_from_its_text(filename, text, expected):
    findings = scan(text, filename)

    assert [(f.rule, f.license) for f in findings] == [("license-file", expected)]


PYTHON_STACK = """\
A. HISTORY OF THE SOFTWARE
==========================

B. TERMS AND CONDITIONS FOR ACCESSING OR OTHERWISE USING PYTHON
===============================================================

PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2
--------------------------------------------

1. This LICENSE AGREEMENT is between the Python Software Foundation
("PSF"), and the Individual or Organization ("Licensee") accessing and
otherwise using this software ("Python") in source or binary form and
its associated documentation.

2. Subject to the terms and conditions of this License Agreement, PSF hereby
grants Licensee a nonexclusive, royalty-free, world-wide license to reproduce,
analyze, test, perform and/or display publicly, prepare derivative works,
distribute, and otherwise use Python alone or in any derivative version.

4. PSF is making Python available to Licensee on an "AS IS"
basis.  PSF MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED.

8. By copying, installing or otherwise using Python, Licensee
agrees to be bound by the terms and conditions of this License
Agreement.

BEOPEN.COM LICENSE AGREEMENT FOR PYTHON 2.0
-------------------------------------------

BEOPEN PYTHON OPEN SOURCE LICENSE AGREEMENT VERSION 1

CNRI LICENSE AGREEMENT FOR PYTHON 1.6.1
---------------------------------------

CWI LICENSE AGREEMENT FOR PYTHON 0.9.0 THROUGH 1.2
--------------------------------------------------
"""


def test_python_license_stack_is_python_2_and_psf_alone_is_psf_2():
    assert licenses(PYTHON_STACK, "LICENSE.python") == {"Python-2.0"}
    psf_only = PYTHON_STACK.split("BEOPEN.COM")[0]
    assert licenses(psf_only, "LICENSE") == {"PSF-2.0"}


def test_license_file_with_two_licenses_reports_both():
    text = APACHE_TEXT + "\n\nPortions of this software are under the MIT license:\n\n" + MIT_TEXT
    assert licenses(text, "LICENSE") == {"Apache-2.0", "MIT"}


def test_unrecognised_license_file_is_a_warning():
    text = "ACME Corp proprietary license.\n\n" + "You may not do anything with this code. " * 10
    (finding,) = scan(text, "LICENSE")
    assert finding.rule == "unrecognised-license-file"
    assert finding.severity == Severity.WARNING
    assert finding.license is None


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("LICENSE", True),
        ("LICENSE.md", True),
        ("LICENSE-APACHE", True),
        ("COPYING.LESSER", True),
        ("UNLICENSE", True),
        ("licence.txt", True),
        ("license.py", False),
        ("LicenseManager.java", False),
        ("README.md", False),
    ],
)
def test_license_file_names(filename, expected):
    assert is_license_file(filename) is expected


# ---------------------------------------------------------------------------- policy

GPL3_FILE = commented(GPL3_OR_LATER, "#")


def test_denied_license_blocks():
    policy = Policy(licenses_denied=["GPL-3.0-or-later"])

    (finding,) = scan(GPL3_FILE, policy=policy)

    assert finding.rule == "denied-license"
    assert finding.severity == Severity.BLOCKING
    assert finding.license == "GPL-3.0-or-later"


def test_denied_license_inside_an_expression_blocks():
    policy = Policy(licenses_denied=["AGPL-3.0-only"])
    (finding,) = scan("# SPDX-License-Identifier: MIT OR AGPL-3.0-only\n", policy=policy)
    assert (finding.rule, finding.severity) == ("denied-license", Severity.BLOCKING)


def test_denied_list_uses_spdx_aliases():
    policy = Policy(licenses_denied=["GPL-3.0"])
    (finding,) = scan(commented(GPL3_TEXT, "#"), "COPYING", policy=policy)
    assert (finding.license, finding.severity) == ("GPL-3.0-only", Severity.BLOCKING)


def test_license_outside_the_allow_list_is_a_warning():
    policy = Policy(licenses_allowed=["Apache-2.0", "MIT"])

    (finding,) = scan(GPL3_FILE, policy=policy)

    assert (finding.rule, finding.severity) == ("license-not-allowed", Severity.WARNING)


@pytest.mark.parametrize(
    ("expression", "allowed"),
    [
        ("MIT", True),
        ("mit", True),
        ("GPL-2.0-only OR MIT", True),
        ("GPL-2.0-only AND MIT", False),
        ("Apache-2.0 WITH LLVM-exception", True),
        ("GPL-2.0-only", False),
    ],
)
def test_allow_list_reads_expressions(expression, allowed):
    policy = Policy(licenses_allowed=["Apache-2.0", "MIT"])

    (finding,) = scan(f"// SPDX-License-Identifier: {expression}\n", "x.js", policy=policy)

    assert (finding.severity == Severity.INFO) is allowed


def test_allowed_license_stays_informational():
    policy = Policy(licenses_allowed=["Apache-2.0"], licenses_denied=["GPL-3.0-only"])
    (finding,) = scan(commented(APACHE_HEADER, "#"), policy=policy)
    assert (finding.rule, finding.severity) == ("license-header", Severity.INFO)


def test_detector_declares_kind_and_version():
    assert DETECTOR.kind == Kind.LICENSE
    assert DETECTOR.version
