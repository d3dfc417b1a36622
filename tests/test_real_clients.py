"""The exported policies, read back from the real clients Debian ships.

Chromium: ``export --format chromium --output /etc/chromium/policies``, then
chrome://policy as Chromium itself renders it (over the DevTools protocol on
a pipe). Firefox ESR: ``export --format firefox --output
/etc/firefox/policies/policies.json``, then Firefox's own policy engine and
preference service asked over Marionette. Both write into /etc, so they run
as root only, and restore what was there. CI installs both browsers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from browsers import CHROMIUM, FIREFOX, chromium_policy_page, firefox_ask
from conftest import PACKAGE_BUILD

ROOT_ONLY = pytest.mark.skipif(
    os.geteuid() != 0 or PACKAGE_BUILD,
    reason="writes the browsers' policies in /etc: root only, never in a package build",
)


def export(root, fmt: str, output: Path) -> None:
    cmd = [sys.executable, "-m", "telemetry_policy.cli", "--root", str(root.path)]
    subprocess.run([*cmd, "export", "--format", fmt, "--output", str(output)], check=True)


@pytest.fixture
def saved():
    """Put back every path given to it, as it was."""
    kept: list[tuple[Path, bytes | None]] = []

    def save(path: Path) -> Path:
        kept.append((path, path.read_bytes() if path.exists() else None))
        return path

    yield save
    for path, data in reversed(kept):
        if data is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(data)


@ROOT_ONLY
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt install chromium)")
@pytest.mark.parametrize(
    ("preset", "shown"),
    [
        ("forced-off", "MetricsReportingEnabled false Platform Machine Mandatory OK"),
        ("opt-in", "MetricsReportingEnabled false Platform Machine Recommended OK"),
        ("opt-out", "MetricsReportingEnabled Not set."),
    ],
)
def test_chromium_shows_the_exported_policy(root, saved, preset, shown):
    policies = Path("/etc/chromium/policies")
    for level in ("managed", "recommended"):
        saved(policies / level / "zz-telemetry-policy.json")
    root.write("admin", "policy.d/50-test.toml", f'[policy]\npreset = "{preset}"\n')
    export(root, "chromium", policies)
    version, text = chromium_policy_page()
    assert shown in text, text[:2000]
    print(f"\n{version}, {preset}: chrome://policy shows {shown!r}")


ASK = """return {
  status: Services.policies.status,
  active: Services.policies.getActivePolicies(),
  upload: Services.prefs.getBoolPref('datareporting.healthreport.uploadEnabled'),
  locked: Services.prefs.prefIsLocked('datareporting.healthreport.uploadEnabled'),
};"""
UPLOAD = "datareporting.healthreport.uploadEnabled"


@ROOT_ONLY
@pytest.mark.skipif(
    FIREFOX is None, reason="firefox-esr is not installed (apt install firefox-esr)"
)
@pytest.mark.parametrize("preset", ["local-only", "opt-in", "opt-out"])
def test_firefox_applies_the_exported_policy(root, saved, preset):
    target = saved(Path("/etc/firefox/policies/policies.json"))
    target.unlink(missing_ok=True)
    root.write("admin", "policy.d/50-test.toml", f'[policy]\npreset = "{preset}"\n')
    export(root, "firefox", target)
    version, seen = firefox_ask(ASK)
    if preset == "local-only":  # enforced: the user cannot turn it back on
        assert seen["active"] == {"DisableTelemetry": True}
        assert (seen["upload"], seen["locked"]) == (False, True)
    elif preset == "opt-in":  # a default the user may change
        assert seen["active"]["Preferences"][UPLOAD] == {"Value": False, "Status": "default"}
        assert (seen["upload"], seen["locked"]) == (False, False)
    else:  # opt-out: nothing written, so no policy at all
        assert not target.exists() and seen["active"] is None and seen["locked"] is False
    print(f"\nFirefox {version}, {preset}: policies {seen}")
