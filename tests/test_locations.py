import os
import threading

import pytest

from telemetry_policy.locations import chase, discover

OPT_IN = '[policy]\npreset = "opt-in"\n'


def statuses(root):
    return [(os.path.relpath(c.path, root.path), c.status) for c in discover(str(root.path))]


def test_only_the_highest_main_file_counts(root):
    root.write("vendor", "policy.toml", OPT_IN)
    root.write("runtime", "policy.toml", OPT_IN)
    root.write("admin", "policy.toml", OPT_IN)
    assert statuses(root) == [
        ("etc/telemetry-policy/policy.toml", "applied"),
        ("run/telemetry-policy/policy.toml", "replaced"),
        ("usr/lib/telemetry-policy/policy.toml", "replaced"),
    ]


def test_dropins_ordered_by_name_across_directories_and_replaced_by_name(root):
    root.write("admin", "policy.d/20-b.toml", OPT_IN)
    root.write("vendor", "policy.d/10-a.toml", OPT_IN)
    root.write("vendor", "policy.d/20-b.toml", OPT_IN)
    root.write("local", "policy.d/30-c.toml", OPT_IN)
    root.write("runtime", "policy.d/05-z.toml", OPT_IN)
    assert statuses(root) == [
        ("run/telemetry-policy/policy.d/05-z.toml", "applied"),
        ("usr/lib/telemetry-policy/policy.d/10-a.toml", "applied"),
        ("etc/telemetry-policy/policy.d/20-b.toml", "applied"),
        ("usr/lib/telemetry-policy/policy.d/20-b.toml", "replaced"),
        ("usr/local/lib/telemetry-policy/policy.d/30-c.toml", "applied"),
    ]


def test_masking_by_empty_file_and_dev_null_link(root):
    root.write("vendor", "policy.toml", OPT_IN)
    root.write("admin", "policy.toml", "")
    root.write("vendor", "policy.d/10-a.toml", OPT_IN)
    root.mask("admin", "policy.d/10-a.toml")
    found = {os.path.relpath(c.path, root.path): c for c in discover(str(root.path))}
    assert found["etc/telemetry-policy/policy.toml"].status == "masked"
    assert found["usr/lib/telemetry-policy/policy.toml"].status == "masked"
    assert "masked by" in found["usr/lib/telemetry-policy/policy.toml"].reason
    assert found["etc/telemetry-policy/policy.d/10-a.toml"].status == "masked"
    assert found["usr/lib/telemetry-policy/policy.d/10-a.toml"].status == "masked"


def test_dev_null_mask_is_judged_by_link_text_under_root(root):
    # /dev/null inside the image does not exist: the link text is what counts
    root.write("vendor", "policy.d/10-a.toml", OPT_IN)
    root.mask("runtime", "policy.d/10-a.toml")
    assert not (root.path / "dev/null").exists()
    assert [s for _, s in statuses(root)] == ["masked", "masked"]


def test_other_names_are_ignored(root):
    root.write("admin", "policy.d/README", "hi")
    root.write("admin", "policy.d/10-a.toml.dpkg-old", OPT_IN)
    root.write("admin", "policy.d/.hidden.toml", OPT_IN)
    got = {os.path.basename(c.path): (c.status, c.reason) for c in discover(str(root.path))}
    assert got == {
        "README": ("ignored", "not a *.toml file"),
        "10-a.toml.dpkg-old": ("ignored", "not a *.toml file"),
        ".hidden.toml": ("ignored", "hidden file"),
    }


def test_fifo_named_toml_is_invalid_and_never_blocks(root):
    root.write("admin", "policy.d/00-keep.toml", OPT_IN)
    os.mkfifo(root.dir("admin") / "policy.d/10-fifo.toml")
    result = []
    t = threading.Thread(target=lambda: result.append(discover(str(root.path))), daemon=True)
    t.start()
    t.join(5)
    assert result, "discover() blocked on a FIFO"
    fifo = next(c for c in result[0] if c.name == "10-fifo.toml")
    assert (fifo.status, fifo.reason) == (
        "invalid",
        "not a regular file (a FIFO); only regular files are read: remove or rename it",
    )


