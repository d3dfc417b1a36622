"""resolve() and set_mode() against fake roots: the behaviour a tool author sees."""

from datetime import timedelta

import pytest

from conftest import NOW, run_cli
from telemetry_policy import Mode, RefusedError, UsageError, resolve, set_mode

OFF, LOCAL, ON = Mode.OFF, Mode.LOCAL, Mode.ON


def test_no_policy_gives_the_app_default(root):
    assert root.resolve("demo").mode is OFF
    d = root.resolve("demo", app_default="local")
    assert d.mode is LOCAL and d.may_collect and not d.may_upload


def test_admin_overrides_vendor(root):
    root.write("vendor", "policy.d/10-debian.toml", '[policy]\npreset = "opt-out"\n')
    assert root.resolve("demo").mode is ON
    root.write("admin", "policy.d/50-site.toml", '[policy]\nceiling = "local"\n')
    d = root.resolve("demo")
    assert (d.default, d.ceiling, d.mode) == (LOCAL, LOCAL, LOCAL)
    assert str(d.origin_of("ceiling")).endswith("etc/telemetry-policy/policy.d/50-site.toml:2")


def test_per_app_section(root):
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-out"\n[app.go]\nceiling = "off"\n')
    assert root.resolve("go", app_default="on").mode is OFF
    assert root.resolve("gopher").mode is ON


def test_invalid_file_fails_closed_and_is_reported(root):
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-out"\n')
    root.write("admin", "policy.d/50-typo.toml", '[policy]\ncieling = "off"\n')
    d = root.resolve("demo", app_default="on", environ=root.environ(TELEMETRY_POLICY_MODE="on"))
    assert (d.mode, d.ceiling, d.locked) == (OFF, OFF, True)
    assert len(d.errors) == 1
    assert d.errors[0].endswith(
        "50-typo.toml:2: unknown key 'cieling' in [policy]; did you mean 'ceiling'?"
    )


def test_user_choice_order_env_then_app_then_all(root):
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-in"\n')
    env = root.environ()
    set_mode(None, "local", root=str(root.path), environ=env, now=NOW)
    assert root.resolve("demo").mode is LOCAL
    set_mode("demo", "on", root=str(root.path), environ=env, now=NOW)
    d = root.resolve("demo")
    assert d.mode is ON and d.choice.origin.kind == "user"
    assert root.resolve("other").mode is LOCAL
    d = root.resolve("demo", environ=root.environ(TELEMETRY_POLICY_MODE="off"))
    assert d.mode is OFF and str(d.choice.origin) == "env TELEMETRY_POLICY_MODE"


def test_nothing_from_the_user_side_exceeds_the_ceiling(root):
    root.write("vendor", "policy.toml", '[policy]\npreset = "local-only"\n')
    env = root.environ(TELEMETRY_POLICY_MODE="on")
    assert root.resolve("demo", app_default="on", environ=env).mode is LOCAL
    root.user_store.parent.mkdir(parents=True)
    root.user_store.write_text('[all]\nmode = "on"\n[app.demo]\nmode = "on"\n')
    assert root.resolve("demo", app_default="on").mode is LOCAL


def test_bad_env_mode_counts_as_off_and_is_reported(root):
    d = root.resolve("demo", app_default="on", environ=root.environ(TELEMETRY_POLICY_MODE="yes"))
    assert d.mode is OFF
    assert d.errors == ("TELEMETRY_POLICY_MODE='yes' is not off, local or on; read as off",)
    # an empty value is the same as unset
    assert (
        root.resolve("demo", app_default="on", environ=root.environ(TELEMETRY_POLICY_MODE="")).mode
        is ON
    )


