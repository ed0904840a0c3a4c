"""llama.cpp through llama-cpp-python's low-level API, used only inside the engine process.

Why the low-level API: the high-level ``Llama.create_completion`` copies the whole logits row
(262k floats for Gemma 3) into numpy on every token; sampling in C with a ``llama_sampler`` chain
avoids that. This module owns the model and one context; the batching scheduler
(``scheduler.py``) decides what each ``llama_decode`` holds.

The context is sized for ``n_parallel`` sequences of ``n_ctx`` tokens each, in one unified KV
cache (so sequences can share prefix cells), with extra sequence ids beyond ``n_parallel`` that
keep finished conversations cached for reuse.
"""

from __future__ import annotations

import ctypes
import math
import time
from collections.abc import Callable

import llama_cpp as ll
import numpy as np

from app.backend.engine.types import (
    LoadParams,
    ModelInfo,
    SamplingParams,
    TokenLogprob,
    TopLogprob,
)

KV_TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8, "bf16": 30}

_backend_ready = False


class EngineRuntimeError(Exception):
    """A user-facing failure inside the runtime (load failed, prompt too long)."""


DEFAULT_PARALLEL = 4  # when nothing (planner, user) chose: enough for chat + an API client
CACHED_SEQUENCES = 8  # idle sequence ids kept beyond n_parallel for prefix reuse
KV_PAD = 256  # llama.cpp pads context sizes to this


def _ensure_backend() -> None:
    global _backend_ready
    if not _backend_ready:
        ll.llama_backend_init()
        _backend_ready = True


