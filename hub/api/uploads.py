"""File and image uploads for the chat widget and the inbox, with size and type limits.

Visitors authenticate with their visitor token (`X-Visitor-Token`), agents with their bearer
token. Each stored file is recorded (hub/actions/uploads.py) against the quotas. Files land
under `<data dir>/uploads/<tenant>/` with random names and are served back from
`/uploads/<tenant>/<name>`, which is what message attachments point at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from hub.actions.tenant_state import active_tenant
from hub.actions.uploads import do_record_upload
from hub.api.common import current_agent, hub_of
from hub.boundary import repair_text
from hub.domain import Upload, UploaderType
from hub.errors import HubError, Invalid, NotFound, TooLarge
from hub.throttle import rate_limited
from hub.uploads import (
    attachment_type,
    disk_has_room,
    display_name,
    folder_for,
    is_stored_name,
    new_stored_name,
)

routes = web.RouteTableDef()

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


async def _uploader_of(request: web.Request) -> tuple[str, str, str]:
    """The tenant, and who uploads: (contact, its id) for a visitor token, (agent, its id)."""
    visitor_token = request.headers.get("X-Visitor-Token")
    if visitor_token:
        claims = hub_of(request).tokens.read_visitor_token(visitor_token)
        await active_tenant(hub_of(request), claims.tenant)
        return claims.tenant, UploaderType.CONTACT.value, claims.contact_id
    agent = await current_agent(request)
    return agent.tenant, UploaderType.AGENT.value, agent.id


def _check_disk(request: web.Request, folder: Path, incoming: int) -> None:
    """Refuse an upload, rather than let the database's commits fail, when the disk is
    nearly full."""
    if not disk_has_room(hub_of(request), folder, incoming):
        raise HubError(
            "the hub is low on disk space; try again later",
            code="insufficient_storage",
            status=507,
        )


@routes.post("/api/v1/uploads")
async def upload(request: web.Request) -> web.Response:
    tenant, uploader_type, uploader_id = await _uploader_of(request)
    hub = hub_of(request)
    limits = hub.visitor_limits
    if wait := limits.uploads.retry_after((tenant, uploader_type, uploader_id)):
        raise rate_limited("too many uploads; wait a moment", wait)
    if not request.content_type.startswith("multipart/"):
        raise Invalid("send multipart/form-data with one field named file", code="invalid_upload")
    try:
        part = await (await request.multipart()).next()
    except (ValueError, HttpProcessingError) as exc:  # no boundary, a broken part header …
        raise Invalid(f"the multipart body is not valid: {exc}", code="invalid_upload") from exc
    if not isinstance(part, BodyPartReader) or part.name != "file":
        raise Invalid("send one multipart field named file", code="invalid_upload")
    mime = (part.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if mime not in ALLOWED:
        raise Invalid(f"file type {mime or 'unknown'} is not allowed", code="invalid_file_type")
    folder = folder_for(hub, tenant)
    _check_disk(request, folder, request.content_length or 0)
    limits.uploads.record((tenant, uploader_type, uploader_id))
    name = new_stored_name(ALLOWED[mime])
    target = folder / name
    size = 0
    # Private like everything in the data directory: the hub serves them, nobody else reads.
    with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        while chunk := await part.read_chunk(64 * 1024):  # type: ignore[union-attr]
            size += len(chunk)
            if size > (limit := hub.settings.upload_max_bytes):
                out.close()
                target.unlink(missing_ok=True)
                raise TooLarge(
                    f"files are limited to {limit / 1024 / 1024:g} MB",
                    code="file_too_large",
                    limit=limit,
                )
            try:
                _check_disk(request, folder, len(chunk))  # a body without Content-Length
            except HubError:
                out.close()
                target.unlink(missing_ok=True)
                raise
            out.write(chunk)
    original = display_name(repair_text(getattr(part, "filename", None) or ""), name)
    record = Upload(
        id=name,
        tenant=tenant,
        uploader_type=uploader_type,
        uploader_id=uploader_id,
        size=size,
        mime=mime,
        name=original,
    )
    try:
        await do_record_upload(hub, record)
    except BaseException:
        target.unlink(missing_ok=True)  # past a quota (or not recorded): nothing stays
        raise
    body = {
        "url": f"/uploads/{folder.name}/{name}",
        "name": original,
        "type": attachment_type(name),
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
    path = folder_for(hub_of(request), tenant) / name
    if not path.is_file():
        raise NotFound("no such file", code="file_not_found")
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=86400"}
    if attachment_type(name) != "image":
        headers["Content-Disposition"] = "attachment"
    return web.FileResponse(path, headers=headers)
