"""The pure core: layers and user inputs in, a Decision out."""

from datetime import timedelta

from conftest import NOW
from telemetry_policy import resolve
from telemetry_policy.model import Choice, Origin, Platform
from telemetry_policy.modes import Mode
from telemetry_policy.policymodel import Condition, Layer, PolicyFile, Setting
from telemetry_policy.precedence import decide

OFF, LOCAL, ON = Mode.OFF, Mode.LOCAL, Mode.ON


def layer(
    name,
    policy=(),
    apps=(),
    *,
    main=False,
    tier="vendor",
    status="applied",
    when=None,
    trusted=(),
    disabled=(),
    plugin=False,
):
    origin = Origin("plugin", name) if plugin else Origin("file", f"/{name}")
    settings = tuple(
        Setting(k, v, Origin(origin.kind, origin.source, i + 1)) for i, (k, v) in enumerate(policy)
    )
    app_settings = tuple((a, tuple(Setting(k, v, origin) for k, v in kv)) for a, kv in apps)
    doc = PolicyFile(origin.source, settings, app_settings, when, tuple(trusted), tuple(disabled))
    return Layer(name, origin, "plugin" if plugin else tier, status, "", doc, main)


def choose(mode, kind="user", since=None):
    return Choice(mode, Origin(kind, "test"), since)


def run(layers=(), choice=None, caps=(), **kw):
    return decide("go", layers=layers, choice=choice, caps=caps, now=NOW, **kw)


def test_start_values():
    d = run()
    assert (d.default, d.ceiling, d.upload_delay_days, d.mode) == (OFF, ON, 7, OFF)
    d = run(app_default=LOCAL)
    assert d.mode is LOCAL
    assert str(d.origin_of("default")) == "app_default from the calling program"


def test_main_file_then_dropins_by_name_then_app_keys():
    layers = [
        layer("20-b.toml", [("ceiling", LOCAL)]),
        layer("policy.toml", [("ceiling", OFF), ("default", OFF)], main=True),
        layer("10-a.toml", [("ceiling", ON)], apps=[("go", [("default", LOCAL)])]),
    ]
    d = run(layers)
    assert (d.default, d.ceiling) == (LOCAL, LOCAL)
    ceiling = next(t for t in d.trace if t.key == "ceiling")
    assert str(ceiling.origin) == "/20-b.toml:1"
    # the value it directly overrode (10-a's); the layers list shows every file
    assert [(v, str(o)) for v, o in ceiling.overrode] == [(ON, "/10-a.toml:1")]
    assert [layer.name for layer in d.layers] == ["policy.toml", "10-a.toml", "20-b.toml"]


def test_app_keys_apply_after_policy_keys_of_the_same_layer():
    d = run([layer("a", [("ceiling", OFF)], apps=[("go", [("ceiling", LOCAL)])])])
    assert d.ceiling is LOCAL
    other = decide(
        "other",
        layers=[layer("a", [("ceiling", OFF)], apps=[("go", [("ceiling", LOCAL)])])],
        choice=None,
        caps=(),
        now=NOW,
    )
    assert other.ceiling is OFF


def test_default_is_clamped_to_ceiling_and_choice_too():
    d = run([layer("a", [("default", ON), ("ceiling", LOCAL)])], choice=choose(ON))
    assert (d.default, d.mode) == (LOCAL, LOCAL)
    mode = next(t for t in d.trace if t.key == "mode")
    assert mode.note == "lowered to the ceiling"
    assert mode.overrode[0][0] is ON


def test_user_choice_within_ceiling_wins_over_default():
    d = run([layer("a", [("default", ON)])], choice=choose(OFF))
    assert d.mode is OFF
    d = run([layer("a", [("default", OFF)])], choice=choose(LOCAL))
    assert d.mode is LOCAL


def test_caps_only_lower():
    d = run([layer("a", [("default", ON)])], caps=[Choice(OFF, Origin("env", "DO_NOT_TRACK"))])
    assert d.mode is OFF
    assert str(d.origin_of("mode")) == "env DO_NOT_TRACK"
    d = run(caps=[Choice(ON, Origin("env", "X"))])
    assert d.mode is OFF


