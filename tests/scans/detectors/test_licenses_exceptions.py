"""License exceptions: kept in the expression from SPDX tags, header notices and license
files, each recognised by its own wording; never dropped, never guessed.

The headers below are written in the style of well-known projects' headers, shortened; the
sentence that grants each exception keeps the wording that identifies it.
"""

from __future__ import annotations

import pytest

from scans.detectors.base import Kind, Policy, Severity
from scans.detectors.licenses import GENERIC_EXCEPTION, LicenseDetector
from tests.scans.detectors.test_licenses import APACHE_TEXT, GPL2_TEXT, commented

DETECTOR = LicenseDetector()


NO_POLICY = Policy()


def scan(text: str, filename: str = "module.c", policy: Policy = NO_POLICY):
    return DETECTOR.scan(text.encode(), filename=filename, policy=policy)


def licensed(text: str, filename: str = "module.c") -> list[tuple[str, int]]:
    return [(f.license, f.line) for f in scan(text, filename) if f.license]


# ---------------------------------------------------------------------------- SPDX tags


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */",
            "GPL-2.0-only WITH Linux-syscall-note",
        ),
        (
            "// SPDX-License-Identifier: GPL-2.0-only WITH GCC-exception-2.0",
            "GPL-2.0-only WITH GCC-exception-2.0",
        ),
        (
            "# SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception",
            "Apache-2.0 WITH LLVM-exception",
        ),
        (
            "-- SPDX-License-Identifier: GPL-3.0-or-later WITH GCC-exception-3.1",
            "GPL-3.0-or-later WITH GCC-exception-3.1",
        ),
        (
            "; SPDX-License-Identifier: GPL-2.0-or-later WITH Autoconf-exception-2.0",
            "GPL-2.0-or-later WITH Autoconf-exception-2.0",
        ),
        (
            "dnl SPDX-License-Identifier: GPL-3.0-or-later WITH Autoconf-exception-generic-3.0",
            "GPL-3.0-or-later WITH Autoconf-exception-generic-3.0",
        ),
        (
            "<!-- SPDX-License-Identifier: GPL-3.0-or-later WITH Bison-exception-2.2 -->",
            "GPL-3.0-or-later WITH Bison-exception-2.2",
        ),
        (
            "% SPDX-License-Identifier: GPL-2.0-or-later WITH Font-exception-2.0",
            "GPL-2.0-or-later WITH Font-exception-2.0",
        ),
        (
            "| SPDX-License-Identifier: LGPL-2.1-only WITH Qt-LGPL-exception-1.1 |",
            "LGPL-2.1-only WITH Qt-LGPL-exception-1.1",
        ),
        (
            " * SPDX-License-Identifier: GPL-2.0-only WITH Classpath-exception-2.0",
            "GPL-2.0-only WITH Classpath-exception-2.0",
        ),
        (
            "# SPDX-License-Identifier: GPL-2.0-or-later WITH OpenSSL-exception",
            "GPL-2.0-or-later WITH OpenSSL-exception",
        ),
        (
            "/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR BSD-2-Clause */",
            "GPL-2.0-only WITH Linux-syscall-note OR BSD-2-Clause",
        ),
        (
            "# SPDX-License-Identifier: gpl-2.0+ with linux-syscall-note",
            "GPL-2.0-or-later WITH Linux-syscall-note",
        ),
    ],
)
def test_tag_keeps_its_exception(line, expected):
    (finding,) = scan(f"#include <stddef.h>\n{line}\nint x;\n")
    assert (finding.rule, finding.license, finding.identity, finding.line) == (
        "spdx-tag",
        expected,
        expected,
        2,
    )


def test_tag_with_an_exception_the_list_does_not_know_is_invalid_not_shortened():
    (finding,) = scan("// SPDX-License-Identifier: GPL-2.0-only WITH Made-up-exception\n")
    assert (finding.rule, finding.license, finding.severity) == (
        "invalid-spdx-tag",
        None,
        Severity.WARNING,
    )


