"""External plugins, installed for real and found through their entry points."""

import os
import shutil

import pytest

from conftest import audit, client_environ, install_plugin, run_client

AS_ROOT = pytest.mark.skipif(os.getuid() != 0, reason="trusted code must be root-owned")

RAISE = """
from telemetry_policy import hookimpl

@hookimpl
def telemetry_policy_layers(context):
    return [("60-raise", {"policy": {"ceiling": "on", "default": "on"}})]
"""
LOWER = """
from telemetry_policy import hookimpl

@hookimpl
def telemetry_policy_layers(context):
    return [("60-lower", {"policy": {"ceiling": "local"}})]
"""
MARKER = (
    """
import os
open(os.environ["MARKER"], "w").close()  # proves the module was imported
"""
    + LOWER
)
FORCED_OFF = '[policy]\npreset = "forced-off"\n'
OPT_IN = '[policy]\npreset = "opt-in"\n'


def plugin(data, name):
    return next(p for p in data["plugins"] if p["name"] == name)


def layer(data, name):
    return next(x for x in data["layers"] if x["name"] == name)


def test_installed_plugin_is_listed_and_its_layer_applies(root, tmp_path):
    site = tmp_path / "site"
    install_plugin(site, "lower", LOWER, dist="tp-lower", version="2.5")
    data = audit(root, site)
    info = plugin(data, "lower")
    assert (info["kind"], info["status"], info["trusted"]) == ("external", "loaded", False)
    assert (info["distribution"], info["version"]) == ("tp-lower", "2.5")
    assert info["hooks"] == ["telemetry_policy_layers"]
    assert data["ceiling"] == "local"
    assert layer(data, "60-lower")["status"] == "applied"
    assert layer(data, "60-lower")["plugin"] == "lower"


def test_untrusted_plugin_cannot_undo_forced_off(root, tmp_path):
    root.write("vendor", "policy.d/10-distro.toml", FORCED_OFF)
    site = tmp_path / "site"
    install_plugin(site, "raise", RAISE)
    data = audit(root, site, TELEMETRY_POLICY_MODE="on")
    assert (data["mode"], data["ceiling"]) == ("off", "off")
    raised = layer(data, "60-raise")
    assert raised["status"] == "restricted"
    assert raised["reason"] == (
        "untrusted plugin may only tighten; dropped: default = on, ceiling = on"
    )


def _forced_off_trusting_raise(root, tmp_path):
    """A forced-off distro whose admin trusts plugin "raise", and that plugin installed."""
    root.write("vendor", "policy.d/10-distro.toml", FORCED_OFF)
    root.write("admin", "policy.d/90-trust.toml", '[plugins]\ntrusted = ["raise"]\n')
    site = tmp_path / "site"
    install_plugin(site, "raise", RAISE)
    return site


@AS_ROOT
def test_trusted_plugin_may_raise(root, tmp_path):
    site = _forced_off_trusting_raise(root, tmp_path)
    data = audit(root, site)
    assert (data["mode"], data["ceiling"]) == ("on", "on")
    assert plugin(data, "raise")["trusted"] is True


@AS_ROOT
def test_trust_by_name_needs_root_owned_code(root, tmp_path):
    # A user can install a package whose entry point is named like a trusted
    # plugin; code in a place that user owns is never trusted.
    site = _forced_off_trusting_raise(root, tmp_path)
    os.chown(site / "tp_raise.py", 12345, 12345)
    data = audit(root, site)
    assert data["mode"] == "off"
    info = plugin(data, "raise")
    assert info["trusted"] is False and "not root" in info["note"]
    assert "its code is not a system file" in layer(data, "60-raise")["reason"]


def test_disabled_plugin_is_never_imported(root, tmp_path):
    root.write("admin", "policy.d/50-site.toml", '[plugins]\ndisabled = ["marker"]\n')
    site = tmp_path / "site"
    install_plugin(site, "marker", MARKER)
    marker = tmp_path / "imported"
    data = audit(root, site, MARKER=str(marker))
    assert not marker.exists()
    assert plugin(data, "marker")["status"] == "disabled"
    assert data["ceiling"] == "on" and data["errors"] == []


def test_a_skipped_file_does_not_disable(root, tmp_path):
    root.write(
        "admin",
        "policy.d/50-site.toml",
        '[plugins]\ndisabled = ["marker"]\n[when]\ndistro = ["fedora"]\n',
    )
    root.os_release("debian", "12")
    site = tmp_path / "site"
    install_plugin(site, "marker", MARKER)
    marker = tmp_path / "imported"
    data = audit(root, site, MARKER=str(marker))
    assert marker.exists() and plugin(data, "marker")["status"] == "loaded"


