"""Shared by the bot tests: the labelled knowledge base (tests/bots/data, written for these
tests), bot settings, and waiting for a visitor's bot answers."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from tests.conftest import RunningHub
from tests.realtime_clients import Visitor

DATA = Path(__file__).parent / "data"
ARTICLES_CSV = DATA / "kb_articles.csv"
PARAPHRASES_CSV = DATA / "paraphrases.csv"


def articles() -> list[dict[str, str]]:
    with ARTICLES_CSV.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def paraphrases() -> list[dict[str, str]]:
    with PARAPHRASES_CSV.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


async def import_kb(hub: RunningHub, data: bytes | None = None) -> tuple[int, Any]:
    return await hub.api.request(
        "POST",
        "/api/v1/kb/import",
        token=hub.admin_token,
        data=ARTICLES_CSV.read_bytes() if data is None else data,
        headers={"Content-Type": "text/csv"},
    )


async def bot_settings(hub: RunningHub, **changes: Any) -> dict[str, Any]:
    status, current = await hub.api.request("GET", "/api/v1/settings/bot", token=hub.admin_token)
    assert status == 200, current
    status, body = await hub.api.request(
        "PUT", "/api/v1/settings/bot", token=hub.admin_token, json=current | changes
    )
    assert status == 200, body
    return body


def bot_messages(visitor: Visitor) -> list[dict[str, Any]]:
    return [m for m in visitor.events["message"] if m["sender"]["type"] == "bot"]


async def next_bot_message(visitor: Visitor, start: int) -> dict[str, Any]:
    """The first bot message after the visitor had seen `start` messages."""
    return await visitor.wait_for("message", lambda m: m["sender"]["type"] == "bot", start=start)


async def ask(visitor: Visitor, text: str) -> dict[str, Any]:
    """Say something and wait for the bot's next answer to it."""
    start = visitor.count("message")
    ack = await visitor.say(text)
    assert ack["ok"], ack
    return await next_bot_message(visitor, start)
