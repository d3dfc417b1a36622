"""Logins as the shipped hooks make them, for tests: the profile.d hook run by sh
against what `apply --root` wrote into a fake root."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO
from telemetry_policy.catalogue import builtin

ENV_VARS = {t.variable: t.off for t in builtin() if t.kind == "env"}
SHELL = shutil.which("dash") or "/bin/sh"


def hooks(root, tmp_path) -> dict[str, Path]:
    """The shipped hooks, with their paths pointed into ``root`` and ``tmp_path``."""
    out = tmp_path / "hooks"
    out.mkdir(exist_ok=True)
    library = out / "session.sh"
    text = (REPO / "system/session.sh").read_text()
    library.write_text(
        text.replace(
            "/var/lib/telemetry-policy/session", f"{root.path}/var/lib/telemetry-policy/session"
        )
    )
    found = {"session.sh": library}
    for name, src in (
        ("profile.sh", "system/profile.d/telemetry-policy.sh"),
        ("generator", "system/user-environment-generators/60-telemetry-policy"),
    ):
        path = out / name
        path.write_text(
            (REPO / src).read_text().replace("/usr/share/telemetry-policy/session.sh", str(library))
        )
        path.chmod(0o755)
        found[name] = path
    # `telemetry-policy` as the hooks find it on PATH, reading this root
    bin_dir = out / "bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / "telemetry-policy"
    wrapper.write_text(
        f'#!/bin/sh\nexec {sys.executable} -m telemetry_policy.cli --root {root.path} "$@"\n'
    )
    wrapper.chmod(0o755)
    found["bin"] = bin_dir
    return found


def login(root, tmp_path, home: Path, inherited: dict[str, str] | None = None) -> dict[str, str]:
    """What a login shell of a user with ``home`` exports (the profile.d hook, run by sh)."""
    h = hooks(root, tmp_path)
    env = {"HOME": str(home), "PATH": f"{h['bin']}:/usr/bin:/bin", **(inherited or {})}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    p = subprocess.run(
        [SHELL, "-c", f". {h['profile.sh']} && env && set"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert p.returncode == 0 and p.stderr == "", p.stderr
    exported = {}
    for line in p.stdout.splitlines():
        if "=" in line and line.split("=", 1)[0] in ENV_VARS:
            key, value = line.split("=", 1)
            exported.setdefault(key, value.strip("'"))
    assert "_tp_" not in p.stdout, "the hook left its variables or functions behind"
    return exported
