from tests.helpers.hub_emulator import gguf_medium, gguf_small, hub

__all__ = ["gguf_medium", "gguf_small", "hub"]
