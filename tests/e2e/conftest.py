"""End-to-end fixtures: the real hub as a subprocess and headless Debian Chromium."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "e2e-admin-password"
SCREENSHOTS = REPO / "docs" / "screenshots"
# Pictures to look at that the README does not show (git ignores tests/artifacts).
ARTIFACTS = REPO / "tests" / "artifacts" / "screenshots"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"hub exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as res:
                if res.status == 200:
                    return
        except OSError:
            # Not listening yet: poll the health endpoint again (bounded by the deadline).
            time.sleep(0.05)
    raise RuntimeError("hub did not become healthy")


@pytest.fixture(scope="module")
def hub_url(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The hub for a test module; the module's HUB_ENV (a dict) adds settings."""
    port = _free_port()
    data = tmp_path_factory.mktemp("hubdata")
    env = {**os.environ, "HUB_ADMIN_EMAIL": ADMIN_EMAIL, "HUB_ADMIN_PASSWORD": ADMIN_PASSWORD}
    # The tests fill long conversations from one visitor faster than a person types.
    env["HUB_VISITOR_MESSAGES_PER_MINUTE"] = "100000"
    env.update(getattr(request.module, "HUB_ENV", {}))
    log = open(data / "hub.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "run.py", "--port", str(port), "--data-dir", str(data)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, time.monotonic() + 30)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def call_status(
    url: str, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    """A REST call as an integrator makes it: (HTTP status, JSON body), errors included."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def call(url: str, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    """The JSON body of a call that must succeed."""
    status, answer = call_status(url, method, path, body, token)
    assert 200 <= status < 300, (method, path, status, answer)
    return answer


def sign_in(page: Any, url: str, email: str, password: str, *, ready: bool = False) -> None:
    """Sign in to the inbox (the console reuses its token), ready or not ready. Within the
    disconnect grace of an earlier test's page the agent resumes what it chose there, so the
    wanted presence is set, not assumed."""
    from playwright.sync_api import expect

    page.goto(url + "/agent/")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    toggle = page.get_by_test_id("presence-toggle")
    # Shown once signed in, enabled once the agent socket is connected (a click before that
    # would be lost); the hidden page's toggle counts as enabled, hence both.
    expect(toggle).to_be_visible(timeout=30_000)
    expect(toggle).to_be_enabled(timeout=30_000)
    wanted = "ready" if ready else "not_ready"
    if toggle.get_attribute("data-status") != wanted:
        toggle.click()
    page.locator(f"[data-testid=presence-toggle][data-status={wanted}]").wait_for(timeout=30_000)


def static_version(url: str) -> str:
    """The version the hub's front-end URLs carry now (`/static/<version>/…`)."""
    with urllib.request.urlopen(url + "/agent/", timeout=10) as res:
        page = res.read().decode()
    match = re.search(r'src="\.\./static/([0-9a-f]+)/agent/agent\.js"', page)
    assert match, page
    return match.group(1)


def socket_io_url(url: str) -> str:
    """The vendored socket.io-client module, for scripts a test runs in a page of the hub."""
    return f"{url}/static/{static_version(url)}/vendor/socket.io.esm.min.js"


def link_target(link: Any) -> str:
    """Where a link goes (its resolved href), however the page wrote it."""
    return link.evaluate("a => a.href")


def rest(url: str, path: str, body: dict | None = None, token: str | None = None) -> Any:
    return call(url, "POST" if body is not None else "GET", path, body, token)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-gpu",
            ],
        )
        yield chromium
        chromium.close()
