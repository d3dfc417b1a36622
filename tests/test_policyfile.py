import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetry_policy import Mode, PolicyFileError
from telemetry_policy.policyfile import key_lines, parse_policy


def parse(text: str | bytes):
    return parse_policy(text.encode() if isinstance(text, str) else text, "p.toml")


def values(settings):
    return {s.key: s.value for s in settings}


def test_full_file_parses_with_lines():
    doc = parse(
        'schema = 1\n[policy]\npreset = "opt-in"\nupload_delay_days = 3\n'
        '[app.go]\nceiling = "local"\n[app."my.tool"]\ndefault = "on"\n'
        '[when]\ndistro = ["Debian", "ubuntu"]\ndistro_version = ">=12"\n'
        '[plugins]\ntrusted = ["debconf"]\ndisabled = ["x"]\n'
    )
    assert values(doc.policy) == {"default": Mode.OFF, "ceiling": Mode.ON, "upload_delay_days": 3}
    assert values(doc.app("go")) == {"ceiling": Mode.LOCAL}
    assert values(doc.app("my.tool")) == {"default": Mode.ON}
    assert doc.app("other") == ()
    assert doc.when.distro == ("debian", "ubuntu")
    assert doc.when.distro_version == ">=12"
    assert (doc.trusted, doc.disabled) == (("debconf",), ("x",))
    by_key = {s.key: s.origin.line for s in doc.policy}
    assert by_key == {"default": 3, "ceiling": 3, "upload_delay_days": 4}
    assert doc.app("go")[0].origin.line == 6


def test_explicit_key_beats_preset_in_the_same_table():
    doc = parse('[policy]\nceiling = "local"\npreset = "opt-out"\n')
    assert values(doc.policy) == {"default": Mode.ON, "ceiling": Mode.LOCAL}
    assert {s.key: s.origin.line for s in doc.policy} == {"default": 3, "ceiling": 2}


def test_extension_keys_are_allowed_except_as_app_names():
    parse('x-note = "hi"\n[policy]\nx-why = 1\n[x-vendor]\na = 1\n')
    with pytest.raises(PolicyFileError, match=r"p.toml:1: invalid app name 'x-Y'"):
        parse('[app.x-Y]\nceiling = "off"\n')


def test_key_lines_reads_headers_dotted_and_quoted_keys():
    text = (
        '# ceiling = "on" in a comment\n'
        'x-note = "a = b # c"\n'
        'policy.ceiling = "off"\n'
        '[app."my.tool"]  # comment\n'
        '"default" = "on"\n'
        "[ app . 'x=y' ]\n"
        "ceiling='off'\n"
    )
    lines = key_lines(text)
    assert lines[("x-note",)] == 2
    assert lines[("policy", "ceiling")] == 3 and lines[("policy",)] == 3
    assert lines[("app", "my.tool")] == 4
    assert lines[("app", "my.tool", "default")] == 5
    assert lines[("app", "x=y", "ceiling")] == 7
    assert ("ceiling",) not in lines


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            '[policy]\ncieling = "off"\n',
            2,
            "unknown key 'cieling' in [policy]; did you mean 'ceiling'?",
        ),
        ("colour = 1\n", 1, "unknown key 'colour'"),
        ('[policy]\nceiling = "maybe"\n', 2, "unknown mode 'maybe' for ceiling"),
        ("[policy]\ndefault = 2\n", 2, "unknown mode 2 for default"),
        ('[policy]\npreset = "opt-maybe"\n', 2, "unknown preset 'opt-maybe'"),
        ("[policy]\nupload_delay_days = 400\n", 2, "upload_delay_days must be a whole number"),
        ("[policy]\nupload_delay_days = true\n", 2, "upload_delay_days must be a whole number"),
        ("[policy]\nupload_delay_days = 1.5\n", 2, "upload_delay_days must be a whole number"),
        ("schema = 2\n", 1, "unsupported schema 2"),
        ('schema = "1"\n', 1, "unsupported schema '1'"),
        ("schema = true\n", 1, "unsupported schema true"),
        ('policy = "opt-in"\n', 1, "[policy] must be a table, not a string"),
        ('[app.Go]\nceiling = "off"\n', 1, "invalid app name 'Go'"),
        ('[app.go]\nceilling = "off"\n', 2, "unknown key 'ceilling' in [app.go]"),
        ("[app]\ngo = 1\n", 2, "[app.go] must be a table"),
        ('[when]\ndistro = "debian"\n', 2, "[when] distro must be a list of strings"),
        ("[when]\ndistro = []\n", 2, "distro is empty"),
        ('[when]\ndistro_version = "~12"\n', 2, "invalid distro_version '~12'"),
        ('[when]\ndistro_version = ">=twelve"\n', 2, "invalid distro_version"),
        ('[when]\nkernel = "6"\n', 2, "unknown key 'kernel' in [when]"),
        ('[plugins]\ntrusted = "debconf"\n', 2, "[plugins] trusted must be a list"),
        ("[plugins]\nblocked = []\n", 2, "unknown key 'blocked' in [plugins]"),
        ('[policy]\nceiling = "off"\nceiling = "on"\n', 3, "not valid TOML"),
        ("[policy\n", 1, "not valid TOML"),
    ],
)
def test_invalid_files_are_rejected_whole_with_line(text, line, message):
    with pytest.raises(PolicyFileError) as e:
        parse(text)
    assert e.value.line == line
    assert message in str(e.value)
    assert str(e.value).startswith(f"p.toml:{line}: ")


