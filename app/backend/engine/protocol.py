"""Framing for messages between the engine client and the engine process.

Each message is a JSON object preceded by its length (4 bytes, big-endian) on a socket pair.
JSON keeps the boundary inspectable and safe to parse, and the messages are small: token text
arrives in coalesced batches, so framing costs nothing measurable next to a decode step.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from typing import Any

Message = dict[str, Any]

_HEADER = struct.Struct(">I")
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class ChannelClosed(Exception):
    """The other side went away (it exited, crashed or closed the socket)."""


class Channel:
    """A message channel over one connected stream socket; send is thread-safe."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._send_lock = threading.Lock()

    def send(self, message: Message) -> None:
        payload = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        with self._send_lock:
            try:
                self._sock.sendall(_HEADER.pack(len(payload)) + payload)
            except OSError as exc:
                raise ChannelClosed(str(exc)) from exc

    def receive(self) -> Message:
        header = self._read_exactly(_HEADER.size)
        (length,) = _HEADER.unpack(header)
        if length > MAX_MESSAGE_BYTES:
            raise ChannelClosed(f"message of {length} bytes exceeds the limit")
        message = json.loads(self._read_exactly(length))
        if not isinstance(message, dict):
            raise ChannelClosed("malformed message")
        return message

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def _read_exactly(self, size: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            try:
                chunk = self._sock.recv(size - len(chunks))
            except OSError as exc:
                raise ChannelClosed(str(exc)) from exc
            if not chunk:
                raise ChannelClosed("end of stream")
            chunks += chunk
        return bytes(chunks)
