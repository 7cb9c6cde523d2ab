"""Issue 13, item 2 (the rest): uploads are recorded; quotas per visitor and per tenant;
a message attaches only its sender's uploads; uploads no message took are removed after a
grace period; a channel's attachments over the quota are marked as not kept, and the
message is kept all the same."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

from hub.actions.messages import receive_inbound
from hub.actions.uploads import do_remove_orphan_uploads, do_save_inbound_attachment
from hub.channels import InboundMessage
from hub.domain import Identity, utcnow
from tests.conftest import RunningHub, hub_running


def hub_with(tmp_path: Path, **overrides: Any) -> AbstractAsyncContextManager[RunningHub]:
    return hub_running(tmp_path / "data", **overrides)


async def upload(
    running: RunningHub, *, visitor: str | None = None, agent: str | None = None, size: int = 5
) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    form.add_field("file", b"x" * size, filename="a.txt", content_type="text/plain")
    headers = {"X-Visitor-Token": visitor} if visitor else {"Authorization": f"Bearer {agent}"}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{running.base_url}/api/v1/uploads", data=form, headers=headers
        ) as response:
            return response.status, await response.json()


def stored_files(running: RunningHub) -> set[str]:
    folder = Path(running.hub.settings.data_dir) / "uploads" / "default"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def attachment(uploaded: dict[str, Any]) -> dict[str, Any]:
    return {k: uploaded[k] for k in ("url", "name", "type", "size", "mime")}


async def test_a_visitor_quota_refuses_past_its_files_and_bytes_a_day(tmp_path: Path) -> None:
    """Before: any visitor token could upload 10 MB files without end."""
    async with hub_with(
        tmp_path, visitor_upload_files_per_day=2, visitor_upload_bytes_per_day=12
    ) as running:
        visitor = await running.visitor()
        assert (await upload(running, visitor=visitor.token))[0] == 201
        status, body = await upload(running, visitor=visitor.token, size=8)
        assert status == 429
        assert body["error"]["code"] == "upload_quota"
        assert body["error"]["exceeded"] == "visitor_upload_bytes_per_day"
        assert body["error"]["limit"] == 12
        assert (await upload(running, visitor=visitor.token))[0] == 201
        status, body = await upload(running, visitor=visitor.token, size=1)
        assert status == 429 and body["error"]["exceeded"] == "visitor_upload_files_per_day"
        assert len(stored_files(running)) == 2  # what was refused left nothing behind
        assert await running.hub.store.upload_totals("default") == (2, 10)
        other = await running.visitor()
        assert (await upload(running, visitor=other.token))[0] == 201


async def test_the_tenant_quota_counts_every_uploader(tmp_path: Path) -> None:
    async with hub_with(tmp_path, tenant_upload_bytes=12) as running:
        token, _ = await running.create_agent()
        first, second = await running.visitor(), await running.visitor()
        assert (await upload(running, visitor=first.token))[0] == 201
        assert (await upload(running, agent=token))[0] == 201
        status, body = await upload(running, visitor=second.token)
        assert status == 413 and body["error"]["code"] == "upload_quota"
        assert body["error"]["exceeded"] == "tenant_upload_bytes"
        assert (await upload(running, agent=token))[0] == 413
        assert len(stored_files(running)) == 2


async def test_a_message_attaches_only_its_senders_uploads(tmp_path: Path) -> None:
    async with hub_with(tmp_path) as running:
        agent = await running.agent()
        owner, stranger = await running.visitor(), await running.visitor()
        _, mine = await upload(running, visitor=owner.token)
        ack = await stranger.call("message", {"client_id": "s", "attachments": [attachment(mine)]})
        assert ack["ok"] is False and ack["error"]["code"] == "not_your_upload", ack
        unknown = attachment(mine) | {"url": "/uploads/default/" + "0" * 32 + ".txt"}
        ack = await owner.call("message", {"client_id": "u", "attachments": [unknown]})
        assert ack["ok"] is False and ack["error"]["code"] == "upload_not_found", ack
        # What the record says wins over what the client claims.
        claimed = attachment(mine) | {"size": 999, "mime": "image/png"}
        ack = await owner.call("message", {"client_id": "o", "attachments": [claimed]})
        assert ack["ok"], ack
        sent = ack["message"]
        assert (
            sent["attachments"][0]["size"] == 5 and sent["attachments"][0]["mime"] == "text/plain"
        )
        (record,) = await running.hub.store.get_uploads("default", [mine["url"].rsplit("/")[-1]])
        assert record.uploader_type == "contact" and record.message_id == sent["id"]
        await agent.wait_for("conversation.assigned")
        conversation_id = sent["conversation_id"]
        ack = await agent.call(
            "message",
            {
                "conversation_id": conversation_id,
                "client_id": "a1",
                "text": "your file",
                "attachments": [attachment(mine)],
            },
        )
        assert ack["ok"] is False and ack["error"]["code"] == "not_your_upload", ack
        _, reply_file = await upload(running, agent=agent.token)
        ack = await agent.call(
            "message",
            {
                "conversation_id": conversation_id,
                "client_id": "a2",
                "text": "here it is",
                "attachments": [attachment(reply_file)],
            },
        )
        assert ack["ok"], ack


async def test_uploads_no_message_took_are_removed_after_the_grace(tmp_path: Path) -> None:
    async with hub_with(tmp_path, visitor_upload_files_per_day=2) as running:
        hub = running.hub
        visitor = await running.visitor()
        _, used = await upload(running, visitor=visitor.token)
        assert (await upload(running, visitor=visitor.token))[0] == 201  # never attached
        assert (await upload(running, visitor=visitor.token))[0] == 429
        ack = await visitor.call("message", {"client_id": "m", "attachments": [attachment(used)]})
        assert ack["ok"], ack
        # Within the grace period nothing goes.
        assert await do_remove_orphan_uploads(hub) == 0
        later = utcnow() + timedelta(seconds=hub.settings.upload_orphan_grace_seconds + 1)
        assert await do_remove_orphan_uploads(hub, later) == 1
        assert stored_files(running) == {used["url"].rsplit("/")[-1]}
        assert await hub.store.upload_totals("default") == (1, 5)
        # The quota is free again; the message's file is still served.
        assert (await upload(running, visitor=visitor.token))[0] == 201
        async with (
            aiohttp.ClientSession() as session,
            session.get(running.base_url + used["url"]) as response,
        ):
            assert response.status == 200 and await response.read() == b"xxxxx"


async def test_the_clean_up_runs_in_the_background(tmp_path: Path) -> None:
    async with hub_with(
        tmp_path, upload_orphan_grace_seconds=0, upload_cleanup_seconds=0.05
    ) as running:
        visitor = await running.visitor()
        status, _ = await upload(running, visitor=visitor.token)
        assert status == 201
        store = running.hub.store

        async def removed() -> bool:
            return not stored_files(running) and await store.upload_totals("default") == (0, 0)

        # The job tells nobody: its effect, a file and a record gone, is looked for.
        async with asyncio.timeout(10):
            while not await removed():  # noqa: ASYNC110
                await asyncio.sleep(0.05)


async def test_a_channel_attachment_past_the_quota_is_marked_not_kept(tmp_path: Path) -> None:
    async with hub_with(tmp_path, tenant_upload_bytes=10) as running:
        hub = running.hub
        kept = await do_save_inbound_attachment(
            hub, "default", b"12345678", channel_id="box1", name="a.pdf", mime="application/pdf"
        )
        dropped = await do_save_inbound_attachment(
            hub, "default", b"12345678", channel_id="box1", name="b.pdf", mime="application/pdf"
        )
        assert kept["url"] and "kept" not in kept
        assert dropped["url"] is None and dropped["kept"] is False
        assert dropped["not_kept"] == "upload_quota" and dropped["name"] == "b.pdf"
        assert len(stored_files(running)) == 1
        received = await receive_inbound(
            hub,
            InboundMessage(
                tenant="default",
                channel="email",
                channel_id="box1",
                identity=Identity("email", "kim@example.com"),
                text="two files",
                type="file",
                attachments=[kept, dropped],
                platform_message_id="<m1@example.com>",
            ),
        )
        assert [a["name"] for a in received.public["attachments"]] == ["a.pdf", "b.pdf"]
        (record,) = await hub.store.get_uploads("default", [kept["url"].rsplit("/")[-1]])
        assert record.uploader_type == "channel" and record.uploader_id == "box1"
        assert record.message_id == received.message.id
