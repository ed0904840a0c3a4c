"""Writer process for the crash-durability test: streams one reply into a real ChatStore forever.

Usage: ``python tests/helpers/chat_writer.py DB_PATH [INTERVAL_MS]`` with the repo root on
``PYTHONPATH``. After every commit it prints ``committed <msg_id> <n>`` (n = characters of that
message now durable) and flushes, so the parent knows exactly what must survive a SIGKILL.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def chunk(i: int) -> str:
    """The i-th streamed chunk; deterministic so the test can check text, not just length."""
    return f"[{i}]"


def stream_text(n_chunks: int) -> str:
    return "".join(chunk(i) for i in range(n_chunks))


def user_text(conv_id: int) -> str:
    return f"question for conversation {conv_id}"


def main(argv: list[str]) -> None:
    from app.backend.chats import ChatStore

    db = Path(argv[1])
    interval = (float(argv[2]) if len(argv) > 2 else 3.0) / 1000.0
    store = ChatStore(db)
    conv = store.create_conversation("crash test")
    question = user_text(conv.id)
    user = store.add_message(conv.id, "user", question)
    print(f"committed {user.id} {len(question)}", flush=True)
    reply = store.begin_reply(conv.id, "writer-model")
    print(f"committed {reply.id} 0", flush=True)
    written = 0
    i = 0
    while True:
        piece = chunk(i)
        store.append_reply(reply.id, piece)
        written += len(piece)
        i += 1
        print(f"committed {reply.id} {written}", flush=True)
        time.sleep(interval)


if __name__ == "__main__":
    main(sys.argv)
