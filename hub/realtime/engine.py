"""The Engine.IO side of the socket layer: python-engineio with a leaner websocket loop.

python-engineio runs each websocket with a reader and a writer task, and both pay for
timeouts on every packet: the reader starts a new task for each frame it waits for and wraps
it in `asyncio.wait_for` (a timer, a future and callbacks each time), and the writer waits
for its queue the same way (another task and timer per wake-up), then looks up whether the
send method is a coroutine function for every frame. Under the relay load that was about a
fifth of the event loop's work per message (docs/benchmarks.md).

`LeanSocket` keeps python-engineio's protocol, queue and close handling and replaces only
the websocket loop:
* the reader awaits frames directly; one watchdog timer per socket, re-armed lazily, ends it
  when nothing has arrived for ping_interval + ping_timeout (python-engineio's limit), so a
  silent dead peer is still dropped;
* the writer awaits its queue directly and sends everything queued in one wake-up.
The websocket upgrade from long-polling keeps python-engineio's probe exchange.

`LeanEngineIOServer` makes every socket it creates a `LeanSocket`; `LeanServer` is the
Socket.IO server that runs on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import engineio
import socketio
from engineio import exceptions, packet
from engineio.async_socket import AsyncSocket


class LeanSocket(AsyncSocket):
    async def _websocket_handler(self, ws: Any) -> None:
        loop = asyncio.get_running_loop()
        max_size = self.server.max_http_buffer_size

        async def next_frame() -> str | bytes | None:
            data = await ws.wait()
            if data and len(data) > max_size:
                raise ValueError("packet is too large")
            return data

        if self.connected:
            # Already connected over long-polling: this websocket is an upgrade.
            if not await self._finish_upgrade(ws, next_frame):
                return
        else:
            self.connected = True
            self.upgraded = True

        writer_task = asyncio.ensure_future(self._write_frames(ws))
        watchdog = _Watchdog(loop, self.server.ping_interval + self.server.ping_timeout)
        reason = self.server.reason.TRANSPORT_CLOSE
        try:
            while True:
                try:
                    data = await watchdog.guard(next_frame())
                except _Silent:
                    reason = self.server.reason.PING_TIMEOUT  # the peer is gone
                    break
                except asyncio.CancelledError:
                    # The server is stopping. As python-engineio does, the socket is still
                    # closed below, so the application hears of the disconnect.
                    break
                except Exception:
                    break  # closed, broken, or a frame over the size limit
                if data is None:
                    break
                try:
                    await self.receive(packet.Packet(encoded_packet=data))
                except exceptions.UnknownPacketError:
                    pass
                except exceptions.SocketIsClosedError:
                    break
                except Exception:
                    self.server.logger.exception("Unknown receive error")
        finally:
            watchdog.stop()
        # The application hears of it first: closing the websocket waits for the peer's
        # answer, which a silent peer never sends (aiohttp gives up after its close timeout).
        await self.close(wait=False, abort=True, reason=reason)
        await self.queue.put(None)  # lets the writer finish and close the websocket
        await writer_task

    async def _finish_upgrade(
        self, ws: Any, next_frame: Callable[[], Awaitable[str | bytes | None]]
    ) -> bool:
        """python-engineio's upgrade exchange: the client's ping probe, our pong probe, a NOOP
        to end the pending poll, then the client's UPGRADE."""
        self.upgrading = True  # holds packet sends during the upgrade
        try:
            try:
                probe = packet.Packet(encoded_packet=await next_frame())
            except Exception:
                return False
            if probe.packet_type != packet.PING or probe.data != "probe":
                self.server.logger.info("%s: Failed websocket upgrade, no PING packet", self.sid)
                return False
            await ws.send(packet.Packet(packet.PONG, data="probe").encode())
            await self.queue.put(packet.Packet(packet.NOOP))  # ends the pending poll
            try:
                upgrade = packet.Packet(encoded_packet=await next_frame())
            except Exception:
                return False
            if upgrade.packet_type != packet.UPGRADE:
                self.upgraded = False
                self.server.logger.info("%s: Failed websocket upgrade, no UPGRADE packet", self.sid)
                return False
            self.upgraded = True
            return True
        finally:
            self.upgrading = False

    async def _write_frames(self, ws: Any) -> None:
        queue = self.queue
        response = getattr(ws, "_sock", None)  # python-engineio's aiohttp driver
        send_text = getattr(response, "send_str", None) or ws.send
        send_binary = getattr(response, "send_bytes", None) or ws.send
        try:
            while True:
                pkt = await queue.get()
                queue.task_done()
                while pkt is not None:
                    data = pkt.encode()
                    await (send_binary if isinstance(data, bytes) else send_text)(data)
                    try:
                        pkt = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        break
                    queue.task_done()
                if pkt is None:
                    break
        except Exception:
            pass  # the connection broke: the reader sees it too and cleans up
        await ws.close()


class _Silent(Exception):
    """The peer sent nothing for longer than the socket's limit."""


class _Watchdog:
    """Ends a wait for the next frame when nothing has arrived for `limit` seconds, with one
    timer per socket that is re-armed only when it fires (not one per frame)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: float) -> None:
        self._loop = loop
        self._limit = limit
        self._last_seen = loop.time()
        self._waiting: asyncio.Task[Any] | None = None
        self._fired = False
        self._timer = loop.call_later(limit, self._check)

    async def guard(self, frame: Awaitable[str | bytes | None]) -> str | bytes | None:
        self._waiting = asyncio.current_task()
        try:
            data = await frame
        except asyncio.CancelledError:
            if not self._fired:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # the cancellation was ours, and is handled here
            raise _Silent() from None
        finally:
            self._waiting = None
        self._last_seen = self._loop.time()
        return data

    def _check(self) -> None:
        silent = self._loop.time() - self._last_seen
        if silent >= self._limit and self._waiting is not None:
            self._fired = True
            self._waiting.cancel()
        else:
            self._timer = self._loop.call_later(max(self._limit - silent, 1.0), self._check)

    def stop(self) -> None:
        self._timer.cancel()


class _LeanSockets(dict[str, AsyncSocket]):
    """python-engineio creates its sockets inline (AsyncServer._handle_connect) and stores
    them here before they carry any traffic; each becomes a LeanSocket as it is stored.
    LeanSocket adds no state, only methods, so changing the class is safe."""

    def __setitem__(self, sid: str, socket: AsyncSocket) -> None:
        if type(socket) is AsyncSocket:
            socket.__class__ = LeanSocket
        super().__setitem__(sid, socket)


class LeanEngineIOServer(engineio.AsyncServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sockets = _LeanSockets()


class LeanServer(socketio.AsyncServer):
    """python-socketio's AsyncServer on LeanEngineIOServer."""

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return LeanEngineIOServer
