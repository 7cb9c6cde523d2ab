"""The load generator: worker processes, each an asyncio loop holding agent and visitor
sockets, driven by the main process through a pipe one command at a time.

Several processes so the generator is not the bottleneck; each reports the CPU it used, so
the report can say how much of the machine the generator took from the server.

Latency needs no clock sync: every message text carries its send time from
time.monotonic_ns(), which on Linux is CLOCK_MONOTONIC, one clock for all processes, so an
agent socket in any worker can subtract it.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import resource
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

import aiohttp

from bench.eio import SioSocket

CONNECT_TIMEOUT = 30.0
CALL_TIMEOUT = 30.0
# A phase that cannot finish within its duration plus this is abandoned (server stalled).
PHASE_GRACE = 20.0
# How long a phase waits after its end for in-flight acks, so they are not counted as lost.
DRAIN_SECONDS = 5.0
DRAIN_POLL = 0.05
# Open-loop phases stop sending (and count the sends skipped) beyond this many unanswered
# messages per worker, so an overloaded server cannot make the generator grow without bound.
MAX_OUTSTANDING = 20_000
COMMAND_TIMEOUT = 600.0
WARMUP_ATTEMPTS = 5
WARMUP_RETRY_DELAY = 0.1
# Refusals seen from the hub under load that a retry gets past (see docs/benchmarks.md).
RETRIED_ERRORS = {"contact_not_found"}
SPAWN = multiprocessing.get_context("spawn")


def _cpu_now() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class _Recorder:
    """What one phase observed in this worker."""

    recording: bool = False
    end_ns: int = 0
    acked: int = 0
    errors: int = 0
    skipped: int = 0
    ack_latency_ns: array[int] = field(default_factory=lambda: array("q"))
    delivery_latency_ns: array[int] = field(default_factory=lambda: array("q"))
    delivered: int = 0


class Worker:
    def __init__(self, number: int, base_url: str, agent_tokens: list[str]) -> None:
        self.number = number
        self.base_url = base_url
        self.agent_tokens = agent_tokens
        self.agents: list[SioSocket] = []
        self.visitors: list[SioSocket] = []
        # Browsing visitors (the loader's page-view sockets) and their visitor tokens.
        self.browsers: list[tuple[SioSocket, str | None]] = []
        self.assigned = 0
        self.recorder = _Recorder()
        self._client_ids = itertools.count(1)
        self._visitor_numbers = itertools.count(1)
        self.http: aiohttp.ClientSession | None = None

    # commands ------------------------------------------------------------------------------

    async def serve(self, pipe: Connection) -> None:
        connector = aiohttp.TCPConnector(limit=0, force_close=True)
        self.http = aiohttp.ClientSession(connector=connector)
        loop = asyncio.get_running_loop()
        handlers: dict[str, Callable[[Any], Any]] = {
            "agents": self.connect_agents,
            "visitors": self.connect_visitors,
            "close_visitors": self.close_visitors,
            "assigned": self.count_assigned,
            "browse": self.browse,
            "close_browsers": self.close_browsers,
            "run": self.run_phase,
        }
        try:
            while True:
                # Waiting in a thread keeps the loop answering Engine.IO pings meanwhile.
                name, argument = await loop.run_in_executor(None, pipe.recv)
                if name == "stop":
                    break
                try:
                    reply = await handlers[name](argument)
                except Exception as exc:
                    reply = {"error": f"{type(exc).__name__}: {exc}"}
                pipe.send(reply)
        finally:
            await self.close_visitors(None)
            await asyncio.gather(*(agent.close() for agent in self.agents))
            await self.http.close()
            pipe.send({"stopped": True})

    async def connect_agents(self, _: Any) -> dict[str, Any]:
        assert self.http is not None
        for token in self.agent_tokens:
            agent = SioSocket(self.http, self.base_url, "/agent", self._on_agent_event)
            await agent.connect({"token": token}, CONNECT_TIMEOUT)
            answer = await agent.call("presence", {"status": "ready"}, CALL_TIMEOUT)
            if not (isinstance(answer, dict) and answer.get("ok")):
                raise RuntimeError(f"presence refused: {answer}")
            self.agents.append(agent)
        return {"connected": len(self.agents)}

    async def connect_visitors(self, argument: dict[str, Any]) -> dict[str, Any]:
        """Open `count` visitor sockets, at most `concurrency` handshakes at a time; each then
        sends `warmup` messages one by one (the first opens and routes its conversation)."""
        assert self.http is not None
        http = self.http
        gate = asyncio.Semaphore(argument["concurrency"])
        failures: list[str] = []
        retries = 0
        started = time.monotonic()

        async def open_one() -> None:
            nonlocal retries
            visitor = SioSocket(http, self.base_url, "/visitor")
            async with gate:
                try:
                    number = next(self._visitor_numbers)
                    await visitor.connect(
                        {"tenant": "default", "name": f"visitor {self.number}-{number}"},
                        CONNECT_TIMEOUT,
                    )
                    for _ in range(argument.get("warmup", 0)):
                        retries += await self._warm_up(visitor)
                except Exception as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    await visitor.close()
                    return
            self.visitors.append(visitor)

        await asyncio.gather(*(open_one() for _ in range(argument["count"])))
        return {
            "connected": len(self.visitors),
            "failed": len(failures),
            "first_failure": failures[0] if failures else None,
            "warmup_retries": retries,
            "seconds": time.monotonic() - started,
        }

    async def _warm_up(self, visitor: SioSocket) -> int:
        """Send one message and wait for its ack; returns how many retries it took. A refusal
        the server may get over (it answered from a stale read) is retried a few times and
        counted, so the run can go on and the report can still say it happened."""
        for attempt in range(WARMUP_ATTEMPTS):
            answer = await visitor.call("message", self._message(time.monotonic_ns()), CALL_TIMEOUT)
            if isinstance(answer, dict) and answer.get("ok"):
                return attempt
            code = (answer.get("error") or {}).get("code") if isinstance(answer, dict) else None
            if code not in RETRIED_ERRORS:
                break
            await asyncio.sleep(WARMUP_RETRY_DELAY)
        raise RuntimeError(f"warm-up message refused: {answer}")

    async def browse(self, argument: dict[str, Any]) -> dict[str, Any]:
        """Page views as the loader sends them (a /visitor socket with `browse: true` per
        page). `arrive`: `count` new visitors open their first page and stay on it; otherwise
        every visitor held moves to its next page (its socket closed, a new one opened with
        its token), `rounds` times."""
        assert self.http is not None
        http = self.http
        gate = asyncio.Semaphore(argument["concurrency"])
        failures: list[str] = []
        views = 0

        async def view(
            token: str | None, number: int, leaving: SioSocket | None = None
        ) -> tuple[SioSocket, str | None] | None:
            nonlocal views
            session: asyncio.Future[str] = asyncio.get_running_loop().create_future()

            def on_event(event: str, data: Any) -> None:
                if event == "session" and isinstance(data, dict) and not session.done():
                    session.set_result(data["visitor_token"])

            socket = SioSocket(http, self.base_url, "/visitor", on_event)
            page = {
                "url": f"https://shop.example.com/products/{number}?ref=bench",
                "title": f"Product {number}",
                "referrer": "https://search.example.com/?q=backpack",
            }
            auth: dict[str, Any] = {"tenant": "default", "browse": True, "page": page}
            if token:
                auth["visitor_token"] = token
            async with gate:
                if leaving is not None:  # the previous page closes as the next one opens
                    await leaving.close()
                try:
                    await socket.connect(auth, CONNECT_TIMEOUT)
                    # A page view counts once its session came (the loader keeps its token).
                    issued = await asyncio.wait_for(session, CONNECT_TIMEOUT)
                except Exception as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")
                    await socket.close()
                    return None
            views += 1
            return socket, issued

        started = time.monotonic()
        if argument.get("arrive"):
            opened = await asyncio.gather(
                *(view(None, next(self._visitor_numbers)) for _ in range(argument["count"]))
            )
            self.browsers.extend(b for b in opened if b is not None)
        else:
            for _round in range(argument["rounds"]):

                async def move(browser: tuple[SioSocket, str | None]) -> Any:
                    socket, token = browser
                    return await view(token, next(self._visitor_numbers), socket)

                moved = await asyncio.gather(*(move(b) for b in self.browsers))
                self.browsers = [b for b in moved if b is not None]
        return {
            "views": views,
            "held": len(self.browsers),
            "failed": len(failures),
            "first_failure": failures[0] if failures else None,
            "seconds": time.monotonic() - started,
        }

    async def close_browsers(self, _: Any) -> dict[str, Any]:
        closing, self.browsers = self.browsers, []
        await asyncio.gather(*(socket.close() for socket, _token in closing))
        return {"closed": len(closing)}

    async def close_visitors(self, _: Any) -> dict[str, Any]:
        closing, self.visitors = self.visitors, []
        await asyncio.gather(*(visitor.close() for visitor in closing))
        return {"closed": len(closing)}

    async def count_assigned(self, _: Any) -> dict[str, Any]:
        return {"assigned": self.assigned}

    async def run_phase(self, phase: dict[str, Any]) -> dict[str, Any]:
        """Run one measured phase from `start_at` (a shared monotonic time) for `duration`:
        closed loop with `window` messages in flight per visitor, or open loop at `rate`."""
        if not self.visitors:
            return self._phase_report(0.0, 0.0)
        start_ns = int(phase["start_at"] * 1e9)
        end_ns = start_ns + int(phase["duration"] * 1e9)
        self.recorder = _Recorder(end_ns=end_ns)
        await asyncio.sleep(max(0.0, phase["start_at"] - time.monotonic()))
        cpu_before, wall_before = _cpu_now(), time.monotonic()
        self.recorder.recording = True
        try:
            async with asyncio.timeout(phase["duration"] + PHASE_GRACE):
                if phase["mode"] == "window":
                    await asyncio.gather(
                        *(
                            self._closed_loop(visitor, end_ns)
                            for visitor in self.visitors
                            for _ in range(phase["window"])
                        )
                    )
                else:
                    await self._open_loop(phase["rate"], start_ns, end_ns)
        except TimeoutError:
            self.recorder.errors += sum(visitor.pending for visitor in self.visitors)
        cpu_used, wall = _cpu_now() - cpu_before, time.monotonic() - wall_before
        await self._drain()
        self.recorder.recording = False
        return self._phase_report(cpu_used, wall)

    # sockets' traffic ------------------------------------------------------------------------

    def _message(self, sent_ns: int) -> dict[str, Any]:
        return {
            "client_id": f"w{self.number}-{next(self._client_ids)}",
            "text": f"bench {sent_ns}",
        }

    def _on_agent_event(self, event: str, data: Any) -> None:
        if event == "conversation.assigned":
            self.assigned += 1
        elif event == "message" and self.recorder.recording:
            now = time.monotonic_ns()
            try:
                sent_ns = int(data["text"].split()[1])
            except (KeyError, IndexError, ValueError, TypeError, AttributeError):
                return  # not one of ours (e.g. a system message)
            self.recorder.delivered += 1
            self.recorder.delivery_latency_ns.append(now - sent_ns)

    def _on_ack(self, sent_ns: int) -> Callable[[Any], None]:
        recorder = self.recorder

        def record(answer: Any) -> None:
            now = time.monotonic_ns()
            if not (isinstance(answer, dict) and answer.get("ok")):
                recorder.errors += 1
            elif now <= recorder.end_ns:
                recorder.acked += 1
                recorder.ack_latency_ns.append(now - sent_ns)

        return record

    async def _closed_loop(self, visitor: SioSocket, end_ns: int) -> None:
        loop = asyncio.get_running_loop()
        while (sent_ns := time.monotonic_ns()) < end_ns and not visitor.closed.is_set():
            answered: asyncio.Future[None] = loop.create_future()
            record = self._on_ack(sent_ns)

            def done(
                answer: Any,
                record: Callable[[Any], None] = record,
                answered: asyncio.Future[None] = answered,
            ) -> None:
                record(answer)
                answered.set_result(None)

            await visitor.send("message", self._message(sent_ns), done)
            await answered

    async def _open_loop(self, rate: float, start_ns: int, end_ns: int) -> None:
        """Send on a fixed schedule whatever the answers; a message's latency counts from its
        scheduled time, so a server that falls behind is charged for the backlog."""
        interval_ns = int(1e9 / rate)
        due_ns = start_ns
        turn = 0
        count = len(self.visitors)
        while due_ns < end_ns:
            now = time.monotonic_ns()
            while due_ns <= now and due_ns < end_ns:
                visitor = self.visitors[turn % count]
                turn += 1
                if visitor.pending >= MAX_OUTSTANDING // count + 1:
                    self.recorder.skipped += 1
                else:
                    await visitor.send("message", self._message(due_ns), self._on_ack(due_ns))
                due_ns += interval_ns
            await asyncio.sleep(max(0.0, (due_ns - time.monotonic_ns()) / 1e9))

    async def _drain(self) -> None:
        for _ in range(int(DRAIN_SECONDS / DRAIN_POLL)):
            if not any(visitor.pending for visitor in self.visitors):
                break
            await asyncio.sleep(DRAIN_POLL)
        # Deliveries trail their acks a little; give them the same short chance.
        await asyncio.sleep(0.2)

    def _phase_report(self, cpu_used: float, wall: float) -> dict[str, Any]:
        recorder = self.recorder
        return {
            "acked": recorder.acked,
            "errors": recorder.errors,
            "skipped": recorder.skipped,
            "delivered": recorder.delivered,
            "ack_latency_ns": recorder.ack_latency_ns.tobytes(),
            "delivery_latency_ns": recorder.delivery_latency_ns.tobytes(),
            "cpu_s": cpu_used,
            "wall_s": wall,
        }


def _worker_main(number: int, base_url: str, agent_tokens: list[str], pipe: Connection) -> None:
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    runner(Worker(number, base_url, agent_tokens).serve(pipe))


class LoadGenerator:
    """Worker processes against one server. A context manager: workers are stopped (and
    killed if they do not stop) however the block ends."""

    def __init__(self, base_url: str, agent_tokens: list[str], workers: int) -> None:
        self.base_url = base_url
        self.shares = [agent_tokens[number::workers] for number in range(workers)]
        self.processes: list[multiprocessing.process.BaseProcess] = []
        self.pipes: list[Connection] = []

    def __enter__(self) -> LoadGenerator:
        try:
            for number, tokens in enumerate(self.shares):
                mine, theirs = SPAWN.Pipe()
                process = SPAWN.Process(
                    target=_worker_main,
                    args=(number, self.base_url, tokens, theirs),
                    daemon=True,
                )
                process.start()
                theirs.close()
                self.processes.append(process)
                self.pipes.append(mine)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def worker_count(self) -> int:
        return len(self.processes)

    def command(
        self, name: str, arguments: list[Any] | None = None, timeout: float = COMMAND_TIMEOUT
    ) -> list[dict[str, Any]]:
        """Send one command to every worker (each its own argument) and collect the replies."""
        for number, pipe in enumerate(self.pipes):
            pipe.send((name, arguments[number] if arguments else None))
        replies = []
        deadline = time.monotonic() + timeout
        for number, pipe in enumerate(self.pipes):
            if not pipe.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"worker {number} did not answer {name!r} in {timeout}s")
            reply = pipe.recv()
            if "error" in reply:
                raise RuntimeError(f"worker {number} failed {name!r}: {reply['error']}")
            replies.append(reply)
        return replies

    def split(self, total: int) -> list[int]:
        """`total` spread over the workers as evenly as possible."""
        count = self.worker_count
        return [total // count + (1 if number < total % count else 0) for number in range(count)]

    def close(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("stop", None))
            except (BrokenPipeError, OSError):
                pass
        for process in self.processes:
            process.join(15)
            if process.is_alive():
                process.kill()
                process.join(5)
        for pipe in self.pipes:
            pipe.close()
        self.processes, self.pipes = [], []
