"""One test per hook, with plugins registered on a manager built by the factory."""

from conftest import NOW
from telemetry_policy import Choice, Mode, Origin, hookimpl
from telemetry_policy.context import Context
from telemetry_policy.plugins import BUILTINS, Hooks, PluginState, make_manager
from telemetry_policy.precedence import decide
from telemetry_policy.sources import Builtins, call_order


def run(root, *plugins, app="demo", app_default=None, **env):
    pm = make_manager()
    for i, plugin in enumerate(plugins):
        pm.register(plugin, name=f"test-{i}")
    hooks = Hooks(pm)
    ctx = Context(str(root.path), root.environ(**env), NOW)
    layers, errors = hooks.layers(ctx)
    choice, more = hooks.user_choice(app, ctx)
    caps, even_more = hooks.caps(app, ctx)
    d = decide(
        app,
        layers=layers,
        choice=choice,
        caps=caps,
        now=NOW,
        errors=errors + more + even_more,
        app_default=app_default and Mode.parse(app_default),
    )
    return d, hooks


def test_builtins_are_ordinary_plugins():
    pm = make_manager()
    assert sorted(name for name, _ in pm.list_name_plugin()) == sorted(n for n, *_ in BUILTINS)


def test_without_pluggy_the_built_ins_are_called_as_pluggy_calls_them(root):
    """sources.Builtins (no plugin installed) in pluggy's order, with its audit listing."""
    pm = make_manager()
    for hook in {h for _, _, h in BUILTINS}:
        called = [i.plugin_name for i in reversed(getattr(pm.hook, hook).get_hookimpls())]
        assert called == list(call_order(hook))
    assert call_order("telemetry_policy_user_choice") == (
        "env",
        "user-store",
        "go-mode-file",
        "user-store-all",
    )  # docs/format.md#resolution, step 4
    state = PluginState([], {}, set(), set(), set(), [], {})
    assert Builtins().infos(state) == Hooks(pm).infos(state)


def test_layers_hook_contributes_a_layer(root):
    class Plugin:
        @hookimpl
        def telemetry_policy_layers(self, context):
            return [
                ("60-plugin", {"policy": {"ceiling": "local"}, "app": {"demo": {"default": "on"}}})
            ]

    d, _ = run(root, Plugin())
    # untrusted: lowering the ceiling applies, raising the default is dropped
    assert (d.ceiling, d.default, d.mode) == (Mode.LOCAL, Mode.OFF, Mode.OFF)
    assert str(d.origin_of("ceiling")) == "plugin test-0"
    [layer] = d.layers
    assert (layer.name, layer.tier, layer.status) == ("60-plugin", "plugin", "restricted")
    assert layer.reason == "untrusted plugin may only tighten; dropped: default = on"
    root.write("admin", "policy.toml", '[plugins]\ntrusted = ["test-0"]\n')
    d, _ = run(root, Plugin())
    assert (d.ceiling, d.default, d.mode) == (Mode.LOCAL, Mode.LOCAL, Mode.LOCAL)


def test_plugin_layers_sort_with_dropins_by_name(root):
    root.write("admin", "policy.d/50-admin.toml", '[policy]\nceiling = "off"\n')
    root.write("admin", "policy.d/70-admin.toml", "[policy]\nupload_delay_days = 1\n")

    class Plugin:
        @hookimpl
        def telemetry_policy_layers(self):
            return [("60-plugin", {"policy": {"upload_delay_days": 30}})]

    d, _ = run(root, Plugin())
    assert [layer.name for layer in d.layers] == ["50-admin.toml", "60-plugin", "70-admin.toml"]
    assert d.upload_delay_days == 1


