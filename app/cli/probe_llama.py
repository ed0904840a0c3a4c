"""Hidden ``hearth probe-llama``: how a bundled app probes its llama.cpp build in a child."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("probe-llama", add_help=False)
    parser.set_defaults(func=_run)


def _run(_args: argparse.Namespace) -> int:
    from app.backend.hardware.llama_probe import main

    return main()
