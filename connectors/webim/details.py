"""What the agent learns about a web visitor: browser, OS, device, page, referrer, IP, region."""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import Any

from ua_parser import parse

from config.settings import Settings
from hub.addresses import environ_address

log = logging.getLogger(__name__)

MAX_FIELD = 2000


def _text(value: object) -> str:
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def client_ip(environ: dict[str, Any], trusted_proxies: tuple[str, ...] = ()) -> str:
    """The visitor's address (hub/addresses.py: X-Forwarded-For only from trusted proxies)."""
    return environ_address(environ, trusted_proxies)


_IN_APP = re.compile(r"(MicroMessenger|DingTalk|Weibo|AlipayClient)[/ _]?(?:__weibo__)?(\d+)")
_IN_APP_NAMES = {
    "MicroMessenger": "WeChat",
    "DingTalk": "DingTalk",
    "Weibo": "Weibo",
    "AlipayClient": "Alipay",
}


def describe_user_agent(user_agent: str) -> dict[str, str]:
    return dict(_described(user_agent[:MAX_FIELD]))


# Parsing one user agent takes uap-core's regexes about 0.6 ms, more than the rest of a page
# view; visitors' browsers repeat, so each string is parsed once.
@functools.lru_cache(maxsize=4096)
def _described(user_agent: str) -> dict[str, str]:
    parsed = parse(user_agent)
    browser = parsed.user_agent
    os = parsed.os
    device = parsed.device
    family = (device.family if device else "") or ""
    mobile = any(word in user_agent for word in ("Mobile", "Android", "iPhone", "iPad"))
    name = f"{browser.family} {browser.major or ''}".strip() if browser else ""
    # uap-core calls China's in-app browsers a plain WebView; the agent wants to know the app.
    app = _IN_APP.search(user_agent)
    if app:
        name = f"{_IN_APP_NAMES[app.group(1)]} {app.group(2)}"
    return {
        "browser": name,
        "os": f"{os.family} {os.major or ''}".strip() if os else "",
        "device": "mobile" if mobile else "pc",
        "device_model": "" if family in ("", "Other") else family,
    }


@functools.cache
def _geo_reader(path: Path) -> Any:
    try:
        import geoip2.database  # optional: only when a database file is configured
    except ImportError:
        log.warning("geoip_database is set but the geoip2 package is not installed")
        return None
    try:
        return geoip2.database.Reader(str(path))
    except (OSError, ValueError) as exc:  # missing or corrupt file: visitors still connect
        log.warning("cannot open geoip_database %s: %s", path, exc)
        return None


def region_of(ip: str, database: Path | None) -> str:
    if not database or not ip:
        return "unknown"
    reader = _geo_reader(database)
    if reader is None:
        return "unknown"
    try:
        city = reader.city(ip)
    except Exception:
        return "unknown"
    names = [city.country.names.get("zh-CN") or city.country.name or ""]
    if city.subdivisions:
        names.append(city.subdivisions.most_specific.names.get("zh-CN") or "")
    names.append(city.city.names.get("zh-CN") or city.city.name or "")
    # Municipalities (北京, 上海 …) are province and city at once: name them once.
    return " ".join(dict.fromkeys(n for n in names if n)) or "unknown"


def visitor_details(environ: dict[str, Any], page: object, settings: Settings) -> dict[str, Any]:
    user_agent = _text(environ.get("HTTP_USER_AGENT", ""))
    ip = client_ip(environ, settings.trusted_proxies)
    details: dict[str, Any] = {"ip": ip, "region": region_of(ip, settings.geoip_database)}
    if user_agent:
        details["user_agent"] = user_agent
        details.update(describe_user_agent(user_agent))
    if isinstance(page, dict):
        for key in ("url", "title", "referrer", "language"):
            value = _text(page.get(key))
            if value:
                details[f"page_{key}" if key != "referrer" else "referrer"] = value
    return details
