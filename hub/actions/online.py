"""Online visitors (在线访客) and invitations to chat (邀请).

Page views are ephemeral: they change the OnlineVisitors seam (hub/online/) and nothing in
the store, and the inbox hears of them batched (OnlineVisitorsChanged, at most once per
tenant per online_visitors_batch_seconds). Invitations are counted durably per agent per
day (Store.count_invitation); accepting one opens a web-chat conversation, assigned to the
inviting agent when that agent can take it (routed otherwise, or always with
`accept: route`)."""

from __future__ import annotations

import asyncio
import copy
import fnmatch
import logging
import re
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from hub.acd.base import Assignment
from hub.actions.messages import do_send_agent_message
from hub.actions.routing import apply_change, do_route, persist_assignment
from hub.actions.visitors import ensure_web_contact
from hub.context import Hub
from hub.domain import (
    Agent,
    Channel,
    Conversation,
    ConversationStatus,
    new_id,
    utcnow,
)
from hub.errors import Conflict, Forbidden, Invalid, NotFound
from hub.events import ConversationOpened, InvitationAnswered, InvitationSent, OnlineVisitorsChanged
from hub.online.base import Arrival, Invitation, OnlineVisitor, PageView, Status

log = logging.getLogger(__name__)

WEBIM = Channel.WEBIM.value
MAX_URL = 2048
MAX_TITLE = 300
MAX_INVITATION_TEXT = 500
MAX_URL_PATTERNS = 50
MAX_PATTERN = 300
MAX_QUERY = 200
MAX_PAGE = 200
# An invitation unanswered this long is let go: the agent may invite again, and the
# visitor's next page no longer shows it.
INVITATION_TTL_SECONDS = 120.0
SETTINGS_FRESH_SECONDS = 10.0
ACCEPT_MODES = ("inviter", "route")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
INVITATION_DEFAULTS: dict[str, Any] = {
    # Whether agents may invite (the inbox's 邀请 button) and the pop-up's words and colour.
    "enabled": True,
    "title": "",
    "text": "",
    "color": "#2563eb",
    # Accepting opens a conversation with the inviting agent (when they can take it), or
    # routes it like any other.
    "accept": "inviter",
    # The pop-up the rules send by themselves: after `after_seconds` on a page (0: not by
    # time), or at once on a page whose URL matches one of `url_patterns` (* as wildcard; a
    # pattern without * matches anywhere in the URL). Sent once per visit.
    "auto": {"enabled": False, "after_seconds": 0, "url_patterns": [], "text": ""},
}
DEFAULT_TEXT = {"en": "Hello! Can we help you with anything?", "zh": "您好，有什么可以帮您？"}


def _bad_page(message: str) -> Invalid:
    return Invalid(message, code="invalid_page")


def check_page(raw: object, tenant: str) -> PageView:
    """A page view as the loader reports it: an http(s) URL, its title and referrer, each
    bounded. A view naming another tenant is refused, not moved there."""
    if not isinstance(raw, dict):
        raise _bad_page("page is {url, title?, referrer?}")
    if "tenant" in raw and raw["tenant"] != tenant:
        raise Forbidden("a page view belongs to the socket's tenant", code="tenant_mismatch")
    url, title, referrer = raw.get("url"), raw.get("title", ""), raw.get("referrer", "")
    if not isinstance(url, str) or not 0 < len(url) <= MAX_URL:
        raise _bad_page(f"page.url is a URL of at most {MAX_URL} characters")
    if urlsplit(url).scheme not in ("http", "https"):
        raise _bad_page("page.url is an http or https URL")
    if not isinstance(title, str) or len(title) > MAX_TITLE:
        raise _bad_page(f"page.title is text of at most {MAX_TITLE} characters")
    if not isinstance(referrer, str) or len(referrer) > MAX_URL:
        raise _bad_page(f"page.referrer is a URL of at most {MAX_URL} characters")
    return PageView(url=url, title=title, referrer=referrer, at=utcnow())


def today(now: datetime | None = None) -> str:
    """The day invitations and traffic are counted in (UTC)."""
    return (now or utcnow()).date().isoformat()


def _expiry_timer(tenant: str, contact_id: str) -> tuple[str, str, str]:
    return ("online-expiry", tenant, contact_id)


