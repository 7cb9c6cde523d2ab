"""The front end's URLs: versioned and cached for good, the embed snippet unchanged, and the
whole front end working under a URL prefix.

The server side is checked with aiohttp's test client on a copy of widget/; the browser side in
headless Chromium, against a static-only server on a copy (so a file can be changed) and
against real hubs (the snippet on another site; the hub mounted under /hub/)."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.sync_api import expect

from hub.web_static import add_static_routes, read_front_end
from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    ARTIFACTS,
    REPO,
    _free_port,
    _wait_healthy,
)

WAIT = 30_000
ARTIFACTS.mkdir(parents=True, exist_ok=True)
VERSIONED = re.compile(r"/static/([0-9a-f]{12})/")


@pytest.fixture
def widget_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO / "widget", tmp_path / "widget"))


def change_login_label(widget_dir: Path, label: str) -> None:
    strings = widget_dir / "i18n.js"
    text = strings.read_text()
    assert 'login: "Sign in"' in text
    strings.write_text(text.replace('login: "Sign in"', f'login: "{label}"'))


def static_app(widget_dir: Path) -> tuple[str, web.Application]:
    app = web.Application()
    return add_static_routes(app, widget_dir), app


async def test_entry_pages_point_at_the_current_version_and_are_revalidated(widget_copy) -> None:
    version, app = static_app(widget_copy)
    async with TestClient(TestServer(app)) as client:
        for path, module in [
            ("/chat", f"static/{version}/chat.js"),
            ("/agent/", f"../static/{version}/agent/agent.js"),
            ("/agent/console", f"../static/{version}/agent/console.js"),
        ]:
            res = await client.get(path)
            assert res.status == 200 and res.content_type == "text/html"
            assert res.headers["Cache-Control"] == "no-cache"
            assert f'src="{module}"' in await res.text()
            again = await client.get(path, headers={"If-None-Match": res.headers["ETag"]})
            assert again.status == 304
        loader = await client.get("/widget.js")
        assert loader.content_type == "text/javascript"
        assert loader.headers["Cache-Control"] == "no-cache"
        demo = await (await client.get("/")).text()
        assert '<script src="widget.js" data-tenant="default" async></script>' in demo
        redirect = await client.get("/agent", allow_redirects=False)
        assert redirect.status == 302 and redirect.headers["Location"] == "agent/"


async def test_versioned_files_are_immutable_and_other_versions_gone(widget_copy) -> None:
    version, app = static_app(widget_copy)
    async with TestClient(TestServer(app)) as client:
        module = await client.get(f"/static/{version}/agent/pane.js")
        assert module.status == 200 and module.content_type == "text/javascript"
        assert module.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert (await module.text()) == (widget_copy / "agent" / "pane.js").read_text()
        vendored = await client.get(f"/static/{version}/vendor/socket.io.esm.min.js")
        assert vendored.status == 200
        for missing in [
            f"/static/{'0' * 12}/agent/pane.js",  # another version
            f"/static/{version}/agent/nope.js",
            f"/static/{version}/chat.html",  # entry pages live at their own URLs only
            f"/static/{version}/%2e%2e/pyproject.toml",
            "/static/agent/pane.js",  # no unversioned copies
        ]:
            res = await client.get(missing)
            assert res.status == 404, missing


async def test_text_is_sent_gzipped_to_browsers_that_accept_it(widget_copy) -> None:
    version, app = static_app(widget_copy)
    vendored = (widget_copy / "vendor" / "socket.io.esm.min.js").read_bytes()
    async with TestClient(TestServer(app), auto_decompress=False) as client:
        path = f"/static/{version}/vendor/socket.io.esm.min.js"
        packed = await client.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert packed.headers["Content-Encoding"] == "gzip"
        assert packed.headers["Vary"] == "Accept-Encoding"
        body = await packed.read()
        assert gzip.decompress(body) == vendored and len(body) < len(vendored) / 2
        plain = await client.get(path, headers={"Accept-Encoding": "identity"})
        assert "Content-Encoding" not in plain.headers and await plain.read() == vendored
        page = await client.get("/agent/", headers={"Accept-Encoding": "gzip"})
        assert page.headers["Content-Encoding"] == "gzip"
        assert f"static/{version}/agent/agent.js" in gzip.decompress(await page.read()).decode()


def test_a_changed_file_changes_every_url(widget_copy) -> None:
    before, files = read_front_end(widget_copy)
    assert read_front_end(widget_copy)[0] == before  # the same files, the same version
    change_login_label(widget_copy, "Sign in now")
    after, _ = read_front_end(widget_copy)
    assert after != before and VERSIONED.fullmatch(f"/static/{after}/")
    assert "agent/pane.js" in files and "chat.js" in files


@contextmanager
def serve(app: web.Application, port: int, host: str = "127.0.0.1") -> Iterator[str]:
    """`app` on `port`, in a thread with its own event loop (Playwright has the main one)."""
    started = threading.Event()
    state: dict = {}

    async def run() -> None:
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        state["stop"] = asyncio.Event()
        state["loop"] = asyncio.get_running_loop()
        started.set()
        await state["stop"].wait()
        await runner.cleanup()

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield f"http://{host}:{port}"
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(10)


def front_end_only(widget_dir: Path, hits: Counter) -> web.Application:
    """Only the hub's static routes; `hits` counts the requests per path."""

    @web.middleware
    async def count(request: web.Request, handler):
        hits[request.path] += 1
        return await handler(request)

    app = web.Application(middlewares=[count])
    add_static_routes(app, widget_dir)
    return app