def test_any_failed_layer_fails_closed_whatever_comes_after():
    bad = Layer("10-bad.toml", Origin("file", "/10-bad.toml", 3), "admin", "invalid", "boom")
    d = run([bad, layer("20-open.toml", [("ceiling", ON), ("default", ON)])], choice=choose(ON))
    assert (d.ceiling, d.mode, d.locked) == (OFF, OFF, True)
    assert d.errors == ("/10-bad.toml:3: boom",)


def test_plugin_errors_fail_closed():
    d = run(app_default=ON, errors=["plugin 'x' (telemetry_policy_layers): raised"])
    assert d.mode is OFF and d.ceiling is OFF


def test_non_applied_layers_do_not_count():
    for status in ("replaced", "masked", "ignored"):
        d = run([layer("a", [("ceiling", OFF)], status=status)], app_default=ON)
        assert d.mode is ON, status


def test_when_is_judged_on_the_platform():
    debian = Platform("debian", "12", ())
    ubuntu = Platform("ubuntu", "24.04", ("debian",))
    when = Condition(("debian",), ">=12")
    ls = [layer("a", [("ceiling", OFF)], when=when)]
    assert run(ls, app_default=ON, platform=lambda: debian).mode is OFF
    # ubuntu is like debian, and 24.04 >= 12
    assert run(ls, app_default=ON, platform=lambda: ubuntu).mode is OFF
    d = run(ls, app_default=ON, platform=lambda: Platform("fedora", "41", ()))
    assert d.mode is ON
    assert d.layers[0].status == "skipped"
    assert "does not match fedora" in d.layers[0].reason
    d = run(ls, app_default=ON, platform=lambda: Platform("debian", "trixie/sid", ()))
    assert d.layers[0].status == "skipped"
    assert "not numeric" in d.layers[0].reason


def test_untrusted_plugin_can_only_tighten():
    pl = layer(
        "50-plugin", [("ceiling", ON), ("default", ON), ("upload_delay_days", 0)], plugin=True
    )
    base = layer("10-a.toml", [("ceiling", LOCAL), ("default", OFF), ("upload_delay_days", 7)])
    d = run([base, pl])
    assert (d.ceiling, d.default, d.upload_delay_days) == (LOCAL, OFF, 7)
    assert "may only tighten" in d.layers[1].reason
    tight = layer("50-plugin", [("ceiling", OFF), ("upload_delay_days", 30)], plugin=True)
    d = run([base, tight])
    assert (d.ceiling, d.upload_delay_days) == (OFF, 30)


def test_trusted_plugin_may_raise_and_disabled_is_dropped():
    trust = layer("10-a.toml", [("ceiling", LOCAL)], trusted=["50-plugin"])
    pl = layer("50-plugin", [("ceiling", ON)], plugin=True)
    assert run([trust, pl]).ceiling is ON
    block = layer("10-a.toml", [("ceiling", LOCAL)], trusted=["50-plugin"], disabled=["50-plugin"])
    d = run([block, pl])
    assert d.ceiling is LOCAL
    assert d.layers[1].status == "disabled"


def test_skipped_file_plugin_lists_do_not_count():
    when = Condition(("fedora",))
    trust = layer("10-a.toml", [("ceiling", LOCAL)])
    skipped = layer("20-b.toml", [], when=when, trusted=["50-plugin"])
    pl = layer("50-plugin", [("ceiling", ON)], plugin=True)
    d = run([trust, skipped, pl], platform=lambda: Platform("debian", "12"))
    assert d.ceiling is LOCAL


def test_upload_waits_for_the_delay():
    ls = [layer("a", [("default", ON)])]
    d = run(ls)
    assert d.mode is ON and d.on_since == NOW and not d.may_upload
    assert d.upload_from == NOW + timedelta(days=7)
    d = run(ls, first_on=NOW - timedelta(days=6, hours=23))
    assert not d.may_upload
    d = run(ls, first_on=NOW - timedelta(days=7))
    assert d.may_upload
    # the date the user chose "on" counts, when that choice is in effect
    d = run(choice=choose(ON, since=NOW - timedelta(days=8)))
    assert d.may_upload
    d = run([layer("a", [("upload_delay_days", 0)])], app_default=ON)
    assert d.may_upload


