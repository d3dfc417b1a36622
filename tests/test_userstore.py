"""The user store and the upload-delay state: atomic, locked, never clobbered."""

import multiprocessing
import sys
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import NOW
from telemetry_policy.errors import UserStoreError
from telemetry_policy.modes import Mode
from telemetry_policy.userstore import (
    load_first_on,
    load_store,
    record_first_on,
    state_path,
    store_path,
    write_choice,
)


def test_paths_follow_xdg_with_home_fallback():
    env = {"HOME": "/home/u", "XDG_CONFIG_HOME": "/cfg"}
    assert store_path(env) == "/cfg/telemetry-policy/user.toml"
    assert state_path(env) == "/home/u/.local/state/telemetry-policy/state.toml"
    # XDG says relative values are ignored
    assert store_path({"HOME": "/home/u", "XDG_CONFIG_HOME": "rel"}) == (
        "/home/u/.config/telemetry-policy/user.toml"
    )


def test_round_trip_with_dates(tmp_path):
    path = str(tmp_path / "user.toml")
    write_choice(path, "go", Mode.ON, NOW)
    write_choice(path, "my.tool", Mode.LOCAL, NOW)
    write_choice(path, None, Mode.OFF, NOW)
    store = load_store(path)
    assert store.choice("go").mode is Mode.ON and store.choice("go").since == NOW
    assert store.choice("my.tool").mode is Mode.LOCAL
    assert store.choice(None).mode is Mode.OFF
    assert store.choice("other") is None
    write_choice(path, "go", None, NOW)
    assert load_store(path).choice("go") is None
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_a_hand_written_date_counts_from_midnight_utc(tmp_path):
    path = tmp_path / "user.toml"
    path.write_text('[app.go]\nmode = "on"\nsince = 2026-11-01\n')
    since = load_store(str(path)).choice("go").since
    assert since.date() == date(2026, 11, 1) and since.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        '[all]\nmode = "yes"\n',
        '[all]\nmode = "on"\ncolour = 1\n',
        "extra = 1\n",
        '[app.Go]\nmode = "on"\n',
        '[all]\nmode = "on"\nsince = "yesterday"\n',
        "schema = 2\n",
        "[all\n",
        b"\xff\xfe".decode("latin-1"),
    ],
)
def test_anything_unexpected_makes_the_store_unusable(tmp_path, text):
    path = tmp_path / "user.toml"
    path.write_text(text, encoding="latin-1")
    with pytest.raises(UserStoreError):
        load_store(str(path))
    with pytest.raises(UserStoreError):
        write_choice(str(path), "go", Mode.OFF, NOW)
    assert path.read_text(encoding="latin-1") == text  # what the user wrote is kept


def test_state_records_and_clears_first_on(tmp_path):
    path = str(tmp_path / "state" / "state.toml")
    assert load_first_on(path, "go") is None
    record_first_on(path, "go", NOW)
    record_first_on(path, "other", NOW - timedelta(days=3))
    assert load_first_on(path, "go") == NOW
    record_first_on(path, "go", None)
    assert load_first_on(path, "go") is None
    assert load_first_on(path, "other") == NOW - timedelta(days=3)


def _writer(path, worker, rounds):
    for i in range(rounds):
        write_choice(path, f"app{worker}-{i}", Mode.LOCAL, NOW)
        write_choice(path, "shared", (Mode.OFF, Mode.LOCAL, Mode.ON)[i % 3], NOW)


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_concurrent_writers_lose_no_update(tmp_path):
    path = str(tmp_path / "user.toml")
    workers, rounds = 4, 15
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, w, rounds)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = load_store(path)
    assert {f"app{w}-{i}" for w in range(workers) for i in range(rounds)} <= set(store.apps)
    assert store.choice("shared").mode in (Mode.OFF, Mode.LOCAL, Mode.ON)


# --- The files this library writes are read back without tomllib (``written``):
# whatever it accepts, it reads exactly as tomllib does.

_LINES = st.sampled_from(
    [
        "# telemetry-policy user store: written by `telemetry-policy set`; edit with care.",
        "schema = 1", "schema = 2", "", " ", "[all]", "[app.go]", '[app."my.tool"]',
        "[app.my.tool]",
        "[app.Go]", '[app.""]', "[app]", 'mode = "on"', 'mode = "off"', 'mode = "local"',
        'mode = "yes"', "mode = on", 'mode="on"', "since = 2026-11-23T12:00:00+00:00",
        "since = 2026-11-23T12:00:00.123456+00:00", "since = 2026-11-23T12:00:00-05:30",
        "since = 2026-13-23T12:00:00+00:00", "since = 2026-11-23", "since = 2026-11-23T12:00:00Z",
        "on_since = 2026-11-23T12:00:00+00:00", "on_since = 9999-12-31T23:59:59+00:00",
        "# a comment", "#\ttab", "x = 1", "[all", "\ufeff[all]", "mode = \"on\" # c",
    ]
)  # fmt: skip


@given(st.lists(_LINES, max_size=10), st.sampled_from(["user store", "state"]), st.booleans())
def test_what_written_reads_it_reads_as_tomllib_does(lines, what, newline):
    import sys

    from telemetry_policy import written

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    text = "\n".join(lines) + ("\n" if newline else "")
    found = written.parse(text, what)
    if found is not None:
        assert found == tomllib.loads(text)


def test_the_files_set_and_resolve_write_are_read_without_tomllib(root):
    from telemetry_policy import set_mode, written

    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-out"\n')
    root.resolve("other", now=NOW)  # records the date it became on
    root.resolve("my.tool", now=NOW)
    assert written.parse(root.state_file.read_text(), "state") is not None
    set_mode("demo", "off", root=str(root.path), environ=root.environ(), now=NOW)
    set_mode("my.tool", "on", root=str(root.path), environ=root.environ(), now=NOW)
    set_mode(None, "local", root=str(root.path), environ=root.environ(), now=NOW)
    assert written.parse(root.user_store.read_text(), "user store") is not None
