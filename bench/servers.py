"""Servers under test as subprocesses: the baseline relay and the hub, on free loopback ports
with temporary data directories, always stopped (and their process group killed) on exit."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench-admin-password"
AGENT_PASSWORD = "bench-agent-password"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
# The load comes from one address and each simulated visitor sends far faster than a person:
# the hub's visitor limits (docs/protocol.md, "Limits") are lifted for the benchmarks, which
# measure throughput. bench/hostile.py measures the limits themselves and sets its own.
UNLIMITED_VISITORS = {
    "HUB_VISITOR_MESSAGES_PER_MINUTE": "100000000",
    "HUB_ADDRESS_MESSAGES_PER_MINUTE": "100000000",
    "HUB_ADDRESS_CONNECTIONS": "100000000",
    "HUB_ADDRESS_NEW_CONTACTS_PER_HOUR": "100000000",
}


def raise_fd_limit() -> int:
    """Lift the soft open-files limit to the hard one; children inherit it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (the hub's SQLite writer is a child process)."""
    tree, index = [pid], 0
    while index < len(tree):
        current = tree[index]
        index += 1
        try:
            with open(f"/proc/{current}/task/{current}/children") as children:
                tree.extend(int(child) for child in children.read().split())
        except OSError:
            continue  # exited meanwhile
    return tree


def rss_kib(pid: int) -> int:
    """Resident set size from /proc (VmRSS, KiB), of the process and its descendants."""
    total = 0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            if member == pid:
                raise RuntimeError(f"no VmRSS for pid {pid}") from None
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants, all threads included."""
    total = 0.0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/stat") as stat:
                # The command name may contain spaces; the fields after its ")" don't.
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


@dataclass
class ServerProcess:
    """One server under test. Use as a context manager: it is stopped however the block ends."""

    kind: str  # "baseline" or "hub"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    workdir: tempfile.TemporaryDirectory[str] | None = None
    synchronous: str | None = None  # hub only: HUB_SQLITE_SYNCHRONOUS; None = hub default
    hub_env: dict[str, str] = field(default_factory=lambda: dict(UNLIMITED_VISITORS))
    baseline_module: str = "bench.baseline"  # the bare server a scenario compares with
    # hub only: fills the data directory before the hub starts (bench/im.py's many agents)
    prepare: Callable[[Path], None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> ServerProcess:
        self.workdir = tempfile.TemporaryDirectory(prefix=f"bench-{self.kind}-")
        env = dict(os.environ)
        if self.kind == "hub":
            command = [
                sys.executable,
                str(REPO_ROOT / "run.py"),
                "--port",
                str(self.port),
                "--data-dir",
                str(Path(self.workdir.name) / "data"),
            ]
            if self.prepare is not None:
                self.prepare(Path(self.workdir.name) / "data")
            env.update(self.hub_env)
            env["HUB_ADMIN_EMAIL"] = ADMIN_EMAIL
            env["HUB_ADMIN_PASSWORD"] = ADMIN_PASSWORD
            if self.synchronous:
                env["HUB_SQLITE_SYNCHRONOUS"] = self.synchronous
        else:
            command = [
                sys.executable,
                "-m",
                self.baseline_module,
                "--port",
                str(self.port),
            ]
        log = open(Path(self.workdir.name) / "server.log", "wb")
        try:
            # Own session: stop() can kill the whole group, helpers included.
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        if self.workdir is None:
            return ""
        path = Path(self.workdir.name) / "server.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.kind} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                with socket.create_connection((HOST, self.port), timeout=1) as probe:
                    probe.sendall(b"GET /healthz HTTP/1.0\r\nHost: bench\r\n\r\n")
                    if b" 200 " in probe.recv(256):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.kind} not healthy after {START_TIMEOUT}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
        if self.workdir is not None:
            self.workdir.cleanup()
            self.workdir = None


async def _json(response: aiohttp.ClientResponse) -> Any:
    body = await response.json()
    if response.status >= 400:
        raise RuntimeError(f"{response.method} {response.url}: {response.status} {body}")
    return body


async def prepare_hub_agents(base_url: str, count: int, max_concurrent: int) -> list[str]:
    """Sign in as the administrator, create `count` agents, make routing plain idle-first with
    room for everyone, and return the agents' tokens."""
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        login = await _json(
            await http.post(
                f"{base_url}/api/v1/auth/login",
                json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            )
        )
        admin = {"Authorization": f"Bearer {login['token']}"}
        await _json(
            await http.put(
                f"{base_url}/api/v1/settings/routing",
                headers=admin,
                json={
                    "policy": "idle_first",
                    "history_agent_first": False,
                    "default_max_concurrent": max_concurrent,
                    "queue_timeout_seconds": 3600.0,
                    "disconnect_grace_seconds": 30.0,
                },
            )
        )
        tokens = []
        for number in range(count):
            email = f"bench-agent-{number}@example.com"
            await _json(
                await http.post(
                    f"{base_url}/api/v1/agents",
                    headers=admin,
                    json={
                        "name": f"Bench agent {number}",
                        "email": email,
                        "password": AGENT_PASSWORD,
                        "max_concurrent": max_concurrent,
                    },
                )
            )
            signed_in = await _json(
                await http.post(
                    f"{base_url}/api/v1/auth/login",
                    json={"email": email, "password": AGENT_PASSWORD},
                )
            )
            tokens.append(signed_in["token"])
        return tokens


def agent_tokens(server: ServerProcess, count: int, max_concurrent: int) -> list[str]:
    """Tokens for `count` agents: real ones from the hub; the baseline takes any auth."""
    if server.kind == "hub":
        return asyncio.run(prepare_hub_agents(server.base_url, count, max_concurrent))
    return [f"baseline-agent-{number}" for number in range(count)]
