import pytest

from telemetry_policy import PRESETS, Mode


def test_modes_are_ordered_by_privacy():
    assert Mode.OFF < Mode.LOCAL < Mode.ON
    assert min(Mode.ON, Mode.LOCAL) is Mode.LOCAL
    assert [str(m) for m in Mode] == ["off", "local", "on"]


def test_parse_accepts_only_the_three_words():
    assert Mode.parse("local") is Mode.LOCAL
    for bad in ("LOCAL", "yes", "", " on", "1"):
        with pytest.raises(ValueError, match="off, local, on"):
            Mode.parse(bad)


def test_presets_match_the_design_table():
    assert PRESETS == {
        "forced-off": (Mode.OFF, Mode.OFF),
        "local-only": (Mode.LOCAL, Mode.LOCAL),
        "opt-in": (Mode.OFF, Mode.ON),
        "local-first": (Mode.LOCAL, Mode.ON),
        "opt-out": (Mode.ON, Mode.ON),
    }
