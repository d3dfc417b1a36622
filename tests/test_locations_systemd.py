"""Discovery against systemd's own conf-files code: random trees, the same files
applied, in the same order, with the same masks.

The reference is systemd 252's ``conf_files_list_strv()`` (src/basic/conf-files.c,
``files_add``: names in earlier directories win, a node that ``null_or_empty()``
is a mask, the rest sorted by name with ``strcmp``), called through ctypes from
Debian 12's libsystemd-shared-252, with ``CONF_FILES_REGULAR |
CONF_FILES_FILTER_MASKED`` (src/basic/conf-files.h in v252: 1 << 1 and 1 << 4),
the four ``policy.d`` directories highest first and the root prefix.

Documented exceptions (docs/format.md, "Where policy lives"): an entry systemd
cannot stat or that is not a regular file (a dangling link, a directory named
``*.toml``) is skipped by systemd and fails closed here; such trees are counted
apart, and there we check that we said "invalid" for exactly those names. Links
are absolute (systemd 252 follows them on the host, we inside the root: the two
agree for targets that exist in both, which the generator ensures) or relative
within the directory. Names include UTF-8 and bytes that are not UTF-8 (systemd
sorts them with strcmp: by bytes).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from telemetry_policy.locations import discover
from telemetry_policy.precedence import DIRECTORIES

LIB = "/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so"
TREES = int(os.environ.get("TELEMETRY_POLICY_EXAMPLES", "300"))
DIRS = [f"/{d}/policy.d" for _, d in reversed(DIRECTORIES)]  # highest first, as systemd takes

# Runs in its own process: a crash in the C library never takes the test run with it.
REFERENCE = r"""
import ctypes, json, sys
lib = ctypes.CDLL(sys.argv[1])
f = lib.conf_files_list_strv
f.argtypes = [ctypes.POINTER(ctypes.POINTER(ctypes.c_char_p)), ctypes.c_char_p,
              ctypes.c_char_p, ctypes.c_uint, ctypes.POINTER(ctypes.c_char_p)]
f.restype = ctypes.c_int
dirs = json.loads(sys.argv[2])
out = {}
for root in json.loads(sys.stdin.read()):
    ret = ctypes.POINTER(ctypes.c_char_p)()
    arr = (ctypes.c_char_p * (len(dirs) + 1))(*[d.encode() for d in dirs], None)
    r = f(ctypes.byref(ret), b".toml", root.encode(), (1 << 1) | (1 << 4), arr)
    files = []
    i = 0
    while r >= 0 and ret[i]:
        files.append(ret[i].hex())
        i += 1
    out[root] = files if r >= 0 else None
print(json.dumps(out))
"""

NAMES = [b"10-a.toml", b"20-b.toml", b"30-c.toml", b"50-site.toml", b"9-x.toml",
         "é-x.toml".encode(), "中-y.toml".encode(), b"\x80-latin1.toml", b"\xff.toml",
         b"A.toml", b"a.toml", b"_u.toml", b"60-vendor.toml", b"x.conf"]  # fmt: skip
NULLS = [b"/dev/null", b"/dev/./null", b"//dev//null", b"/etc/../dev/null"]


def _tree(rng: random.Random, base: Path) -> tuple[str, set[bytes]]:
    """A random tree under ``base``; returns (root, the names that are unreadable)."""
    root = base / "root"
    odd: set[bytes] = set()
    for _, d in DIRECTORIES:
        if rng.random() < 0.2:
            continue
        directory = root / d / "policy.d"
        directory.mkdir(parents=True)
        for name in rng.sample(NAMES, rng.randint(0, 6)):
            path = os.path.join(os.fsencode(directory), name)
            kind = rng.random()
            if kind < 0.55:
                with open(path, "wb") as f:
                    f.write(b"[policy]\nupload_delay_days = 1\n")
            elif kind < 0.65:
                open(path, "wb").close()  # an empty file: a mask
            elif kind < 0.85:
                os.symlink(rng.choice(NULLS), path)  # a mask however spelled
            elif kind < 0.93:
                target = os.path.join(os.fsencode(directory), b"data.bin")
                with open(target, "wb") as f:
                    f.write(b"[policy]\nupload_delay_days = 2\n")
                os.symlink(b"data.bin", path)  # a link to a regular file beside it
            else:
                os.symlink(b"/nowhere/at/all.toml", path)  # dangling: an exception
                odd.add(name)
    for p in [root, *root.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)
    return str(root), odd


def _ours(root: str) -> tuple[list[bytes], list[bytes]]:
    """(the drop-ins applied, highest directory's path, in order; the names invalid)."""
    applied, invalid = [], []
    for c in discover(root):
        if c.main or c.status in ("ignored", "replaced"):
            continue
        if c.status == "applied":
            applied.append(os.fsencode(c.path))
        elif c.status == "invalid":
            invalid.append(os.fsencode(c.name))
    return applied, invalid


@pytest.mark.skipif(not os.path.exists(LIB), reason=f"no {LIB} (systemd 252, Debian 12)")
def test_discovery_agrees_with_systemds_conf_files_code(tmp_path):
    rng = random.Random(20261204)
    roots: dict[str, set[bytes]] = {}
    for i in range(TREES):
        base = Path(tempfile.mkdtemp(dir=tmp_path, prefix=f"t{i}-"))
        root, odd = _tree(rng, base)
        roots[root] = odd
    p = subprocess.run([sys.executable, "-c", REFERENCE, LIB, json.dumps(DIRS)],
                       input=json.dumps(list(roots)), capture_output=True, text=True,
                       timeout=600, check=True)  # fmt: skip
    theirs = json.loads(p.stdout)
    agree = exceptions = 0
    for root, odd in roots.items():
        systemd = [bytes.fromhex(h) for h in theirs[root]]
        applied, invalid = _ours(root)
        if invalid:  # systemd skips what it cannot stat (and takes a lower same-named file);
            # we fail closed on that name: only the dangling links we made, nothing else
            assert set(invalid) <= odd, (root, invalid, odd)
            systemd = [s for s in systemd if os.path.basename(s) not in set(invalid)]
            exceptions += 1
        assert applied == systemd, (root, applied, systemd)
        agree += 1
    print(f"systemd parity: {len(roots)} trees, {agree} agree on masks, order and files "
          f"({exceptions} with an entry systemd skips and we fail closed on)")  # fmt: skip
