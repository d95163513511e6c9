"""timefmt.count, the one home of counts written for people ('1 file', '2 files', '1,234 epochs')."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from sensorback.timefmt import count

PACKAGE = Path(__file__).resolve().parents[1] / "sensorback"


def test_count_says_one_as_singular_and_every_other_number_as_plural():
    assert count(1, "file") == "1 file"
    assert count(0, "file") == "0 files"
    assert count(2, "epochs table") == "2 epochs tables"
    assert count(np.int64(1), "check-in") == "1 check-in"          # numpy sizes and counts too
    assert count(np.intp(3), "exact duplicate sample") == "3 exact duplicate samples"


def test_count_separates_thousands_as_every_count_a_person_reads():
    assert count(999, "epoch") == "999 epochs"
    assert count(1234, "epoch") == "1,234 epochs"
    assert count(1_000_000, "sample") == "1,000,000 samples"


def test_count_takes_an_irregular_plural():
    assert count(1, "person", "people") == "1 person"
    assert count(2, "person", "people") == "2 people"
    assert count(3, "x/y/z int16 sample") == "3 x/y/z int16 samples"


#: A plural made by hand next to its number ("file{'s' if n != 1 else ''}", "('s', '')[n == 1]",
#: "notification(s)"): the package says counts with timefmt.count instead.
HAND_MADE = re.compile(r"""(['"])s\1\s+if\s+.*(?:[!=]=|>)\s*1|(['"])\2\s+if\s+.*==\s*1\s+else\s+(['"])s\3"""
                       r"""|\((['"])s\4,\s*(['"])\5\)\[|\}\s+[\w-]+\(s\)""")


def test_no_plural_is_made_by_hand_in_the_package():
    found = [f"{path.relative_to(PACKAGE.parent)}:{i}: {line.strip()}"
             for path in sorted(PACKAGE.rglob("*.py"))
             for i, line in enumerate(path.read_text().splitlines(), 1) if HAND_MADE.search(line)]
    assert HAND_MADE.search("f\"{n} file{'s' if n != 1 else ''}\"")    # the pattern sees what it is for
    assert HAND_MADE.search("""f'{n} check-in{"" if n == 1 else "s"}'""")
    assert HAND_MADE.search("f\"({n} sample{'s' if n > 1 else ''})\"")
    assert HAND_MADE.search("f\"{n} notification(s) could not be decoded\"")
    assert found == []
