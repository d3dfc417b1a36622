from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from telemetry_policy.testing import FakeRoot, pip_install

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def root(tmp_path):
    """The testing kit's fake root (``telemetry_policy_root``), with this
    process's environment isolated for the test."""
    root = FakeRoot(tmp_path)
    with root.isolated():
        yield root


# Property tests: TELEMETRY_POLICY_EXAMPLES sets how many examples each runs.

settings.register_profile(
    "default",
    max_examples=int(os.environ.get("TELEMETRY_POLICY_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("default")


# Installed plugins, for real: a site directory with *.dist-info entry points,
# put on PYTHONPATH of a separate process (as a client would run).

REPO = Path(__file__).resolve().parent.parent
# Set by debian/rules and the spec: no network, and nothing written outside the build.
PACKAGE_BUILD = bool(os.environ.get("TELEMETRY_POLICY_PACKAGE_BUILD"))


def _another_user_can_run() -> bool:
    """Can this interpreter import the package as another user (uid 65534)? Not in a
    package build (its tree is its owner's alone), nor with an interpreter whose
    library lives in root's home (pyenv's under /root): those tests are skipped."""
    if os.geteuid() != 0 or PACKAGE_BUILD:
        return False
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    try:
        p = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             sys.executable, "-c", "import telemetry_policy"],
            env=env, cwd="/", capture_output=True, timeout=60,
        )  # fmt: skip
    except OSError:  # no setpriv
        return False
    return p.returncode == 0


ANOTHER_USER_CAN_RUN = _another_user_can_run()


@pytest.fixture
def open_tmp():
    """A directory every user may traverse (pytest's own are root's alone)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="tp-open-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


AS_ANOTHER_USER = pytest.mark.skipif(
    not ANOTHER_USER_CAN_RUN,
    reason="runs the package as another user: needs root and an interpreter and package "
    "that user can read (not a package build, nor an interpreter under /root)",
)


def install_plugin(site: Path, name: str, code: str, dist: str = "", version: str = "1.0") -> Path:
    """Install module ``tp_<name>`` as entry point ``name`` of distribution ``dist``."""
    dist = dist or f"tp-{name}"
    module = "tp_" + name.replace("-", "_")
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(code)
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[telemetry_policy]\n{name} = {module}\n")
    return info


def run_cli(root, *argv: str, **env: str) -> tuple[int, str, list[str]]:
    """``telemetry-policy --root ROOT ARGV`` in this process, with ``root``'s
    environment plus ``env``: (exit status, stdout, stderr lines)."""
    import contextlib
    import io

    from telemetry_policy.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(root.environ(**env))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--root", str(root.path), *argv])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return code, out.getvalue(), err.getvalue().splitlines()


def client_environ(root, site: Path | None, **env: str) -> dict[str, str]:
    """``root``'s environment with ``site`` first on PYTHONPATH."""
    environ = root.environ(**env)
    if site is not None:
        environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(site), environ.get("PYTHONPATH")])
        )
    return environ


def run_client(root, site: Path | None, code: str, **env: str) -> dict:
    """Run ``code`` (which prints JSON) in a fresh Python with ``site`` installed."""
    environ = client_environ(root, site, **env)
    p = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environ,
        cwd=str(root.base),
        timeout=120,
    )
    assert p.returncode in (0, 1), p.stderr
    assert "Traceback" not in p.stderr, p.stderr
    return json.loads(p.stdout)


def audit(root, site: Path | None, app: str = "demo", **env: str) -> dict:
    """``telemetry-policy --root ROOT audit APP --json`` with ``site`` installed."""
    code = (
        "import sys; from telemetry_policy.cli import main; "
        f"sys.exit(main(['--root', {str(root.path)!r}, 'audit', {app!r}, '--json']))"
    )
    return run_client(root, site, code, **env)


@pytest.fixture(scope="session")
def shipped_plugins(tmp_path_factory) -> Path:
    """plugins/telemetry-policy-go and -example, pip-installed into a site directory.

    pip builds them in an isolated environment from PyPI; package builds, which
    must not use the network, set TELEMETRY_POLICY_PACKAGE_BUILD=1 to skip these tests.
    """
    if PACKAGE_BUILD:
        pytest.skip("package build: installing the shipped plugins needs PyPI")
    site = tmp_path_factory.mktemp("shipped") / "site"
    pip_install(
        site, REPO / "plugins/telemetry-policy-go", REPO / "plugins/telemetry-policy-example"
    )
    return site