# ---------------------------------------------------------------------------- headers

LIBGIT2_STYLE = """\
Copyright (C) the Frob contributors. All rights reserved.

This file is part of Frob, distributed under the GNU GPL v2 with
a Linking Exception. For full terms see the included COPYING file.
"""

OPENJDK_STYLE = """\
Copyright (c) 2003, 2021, Example Corp and/or its affiliates. All rights reserved.
DO NOT ALTER OR REMOVE COPYRIGHT NOTICES OR THIS FILE HEADER.

This code is free software; you can redistribute it and/or modify it
under the terms of the GNU General Public License version 2 only, as
published by the Free Software Foundation.  Example Corp designates this
particular file as subject to the "Classpath" exception as provided
by Example Corp in the LICENSE file that accompanied this code.
"""

CLASSPATH_TEXT_STYLE = """\
This file is part of a class library.

The library is free software; you can redistribute it and/or modify it
under the terms of the GNU General Public License as published by the
Free Software Foundation; either version 2, or (at your option) any
later version.

As a special exception, the copyright holders of this library give you
permission to link this library with independent modules to produce an
executable, regardless of the license terms of these independent modules.
"""

GCC_RUNTIME_STYLE = """\
This file is part of a compiler runtime.

It is free software; you can redistribute it and/or modify it under the
terms of the GNU General Public License as published by the Free Software
Foundation; either version 3, or (at your option) any later version.

Under Section 7 of GPL version 3, you are granted additional permissions
described in the GCC Runtime Library Exception, version 3.1, as published
by the Free Software Foundation.
"""

LIBC_STYLE = """\
This file is part of a C library.

The library is free software; you can redistribute it and/or modify it
under the terms of the GNU Lesser General Public License as published by
the Free Software Foundation; either version 2.1 of the License, or (at
your option) any later version.

In addition to the permissions in the GNU Lesser General Public License,
the authors give you unlimited permission to link the compiled version of
this file with other programs, and to distribute those programs freely.
"""

BISON_STYLE = """\
This program is free software: you can redistribute it and/or modify it
under the terms of the GNU General Public License as published by the
Free Software Foundation, either version 3 of the License, or (at your
option) any later version.

As a special exception, you may create a larger work that contains part
or all of the Bison parser skeleton and distribute that work under terms
of your choice.
"""

AUTOCONF_MACRO_STYLE = """\
This program is free software: you can redistribute it and/or modify it
under the terms of the GNU General Public License as published by the
Free Software Foundation, either version 3 of the License, or (at your
option) any later version.

As a special exception, the respective Autoconf Macro's copyright owner
gives unlimited permission to copy, distribute and modify the configure
scripts that are the output of Autoconf when processing the Macro.
"""

AUTOCONF_GENERIC_STYLE = """\
This file is free software; you can redistribute it and/or modify it
under the terms of the GNU General Public License as published by the
Free Software Foundation; either version 2 of the License, or (at your
option) any later version.

As a special exception to the GNU General Public License, if you
distribute this file as part of a program that contains a configuration
script generated by Autoconf, you may include it under the same terms.
"""

LIBTOOL_STYLE = """\
This file is free software; you can redistribute it and/or modify it
under the terms of the GNU General Public License as published by the
Free Software Foundation; either version 2 of the License, or (at your
option) any later version.

As a special exception to the GNU General Public License, if you
distribute this file as part of a program or library that is built
using GNU Libtool, you may include this file under the same terms.
"""

FONT_STYLE = """\
This font is free software; you can redistribute it and/or modify it
under the terms of the GNU General Public License as published by the
Free Software Foundation; either version 2 of the License, or (at your
option) any later version.

As a special exception, if you create a document which uses this font,
and embed this font into the document, this font does not by itself
cause the resulting document to be covered by the GNU GPL.
"""

