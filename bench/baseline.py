"""The bare stack: python-socketio + aiohttp doing the minimum relay, nothing else.

A visitor's `message` is acknowledged `{ok: true, message}` and emitted to the agent socket
the visitor is paired with (the first message pairs it with the next agent in turn and sends
that agent `conversation.assigned`, as the hub does). No storage, no routing state beyond
the pairing, no validation. It speaks the hub's events so one load generator drives both.

The server is built with the hub's own socket options (hub.realtime.server.socketio_options:
orjson as the json module, in-order handlers, the in-memory client manager), the
garbage-collector thresholds of hub.gc_policy and uvloop when installed, as the hub is, so
that the comparison is about what the hub does per message, not about settings.

Run: python -m bench.baseline --port P
"""

from __future__ import annotations

import argparse
import itertools
import resource
from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp import web

from hub import gc_policy
from hub.realtime.server import socketio_options


class Relay:
    """Pairs visitors with agents in turn and relays each visitor message to its agent."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio
        self.agent_sids: list[str] = []
        self.paired_agent: dict[str, str] = {}
        self.seq: dict[str, int] = {}
        self._turn = itertools.count()
        self._message_ids = itertools.count(1)

    async def agent_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        self.agent_sids.append(sid)

    async def agent_disconnect(self, sid: str, *_: Any) -> None:
        if sid in self.agent_sids:
            self.agent_sids.remove(sid)

    async def agent_presence(self, sid: str, data: Any = None) -> dict[str, Any]:
        return {"ok": True, "status": data.get("status") if isinstance(data, dict) else None}

    async def visitor_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await self.sio.emit(
            "session",
            {"visitor_token": sid, "contact_id": sid, "conversation": None},
            to=sid,
            namespace="/visitor",
        )

    async def visitor_disconnect(self, sid: str, *_: Any) -> None:
        self.paired_agent.pop(sid, None)
        self.seq.pop(sid, None)

    async def visitor_message(self, sid: str, data: Any = None) -> dict[str, Any]:
        body = data if isinstance(data, dict) else {}
        seq = self.seq.get(sid, 0) + 1
        self.seq[sid] = seq
        message = {
            "id": str(next(self._message_ids)),
            "conversation_id": sid,
            "seq": seq,
            "sender": {"type": "contact", "id": sid, "name": ""},
            "type": "text",
            "text": body.get("text", ""),
            "attachments": [],
            "client_id": body.get("client_id"),
            "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        agent = self.paired_agent.get(sid)
        if agent is None and self.agent_sids:
            agent = self.agent_sids[next(self._turn) % len(self.agent_sids)]
            self.paired_agent[sid] = agent
            await self.sio.emit(
                "conversation.assigned",
                {"conversation": {"id": sid}, "contact": {"id": sid}, "messages": [message]},
                to=agent,
                namespace="/agent",
            )
        elif agent is not None:
            await self.sio.emit("message", message, to=agent, namespace="/agent")
        return {"ok": True, "message": message}


def create_sio() -> socketio.AsyncServer:
    return socketio.AsyncServer(**socketio_options())


def create_app() -> web.Application:
    sio = create_sio()
    relay = Relay(sio)
    sio.on("connect", relay.agent_connect, namespace="/agent")
    sio.on("disconnect", relay.agent_disconnect, namespace="/agent")
    sio.on("presence", relay.agent_presence, namespace="/agent")
    sio.on("connect", relay.visitor_connect, namespace="/visitor")
    sio.on("disconnect", relay.visitor_disconnect, namespace="/visitor")
    sio.on("message", relay.visitor_message, namespace="/visitor")

    app = web.Application()
    sio.attach(app)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="bare python-socketio relay (benchmark baseline)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop
    except ImportError:
        pass
    else:
        uvloop.install()  # the hub's run.py does the same
    app = create_app()
    # The hub's process settings (run.py), like uvloop above: not part of what is compared.
    gc_policy.tune_for_serving()
    app.on_startup.append(gc_policy.freeze_startup_objects)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
