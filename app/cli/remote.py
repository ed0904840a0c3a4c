"""``hearth ps``, ``hearth load MODEL``, ``hearth unload MODEL``: talk to a running app or
``hearth serve``. The address comes from ``--url``, ``HEARTH_URL``, the running server's
``server.json`` in the data root, or the settings; a token from ``--token`` or
``HEARTH_API_TOKEN``."""

from __future__ import annotations

import argparse
import json
import os
import urllib.error
import urllib.request
from typing import Any


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, help_text in (
        ("ps", "list the models loaded in a running Hearth app or server"),
        ("load", "load a model in a running Hearth app or server"),
        ("unload", "unload a model from a running Hearth app or server"),
    ):
        parser = subparsers.add_parser(name, help=help_text)
        if name != "ps":
            parser.add_argument("model", help="a model id from 'hearth ls'")
        parser.add_argument("--url", default=None, help="server URL (default: the running one)")
        parser.add_argument("--token", default=None, help="API token (or HEARTH_API_TOKEN)")
        parser.add_argument("--json", action="store_true", help="print the server's JSON reply")
        parser.set_defaults(func=_remote, remote_action=name)


def server_url(explicit: str | None) -> str:
    """Where the running server is: flag, environment, runtime file, then the settings."""
    if explicit:
        return explicit.rstrip("/")
    if os.environ.get("HEARTH_URL"):
        return os.environ["HEARTH_URL"].rstrip("/")
    from app.backend.paths import DataPaths
    from app.backend.server.runner import RUNTIME_FILE
    from app.backend.settings import SettingsStore

    paths = DataPaths.default()
    try:
        return str(json.loads((paths.root / RUNTIME_FILE).read_text())["url"]).rstrip("/")
    except (OSError, ValueError, KeyError):
        port = SettingsStore(paths.settings_file).load().server.port
        return f"http://127.0.0.1:{port}"


def call(url: str, path: str, token: str | None, body: dict | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


def _remote(args: argparse.Namespace) -> int:
    from app.cli.output import fail

    url = server_url(args.url)
    token = args.token or os.environ.get("HEARTH_API_TOKEN")
    action = args.remote_action
    try:
        if action == "ps":
            reply = call(url, "/hearth/status", token)
        else:
            reply = call(url, f"/hearth/{action}", token, {"model": args.model})
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read())["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {exc.code}"
        return fail(message)
    except (urllib.error.URLError, OSError) as exc:
        return fail(f"No Hearth server at {url} ({exc}). Start one with 'hearth serve'.")
    if args.json:
        print(json.dumps(reply, indent=2))
    elif action == "ps":
        if not reply["loaded"]:
            print("No models loaded.")
        for model in reply["loaded"]:
            busy = f"{model['in_flight']} in flight" if model["in_flight"] else "idle"
            print(f"{model['id']}  ctx {model['n_ctx']}  {busy} {model['idle_s']:.0f}s")
        print(f"running {reply['running']}, queued {reply['queued']}, served {reply['served']}")
    else:
        state = "loaded" if reply["loaded"] else "unloaded"
        print(f"{reply['model']} {state}.")
    return 0
