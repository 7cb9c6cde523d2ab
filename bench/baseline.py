"""The bare stack: python-socketio + aiohttp doing the minimum relay, nothing else.

A visitor's `message` is acknowledged `{ok: true, message}` and emitted to the agent socket
the visitor is paired with (the first message pairs it with the next agent in turn and sends
that agent `conversation.assigned`, as the hub does). No storage, no routing state beyond
the pairing, no validation. It speaks the hub's events so one load generator drives both.

Two socket layers (`--socket-layer`):
* `bare` (the default, and the issue's baseline): python-socketio's own packet class and
  client manager, with the settings the hub also uses (orjson as its json module, in-order
  handlers, the garbage-collector thresholds of hub.gc_policy; uvloop when installed), so
  that the comparison is not about settings.
* `hub`: the hub's whole socket layer (hub.realtime.server.socketio_options and
  hub.realtime.engine.LeanServer: also the leaner packet class, the direct-send client
  manager and the leaner websocket loop). Against it, the ratio says what the hub
  costs beyond its socket layer; against `bare`, what it costs against the stack it is built on.

Run: python -m bench.baseline --port P [--socket-layer bare|hub]
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
from hub.realtime.engine import LeanServer
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


def create_sio(socket_layer: str) -> socketio.AsyncServer:
    """ "bare": python-socketio's own packet class and client manager, with the hub's server
    options (orjson codec, in-order handlers): the issue's "bare python-socketio" relay.
    "hub": the hub's whole socket layer (socketio_options' packet class and direct-send
    manager, on LeanServer's websocket loop), to show what the hub costs beyond it."""
    options = socketio_options()
    if socket_layer == "bare":
        options = {
            **options,
            "client_manager": socketio.AsyncManager(),
            "serializer": "default",
        }
        return socketio.AsyncServer(**options)
    return LeanServer(**options)


def create_app(socket_layer: str = "bare") -> web.Application:
    sio = create_sio(socket_layer)
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
    parser.add_argument("--socket-layer", choices=("bare", "hub"), default="bare")
    args = parser.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop
    except ImportError:
        pass
    else:
        uvloop.install()  # the hub's run.py does the same
    app = create_app(args.socket_layer)
    # The hub's process settings (run.py), like uvloop above: not part of what is compared.
    gc_policy.tune_for_serving()
    app.on_startup.append(gc_policy.freeze_startup_objects)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
