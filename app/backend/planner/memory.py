"""Memory llama.cpp allocates for a model at given settings, term by term.

Every term is traced to llama.cpp as vendored in llama-cpp-python 0.3.36:

* **weights**: the real tensor sizes from the header. ``blk.N.*`` go to layer N's device;
  ``token_embd`` always stays on the CPU (``dev_input`` in ``llama_model::load_tensors``);
  ``output``/``output_norm`` go to the "output layer" (index n_layer), on the GPU only when
  ``n_gpu_layers > n_layer``. Tied embeddings (no ``output.weight``) are loaded again on the
  output device (``TENSOR_DUPLICATED``) when that device is a GPU.
* **KV cache** (``llama_kv_cache``): per layer ``cells * row_size(type, head_dim * n_head_kv)``
  for K and for V. ``llama_context`` pads ``n_ctx`` to 256 and splits it into ``n_seq``
  streams; sliding-window layers (``llama_kv_cache_iswa``) keep
  ``GGML_PAD(min(n_ctx_seq, n_swa*(unified ? n_seq : 1) + n_ubatch), 256)`` cells per stream
  unless ``swa_full`` (llama.cpp's default), which makes them full size. With
  ``offload_kqv`` (default) each layer's cache lives on that layer's device.
* **output buffer** (``llama_context::output_reserve``): ``n_vocab * max(1, n_seq)`` f32
  logits in host memory, zeroed at creation.
* **compute buffer** (``sched_reserve``/``graph_reserve``): ggml-alloc sizes it to the peak of
  live tensors while running a worst-case ubatch (n_ubatch tokens, all outputs, full KV).
  Stages: attention (KQ mask per cache + KQ scores ``n_kv*n_ubatch*n_head`` f32 without flash
  attention, softmax in place + Q/KQV/residual activations), FFN (gate and up ``n_ff`` wide +
  residuals), logits (``n_vocab*n_outputs`` f32 + two ``n_embd`` activations). A device's
  buffer is the largest stage it runs. On a GPU the whole reserve is committed
  (``cudaMalloc``). On the CPU it is ``malloc``'d: pages never written are never resident,
  and llama-cpp-python asks for logits of the last token only (``logits_all=False``), so of
  the reserved ``n_ubatch`` logits rows only ``n_seq`` are ever touched; we count that.
* **host tables**: the tokenizer llama.cpp builds (``llama_vocab::impl``: ``id_to_token`` 40 B,
  ``token_to_id`` hash node+bucket 72 B, ``cache_token_to_piece`` 32 B per token; BPE
  ``bpe_ranks`` ~120 B per merge) and llama-cpp-python's sampling arrays
  (``LlamaTokenDataArray`` 20 B + the sampler's candidate vector 12 B per token).
* **runtime**: llama.cpp's shared libraries and Python bindings once imported (measured with
  the CPU wheel of 0.3.36: 16 MiB RSS), and per used GPU the CUDA context + cuBLAS handles
  (a reserve, ``GPU_CONTEXT_BYTES``; check it with ``bench/gpu_offload_check.sh``).
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field
from typing import Any

from .shape import ModelShape

MiB = 1024**2
F32 = 4
KV_PAD = 256  # GGML_PAD(n_ctx, 256) in llama_context; SWA cache also padded to 256
RUNTIME_BYTES = 16 * MiB
GPU_CONTEXT_BYTES = 512 * MiB
VOCAB_HOST_BYTES_PER_TOKEN = 40 + 72 + 32 + 20 + 12
HOST_BYTES_PER_MERGE = 120

# KV cache types: (elements per block, bytes per block), ggml type_traits.
KV_TYPES: dict[str, tuple[int, int]] = {
    "f32": (1, 4),
    "f16": (1, 2),
    "bf16": (1, 2),
    "q8_0": (32, 34),
    "q5_1": (32, 24),
    "q5_0": (32, 22),
    "q4_1": (32, 20),
    "q4_0": (32, 18),
    "iq4_nl": (32, 18),
}


def pad(n: int, to: int) -> int:
    return (n + to - 1) // to * to


def row_bytes(kv_type: str, n: int) -> int:
    block, size = KV_TYPES[kv_type]
    return (n + block - 1) // block * size


@dataclass(frozen=True)
class Settings:
    """Context settings that change memory; defaults are llama-cpp-python's."""

    n_ctx: int = 4096
    type_k: str = "f16"
    type_v: str = "f16"
    flash_attn: bool = False
    n_seq: int = 1
    swa_full: bool = True
    n_batch: int = 512
    n_ubatch: int = 512
    offload_kqv: bool = True
    op_offload: bool = True
    kv_unified: bool = False

    def effective(self) -> tuple[int, int, int, int]:
        """(n_ctx, n_ctx_seq, n_batch, n_ubatch) after llama-cpp-python and llama_context."""
        n_seq = max(1, self.n_seq)
        n_batch = min(self.n_ctx, self.n_batch)  # Llama.__init__: min(n_ctx, n_batch)
        n_ctx = pad(max(1, self.n_ctx), KV_PAD)
        if self.kv_unified or n_seq == 1:
            n_ctx_seq = n_ctx
        else:
            n_ctx_seq = pad(n_ctx // n_seq, KV_PAD)
            n_ctx = n_ctx_seq * n_seq
        n_batch = min(n_ctx, n_batch)
        n_ubatch = min(n_batch, self.n_ubatch)
        return n_ctx, n_ctx_seq, n_batch, n_ubatch


@dataclass
class DeviceUse:
    """Bytes on one device (``"CPU"`` or ``"GPU0"``...)."""

    name: str
    weights: int = 0
    kv: int = 0
    compute: int = 0
    compute_reserved: int = 0
    other: int = 0
    layers: int = 0

    @property
    def total(self) -> int:
        return self.weights + self.kv + self.compute + self.other


@dataclass
class MemoryBreakdown:
    """Where the bytes go. ``total_bytes = gpu_bytes + cpu_bytes``.

    ``compute_bytes`` counts what becomes resident in the worst case (full reserve on GPUs;
    on the CPU the part a full-context ubatch writes); ``compute_reserved_bytes`` is what
    llama.cpp prints as "compute buffer size". ``at_load_bytes`` is the footprint right
    after loading and a short prompt, before the CPU compute working set has been touched:
    RSS grows from there towards ``total_bytes`` as the context fills.
    """

    weights_bytes: int
    kv_bytes: int
    compute_bytes: int
    compute_reserved_bytes: int
    output_bytes: int
    overhead_bytes: int
    projector_bytes: int
    gpu_bytes: int
    cpu_bytes: int
    total_bytes: int
    per_gpu_bytes: list[int]
    kv_cells: int
    kv_cells_swa: int
    at_load_bytes: int = 0
    devices: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def layer_devices(n_layers: int, gpu_layers: int, splits: list[float]) -> list[int]:
    """Device of each layer 0..n_layers (last = output layer): -1 CPU, else GPU index.

    Same arithmetic as ``llama_model::load_tensors``: GPU layers are the last ones, split
    by cumulative fraction with ``upper_bound``.
    """
    n_gpu = len(splits)
    if n_gpu == 0 or gpu_layers <= 0:
        return [-1] * (n_layers + 1)
    total = sum(splits) or 1.0
    cum: list[float] = []
    acc = 0.0
    for s in splits:
        acc += s
        cum.append(acc / total)
    i_gpu_start = max(n_layers + 1 - gpu_layers, 0)
    act = min(gpu_layers, n_layers + 1)
    out = []
    for il in range(n_layers + 1):
        if il < i_gpu_start or il - i_gpu_start >= act:
            out.append(-1)
        else:
            idx = bisect.bisect_right(cum, (il - i_gpu_start) / act)
            out.append(min(idx, n_gpu - 1))
    return out


def kv_cells(shape: ModelShape, s: Settings) -> tuple[int, int]:
    """(cells of full-attention layers, cells of sliding-window layers), all streams."""
    _n_ctx, n_ctx_seq, _, n_ubatch = s.effective()
    n_stream = 1 if s.kv_unified else max(1, s.n_seq)
    base = n_ctx_seq * n_stream
    if not shape.n_swa or s.swa_full:
        return base, base
    per = min(n_ctx_seq, shape.n_swa * (max(1, s.n_seq) if s.kv_unified else 1) + n_ubatch)
    return base, pad(per, KV_PAD) * n_stream


def layer_kv_bytes(shape: ModelShape, s: Settings) -> list[int]:
    base, swa = kv_cells(shape, s)
    out = []
    for il in range(shape.n_layers):
        cells = swa if shape.is_swa[il] else base
        n_kv = shape.n_head_kv[il]
        k = row_bytes(s.type_k, shape.head_dim_k * n_kv)
        v = row_bytes(s.type_v, shape.head_dim_v * n_kv)
        out.append(cells * (k + v))
    return out


def compute_stages(shape: ModelShape, s: Settings, n_outputs: int) -> tuple[int, int]:
    """(peak of a layer's stages, peak of the output stage) for one worst-case ubatch."""
    _, _n_ctx_seq, _, nt = s.effective()
    base, swa = kv_cells(shape, s)
    n_stream = 1 if s.kv_unified else max(1, s.n_seq)
    mask_elt = 2 if s.flash_attn else F32
    mask = (base // n_stream) * nt * mask_elt
    if shape.n_swa and any(shape.is_swa):
        mask += (swa // n_stream) * nt * mask_elt
    n_head = max(shape.n_head)
    act = (shape.head_dim_k * n_head + shape.head_dim_v * n_head + 2 * shape.n_embd) * nt * F32
    scores = 0 if s.flash_attn else (base // n_stream) * nt * n_head * F32
    attn = mask + scores + act
    ffn = mask + (2 * shape.n_ff_max + 2 * shape.n_embd) * nt * F32
    logits = shape.n_vocab * n_outputs * F32 + 2 * shape.n_embd * nt * F32
    return max(attn, ffn), logits


def estimate(
    shape: ModelShape,
    s: Settings,
    gpu_layers: int,
    splits: list[float],
    projector_bytes: int = 0,
) -> MemoryBreakdown:
    """Bytes per device for ``gpu_layers`` offloaded over GPUs weighted by ``splits``."""
    n_gpu = len(splits)
    devs = layer_devices(shape.n_layers, gpu_layers, splits)
    cpu = DeviceUse("CPU")
    gpus = [DeviceUse(f"GPU{i}") for i in range(n_gpu)]

    def dev(i: int) -> DeviceUse:
        return cpu if i < 0 else gpus[i]

    kv = layer_kv_bytes(shape, s)
    for il in range(shape.n_layers):
        d = dev(devs[il]) if s.offload_kqv else cpu
        dev(devs[il]).weights += shape.layer_bytes[il]
        dev(devs[il]).layers += 1
        d.kv += kv[il]
    out_dev = dev(devs[shape.n_layers])
    out_dev.weights += shape.output_bytes
    if shape.tied_output and devs[shape.n_layers] >= 0:
        out_dev.weights += shape.token_embd_bytes  # TENSOR_DUPLICATED copy on the GPU
    cpu.weights += shape.token_embd_bytes

    _, _, _, nt = s.effective()
    n_seq = max(1, s.n_seq)
    layer_stage, logits_reserved = compute_stages(shape, s, nt)
    _, logits_touched = compute_stages(shape, s, n_seq)
    for i, d in enumerate([cpu, *gpus]):
        has_layers = d.layers > 0
        is_out = d is out_dev
        reserved = max(layer_stage if has_layers else 0, logits_reserved if is_out else 0)
        if d is cpu:
            resident = max(layer_stage if has_layers else 0, logits_touched if is_out else 0)
        else:
            resident = reserved
            if i > 0 and s.op_offload and cpu.layers > 0 and nt >= 32:
                # ggml_backend_sched copies CPU-resident weights of big-batch matmuls into
                # the GPU's compute buffer: room for the largest such tensor.
                cpu_layers = [il for il in range(shape.n_layers) if devs[il] < 0]
                resident += max(shape.layer_max_tensor[il] for il in cpu_layers)
        if d is cpu and not has_layers and not is_out:
            # CPU still runs the input embedding lookup: one n_embd x n_ubatch activation.
            resident = reserved = shape.n_embd * nt * F32
        d.compute += resident
        d.compute_reserved += resident if d is not cpu else reserved

    output_buf = shape.n_vocab * n_seq * F32
    host_tables = shape.n_vocab * VOCAB_HOST_BYTES_PER_TOKEN + shape.n_merges * HOST_BYTES_PER_MERGE
    cpu.other += output_buf + host_tables + RUNTIME_BYTES
    used_gpus = [g for g in gpus if g.layers > 0 or g is out_dev]
    for g in used_gpus:
        g.other += GPU_CONTEXT_BYTES
    if projector_bytes:
        (used_gpus[0] if used_gpus else cpu).other += projector_bytes

    per_gpu = [g.total for g in gpus]
    gpu_bytes = sum(per_gpu)
    all_devs = [cpu, *gpus]
    base_cells, swa_cells = kv_cells(shape, s)
    return MemoryBreakdown(
        weights_bytes=sum(d.weights for d in all_devs),
        kv_bytes=sum(d.kv for d in all_devs),
        compute_bytes=sum(d.compute for d in all_devs),
        compute_reserved_bytes=sum(d.compute_reserved for d in all_devs),
        output_bytes=output_buf,
        overhead_bytes=host_tables + RUNTIME_BYTES + GPU_CONTEXT_BYTES * len(used_gpus),
        projector_bytes=projector_bytes,
        gpu_bytes=gpu_bytes,
        cpu_bytes=cpu.total,
        total_bytes=gpu_bytes + cpu.total,
        per_gpu_bytes=per_gpu,
        kv_cells=base_cells,
        kv_cells_swa=swa_cells if shape.n_swa else 0,
        at_load_bytes=gpu_bytes + cpu.total - cpu.compute,
        devices=[
            {
                "name": d.name,
                "layers": d.layers,
                "weights_bytes": d.weights,
                "kv_bytes": d.kv,
                "compute_bytes": d.compute,
                "other_bytes": d.other,
                "total_bytes": d.total,
            }
            for d in all_devs
        ],
    )