def test_directory_and_device_named_toml_are_invalid(root):
    (root.dir("admin") / "policy.d/10-dir.toml").mkdir(parents=True)
    root.dir("vendor").mkdir(parents=True)
    (root.dir("vendor") / "policy.toml").symlink_to("/dev/zero")
    got = {c.name: (c.status, c.reason) for c in discover(str(root.path))}
    assert got["10-dir.toml"] == (
        "invalid",
        "not a regular file (a directory); only regular files are read: remove or rename it",
    )
    # a link to a device outside the root resolves inside it, where it does not exist
    assert got["policy.toml"][0] == "invalid"


def test_symlinks_resolve_inside_the_root(root):
    target = root.write("vendor", "shared/opt-in.toml", OPT_IN)
    os.symlink(
        "/usr/lib/telemetry-policy/shared/opt-in.toml", root.dir("vendor") / "policy.toml"
    )  # absolute: inside the image
    (root.dir("admin") / "policy.d").mkdir(parents=True)
    os.symlink(
        "../../../usr/lib/telemetry-policy/shared/opt-in.toml",
        root.dir("admin") / "policy.d/10-rel.toml",
    )
    got = {c.name: c for c in discover(str(root.path))}
    assert got["policy.toml"].status == "applied"
    assert got["policy.toml"].data == target.read_bytes()
    assert got["10-rel.toml"].status == "applied"


def test_dangling_and_looping_links_are_invalid(root):
    d = root.dir("admin") / "policy.d"
    d.mkdir(parents=True)
    (d / "10-dangling.toml").symlink_to("/nowhere.toml")
    (d / "20-loop.toml").symlink_to("20-loop.toml")
    got = {c.name: (c.status, c.reason) for c in discover(str(root.path))}
    assert got["10-dangling.toml"][0] == "invalid"
    assert "does not exist" in got["10-dangling.toml"][1]
    assert got["20-loop.toml"][0] == "invalid"
    assert "too many levels of symlinks" in got["20-loop.toml"][1]


def test_chase_never_leaves_the_root(root):
    (root.path / "a").mkdir()
    (root.path / "a/link").symlink_to("/../../../etc")
    with pytest.raises(Exception, match="does not exist"):
        chase(str(root.path), "/a/link/passwd")


@pytest.mark.parametrize(("mode", "word"), [(0o664, "group"), (0o646, "others")])
def test_writable_files_are_refused(root, mode, word):
    root.write("admin", "policy.toml", OPT_IN, mode=mode)
    [c] = discover(str(root.path))
    assert c.status == "refused"
    assert f"writable by {word}" in c.reason
    assert "chmod go-w" in c.reason


def test_writable_directory_refuses_its_files(root):
    root.write("admin", "policy.d/10-a.toml", OPT_IN)
    os.chmod(root.dir("admin") / "policy.d", 0o777)
    [c] = discover(str(root.path))
    assert c.status == "refused"
    assert "directory" in c.reason


@pytest.mark.skipif(os.getuid() != 0, reason="chown needs root")
def test_files_owned_by_another_user_are_refused(root):
    path = root.write("admin", "policy.toml", OPT_IN)
    os.chown(path, 12345, 12345)
    [c] = discover(str(root.path))
    assert c.status == "refused"
    assert c.reason.startswith("file is owned by uid 12345, not root or you; run chown root")


@pytest.mark.skipif(os.getuid() != 0, reason="chown needs root")
def test_owner_of_the_root_directory_is_trusted(root):
    path = root.write("admin", "policy.toml", OPT_IN)
    os.chown(path, 12345, 12345)
    os.chown(root.path, 12345, 12345)
    [c] = discover(str(root.path))
    assert c.status == "applied"


