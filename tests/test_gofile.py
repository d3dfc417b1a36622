"""gofile: Go's own mode file, where Go keeps it and what Go writes."""

from pathlib import Path

from conftest import NOW
from telemetry_policy.gofile import lower, mode_file, parse, read_choice, write_mode
from telemetry_policy.model import Mode


def test_where_go_keeps_it():
    assert mode_file({"XDG_CONFIG_HOME": "/x"}) == "/x/go/telemetry/mode"
    assert mode_file({"HOME": "/h"}) == "/h/.config/go/telemetry/mode"
    assert mode_file({"XDG_CONFIG_HOME": "rel", "HOME": "/h"}) is None  # as os.UserConfigDir


def test_written_as_go_telemetry_writes_it_and_read_back(tmp_path):
    path = str(tmp_path / "go/telemetry/mode")
    write_mode(path, Mode.LOCAL, NOW)
    assert Path(path).read_text() == "local 2026-11-23"
    assert parse(b"local 2026-11-23") == (Mode.LOCAL, "2026-11-23")
    choice = read_choice(path)
    assert choice.mode is Mode.LOCAL and choice.since.date().isoformat() == "2026-11-23"


def test_lowered_never_raised(tmp_path):
    path = str(tmp_path / "mode")
    line, changed = lower(path, Mode.OFF, NOW, check=False)
    assert changed and Path(path).read_text().startswith("off ")
    line, changed = lower(path, Mode.ON, NOW, check=False)
    assert not changed and "left as it is" in line