def _auto_timer(tenant: str, contact_id: str) -> tuple[str, str, str]:
    return ("auto-invite", tenant, contact_id)


def _changed(hub: Hub, tenant: str) -> None:
    hub.online.changed.add(tenant)


# Arriving, moving, leaving -----------------------------------------------------------------


async def visitor_arrived(hub: Hub, arrival: Arrival) -> OnlineVisitor:
    """A socket of a visitor opened: the loader's (a page view) or the chat frame's."""
    hub.timers.cancel(_expiry_timer(arrival.tenant, arrival.contact_id))
    visitor, _new = await hub.online.arrive(arrival)
    _changed(hub, arrival.tenant)
    if arrival.page is not None:
        await _consider_auto_invite(hub, visitor, arrival.page)
    return visitor


async def page_viewed(hub: Hub, tenant: str, contact_id: str, page: PageView) -> None:
    """A single-page site moved to another page without reloading the loader."""
    visitor = await hub.online.view_page(tenant, contact_id, page)
    if visitor is not None:
        _changed(hub, tenant)
        await _consider_auto_invite(hub, visitor, page)


async def visitor_socket_closed(hub: Hub, tenant: str, contact_id: str, sid: str) -> None:
    """The visitor stays listed for online_visitor_timeout_seconds after their last socket
    closed: the site's next page usually opens a new one within it."""
    if not await hub.online.leave(tenant, contact_id, sid):
        return
    hub.timers.cancel(_auto_timer(tenant, contact_id))
    left_by = time.monotonic()

    async def expire() -> None:
        # Only if they have not come back and left again since (that set a later timer).
        if await hub.online.expire(tenant, contact_id, left_by):
            _changed(hub, tenant)

    timeout = hub.settings.online_visitor_timeout_seconds
    hub.timers.schedule(_expiry_timer(tenant, contact_id), timeout, expire)


async def conversation_seen(
    hub: Hub, tenant: str, contact_id: str, conversation_id: str | None
) -> None:
    """The visitor's chat frame learnt their open conversation (or that there is none)."""
    visitor = await hub.online.get(tenant, contact_id)
    if visitor is not None and visitor.conversation_id != conversation_id:
        await hub.online.set_conversation(tenant, contact_id, conversation_id)
        _changed(hub, tenant)


