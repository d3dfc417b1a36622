"""TEST ONLY: the work behind rpm/test-macros/macros.pyproject-test.

Written from the documented behaviour of Fedora's pyproject-rpm-macros, for
packaging/rpm-test on Debian; not a copy of them, and never shipped.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import tomllib


def buildrequires(args: argparse.Namespace) -> None:
    from packaging.requirements import Requirement

    project = tomllib.loads(Path("pyproject.toml").read_text())
    wanted = list(project["build-system"]["requires"]) + project["project"]["dependencies"]
    extras = project["project"].get("optional-dependencies", {})
    for extra in filter(None, (args.extras or "").split(",")):
        wanted += extras[extra]
    for text in wanted:
        req = Requirement(text)
        if req.marker and not req.marker.evaluate():
            continue
        name = f"python3dist({req.name.lower()})"
        specs = [f"{name} {s.operator.replace('==', '=')} {s.version}" for s in req.specifier]
        print(" with ".join(specs) if len(specs) > 1 else (specs or [name])[0])


def install(args: argparse.Namespace) -> None:
    from installer import install as install_wheel
    from installer.destinations import SchemeDictionaryDestination
    from installer.sources import WheelFile

    scheme = {
        "purelib": args.sitelib,
        "platlib": args.sitelib,
        "scripts": args.bindir,
        "data": "/usr",
        "headers": "/usr/include",
    }
    destination = SchemeDictionaryDestination(
        scheme, interpreter=args.interpreter, script_kind="posix", destdir=args.root
    )
    for wheel in args.wheels:
        with WheelFile.open(wheel) as source:
            install_wheel(source, destination, {"INSTALLER": b"rpm\n"})


def save_files(args: argparse.Namespace) -> None:
    sitelib = Path(args.root + args.sitelib)
    lines = []
    for name in args.modules:
        if (sitelib / name).is_dir():
            lines.append(f"{args.sitelib}/{name}/")
        elif (sitelib / f"{name}.py").is_file():
            lines.append(f"{args.sitelib}/{name}.py")
        else:
            sys.exit(f"pyproject_save_files: no module {name} in {sitelib}")
    for info in sorted(sitelib.glob("*.dist-info")):
        top_level = info / "top_level.txt"
        top = top_level.read_text().split() if top_level.exists() else []
        if set(top) & set(args.modules):
            lines.append(f"{args.sitelib}/{info.name}/")
    Path(args.output).write_text("\n".join(lines) + "\n")


def check_import(args: argparse.Namespace) -> None:
    for line in Path(args.files).read_text().split():
        path = Path(args.root + line.rstrip("/"))
        if path.name.endswith(".dist-info"):
            continue
        base = path.parent
        modules = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for module in modules:
            parts = module.relative_to(base).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            importlib.import_module(name)
            print(f"imported {name}")


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("buildrequires")
    p.add_argument("--extras")
    p = sub.add_parser("install")
    for option in ("--root", "--sitelib", "--bindir", "--interpreter"):
        p.add_argument(option, required=True)
    p.add_argument("wheels", nargs="+")
    p = sub.add_parser("save-files")
    for option in ("--root", "--sitelib", "--output"):
        p.add_argument(option, required=True)
    p.add_argument("modules", nargs="+")
    p = sub.add_parser("check-import")
    p.add_argument("--root", required=True)
    p.add_argument("--files", required=True)
    args = parser.parse_args()
    {
        "buildrequires": buildrequires,
        "install": install,
        "save-files": save_files,
        "check-import": check_import,
    }[args.command](args)


if __name__ == "__main__":
    main()
