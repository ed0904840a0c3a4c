"""The local model library: files in the models folders and their ids."""

from app.backend.library.catalog import LocalModel, ModelLibrary, ModelNotFound
from app.backend.library.ids import ollama_name, quant_from_name

__all__ = ["LocalModel", "ModelLibrary", "ModelNotFound", "ollama_name", "quant_from_name"]
