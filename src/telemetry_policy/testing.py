"""Helpers for testing against a fake root, for this project and plugin authors.

    def test_forced_off(tmp_path):
        root = FakeRoot(tmp_path)
        root.write("vendor", "policy.d/10-distro.toml", '[policy]\\npreset = "forced-off"\\n')
        assert root.resolve("mytool", app_default="on").mode is Mode.OFF

Files are written with explicit modes (0644, directories 0755) so that the
trust check passes whatever the umask of the machine running the tests.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from .decision import Decision
from .locations import DIRECTORIES

TIERS = dict(DIRECTORIES)


def pip_install(site: Path | str, *projects: Path | str) -> Path:
    """pip-install ``projects`` (without dependencies) into the directory ``site``.

    Put ``site`` on ``PYTHONPATH`` of a separate Python and its entry points are
    found as a real installation's are (``pip install --target``: bytecode
    compiled, ``*.dist-info`` written).
    """
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site)]
    subprocess.run([*cmd, *map(str, projects)], check=True, capture_output=True)
    return Path(site)


class FakeRoot:
    """A root prefix in a temporary directory, with an isolated home."""

    def __init__(self, base: Path | str) -> None:
        self.base = Path(base)
        self.path = self.base / "root"
        self.home = self.base / "home"
        for d in (self.path, self.home):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o755)

    def dir(self, tier: str) -> Path:
        """The policy directory of ``tier`` (vendor, local, runtime, admin)."""
        return self.path / TIERS[tier]

    def _mkdirs(self, directory: Path) -> None:
        missing = []
        while not directory.exists():
            missing.append(directory)
            directory = directory.parent
        for d in reversed(missing):
            d.mkdir()
            os.chmod(d, 0o755)

    def write(self, tier: str, name: str, text: str | bytes, mode: int = 0o644) -> Path:
        """Write ``name`` (``policy.toml`` or ``policy.d/NN-x.toml``) in ``tier``."""
        path = self.dir(tier) / name
        self._mkdirs(path.parent)
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        os.chmod(path, mode)
        return path

    def mask(self, tier: str, name: str) -> Path:
        """Mask lower copies of ``name`` with a symlink to /dev/null."""
        path = self.dir(tier) / name
        self._mkdirs(path.parent)
        path.symlink_to("/dev/null")
        return path

    def os_release(self, id: str, version: str = "", like: str = "") -> None:
        """Write the root's ``etc/os-release`` (read by ``[when]``)."""
        lines = [f"ID={id}", f'VERSION_ID="{version}"' if version else ""]
        if like:
            lines.append(f'ID_LIKE="{like}"')
        self._mkdirs(self.path / "etc")
        (self.path / "etc/os-release").write_text("\n".join(line for line in lines if line) + "\n")

    def environ(self, **extra: str) -> dict[str, str]:
        """An environment with its own HOME and XDG directories, plus ``extra``."""
        env = {
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_STATE_HOME": str(self.home / ".local/state"),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        if "PYTHONPATH" in os.environ:  # where the package under test is (a package build)
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        env.update(extra)
        return env

    @property
    def user_store(self) -> Path:
        return self.home / ".config/telemetry-policy/user.toml"

    @property
    def state_file(self) -> Path:
        return self.home / ".local/state/telemetry-policy/state.toml"

    def resolve(
        self,
        app: str,
        *,
        environ: dict[str, str] | None = None,
        now: datetime | None = None,
        **kwargs: Any,
    ) -> Decision:
        """``telemetry_policy.resolve`` against this root and home."""
        from .snapshot import resolve

        return resolve(
            app, root=str(self.path), environ=environ or self.environ(), now=now, **kwargs
        )
