"""errors: one family, each a line a user can act on."""

from telemetry_policy.errors import (
    PlatformError,
    PluginError,
    PolicyError,
    PolicyFileError,
    UserStoreError,
    describe,
    one_line,
    safe_repr,
    show_value,
)


def test_every_error_is_a_policy_error_and_formats_its_place():
    e = PolicyFileError("/etc/x.toml", "unknown key 'cieling'", 3, "did you mean 'ceiling'?")
    assert str(e) == "/etc/x.toml:3: unknown key 'cieling'; did you mean 'ceiling'?"
    assert str(PluginError("p", "telemetry_policy_caps", "raised X")).startswith("plugin 'p'")
    assert str(UserStoreError("/u.toml", "bad", "fix it")) == "/u.toml: bad; fix it"
    for cls in (PolicyFileError, PluginError, UserStoreError, PlatformError):
        assert issubclass(cls, PolicyError)


def test_nothing_printed_can_forge_a_line():
    assert one_line("a\nb\x1b[31m") == "a\\nb\\x1b[31m"
    assert "\n" not in describe(RuntimeError("x\ny"))


def test_a_hostile_repr_cannot_escape():
    class Hostile:
        def __repr__(self):
            raise SystemExit("no")

    assert safe_repr(Hostile()) == "a Hostile that cannot be shown"
    assert show_value(True) == "true" and show_value("x" * 100).endswith("...")