def test_oversize_file_is_invalid(root):
    root.write("admin", "policy.toml", b"#" * (1024 * 1024 + 10))
    [c] = discover(str(root.path))
    assert c.status == "invalid"
    assert c.reason.startswith("file is larger than 1024 KiB; a policy file is a few lines")


def test_policy_d_that_is_a_file_is_invalid(root):
    root.dir("admin").mkdir(parents=True)
    (root.dir("admin") / "policy.d").write_text("oops")
    [c] = discover(str(root.path))
    assert (c.status, c.reason) == ("invalid", f"{c.path} is not a directory")


def test_directory_symlinks_resolve_inside_the_root_too(root):
    # etc/telemetry-policy -> /srv/tp is absolute: it must mean <root>/srv/tp,
    # never this machine's /srv/tp
    (root.path / "srv/tp/policy.d").mkdir(parents=True)
    (root.path / "srv/tp/policy.d/10-a.toml").write_text(OPT_IN)
    os.chmod(root.path / "srv/tp/policy.d/10-a.toml", 0o644)
    (root.path / "etc").mkdir()
    (root.path / "etc/telemetry-policy").symlink_to("/srv/tp")
    [c] = discover(str(root.path))
    assert (c.status, c.name) == ("applied", "10-a.toml")
    assert c.path == str(root.path / "etc/telemetry-policy/policy.d/10-a.toml")  # as written


def test_a_looping_policy_directory_fails_closed(root):
    (root.path / "etc").mkdir()
    (root.path / "etc/telemetry-policy").symlink_to("telemetry-policy")
    found = discover(str(root.path))
    assert [c.status for c in found] == ["invalid"]
    assert "too many levels of symlinks" in found[0].reason


def test_dangling_policy_directory_link_fails_closed_but_absence_is_fine(root):
    (root.path / "etc").mkdir()
    assert discover(str(root.path)) == []  # no /etc/telemetry-policy: nothing to say
    (root.path / "etc/telemetry-policy").symlink_to("/srv/missing")
    [c] = discover(str(root.path))
    assert c.status == "invalid" and "dangling symlink" in c.reason


@pytest.mark.parametrize(
    "target", ["/dev/null", "/dev/./null", "//dev//null", "../../../dev/null", "/etc/../dev/null"]
)
def test_a_mask_is_a_link_to_the_null_device_however_spelled(root, target):
    # systemd's conf-files code follows the link and finds the null device
    # (src/basic/stat-util.c null_or_empty_path_with_root); an image may lack /dev
    root.write("vendor", "policy.d/10-a.toml", OPT_IN)
    d = root.dir("admin") / "policy.d"
    d.mkdir(parents=True)
    (d / "10-a.toml").symlink_to(target)
    got = {(c.tier, c.name): c.status for c in discover(str(root.path))}
    assert got[("admin", "10-a.toml")] == got[("vendor", "10-a.toml")] == "masked"


def test_a_link_to_a_link_to_the_null_device_is_a_mask(root):
    d = root.dir("admin") / "policy.d"
    d.mkdir(parents=True)
    (d / "null.link").symlink_to("/dev/null")
    (d / "10-a.toml").symlink_to("null.link")
    assert {c.name: c.status for c in discover(str(root.path))}["10-a.toml"] == "masked"


def test_drop_ins_apply_in_the_byte_order_of_their_names(root):
    # a name that is not UTF-8 sorts by its bytes (as systemd), not by code point
    names = [b"10-a.toml", b"\x80-latin1.toml", "é-x.toml".encode(), "中-y.toml".encode()]
    d = root.dir("vendor") / "policy.d"
    d.mkdir(parents=True)
    for n in names:
        p = os.path.join(os.fsencode(d), n)
        with open(p, "wb") as f:
            f.write(b"[policy]\nupload_delay_days = 1\n")
    got = [os.fsencode(c.name) for c in discover(str(root.path)) if c.status == "applied"]
    assert got == sorted(names)
