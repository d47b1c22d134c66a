"""Copyright statements: holder and years, in any comment style; prose and templates ignored."""

from __future__ import annotations

import pytest

from scans.detectors.base import Kind, Policy, Severity
from scans.detectors.copyrights import CopyrightDetector, holder_identity

DETECTOR = CopyrightDetector()


def scan(text: str, filename: str = "module.py"):
    return DETECTOR.scan(text.encode(), filename=filename, policy=Policy())


@pytest.mark.parametrize(
    ("line", "holder", "years", "year_list"),
    [
        (
            "# Copyright (c) 2019-2023 Acme Corp.",
            "Acme Corp.",
            "2019-2023",
            list(range(2019, 2024)),
        ),
        ("// Copyright © 2020 Jane Doe <jane@x.org>", "Jane Doe <jane@x.org>", "2020", [2020]),
        (" * (C) 2001, 2004 Foo Inc", "Foo Inc", "2001, 2004", [2001, 2004]),
        (
            "# Copyright 2015 The Django Software Foundation",
            "The Django Software Foundation",
            "2015",
            [2015],
        ),
        (
            "# SPDX-FileCopyrightText: 2021 Bar Baz <bar@baz.org>",
            "Bar Baz <bar@baz.org>",
            "2021",
            [2021],
        ),
        ("SPDX-FileCopyrightText: © 2019 Foo Project", "Foo Project", "2019", [2019]),
        ("SPDX-FileCopyrightText: Example Contributors", "Example Contributors", "", []),
        (
            "Portions copyright 2010-12 Example Ltd. All rights reserved.",
            "Example Ltd.",
            "2010-12",
            [2010, 2011, 2012],
        ),
        (
            "Copyright (C) 2008, 2010-2012, 2015 Xavier Yu",
            "Xavier Yu",
            "2008, 2010-2012, 2015",
            [2008, 2010, 2011, 2012, 2015],
        ),
        (
            "// Copyright (c) Microsoft Corporation. All rights reserved.",
            "Microsoft Corporation",
            "",
            [],
        ),
        (
            "// Copyright 2009 The Go Authors. All rights reserved.",
            "The Go Authors",
            "2009",
            [2009],
        ),
        ('__copyright__ = "Copyright 2020 Foo Bar"', "Foo Bar", "2020", [2020]),
        ("Copyright (c) Foo Bar 2010-2012", "Foo Bar", "2010-2012", [2010, 2011, 2012]),
        ("<!-- Copyright 2022 Example GmbH -->", "Example GmbH", "2022", [2022]),
        ("-- Copyright (C) 1999 by Ada Lovelace", "Ada Lovelace", "1999", [1999]),
        (
            "Copyright: (c) 2021, Matt Smith <matt@example.net>",
            "Matt Smith <matt@example.net>",
            "2021",
            [2021],
        ),
        ("; COPYRIGHT 1995-2001 OLD CORP", "OLD CORP", "1995-2001", list(range(1995, 2002))),
        ("% Copyright 2018 - 2020 TeX Writer", "TeX Writer", "2018 - 2020", [2018, 2019, 2020]),
        (
            "Copyright (C) 1989, 1991 Free Software Foundation, Inc.",
            "Free Software Foundation, Inc.",
            "1989, 1991",
            [1989, 1991],
        ),
        ("&copy; 2024 Web Company", "Web Company", "2024", [2024]),
        (
            "Copyright 2011-present Meta Platforms, Inc.",
            "Meta Platforms, Inc.",
            "2011-present",
            [2011],
        ),
        ("# Copyright: Ansible Project", "Ansible Project", "", []),
        (
            "Copyright OpenJS Foundation and other contributors, https://openjsf.org/",
            "OpenJS Foundation and other contributors, https://openjsf.org",
            "",
            [],
        ),
    ],
)
def test_statement_gives_holder_and_years(line, holder, years, year_list):
    (finding,) = scan(f"#!/usr/bin/env python\n{line}\nimport os\n")

    assert finding.kind == Kind.COPYRIGHT
    assert finding.severity == Severity.INFO
    assert finding.data == {"holder": holder, "years": years, "year_list": year_list} | (
        {"portions": True} if line.startswith("Portions") else {}
    )
    assert finding.line == 2
    assert finding.identity == holder_identity(holder)


