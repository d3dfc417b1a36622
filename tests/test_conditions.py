"""conditions: [when] judged on a platform."""

import pytest

from telemetry_policy.conditions import compare_versions, holds
from telemetry_policy.model import Platform
from telemetry_policy.policymodel import Condition


@pytest.mark.parametrize(
    ("expr", "version", "result"),
    [(">=12", "12.4", True), ("==12", "12.0", True), ("<12", "12", False),
     ("!=24.04", "24.04", False), (">=12", "bookworm", None), ("12", "12", True)],
)  # fmt: skip
def test_versions_compare_component_by_component(expr, version, result):
    assert compare_versions(expr, version) is result


def test_distro_matches_id_or_like_and_says_why_not():
    debian = Platform("debian", "12", ())
    ubuntu = Platform("ubuntu", "24.04", ("debian",))
    when = Condition(("debian",), ">=12")
    assert holds(when, debian) == (True, "")
    assert holds(Condition(("debian",)), ubuntu)[0]
    ok, why = holds(Condition(("fedora",)), ubuntu)
    assert not ok and "does not match ubuntu (like debian)" in why
    ok, why = holds(Condition(None, ">=12"), Platform("arch", ""))
    assert not ok and "not numeric" in why
