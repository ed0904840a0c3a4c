"""Memory planner: will a model fit, how many layers on the GPU, how much context.

Pure arithmetic over the GGUF header (no model load); see ``memory`` for how every term
traces to llama.cpp's allocations.
"""

from .memory import KV_TYPES, MemoryBreakdown, Settings, estimate, kv_cells
from .plan import Plan, PlanRequest, Resources, Verdict, plan_model
from .resources import resources_from_hardware
from .shape import ModelShape, ModelShapeError

__all__ = [
    "KV_TYPES",
    "MemoryBreakdown",
    "ModelShape",
    "ModelShapeError",
    "Plan",
    "PlanRequest",
    "Resources",
    "Settings",
    "Verdict",
    "estimate",
    "kv_cells",
    "plan_model",
    "resources_from_hardware",
]