OPENSSL_STYLE = """\
This program is free software; you can redistribute it and/or modify it
under the terms of the GNU General Public License as published by the
Free Software Foundation; either version 2 of the License, or (at your
option) any later version.

In addition, as a special exception, the author gives permission to
link the code of this program with the OpenSSL library, and distribute
linked combinations including the two.
"""

CRYPTSETUP_STYLE = OPENSSL_STYLE.replace(
    "the author gives permission to\nlink the code of this program with the OpenSSL library,",
    "the copyright holders give\npermission to link the code of portions of this program with the\n"
    "OpenSSL library under certain conditions as described in each individual\n"
    "source file,",
)

GPL3_LINKING_STYLE = """\
This program is free software: you can redistribute it and/or modify it
under the terms of the GNU General Public License as published by the
Free Software Foundation, either version 3 of the License, or (at your
option) any later version.

Additional permission under GNU GPL version 3 section 7

If you modify this Program, or any covered work, by linking or combining
it with the Frob library, the licensors of this Program grant you
additional permission to convey the resulting work.
"""

QT_LGPL_STYLE = """\
GNU Lesser General Public License Usage
This file may be used under the terms of the GNU Lesser General Public
License version 2.1 as published by the Free Software Foundation.

In addition, as a special exception, the vendor gives you certain
additional rights. These rights are described in the Nokia Qt LGPL
Exception version 1.1, included in the file LGPL_EXCEPTION.txt.
"""

QT_GPL3_STYLE = """\
GNU General Public License Usage
This file may be used under the terms of the GNU General Public License
version 3 as published by the Free Software Foundation with exceptions
as appearing in the file LICENSE.GPL3-EXCEPT included in the packaging.
"""

LLVM_STYLE = "Part of the Frob Project, under the Apache License v2.0 with LLVM Exceptions.\n"

SWIFT_STYLE = "Licensed under Apache License v2.0 with Runtime Library Exception\n"

KERNEL_PROSE_STYLE = "This header is licensed under GPL-2.0 WITH Linux-syscall-note.\n"

WX_STYLE = """\
Name:        src/common/thing.cpp
Author:      A. Author
Copyright:   (c) 2001 A. Author
Licence:     wxWindows licence
"""

UNNAMED_STYLE = """\
Licensed under the GNU General Public License, version 2, with the
following exception: the vendor may ship the compiled firmware freely.
"""


@pytest.mark.parametrize(
    ("text", "style", "expected"),
    [
        (LIBGIT2_STYLE, "/* */", f"GPL-2.0-only WITH {GENERIC_EXCEPTION}"),
        (OPENJDK_STYLE, "/* */", "GPL-2.0-only WITH Classpath-exception-2.0"),
        (CLASSPATH_TEXT_STYLE, "//", "GPL-2.0-or-later WITH Classpath-exception-2.0"),
        (GCC_RUNTIME_STYLE, "/* */", "GPL-3.0-or-later WITH GCC-exception-3.1"),
        (LIBC_STYLE, "/* */", "LGPL-2.1-or-later WITH GCC-exception-2.0"),
        (BISON_STYLE, "/* */", "GPL-3.0-or-later WITH Bison-exception-2.2"),
        (AUTOCONF_MACRO_STYLE, "#", "GPL-3.0-or-later WITH Autoconf-exception-macro"),
        (AUTOCONF_GENERIC_STYLE, "dnl", "GPL-2.0-or-later WITH Autoconf-exception-generic"),
        (LIBTOOL_STYLE, "#", "GPL-2.0-or-later WITH Libtool-exception"),
        (FONT_STYLE, "%", "GPL-2.0-or-later WITH Font-exception-2.0"),
        (OPENSSL_STYLE, "/* */", "GPL-2.0-or-later WITH OpenSSL-exception"),
        (CRYPTSETUP_STYLE, "/* */", "GPL-2.0-or-later WITH cryptsetup-OpenSSL-exception"),
        (GPL3_LINKING_STYLE, ";", "GPL-3.0-or-later WITH GPL-3.0-linking-exception"),
        (QT_LGPL_STYLE, "**", "LGPL-2.1-only WITH Qt-LGPL-exception-1.1"),
        (QT_GPL3_STYLE, "**", "GPL-3.0-only WITH Qt-GPL-exception-1.0"),
        (LLVM_STYLE, "//", "Apache-2.0 WITH LLVM-exception"),
        (SWIFT_STYLE, "//", "Apache-2.0 WITH Swift-exception"),
        (KERNEL_PROSE_STYLE, "<!-- -->", "GPL-2.0-only WITH Linux-syscall-note"),
        (WX_STYLE, "//", "LGPL-2.0-or-later WITH WxWindows-exception-3.1"),
        (UNNAMED_STYLE, "--", f"GPL-2.0-only WITH {GENERIC_EXCEPTION}"),
    ],
)
def test_header_keeps_the_exception_it_grants(text, style, expected):
    source = commented(text, style) + "\nint main(void) { return 0; }\n"

    (finding,) = [f for f in scan(source) if f.license]

    assert finding.kind == Kind.LICENSE
    assert finding.rule == "license-header"
    assert finding.license == finding.identity == expected


