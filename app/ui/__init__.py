"""The PySide6 window. Talks to the backend only through ``bridge.Bridge``."""
