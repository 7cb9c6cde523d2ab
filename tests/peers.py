"""Real peers the tests start themselves, on free ports, in temporary directories."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aioimaplib
import asyncpg
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from tests.conftest import free_port


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A private redis-server (Debian's package, installed by scripts/test)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run `bash scripts/test`")
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                # The server is starting; nothing to wait on but its port.
                time.sleep(0.02)
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


def tls_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (openssl, from Debian's base)."""
    directory.mkdir(parents=True, exist_ok=True)
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        check=True,
        capture_output=True,
    )
    return certificate, key


def trusting(certificate: Path) -> ssl.SSLContext:
    """A client TLS context that trusts `certificate` and nothing else."""
    return ssl.create_default_context(cafile=str(certificate))


_DOVECOT_CONFIG = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
# Failed logins answered at once. (Dovecot still delays the next login from the same address
# by a few seconds: a test that fails logins on purpose gets a Dovecot of its own.)
auth_failure_delay = 0
default_internal_user = nobody
default_login_user = nobody
default_internal_group = nogroup
first_valid_uid = 1
mail_location = maildir:{dir}/mail/%u
{capability}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {dir}/users
}}
userdb {{
  driver = passwd-file
  args = {dir}/users
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
# Dovecot 2.3's own list after login, less IDLE: a server that makes clients poll.
_CAPABILITIES_WITHOUT_IDLE = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT THREAD=REFERENCES MULTIAPPEND "
    "UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE ESEARCH "
    "SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE LITERAL+"
)


@dataclass
class Dovecot:
    """A private Dovecot (Debian's dovecot-imapd) run as `nobody`, with one user. It runs in
    the foreground as our child, so stopping it is waiting for our own process."""

    directory: Path
    port: int
    tls_port: int
    certificate: Path | None
    user: str = "hub"
    password: str = "hub-password"
    address: str = "support@example.com"
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("dovecot")
        if binary is None:
            raise RuntimeError("dovecot-imapd is not installed: run `bash scripts/test`")
        self.process = subprocess.Popen(
            [
                "setpriv",
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                binary,
                "-F",
                "-c",
                str(self.directory / "dovecot.conf"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own process group: stopping it stops the per-connection imap processes too,
            # which otherwise keep serving open connections for a while after the master.
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.directory / "dovecot.log"
                raise RuntimeError(
                    "dovecot did not start: " + (log.read_text() if log.exists() else "no log")
                )
            # Starting up; nothing to wait on but its port.
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server and drop every connection, as a crash or a restart would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        self.process = None

    def account(self, **overrides: Any) -> dict[str, Any]:
        """The email channel config for this mailbox (SMTP keys point at nothing)."""
        config: dict[str, Any] = {
            "imap_host": "127.0.0.1",
            "imap_port": self.port,
            "imap_security": "none",
            "imap_user": self.user,
            "imap_password": self.password,
            "smtp_host": "127.0.0.1",
            "smtp_port": 1,
            "smtp_security": "none",
            "from_address": self.address,
        }
        config.update(overrides)
        return config

    async def session(self) -> aioimaplib.IMAP4:
        """A logged-in IMAP connection of the test's own (folder names as IMAP writes them:
        modified UTF-7 for anything not ASCII)."""
        client = aioimaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        await client.wait_hello_from_server()
        response = await client.login(self.user, self.password)
        assert response.result == "OK", response
        return client

    async def append(self, raw: bytes, folder: str = "INBOX", flags: str | None = None) -> int:
        """Deliver a mail by IMAP APPEND; its UID."""
        (uid,) = await self.append_all([raw], folder, flags)
        return uid

    async def append_all(
        self, raws: list[bytes], folder: str = "INBOX", flags: str | None = None
    ) -> list[int]:
        client = await self.session()
        try:
            uids = []
            for raw in raws:
                response = await client.append(raw, mailbox=folder, flags=flags)
                assert response.result == "OK", response
                match = re.search(rb"\[APPENDUID \d+ (\d+)\]", response.lines[-1])
                assert match, response
                uids.append(int(match[1]))
            return uids
        finally:
            await client.logout()

    async def create_folder(self, folder: str) -> None:
        client = await self.session()
        try:
            response = await client.create(folder)
            assert response.result == "OK", response
        finally:
            await client.logout()

    async def recreate_folder(self, folder: str) -> None:
        """Delete and create `folder` again: Dovecot gives it a new UIDVALIDITY."""
        client = await self.session()
        try:
            assert (await client.delete(folder)).result == "OK"
            assert (await client.create(folder)).result == "OK"
        finally:
            await client.logout()

    async def flags(self, folder: str = "INBOX") -> dict[int, set[str]]:
        """UID -> flags of every mail in `folder`."""
        client = await self.session()
        try:
            response = await client.select(folder)
            assert response.result == "OK", response
            response = await client.uid("fetch", "1:*", "(UID FLAGS)")
            flags: dict[int, set[str]] = {}
            for line in response.lines:
                match = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", bytes(line))
                if match:
                    flags[int(match[1])] = set(match[2].decode().split())
            return flags
        finally:
            await client.logout()


@contextmanager
def dovecot_server(
    *, idle: bool = True, certificate: tuple[Path, Path] | None = None
) -> Iterator[Dovecot]:
    """A running Dovecot on free ports; `certificate` turns TLS on (STARTTLS and IMAPS)."""
    # Not under pytest's tmp_path: its parents are private to root and `nobody` must get in.
    directory = Path(tempfile.mkdtemp(prefix="dovecot-"))
    try:
        server = Dovecot(
            directory, free_port(), free_port(), certificate[0] if certificate else None
        )
        if certificate is None:
            ssl_settings = "ssl = no"
        else:
            shutil.copy(certificate[0], directory / "cert.pem")
            shutil.copy(certificate[1], directory / "key.pem")
            ssl_settings = (
                f"ssl = yes\nssl_cert = <{directory}/cert.pem\nssl_key = <{directory}/key.pem"
            )
        capability = "" if idle else f"imap_capability = {_CAPABILITIES_WITHOUT_IDLE}"
        (directory / "dovecot.conf").write_text(
            _DOVECOT_CONFIG.format(
                dir=directory,
                port=server.port,
                tls_port=server.tls_port,
                ssl=ssl_settings,
                capability=capability,
            )
        )
        (directory / "users").write_text(
            f"{server.user}:{{PLAIN}}{server.password}:65534:65534::{directory}/home/{server.user}\n"
        )
        for sub in ("run", "state", "mail", "home"):
            (directory / sub).mkdir()
        subprocess.run(["chown", "-R", "nobody:nogroup", str(directory)], check=True)
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class SmtpServer:
    """aiosmtpd in this process (its own thread and loop), stoppable and restartable on the
    same port. `received` holds every accepted envelope; `reject` makes it answer a command
    ("MAIL", "RCPT" or "DATA") with a reply of the test's choosing, `refuse` one recipient."""

    port: int
    certificate: tuple[Path, Path] | None = None
    implicit_tls: bool = False
    login: tuple[str, str] | None = None
    received: list[Envelope] = field(default_factory=list)
    reject: dict[str, str] = field(default_factory=dict)
    refuse: dict[str, str] = field(default_factory=dict)
    controller: Controller | None = None

    def start(self) -> None:
        tls: ssl.SSLContext | None = None
        if self.certificate is not None:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(str(self.certificate[0]), str(self.certificate[1]))
        options: dict[str, Any] = {}
        if self.implicit_tls:
            options["ssl_context"] = tls
        elif tls is not None:
            options["tls_context"] = tls
        if self.login is not None:
            options.update(
                authenticator=self._authenticate, auth_required=True, auth_require_tls=False
            )
        self.controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **options
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def account(self, **overrides: Any) -> dict[str, Any]:
        """An email channel config sending here (the IMAP keys point at nothing)."""
        config: dict[str, Any] = {
            "imap_host": "127.0.0.1",
            "imap_port": 1,
            "imap_security": "none",
            "imap_user": "nobody",
            "imap_password": "unused",
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_security": "none",
            "from_address": "support@example.com",
        }
        if self.login is not None:
            config.update(smtp_user=self.login[0], smtp_password=self.login[1])
        config.update(overrides)
        return config

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        good = (
            self.login is not None
            and isinstance(data, LoginPassword)
            and (data.login.decode(), data.password.decode()) == self.login
        )
        return AuthResult(success=good, handled=False)


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if "MAIL" in self.server.reject:
            return self.server.reject["MAIL"]
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if "RCPT" in self.server.reject:
            return self.server.reject["RCPT"]
        if address in self.server.refuse:
            return self.server.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        if "DATA" in self.server.reject:
            return self.server.reject["DATA"]
        self.server.received.append(envelope)
        return "250 2.0.0 Ok: queued"


@contextmanager
def smtp_server(
    *,
    certificate: tuple[Path, Path] | None = None,
    implicit_tls: bool = False,
    login: tuple[str, str] | None = None,
) -> Iterator[SmtpServer]:
    server = SmtpServer(free_port(), certificate, implicit_tls, login)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def postgres_binaries() -> Path | None:
    """The newest PostgreSQL server of Debian's packages (/usr/lib/postgresql/<major>/bin),
    or None when the package is not installed."""
    found = [
        path
        for path in Path("/usr/lib/postgresql").glob("*/bin")
        if (path / "initdb").is_file() and (path / "postgres").is_file()
    ]
    if not found:
        return None
    return max(found, key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0)


def postgres_unavailable() -> str | None:
    """Why this machine cannot start a private PostgreSQL, or None when it can."""
    if postgres_binaries() is None:
        return "PostgreSQL is not installed (/usr/lib/postgresql/*/bin): run `bash scripts/test`"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "running as root without setpriv: PostgreSQL refuses root and cannot run as nobody"
    return None


def _as_unprivileged(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, the command runs as `nobody`."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]


@contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[str]:
    """A private PostgreSQL (Debian's postgresql package, installed by scripts/test) in a
    temporary directory, on a free port of 127.0.0.1, trusting local connections; yields the
    URL of its `postgres` database as the `postgres` superuser. Not `durable`: fsync is off,
    a test's data need not survive a power cut and the suite runs faster."""
    reason = postgres_unavailable()
    if reason is not None:
        raise RuntimeError(reason)
    binaries = postgres_binaries()
    assert binaries is not None
    # Not under pytest's tmp_path: its parents are private to root and `nobody` must get in.
    directory = Path(tempfile.mkdtemp(prefix="postgres-"))
    data = directory / "data"
    process: subprocess.Popen[bytes] | None = None
    stack = ExitStack()
    try:
        if os.geteuid() == 0:
            subprocess.run(["chown", "nobody:nogroup", str(directory)], check=True)
        subprocess.run(
            _as_unprivileged(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        port = free_port()
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            "unix_socket_directories": str(directory),
            "max_connections": "200",
            "fsync": "on" if durable else "off",
            "synchronous_commit": "on" if durable else "off",
            "full_page_writes": "on" if durable else "off",
        }
        log_file = stack.enter_context(open(directory / "postgres.log", "wb"))
        process = subprocess.Popen(
            _as_unprivileged(
                [
                    str(binaries / "postgres"),
                    "-D",
                    str(data),
                    *(arg for name, value in settings.items() for arg in ("-c", f"{name}={value}")),
                ]
            ),
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
        deadline = time.monotonic() + 30
        while True:
            ready = subprocess.run(
                [str(binaries / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"],
                check=False,
            )
            if ready.returncode == 0:
                break
            if time.monotonic() > deadline or process.poll() is not None:
                log = (directory / "postgres.log").read_text(errors="replace")
                raise RuntimeError(f"PostgreSQL did not start:\n{log}")
            # The server is starting; nothing to wait on but its port.
            time.sleep(0.05)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)  # "fast" shutdown: ends open sessions
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        stack.close()
        shutil.rmtree(directory, ignore_errors=True)


async def create_database(
    server_url: str, *, name: str | None = None, exist_ok: bool = False
) -> str:
    """A new, empty database on the server at `server_url` (named `name`, or a fresh name;
    with `exist_ok`, one there already is kept); returns its URL."""
    name = name or f"hub_test_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    except asyncpg.DuplicateDatabaseError:
        if not exist_ok:
            raise
    finally:
        await conn.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(database_url: str) -> None:
    server_url, name = database_url.rsplit("/", 1)
    conn = await asyncpg.connect(f"{server_url}/postgres")
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await conn.close()