def test_corrupt_user_store_counts_as_off(root):
    root.user_store.parent.mkdir(parents=True)
    root.user_store.write_text("[all\nmode = on")
    d = root.resolve("demo", app_default="on")
    assert d.mode is OFF
    assert "user.toml: not valid TOML" in d.errors[0]
    with pytest.raises(Exception, match="not valid TOML"):
        set_mode("demo", "on", root=str(root.path), environ=root.environ(), now=NOW)
    assert root.user_store.read_text() == "[all\nmode = on"  # never overwritten


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        ("1", LOCAL),
        ("yes", LOCAL),
        ("true", LOCAL),
        ("", ON),
        ("0", ON),
        ("false", ON),
        ("FALSE", LOCAL),
        (" 0", LOCAL),
    ],
)
def test_do_not_track_means_nothing_leaves_the_machine(root, value, mode):
    # DO_NOT_TRACK caps at local: no upload, but a local-only system that exports it
    # for other programs does not turn this library's own clients from local to off.
    d = root.resolve("demo", app_default="on", environ=root.environ(DO_NOT_TRACK=value))
    assert d.mode is mode and not d.may_upload
    if mode is LOCAL:
        assert d.trace[-1].origin.source == "DO_NOT_TRACK"


def test_do_not_track_never_raises_an_off(root):
    env = root.environ(DO_NOT_TRACK="1")
    assert root.resolve("demo", app_default="off", environ=env).mode is OFF


def test_set_is_checked_against_the_ceiling(root):
    path = root.write(
        "admin", "policy.toml", '[policy]\nceiling = "local"\n[app.go]\nceiling = "off"\n'
    )
    env = root.environ()
    with pytest.raises(
        RefusedError, match=rf"on is above the ceiling local for all apps, set by {path}:2"
    ):
        set_mode(None, "on", root=str(root.path), environ=env, now=NOW)
    with pytest.raises(
        RefusedError, match=rf"local is above the ceiling off for go, set by {path}:4"
    ):
        set_mode("go", "local", root=str(root.path), environ=env, now=NOW)
    assert not root.user_store.exists()
    set_mode("go", "off", root=str(root.path), environ=env, now=NOW)
    assert set_mode("demo", "local", root=str(root.path), environ=env, now=NOW).mode is LOCAL


def test_unset_forgets(root):
    env = root.environ()
    set_mode("demo", "local", root=str(root.path), environ=env, now=NOW)
    set_mode(None, "local", root=str(root.path), environ=env, now=NOW)
    set_mode("demo", None, root=str(root.path), environ=env, now=NOW)
    d = root.resolve("demo")
    assert d.choice.origin.kind == "user" and d.mode is LOCAL  # from [all]
    set_mode(None, None, root=str(root.path), environ=env, now=NOW)
    assert root.resolve("demo").choice is None


def test_when_reads_the_roots_own_os_release(root):
    root.write(
        "vendor",
        "policy.d/10-deb.toml",
        '[policy]\nceiling = "off"\n[when]\ndistro = ["debian"]\ndistro_version = ">=12"\n',
    )
    root.os_release("ubuntu", "24.04", like="debian")
    d = root.resolve("demo", app_default="on")
    assert d.mode is OFF and d.platform.id == "ubuntu"
    root.os_release("debian", "11")
    d = root.resolve("demo", app_default="on")
    assert d.mode is ON
    assert d.layers[0].status == "skipped"
    assert d.layers[0].reason == "[when] distro_version '>=12' does not match version 11"


def test_without_when_os_release_is_not_read(root):
    import subprocess
    import sys

    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-in"\n')
    code = (
        "import sys, telemetry_policy as t; t.resolve('demo', root=sys.argv[1]); "
        "print('shlex' in sys.modules, 'argparse' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(root.path)],
        capture_output=True,
        text=True,
        env=root.environ(),
        check=True,
    ).stdout
    assert out.split() == ["False", "False"]


