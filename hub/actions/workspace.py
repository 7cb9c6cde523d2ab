"""Workspace settings documents: quick replies, the widget's settings and availability
(working hours). Messages left (留言) are hub.actions.left_messages'."""

from __future__ import annotations

import copy
import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.actions.tenant_state import active_tenant
from hub.context import Hub
from hub.domain import Channel, utcnow
from hub.errors import Invalid

MAX_QUICK_REPLIES = 500


async def put_quick_replies(hub: Hub, tenant: str, raw: object) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or len(raw) > MAX_QUICK_REPLIES:
        raise Invalid(
            f"items must be a list of at most {MAX_QUICK_REPLIES}", code="invalid_quick_replies"
        )
    items = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise Invalid("each quick reply is an object", code="invalid_quick_replies")
        title, text = entry.get("title", ""), entry.get("text")
        if (
            not isinstance(title, str)
            or not isinstance(text, str)
            or not text.strip()
            or len(text) > 2000
        ):
            raise Invalid(
                "a quick reply needs text (at most 2000 characters)", code="invalid_quick_replies"
            )
        items.append({"title": title[:100], "text": text})
    await hub.store.put_settings(tenant, "quick_replies", {"items": items})
    return items


WIDGET_DEFAULTS: dict[str, Any] = {
    "color": "#2563eb",
    "position": "right",
    "launcher_text": "",
    "company_name": "",
    "address": "",
    "phone": "",
    "email": "",
    "notice": "",
    "welcome_message": "",
    "max_length": 2000,
    "send_key": "enter",
    # Pre-chat form (售前表单): the listed fields are asked (and required) before the first
    # message of a visitor who has no open conversation.
    "prechat_enabled": False,
    "prechat_fields": ["name"],
    # Outside these hours the widget offers the leave-a-message form (留言) instead of a chat.
    "working_hours_enabled": False,
    "working_hours": {
        "timezone": "Asia/Shanghai",
        "days": [1, 2, 3, 4, 5],
        "start": "09:00",
        "end": "18:00",
        "holidays": [],
    },
    "offline_message": "",
    # Sites that may embed the chat frame (its Content-Security-Policy frame-ancestors), as
    # origins like https://shop.example.com; empty: any site.
    "allowed_origins": [],
}
MAX_ALLOWED_ORIGINS = 50
ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?$")
PRECHAT_FIELDS = ("name", "phone", "email")
MAX_HOLIDAYS = 366
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def widget_config(doc: dict[str, Any] | None) -> dict[str, Any]:
    return {
        **copy.deepcopy(WIDGET_DEFAULTS),
        **{k: v for k, v in (doc or {}).items() if k in WIDGET_DEFAULTS},
    }


def public_widget_config(hub: Hub, doc: dict[str, Any] | None) -> dict[str, Any]:
    """The widget's settings as the chat page reads them, with the limits the hub enforces,
    so the page shows them up front instead of learning them from a refusal."""
    config = widget_config(doc)
    config["max_length"] = min(config["max_length"], hub.settings.max_text_length)
    config["upload_max_bytes"] = hub.settings.upload_max_bytes
    return config


def agent_limits(hub: Hub) -> dict[str, int]:
    """What an agent's composer may send: the text a reply may hold (a channel may allow
    less, and says so with text_too_long and its limit) and the size of one upload."""
    return {
        "max_text_length": hub.settings.max_text_length,
        "upload_max_bytes": hub.settings.upload_max_bytes,
    }


def _bad(message: str) -> Invalid:
    return Invalid(message, code="invalid_widget_settings")


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def check_prechat_fields(raw: object) -> list[str]:
    if (
        not isinstance(raw, list)
        or not all(isinstance(name, str) and name in PRECHAT_FIELDS for name in raw)
        or len(set(raw)) != len(raw)
    ):
        raise _bad("prechat_fields lists some of name, phone, email, each at most once")
    return list(raw)


