"""The catalogue is data: every row complete, and each value agreeing with itself."""

from __future__ import annotations

import re

import pytest

from telemetry_policy.catalogue import KINDS, builtin

ROWS = builtin()


def test_at_least_25_programs_and_15_proven_with_the_real_client():
    assert len(ROWS) >= 25
    assert sum(bool(r.proof) for r in ROWS) >= 15


def test_names_and_variables_are_unique():
    names = [r.name for r in ROWS]
    variables = [r.variable for r in ROWS if r.kind == "env"]
    assert len(set(names)) == len(names) and len(set(variables)) == len(variables)


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_every_row_is_complete(row):
    assert row.kind in KINDS and row.tool and row.reads and row.local
    assert row.source.startswith("https://"), row.source
    assert row.default in ("off", "local", "on")
    if row.kind in ("env", "conf"):
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", row.variable)
        # what apply writes is what the program reads as off
        assert re.fullmatch(row.off_match, row.off), (row.off, row.off_match)
        assert re.fullmatch(r"[A-Za-z0-9._-]+", row.off)  # safe unquoted in sh and systemd
    if row.kind in ("firefox", "vscode", "conf", "flag", "chromium"):
        assert row.path.startswith("/etc/"), row.path
    if row.kind == "conf":
        assert row.sources and row.path.endswith(".conf")
    if row.proof:
        assert row.proof.startswith(("tests/", "packaging/")) and row.status


def test_values_that_would_break_a_program_are_never_written():
    by_name = {r.name: r for r in ROWS}
    # wrangler and yarn fail on anything but their exact words; ray raises on anything but 0/1
    assert by_name["wrangler"].off == "false"
    assert by_name["yarn"].off in ("0", "false")
    assert by_name["ray"].off == "0"
    assert by_name["semgrep"].off == "off"
    # Next.js disables for any non-empty value, Gradio for anything but exactly True
    assert re.fullmatch(by_name["nextjs"].off_match, "0")
    assert not re.fullmatch(by_name["gradio"].off_match, "True")
    assert re.fullmatch(by_name["gradio"].off_match, "true")


def test_the_table_in_docs_export_md_is_the_catalogue():
    from conftest import REPO
    from telemetry_policy.catalogue import markdown

    doc = (REPO / "docs/export.md").read_text()
    start = doc.index("<!-- the table below is generated")
    start = doc.index("\n", start) + 1
    end = doc.index("<!-- end of the generated table -->")
    assert doc[start:end] == markdown(), "run: python -m telemetry_policy.catalogue"
