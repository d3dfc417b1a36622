"""docs/reach.md: where the policy reaches, each context with the test that shows it."""

from __future__ import annotations

import re

from conftest import REPO


def test_every_test_the_reach_table_names_exists():
    text = (REPO / "docs/reach.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    named = 0
    for row in rows[1:]:
        _context, mechanism, tested = (cell.strip() for cell in row.strip("|").split("|"))
        if tested == "—":
            assert mechanism.startswith("not reached"), row  # said plainly, never implied
            continue
        for path, name in re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", tested):
            assert re.search(rf"^def {name}\(", (REPO / path).read_text(), re.M), (path, name)
            named += 1
    assert named >= 9
