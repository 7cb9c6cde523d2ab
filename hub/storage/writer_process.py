"""The hub's end of the SQLite writer process (hub/storage/sqlite_writer.py).

Driven by callbacks on the event loop, not by a task: the answer pipe is watched with
`loop.add_reader`, and each answer is handed to `on_answer` in the same loop turn in which it
was read. Under load each batch costs the loop one write and one read system call, one
orjson dump and one load; no stream objects, no task switches.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hub.errors
from hub.storage.sqlite_writer import READ_CHUNK, take_frames

# The directory holding the `hub` package, so the writer runs this same code.
CODE_ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT = 30.0

Answer = list[Any]  # [batch_id, results | None, error | None]: see sqlite_writer.py


class WriterGone(RuntimeError):
    """The writer process stopped: the outcome of the writes it had in hand is unknown."""


def error_from_doc(error: dict[str, Any]) -> BaseException:
    """The writer's error document back as the exception the op raised there."""
    kind, message = error["kind"], error["message"]
    error_class = getattr(hub.errors, kind, None)
    if isinstance(error_class, type) and issubclass(error_class, hub.errors.HubError):
        return error_class(message, code=error["code"])
    sqlite_error = getattr(sqlite3, kind, None)
    if isinstance(sqlite_error, type) and issubclass(sqlite_error, sqlite3.Error):
        return sqlite_error(message)
    return RuntimeError(f"{kind}: {message}")


class WriterProcess:
    """Starts the writer, sends it frames, hands its answers to `on_answer` and tells
    `on_gone` once if it stops answering (exited, killed, or its pipe broke)."""

    def __init__(
        self,
        path: Path,
        synchronous: str,
        *,
        on_answer: Callable[[Answer], None],
        on_gone: Callable[[WriterGone], None],
    ) -> None:
        self._on_answer = on_answer
        self._on_gone = on_gone
        self._loop = asyncio.get_running_loop()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(CODE_ROOT), env.get("PYTHONPATH", "")) if p
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hub.storage.sqlite_writer",
                str(path),
                synchronous,
                str(os.getpid()),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._to_child = self.process.stdin.fileno()
        self._from_child = self.process.stdout.fileno()
        os.set_blocking(self._to_child, False)
        os.set_blocking(self._from_child, False)
        self._incoming = bytearray()
        self._outgoing = bytearray()
        self.gone = False
        self._loop.add_reader(self._from_child, self._on_readable)

    def send(self, frame: bytes) -> None:
        """Queue one encoded frame (`frame_bytes`); what the pipe does not take now goes when
        it is writable."""
        if self.gone:
            raise WriterGone("the SQLite writer process has stopped")
        if self._outgoing:
            self._outgoing += frame
            return
        try:
            written = os.write(self._to_child, frame)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            # The caller learns it from the exception; nothing of this frame was delivered.
            self._lost(exc, notify=False)
            raise WriterGone("the SQLite writer process has stopped") from exc
        if written < len(frame):
            self._outgoing += frame[written:]
            self._loop.add_writer(self._to_child, self._on_writable)

    def _on_writable(self) -> None:
        try:
            written = os.write(self._to_child, self._outgoing)
        except BlockingIOError:
            return
        except OSError as exc:
            self._lost(exc)
            return
        del self._outgoing[:written]
        if not self._outgoing:
            self._loop.remove_writer(self._to_child)

    def _on_readable(self) -> None:
        try:
            chunk = os.read(self._from_child, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError as exc:
            self._lost(exc)
            return
        if not chunk:
            self._lost(None)
            return
        self._incoming += chunk
        for answer in take_frames(self._incoming):
            self._on_answer(answer)

    def _lost(self, cause: BaseException | None, *, notify: bool = True) -> None:
        if self.gone:
            return
        self.gone = True
        self._loop.remove_reader(self._from_child)
        self._loop.remove_writer(self._to_child)
        if notify:
            gone = WriterGone("the SQLite writer process exited")
            gone.__cause__ = cause
            self._on_gone(gone)

    async def stop(self) -> None:
        """Close its input (it finishes the batch in hand and exits) and reap it."""
        if not self.gone:
            self.gone = True
            self._loop.remove_reader(self._from_child)
            self._loop.remove_writer(self._to_child)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()
        try:
            await asyncio.to_thread(self.process.wait, STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await asyncio.to_thread(self.process.wait)
