"""The policy files this project ships are valid and mean what they say."""

from pathlib import Path

import pytest

from telemetry_policy import PRESETS, Mode
from telemetry_policy.policyfile import parse_policy

POLICY = Path(__file__).parent.parent / "policy"
SHIPPED = sorted(POLICY.glob("*/*.toml"))


def test_there_is_something_to_check():
    assert {p.name for p in SHIPPED} >= {
        "debian.toml",
        "fedora.toml",
        *(f"{n}.toml" for n in PRESETS),
    }


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_file_is_valid(path):
    parse_policy(path.read_bytes(), str(path))


@pytest.mark.parametrize("preset", PRESETS)
def test_each_example_gives_its_preset(root, preset):
    root.write(
        "admin", f"policy.d/50-{preset}.toml", (POLICY / f"examples/{preset}.toml").read_text()
    )
    d = root.resolve("demo", app_default="on")
    assert (d.default, d.ceiling) == PRESETS[preset]


def test_vendor_presets_are_opt_in(root):
    for name in ("debian", "fedora"):
        doc = parse_policy((POLICY / f"vendor/{name}.toml").read_bytes(), name)
        assert {s.key: s.value for s in doc.policy}["ceiling"] is Mode.ON
        assert {s.key: s.value for s in doc.policy}["default"] is Mode.OFF
