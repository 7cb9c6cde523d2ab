"""A TCP relay between a client and a real server, for network faults the server won't make:
a connection cut in the middle, a link that goes silent without closing, a cut at the moment
the client sends a given command."""

from __future__ import annotations

import asyncio
import contextlib


class FaultyLink:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.cut_when_client_sends: bytes | None = None
        self.frozen = False
        self.connections = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def cut(self) -> None:
        """Close every relayed connection on both sides, as a dropped network would."""
        for writer in list(self._writers):
            writer.transport.abort()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _relay(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        server_in, server_out = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {client_out, server_out}
        try:
            await asyncio.gather(
                self._pipe(client_in, server_out, watch=True),
                self._pipe(server_in, client_out, watch=False),
            )
        finally:
            for writer in (client_out, server_out):
                self._writers.discard(writer)
                writer.transport.abort()

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, watch: bool
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await source.read(65536):
                if watch and self.cut_when_client_sends and self.cut_when_client_sends in data:
                    self.cut()
                    return
                if self.frozen:
                    continue  # a silent link: data goes nowhere, nothing is closed
                sink.write(data)
                await sink.drain()
        sink.transport.abort()