@pytest.mark.browser
def test_browser_keeps_modules_until_a_file_changes(browser, widget_copy) -> None:
    port = _free_port()
    hits: Counter = Counter()
    ctx = browser.new_context(locale="en-US")
    page = ctx.new_page()
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    with serve(front_end_only(widget_copy, hits), port) as url:
        page.goto(url + "/agent/")
        expect(page.get_by_test_id("login-submit")).to_have_text("Sign in")
        modules = {u for u in seen if "/static/" in u}
        versions = {VERSIONED.search(u).group(1) for u in modules}  # type: ignore[union-attr]
        assert len(versions) == 1 and len(modules) > 5  # every import inherits the version
        fetched = sum(n for path, n in hits.items() if path.startswith("/static/"))
        page.goto(url + "/agent/")
        expect(page.get_by_test_id("login-submit")).to_have_text("Sign in")
        # The page was asked again (no-cache); the modules came from the browser's cache.
        assert hits["/agent/"] == 2
        assert sum(n for path, n in hits.items() if path.startswith("/static/")) == fetched

    change_login_label(widget_copy, "Sign in now")
    seen.clear()
    with serve(front_end_only(widget_copy, hits), port) as url:
        page.goto(url + "/agent/")
        # Changed file, new URLs: the browser cannot use what it kept for the old version.
        expect(page.get_by_test_id("login-submit")).to_have_text("Sign in now")
        fresh = {VERSIONED.search(u).group(1) for u in seen if "/static/" in u}  # type: ignore[union-attr]
        assert len(fresh) == 1 and fresh.isdisjoint(versions)
    ctx.close()


@pytest.mark.browser
def test_embed_snippet_on_another_site(hub_url: str, browser) -> None:
    # The contract's one line, on a page of another origin (localhost, not 127.0.0.1).
    snippet = f'<script src="{hub_url}/widget.js" data-tenant="default" async></script>'
    shop = web.Application()

    async def host_page(request: web.Request) -> web.Response:
        return web.Response(
            text=f"<!doctype html><title>Another shop</title>{snippet}", content_type="text/html"
        )

    shop.router.add_get("/", host_page)
    ctx = browser.new_context(locale="en-US")
    page = ctx.new_page()
    with serve(shop, _free_port(), host="localhost") as shop_url:
        page.goto(shop_url + "/")
        page.get_by_test_id("hub-launcher").click()
        src = page.get_by_test_id("hub-frame").get_attribute("src") or ""
        assert src.startswith(f"{hub_url}/chat?tenant=default&open=1")
        frame = page.frame_locator("[data-testid=hub-frame]")
        frame.get_by_test_id("composer-input").fill("Hello from another site")
        frame.get_by_test_id("composer-send").click()
        expect(frame.get_by_test_id("conversation-status")).to_contain_text("queue", timeout=WAIT)
    ctx.close()