def test_first_on_is_recorded_by_the_library_whatever_the_root(root):
    # DESIGN.md 5: the state is the user's, not the image's; a tool's tests
    # under a fake root see the delay end.
    env = root.environ()
    d = resolve("demo", app_default="on", environ=env, now=NOW, root=str(root.path))
    assert root.state_file.exists() and not d.may_upload
    assert not (root.path / "home").exists()  # nothing written under the root
    later = resolve("demo", app_default="on", environ=env, now=NOW + timedelta(days=7),
                    root=str(root.path))  # fmt: skip
    assert later.may_upload and later.on_since == NOW
    # leaving "on" clears it, so the delay starts again next time
    resolve("demo", app_default="local", environ=env, now=NOW + timedelta(days=8),
            root=str(root.path))  # fmt: skip
    again = resolve("demo", app_default="on", environ=env, now=NOW + timedelta(days=9),
                    root=str(root.path))  # fmt: skip
    assert not again.may_upload and again.on_since == NOW + timedelta(days=9)


def test_the_command_line_never_records(root):
    code, out, _ = run_cli(root, "resolve", "demo", "--app-default", "on")
    assert (code, out) == (0, "on\n")
    assert not root.state_file.exists()


def _empty_slash():
    from telemetry_policy.locations import discover

    return not discover("/")


def test_bad_root_fails_closed(root, tmp_path):
    d = resolve("demo", app_default="on", root=str(tmp_path / "missing"), environ=root.environ())
    assert d.mode is OFF and "is not a directory" in d.errors[0]
    env = root.environ(TELEMETRY_POLICY_ROOT="relative/path")
    assert resolve("demo", app_default="on", environ=env).mode is OFF


def test_wrong_calls_raise_usage_error(root):
    for bad in ("", "Go", "a b", "x" * 65, "-x"):
        with pytest.raises(UsageError, match="invalid app name"):
            root.resolve(bad)
    with pytest.raises(UsageError, match="unknown mode"):
        root.resolve("demo", app_default="maybe")
    with pytest.raises(UsageError, match="timezone-aware"):
        from datetime import datetime

        root.resolve("demo", now=datetime(2026, 1, 1))


def test_mode_from_its_name_and_every_documented_error_exported():
    import telemetry_policy as tp

    assert tp.Mode("on") is tp.Mode.ON and tp.Mode(0) is tp.Mode.OFF
    for name in ("PolicyError", "PolicyFileError", "PluginError", "RefusedError", "UsageError",
                 "UserStoreError", "PlatformError"):  # fmt: skip
        assert issubclass(getattr(tp, name), tp.PolicyError)
    assert {"resolve", "set_mode", "Decision", "UserStoreError"} <= set(dir(tp))


def test_a_type_checker_catches_a_typo_and_a_mode_compared_with_a_string(tmp_path):
    pytest.importorskip("mypy")
    snippet = tmp_path / "client.py"
    snippet.write_text(
        "import telemetry_policy as tp\n"
        "d = tp.resolve('mytool')\n"
        "if d.may_uplaod:\n    pass\n"
        "if d.mode == 'on':\n    pass\n"
    )
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(snippet)],
                       capture_output=True, text=True)  # fmt: skip
    assert 'has no attribute "may_uplaod"' in p.stdout, p.stdout
    assert "Non-overlapping equality check" in p.stdout, p.stdout


def test_set_says_why_the_mode_is_below_what_was_asked(root):
    from conftest import run_cli

    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-in"\n')
    code, out, _ = run_cli(root, "set", "mytool", "on", DO_NOT_TRACK="1")
    assert code == 0
    assert out.startswith("telemetry-policy set: mytool: chose on in ")
    assert out.rstrip().endswith("mode now local (lowered by env DO_NOT_TRACK)")


def test_set_mode_answers_with_the_programs_own_default(root):
    from telemetry_policy import set_mode

    root.write("vendor", "policy.toml", '[policy]\nceiling = "on"\n')
    # forgetting the choice: the answer is the program's own default, as resolve gives it
    assert set_mode("mytool", None, app_default="local").mode is Mode.LOCAL
    assert set_mode("mytool", None).mode is Mode.OFF
