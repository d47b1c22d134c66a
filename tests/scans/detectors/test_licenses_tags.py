"""SPDX tags anywhere text allows one: Markdown (tables too), HTML and XML comments and
elements, reStructuredText comments, JSON and YAML values, block comments of many
languages. The expression ends where the tag does, so trailing markup is not read."""

from __future__ import annotations

import pytest

from scans.detectors.base import Policy, Severity
from scans.detectors.licenses import LicenseDetector

DETECTOR = LicenseDetector()


def scan(text: str, filename: str):
    return DETECTOR.scan(text.encode(), filename=filename, policy=Policy())


@pytest.mark.parametrize(
    ("filename", "line", "expected", "excerpt"),
    [
        ("README.md", "| SPDX-License-Identifier: MIT |", "MIT", "SPDX-License-Identifier: MIT"),
        (
            "README.md",
            "| License | SPDX-License-Identifier: Apache-2.0 |",
            "Apache-2.0",
            "SPDX-License-Identifier: Apache-2.0",
        ),
        (
            "README.md",
            "| frob | SPDX-License-Identifier: MIT OR Apache-2.0 | 1.2 |",
            "MIT OR Apache-2.0",
            "SPDX-License-Identifier: MIT OR Apache-2.0",
        ),
        ("README.md", "`SPDX-License-Identifier: ISC`", "ISC", "SPDX-License-Identifier: ISC"),
        ("README.md", "**SPDX-License-Identifier:** 0BSD", "0BSD", "SPDX-License-Identifier: 0BSD"),
        (
            "README.md",
            "[SPDX-License-Identifier: MIT](https://spdx.org/licenses/MIT.html)",
            "MIT",
            None,
        ),
        ("page.html", "<!-- SPDX-License-Identifier: MIT -->", "MIT", None),
        ("page.html", "<!--SPDX-License-Identifier: MPL-2.0-->", "MPL-2.0", None),
        ("page.html", "<td>SPDX-License-Identifier: BSD-3-Clause</td>", "BSD-3-Clause", None),
        ("page.html", "<p>SPDX-License-Identifier: MIT<br>Copyright Foo</p>", "MIT", None),
        ("pom.xml", "  <!-- SPDX-License-Identifier: EPL-2.0 -->", "EPL-2.0", None),
        ("index.rst", ".. SPDX-License-Identifier: CC-BY-4.0", "CC-BY-4.0", None),
        (
            "package.json",
            '  "comment": "SPDX-License-Identifier: Apache-2.0", "name": "frob",',
            "Apache-2.0",
            "SPDX-License-Identifier: Apache-2.0",
        ),
        ("data.json", '"header": "// SPDX-License-Identifier: MIT\\n// end"', "MIT", None),
        ("ci.yml", "banner: 'SPDX-License-Identifier: ISC'", "ISC", None),
        ("ci.yml", "# SPDX-License-Identifier: GPL-2.0-or-later", "GPL-2.0-or-later", None),
        ("init.lua", "--[[ SPDX-License-Identifier: MIT ]]", "MIT", None),
        ("Main.hs", "{- SPDX-License-Identifier: BSD-2-Clause -}", "BSD-2-Clause", None),
        ("page.jsp", "<%-- SPDX-License-Identifier: Apache-2.0 --%>", "Apache-2.0", None),
        ("unit.pas", "{ SPDX-License-Identifier: MPL-2.0 }", "MPL-2.0", None),
        ("base.html", "{# SPDX-License-Identifier: MIT #}", "MIT", None),
        ("lib.ml", "(* SPDX-License-Identifier: LGPL-2.1-only *)", "LGPL-2.1-only", None),
        (
            "x.c",
            "/* SPDX-License-Identifier: (GPL-2.0+ OR MIT) */",
            "GPL-2.0-or-later OR MIT",
            None,
        ),
        ("x.py", '"""SPDX-License-Identifier: MIT"""', "MIT", None),
    ],
)
def test_tag_ends_where_its_markup_does(filename, line, expected, excerpt):
    (finding,) = scan(f"first line\n{line}\nlast line\n", filename)

    assert (finding.rule, finding.license, finding.line) == ("spdx-tag", expected, 2)
    assert finding.severity == Severity.INFO
    if excerpt is not None:
        assert finding.excerpt == excerpt


def test_tags_in_a_markdown_table_each_on_their_line():
    table = (
        "# Components\n\n"
        "| Component | License |\n"
        "| --------- | ------- |\n"
        "| core | SPDX-License-Identifier: Apache-2.0 |\n"
        "| cli | SPDX-License-Identifier: MIT |\n"
    )
    assert [(f.license, f.line) for f in scan(table, "README.md")] == [
        ("Apache-2.0", 5),
        ("MIT", 6),
    ]


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("| SPDX-License-Identifier: Apache2 |", "Apache2"),
        ("<!-- SPDX-License-Identifier: GPL v2 -->", "GPL v2"),
        ('"license": "SPDX-License-Identifier: MIT AND",', "MIT AND"),
    ],
)
def test_invalid_expression_in_markup_is_reported_without_the_markup(line, value):
    (finding,) = scan(f"{line}\n", "README.md")
    assert (finding.rule, finding.identity, finding.line) == ("invalid-spdx-tag", value, 1)


@pytest.mark.parametrize(
    "source",
    [
        'TAG = "SPDX-License-Identifier:"\n',
        "PREFIX = 'SPDX-License-Identifier: '\n",
        "Start each file with an `SPDX-License-Identifier:` line.\n",
        "| SPDX-License-Identifier: <SPDX-ID> |\n",
        "<!-- SPDX-License-Identifier: {{ license }} -->\n",
    ],
)
def test_quoted_tag_names_and_templates_are_not_tags(source):
    assert scan(source, "doc.md") == []
