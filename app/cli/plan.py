"""``hearth plan MODEL``: will it fit, how many layers on the GPU, how much context.

Plans for this machine by default, or for hypothetical hardware with ``--vram``/``--ram``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.I)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str) -> int:
    """``24G``, ``24GiB``, ``512M``, ``8.5g`` -> bytes (binary units; plain numbers are GiB)."""
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 24G or 512M)")
    unit = m.group(2).lower() or "g"
    return int(float(m.group(1)) * _UNITS[unit])


def parse_sizes(text: str) -> list[int]:
    return [parse_size(part) for part in text.split(",") if part.strip()]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="show how a model would load: GPU layers, context, memory",
        description="Plan memory for a model on this machine or on hypothetical hardware.",
    )
    parser.add_argument("model", help="a path to a .gguf file (or a model id from 'hearth ls')")
    parser.add_argument("--ctx", type=int, default=None, help="context length (default: largest)")
    parser.add_argument("--vram", type=parse_sizes, default=None, help="free VRAM per GPU: 24G,8G")
    parser.add_argument("--ram", type=parse_size, default=None, help="available RAM, e.g. 32G")
    parser.add_argument("--kv", choices=("f16", "q8_0", "q4_0"), default="f16", help="KV type")
    parser.add_argument(
        "--flash-attn",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="plan with flash attention (on by default, as models load)",
    )
    parser.add_argument("--parallel", type=int, default=1, help="parallel sequences (n_seq)")
    parser.add_argument("--no-swa-full", action="store_true", help="small sliding-window cache")
    parser.add_argument("--mmproj", default=None, help="a vision projector .gguf to include")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.set_defaults(func=_run)


def _resolve(reference: str) -> Path:
    path = Path(reference).expanduser()
    if path.exists():
        return path
    try:
        from app.backend.core import HearthCore
        from app.backend.library import ModelNotFound
    except ImportError:
        raise FileNotFoundError(f"no such file: {reference}") from None
    try:
        return Path(HearthCore().library.resolve(reference).path)
    except ModelNotFound as exc:
        raise FileNotFoundError(str(exc)) from None


def _run(args: argparse.Namespace) -> int:
    from app.backend.gguf import GGUFError, read_header
    from app.backend.planner import PlanRequest, plan_model
    from app.cli.output import fail

    if args.parallel < 1:
        return fail("--parallel must be at least 1")
    if args.ctx is not None and args.ctx < 1:
        return fail("--ctx must be positive")
    try:
        header = read_header(_resolve(args.model))
        projector = read_header(Path(args.mmproj)) if args.mmproj else None
    except FileNotFoundError as exc:
        return fail(str(exc))
    except (GGUFError, OSError) as exc:
        return fail(str(exc))
    resources, hardware_note = _resources(args)
    request = PlanRequest(
        n_ctx=args.ctx,
        type_k=args.kv,
        type_v=args.kv,
        flash_attn=args.flash_attn,
        n_seq=args.parallel,
        swa_full=not args.no_swa_full,
        projector=projector,
    )
    try:
        plan = plan_model(header, resources, request)
    except ValueError as exc:
        return fail(str(exc))
    if args.json:
        data: dict[str, Any] = plan.to_dict()
        data["model"] = str(args.model)
        data["hardware"] = hardware_note
        print(json.dumps(data, indent=2))
    else:
        print(format_plan(plan, header.name or Path(args.model).name, hardware_note))
    return 0 if plan.fits else 2


def _resources(args: argparse.Namespace) -> tuple[Any, str]:
    from app.backend.planner import Resources

    if args.vram is not None or args.ram is not None:
        from app.backend.hardware import detect_ram

        ram = args.ram if args.ram is not None else detect_ram().available_bytes
        vram = tuple(args.vram or ())
        note = "hypothetical: " + ", ".join(
            [*(f"GPU{i} {_fmt(v)} free" for i, v in enumerate(vram)), f"RAM {_fmt(ram)}"]
        )
        return Resources(gpu_free_bytes=vram, ram_available_bytes=ram), note
    from app.backend.hardware import detect_hardware
    from app.backend.planner import resources_from_hardware

    info = detect_hardware()
    res = resources_from_hardware(info)
    parts = [f"{g.name} {_fmt(g.vram_free_bytes)} free" for g in info.gpu.gpus]
    if not info.gpu.available and info.gpu.reason:
        parts.append(info.gpu.reason)
    parts.append(f"RAM {_fmt(info.ram.available_bytes)} available")
    return res, "this machine: " + "; ".join(parts)


def _fmt(n: int) -> str:
    gib = n / 1024**3
    return f"{gib:.1f} GiB" if gib >= 1 else f"{n / 1024**2:.0f} MiB"


_VERDICTS = {
    "full_gpu": "Fits entirely in VRAM",
    "partial": "Fits, split between GPU and CPU",
    "cpu_only": "Runs on the CPU",
    "does_not_fit": "Does not fit",
}


def format_plan(plan: Any, model_name: str, hardware_note: str) -> str:
    """The human table printed by ``hearth plan``."""
    m = plan.memory
    load = plan.load
    on_gpu = min(plan.gpu_layers, plan.n_layers)
    out_layer = " + output" if plan.gpu_layers > plan.n_layers else ""
    rows = [
        ("Model", model_name),
        ("Hardware", hardware_note),
        ("Verdict", f"{_VERDICTS[plan.verdict]} ({plan.verdict})"),
        ("GPU layers", f"{on_gpu}/{plan.n_layers}{out_layer}  (n_gpu_layers={plan.gpu_layers})"),
        ("Context", f"{plan.n_ctx:,} tokens  (KV {load.type_k}/{load.type_v}, "
                    f"flash_attn={'on' if load.flash_attn else 'off'}, "
                    f"swa_full={'on' if load.swa_full else 'off'}, parallel={plan.n_seq})"),
        ("Batch", f"n_batch={load.n_batch}, n_ubatch={plan.n_ubatch}"),
    ]  # fmt: skip
    if plan.tensor_split:
        rows.append(("Tensor split", ", ".join(f"{x:.2f}" for x in plan.tensor_split)))
    rows += [
        ("", ""),
        ("Weights", _fmt(m.weights_bytes)),
        ("KV cache", _fmt(m.kv_bytes)),
        ("Compute", f"{_fmt(m.compute_bytes)}  (reserved {_fmt(m.compute_reserved_bytes)})"),
        ("Output + overhead", _fmt(m.output_bytes + m.overhead_bytes)),
    ]
    if m.projector_bytes:
        rows.append(("Projector", _fmt(m.projector_bytes)))
    for i, used in enumerate(m.per_gpu_bytes):
        rows.append((f"GPU{i}", _fmt(used)))
    rows += [("CPU (RAM)", _fmt(m.cpu_bytes)), ("Total", _fmt(m.total_bytes))]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" if k else "" for k, v in rows]
    lines.append("")
    lines += [f"- {r}" for r in plan.reasons]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    from app.cli import main

    sys.exit(main(["plan", *sys.argv[1:]]))
