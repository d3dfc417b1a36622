"""snapshot_build: compiling what step 2 leaves per app, read back as inputs."""

import marshal

from telemetry_policy.layerindex import LayerIndex
from telemetry_policy.precedence import STEP2, Values
from telemetry_policy.snapshot import FORMAT, load
from telemetry_policy.snapshot_build import build
from telemetry_policy.sources import file_layers


def test_compiles_the_values_the_index_leaves_for_every_app(root):
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-in"\n')
    root.write("admin", "policy.d/50-go.toml", '[app.go]\nceiling = "local"\n')
    data = build(str(root.path))
    assert marshal.loads(data)[0] == FORMAT
    root.compile()
    snapshot = load(str(root.path))
    assert snapshot is not None and set(snapshot.system) == {None, "go"}
    index = LayerIndex.build(file_layers(str(root.path)))
    for app in (None, "go", "unnamed"):
        expected = Values.start(None)
        index.values(app, expected, STEP2)
        got = Values.start(None)
        got.replay(snapshot.values(app))
        assert [got.trace(k) for k in ("default", "ceiling", "upload_delay_days")] == [
            expected.trace(k) for k in ("default", "ceiling", "upload_delay_days")
        ]


def test_an_edit_makes_it_stale(root):
    root.write("vendor", "policy.toml", '[policy]\npreset = "opt-in"\n')
    root.compile()
    assert load(str(root.path)) is not None
    root.write("admin", "policy.d/10-x.toml", '[policy]\npreset = "forced-off"\n')
    assert load(str(root.path)) is None
