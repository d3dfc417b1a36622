"""The testing kit: a fake root and an isolated user, for tool and plugin authors.

With pytest, the ``telemetry_policy_root`` fixture (this package's ``pytest11``
plugin, ``telemetry_policy.pytest_plugin``) gives a FakeRoot whose environment
is the process's own: your tool's plain ``resolve("mytool")`` asks the fake
root, as the fake user, at the fake time::

    def test_no_telemetry_when_the_system_forbids_it(telemetry_policy_root):
        telemetry_policy_root.write("vendor", "policy.toml", '[policy]\\npreset = "forced-off"\\n')
        assert mytool.main(["count"]) == 0
        assert not mytool.sent()

    def test_uploads_wait_a_week(telemetry_policy_root):
        telemetry_policy_root.set("mytool", "on")
        assert not resolve("mytool").may_upload
        telemetry_policy_root.advance(days=7)
        assert resolve("mytool").may_upload

Without pytest, ``FakeRoot(tmp_dir)`` works the same, passing ``environ``
(``root.environ()``) and ``root`` where needed, or ``with root.isolated():``.

Files are written with explicit modes (0644, directories 0755) so that the
trust check passes whatever the umask of the machine running the tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from .model import Decision, Mode
from .precedence import DIRECTORIES

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
        """An environment with its own HOME and XDG directories, this root as
        ``TELEMETRY_POLICY_ROOT`` and the kit's clock (``advance``), plus
        ``extra``: a subprocess (``telemetry-policy resolve --json``) sees what
        the library sees."""
        from . import clock

        env = {
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_STATE_HOME": str(self.home / ".local/state"),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "TELEMETRY_POLICY_ROOT": str(self.path),
        }
        if clock.shift:
            env[clock.ENV_SHIFT] = repr(clock.shift)
        if "PYTHONPATH" in os.environ:  # where the package under test is (a package build)
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        env.update(extra)
        return env

    #: The variables ``isolated()`` takes from the real environment.
    ISOLATED = (
        "HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME",
        "XDG_RUNTIME_DIR", "DO_NOT_TRACK", "CI",
    )  # fmt: skip

    @contextmanager
    def isolated(self) -> Iterator[FakeRoot]:
        """``os.environ`` as this root's user sees it, for the ``with`` block:
        its own HOME and XDG directories, ``TELEMETRY_POLICY_ROOT`` set to this
        root, and no ``TELEMETRY_POLICY_*``, ``DO_NOT_TRACK`` or ``CI`` of yours
        (your own ``DO_NOT_TRACK=1`` would otherwise turn your tool's tests
        local). The clock is put back too."""
        from . import clock

        saved, shift = dict(os.environ), clock.shift
        for name in list(os.environ):
            if name in self.ISOLATED or name.startswith("TELEMETRY_POLICY_"):
                del os.environ[name]
        os.environ.update(self.environ())
        try:
            yield self
        finally:
            os.environ.clear()
            os.environ.update(saved)
            clock.shift = shift

    def set(self, app: str | None, mode: Mode | str | None) -> Decision:
        """Record this user's choice for ``app`` (None: every app) as
        ``telemetry-policy set`` and ``set_mode`` do: refused (RefusedError)
        above the ceiling. ``mode=None`` forgets it."""
        from .inputs import set_mode

        return set_mode(app, mode, root=str(self.path), environ=self.environ())

    def advance(self, *, days: float = 0, hours: float = 0, seconds: float = 0) -> None:
        """Move the library's clock forward (upload delays end; ``resolve()``,
        ``set`` and the state file see the new time)."""
        from . import clock

        clock.shift += days * 86400 + hours * 3600 + seconds

    def compile(self) -> Path:
        """Compile this root's snapshot, as ``apply`` does (clients answer from it)."""
        from .snapshot import PATH
        from .snapshot_build import build

        path = self.path / PATH.lstrip("/")
        self._mkdirs(path.parent)
        path.write_bytes(build(str(self.path)))
        os.chmod(path, 0o644)
        return path

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
        """``telemetry_policy.resolve`` against this root and home (the first-on
        date is recorded in this home's state, so upload delays end)."""
        from . import resolve

        return resolve(
            app, root=str(self.path), environ=environ or self.environ(), now=now, **kwargs
        )
