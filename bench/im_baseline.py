"""The bare stack for the IM benchmark: python-socketio + aiohttp with the hub's socket
options, an `/im` namespace whose `message` is acknowledged and emitted to one room every
socket joins (the group), skipping the sender. No storage, no membership, no checks: what
fanning a message out to the connected members costs by itself.

Run: python -m bench.im_baseline --port P
"""

from __future__ import annotations

import argparse
import itertools
from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp import web

from hub import gc_policy
from hub.realtime.server import socketio_options

ROOM = "group"


def create_app() -> web.Application:
    sio = socketio.AsyncServer(**socketio_options())
    seqs = itertools.count(1)

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await sio.enter_room(sid, ROOM, namespace="/im")

    async def message(sid: str, data: Any = None) -> dict[str, Any]:
        body = data if isinstance(data, dict) else {}
        stored = {
            "id": str(next(seqs)),
            "thread_id": body.get("thread_id"),
            "seq": next(seqs),
            "sender": {"type": "agent", "id": sid, "name": ""},
            "type": "text",
            "text": body.get("text", ""),
            "client_id": body.get("client_id"),
            "created_at": datetime.now(UTC).isoformat(),
        }
        await sio.emit("message", stored, to=ROOM, skip_sid=sid, namespace="/im")
        return {"ok": True, "message": stored}

    sio.on("connect", connect, namespace="/im")
    sio.on("message", message, namespace="/im")
    app = web.Application()
    sio.attach(app)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="bare /im fan-out (benchmark baseline)")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        pass
    else:
        uvloop.install()
    gc_policy.tune_for_serving()
    app = create_app()
    app.on_startup.append(gc_policy.freeze_startup_objects)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
