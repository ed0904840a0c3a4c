"""The typed settings schema.

Every field has a default and a ``description`` in its metadata (plus ``min``/``max`` for
numbers where a range matters) so a settings page can be generated from the schema alone.
Secrets (API tokens, keys) are deliberately absent: they live in the OS keyring via
``app.backend.secrets``. The data root is not a setting either (see ``app.backend.paths``).
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any, Literal, get_type_hints

from app.backend.engine.types import LoadParams, SamplingParams

SETTINGS_VERSION = 2

Theme = Literal["system", "light", "dark"]
SecretsFileFallback = Literal["ask", "allow", "deny"]


def _desc(text: str, **extra: Any) -> dict[str, Any]:
    return {"description": text, **extra}


@dataclass
class AppearanceSettings:
    theme: Theme = field(
        default="system", metadata=_desc("Colour scheme; 'system' follows the OS setting.")
    )
    font_size: int = field(
        default=11, metadata=_desc("Base font size of the chat, in points.", min=6, max=48)
    )


@dataclass
class ModelSettings:
    extra_folders: list[str] = field(
        default_factory=list,
        metadata=_desc("Additional folders scanned for .gguf models, besides the data folder."),
    )


@dataclass
class DownloadSettings:
    max_concurrent: int = field(
        default=2, metadata=_desc("How many model files download at the same time.", min=1, max=8)
    )
    resume_on_start: bool = field(
        default=True,
        metadata=_desc("Resume downloads that were running when Hearth was closed."),
    )


@dataclass
class ChatSettings:
    send_with_enter: bool = field(
        default=True,
        metadata=_desc("Enter sends the message (Shift+Enter adds a new line); else Ctrl+Enter."),
    )
    show_generation_stats: bool = field(
        default=True, metadata=_desc("Show tokens per second and timings under each reply.")
    )
    default_system_prompt: str = field(
        default="", metadata=_desc("System prompt given to new conversations.")
    )


@dataclass
class WindowState:
    geometry_b64: str | None = field(
        default=None, metadata=_desc("Saved main-window geometry (Qt saveGeometry, base64).")
    )
    maximized: bool = field(default=False, metadata=_desc("Whether the window was maximized."))
    first_run_done: bool = field(
        default=False, metadata=_desc("Whether the first-run welcome has been shown.")
    )


@dataclass
class PerModelSettings:
    load: dict[str, Any] | None = field(
        default=None,
        metadata=_desc("Load parameters overriding the defaults for this model (partial)."),
    )
    template_mode: str | None = field(
        default=None, metadata=_desc("How the chat template is chosen for this model.")
    )
    template_override: str | None = field(
        default=None, metadata=_desc("Custom Jinja chat template used instead of the model's.")
    )


@dataclass
class ServerSettings:
    """The local API server (OpenAI, Anthropic and Ollama dialects); see ``app.backend.server``."""

    auto_start: bool = field(
        default=False, metadata=_desc("Start the local API server when Hearth opens.")
    )
    host: str = field(
        default="127.0.0.1",
        metadata=_desc(
            "Address the server listens on; 127.0.0.1 also listens on ::1 (this computer only)."
        ),
    )
    port: int = field(
        default=4327, metadata=_desc("TCP port of the local API server.", min=1, max=65535)
    )
    serve_on_network: bool = field(
        default=False,
        metadata=_desc(
            "Also accept connections from the local network (needs at least one API token)."
        ),
    )
    jit_loading: bool = field(
        default=True,
        metadata=_desc("Load a downloaded model on the first request that names it."),
    )
    idle_ttl_minutes: int = field(
        default=60,
        metadata=_desc(
            "Unload a model the server loaded after this many idle minutes (0 = never).",
            min=0,
            max=10_080,
        ),
    )
    cors_origins: list[str] = field(
        default_factory=list,
        metadata=_desc("Web origins allowed to call the API from a browser (empty = none)."),
    )
    log_prompts: bool = field(
        default=False, metadata=_desc("Write prompt text into the server's request log.")
    )
    max_queue: int = field(
        default=128,
        metadata=_desc(
            "Requests that may wait for the engine; more are refused with 503.", min=1, max=4096
        ),
    )
    max_parallel: int = field(
        default=4,
        metadata=_desc(
            "Requests per model handed to the engine at once (the chat gets a fair turn).",
            min=1,
            max=64,
        ),
    )
    max_body_mb: int = field(
        default=16, metadata=_desc("Largest request body accepted, in MiB.", min=1, max=1024)
    )


@dataclass
class CostSettings:
    """What running models here costs: energy price, power model, hardware amortisation."""

    electricity_price_per_kwh: float = field(
        default=0.30,
        metadata=_desc("What one kWh of electricity costs you, in your currency.", min=0, max=100),
    )
    currency: str = field(
        default="USD", metadata=_desc("Your currency's code or symbol, shown beside costs.")
    )
    usd_rate: float = field(
        default=1.0,
        metadata=_desc(
            "What one US dollar is worth in your currency (cloud prices are in USD).",
            min=0.01,
            max=1_000_000,
        ),
    )
    cpu_package_power_w: float = field(
        default=65.0,
        metadata=_desc(
            "CPU package power (TDP) in watts; energy on CPU is this times measured use.",
            min=0,
            max=2000,
        ),
    )
    gpu_idle_baseline_w: float = field(
        default=0.0,
        metadata=_desc(
            "GPU draw in watts that is not charged to generations (0 = charge all of it).",
            min=0,
            max=5000,
        ),
    )
    hardware_price: float = field(
        default=0.0,
        metadata=_desc("What the machine cost, for amortisation (0 = leave it out).", min=0),
    )
    amortisation_months: int = field(
        default=36,
        metadata=_desc("Months over which the hardware price is spread.", min=1, max=240),
    )
    compare_with: str = field(
        default="gpt-4o-mini",
        metadata=_desc(
            "Cloud model (an id from the price table) that savings are measured against."
        ),
    )


@dataclass
class PrivacySettings:
    local_only: bool = field(
        default=False,
        metadata=_desc(
            "Local only: nothing leaves this computer. Hub search, downloads and remote "
            "engines are disabled until you turn this off."
        ),
    )
    secrets_file_fallback: SecretsFileFallback = field(
        default="ask",
        metadata=_desc(
            "When no system keyring is usable, may the Hugging Face token be kept in a "
            "private file readable only by you? 'ask' the first time (the answer is "
            "remembered here), 'allow', or 'deny' (never write it to a file)."
        ),
    )


@dataclass
class RemoteEndpoint:
    """An OpenAI-compatible server used as a model source; its key lives in the keyring."""

    name: str = field(default="", metadata=_desc("A short unique name (letters, digits, - _ .)."))
    base_url: str = field(
        default="", metadata=_desc("Base URL up to /v1, e.g. http://gpu-box:8000/v1.")
    )
    enabled: bool = field(default=True, metadata=_desc("Offer this endpoint's models."))


@dataclass
class FallbackRule:
    """When a local model cannot answer, route its requests to a remote model."""

    remote_model: str = field(
        default="", metadata=_desc("The remote model id (remote:ENDPOINT/MODEL) to fall back to.")
    )
    on_not_loaded: bool = field(
        default=True, metadata=_desc("Fall back when the local model is not loaded.")
    )
    on_failure: bool = field(
        default=True,
        metadata=_desc("Fall back when the local engine fails before the first token."),
    )
    busy_in_flight: int = field(
        default=0,
        metadata=_desc(
            "Fall back when this many requests are already running locally (0 = never).",
            min=0,
            max=4096,
        ),
    )
    first_token_timeout_s: float = field(
        default=0.0,
        metadata=_desc(
            "Fall back when no token arrived within this many seconds (0 = never).",
            min=0,
            max=3600,
        ),
    )


@dataclass
class Settings:
    version: int = field(
        default=SETTINGS_VERSION, metadata=_desc("Schema version of the settings file.")
    )
    appearance: AppearanceSettings = field(
        default_factory=AppearanceSettings, metadata=_desc("Look and feel.")
    )
    models: ModelSettings = field(
        default_factory=ModelSettings, metadata=_desc("Where models are found.")
    )
    load_defaults: LoadParams = field(
        default_factory=LoadParams, metadata=_desc("How models are loaded unless overridden.")
    )
    sampling_defaults: SamplingParams = field(
        default_factory=SamplingParams, metadata=_desc("Sampling settings for new chats.")
    )
    chat: ChatSettings = field(default_factory=ChatSettings, metadata=_desc("Chat behaviour."))
    downloads: DownloadSettings = field(
        default_factory=DownloadSettings, metadata=_desc("Model downloads from Hugging Face.")
    )
    window: WindowState = field(
        default_factory=WindowState, metadata=_desc("Window placement, restored on start.")
    )
    server: ServerSettings = field(
        default_factory=ServerSettings, metadata=_desc("The local API server.")
    )
    per_model: dict[str, PerModelSettings] = field(
        default_factory=dict, metadata=_desc("Settings remembered per model, keyed by model id.")
    )
    costs: CostSettings = field(
        default_factory=CostSettings,
        metadata=_desc("Energy and hardware costs, for the Usage page."),
    )
    privacy: PrivacySettings = field(
        default_factory=PrivacySettings, metadata=_desc("What may leave this computer.")
    )
    remotes: list[RemoteEndpoint] = field(
        default_factory=list,
        metadata=_desc("Remote OpenAI-compatible endpoints (keys are kept in the keyring)."),
    )
    fallback: dict[str, FallbackRule] = field(
        default_factory=dict,
        metadata=_desc("Remote fallback per local model, keyed by model id."),
    )


# The engine's parameter types are shared with other layers and carry no metadata; their
# descriptions for the settings page live here.
EXTERNAL_DESCRIPTIONS: dict[type, dict[str, str]] = {
    LoadParams: {
        "n_ctx": "Context length in tokens: how much conversation the model can see.",
        "n_gpu_layers": "Layers offloaded to the GPU (0 = CPU only).",
        "n_threads": "CPU threads used for generation (empty = automatic).",
        "n_batch": "Tokens processed per batch while reading the prompt.",
        "use_mmap": "Memory-map the model file instead of reading it all in.",
        "use_mlock": "Lock the model in RAM so the OS cannot swap it out.",
        "flash_attn": "Use flash attention where supported (faster, less memory).",
        "type_k": "Precision of the attention key cache.",
        "type_v": "Precision of the attention value cache.",
        "swa_full": "Keep a full-size cache for sliding-window-attention models.",
        "n_parallel": "Requests decoded together (continuous batching); 0 = automatic.",
    },
    SamplingParams: {
        "temperature": "Randomness: lower is more focused, higher more creative.",
        "top_p": "Sample only from the most likely tokens covering this probability.",
        "top_k": "Sample only from this many most likely tokens (0 = all).",
        "min_p": "Drop tokens less likely than this fraction of the best one.",
        "repeat_penalty": "Discourage repeating recent tokens (1.0 = off).",
        "repeat_last_n": "How many recent tokens the repeat penalty looks at.",
        "frequency_penalty": "Lower a token's odds by this much per earlier use (0 = off).",
        "presence_penalty": "Lower the odds of any token already used by this much (0 = off).",
        "max_tokens": "Longest reply, in tokens.",
        "seed": "Random seed for reproducible replies (empty = random).",
        "stop": "Extra strings that end the reply.",
    },
}


@dataclass(frozen=True)
class FieldInfo:
    """One setting as a settings page needs it."""

    path: str
    type: Any
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None


def describe(cls: type = Settings, prefix: str = "") -> list[FieldInfo]:
    """Flatten a settings dataclass into leaf fields with types, defaults and descriptions."""
    hints = get_type_hints(cls)
    external = EXTERNAL_DESCRIPTIONS.get(cls, {})
    out: list[FieldInfo] = []
    for f in fields(cls):
        tp = hints[f.name]
        path = f"{prefix}{f.name}"
        if is_dataclass(tp) and isinstance(tp, type):
            out.extend(describe(tp, prefix=f"{path}."))
            continue
        if f.default is not MISSING:
            default = f.default
        elif f.default_factory is not MISSING:
            default = f.default_factory()
        else:  # pragma: no cover - every settings field has a default
            default = None
        out.append(
            FieldInfo(
                path=path,
                type=tp,
                default=default,
                description=f.metadata.get("description", external.get(f.name, "")),
                minimum=f.metadata.get("min"),
                maximum=f.metadata.get("max"),
            )
        )
    return out
