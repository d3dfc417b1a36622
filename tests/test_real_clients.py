"""The exported policies, read back from the real clients Debian ships.

Chromium: ``export --format chromium --output /etc/chromium/policies``, then
chrome://policy as Chromium itself renders it (over the DevTools protocol on
a pipe). Firefox ESR: ``export --format firefox --output
/etc/firefox/policies/policies.json``, then Firefox's own policy engine and
preference service asked over Marionette. Both write into /etc, so they run
as root only, and restore what was there. CI installs both browsers.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import PACKAGE_BUILD

CHROMIUM = shutil.which("chromium")
FIREFOX = shutil.which("firefox-esr")
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


# --- Chromium, over --remote-debugging-pipe (NUL-separated JSON on fds 3 and 4).


def chromium_policy_page() -> tuple[str, str]:
    """(browser version, the text of chrome://policy, shadow roots included)."""
    to_chrome_r, to_chrome_w = os.pipe()
    from_chrome_r, from_chrome_w = os.pipe()

    def fds() -> None:
        os.dup2(to_chrome_r, 3)
        os.dup2(from_chrome_w, 4)

    profile = tempfile.mkdtemp()
    browser = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
        pass_fds=(3, 4), preexec_fn=fds,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(to_chrome_r)
    os.close(from_chrome_w)
    buffer = b""
    ids = iter(range(1, 100))

    def call(method: str, params: dict | None = None, session: str | None = None) -> dict:
        nonlocal buffer
        n = next(ids)
        message = {"id": n, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(to_chrome_w, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == n:
                    return reply.get("result", {})
            chunk = os.read(from_chrome_r, 1 << 16)
            assert chunk, "Chromium closed the pipe"
            buffer += chunk

    try:
        version = call("Browser.getVersion")["product"]
        target = call("Target.createTarget", {"url": "chrome://policy"})["targetId"]
        session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        text_of = (
            "(function t(n){let s='';if(n.shadowRoot)s+=t(n.shadowRoot);"
            "for(const c of n.childNodes)s+=c.nodeType===3?c.textContent+' ':t(c);return s;})"
            "(document.body).replace(/\\s+/g,' ')"
        )
        text = ""
        for _ in range(50):  # the page fills its table asynchronously
            time.sleep(0.2)
            result = call(
                "Runtime.evaluate", {"expression": text_of, "returnByValue": True}, session
            )
            text = result.get("result", {}).get("value", "")
            if "MetricsReportingEnabled" in text:
                break
        call("Browser.close")
    finally:
        browser.wait(timeout=60)
        shutil.rmtree(profile, ignore_errors=True)
    return version, text


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
        saved(policies / level / "telemetry-policy.json")
    root.write("admin", "policy.d/50-test.toml", f'[policy]\npreset = "{preset}"\n')
    export(root, "chromium", policies)
    version, text = chromium_policy_page()
    assert shown in text, text[:2000]
    print(f"\n{version}, {preset}: chrome://policy shows {shown!r}")


# --- Firefox, over Marionette (length-prefixed JSON on a TCP port it picks).


def firefox_ask(script: str) -> tuple[str, dict]:
    """(browser version, what ``script`` returns in Firefox's chrome context)."""
    profile = tempfile.mkdtemp()
    Path(profile, "user.js").write_text('user_pref("marionette.port", 0);\n')
    browser = subprocess.Popen(
        [FIREFOX, "--headless", "--marionette", "--remote-allow-system-access", "--no-remote",
         "--profile", profile, "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "MOZ_CRASHREPORTER_DISABLE": "1"},
    )  # fmt: skip
    try:
        port_file = Path(profile, "MarionetteActivePort")
        for _ in range(600):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.1)
        conn = socket.create_connection(("127.0.0.1", int(port_file.read_text())), timeout=60)
        buffer = b""

        def receive() -> list:
            nonlocal buffer
            while b":" not in buffer:
                buffer += conn.recv(1 << 16)
            size, rest = buffer.split(b":", 1)
            while len(rest) < int(size):
                rest += conn.recv(1 << 16)
            buffer = rest[int(size) :]
            return json.loads(rest[: int(size)])

        ids = iter(range(1, 100))

        def command(name: str, params: dict) -> dict:
            data = json.dumps([0, next(ids), name, params]).encode()
            conn.sendall(str(len(data)).encode() + b":" + data)
            _, _, error, result = receive()
            assert error is None, error
            return result

        receive()  # the server's greeting
        version = command("WebDriver:NewSession", {})["capabilities"]["browserVersion"]
        command("Marionette:SetContext", {"value": "chrome"})
        value = command("WebDriver:ExecuteScript", {"script": script, "args": []})["value"]
        command("Marionette:Quit", {})
    finally:
        browser.wait(timeout=60)
        shutil.rmtree(profile, ignore_errors=True)
    return version, value


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
