"""``hearth ls``: the installed models, id first on each line."""

from __future__ import annotations

import argparse
import json

from app.cli.output import human_count, human_size


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("ls", help="list installed models")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=_ls)


def _ls(args: argparse.Namespace) -> int:
    from app.backend.core import HearthCore

    core = HearthCore()
    models = core.library.scan()
    if args.json:
        rows = [
            {
                "id": m.id,
                "path": str(m.path),
                "size_bytes": m.size_bytes,
                "architecture": m.architecture,
                "quantization": m.quantization,
                "n_params": m.n_params,
                "n_ctx_train": m.n_ctx_train,
                "has_chat_template": m.has_chat_template,
                "error": m.error,
            }
            for m in models
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not models:
        print(f"No models installed in {core.paths.models}.")
        print("Run 'make setup' to install the starter model, or copy a .gguf file there.")
        return 0
    width = max(len(m.id) for m in models)
    for m in models:
        details = m.error or (
            f"{m.architecture:<10} {human_count(m.n_params):>6}  {m.quantization:<8} "
            f"ctx {m.n_ctx_train}"
        )
        print(f"{m.id:<{width}}  {human_size(m.size_bytes):>9}  {details}")
    return 0
