"""Client managers that hand an emitted event to its recipients' send queues directly.

python-socketio's AsyncManager.emit starts one task per recipient and waits for them all,
even for a single recipient. Each task's only work is to put the (already encoded) packet
on the socket's send queue, which never blocks: the tasks cost an event-loop round trip,
task creation and asyncio.wait's future and callbacks for every emit, and return nothing
the emitter uses. These managers make that put in the emitter's own call instead.

One case still goes through a task, exactly as in the library: a socket whose ping answer
is overdue. Sending to it makes python-engineio close it, which runs the application's
disconnect handler, and that must not run inside whatever the emitter is doing (it may
hold locks the handler needs).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

log = logging.getLogger(__name__)


class DirectSendManager(socketio.AsyncManager):
    """The in-memory (one node) manager, sending without a task per recipient."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            # Each recipient needs its own ack id; rare enough to leave to the library.
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to
            )
            return
        room = to or room
        if namespace not in self.rooms:
            return
        # As the library does: a tuple is several arguments, anything else one argument.
        if isinstance(data, tuple):
            arguments = list(data)
        elif data is not None:
            arguments = [data]
        else:
            arguments = []
        skipped = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        recipients = [
            eio_sid for sid, eio_sid in self.get_participants(namespace, room) if sid not in skipped
        ]
        if not recipients:
            return
        # Encoded once for every recipient, as the library does when there is no callback.
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *arguments]
        ).encode()
        parts = encoded if isinstance(encoded, list) else [encoded]
        packets = [eio_packet.Packet(eio_packet.MESSAGE, part) for part in parts]
        deferred: list[asyncio.Task[None]] = []
        for eio_sid in recipients:
            if self._may_close(eio_sid):
                deferred += [
                    asyncio.create_task(self.server._send_eio_packet(eio_sid, pkt))
                    for pkt in packets
                ]
                continue
            for pkt in packets:
                try:
                    await self.server._send_eio_packet(eio_sid, pkt)
                except Exception:
                    # A failed send to one socket must not keep the event from the others
                    # (the library's per-recipient tasks only log it, too).
                    log.exception("sending %r to %s failed", event, eio_sid)
                    break
        if deferred:
            await asyncio.wait(deferred)

    def _may_close(self, eio_sid: str) -> bool:
        """True unless the socket is open and its last ping is answered or recent, so
        that python-engineio's send will only queue the packet: no close, no await."""
        eio = self.server.eio
        socket = eio.sockets.get(eio_sid)
        if socket is None or socket.closed or socket.closing:
            return True
        last_ping = socket.last_ping
        # Half the timeout: far from the moment engineio gives up on the client.
        return bool(last_ping) and time.time() - last_ping > eio.ping_timeout / 2


class DirectSendRedisManager(socketio.AsyncRedisManager, DirectSendManager):
    """Several nodes: events still go through Redis to every node (AsyncPubSubManager.emit),
    and each node hands them to its own sockets with DirectSendManager.emit (the next class
    after the pub/sub one in the method order)."""
