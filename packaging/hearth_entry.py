"""Entry point of the bundled app (PyInstaller runs this as ``__main__``).

Everything goes through ``app.cli.main``, so every subcommand (``ls``, ``run``, ``serve``, the
hidden ``engine-worker`` the engine process is started with) works from the bundle. One extra
rule: launched with only ``.gguf`` files (a file manager's "Open with Hearth", the desktop
entry's ``%F``), it opens the window, which hands the files to a running Hearth or shows them.
"""

from __future__ import annotations

import sys


def main() -> int:
    args = sys.argv[1:]
    if args and all(arg.lower().endswith(".gguf") for arg in args):
        from app.ui.app import run_gui

        return run_gui()
    from app.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
