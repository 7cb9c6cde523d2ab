"""What the agent learns about a web visitor: UA parsing (ua-parser), the IP with
X-Forwarded-For believed only from trusted proxies, region, visit count and first source."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from types import SimpleNamespace

import pytest

from config.settings import Settings, SettingsError, load_settings
from connectors.webim import details
from connectors.webim.details import (
    client_ip,
    describe_user_agent,
    region_of,
    visitor_details,
)
from tests.conftest import RunningHub

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
WECHAT_ANDROID = (
    "Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 "
    "MicroMessenger/8.0.42.2460(0x28002A3B) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN"
)


def test_user_agents_are_parsed() -> None:
    assert describe_user_agent(CHROME_WINDOWS) == {
        "browser": "Chrome 120",
        "os": "Windows 10",
        "device": "pc",
        "device_model": "",
    }
    iphone = describe_user_agent(SAFARI_IPHONE)
    assert iphone["browser"] == "Mobile Safari 17" and iphone["os"] == "iOS 17"
    assert iphone["device"] == "mobile" and iphone["device_model"] == "iPhone"
    wechat = describe_user_agent(WECHAT_ANDROID)
    assert wechat["browser"] == "WeChat 8" and wechat["os"] == "Android 13"
    assert wechat["device"] == "mobile"
    junk = describe_user_agent("curl/8.5")
    assert junk["device"] == "pc" and junk["os"] == ""


def _environ(peer: str, forwarded: str | None = None) -> dict[str, object]:
    environ: dict[str, object] = {"aiohttp.request": SimpleNamespace(remote=peer)}
    if forwarded is not None:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    return environ


def test_forwarded_for_is_ignored_without_trusted_proxies() -> None:
    assert client_ip(_environ("203.0.113.9", "1.2.3.4")) == "203.0.113.9"
    assert client_ip({"REMOTE_ADDR": "198.51.100.7"}) == "198.51.100.7"


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),
        # The client forged a first hop; our proxy appended what it saw.
        ("10.0.0.5", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        # Two of our proxies in a row.
        ("10.0.0.5", "6.6.6.6, 203.0.113.9, 10.0.0.7", "203.0.113.9"),
        # Not from a trusted proxy: the header is the client's invention.
        ("198.51.100.1", "203.0.113.9", "198.51.100.1"),
        ("10.0.0.5", "not-an-ip", "10.0.0.5"),
        ("10.0.0.5", "10.0.0.8", "10.0.0.8"),
        ("::1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_forwarded_for_from_trusted_proxies(peer: str, forwarded: str, expected: str) -> None:
    assert client_ip(_environ(peer, forwarded), ("10.0.0.0/8", "::1")) == expected


def test_trusted_proxies_setting_is_checked() -> None:
    settings = load_settings(environ={"HUB_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
    assert settings.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    with pytest.raises(SettingsError, match="trusted_proxies"):
        load_settings(environ={"HUB_TRUSTED_PROXIES": "10.0.0.0/33"})


def test_region_needs_a_database(tmp_path: Path) -> None:
    assert region_of("203.0.113.9", None) == "unknown"
    assert region_of("", tmp_path / "GeoLite2-City.mmdb") == "unknown"


class _Subdivisions(list):
    @property
    def most_specific(self) -> SimpleNamespace:
        return self[-1]


class _FakeCityReader:
    """Answers like geoip2's Reader.city (no database file ships with the tests)."""

    def city(self, ip: str) -> SimpleNamespace:
        if ip != "36.110.0.1":
            raise ValueError("address not in database")
        return SimpleNamespace(
            country=SimpleNamespace(names={"zh-CN": "中国", "en": "China"}, name="China"),
            subdivisions=_Subdivisions([SimpleNamespace(names={"zh-CN": "北京"})]),
            city=SimpleNamespace(names={"zh-CN": "北京"}, name="Beijing"),
        )


def test_region_from_a_configured_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "GeoLite2-City.mmdb"
    monkeypatch.setattr(details, "_geo_reader", lambda path: _FakeCityReader())
    assert region_of("36.110.0.1", database) == "中国 北京"
    assert region_of("10.0.0.1", database) == "unknown"  # private addresses are not in it
    # geoip2 missing: the reader is None and the region stays unknown.
    monkeypatch.setattr(details, "_geo_reader", lambda path: None)
    assert region_of("36.110.0.1", database) == "unknown"


def test_details_combine_page_and_agent() -> None:
    environ = {**_environ("203.0.113.9"), "HTTP_USER_AGENT": SAFARI_IPHONE}
    page = {
        "url": "https://shop.example/p/1",
        "title": "Backpack",
        "referrer": "https://www.baidu.com/s?wd=backpack",
        "language": "zh-CN",
        "secret": "ignored",
    }
    details = visitor_details(environ, page, Settings())
    assert details["ip"] == "203.0.113.9" and details["device"] == "mobile"
    assert details["page_url"] == "https://shop.example/p/1"
    assert details["referrer"] == "https://www.baidu.com/s?wd=backpack"
    assert details["page_language"] == "zh-CN" and "secret" not in details
    assert visitor_details({}, "not a dict", Settings())["ip"] == ""


async def test_visit_count_and_first_source(running_hub: RunningHub) -> None:
    first_page = {"url": "https://shop.example/", "referrer": "https://www.baidu.com/"}
    visitor = await running_hub.visitor(page=first_page)
    token = visitor.token
    await visitor.close()
    again = await running_hub.visitor(
        visitor_token=token, page={"url": "https://shop.example/cart", "referrer": ""}
    )
    contact_id = again.session["contact_id"]
    assert contact_id == visitor.session["contact_id"]
    status, contact = await running_hub.api.request(
        "GET", f"/api/v1/contacts/{contact_id}", token=running_hub.admin_token
    )
    assert status == 200
    assert contact["visit_count"] == 2
    attributes = contact["attributes"]
    assert attributes["first_source"] == "https://www.baidu.com/"
    assert attributes["page_url"] == "https://shop.example/cart"
    assert attributes["ip"] == "127.0.0.1"


def test_unreadable_geoip_database_does_not_break_visitors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(path: str) -> None:
        raise FileNotFoundError(path)

    fake = types.ModuleType("geoip2")
    fake.database = types.SimpleNamespace(Reader=refuse)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "geoip2", fake)
    monkeypatch.setitem(sys.modules, "geoip2.database", fake.database)  # type: ignore[arg-type]
    details._geo_reader.cache_clear()
    try:
        assert region_of("36.110.0.1", tmp_path / "missing.mmdb") == "unknown"
    finally:
        details._geo_reader.cache_clear()