def start_announcing(hub: Hub) -> asyncio.Task[None]:
    """Runs for the app's lifetime (hub/app.py): tells each tenant whose list changed, at
    most once per batch interval, so thousands of page views cost the inbox one event."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(hub.settings.online_visitors_batch_seconds)
            tenants, hub.online.changed = hub.online.changed, set()
            for tenant in tenants:
                try:
                    online = await hub.online.count(tenant)
                    await hub.bus.publish(OnlineVisitorsChanged(tenant, online))
                except Exception:
                    log.exception("announcing online visitors of %s failed", tenant)

    return asyncio.get_running_loop().create_task(loop(), name="online-visitors")


# Reading the list ------------------------------------------------------------------------


def _int(raw: str | None, name: str, default: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"{name} is a whole number", code=f"invalid_{name}") from None
    if not 0 <= value <= high:
        raise Invalid(f"{name} is between 0 and {high}", code=f"invalid_{name}")
    return value


async def list_online(hub: Hub, agent: Agent, query: dict[str, str]) -> dict[str, Any]:
    """GET /api/v1/visitors/online: a page of the tenant's online visitors, newest arrival
    first, with the count matching and the count online."""
    status = query.get("status") or None
    if status not in (None, "browsing", "chatting"):
        raise Invalid("status is browsing or chatting", code="invalid_status")
    device = query.get("device") or None
    if device not in (None, "pc", "mobile"):
        raise Invalid("device is pc or mobile", code="invalid_device")
    text = query.get("q", "")
    if len(text) > MAX_QUERY:
        raise Invalid(f"q is at most {MAX_QUERY} characters", code="invalid_query")
    status_filter: Status | None = status  # type: ignore[assignment]
    listing = await hub.online.list(
        agent.tenant,
        query=text.strip(),
        status=status_filter,
        device=device,
        offset=_int(query.get("offset"), "offset", 0, 1_000_000),
        limit=_int(query.get("limit"), "limit", 50, MAX_PAGE),
    )
    return {
        "items": [visitor.public() for visitor in listing.items],
        "total": listing.total,
        "online": listing.online,
    }


async def online_stats(hub: Hub, tenant: str) -> dict[str, Any]:
    """The workbench's counters (工作绩效) and the header's online figure: visitors online,
    today's page views and distinct addresses, and per agent today's invitations sent,
    accepted and refused with the conversations they served and their average length."""
    day = today()
    counts = await hub.store.invitation_counts(tenant, day)
    start = datetime.fromisoformat(day + "T00:00:00+00:00")
    served: dict[str, list[float]] = {}
    served_count: dict[str, int] = {}
    for conversation in await hub.store.list_conversations(tenant, limit=1000):
        if conversation.created_at < start:
            break
        if conversation.agent_id is None:
            continue
        served_count[conversation.agent_id] = served_count.get(conversation.agent_id, 0) + 1
        if conversation.closed_at and conversation.assigned_at:
            seconds = (conversation.closed_at - conversation.assigned_at).total_seconds()
            served.setdefault(conversation.agent_id, []).append(seconds)
    agents = []
    for agent in await hub.store.list_agents(tenant):
        tally = counts.get(agent.id, {})
        lengths = served.get(agent.id, [])
        agents.append(
            {
                "agent_id": agent.id,
                "name": agent.name,
                "invited": tally.get("invited", 0),
                "accepted": tally.get("accepted", 0),
                "refused": tally.get("refused", 0),
                "conversations": served_count.get(agent.id, 0),
                "avg_conversation_seconds": round(sum(lengths) / len(lengths)) if lengths else None,
            }
        )
    auto = counts.get("", {})
    traffic = await hub.online.today(tenant, day)
    return {
        "online": await hub.online.count(tenant),
        "today": traffic.public(),
        "agents": agents,
        "auto": {key: auto.get(key, 0) for key in ("invited", "accepted", "refused")},
    }


# Settings --------------------------------------------------------------------------------


def invitation_config(doc: dict[str, Any] | None) -> dict[str, Any]:
    config = copy.deepcopy(INVITATION_DEFAULTS)
    for key, value in (doc or {}).items():
        if key == "auto" and isinstance(value, dict):
            config["auto"].update({k: v for k, v in value.items() if k in config["auto"]})
        elif key in config:
            config[key] = value
    return config


def _bad_settings(message: str) -> Invalid:
    return Invalid(message, code="invalid_invitation_settings")


def _check_text(value: object, name: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise _bad_settings(f"{name} is text of at most {limit} characters")
    return value.strip()


async def invitation_settings(hub: Hub, tenant: str) -> dict[str, Any]:
    """The tenant's settings, read at most every SETTINGS_FRESH_SECONDS: a change made here
    applies at once, one made through another process within that time."""
    now = time.monotonic()
    cached = hub.online.settings_read.get(tenant)
    if cached is not None and now - cached[0] < SETTINGS_FRESH_SECONDS:
        return cached[1]
    config = invitation_config(await hub.store.get_settings(tenant, "invitation"))
    hub.online.settings_read[tenant] = (now, config)
    return config


async def put_invitation_settings(hub: Hub, tenant: str, raw: object) -> dict[str, Any]:
    """PUT /api/v1/settings/invitation: any of the keys of INVITATION_DEFAULTS."""
    if not isinstance(raw, dict):
        raise _bad_settings("send a JSON object")
    config = copy.deepcopy(await invitation_settings(hub, tenant))
    for key, value in raw.items():
        if key not in INVITATION_DEFAULTS:
            raise _bad_settings(f"unknown invitation setting {key}")
        if key == "enabled":
            if not isinstance(value, bool):
                raise _bad_settings("enabled is true or false")
            config[key] = value
        elif key in ("title", "text"):
            config[key] = _check_text(value, key, MAX_INVITATION_TEXT)
        elif key == "color":
            if not isinstance(value, str) or not COLOR.match(value):
                raise _bad_settings("color is #rrggbb")
            config[key] = value
        elif key == "accept":
            if value not in ACCEPT_MODES:
                raise _bad_settings("accept is inviter or route")
            config[key] = value
        else:
            config["auto"] = _check_auto(value, config["auto"])
    await hub.store.put_settings(tenant, "invitation", config)
    hub.online.settings_read[tenant] = (time.monotonic(), config)
    return config


def _check_auto(value: object, current: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad_settings("auto is {enabled, after_seconds, url_patterns, text}")
    auto = dict(current)
    for key, item in value.items():
        if key == "enabled":
            if not isinstance(item, bool):
                raise _bad_settings("auto.enabled is true or false")
            auto[key] = item
        elif key == "after_seconds":
            if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 3600:
                raise _bad_settings("auto.after_seconds is a whole number from 0 to 3600")
            auto[key] = item
        elif key == "url_patterns":
            if not isinstance(item, list) or len(item) > MAX_URL_PATTERNS:
                raise _bad_settings(f"auto.url_patterns is a list of at most {MAX_URL_PATTERNS}")
            patterns = [_check_text(p, "a URL pattern", MAX_PATTERN) for p in item]
            auto[key] = [p for p in patterns if p]
        elif key == "text":
            auto[key] = _check_text(item, "auto.text", MAX_INVITATION_TEXT)
        else:
            raise _bad_settings(f"unknown auto-invite setting {key}")
    return auto


def url_matches(url: str, pattern: str) -> bool:
    if "*" in pattern:
        return fnmatch.fnmatchcase(url, pattern)
    return pattern in url


# Invitations -----------------------------------------------------------------------------


async def pending_invitation(hub: Hub, tenant: str, contact_id: str) -> Invitation | None:
    """The visitor's invitation still waiting for an answer (within INVITATION_TTL_SECONDS).
    An older one can still be answered until another replaces it."""
    invitation = await hub.online.pending_invitation(tenant, contact_id)
    if invitation is None:
        return None
    age = (utcnow() - invitation.created_at).total_seconds()
    return invitation if age < INVITATION_TTL_SECONDS else None


async def _send_invitation(
    hub: Hub, visitor: OnlineVisitor, agent: Agent | None, text: str, config: dict[str, Any]
) -> Invitation:
    invitation = Invitation(
        id=new_id(),
        tenant=visitor.tenant,
        contact_id=visitor.contact_id,
        agent_id=agent.id if agent else None,
        agent_name=agent.name if agent else "",
        text=text,
        created_at=utcnow(),
        style={"title": config["title"], "color": config["color"]},
    )
    await hub.store.count_invitation(visitor.tenant, today(), invitation.agent_id or "", "invited")
    await hub.online.add_invitation(invitation)
    _changed(hub, visitor.tenant)
    await hub.bus.publish(
        InvitationSent(
            visitor.tenant,
            visitor.contact_id,
            invitation.id,
            invitation.agent_id,
            invitation.agent_name,
            text,
            invitation.style,
        )
    )
    return invitation


async def do_invite(hub: Hub, agent: Agent, contact_id: object, text: object = None) -> Invitation:
    """An agent invites an online visitor to chat (the inbox's 邀请)."""
    if not isinstance(contact_id, str) or not contact_id:
        raise Invalid("contact_id names an online visitor", code="invalid_contact_id")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_INVITATION_TEXT):
        raise Invalid(
            f"text is at most {MAX_INVITATION_TEXT} characters", code="invalid_invitation_text"
        )
    config = await invitation_settings(hub, agent.tenant)
    if not config["enabled"]:
        raise Forbidden("invitations are turned off", code="invitations_disabled")
    visitor = await hub.online.get(agent.tenant, contact_id)
    if visitor is None or not visitor.sids:
        raise NotFound("that visitor is not on the site now", code="visitor_not_online")
    if visitor.conversation_id is not None:
        raise Conflict("that visitor is chatting already", code="visitor_chatting")
    if await pending_invitation(hub, agent.tenant, contact_id) is not None:
        raise Conflict("that visitor has an invitation to answer", code="already_invited")
    hub.online_limits.invitation((agent.tenant, agent.id))
    words = (text or "").strip() or config["text"] or DEFAULT_TEXT["en"]
    return await _send_invitation(hub, visitor, agent, words, config)


