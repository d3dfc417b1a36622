"""Ask real browsers what policy they see: Chromium's chrome://policy over the
DevTools protocol on a pipe, Firefox's policy engine over Marionette.

Only the standard library: the Debian package test copies this file into a
clean bookworm root and runs it there (``python3 browsers.py chromium``).
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

CHROMIUM = shutil.which("chromium")
FIREFOX = shutil.which("firefox-esr")


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
        [CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
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


# --- Firefox, over Marionette (length-prefixed JSON on a TCP port it picks).


def firefox_ask(script: str) -> tuple[str, dict]:
    """(browser version, what ``script`` returns in Firefox's chrome context)."""
    profile = tempfile.mkdtemp()
    Path(profile, "user.js").write_text('user_pref("marionette.port", 0);\n')
    browser = subprocess.Popen(
        [FIREFOX or "firefox-esr", "--headless", "--marionette",
         "--remote-allow-system-access", "--no-remote", "--profile", profile, "about:blank"],
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


if __name__ == "__main__":
    # python3 browsers.py chromium: print the browser and chrome://policy's text
    version, text = chromium_policy_page()
    print(version)
    print(text)
    sys.exit(0 if text else 1)
