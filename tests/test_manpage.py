"""The man page is generated from the parser: it cannot drift from --help."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

import pytest

from telemetry_policy import __version__
from telemetry_policy.cliparser import SECTIONS, build_parser
from telemetry_policy.manpage import main, render


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _unescape(page: str) -> str:
    return page.replace("\\-", "-").replace("\\fB", "").replace("\\fI", "").replace("\\fR", "")


def test_every_command_and_option_is_in_the_page():
    page = _unescape(render())
    parser = build_parser()
    for command, sub in _subparsers(parser).items():
        assert f".SS telemetry-policy {command}" in page
        for action in sub._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert flag in page, (command, flag)
    for flag in ("--root", "--version"):
        assert flag in page


def test_files_environment_and_exit_status_come_from_the_help_sections():
    page = _unescape(render())
    for title, items in SECTIONS:
        assert f".SH {title.upper()}" in page
        for term, _ in items:
            assert term in page
    assert "TELEMETRY_POLICY_DISABLE_PLUGINS" in page
    assert "/etc/telemetry-policy/" in page


def test_header_carries_version_and_reproducible_date(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795392000")  # 2026-11-23
    out = tmp_path / "telemetry-policy.1"
    assert main([str(out)]) == 0
    first = out.read_text().splitlines()[0]
    assert first == (
        f'.TH TELEMETRY-POLICY 1 "2026-11-23" "telemetry-policy {__version__}" "User Commands"'
    )


def test_roff_escapes_leading_dots_and_backslashes():
    from telemetry_policy.manpage import _text

    assert _text(".hidden\n'also") == "\\&.hidden\n\\&'also"
    assert _text("a\\b-c") == "a\\eb\\-c"


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
def test_man_renders_it_without_warnings(tmp_path):
    page = tmp_path / "telemetry-policy.1"
    page.write_text(render())
    p = subprocess.run(
        ["man", "--warnings", "-l", "-Tutf8", str(page)],
        capture_output=True,
        text=True,
        env={"LC_ALL": "C.UTF-8", "MANWIDTH": "80", "PATH": "/usr/bin:/bin"},
    )
    assert p.returncode == 0
    assert p.stderr == ""


def test_module_is_runnable():
    p = subprocess.run(
        [sys.executable, "-m", "telemetry_policy.manpage", "-"], capture_output=True, text=True
    )
    assert p.returncode == 0 and p.stdout.startswith(".TH ")
