"""Files the hub keeps for messages: what visitors and agents upload (hub/api/uploads.py) and
what channels bring in (an email's attachments, a WeChat image; recorded by
hub/actions/uploads.py), stored under
`<data dir>/uploads/<tenant>/` with random names and served from `/uploads/<tenant>/<name>`,
which is what attachments point at. Files are served as downloads unless they are images, and
never sniffed, so what a customer sends cannot run in the inbox."""

from __future__ import annotations

import mimetypes
import os
import re
import secrets
import shutil
from pathlib import Path

from hub.context import Hub

IMAGE_EXTENSIONS = (".png", ".jpg", ".gif", ".webp")
_EXTENSION = re.compile(r"^\.[a-z0-9]{2,5}$")
_FILE_NAME = re.compile(r"^[0-9a-f]{32}\.[a-z0-9]{2,5}$")
# Display names keep what people wrote, without what could mislead or break a header: no
# control characters, no bidirectional overrides (a file "gpj.exe" shown as "exe.jpg").
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069/\\]")
MAX_NAME = 255


def folder_for(hub: Hub, tenant: str) -> Path:
    return Path(hub.settings.data_dir) / "uploads" / re.sub(r"[^A-Za-z0-9_-]", "_", tenant)


def extension_for(mime: str, name: str = "") -> str:
    """A safe extension: the MIME type's usual one, else the file name's, else .bin."""
    known = {"image/jpeg": ".jpg", "text/plain": ".txt"}.get(mime) or mimetypes.guess_extension(
        mime
    )
    for candidate in (known, Path(name).suffix.lower()):
        if candidate and _EXTENSION.match(candidate):
            return candidate
    return ".bin"


def display_name(name: str, fallback: str) -> str:
    cleaned = _UNSAFE_NAME.sub("", name).strip()
    return cleaned[:MAX_NAME] or fallback


def write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)


def attachment_type(stored_name: str) -> str:
    """What an attachment shows as: an image (inline) or a file (a download)."""
    return "image" if stored_name.endswith(IMAGE_EXTENSIONS) else "file"


def new_stored_name(extension: str) -> str:
    return secrets.token_hex(16) + extension


def disk_has_room(hub: Hub, folder: Path, incoming: int) -> bool:
    """Whether `incoming` more bytes leave the disk upload_min_free_bytes free: below that
    the hub takes no more files, rather than let the database's commits fail."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return shutil.disk_usage(folder).free >= hub.settings.upload_min_free_bytes + incoming


def is_stored_name(name: str) -> bool:
    return bool(_FILE_NAME.match(name))


def attachment_path(hub: Hub, tenant: str, url: object) -> Path | None:
    """The stored file behind one of the tenant's attachment URLs, if it is one and exists."""
    if not isinstance(url, str):
        return None
    parts = url.split("/")
    folder = folder_for(hub, tenant)
    if len(parts) != 4 or parts[:3] != ["", "uploads", folder.name]:
        return None
    if not is_stored_name(parts[3]):
        return None
    path = folder / parts[3]
    return path if path.is_file() else None
