"""mytool's own tests, with the testing kit's ``telemetry_policy_root`` fixture:
each test gets a fake system and user, whatever the machine's policy and
whatever DO_NOT_TRACK the person running them has set."""

from __future__ import annotations

import json

import mytool

from telemetry_policy import resolve

FORCED_OFF = '[policy]\npreset = "forced-off"\n'
LOCAL_ONLY = '[policy]\npreset = "local-only"\n'
OPT_IN = '[policy]\npreset = "opt-in"\n'


def events(name: str) -> list[dict[str, object]]:
    path = mytool.state_dir() / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_usage_is_kept_locally_by_default(telemetry_policy_root):
    assert mytool.main(["count"]) == 0
    assert events("usage.jsonl") == [{"command": "count", "files": 0}]
    assert events("sent.jsonl") == []


def test_nothing_is_collected_when_the_system_forbids_it(telemetry_policy_root):
    telemetry_policy_root.write("vendor", "policy.toml", FORCED_OFF)
    assert mytool.main(["count"]) == 0
    assert events("usage.jsonl") == []


def test_the_user_cannot_turn_it_on_above_the_ceiling(telemetry_policy_root, capsys):
    telemetry_policy_root.write("vendor", "policy.toml", LOCAL_ONLY)
    assert mytool.main(["telemetry", "on"]) == 1
    assert "above the ceiling local" in capsys.readouterr().err
    assert mytool.main(["telemetry", "off"]) == 0
    mytool.main(["count"])
    assert events("usage.jsonl") == []


def test_uploads_wait_upload_delay_days_after_the_user_turned_it_on(telemetry_policy_root):
    telemetry_policy_root.write("vendor", "policy.toml", OPT_IN)
    assert mytool.main(["telemetry", "on"]) == 0
    mytool.main(["count"])
    assert events("sent.jsonl") == []  # not yet: a week to change one's mind
    telemetry_policy_root.advance(days=7)
    mytool.main(["count"])
    assert len(events("sent.jsonl")) == 2


def test_a_choice_can_also_be_set_by_the_test(telemetry_policy_root):
    telemetry_policy_root.write("vendor", "policy.toml", OPT_IN)
    telemetry_policy_root.set("mytool", "on")
    assert str(resolve("mytool").mode) == "on"
    telemetry_policy_root.set(None, "off")  # [all] comes after the app's own choice
    assert str(resolve("mytool").mode) == "on"


def test_status_says_why(telemetry_policy_root, capsys):
    telemetry_policy_root.write("admin", "policy.d/50-site.toml", '[app.mytool]\nceiling = "off"\n')
    assert mytool.main(["telemetry", "status"]) == 0
    out = capsys.readouterr().out
    assert "mytool: mode off" in out and "50-site.toml" in out
