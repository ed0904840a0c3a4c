"""Pieces of the bridge's chat work, kept out of ``app/ui/bridge.py`` to keep it small.

Everything here runs on the bridge thread (never the UI thread) and is Qt-free.
"""
