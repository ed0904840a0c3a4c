"""The local API server: OpenAI-, Anthropic- and Ollama-compatible routes over the engine.

``create_app(core, ...)`` builds the ASGI app; ``ServerRunner`` runs it with uvicorn in a
thread (the GUI) or in the foreground (``hearth serve``). Nothing here imports Qt.
"""

from app.backend.server.runner import PortInUseError, ServerRunner, ServerState
from app.backend.server.service import ModelService
from app.backend.server.tokens import TokenStore

__all__ = ["ModelService", "PortInUseError", "ServerRunner", "ServerState", "TokenStore"]