def test_header_line_is_the_license_line_not_the_exception_line():
    source = "#include <x.h>\n" + commented(GCC_RUNTIME_STYLE, "//")
    assert licensed(source) == [("GPL-3.0-or-later WITH GCC-exception-3.1", 4)]


def test_unnamed_exception_is_said_so_in_the_message():
    source = commented(LIBGIT2_STYLE, "/* */")
    (finding,) = [f for f in scan(source) if f.license]
    assert finding.line == 4
    assert finding.excerpt == "* This file is part of Frob, distributed under the GNU GPL v2 with"
    assert "an exception it does not name" in finding.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "with the exception of" carves files out; it is no exception to the license.
        (
            "This program is free software; you can redistribute it and/or modify it\n"
            "under the terms of the GNU General Public License version 2, with the\n"
            "exception of the files in vendor/, which carry their own licenses.\n",
            "GPL-2.0-only",
        ),
        # An exception named only far below the notice, in code, is not the notice's.
        (
            "This program is free software; you can redistribute it and/or modify it\n"
            "under the terms of the GNU General Public License version 2.\n"
            + "\n" * 3
            + "int frob(void);\n" * 60
            + "/* frob() fails with an exception when the device is gone. */\n",
            "GPL-2.0-only",
        ),
        # The words "Classpath" and "exception" apart are not the Classpath exception.
        (
            "Licensed under the GNU General Public License version 2.\n"
            "The classpath is scanned; an exception is thrown when it is empty.\n",
            "GPL-2.0-only",
        ),
        # Exceptions belong to their own licenses: an LLVM exception does not go on a GPL.
        (
            "Licensed under the GNU General Public License version 3.\n"
            "Parts were once under the Apache License v2.0 with LLVM Exceptions.\n",
            "GPL-3.0-only",
        ),
        ("Licensed under the Apache License, Version 2.0.\n", "Apache-2.0"),
        (
            "Licensed under the MIT license. The GCC Runtime Library Exception does not apply.\n",
            "MIT",
        ),
    ],
)
def test_no_exception_is_invented(text, expected):
    source = commented(text, "#")
    found = {f.license for f in scan(source, "tool.py") if f.license}
    assert {spdx for spdx in found if spdx.startswith(expected.split("-")[0])} == {expected}


# ---------------------------------------------------------------------------- license files

LINKING_EXCEPTION_PREFACE = """\
 Frob is Copyright (C) the Frob contributors.

                        LINKING EXCEPTION

 In addition to the permissions in the GNU General Public License,
 the authors give you unlimited permission to link the compiled
 version of this library into combinations with other programs,
 and to distribute those combinations without any restriction
 coming from the use of this file.

----------------------------------------------------------------------

"""

