"""File and image uploads for the chat widget and the inbox, with size and type limits.

Visitors authenticate with their visitor token (`X-Visitor-Token`), agents with their bearer
token. Files land under `<data dir>/uploads/<tenant>/` with random names and are served back
from `/uploads/<tenant>/<name>`, which is what message attachments point at.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from aiohttp import BodyPartReader, web

from hub.api.common import current_agent, hub_of
from hub.boundary import repair_text
from hub.errors import Invalid, NotFound, TooLarge
from hub.uploads import display_name, is_stored_name

routes = web.RouteTableDef()

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
ALLOWED = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "application/zip": ".zip",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}


async def _tenant_of(request: web.Request) -> str:
    visitor_token = request.headers.get("X-Visitor-Token")
    if visitor_token:
        return hub_of(request).tokens.read_visitor_token(visitor_token).tenant
    return (await current_agent(request)).tenant


def _upload_dir(request: web.Request, tenant: str) -> Path:
    return (
        Path(hub_of(request).settings.data_dir) / "uploads" / re.sub(r"[^A-Za-z0-9_-]", "_", tenant)
    )


@routes.post("/api/v1/uploads")
async def upload(request: web.Request) -> web.Response:
    tenant = await _tenant_of(request)
    if not request.content_type.startswith("multipart/"):
        raise Invalid("send multipart/form-data with one field named file", code="invalid_upload")
    try:
        part = await (await request.multipart()).next()
    except ValueError as exc:  # aiohttp's parser: no boundary, a broken part header …
        raise Invalid(f"the multipart body is not valid: {exc}", code="invalid_upload") from exc
    if not isinstance(part, BodyPartReader) or part.name != "file":
        raise Invalid("send one multipart field named file", code="invalid_upload")
    mime = (part.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if mime not in ALLOWED:
        raise Invalid(f"file type {mime or 'unknown'} is not allowed", code="invalid_file_type")
    folder = _upload_dir(request, tenant)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = secrets.token_hex(16) + ALLOWED[mime]
    target = folder / name
    size = 0
    # Private like everything in the data directory: the hub serves them, nobody else reads.
    with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        while chunk := await part.read_chunk(64 * 1024):  # type: ignore[union-attr]
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                out.close()
                target.unlink(missing_ok=True)
                raise TooLarge(
                    f"files are limited to {MAX_UPLOAD_BYTES // 1024 // 1024} MB",
                    code="file_too_large",
                )
            out.write(chunk)
    original = display_name(repair_text(getattr(part, "filename", None) or ""), name)
    body = {
        "url": f"/uploads/{folder.name}/{name}",
        "name": original,
        "type": "image" if mime.startswith("image/") else "file",
        "size": size,
        "mime": mime,
    }
    return web.json_response(body, status=201)


@routes.get("/uploads/{tenant}/{name}")
async def download(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    tenant = request.match_info["tenant"]
    if not is_stored_name(name) or not re.fullmatch(r"[A-Za-z0-9_-]+", tenant):
        raise NotFound("no such file", code="file_not_found")
    path = _upload_dir(request, tenant) / name
    if not path.is_file():
        raise NotFound("no such file", code="file_not_found")
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=86400"}
    if not name.endswith((".png", ".jpg", ".gif", ".webp")):
        headers["Content-Disposition"] = "attachment"
    return web.FileResponse(path, headers=headers)