@pytest.mark.parametrize(
    "source",
    [
        "copyright_notice = get_copyright()\n",
        "def copyright(self):\n    return self._copyright\n",
        "THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS\n",
        "The above copyright notice and this permission notice shall be included\n",
        "Copyright (c) <year> <copyright holders>\n",
        "Copyright [yyyy] [name of copyright owner]\n",
        "Copyright (C) <year>  <name of author>\n",
        "Copyright (c) {{ year }} {{ author }}\n",
        "Copyright (c) ${year} ${owner}\n",
        'notice = "Copyright (c) %d %s" % (year, name)\n',
        "Copyright YEAR NAME\n",
        "# Copyright law differs between countries; see the FAQ.\n",
        "(c) the following conditions are met:\n",
        "# See the copyright file for details.\n",
        "copyright = 'see LICENSE'\n",
        "Copyright © the copyright holders\n",
        "The copyright of this file is held by its authors.\n",
        "options (a), (b) and (c) are exclusive\n",
        "Copyright Act of 1976, section 107\n",
        "Copyright Notice\n",
        "    copyright: self.copyright,\n",
        "Copyright: see the LICENSE file\n",
        "Copyright and license information is in the README.\n",
        "the Copyright Foo module handles this\n",
    ],
)
def test_prose_code_and_templates_are_not_statements(source):
    assert scan(source) == []


def test_identity_ignores_case_punctuation_and_email():
    first = scan("# Copyright 2020 ACME Corp. <legal@acme.example>\n")[0]
    second = scan("/* Copyright (c) 2021 Acme Corp */\n")[0]
    assert first.identity == second.identity == "acme corp"


def test_several_statements_in_one_header():
    source = (
        "/*\n"
        " * Copyright (c) 2001-2003 First Author <first@example.org>\n"
        " * Copyright (c) 2010 Second Company Ltd.\n"
        " * Copyright (c) 2010 Second Company Ltd.\n"
        " */\n"
    )
    findings = scan(source, "x.c")
    assert [(f.line, f.data["holder"]) for f in findings] == [
        (2, "First Author <first@example.org>"),
        (3, "Second Company Ltd."),
    ]


@pytest.mark.parametrize(
    ("source", "holder", "years", "year_list"),
    [
        (
            "# Copyright (c) 2001, 2002, 2003, 2004,\n# 2005, 2006 Python Software Foundation\n",
            "Python Software Foundation",
            "2001, 2002, 2003, 2004, 2005, 2006",
            [2001, 2002, 2003, 2004, 2005, 2006],
        ),
        (
            'notice of copyright, i.e., "Copyright (c)\n1995-2001 Corporation for National Research'
            ' Initiatives; All Rights\nReserved"\n',
            "Corporation for National Research Initiatives",
            "1995-2001",
            list(range(1995, 2002)),
        ),
        (" * Copyright (C)\n *   Example Networks Ltd.\n", "Example Networks Ltd.", "", []),
    ],
)
def test_statement_wrapped_onto_the_next_line(source, holder, years, year_list):
    (finding,) = scan(source)
    assert finding.data == {"holder": holder, "years": years, "year_list": year_list}
    assert finding.line == 1


def test_only_the_head_of_a_source_file_is_read():
    source = "x = 1\n" * 250 + "# Copyright 2020 Late Corp\n"
    assert scan(source) == []


def test_notice_files_are_read_whole():
    source = "Third-party notices\n\n" + "text\n" * 400 + "Copyright 2012 Vendored Inc.\n"
    (finding,) = scan(source, "NOTICE")
    assert finding.line == 403
    assert finding.data["holder"] == "Vendored Inc."


def test_binary_file_is_skipped():
    assert DETECTOR.scan(b"\0\1Copyright 2020 Foo", filename="a.bin", policy=Policy()) == []


def test_invalid_utf8_is_tolerated():
    (finding,) = DETECTOR.scan(b"# Copyright 2020 Caf\xe9 Ltd.\n", filename="x.py", policy=Policy())
    assert (finding.data["years"], finding.data["year_list"]) == ("2020", [2020])
    assert finding.data["holder"].startswith("Caf")