SYSCALL_NOTE_PREFACE = """\
   NOTE! This copyright does *not* cover user programs that use kernel
 services by normal system calls - this is merely considered normal use
 of the kernel, and does *not* fall under the heading of "derived work".

"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (LINKING_EXCEPTION_PREFACE + GPL2_TEXT, "GPL-2.0-only WITH GCC-exception-2.0"),
        (SYSCALL_NOTE_PREFACE + GPL2_TEXT, "GPL-2.0-only WITH Linux-syscall-note"),
        (
            "The Frob Project is under the Apache License v2.0 with LLVM Exceptions:\n\n"
            + APACHE_TEXT
            + "\n---- LLVM Exceptions to the Apache 2.0 License ----\n\n"
            "As an exception, if, as a result of your compiling your source code, portions\n"
            "of this Software are embedded into an Object form of such source code, you\n"
            "may redistribute such embedded portions in such Object form.\n",
            "Apache-2.0 WITH LLVM-exception",
        ),
        (APACHE_TEXT, "Apache-2.0"),
        # The GPL's own "as a special exception" (about system libraries) is none.
        (
            GPL2_TEXT + "\n  3. However, as a special exception, the source code distributed\n"
            "need not include anything that is normally distributed with the major\n"
            "components (compiler, kernel, and so on) of the operating system.\n",
            "GPL-2.0-only",
        ),
    ],
)
def test_license_file_keeps_its_exception(text, expected):
    assert [(f.rule, f.license) for f in scan(text, "COPYING")] == [("license-file", expected)]


# ---------------------------------------------------------------------------- tags and policy


def test_header_with_an_unnamed_exception_beside_a_tag_naming_it_is_one_finding():
    source = "/* SPDX-License-Identifier: GPL-2.0-only WITH GCC-exception-2.0 */\n" + commented(
        LIBGIT2_STYLE, "/* */"
    )
    assert licensed(source) == [("GPL-2.0-only WITH GCC-exception-2.0", 1)]


def test_header_repeating_a_tag_with_an_exception_is_one_finding():
    source = "// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception\n" + commented(
        LLVM_STYLE, "//"
    )
    assert licensed(source) == [("Apache-2.0 WITH LLVM-exception", 1)]


def test_denied_license_blocks_with_an_exception_too():
    policy = Policy(licenses_denied=["GPL-2.0-only"])
    for source in (
        commented(LIBGIT2_STYLE, "/* */"),
        "// SPDX-License-Identifier: GPL-2.0-only WITH Classpath-exception-2.0\n",
    ):
        (finding,) = [f for f in scan(source, policy=policy) if f.license]
        assert (finding.rule, finding.severity) == ("denied-license", Severity.BLOCKING)


def test_allowed_base_license_allows_it_with_an_exception():
    policy = Policy(licenses_allowed=["GPL-2.0-only"])
    (finding,) = [f for f in scan(commented(OPENJDK_STYLE, "/* */"), policy=policy) if f.license]
    assert (finding.rule, finding.severity) == ("license-header", Severity.INFO)


_GPL2_PLUS = (
    "This file is free software; you can redistribute it and/or modify it under the terms\n"
    "of the GNU General Public License as published by the Free Software Foundation;\n"
    "either version 2, or (at your option) any later version.\n\n"
)
_GPL3_PLUS = _GPL2_PLUS.replace("version 2", "version 3")
_LGPL21_PLUS = _GPL2_PLUS.replace("GNU General", "GNU Lesser General").replace(
    "version 2,", "version 2.1,"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            _GPL2_PLUS + "As a special exception, if other files instantiate generics from\n"
            "this unit, this unit does not by itself cause the executable to be covered.\n",
            "GPL-2.0-or-later WITH GNAT-exception",
        ),
        (
            _GPL3_PLUS + "As a special exception, when this file is read by TeX when\n"
            "processing a Texinfo source document, you may use the result freely.\n",
            "GPL-3.0-or-later WITH Texinfo-exception",
        ),
        (
            _GPL2_PLUS + "As a special exception, if you compile this file and link it with\n"
            "other works to produce a work based on this file, it is not covered.\n",
            "GPL-2.0-or-later WITH eCos-exception-2.0",
        ),
        (
            _LGPL21_PLUS + 'As a special exception, you may link a "work that uses the Library"\n'
            "with a publicly distributed version of the Library to produce an\n"
            "executable file containing portions of the Library.\n",
            "LGPL-2.1-or-later WITH OCaml-LGPL-linking-exception",
        ),
        (
            _GPL3_PLUS + "Under Section 7 of GPL version 3, you are granted additional\n"
            "permissions described in the Autoconf Configure Script Exception, version 3.0.\n",
            "GPL-3.0-or-later WITH Autoconf-exception-3.0",
        ),
        (
            _GPL2_PLUS + "As a special exception, when this file is copied by Bison into a\n"
            "Bison output file, you may use that output file without restriction.\n",
            "GPL-2.0-or-later WITH Bison-exception-1.24",
        ),
        (
            _GPL3_PLUS + "As a special exception, if you distribute this file as part of a\n"
            "program that contains a configuration script generated by Autoconf, you may\n"
            "include it under the same terms. This Exception is an additional permission\n"
            "under section 7 of the GNU General Public License, version 3.\n",
            "GPL-3.0-or-later WITH Autoconf-exception-generic-3.0",
        ),
        # Named by its SPDX id in prose, not in a tag.
        (
            "Licensed under GPL-3.0-or-later WITH GCC-exception-3.1.\n",
            "GPL-3.0-or-later WITH GCC-exception-3.1",
        ),
        # "The GCC exception" says there is one, not which version of which.
        (
            "Licensed under the GNU GPL v2 with the GCC exception.\n",
            f"GPL-2.0-only WITH {GENERIC_EXCEPTION}",
        ),
        (
            "Licensed under the Apache License, Version 2.0.\n\n"
            "---- Exceptions to the Apache 2.0 License ----\n"
            "As an exception, if, as a result of your compiling your source code, portions\n"
            "of this Software are embedded into an Object form of such source code, you may\n"
            "redistribute such embedded portions in such Object form freely.\n",
            "Apache-2.0 WITH LLVM-exception",
        ),
        # Two exceptions: both kept, as one valid expression.
        (
            _GPL2_PLUS + "As a special exception to the GNU General Public License, if you\n"
            "distribute this file as part of a program that contains a configuration\n"
            "script generated by Autoconf, you may include it under the same terms.\n\n"
            "As a special exception, if you distribute this file as part of a program\n"
            "or library that is built using GNU Libtool, you may include it as well.\n",
            "GPL-2.0-or-later WITH Autoconf-exception-generic"
            " AND GPL-2.0-or-later WITH Libtool-exception",
        ),
    ],
)
def test_exception_by_its_wording(text, expected):
    (finding,) = [f for f in scan(commented(text, "#"), "aclocal.m4") if f.license]
    assert finding.license == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("License: GPLv2 with Classpath exception", "GPL-2.0-only WITH Classpath-exception-2.0"),
        ('license = "GPL-2.0 with linking exception"', f"GPL-2.0-only WITH {GENERIC_EXCEPTION}"),
        (" * @license Apache-2.0 with LLVM exception", "Apache-2.0 WITH LLVM-exception"),
        (
            "License-Expression: GPL-3.0-or-later WITH GCC-exception-3.1",
            "GPL-3.0-or-later WITH GCC-exception-3.1",
        ),
    ],
)
def test_license_field_keeps_its_exception(line, expected):
    (finding,) = scan(f"Name: frob\n{line}\n", "PKG-INFO")
    assert (finding.rule, finding.license, finding.line) == ("license-field", expected, 2)


def test_license_field_with_an_exception_on_a_license_that_has_none_is_free_text():
    assert scan("License: MIT with exceptions\n", "PKG-INFO") == []
