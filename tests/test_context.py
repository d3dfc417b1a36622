"""context: what a resolution's sources receive; the platform read only if asked."""

from conftest import NOW
from telemetry_policy.context import Context
from telemetry_policy.errors import PlatformError


def test_the_platform_is_read_once_and_only_when_asked(root):
    ctx = Context(str(root.path), {}, NOW)
    assert ctx.now == NOW
    root.os_release("debian", "12")
    assert ctx.platform().id == "debian"
    (root.path / "etc/os-release").unlink()
    assert ctx.platform().version == "12"  # read once per resolution


def test_no_os_release_is_an_error_only_for_whoever_asks(root):
    ctx = Context(str(root.path), {}, None)
    try:
        ctx.platform()
    except PlatformError as e:
        assert "no os-release" in str(e)
    else:
        raise AssertionError("expected PlatformError")
    assert ctx.now.tzinfo is not None
