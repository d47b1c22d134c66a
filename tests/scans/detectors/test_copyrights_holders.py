"""Holder and years apart: open "-present" ranges, holders wrapped onto the next comment
line, trailing conjunctions and punctuation, lists of years and ranges."""

from __future__ import annotations

import pytest

from scans.detectors.base import Policy
from scans.detectors.copyrights import CopyrightDetector

DETECTOR = CopyrightDetector()


def scan(text: str, filename: str = "module.c"):
    return DETECTOR.scan(text.encode(), filename=filename, policy=Policy())


def statements(text: str, filename: str = "module.c") -> list[tuple[int, str, str]]:
    return [(f.line, f.data["holder"], f.data["years"]) for f in scan(text, filename)]


@pytest.mark.parametrize(
    ("line", "holder", "years", "year_list"),
    [
        ("# Copyright (c) 2007-present Jane Roe", "Jane Roe", "2007-present", [2007]),
        ("// Copyright © 2007–present Jane Roe", "Jane Roe", "2007–present", [2007]),
        (" * Copyright 2007 to present Jane Roe", "Jane Roe", "2007 to present", [2007]),
        (
            "-- Copyright (C) 2011 - Present The Frob Authors",
            "The Frob Authors",
            "2011 - Present",
            [2011],
        ),
        ("; (c) 2010-now Frob Inc.", "Frob Inc.", "2010-now", [2010]),
        ("<!-- Copyright 2015-present Frob GmbH -->", "Frob GmbH", "2015-present", [2015]),
        ("% Copyright (c) Frob Project 2012-present", "Frob Project", "2012-present", [2012]),
        (
            "# Copyright (c) 2001, 2003-2005, 2010 Frob Ltd",
            "Frob Ltd",
            "2001, 2003-2005, 2010",
            [2001, 2003, 2004, 2005, 2010],
        ),
        ("// Copyright 1998,2004 Frob Ltd", "Frob Ltd", "1998,2004", [1998, 2004]),
        ("# Copyright 2020 Jane Roe and", "Jane Roe", "2020", [2020]),
        ("# Copyright 2020 Jane Roe &", "Jane Roe", "2020", [2020]),
        ("# Copyright 2020 Jane Roe, and", "Jane Roe", "2020", [2020]),
        ("# Copyright 2020 Jane Roe,", "Jane Roe", "2020", [2020]),
        ("# Copyright 2020 Jane Roe.", "Jane Roe", "2020", [2020]),
        ("# Copyright 2020 Frob Inc. All rights reserved.", "Frob Inc.", "2020", [2020]),
        ("# Copyright 2020 Frob Inc. and", "Frob Inc.", "2020", [2020]),
        ("# Copyright 2020 Frob & Sons Ltd", "Frob & Sons Ltd", "2020", [2020]),
        ("# Copyright (c) Frob Corporation. All rights reserved.", "Frob Corporation", "", []),
    ],
)
def test_years_as_written_and_the_holder_apart(line, holder, years, year_list):
    (finding,) = scan(f"#!/bin/sh\n{line}\necho hi\n")

    assert finding.data == {"holder": holder, "years": years, "year_list": year_list}
    assert finding.line == 2
    assert finding.message == f"Copyright {years} {holder}".replace("  ", " ")


