"""``hearth serve``: the local API server without a window (and without importing Qt)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve", help="run the local API server (OpenAI, Anthropic and Ollama compatible)"
    )
    parser.add_argument("--host", default=None, help="address to listen on (default: settings)")
    parser.add_argument("--port", type=int, default=None, help="port (default: settings, 4327)")
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="ID",
        help="load this model before serving (repeatable)",
    )
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from app.backend.core import HearthCore
    from app.backend.engine.client import EngineLoadError
    from app.backend.library import ModelNotFound
    from app.backend.server.runner import PortInUseError, ServerConfigError, ServerRunner
    from app.cli.output import fail

    core = HearthCore()
    overrides: dict[str, object] = {}
    if args.host:
        wildcard = args.host in ("0.0.0.0", "::")
        overrides["host"] = args.host
        overrides["serve_on_network"] = wildcard or core.settings.server.serve_on_network
    if args.port is not None:
        overrides["port"] = args.port
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    runner = ServerRunner(core)
    try:
        for name in args.model:
            model = core.library.resolve(name)
            print(f"Loading {model.id}…", file=sys.stderr, flush=True)
            core.engines.load(model)
        url = runner.start(overrides)
        where = ", ".join(_address(h, p) for h, p in runner.addresses)
        print(f"Hearth API listening on {where}", file=sys.stderr)
        print(f"OpenAI base URL: {url}/v1   Ollama: {url}   Anthropic: {url}", file=sys.stderr)
        print("Press Ctrl+C to stop.", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            if runner.state.value != "running":
                return fail(runner.message or "The server stopped.")
        print("Stopping…", file=sys.stderr, flush=True)
        return 0
    except PortInUseError as exc:
        hint = f" Try: hearth serve --port {exc.suggestion}" if exc.suggestion else ""
        return fail(f"{exc.strerror}{hint}")
    except ServerConfigError as exc:
        return fail(str(exc), 2)
    except (ModelNotFound, EngineLoadError, OSError) as exc:
        return fail(str(exc))
    finally:
        runner.stop()
        core.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