def test_local_never_uploads_and_locked_means_ceiling_off():
    d = run(app_default=LOCAL, first_on=NOW - timedelta(days=100))
    assert d.may_collect and not d.may_upload and not d.locked
    d = run([layer("a", [("ceiling", OFF)])])
    assert d.locked and not d.may_collect


def test_json_form_has_the_documented_keys():
    data = run(app_default=ON).as_dict()
    assert data["schema"] == 1
    assert {
        "app",
        "mode",
        "default",
        "ceiling",
        "may_collect",
        "may_upload",
        "locked",
        "errors",
    } <= set(data)
    assert (data["app"], data["mode"], data["may_collect"]) == ("go", "on", True)


# --- The tier rule: a lower tier may only tighten what a higher tier set.


def test_a_vendor_dropin_cannot_lift_the_admins_forced_off(root):
    # the case: debconf's answer in /etc, a package's opt-out in /usr/lib sorting later
    root.write("admin", "policy.d/50-debconf.toml", '[policy]\npreset = "forced-off"\n')
    root.write("vendor", "policy.d/60-vendor.toml", '[policy]\npreset = "opt-out"\n')
    d = resolve("demo", app_default="on")
    assert (d.default, d.ceiling, d.mode) == (OFF, OFF, OFF)
    ceiling = next(t for t in d.trace if t.key == "ceiling")
    assert "50-debconf.toml" in str(ceiling.origin)
    assert "held: " in ceiling.note and "60-vendor.toml" in ceiling.note
    vendor = next(layer for layer in d.layers if layer.name == "60-vendor.toml")
    assert vendor.status == "restricted" and "a lower tier may only tighten" in vendor.reason


def test_a_lower_tier_may_still_tighten_and_lengthen_the_delay(root):
    root.write("admin", "policy.d/50-site.toml", '[policy]\npreset = "opt-out"\n')
    root.write("vendor", "policy.d/90-vendor.toml",
               '[policy]\nceiling = "local"\nupload_delay_days = 30\n')  # fmt: skip
    d = resolve("demo")
    assert (d.ceiling, d.upload_delay_days) == (LOCAL, 30)


def test_within_one_tier_the_name_decides(root):
    root.write("admin", "policy.d/50-debconf.toml", '[policy]\npreset = "forced-off"\n')
    root.write("admin", "policy.d/60-site.toml", '[policy]\npreset = "opt-in"\n')
    d = resolve("demo")
    assert (d.default, d.ceiling) == (OFF, ON)
    assert "60-site.toml" in str(next(t for t in d.trace if t.key == "ceiling").origin)


def test_runtime_outranks_vendor_and_the_admin_outranks_runtime(root):
    root.write("runtime", "policy.d/10-run.toml", '[policy]\nceiling = "local"\n')
    root.write("vendor", "policy.d/20-vendor.toml", '[policy]\nceiling = "on"\n')
    assert resolve("demo").ceiling is LOCAL
    root.write("admin", "policy.d/05-admin.toml", '[policy]\nceiling = "on"\n')
    assert resolve("demo").ceiling is LOCAL  # runtime, later by name, may tighten the admin
    root.write("admin", "policy.d/30-admin.toml", '[policy]\nceiling = "on"\n')
    assert resolve("demo").ceiling is ON


def test_a_lower_tier_restating_a_value_leaves_it_the_higher_tiers(root):
    # the admin's 50-site.toml outvotes debconf, and a vendor's later opt-out that only
    # restates "on" takes neither the value nor its origin (audit names the admin's file)
    root.write("admin", "policy.d/50-debconf.toml", '[policy]\npreset = "forced-off"\n')
    root.write("admin", "policy.d/50-site.toml", '[policy]\npreset = "opt-in"\n')
    root.write("vendor", "policy.d/60-vendor.toml", '[policy]\npreset = "opt-out"\n')
    d = resolve("demo")
    ceiling = next(t for t in d.trace if t.key == "ceiling")
    assert (d.ceiling, d.default) == (ON, OFF)
    assert str(ceiling.origin).endswith("50-site.toml:2") and not ceiling.note
    assert "held: " in next(t for t in d.trace if t.key == "default").note