async def _consider_auto_invite(hub: Hub, visitor: OnlineVisitor, page: PageView) -> None:
    """The auto-invite rules, once per visit (a visitor invited in this visit, by anyone, or
    chatting, is left alone)."""
    if visitor.invited or visitor.conversation_id is not None:
        return
    config = await invitation_settings(hub, visitor.tenant)
    auto = config["auto"]
    if not (config["enabled"] and auto["enabled"]):
        return
    if any(url_matches(page.url, pattern) for pattern in auto["url_patterns"]):
        await _auto_invite(hub, visitor.tenant, visitor.contact_id)
    elif auto["after_seconds"]:
        tenant, contact_id = visitor.tenant, visitor.contact_id

        async def fire() -> None:
            await _auto_invite(hub, tenant, contact_id)

        hub.timers.schedule(_auto_timer(tenant, contact_id), auto["after_seconds"], fire)


async def _auto_invite(hub: Hub, tenant: str, contact_id: str) -> None:
    visitor = await hub.online.get(tenant, contact_id)
    if visitor is None or not visitor.sids or visitor.invited or visitor.conversation_id:
        return
    if await pending_invitation(hub, tenant, contact_id) is not None:
        return
    config = await invitation_settings(hub, tenant)
    text = config["auto"]["text"] or config["text"] or DEFAULT_TEXT["en"]
    await _send_invitation(hub, visitor, None, text, config)


