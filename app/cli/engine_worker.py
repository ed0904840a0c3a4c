"""Hidden ``hearth engine-worker``: how a bundled app starts its engine process."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("engine-worker", add_help=False)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--params", default="{}")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from app.backend.engine.worker import run_worker

    return run_worker(args.fd, args.model, args.params)