class LlamaRuntime:
    """One model and one multi-sequence context."""

    def __init__(
        self,
        path: str,
        params: LoadParams,
        on_progress: Callable[[float], None] | None = None,
    ) -> None:
        _ensure_backend()
        started = time.perf_counter()
        self.path = path
        self.params = params
        self._abort_requested = False

        mparams = ll.llama_model_default_params()
        mparams.n_gpu_layers = params.n_gpu_layers
        mparams.use_mmap = params.use_mmap
        mparams.use_mlock = params.use_mlock
        if on_progress is not None:

            def progress(fraction: float, _data: ctypes.c_void_p) -> bool:
                on_progress(float(fraction))
                return True

            self._progress_cb = ll.llama_progress_callback(progress)
            mparams.progress_callback = self._progress_cb
        model = ll.llama_model_load_from_file(path.encode(), mparams)
        if not model:
            raise EngineRuntimeError(
                "llama.cpp could not load this model (see the engine log for its reason)"
            )
        self.model = model
        self.vocab = ll.llama_model_get_vocab(model)

        cparams = ll.llama_context_default_params()
        n_ctx_train = ll.llama_model_n_ctx_train(model)
        per_seq = params.n_ctx if params.n_ctx > 0 else n_ctx_train
        per_seq = -(-per_seq // KV_PAD) * KV_PAD
        self.n_parallel = max(1, params.n_parallel or DEFAULT_PARALLEL)
        self.n_seq_max = min(256, self.n_parallel + CACHED_SEQUENCES)
        cparams.n_ctx = per_seq * self.n_parallel
        cparams.n_seq_max = self.n_seq_max
        cparams.kv_unified = True
        cparams.n_batch = max(params.n_batch, self.n_parallel)
        cparams.n_ubatch = min(params.n_batch, 512)
        threads = params.n_threads or _default_threads()
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        cparams.type_k = KV_TYPES[params.type_k]
        cparams.type_v = KV_TYPES[params.type_v]
        # AUTO, not ENABLED: a GPU backend without the kernel falls back to plain attention
        # instead of running attention on the CPU.
        cparams.flash_attn_type = (
            ll.LLAMA_FLASH_ATTN_TYPE_AUTO
            if params.flash_attn
            else ll.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        cparams.swa_full = params.swa_full
        cparams.no_perf = True
        ctx = ll.llama_init_from_model(model, cparams)
        if not ctx:
            ll.llama_model_free(model)
            raise EngineRuntimeError(
                "llama.cpp could not create a context of this size (not enough memory?)"
            )
        self.ctx = ctx
        self.memory = ll.llama_get_memory(ctx)
        self.n_ctx_total = ll.llama_n_ctx(ctx)
        self.n_ctx = per_seq  # what one conversation may hold
        self.n_batch = int(cparams.n_batch)
        self.n_vocab = ll.llama_vocab_n_tokens(self.vocab)
        self.swa_window = max(0, int(ll.llama_model_n_swa(model)))

        self._abort_cb = ll.ggml_abort_callback(lambda _data: self._abort_requested)
        ll.llama_set_abort_callback(ctx, self._abort_cb, None)

        self._piece_buf = ctypes.create_string_buffer(256)
        # Chains that are plain greedy (temperature 0, no grammar, no penalties), by id() (ctypes
        # pointers are unhashable; holding them keeps the ids unique until they are freed):
        # ``sample`` takes the argmax of their logits row directly (see there).
        self._greedy_chains: dict[int, ll.llama_sampler_p] = {}
        self.load_time_s = time.perf_counter() - started

    # ----------------------------------------------------------------- model facts
    def info(self) -> ModelInfo:
        return ModelInfo(
            path=self.path,
            architecture=self.meta("general.architecture") or "",
            n_ctx=self.n_ctx,
            n_ctx_train=ll.llama_model_n_ctx_train(self.model),
            n_params=ll.llama_model_n_params(self.model),
            n_layers=ll.llama_model_n_layer(self.model),
            n_gpu_layers=self.params.n_gpu_layers,
            bos_token=self.token_text(ll.llama_vocab_bos(self.vocab)),
            eos_token=self.token_text(ll.llama_vocab_eos(self.vocab)),
            chat_template=self.meta("tokenizer.chat_template"),
            load_time_s=self.load_time_s,
            n_parallel=self.n_parallel,
        )

    def meta(self, key: str) -> str | None:
        size = ll.llama_model_meta_val_str(self.model, key.encode(), None, 0)
        if size < 0:
            return None
        buf = ctypes.create_string_buffer(size + 1)
        ll.llama_model_meta_val_str(self.model, key.encode(), buf, size + 1)
        return buf.value.decode("utf-8", errors="replace")

    def token_text(self, token: int) -> str:
        if token < 0:
            return ""
        text = ll.llama_vocab_get_text(self.vocab, token)
        return text.decode("utf-8", errors="replace") if text else ""

    def tokenize(self, text: str, add_bos: bool) -> list[int]:
        data = text.encode("utf-8")
        capacity = len(data) + 8
        tokens = (ll.llama_token * capacity)()
        count = ll.llama_tokenize(self.vocab, data, len(data), tokens, capacity, add_bos, True)
        if count < 0:
            capacity = -count
            tokens = (ll.llama_token * capacity)()
            count = ll.llama_tokenize(self.vocab, data, len(data), tokens, capacity, add_bos, True)
        return list(tokens[:count])

    def prompt_tokens(self, prompt: str, add_bos: bool) -> list[int]:
        """The prompt as decoded: never empty (a lone BOS gives the first logits)."""
        return self.tokenize(prompt, add_bos) or [ll.llama_vocab_bos(self.vocab)]

    def piece(self, token: int) -> bytes:
        n = ll.llama_token_to_piece(self.vocab, token, self._piece_buf, 256, 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = ll.llama_token_to_piece(self.vocab, token, buf, -n, 0, False)
            return buf.raw[:n]
        return self._piece_buf.raw[:n]

    # ------------------------------------------------------------------ decoding
    def request_abort(self) -> None:
        """Called from another thread: makes a running decode return early."""
        self._abort_requested = True

    def clear_abort(self) -> None:
        self._abort_requested = False

    def decode(self, batch: ll.llama_batch) -> int:
        """One ``llama_decode``; returns llama.cpp's code (0 ok, 1 no KV slot, 2 aborted)."""
        return int(ll.llama_decode(self.ctx, batch))

    def sample(self, sampler: ll.llama_sampler_p, index: int) -> int:
        """Sample (and accept) the next token from the logits of batch row ``index``.

        A greedy-only chain is answered with numpy's argmax over the row: the same token
        (the first maximum, as llama.cpp's greedy sampler picks), but without filling a
        vocabulary-sized candidate array first (262k entries for Gemma 3: ~1-2 ms per token
        on 2 busy cores, against ~0.1 ms). Accepting a token changes nothing in such a chain.
        """
        if id(sampler) in self._greedy_chains:
            return self.argmax(index)
        return int(ll.llama_sampler_sample(sampler, self.ctx, index))

    def argmax(self, index: int) -> int:
        """The most likely next token of batch row ``index`` (first one on ties)."""
        row = np.ctypeslib.as_array(ll.llama_get_logits_ith(self.ctx, index), (self.n_vocab,))
        return int(row.argmax())

    def logprob(self, index: int, token: int, top: int) -> TokenLogprob:
        """``token``'s log-probability under batch row ``index`` and the ``top`` likeliest
        tokens: a log-softmax of the raw logits (before temperature and filters), computed
        only for requests that ask (one pass over the vocabulary, ~1 ms for 262k)."""
        row = np.ctypeslib.as_array(ll.llama_get_logits_ith(self.ctx, index), (self.n_vocab,))
        peak = float(row.max())
        # exp in float32 (the logits' own precision), the sum in float64
        log_total = peak + math.log(float(np.exp(row - peak).sum(dtype=np.float64)))
        alternatives: list[TopLogprob] = []
        if top > 0:
            best = np.argpartition(row, -top)[-top:]
            for candidate in best[np.argsort(-row[best], kind="stable")]:
                text, raw = self._piece_text(int(candidate))
                alternatives.append(TopLogprob(text, raw, float(row[candidate]) - log_total))
        text, raw = self._piece_text(token)
        return TokenLogprob(text, raw, float(row[token]) - log_total, alternatives)

    def _piece_text(self, token: int) -> tuple[str, list[int]]:
        raw = self.piece(token)
        return raw.decode("utf-8", errors="replace"), list(raw)

    def is_eog(self, token: int) -> bool:
        return bool(ll.llama_vocab_is_eog(self.vocab, token))

    def seq_rm(self, seq_id: int, p0: int, p1: int = -1) -> bool:
        return bool(ll.llama_memory_seq_rm(self.memory, seq_id, p0, p1))

    def seq_cp(self, src: int, dst: int, p0: int, p1: int) -> None:
        ll.llama_memory_seq_cp(self.memory, src, dst, p0, p1)

    def seq_pos_min(self, seq_id: int) -> int:
        """Smallest position ``seq_id`` still holds (-1 if none); a compact sliding-window
        cache drops positions that fell out of the window."""
        return int(ll.llama_memory_seq_pos_min(self.memory, seq_id))

    def state_get(self, seq_id: int) -> bytes:
        """A sequence's KV state as bytes (for a sliding-window model: only the window part of
        its window layers, so a restored state serves continuations, not older edits)."""
        size = ll.llama_state_seq_get_size(self.ctx, seq_id)
        buffer = (ctypes.c_uint8 * size)()
        written = ll.llama_state_seq_get_data(self.ctx, buffer, size, seq_id)
        return bytes(buffer)[:written]

    def state_set(self, seq_id: int, state: bytes) -> bool:
        source = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        return bool(ll.llama_state_seq_set_data(self.ctx, source, len(state), seq_id))

    def clear_memory(self) -> None:
        ll.llama_memory_clear(self.memory, True)

    def free_sampler(self, sampler: ll.llama_sampler_p) -> None:
        self._greedy_chains.pop(id(sampler), None)
        ll.llama_sampler_free(sampler)

    def build_sampler(self, sampling: SamplingParams, grammar: str | None) -> ll.llama_sampler_p:
        """A C-side sampler chain for one sequence (each sequence owns its own, with its seed,
        penalties history and grammar state)."""
        chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        add = ll.llama_sampler_chain_add
        if grammar:
            constraint = ll.llama_sampler_init_grammar(self.vocab, grammar.encode(), b"root")
            if not constraint:
                ll.llama_sampler_free(chain)
                raise EngineRuntimeError("The output grammar is not valid GBNF.")
            add(chain, constraint)
        penalties = sampling.repeat_last_n != 0 and (
            sampling.repeat_penalty != 1.0
            or sampling.frequency_penalty != 0.0
            or sampling.presence_penalty != 0.0
        )
        if penalties:
            add(
                chain,
                ll.llama_sampler_init_penalties(
                    self.n_vocab,
                    sampling.repeat_last_n,
                    sampling.repeat_penalty,
                    sampling.frequency_penalty,
                    sampling.presence_penalty,
                ),
            )
        if sampling.temperature <= 0:
            add(chain, ll.llama_sampler_init_greedy())
            if not grammar and not penalties:
                self._greedy_chains[id(chain)] = chain
            return chain
        if sampling.top_k > 0:
            add(chain, ll.llama_sampler_init_top_k(sampling.top_k))
        if sampling.top_p < 1.0:
            add(chain, ll.llama_sampler_init_top_p(sampling.top_p, 1))
        if sampling.min_p > 0.0:
            add(chain, ll.llama_sampler_init_min_p(sampling.min_p, 1))
        add(chain, ll.llama_sampler_init_temp(sampling.temperature))
        seed = sampling.seed if sampling.seed is not None else ll.LLAMA_DEFAULT_SEED
        add(chain, ll.llama_sampler_init_dist(seed & 0xFFFFFFFF))
        return chain

    # ------------------------------------------------------------------ embeddings
    def embed(self, texts: list[str]) -> list[list[float]]:
        """Mean-pooled, L2-normalised embeddings from a second, embeddings-only context.

        The generation context keeps its KV cache (and prefix reuse) untouched.
        """
        vectors: list[list[float]] = []
        for text in texts:
            tokens = self.tokenize(text, add_bos=True)[: self._embed_capacity()]
            ctx = self._embedding_context()
            ll.llama_memory_clear(ll.llama_get_memory(ctx), True)
            array = (ll.llama_token * len(tokens))(*tokens)
            if ll.llama_decode(ctx, ll.llama_batch_get_one(array, len(tokens))) != 0:
                raise EngineRuntimeError("Could not compute the embedding for this input.")
            pointer = ll.llama_get_embeddings_seq(ctx, 0)
            if not pointer:
                raise EngineRuntimeError("This model does not produce embeddings.")
            n_embd = ll.llama_model_n_embd(self.model)
            values = [float(pointer[i]) for i in range(n_embd)]
            norm = sum(v * v for v in values) ** 0.5 or 1.0
            vectors.append([v / norm for v in values])
        return vectors

    def _embed_capacity(self) -> int:
        return min(self.n_ctx, 2048)

    def _embedding_context(self) -> ll.llama_context_p:
        if getattr(self, "_embed_ctx", None) is None:
            cparams = ll.llama_context_default_params()
            capacity = self._embed_capacity()
            cparams.n_ctx = capacity
            cparams.n_batch = capacity
            cparams.n_ubatch = capacity
            cparams.embeddings = True
            cparams.pooling_type = ll.LLAMA_POOLING_TYPE_MEAN
            threads = self.params.n_threads or _default_threads()
            cparams.n_threads = threads
            cparams.n_threads_batch = threads
            ctx = ll.llama_init_from_model(self.model, cparams)
            if not ctx:
                raise EngineRuntimeError("Not enough memory for an embeddings context.")
            self._embed_ctx = ctx
        return self._embed_ctx

    def close(self) -> None:
        if getattr(self, "_embed_ctx", None):
            ll.llama_free(self._embed_ctx)
            self._embed_ctx = None
        if getattr(self, "ctx", None):
            ll.llama_free(self.ctx)
            self.ctx = None
        if getattr(self, "model", None):
            ll.llama_model_free(self.model)
            self.model = None


def _default_threads() -> int:
    return default_thread_count()


def default_thread_count() -> int:
    """Threads for decoding when the user has not chosen: one per physical core, but leave a
    core free for the window when there are no SMT siblings to absorb it.

    llama.cpp's worker threads spin at their barriers; with every core taken, any other busy
    process (the window redrawing, a browser) stalls them all. Measured on a 2-core machine
    under light background load: 2 threads 6.5-7 tok/s, 1 thread 15.5-16 tok/s.
    """
    import psutil

    logical = psutil.cpu_count(logical=True) or 1
    physical = psutil.cpu_count(logical=False) or logical
    if logical > physical:
        return physical
    return max(1, physical - 1)