async def do_answer_invitation(
    hub: Hub,
    tenant: str,
    contact_id: str,
    invitation_id: object,
    *,
    accept: bool,
    name: str,
    skill: str | None = None,
) -> Conversation | None:
    """The visitor accepts or refuses their pending invitation. Accepting returns the
    conversation (their open web chat if they have one, or a new one)."""
    if not isinstance(invitation_id, str) or not invitation_id:
        raise Invalid("invitation_id names an invitation", code="invalid_invitation_id")
    invitation = await hub.online.take_invitation(
        tenant, contact_id, invitation_id, refused=not accept
    )
    if invitation is None:
        raise NotFound("no such invitation", code="invitation_not_found")
    conversation = None
    if accept:
        conversation = await _open_invited(hub, invitation, name, skill)
        await conversation_seen(hub, tenant, contact_id, conversation.id)
    outcome = "accepted" if accept else "refused"
    await hub.store.count_invitation(tenant, today(), invitation.agent_id or "", outcome)
    _changed(hub, tenant)
    await hub.bus.publish(
        InvitationAnswered(
            tenant,
            contact_id,
            invitation.id,
            invitation.agent_id,
            accept,
            conversation.id if conversation else None,
        )
    )
    return conversation


async def _open_invited(
    hub: Hub, invitation: Invitation, name: str, skill: str | None
) -> Conversation:
    tenant = invitation.tenant
    contact = await ensure_web_contact(hub, tenant, invitation.contact_id, name)
    now = utcnow()
    conversation, created = await hub.store.open_conversation(
        Conversation(
            id=new_id(),
            tenant=tenant,
            channel=WEBIM,
            contact_id=contact.id,
            status=ConversationStatus.QUEUED.value,
            skill=skill,
            created_at=now,
            queued_at=now,
            meta={"invitation_id": invitation.id},
        )
    )
    if not created:
        return conversation  # chatting already (another tab): the invitation joins it
    await hub.bus.publish(ConversationOpened(conversation, contact))
    config = await invitation_settings(hub, tenant)
    inviter = None
    if invitation.agent_id and config["accept"] == "inviter":
        inviter = await _give_to_inviter(hub, tenant, conversation, invitation.agent_id)
    if inviter is None:
        await do_route(hub, conversation)
    else:
        # The invitation's words open the conversation, as the agent's (the visitor saw
        # them in the pop-up; the transcript should say what started it).
        await do_send_agent_message(
            hub,
            inviter,
            conversation.id,
            client_id=f"invitation-{invitation.id}",
            text=invitation.text,
        )
    stored = await hub.store.get_conversation(tenant, conversation.id)
    return stored or conversation


async def _give_to_inviter(
    hub: Hub, tenant: str, conversation: Conversation, agent_id: str
) -> Agent | None:
    """The conversation goes to the inviting agent if they are ready and below their
    maximum; None when they cannot take it (it is routed then)."""
    agent = await hub.store.get_agent(tenant, agent_id)
    if agent is None:
        return None
    try:
        change = await hub.acd.assign_to(tenant, conversation.id, agent_id)
    except (LookupError, ValueError):
        return None
    change.assignments = [a for a in change.assignments if a.conversation_id != conversation.id]
    await persist_assignment(hub, tenant, Assignment(conversation.id, agent_id))
    await apply_change(hub, tenant, change)
    return agent
