"""Entry point of the bundled app (PyInstaller runs this as ``__main__``).

Everything goes through ``app.cli.main``, so every subcommand (``ls``, ``run``, ``serve``, the
hidden ``engine-worker`` the engine process is started with) works from the bundle. One extra
rule: launched with only ``.gguf`` files (a file manager's "Open with Hearth", the desktop
entry's ``%F``), it opens the window, which hands the files to a running Hearth or shows them.
"""

from __future__ import annotations

import sys


def quiet_backend_loading(args: list[str]) -> None:
    """Keep ggml's "loaded CPU backend from ..." line out of the CLI's and the window's stderr.

    The bundle's llama.cpp loads its backends as plugins and says so at INFO level; a pip
    install links them in and stays silent. llama-cpp-python prints llama.cpp's log unless its
    logger's level is above INFO. The engine process keeps the full log (its stderr is
    ``engine-*.log``), where the line tells which CPU variant was picked.
    """
    if args[:1] != ["engine-worker"]:
        import logging

        logging.getLogger("llama-cpp-python").setLevel(logging.WARNING)


def main() -> int:
    args = sys.argv[1:]
    quiet_backend_loading(args)
    if args and all(arg.lower().endswith(".gguf") for arg in args):
        from app.ui.app import run_gui

        return run_gui()
    from app.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
