"""Upload records (issue 13, item 2): every file the hub stores for messages is recorded
with who brought it, so that quotas can count it, a message attaches only its sender's
files, and a file no message took is removed after a grace period.

Files themselves are hub/uploads.py's; the REST upload is hub/api/uploads.py."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from hub.context import Hub
from hub.domain import Upload, UploaderType, upload_ids, utcnow
from hub.errors import Forbidden, HubError, NotFound
from hub.storage.base import UploadQuota
from hub.uploads import (
    attachment_type,
    disk_has_room,
    display_name,
    extension_for,
    folder_for,
    new_stored_name,
    write_private,
)

log = logging.getLogger(__name__)

QUOTA_WINDOW = timedelta(days=1)
ORPHAN_BATCH = 500
# What the store's refusal means, as the setting that sets the limit, and the answer's status:
# a visitor's quota frees up as the day goes by (429), the tenant's only when files go (413).
EXCEEDED = {
    "uploader_files": ("visitor_upload_files_per_day", 429),
    "uploader_bytes": ("visitor_upload_bytes_per_day", 429),
    "tenant_bytes": ("tenant_upload_bytes", 413),
}


def upload_quota(hub: Hub, uploader_type: str, now: datetime) -> UploadQuota:
    settings = hub.settings
    if uploader_type != UploaderType.CONTACT.value:
        return UploadQuota(tenant_bytes=settings.tenant_upload_bytes)
    return UploadQuota(
        tenant_bytes=settings.tenant_upload_bytes,
        since=now - QUOTA_WINDOW,
        uploader_files=settings.visitor_upload_files_per_day,
        uploader_bytes=settings.visitor_upload_bytes_per_day,
    )


def quota_error(hub: Hub, exceeded: str) -> HubError:
    setting, status = EXCEEDED[exceeded]
    limit = getattr(hub.settings, setting)
    return HubError(
        f"upload quota reached ({setting}: {limit})",
        code="upload_quota",
        status=status,
        exceeded=setting,
        limit=limit,
    )


async def do_record_upload(hub: Hub, upload: Upload) -> None:
    """Records a file just stored; past a quota, raises `upload_quota` (the caller removes
    the file: nothing stays)."""
    exceeded = await hub.store.create_upload(
        upload, upload_quota(hub, upload.uploader_type, upload.created_at)
    )
    if exceeded is not None:
        raise quota_error(hub, exceeded)


async def do_save_inbound_attachment(
    hub: Hub,
    tenant: str,
    data: bytes,
    *,
    channel_id: str,
    name: str,
    mime: str,
    content_id: str | None = None,
) -> dict[str, Any]:
    """Store a file a channel brought in; returns the attachment as messages carry it.

    Recorded first (counted against the tenant's quota), then written. A file over the
    quota, or one the disk has no room for, is not kept, and the message still is: its
    attachment says so (`kept: false`, `not_kept` the reason, no `url`)."""
    mime = mime.lower() or "application/octet-stream"
    stored = new_stored_name(extension_for(mime, name))
    folder = folder_for(hub, tenant)
    attachment: dict[str, Any] = {
        "url": f"/uploads/{folder.name}/{stored}",
        "name": display_name(name, stored),
        "type": attachment_type(stored),
        "size": len(data),
        "mime": mime,
    }
    if content_id:
        attachment["content_id"] = content_id  # an email's inline image (cid:)
    upload = Upload(
        id=stored,
        tenant=tenant,
        uploader_type=UploaderType.CHANNEL.value,
        uploader_id=channel_id,
        size=len(data),
        mime=mime,
        name=attachment["name"],
    )
    reason = None
    if not await asyncio.to_thread(disk_has_room, hub, folder, len(data)):
        reason = "insufficient_storage"
    elif await hub.store.create_upload(upload, upload_quota(hub, upload.uploader_type, utcnow())):
        reason = "upload_quota"
    if reason is not None:
        log.warning(
            "an attachment of %s bytes on channel %s not kept: %s", len(data), channel_id, reason
        )
        return attachment | {"url": None, "kept": False, "not_kept": reason}
    try:
        await asyncio.to_thread(write_private, folder / stored, data)
    except BaseException:
        await hub.store.delete_orphan_upload(tenant, stored)
        raise
    return attachment


async def check_attachment_owners(
    hub: Hub, tenant: str, attachments: list[dict[str, Any]], *, sender_type: str, sender_id: str
) -> list[dict[str, Any]]:
    """A message may attach only files of its tenant its sender uploaded: a visitor its own,
    an agent those of the tenant's agents. Size and type come from the record, not from
    what the client said; the URL is the record's own."""
    if not attachments:
        return attachments
    records = {u.id: u for u in await hub.store.get_uploads(tenant, upload_ids(attachments))}
    folder = folder_for(hub, tenant).name
    checked = []
    for attachment in attachments:
        upload_id = str(attachment["url"]).rsplit("/", 1)[-1]
        record = records.get(upload_id)
        if record is None or attachment["url"] != f"/uploads/{folder}/{upload_id}":
            raise NotFound(
                f"no such upload: {attachment['url']}",
                code="upload_not_found",
                url=attachment["url"],
            )
        own = record.uploader_type == sender_type and (
            sender_type == UploaderType.AGENT.value or record.uploader_id == sender_id
        )
        if not own:
            raise Forbidden(
                "attachments must be files uploaded by their sender",
                code="not_your_upload",
                url=attachment["url"],
            )
        checked.append(
            attachment
            | {
                "size": record.size,
                "mime": record.mime,
                "type": attachment_type(upload_id),
            }
        )
    return checked


async def do_remove_orphan_uploads(hub: Hub, now: datetime | None = None) -> int:
    """Removes the uploads no message took within the grace period, record and file (the
    record first and only if still unused, so a file a message has just taken stays);
    their bytes leave the quotas. Answers how many were removed."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=hub.settings.upload_orphan_grace_seconds)
    removed = 0
    while True:
        orphans = await hub.store.list_orphan_uploads(cutoff, ORPHAN_BATCH)
        for orphan in orphans:
            if await hub.store.delete_orphan_upload(orphan.tenant, orphan.id):
                path = folder_for(hub, orphan.tenant) / orphan.id
                await asyncio.to_thread(path.unlink, missing_ok=True)
                removed += 1
        if len(orphans) < ORPHAN_BATCH:
            return removed


async def run_upload_cleanup(hub: Hub) -> None:
    """The clean-up's loop, every upload_cleanup_seconds until cancelled."""
    while True:
        try:
            removed = await do_remove_orphan_uploads(hub)
        except Exception:
            log.exception("the upload clean-up failed; it runs again later")
        else:
            if removed:
                log.info("removed %d uploads no message took", removed)
        await asyncio.sleep(hub.settings.upload_cleanup_seconds)
