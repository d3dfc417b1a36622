"""The packaging files stay in step with the one version source, pyproject.toml."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import telemetry_policy

REPO = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def _project_version() -> str:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def _needs(path: str) -> Path:
    p = REPO / path
    if not p.exists():  # a build from an sdist or wheel has no packaging files
        pytest.skip(f"{path} is not in this tree")
    return p


def test_module_version_is_the_project_version():
    assert telemetry_policy.__version__ == _project_version()


def test_debian_changelog_version_is_the_project_version():
    first = _needs("debian/changelog").read_text().splitlines()[0]
    m = re.fullmatch(r"telemetry-policy \(([^)]+)\) \S+; urgency=\w+", first)
    assert m, first
    # A native package has no Debian revision: the version is upstream's.
    assert m.group(1) == _project_version()


def test_rpm_spec_version_and_changelog_are_the_project_version():
    spec = _needs("rpm/telemetry-policy.spec").read_text()
    version = re.search(r"^Version:\s*(\S+)$", spec, re.M)
    release = re.search(r"^Release:\s*(\d+)%\{\?dist\}$", spec, re.M)
    assert version and release
    assert version.group(1) == _project_version()
    entry = re.search(r"^%changelog\n\* .+ - (\S+)$", spec, re.M)
    assert entry, "no %changelog entry"
    assert entry.group(1) == f"{version.group(1)}-{release.group(1)}"


def test_packages_install_the_vendor_presets_that_exist():
    rules = _needs("debian/rules").read_text()
    spec = _needs("rpm/telemetry-policy.spec").read_text()
    assert "policy/vendor/debian.toml" in rules
    assert "policy/vendor/fedora.toml" in spec
    for name in ("debian", "fedora"):
        assert (REPO / f"policy/vendor/{name}.toml").is_file()