@pytest.mark.parametrize(
    ("source", "holder", "years", "line"),
    [
        (
            "/*\n * Copyright (c) 2009-2014 The Frob Project\n * and contributors\n */\n",
            "The Frob Project and contributors",
            "2009-2014",
            2,
        ),
        (
            "/*\n * Copyright (c) 2009-2014 The Frob Project and\n"
            " * contributors. All rights reserved.\n */\n",
            "The Frob Project and contributors",
            "2009-2014",
            2,
        ),
        (
            "// Copyright (c) 2005, 2020, Example Corp and/or\n"
            "// its affiliates. All rights reserved.\n",
            "Example Corp and/or its affiliates",
            "2005, 2020",
            1,
        ),
        ("# Copyright 2001 Frob Ltd and\n# Bar Baz GmbH\n", "Frob Ltd and Bar Baz GmbH", "2001", 1),
        (";; Copyright (C) 2018 Jane Roe &\n;; John Doe\n", "Jane Roe & John Doe", "2018", 1),
        (
            "-- Copyright 2019 The Frob Authors\n-- & other contributors\n",
            "The Frob Authors & other contributors",
            "2019",
            1,
        ),
        (
            "<!--\n  Copyright 2019-present Frob Inc.\n  and its affiliates\n-->\n",
            "Frob Inc. and its affiliates",
            "2019-present",
            2,
        ),
        (
            "# Copyright (c) 2010 Jane Roe <jane@example.org>\n# and John Doe <john@example.org>\n",
            "Jane Roe <jane@example.org> and John Doe <john@example.org>",
            "2010",
            1,
        ),
    ],
)
def test_holder_wrapped_onto_the_next_line_is_joined(source, holder, years, line):
    (finding,) = scan(source)
    assert (finding.data["holder"], finding.data["years"]) == (holder, years)
    assert finding.line == line


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # Prose after the holder is not more of the holder.
        (
            " * Copyright 2015 Frob Corp\n * and is licensed under the MIT license.\n",
            [(1, "Frob Corp", "2015")],
        ),
        (
            " * Copyright 2015 Frob Corp and\n * permission is hereby granted to use it.\n",
            [(1, "Frob Corp", "2015")],
        ),
        # An address line after "Inc.," is not a holder.
        (
            "Copyright (C) 1989, 1991 Example Foundation, Inc.,\n"
            "51 Example Street, Fifth Floor, Boston, MA 02110-1301 USA\n",
            [(1, "Example Foundation, Inc.", "1989, 1991")],
        ),
        # Code after a one-line comment is not a holder.
        ("# Copyright 2015 Frob Corp\nand_more = 1\n", [(1, "Frob Corp", "2015")]),
        # Two statements stay two.
        (
            "// Copyright 2020 Jane Roe and\n// Copyright 2021 John Doe\n",
            [(1, "Jane Roe", "2020"), (2, "John Doe", "2021")],
        ),
        ("/* Copyright 2020 Frob Corp */\n/* and more to come */\n", [(1, "Frob Corp", "2020")]),
    ],
)
def test_the_next_line_is_joined_only_when_it_goes_on_with_the_holder(source, expected):
    assert statements(source) == expected


def test_holder_named_before_the_mark_when_a_license_follows_it():
    source = "/*!\n * Frob 4.0.0\n * Jane Roe (c) 2008-present MIT License\n */\n"
    assert statements(source, "frob.js") == [(3, "Jane Roe", "2008-present")]


def test_license_name_alone_is_no_holder():
    assert scan(" * (c) 2008-present MIT License\n", "frob.js") == []


def test_years_wrapped_onto_the_next_line_keep_their_separator():
    (finding,) = scan("# Copyright (c) 2001, 2002,\n# 2003 Example Foundation\n")
    assert finding.data["years"] == "2001, 2002, 2003"
    assert finding.data["year_list"] == [2001, 2002, 2003]


def test_company_suffix_wrapped_after_a_comma_is_joined():
    source = (
        "/* Copyright (C) 1984, 2000-2015 Example Software Foundation,\n   Inc.\n\n   text */\n"
    )
    assert statements(source) == [(1, "Example Software Foundation, Inc.", "1984, 2000-2015")]


def test_years_after_the_holder_of_a_line_opening_with_the_word():
    assert statements("//  Copyright Jane Roe 2002, 2006\n") == [(1, "Jane Roe", "2002, 2006")]
    # ... but a sentence is still not a statement.
    assert statements("# Copyright notice updated in 2020\n") == []


def test_a_sentence_after_the_holder_is_not_part_of_it():
    source = "// Copyright 2014 The Frob Developers. See the COPYRIGHT\n// file at the top.\n"
    assert statements(source) == [(1, "The Frob Developers", "2014")]