def check_working_hours(raw: object) -> dict[str, Any]:
    """{timezone (IANA), days (ISO weekdays 1-7), start "HH:MM", end "HH:MM" ("24:00" allowed),
    holidays ["YYYY-MM-DD"]}. An end before the start is a shift that runs past midnight."""
    if not isinstance(raw, dict):
        raise _bad("working_hours is an object {timezone, days, start, end, holidays}")
    unknown = set(raw) - {"timezone", "days", "start", "end", "holidays"}
    if unknown:
        raise _bad(f"unknown working_hours field {sorted(unknown)[0]}")
    zone = raw.get("timezone")
    try:
        if not isinstance(zone, str) or not zone or len(zone) > 64:
            raise ValueError(zone)
        ZoneInfo(zone)
    except (ValueError, OSError, ZoneInfoNotFoundError):
        raise _bad("working_hours.timezone must be an IANA time zone like Asia/Shanghai") from None
    days = raw.get("days")
    if (
        not isinstance(days, list)
        or not all(type(day) is int and 1 <= day <= 7 for day in days)
        or len(set(days)) != len(days)
    ):
        raise _bad("working_hours.days lists ISO weekdays 1 (Monday) to 7 (Sunday)")
    start, end = raw.get("start"), raw.get("end")
    if not isinstance(start, str) or not _HHMM.match(start):
        raise _bad("working_hours.start is a time HH:MM from 00:00 to 23:59")
    if not isinstance(end, str) or not (_HHMM.match(end) or end == "24:00"):
        raise _bad("working_hours.end is a time HH:MM from 00:00 to 24:00")
    if _minutes(start) == _minutes(end) % (24 * 60):
        raise _bad("working_hours.start and end must differ")
    holidays = raw.get("holidays", [])
    if not isinstance(holidays, list) or len(holidays) > MAX_HOLIDAYS:
        raise _bad(f"working_hours.holidays lists at most {MAX_HOLIDAYS} dates YYYY-MM-DD")
    for day in holidays:
        try:
            if not isinstance(day, str) or not _DATE.match(day):
                raise ValueError(day)
            date.fromisoformat(day)
        except ValueError:
            raise _bad("working_hours.holidays lists dates YYYY-MM-DD") from None
    return {
        "timezone": zone,
        "days": sorted(days),
        "start": start,
        "end": end,
        "holidays": sorted(set(holidays)),
    }


def within_working_hours(hours: dict[str, Any], now: datetime) -> bool:
    """Whether `now` (aware) falls in the working hours, judged on the tenant's local clock.
    A shift that runs past midnight belongs to the day (and holiday) it started on."""
    local = now.astimezone(ZoneInfo(hours["timezone"]))
    minute = local.hour * 60 + local.minute
    start, end = _minutes(hours["start"]), _minutes(hours["end"])

    def works(day: date) -> bool:
        return day.isoweekday() in hours["days"] and day.isoformat() not in hours["holidays"]

    today = local.date()
    if start < end:
        return start <= minute < end and works(today)
    # Overnight: the evening part belongs to today, the early part to yesterday's shift.
    if minute >= start:
        return works(today)
    return minute < end and works(today - timedelta(days=1))


def widget_is_open(config: dict[str, Any], now: datetime) -> bool:
    if not config["working_hours_enabled"]:
        return True
    return within_working_hours(config["working_hours"], now)


async def widget_availability(hub: Hub, tenant: str, now: datetime | None = None) -> dict[str, Any]:
    """What the widget needs before offering a chat: can anyone answer, are we open."""
    await active_tenant(hub, tenant)
    config = widget_config(await hub.store.get_settings(tenant, "widget"))
    bot = hub.bot_intake is not None and await hub.bot_intake.answers(tenant, Channel.WEBIM.value)
    return {
        "agents_online": hub.presence.online_count(tenant),
        # A bot answering on web chat keeps the chat open outside working hours too.
        "open": bot or widget_is_open(config, now or utcnow()),
        "bot": bot,
    }


async def put_widget_config(hub: Hub, tenant: str, raw: object) -> dict[str, Any]:
    """Widget appearance, pre-chat form and working hours. Everything is checked before
    anything is stored, so a refused request changes nothing."""
    if not isinstance(raw, dict):
        raise _bad("send a JSON object")
    config = widget_config(await hub.store.get_settings(tenant, "widget"))
    for key, value in raw.items():
        if key not in WIDGET_DEFAULTS:
            raise _bad(f"unknown widget setting {key}")
        default = WIDGET_DEFAULTS[key]
        if key == "color" and not (isinstance(value, str) and _COLOR.match(value)):
            raise _bad("color must look like #2563eb")
        elif key == "position" and value not in ("left", "right"):
            raise _bad("position is left or right")
        elif key == "send_key" and value not in ("enter", "ctrl_enter"):
            raise _bad("send_key is enter or ctrl_enter")
        elif key == "max_length" and not (type(value) is int and 1 <= value <= 5000):
            raise _bad("max_length is a whole number between 1 and 5000")
        elif key == "prechat_fields":
            value = check_prechat_fields(value)
        elif key == "working_hours":
            value = check_working_hours(value)
        elif key == "allowed_origins" and not (
            isinstance(value, list)
            and len(value) <= MAX_ALLOWED_ORIGINS
            and all(isinstance(o, str) and ORIGIN.match(o) for o in value)
        ):
            raise _bad("allowed_origins is a list of origins such as https://shop.example.com")
        elif isinstance(default, bool) and not isinstance(value, bool):
            raise _bad(f"{key} is true or false")
        elif isinstance(default, str) and not (isinstance(value, str) and len(value) <= 500):
            raise _bad(f"{key} is text of at most 500 characters")
        config[key] = value
    await hub.store.put_settings(tenant, "widget", config)
    return config
