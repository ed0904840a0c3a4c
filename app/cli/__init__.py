"""The ``hearth`` command: one entry point, like ``lms`` and ``ollama``.

Each subcommand lives in its own module exposing ``register(subparsers)``; the module sets
``func`` on its parser, which receives the parsed arguments and returns an exit code.
Bare ``hearth`` opens the window (Qt is imported only then).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from app import __version__

SUBCOMMAND_MODULES = (
    "app.cli.models",
    "app.cli.run",
    "app.cli.plan",
    "app.cli.pull",
    "app.cli.setup_cmd",
    "app.cli.engine_worker",
    "app.cli.probe_llama",
    "app.cli.serve",
    "app.cli.remote",
    "app.cli.token",
    "app.cli.usage",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth",
        description="Run large language models privately on your own machine.",
    )
    parser.add_argument("--version", action="version", version=f"hearth {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # a subcommand not built yet
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0].lower().endswith(".gguf"):
        # `hearth model.gguf` (a file manager's "Open with"): the window opens it.
        from app.ui.app import run_gui

        return run_gui()
    parser = build_parser()
    args = parser.parse_args(arguments)
    if args.command is None:
        from app.ui.app import run_gui

        return run_gui()
    exit_code: int = args.func(args)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
