"""Widget settings (pre-chat form, working hours) over REST, the hours logic on an injected
clock, and the public availability answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hub.actions.workspace import (
    WIDGET_DEFAULTS,
    check_working_hours,
    widget_availability,
    widget_is_open,
    within_working_hours,
)
from hub.errors import Invalid
from tests.conftest import RunningHub

SHANGHAI_OFFICE = {
    "timezone": "Asia/Shanghai",
    "days": [1, 2, 3, 4, 5],
    "start": "09:00",
    "end": "18:00",
    "holidays": ["2026-10-01"],
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # Monday 2026-11-23 09:00 in Shanghai is 01:00 UTC.
        ("2026-11-23T00:59:59+00:00", False),
        ("2026-11-23T01:00:00+00:00", True),
        ("2026-11-23T09:59:59+00:00", True),  # 17:59:59 local
        ("2026-11-23T10:00:00+00:00", False),  # 18:00 local: closed (end is exclusive)
        # Friday 20:00 UTC is Saturday 04:00 local; Sunday 23:30 UTC is Monday 07:30 local.
        ("2026-11-27T20:00:00+00:00", False),
        ("2026-11-29T23:30:00+00:00", False),
        # Sunday 2026-11-29 18:30 UTC is Monday 02:30 local, before opening.
        ("2026-11-29T18:30:00+00:00", False),
        # 2026-10-01 is a Thursday but a holiday (国庆节); the next day is open.
        ("2026-10-01T03:00:00+00:00", False),
        ("2026-10-02T03:00:00+00:00", True),
        # Sunday evening in Los Angeles is already Monday 09:30 in Shanghai: open.
        ("2026-11-22T17:30:00-08:00", True),
        ("2026-11-22T01:30:00+00:00", False),  # Sunday 09:30 in Shanghai
    ],
)
def test_office_hours_in_the_tenants_time_zone(moment: str, expected: bool) -> None:
    assert within_working_hours(SHANGHAI_OFFICE, at(moment)) is expected


def test_daylight_saving_is_followed() -> None:
    hours = {**SHANGHAI_OFFICE, "timezone": "Europe/Berlin", "holidays": []}
    # 07:00 UTC is 09:00 in Berlin in summer (CEST) but 08:00 in winter (CET).
    assert within_working_hours(hours, at("2026-07-06T07:00:00+00:00"))  # 09:00 CEST
    assert not within_working_hours(hours, at("2026-12-07T07:00:00+00:00"))  # 08:00 CET
    assert within_working_hours(hours, at("2026-12-07T08:00:00+00:00"))  # 09:00 CET


def test_overnight_shift_belongs_to_the_day_it_starts() -> None:
    night = {"timezone": "UTC", "days": [5], "start": "22:00", "end": "06:00", "holidays": []}
    assert within_working_hours(night, at("2026-11-27T22:00:00+00:00"))  # Friday 22:00
    assert within_working_hours(night, at("2026-11-28T05:59:00+00:00"))  # Saturday early
    assert not within_working_hours(night, at("2026-11-28T06:00:00+00:00"))
    assert not within_working_hours(night, at("2026-11-28T22:30:00+00:00"))  # Saturday night
    assert not within_working_hours(night, at("2026-11-27T03:00:00+00:00"))  # Thursday's shift
    holiday = {**night, "holidays": ["2026-11-27"]}
    assert not within_working_hours(holiday, at("2026-11-28T02:00:00+00:00"))


def test_end_of_day_and_disabled_hours() -> None:
    late = {"timezone": "UTC", "days": [1], "start": "20:00", "end": "24:00", "holidays": []}
    assert within_working_hours(late, at("2026-11-23T23:59:59+00:00"))
    assert not within_working_hours(late, at("2026-11-24T00:00:00+00:00"))
    closed_all_week = {**late, "days": []}
    config = {**WIDGET_DEFAULTS, "working_hours": closed_all_week}
    assert widget_is_open(config, at("2026-11-23T21:00:00+00:00"))  # not enabled: always open
    config["working_hours_enabled"] = True
    assert not widget_is_open(config, at("2026-11-23T21:00:00+00:00"))


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {**SHANGHAI_OFFICE, "timezone": "Mars/Olympus"},
        {**SHANGHAI_OFFICE, "timezone": "../../etc/passwd"},
        {**SHANGHAI_OFFICE, "timezone": ""},
        {**SHANGHAI_OFFICE, "days": [0]},
        {**SHANGHAI_OFFICE, "days": [8]},
        {**SHANGHAI_OFFICE, "days": [1, 1]},
        {**SHANGHAI_OFFICE, "days": [True]},
        {**SHANGHAI_OFFICE, "days": "1-5"},
        {**SHANGHAI_OFFICE, "start": "9:00"},
        {**SHANGHAI_OFFICE, "start": "24:00"},
        {**SHANGHAI_OFFICE, "end": "18:60"},
        {**SHANGHAI_OFFICE, "end": "09:00"},
        {**SHANGHAI_OFFICE, "start": "00:00", "end": "24:00"},
        {**SHANGHAI_OFFICE, "holidays": ["2026-02-30"]},
        {**SHANGHAI_OFFICE, "holidays": ["20261001"]},
        {**SHANGHAI_OFFICE, "holidays": "2026-10-01"},
        {**SHANGHAI_OFFICE, "lunch": "12:00"},
    ],
)
def test_bad_working_hours_are_named(bad: Any) -> None:
    with pytest.raises(Invalid) as caught:
        check_working_hours(bad)
    assert caught.value.code == "invalid_widget_settings"


async def test_settings_round_trip_and_public_config(running_hub: RunningHub) -> None:
    api, token = running_hub.api, running_hub.admin_token
    status, config = await api.request("GET", "/api/v1/widget/config?tenant=default")
    assert status == 200
    assert config["prechat_enabled"] is False and config["prechat_fields"] == ["name"]
    assert config["working_hours_enabled"] is False and config["offline_message"] == ""
    assert config["working_hours"]["timezone"] == "Asia/Shanghai"
    changes = {
        "prechat_enabled": True,
        "prechat_fields": ["phone", "name"],
        "working_hours_enabled": True,
        "working_hours": {**SHANGHAI_OFFICE, "days": [5, 1], "holidays": ["2026-10-02"] * 2},
        "offline_message": "下班了，请留言 / We are closed, leave a message",
    }
    status, saved = await api.request("PUT", "/api/v1/settings/widget", token=token, json=changes)
    assert status == 200, saved
    assert saved["working_hours"]["days"] == [1, 5]
    assert saved["working_hours"]["holidays"] == ["2026-10-02"]
    status, public = await api.request("GET", "/api/v1/widget/config?tenant=default")
    # The public config also names the upload limit (issue 23 item 2).
    limit = running_hub.hub.settings.upload_max_bytes
    assert public == saved | {"upload_max_bytes": limit}
    assert public["prechat_fields"] == ["phone", "name"]


async def test_bad_widget_settings_change_nothing(running_hub: RunningHub) -> None:
    api, token = running_hub.api, running_hub.admin_token
    _, before = await api.request("GET", "/api/v1/widget/config?tenant=default")
    for body in (
        {"prechat_enabled": "yes"},
        {"prechat_enabled": 1},
        {"prechat_fields": ["name", "age"]},
        {"prechat_fields": ["name", "name"]},
        {"prechat_fields": "name"},
        {"working_hours_enabled": None},
        {"working_hours": {**SHANGHAI_OFFICE, "timezone": "Asia/Nowhere"}},
        {"offline_message": "x" * 501},
        {"offline_message": 5},
        {"max_length": True},
        # A good key next to a bad one: neither is stored.
        {"prechat_enabled": True, "working_hours": {"timezone": "UTC"}},
        ["prechat_enabled"],
    ):
        status, error = await api.request("PUT", "/api/v1/settings/widget", token=token, json=body)
        assert status == 400, (body, error)
        assert error["error"]["code"] == "invalid_widget_settings", error
        assert error["error"]["message"]
    status, error = await api.request(
        "PUT", "/api/v1/settings/widget", token=token, data=b"{not json"
    )
    assert status == 400 and error["error"]["code"] == "invalid_json"
    agent = await running_hub.agent()
    status, error = await api.request(
        "PUT", "/api/v1/settings/widget", token=agent.token, json={"prechat_enabled": True}
    )
    assert status == 403
    _, after = await api.request("GET", "/api/v1/widget/config?tenant=default")
    assert after == before


async def test_availability_answers_agents_and_hours(running_hub: RunningHub) -> None:
    api, token = running_hub.api, running_hub.admin_token
    status, body = await api.request("GET", "/api/v1/widget/availability?tenant=default")
    assert status == 200 and body == {"agents_online": 0, "open": True, "bot": False}
    await running_hub.agent()
    closed = {"timezone": "UTC", "days": [], "start": "09:00", "end": "18:00", "holidays": []}
    status, _ = await api.request(
        "PUT",
        "/api/v1/settings/widget",
        token=token,
        json={"working_hours_enabled": True, "working_hours": closed},
    )
    assert status == 200
    status, body = await api.request("GET", "/api/v1/widget/availability?tenant=default")
    assert status == 200 and body == {"agents_online": 1, "open": False, "bot": False}
    status, body = await api.request("GET", "/api/v1/widget/availability?tenant=nope")
    assert status == 404 and body["error"]["code"] == "tenant_not_found"

    # The clock is injectable: Monday 10:00 UTC is within a Monday office day.
    monday = {**closed, "days": [1]}
    await api.request("PUT", "/api/v1/settings/widget", token=token, json={"working_hours": monday})
    hub = running_hub.hub
    assert (await widget_availability(hub, "default", at("2026-11-23T10:00:00+00:00")))["open"]
    assert not (await widget_availability(hub, "default", at("2026-11-24T10:00:00+00:00")))["open"]
