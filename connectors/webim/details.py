"""What the agent learns about a web visitor: browser, OS, device, page, referrer, IP, region."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from ua_parser import parse

from config.settings import Settings

log = logging.getLogger(__name__)

MAX_FIELD = 2000


def _text(value: object) -> str:
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def client_ip(environ: dict[str, Any]) -> str:
    # Behind a proxy the first X-Forwarded-For hop is the visitor (configure the proxy to set it).
    forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[0].strip()
    request = environ.get("aiohttp.request")
    if request is not None and request.remote:
        return str(request.remote)
    return str(environ.get("REMOTE_ADDR", ""))


def describe_user_agent(user_agent: str) -> dict[str, str]:
    parsed = parse(user_agent[:MAX_FIELD])
    browser = parsed.user_agent
    os = parsed.os
    device = parsed.device
    family = (device.family if device else "") or ""
    mobile = any(word in user_agent for word in ("Mobile", "Android", "iPhone", "iPad"))
    return {
        "browser": f"{browser.family} {browser.major or ''}".strip() if browser else "",
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
    return geoip2.database.Reader(str(path))


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
    return " ".join(n for n in names if n) or "unknown"


def visitor_details(environ: dict[str, Any], page: object, settings: Settings) -> dict[str, Any]:
    user_agent = _text(environ.get("HTTP_USER_AGENT", ""))
    ip = client_ip(environ)
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
