"""written: our own files read back without tomllib, exactly as tomllib reads them."""

import sys

import pytest

from telemetry_policy import written

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

STORE = (
    "# telemetry-policy user store: written by `telemetry-policy set`; edit with care.\n"
    'schema = 1\n\n[all]\nmode = "off"\nsince = 2026-11-23T12:00:00+00:00\n\n'
    '[app."my.tool"]\nmode = "on"\n'
)


def test_our_own_shape_reads_as_tomllib_reads_it():
    assert written.parse(STORE, "user store") == tomllib.loads(STORE)


@pytest.mark.parametrize(
    "edited",
    [STORE.replace("mode = ", "mode= "), STORE + "x = 1\n", STORE + "[all]\n",
     STORE.replace('"off"', '"OFF"')],
)  # fmt: skip
def test_anything_else_is_left_to_tomllib(edited):
    assert written.parse(edited, "user store") is None
