"""The safety invariants of DESIGN.md section 5, as properties.

Run more examples with TELEMETRY_POLICY_EXAMPLES=100000.
"""

import os
import random
import tempfile

from hypothesis import given
from hypothesis import strategies as st

from conftest import NOW
from telemetry_policy.layerindex import LayerIndex
from telemetry_policy.model import Choice, Origin, Platform
from telemetry_policy.modes import Mode
from telemetry_policy.policymodel import Layer, PolicyFile, Setting
from telemetry_policy.precedence import STEP2, Values, decide, tightens
from telemetry_policy.testing import FakeRoot

modes = st.sampled_from(list(Mode))
KEYS = ("default", "ceiling", "upload_delay_days")


@st.composite
def settings_(draw, origin):
    keys = draw(st.sets(st.sampled_from(KEYS)))
    return tuple(
        Setting(k, draw(st.integers(0, 365)) if k == "upload_delay_days" else draw(modes), origin)
        for k in sorted(keys)
    )


@st.composite
def layers(draw, statuses=("applied", "applied", "applied", "replaced", "masked")):
    plugin = draw(st.booleans())
    name = draw(st.sampled_from(["10-a", "20-b", "50-c", "90-z"])) + ("" if plugin else ".toml")
    origin = Origin("plugin", name) if plugin else Origin("file", f"/{name}")
    apps = (("go", draw(settings_(origin))),) if draw(st.booleans()) else ()
    doc = PolicyFile(
        name,
        draw(settings_(origin)),
        apps,
        trusted=tuple(draw(st.sets(st.sampled_from(["10-a", "50-c"])))),
    )
    return Layer(
        name,
        origin,
        "plugin" if plugin else "admin",
        draw(st.sampled_from(statuses)),
        "",
        doc,
        main=not plugin and draw(st.booleans()),
    )


choices = st.none() | st.builds(lambda m: Choice(m, Origin("user", "u")), modes)
caps = st.lists(st.builds(lambda m: Choice(m, Origin("env", "c")), modes), max_size=2)
app_defaults = st.none() | modes
BAD = Layer("00-bad.toml", Origin("file", "/00-bad.toml"), "admin", "invalid", "broken")


def run(ls, choice=None, cap=(), app_default=None, app="go"):
    return decide(app, layers=ls, choice=choice, caps=cap, now=NOW, app_default=app_default)


@given(st.lists(layers(), max_size=6), choices, caps, app_defaults)
def test_mode_never_exceeds_the_ceiling(ls, choice, cap, app_default):
    d = run(ls, choice, cap, app_default)
    assert d.mode <= d.ceiling and d.default <= d.ceiling
    assert not d.may_upload or d.mode is Mode.ON


@given(st.lists(layers(), max_size=6), choices, app_defaults)
def test_nothing_from_the_user_side_moves_the_ceiling(ls, choice, app_default):
    system = run(ls)
    d = run(ls, choice, app_default=app_default)
    assert d.ceiling == system.ceiling
    assert d.mode <= system.ceiling


@given(st.lists(layers(), max_size=6), choices, caps, app_defaults, st.randoms())
def test_any_invalid_input_forces_off(ls, choice, cap, app_default, rnd):
    with_bad = list(ls)
    with_bad.insert(rnd.randint(0, len(ls)), BAD)
    d = run(with_bad, choice, cap, app_default)
    assert (d.mode, d.ceiling, d.locked) == (Mode.OFF, Mode.OFF, True)
    assert d.errors
    assert run(ls, choice, cap, app_default).errors == ()  # only BAD made it off


@given(st.lists(layers(), max_size=6), st.lists(layers(("applied",)), max_size=3))
def test_untrusted_plugins_only_tighten(ls, extra):
    files = [x for x in ls if x.tier != "plugin"]
    for layer in files:  # no file trusts anyone here
        assert layer.policy is not None
    untrusted_files = [
        Layer(
            x.name,
            x.origin,
            x.tier,
            x.status,
            x.reason,
            PolicyFile(x.name, x.policy.policy, x.policy.apps),
            x.main,
        )
        for x in files
    ]
    plugins = [x for x in extra if x.tier == "plugin"]
    before = run(untrusted_files)
    after = run(untrusted_files + plugins)
    assert after.ceiling <= before.ceiling
    assert after.default <= before.default
    assert after.upload_delay_days >= before.upload_delay_days


@given(
    st.lists(layers(), max_size=6, unique_by=lambda x: (x.name, x.origin.kind)),
    st.randoms(),
    choices,
    caps,
)
def test_result_does_not_depend_on_input_order(ls, rnd, choice, cap):
    shuffled = list(ls)
    rnd.shuffle(shuffled)
    a, b = run(ls, choice, cap), run(shuffled, choice, cap)
    assert (a.mode, a.default, a.ceiling, a.upload_delay_days, a.trace) == (
        b.mode,
        b.default,
        b.ceiling,
        b.upload_delay_days,
        b.trace,
    )