def test_user_choice_hook_comes_after_the_store_app_entry_before_all(root):
    class Native:
        @hookimpl
        def telemetry_policy_user_choice(self, app):
            return (
                Choice(Mode.LOCAL, Origin("native", "~/.config/demo/mode"))
                if app == "demo"
                else None
            )

    d, _ = run(root, Native(), app_default="on")
    assert d.mode is Mode.LOCAL
    assert str(d.choice.origin) == "native ~/.config/demo/mode (plugin test-0)"
    root.user_store.parent.mkdir(parents=True)
    root.user_store.write_text('[all]\nmode = "off"\n')
    assert run(root, Native())[0].mode is Mode.LOCAL  # native beats [all]
    root.user_store.write_text('[app.demo]\nmode = "off"\n')
    d, _ = run(root, Native())
    assert d.choice.origin.kind == "user"  # [app.demo] beats native
    d, _ = run(root, Native(), TELEMETRY_POLICY_MODE="on")
    assert d.choice.origin.kind == "env"  # env beats everything


def test_caps_hook_can_only_lower(root):
    class Cap:
        @hookimpl
        def telemetry_policy_caps(self, app, context):
            return Choice(Mode.LOCAL, Origin("env", "MYTOOL_LOCAL_ONLY"))

    d, _ = run(root, Cap(), app_default="on")
    assert d.mode is Mode.LOCAL
    d, _ = run(root, Cap(), app_default="off")
    assert d.mode is Mode.OFF


def test_decided_hook_observes_and_its_failure_fails_closed(root):
    seen = []

    class Observer:
        @hookimpl
        def telemetry_policy_decided(self, decision):
            seen.append(decision.mode)

    class Broken:
        @hookimpl
        def telemetry_policy_decided(self, decision):
            raise RuntimeError("disk full")

    pm = make_manager()
    pm.register(Observer(), name="observer")
    hooks = Hooks(pm)
    d = decide("demo", layers=[], choice=None, caps=[], now=NOW, app_default=Mode.ON)
    assert hooks.decided(d) == [] and seen == [Mode.ON]
    pm.register(Broken(), name="broken")
    assert hooks.decided(d) == [
        "plugin 'broken' (telemetry_policy_decided): raised RuntimeError: disk full"
    ]


def test_export_targets_hook_is_specified():
    pm = make_manager()
    assert hasattr(pm.hook, "telemetry_policy_export_targets")


def test_raising_plugin_is_named_and_fails_closed(root):
    class Boom:
        @hookimpl
        def telemetry_policy_layers(self, context):
            raise ValueError("bad config")

    d, _ = run(root, Boom(), app_default="on", TELEMETRY_POLICY_MODE="on")
    assert (d.mode, d.ceiling) == (Mode.OFF, Mode.OFF)
    assert d.errors == ("plugin 'test-0' (telemetry_policy_layers): raised ValueError: bad config",)


def test_garbage_returns_fail_closed(root):
    garbage = [
        42,
        "policy",
        [("x", "not a table")],
        [("Bad Name!", {})],
        [("ok", {"policy": {"cieling": "off"}})],
        [object()],
    ]
    for value in garbage:

        class Plugin:
            @hookimpl
            def telemetry_policy_layers(self, value=value):
                return value

        d, _ = run(root, Plugin(), app_default="on")
        assert d.mode is Mode.OFF, value
        assert d.errors[0].startswith("plugin 'test-0' (telemetry_policy_layers): "), d.errors

    class BadChoice:
        @hookimpl
        def telemetry_policy_user_choice(self):
            return "on"

    d, _ = run(root, BadChoice(), app_default="on")
    assert d.mode is Mode.OFF and "not a Choice" in d.errors[0]


def test_a_plugin_cannot_pass_itself_off_as_a_system_file(root):
    from telemetry_policy import Layer

    class Spoof:
        @hookimpl
        def telemetry_policy_layers(self):
            return [Layer("99.toml", Origin("file", "/etc/telemetry-policy/policy.toml"), "admin")]

    d, _ = run(root, Spoof(), app_default="on")
    assert d.mode is Mode.OFF and "not a (name, policy table) pair" in d.errors[0]
