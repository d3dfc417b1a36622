"""cliparser: the parser --help and the man page show."""

from telemetry_policy.cliparser import EXPORT_FORMATS, build_parser
from telemetry_policy.export import FORMATS


def test_export_formats_are_the_switches_formats():
    assert EXPORT_FORMATS == FORMATS


def test_every_command_is_there():
    parser = build_parser()
    for words in (["resolve", "go"], ["audit"], ["validate", "f"], ["set", "go", "on"],
                  ["unset", "go"], ["paths"], ["apply"], ["session"],
                  ["export", "--format", "env"], ["sync", "--user", "go"]):  # fmt: skip
        assert parser.parse_args(words).command == words[0]