def test_encoding_problems():
    with pytest.raises(
        PolicyFileError, match=r"p.toml:2: file is not UTF-8 text; save it as UTF-8"
    ):
        parse(b"[policy]\n# caf\xe9\n")
    with pytest.raises(PolicyFileError, match="byte-order mark"):
        parse(b"\xef\xbb\xbf[policy]\n")


def test_oversize_and_deep_nesting():
    with pytest.raises(PolicyFileError, match="larger than 1024 KiB"):
        parse(b"#" * (1024 * 1024 + 1))
    with pytest.raises(
        PolicyFileError, match=r"^p.toml: not valid TOML: nested too deeply; a policy file nests"
    ):
        parse("x-deep = " + "[" * 5000 + "]" * 5000 + "\n")


VALID = (
    b'schema = 1\n[policy]\npreset = "opt-in"\nupload_delay_days = 7\n'
    b'[app.go]\nceiling = "local"\n[when]\ndistro = ["debian"]\ndistro_version = ">=12"\n'
    b'[plugins]\ntrusted = ["x"]\n'
)


def _only_policy_answers(data: bytes) -> None:
    try:
        parse_policy(data, "fuzz.toml")
    except PolicyFileError as e:
        assert str(e).startswith("fuzz.toml"), str(e)
        assert "\n" not in str(e)
        assert len(str(e)) < 400, str(e)  # a value is cut short, never pasted whole


@given(st.binary(max_size=2048))
def test_random_bytes_only_ever_give_a_policy_or_a_one_line_error(data):
    _only_policy_answers(data)


@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.binary(max_size=4)), max_size=6))
def test_mutated_valid_files_only_ever_give_a_policy_or_a_one_line_error(edits):
    data = bytearray(VALID)
    for at, junk in edits:
        data[at : at + len(junk)] = junk
    _only_policy_answers(bytes(data))


# Structure-aware: files assembled from the format's own headers, keys and
# values (and now and then a stray token) are mostly valid TOML, so they reach
# the schema checks: unknown keys, wrong types, ranges, app names, [when].
HEADERS = [
    "[policy]",
    "[app.go]",
    '[app."Go"]',
    "[app.a.b]",
    "[when]",
    "[plugins]",
    "[x]",
    "[[policy]]",
]
KEYS = [
    "preset",
    "default",
    "ceiling",
    "upload_delay_days",
    "schema",
    "distro",
    "distro_version",
    "trusted",
    "disabled",
    "x-note",
    "cieling",
    "app.go.ceiling",
    "policy",
]
VALUES = [
    '"opt-in"',
    '"forced-off"',
    '"on"',
    '"local"',
    '"off"',
    '"debian"',
    '">=12"',
    '"<"',
    "1",
    "-1",
    "366",
    "1.5",
    "true",
    "1979-05-27",
    "[]",
    '["a"]',
    '["p", 1]',
    "{}",
    "{a = 1}",
]
STRAY = ["\n", "=", "[", "]", '"', "#", "\x00", "\ufeff"]
LINES = st.one_of(
    st.sampled_from(HEADERS),
    st.builds("{} = {}".format, st.sampled_from(KEYS), st.sampled_from(VALUES)),
    st.sampled_from(STRAY),
)  # fmt: skip


@given(st.lists(LINES, max_size=12))
def test_assembled_files_only_ever_give_a_policy_or_a_one_line_error(lines):
    _only_policy_answers("\n".join(lines).encode())