@pytest.fixture(scope="module")
def prefixed_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real hub served under /hub/ (tests/e2e/prefixed_hub.py), as a reverse proxy would."""
    port = _free_port()
    data = tmp_path_factory.mktemp("prefixed")
    env = {**os.environ, "HUB_ADMIN_EMAIL": ADMIN_EMAIL, "HUB_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with open(data / "hub.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.prefixed_hub", str(port), str(data)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}/hub"
        try:
            _wait_healthy(url, proc, time.monotonic() + 30)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    # Shown by pytest only when a test using the hub failed: what the hub said meanwhile.
    print((data / "hub.log").read_text(errors="replace")[-6000:])


@pytest.mark.browser
def test_the_front_end_under_a_url_prefix(prefixed_hub: str, browser, tmp_path: Path) -> None:
    outside: list[str] = []

    def watch(page) -> None:
        page.on(
            "request",
            lambda r: outside.append(r.url) if not r.url.startswith(prefixed_hub + "/") else None,
        )

    visitor_ctx = browser.new_context(locale="en-US")
    agent_ctx = browser.new_context(locale="en-US")
    for ctx in (visitor_ctx, agent_ctx):
        ctx.on("page", watch)
    host = visitor_ctx.new_page()
    host.goto(prefixed_hub + "/")
    host.get_by_test_id("hub-launcher").click()
    frame = host.frame_locator("[data-testid=hub-frame]")
    frame.get_by_test_id("composer-input").fill("Hello under a prefix")
    frame.get_by_test_id("composer-send").click()
    doc = tmp_path / "receipt.txt"
    doc.write_text("receipt")
    frame.get_by_test_id("composer-file").set_input_files(str(doc))
    link = frame.locator("[data-testid=message][data-state=sent] [data-testid=message-file]")
    expect(link).to_have_count(1, timeout=WAIT)
    assert link.evaluate("a => a.href").startswith(prefixed_hub + "/uploads/")

    agent = agent_ctx.new_page()
    agent.goto(prefixed_hub + "/agent/")
    agent.get_by_test_id("login-email").fill(ADMIN_EMAIL)
    agent.get_by_test_id("login-password").fill(ADMIN_PASSWORD)
    agent.get_by_test_id("login-submit").click()
    toggle = agent.get_by_test_id("presence-toggle")
    expect(toggle).to_be_enabled(timeout=WAIT)  # the socket connected under the prefix
    toggle.click()
    agent.locator("[data-testid=conversation-item][data-status=assigned]").first.click()
    agent.locator("[data-testid=message]", has_text="Hello under a prefix").wait_for(timeout=WAIT)
    expect(agent.get_by_test_id("message-file")).to_contain_text("receipt.txt")
    agent.get_by_test_id("composer-input").fill("Answered under a prefix")
    agent.get_by_test_id("composer-send").click()
    frame.locator("[data-testid=message][data-sender-type=agent]", has_text="Answered").wait_for(
        timeout=WAIT
    )
    agent.screenshot(path=str(ARTIFACTS / "inbox-under-prefix.png"))
    agent.get_by_test_id("nav-console").click()
    agent.wait_for_url(prefixed_hub + "/agent/console")
    expect(agent.get_by_test_id("console-live")).to_have_attribute("data-state", "on", timeout=WAIT)
    agent.get_by_test_id("console-inbox-link").first.click()
    agent.wait_for_url(prefixed_hub + "/agent/")
    assert outside == []
    visitor_ctx.close()
    agent_ctx.close()
