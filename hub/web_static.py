"""The front end: the demo host page, the widget loader, the chat frame, the inbox and console.

Everything under `widget/` is read once at start and served from memory, so what is served
always matches the version computed from it: the first 12 hex digits of a SHA-256 over every
file's path and content. Modules, styles and vendored files are served under
`/static/<version>/`, cached for a year as immutable; every import is relative, so the modules
a module imports carry the version too. The entry pages and the loader keep their URLs (the
embed snippet, bookmarks), are revalidated on each load (`no-cache` with an ETag), and name the
current version with a relative path, so the whole front end also works under a URL prefix.
A changed file needs a restart to be served, and then every URL changes with it. Text files
are gzipped once at start and sent compressed to browsers that accept it.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import pathlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

STATIC_PREFIX = "static"
VERSION_DIGITS = 12
# Route → file; `{{static}}` in these files becomes the page-relative path of the versioned tree.
ENTRY_PAGES = {
    "/": "demo.html",
    "/chat": "chat.html",
    "/agent/": "agent/index.html",
    "/agent/console": "agent/console.html",
}
LOADER = "widget.js"
PLACEHOLDER = b"{{static}}"
IMMUTABLE = "public, max-age=31536000, immutable"
COMPRESS_FROM_BYTES = 1024
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    charset: str | None
    gzipped: bytes | None  # when text, and smaller so


def _asset(body: bytes, content_type: str) -> Asset:
    textual = content_type.startswith("text/") or content_type.endswith("+xml")
    gzipped = None
    if textual and len(body) >= COMPRESS_FROM_BYTES:
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    small_enough = gzipped is not None and len(gzipped) < len(body)
    return Asset(
        body, content_type, "utf-8" if textual else None, gzipped if small_enough else None
    )


def _content_type(path: pathlib.Path) -> str:
    known = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    return known or "application/octet-stream"


def read_front_end(widget_dir: pathlib.Path) -> tuple[str, dict[str, Asset]]:
    """(version, every file by its path relative to `widget_dir`), hidden files left out."""
    digest = hashlib.sha256()
    files: dict[str, Asset] = {}
    for path in sorted(widget_dir.rglob("*")):
        relative = path.relative_to(widget_dir).as_posix()
        if not path.is_file() or any(part.startswith(".") for part in relative.split("/")):
            continue
        body = path.read_bytes()
        digest.update(relative.encode() + b"\0" + len(body).to_bytes(8, "big") + body)
        files[relative] = _asset(body, _content_type(path))
    return digest.hexdigest()[:VERSION_DIGITS], files


STATIC_ROUTE = "front-end-files"


def page_name(route: str) -> str:
    """A route name for an entry page, which holds wherever the hub is mounted (behind a
    prefix the paths change; the security headers tell the pages apart by these names)."""
    return "page:" + (route.strip("/").replace("/", ".") or "demo")


def add_static_routes(app: web.Application, widget_dir: pathlib.Path) -> str:
    """Serve the front end read from `widget_dir`; returns the version its URLs carry."""
    version, files = read_front_end(widget_dir.resolve())
    entry_files = {*ENTRY_PAGES.values(), LOADER}
    versioned = {path: asset for path, asset in files.items() if path not in entry_files}
    etag = f'W/"{version}"'
    revalidate = {"Cache-Control": "no-cache", "ETag": etag, "X-Content-Type-Options": "nosniff"}

    def entry(route: str, asset: Asset) -> Asset:
        depth = route.count("/") - 1
        tree = f"{'../' * depth}{STATIC_PREFIX}/{version}".encode()
        return _asset(asset.body.replace(PLACEHOLDER, tree), asset.content_type)

    def revalidated(asset: Asset) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            if etag in request.headers.get("If-None-Match", ""):
                return web.Response(status=304, headers=revalidate)
            return _serve(request, asset, revalidate)

        return handler

    async def static(request: web.Request) -> web.StreamResponse:
        asset = versioned.get(request.match_info["path"])
        if request.match_info["version"] != version or asset is None:
            # Another version's files are gone with it: a page that old must reload.
            raise web.HTTPNotFound(headers={"Cache-Control": "no-store"})
        return _serve(
            request, asset, {"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"}
        )

    async def agent_redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("agent/")

    for route, name in ENTRY_PAGES.items():
        app.router.add_get(route, revalidated(entry(route, files[name])), name=page_name(route))
    app.router.add_get(f"/{LOADER}", revalidated(files[LOADER]))
    app.router.add_get("/agent", agent_redirect)
    app.router.add_get(f"/{STATIC_PREFIX}/{{version}}/{{path:.+}}", static, name=STATIC_ROUTE)
    return version


def _serve(request: web.Request, asset: Asset, headers: dict[str, str]) -> web.Response:
    body = asset.body
    if asset.gzipped is not None:
        headers = {**headers, "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("Accept-Encoding", "").lower():
            body, headers = asset.gzipped, {**headers, "Content-Encoding": "gzip"}
    return web.Response(
        body=body, content_type=asset.content_type, charset=asset.charset, headers=headers
    )