# The same invariants end to end, on generated trees on disk.

FILES = st.sampled_from(
    [
        '[policy]\npreset = "opt-out"\n',
        '[policy]\npreset = "forced-off"\n',
        '[policy]\nceiling = "local"\n',
        '[app.go]\nceiling = "off"\n',
        '[policy]\ndefault = "on"\n[app.go]\ndefault = "local"\n',
        "",  # empty: a mask
        '[policy]\ncieling = "off"\n',
        "[broken",
        "schema = 2\n",
    ]
)
TREE = st.dictionaries(
    st.tuples(
        st.sampled_from(["vendor", "local", "runtime", "admin"]),
        st.sampled_from(
            ["policy.toml", "policy.d/10-a.toml", "policy.d/20-b.toml", "policy.d/30-c.toml"]
        ),
    ),
    FILES,
    max_size=8,
)
INVALID = {'[policy]\ncieling = "off"\n', "[broken", "schema = 2\n"}


@given(TREE, st.sampled_from(["", "off", "local", "on", "bogus"]), app_defaults)
def test_generated_trees_on_disk(tree, env_mode, app_default):
    with tempfile.TemporaryDirectory() as tmp:
        root = FakeRoot(tmp)
        for (tier, name), text in tree.items():
            root.write(tier, name, text)
        env = root.environ(TELEMETRY_POLICY_MODE=env_mode)
        d = root.resolve("go", environ=env, app_default=app_default)
        assert d.mode <= d.ceiling
        # the files that count: highest copy of each name (and not masked)
        winners = {}
        for (_tier, name), text in sorted(tree.items(), key=lambda kv: TIERS.index(kv[0][0])):
            winners[name] = text
        if any(text in INVALID for text in winners.values()):
            assert d.mode is Mode.OFF and d.ceiling is Mode.OFF
        if env_mode == "bogus":
            assert d.mode is Mode.OFF
        # the verdict is the same whatever order the directories are listed in
        real_listdir = os.listdir
        os.listdir = lambda p: random.sample(real_listdir(p), len(real_listdir(p)))
        try:
            again = root.resolve("go", environ=env, app_default=app_default)
        finally:
            os.listdir = real_listdir
        assert (again.mode, again.ceiling, again.default) == (d.mode, d.ceiling, d.default)


TIERS = ["vendor", "local", "runtime", "admin"]


def _step2_by_hand(ls, app, default):
    """Step 2 as docs/format.md states it, one layer at a time: its [policy]
    keys, then its [app.APP] keys; an untrusted plugin's (below every tier) only
    where it tightens, and not where it restates what a file set (the file keeps it).
    The generated files are all of the admin tier; a trusted plugin speaks with it."""
    trusted = set()
    for layer in ls:
        if layer.status == "applied" and layer.policy and layer.tier != "plugin":
            trusted |= set(layer.policy.trusted) - set(layer.policy.disabled)
    values = Values.start(default)
    held: dict[str, bool] = {}  # a key a file (or trusted plugin) set
    for layer in sorted(ls, key=lambda layer: layer.sort_key):
        if layer.status != "applied" or layer.policy is None:
            continue
        if layer.policy.when is not None:
            continue  # the generated layers' [when] never holds
        for s in (*layer.policy.policy, *layer.policy.app(app)):
            plugin = layer.tier == "plugin" and layer.origin.source not in trusted
            if plugin and held.get(s.key) and s.value == values.get(s.key):
                continue
            if plugin and not tightens(s.key, s.value, values.get(s.key)):
                values.notes[s.key] = f"held: {s.origin} wanted {s.value}"
                continue
            values.set(s.key, s.value, s.origin)
            held[s.key] = held.get(s.key, False) or not plugin
    for key in ("default", "ceiling", "upload_delay_days"):
        del values.overrode[key][:-1]  # each value lists the one it directly overrode
    return values


@given(st.lists(layers(), max_size=8), choices, caps, app_defaults)
def test_one_index_decides_every_app_as_the_rule_applies_layer_by_layer(ls, choice, cap, default):
    # audit and apply decide every app from one index; each app's values are those
    # of the rule applied layer by layer, and reusing the index changes nothing
    index = LayerIndex.build(ls, lambda: Platform("none", "0"))
    for app in ("go", "other"):
        full = run(ls, choice, cap, default, app=app)
        fast = decide(app, choice=choice, caps=cap, now=NOW, app_default=default, index=index)
        assert fast == full
        values = Values.start(default)
        index.values(app, values, STEP2)
        expected = _step2_by_hand(ls, app, default)
        for key in ("default", "ceiling", "upload_delay_days"):
            assert values.trace(key) == expected.trace(key)
