"""Real mail peers for the email channel's tests: Dovecot (IMAP) and aiosmtpd (SMTP)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers import Dovecot, dovecot_server, tls_certificate

_folders = itertools.count(1)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return tls_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    """One Dovecot for a test module; each test reads a folder of its own (`folder`)."""
    with dovecot_server() as server:
        yield server


@pytest.fixture
async def folder(dovecot: Dovecot) -> str:
    name = f"test-{next(_folders)}"
    await dovecot.create_folder(name)
    return name
