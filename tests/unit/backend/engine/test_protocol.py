import socket
import struct

import pytest

from app.backend.engine.protocol import Channel, ChannelClosed


def test_messages_round_trip_with_unicode() -> None:
    a, b = socket.socketpair()
    left, right = Channel(a), Channel(b)
    left.send({"type": "tokens", "text": "héllo 🌍", "n": 3})
    assert right.receive() == {"type": "tokens", "text": "héllo 🌍", "n": 3}
    left.close()
    right.close()


def test_closed_peer_raises_channel_closed() -> None:
    a, b = socket.socketpair()
    right = Channel(b)
    a.close()
    with pytest.raises(ChannelClosed):
        right.receive()


def test_oversized_length_is_refused() -> None:
    a, b = socket.socketpair()
    a.sendall(struct.pack(">I", 2**31))
    with pytest.raises(ChannelClosed, match="exceeds"):
        Channel(b).receive()
    a.close()
    b.close()