def test_env_blocked_plugin_is_not_imported_and_fails_closed(root, tmp_path):
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-out"\n')
    site = tmp_path / "site"
    install_plugin(site, "marker", MARKER)
    marker = tmp_path / "imported"
    data = audit(root, site, MARKER=str(marker), TELEMETRY_POLICY_DISABLE_PLUGINS="x, marker")
    assert not marker.exists()
    assert plugin(data, "marker")["status"] == "blocked"
    assert data["mode"] == "off"
    assert data["errors"] == [
        "plugin 'marker': blocked by TELEMETRY_POLICY_DISABLE_PLUGINS; "
        "what it would decide is unknown, so telemetry is off"
    ]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (
            "raise RuntimeError('broken install')",
            "plugin 'bad': cannot load tp_bad: RuntimeError: broken install",
        ),
        (
            "from telemetry_policy import hookimpl\n@hookimpl\n"
            "def telemetry_policy_layers(context):\n    raise KeyError('x')\n",
            "plugin 'bad' (telemetry_policy_layers): raised KeyError: 'x'",
        ),
        (
            "from telemetry_policy import hookimpl\n@hookimpl\n"
            "def telemetry_policy_layers(context):\n    return {'policy': {}}\n",
            "plugin 'bad' (telemetry_policy_layers): returned dict, not a list of layers",
        ),
        (
            "from telemetry_policy import hookimpl\n@hookimpl\n"
            "def telemetry_policy_user_choice(app, context):\n    return 'on'\n",
            "plugin 'bad' (telemetry_policy_user_choice): returned 'on', not a Choice",
        ),
    ],
)
def test_faulty_plugins_are_named_and_fail_closed(root, tmp_path, code, message):
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-out"\n')
    site = tmp_path / "site"
    install_plugin(site, "bad", code)
    data = audit(root, site)
    assert data["mode"] == "off" and data["ceiling"] == "off"
    assert data["errors"] == [message]
    p = root.path  # the CLI says it in one line, without a traceback
    import subprocess
    import sys

    env = client_environ(root, site)
    out = subprocess.run(
        [sys.executable, "-m", "telemetry_policy.cli", "--root", str(p), "resolve", "demo"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert (out.returncode, out.stdout) == (0, "off\n")
    assert out.stderr == f"telemetry-policy: {message}\n"


CLIENT = """
import json
import telemetry_policy as t
print(json.dumps(str(t.resolve("demo").ceiling)))  # the test's root (TELEMETRY_POLICY_ROOT)
"""


def test_entry_points_are_cached_until_a_plugin_is_installed_or_removed(root, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    cache = root.home / ".cache/telemetry-policy"
    # pip compiles bytecode when it installs; a first import writing site/__pycache__
    # would itself (rightly) change the site directory and so the cache key.
    env = {"PYTHONDONTWRITEBYTECODE": "1"}

    def start() -> tuple[str, bool]:
        """(ceiling, whether entry points were scanned: a scan rewrites the cache)."""
        before = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in cache.glob("plugins-*")]
        ceiling = run_client(root, site, CLIENT, **env)
        after = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in cache.glob("plugins-*")]
        assert len(after) == 1
        return ceiling, before != after

    assert start() == ("on", True)
    assert start() == ("on", False)
    info = install_plugin(site, "lower", LOWER)
    assert start() == ("local", True)
    assert start() == ("local", False)
    shutil.rmtree(info)
    (site / "tp_lower.py").unlink()
    assert start() == ("on", True)


def test_the_command_line_never_writes_the_cache_the_library_does_whatever_the_root(root, tmp_path):
    site = tmp_path / "site"
    install_plugin(site, "lower", LOWER)
    audit(root, site)
    assert not (root.home / ".cache").exists()
    # the cache is the user's, kept in their home, never under the root prefix
    run_client(root, site, CLIENT)
    assert list((root.home / ".cache/telemetry-policy").glob("plugins-*"))
    assert not list(root.path.rglob("plugins-*"))


def test_a_plugin_in_the_working_directory_is_never_loaded(root, tmp_path):
    install_plugin(root.base, "lower", LOWER)  # root.base is the client's cwd
    code = "import sys; sys.path.insert(0, '')\n" + CLIENT
    assert run_client(root, None, code) == "on"


def test_the_shipped_example_plugin(root, shipped_plugins):
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-out"\n')
    assert audit(root, shipped_plugins)["mode"] == "on"
    data = audit(root, shipped_plugins, CI="true")
    assert (data["mode"], data["ceiling"]) == ("local", "local")
    assert layer(data, "80-ci-runner")["plugin"] == "ci-local"
    info = plugin(data, "ci-local")
    assert (info["distribution"], info["version"]) == ("telemetry-policy-example", "0.1.0")


def test_an_entry_point_named_like_a_built_in_is_an_error(root, tmp_path):
    site = tmp_path / "site"
    install_plugin(site, "env", LOWER)
    data = audit(root, site, app="demo")
    assert data["mode"] == "off"
    assert data["errors"] == [
        "plugin 'env': the name 'env' is taken by a built-in source; rename the entry point"
    ]
