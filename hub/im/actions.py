"""The enterprise IM's actions: the only code that changes IM state. check_* validates
everything that can fail on user input and changes nothing; do_* writes (durably) and only
then publishes (hub/im/events.py), so a refused call changes nothing for anybody."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hub.actions.access import Act, check_conversation
from hub.actions.messages import (
    check_after_seq,
    check_attachments,
    check_before_seq,
    check_client_id,
    check_limit,
    check_text,
    type_for,
)
from hub.actions.uploads import check_attachment_owners
from hub.context import Hub
from hub.domain import Agent, Conversation, Message, UploaderType, iso, new_id, utcnow
from hub.errors import Conflict, Forbidden, HubError, Invalid, NotFound
from hub.im.events import ImMessageCreated, ImRead, ImThreadChanged, ImTyping
from hub.im.model import Department, ImMessage, ImSender, ImThread, ThreadKind, direct_key

MAX_NAME = 100
MAX_DESCRIPTION = 2_000
MAX_ANNOUNCEMENT = 4_000
MAX_GROUP_MEMBERS = 2_000
MAX_MENTIONS = 100
MAX_ID = 100
QUOTE_PREVIEW = 200
# Compare-and-set rounds a group change tries before saying the group is too busy.
CHANGE_ATTEMPTS = 8
GROUP_FIELDS = ("name", "description", "announcement", "add", "remove", "admins", "owner_id")
DIRECT, GROUP = ThreadKind.DIRECT.value, ThreadKind.GROUP.value

Online = Callable[[str, str], bool]  # (tenant, agent id) -> has an /im socket open


def _check_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID:
        raise Invalid(f"{what} must be a string id", code=f"invalid_{what}")
    return value


def _check_str(value: object, what: str, longest: int, *, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{what} must be a string", code=f"invalid_{what}")
    value = value.strip()
    if not value and not allow_empty:
        raise Invalid(f"{what} must not be empty", code=f"empty_{what}")
    if len(value) > longest:
        raise Invalid(f"{what} is longer than {longest} characters", code=f"{what}_too_long")
    return value


def _check_ids(value: object, what: str, most: int = MAX_GROUP_MEMBERS) -> list[str]:
    if not isinstance(value, list) or len(value) > most:
        raise Invalid(f"{what} must be a list of at most {most} agent ids", code=f"invalid_{what}")
    return list(dict.fromkeys(_check_id(item, "agent_id") for item in value))


async def check_colleagues(hub: Hub, tenant: str, agent_ids: Sequence[str]) -> None:
    """Every id names an enabled agent of the tenant (another tenant's id is unknown here)."""
    for agent_id in agent_ids:
        found = await hub.store.get_agent(tenant, agent_id)
        if found is None or found.disabled:
            raise NotFound(f"no such colleague: {agent_id}", code="agent_not_found", id=agent_id)


async def check_thread(hub: Hub, agent: Agent, thread_id: object) -> ImThread:
    """The thread, if the agent is a member: another tenant's or an unknown id is not found,
    a thread the agent is not (or no longer) in is `not_a_member`."""
    checked = _check_id(thread_id, "thread_id")
    thread = await hub.store.get_im_thread(agent.tenant, checked)
    if thread is None:
        raise NotFound("no such thread", code="thread_not_found")
    if not thread.is_member(agent.id):
        raise Forbidden("you are not a member of this thread", code="not_a_member")
    return thread


# views --------------------------------------------------------------------------------


async def thread_view(hub: Hub, viewer: str, thread: ImThread) -> dict[str, Any]:
    reads = await hub.store.im_reads_of_thread(thread.tenant, thread.id)
    return thread_view_from(thread, viewer, reads)


def thread_view_from(thread: ImThread, viewer: str, reads: dict[str, int]) -> dict[str, Any]:
    peer = next((m for m in thread.members if m != viewer), None)
    return thread.public(
        viewer,
        read_seq=reads.get(viewer, 0),
        peer_read_seq=reads.get(peer, 0) if peer and thread.kind == DIRECT else None,
    )


async def list_threads(hub: Hub, agent: Agent) -> list[dict[str, Any]]:
    threads = await hub.store.list_im_threads(agent.tenant, agent.id)
    own = await hub.store.im_reads_of_agent(agent.tenant, agent.id)
    views = []
    for thread in threads:
        if thread.kind == DIRECT:
            views.append(await thread_view(hub, agent.id, thread))
        else:
            views.append(thread.public(agent.id, read_seq=own.get(thread.id, 0)))
    return views


async def directory(hub: Hub, agent: Agent, online: Online) -> dict[str, Any]:
    departments = await hub.store.list_departments(agent.tenant)
    people = []
    for colleague in await hub.store.list_agents(agent.tenant):
        if colleague.disabled:
            continue
        presence = hub.presence.presence((colleague.tenant, colleague.id))
        if presence == "offline" and online(colleague.tenant, colleague.id):
            presence = "online"  # in the team chat, not in the inbox
        people.append(
            {
                "agent_id": colleague.id,
                "name": colleague.name,
                "email": colleague.email,
                "department_id": colleague.department_id,
                "presence": presence,
                "last_login_at": iso(colleague.last_login_at),
            }
        )
    return {"departments": [d.public() for d in departments], "people": people}


# threads ------------------------------------------------------------------------------


async def do_open_direct(hub: Hub, agent: Agent, other_id: object) -> ImThread:
    other = _check_id(other_id, "agent_id")
    if other == agent.id:
        raise Invalid("a direct chat is with a colleague, not yourself", code="direct_with_self")
    await check_colleagues(hub, agent.tenant, [other])
    thread = ImThread(
        id=new_id(),
        tenant=agent.tenant,
        kind=DIRECT,
        members=sorted([agent.id, other]),
        direct_key=direct_key(agent.id, other),
    )
    stored, created = await hub.store.create_im_thread(thread)
    if created:
        await hub.bus.publish(ImThreadChanged(stored))
    return stored


async def do_create_group(
    hub: Hub, agent: Agent, *, name: object, members: object, description: object = ""
) -> ImThread:
    checked_name = _check_str(name, "name", MAX_NAME, allow_empty=False)
    checked_description = _check_str(description or "", "description", MAX_DESCRIPTION)
    invited = [m for m in _check_ids(members, "members") if m != agent.id]
    await check_colleagues(hub, agent.tenant, invited)
    thread = ImThread(
        id=new_id(),
        tenant=agent.tenant,
        kind=GROUP,
        members=[agent.id, *invited],
        name=checked_name,
        description=checked_description,
        owner_id=agent.id,
    )
    stored, _ = await hub.store.create_im_thread(thread)
    await hub.bus.publish(ImThreadChanged(stored))
    return stored


def _check_group_changes(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - set(GROUP_FIELDS)
    if unknown:
        raise Invalid(
            f"a group change has no field {sorted(unknown)[0]!r}", code="invalid_group_change"
        )
    if not changes:
        raise Invalid("name nothing to change", code="invalid_group_change")
    checked: dict[str, Any] = {}
    if "name" in changes:
        checked["name"] = _check_str(changes["name"], "name", MAX_NAME, allow_empty=False)
    if "description" in changes:
        checked["description"] = _check_str(changes["description"], "description", MAX_DESCRIPTION)
    if "announcement" in changes:
        checked["announcement"] = _check_str(
            changes["announcement"], "announcement", MAX_ANNOUNCEMENT
        )
    for key in ("add", "remove", "admins"):
        if key in changes:
            checked[key] = _check_ids(changes[key], key)
    if "owner_id" in changes:
        checked["owner_id"] = _check_id(changes["owner_id"], "owner_id")
    return checked


def _apply_group_changes(
    thread: ImThread, actor: str, changes: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """Applies checked changes to `thread` after checking the actor's rights against it as
    stored; the fields written and the members removed. Raises before changing anything."""
    if thread.kind != GROUP:
        raise Invalid("only a group has these settings", code="not_a_group")
    if not thread.can_manage(actor):
        raise Forbidden("only the group's owner or admins change it", code="not_group_admin")
    owner_only = {"admins", "owner_id"} & changes.keys()
    if owner_only and actor != thread.owner_id:
        raise Forbidden(
            f"only the group's owner changes {sorted(owner_only)[0]}", code="owner_only"
        )
    members = list(thread.members)
    removed = [m for m in changes.get("remove", []) if m in members]
    if thread.owner_id in removed:
        raise Conflict(
            "the owner cannot be removed; transfer the ownership first", code="cannot_remove_owner"
        )
    if actor != thread.owner_id and any(m in thread.admins for m in removed):
        raise Forbidden("only the owner removes a group admin", code="owner_only")
    members = [m for m in members if m not in removed]
    members += [m for m in changes.get("add", []) if m not in members]
    if len(members) > MAX_GROUP_MEMBERS:
        raise Invalid(f"a group has at most {MAX_GROUP_MEMBERS} members", code="group_too_big")
    admins = [a for a in changes.get("admins", thread.admins) if a in members]
    if "admins" in changes and len(admins) != len(changes["admins"]):
        raise Invalid("group admins must be members", code="admin_not_member")
    owner = changes.get("owner_id", thread.owner_id)
    if owner not in members:
        raise Invalid("the new owner must be a member of the group", code="owner_not_member")
    fields = [k for k in ("name", "description", "announcement") if k in changes]
    for key in fields:
        setattr(thread, key, changes[key])
    if "announcement" in changes:
        thread.announcement_at = utcnow()
        fields.append("announcement_at")
    if members != thread.members:
        thread.members = members
        thread.muted = [m for m in thread.muted if m in members]
        fields += ["members", "muted"]
    admins = [a for a in admins if a != owner]
    if admins != thread.admins:
        thread.admins = admins
        fields.append("admins")
    if owner != thread.owner_id:
        thread.owner_id = owner
        fields.append("owner_id")
    return fields, removed


async def _change_thread(
    hub: Hub,
    agent: Agent,
    thread_id: object,
    apply: Callable[[ImThread], tuple[list[str], list[str]]],
    *,
    member_only: bool = True,
) -> ImThread:
    """Read, check and apply, compare-and-set on the thread's version; again on a lost race
    (the checks then run against what the other change left)."""
    for _ in range(CHANGE_ATTEMPTS):
        thread = await check_thread(hub, agent, thread_id)
        fields, removed = apply(thread)
        if not fields:
            return thread
        if await hub.store.update_im_thread(thread, fields):
            await hub.bus.publish(ImThreadChanged(thread, tuple(removed)))
            return thread
    raise HubError("the group is changing too fast; try again", code="busy", status=409)


async def do_change_group(hub: Hub, agent: Agent, thread_id: object, changes: object) -> ImThread:
    if not isinstance(changes, dict):
        raise Invalid("the body must be a JSON object", code="invalid_body")
    checked = _check_group_changes(changes)
    additions = [m for m in [*checked.get("add", []), checked.get("owner_id")] if m]
    await check_colleagues(hub, agent.tenant, additions)
    return await _change_thread(
        hub, agent, thread_id, lambda thread: _apply_group_changes(thread, agent.id, checked)
    )


async def do_leave_group(hub: Hub, agent: Agent, thread_id: object) -> ImThread:
    def leave(thread: ImThread) -> tuple[list[str], list[str]]:
        if thread.kind != GROUP:
            raise Invalid("a direct chat cannot be left", code="not_a_group")
        if agent.id == thread.owner_id:
            if len(thread.members) > 1:
                raise Conflict(
                    "the owner transfers the ownership before leaving", code="owner_must_transfer"
                )
            thread.dissolved = True  # the last member left: nobody is in it any more
            return ["dissolved"], [agent.id]
        thread.members = [m for m in thread.members if m != agent.id]
        thread.admins = [a for a in thread.admins if a != agent.id]
        thread.muted = [m for m in thread.muted if m != agent.id]
        return ["members", "admins", "muted"], [agent.id]

    return await _change_thread(hub, agent, thread_id, leave)


async def do_dissolve_group(hub: Hub, agent: Agent, thread_id: object) -> ImThread:
    def dissolve(thread: ImThread) -> tuple[list[str], list[str]]:
        if thread.kind != GROUP:
            raise Invalid("a direct chat cannot be dissolved", code="not_a_group")
        if agent.id != thread.owner_id:
            raise Forbidden("only the group's owner dissolves it", code="owner_only")
        thread.dissolved = True
        return ["dissolved"], list(thread.members)

    return await _change_thread(hub, agent, thread_id, dissolve)


async def do_mute(hub: Hub, agent: Agent, thread_id: object, muted: object) -> ImThread:
    if not isinstance(muted, bool):
        raise Invalid("muted is true or false", code="invalid_muted")

    def mute(thread: ImThread) -> tuple[list[str], list[str]]:
        if muted == (agent.id in thread.muted):
            return [], []
        thread.muted = (
            [*thread.muted, agent.id] if muted else [m for m in thread.muted if m != agent.id]
        )
        return ["muted"], []

    return await _change_thread(hub, agent, thread_id, mute)


# messages -----------------------------------------------------------------------------


async def _quote(hub: Hub, thread: ImThread, quote_seq: object) -> dict[str, Any] | None:
    if quote_seq is None:
        return None
    if isinstance(quote_seq, bool) or not isinstance(quote_seq, int) or quote_seq < 1:
        raise Invalid("quote_seq must be a whole number ≥ 1", code="invalid_quote_seq")
    found = await hub.store.list_im_messages(
        thread.tenant, thread.id, after_seq=quote_seq - 1, limit=1
    )
    if not found or found[0].seq != quote_seq:
        raise NotFound("no such message to quote", code="message_not_found")
    quoted = found[0]
    return {
        "seq": quoted.seq,
        "sender_id": quoted.sender.id,
        "sender_name": quoted.sender.name,
        "text": quoted.text[:QUOTE_PREVIEW],
        "type": quoted.type,
    }


async def _consult(hub: Hub, agent: Agent, consult: object) -> Conversation | None:
    """A customer conversation shared for advice: the sender must be able to read it."""
    if consult is None:
        return None
    if not isinstance(consult, dict):
        raise Invalid("consult is {conversation_id}", code="invalid_consult")
    return await check_conversation(hub, agent, consult.get("conversation_id"), Act.READ)


async def do_send(
    hub: Hub,
    agent: Agent,
    thread_id: object,
    *,
    client_id: object,
    text: object,
    attachments: object = None,
    mentions: object = None,
    quote_seq: object = None,
    consult: object = None,
    origin: str | None = None,
) -> ImMessage:
    checked_client_id = check_client_id(client_id)
    checked_attachments = check_attachments(attachments)
    mentioned = _check_ids(mentions, "mentions", MAX_MENTIONS) if mentions is not None else []
    thread = await check_thread(hub, agent, thread_id)
    conversation = await _consult(hub, agent, consult)
    body = check_text(hub, text, allow_empty=bool(checked_attachments) or conversation is not None)
    outsiders = [m for m in mentioned if m not in thread.members]
    if outsiders:
        raise Invalid("only members of the thread can be mentioned", code="mention_not_member")
    checked_attachments = await check_attachment_owners(
        hub,
        agent.tenant,
        checked_attachments,
        sender_type=UploaderType.AGENT.value,
        sender_id=agent.id,
    )
    message = ImMessage(
        id=new_id(),
        tenant=agent.tenant,
        thread_id=thread.id,
        sender=ImSender(agent.id, agent.name),
        type="consult" if conversation is not None else type_for(checked_attachments),
        text=body,
        attachments=checked_attachments,
        mentions=mentioned,
        quote=await _quote(hub, thread, quote_seq),
        consult=(
            {"conversation_id": conversation.id, "channel": conversation.channel}
            if conversation is not None
            else None
        ),
        client_id=checked_client_id,
    )
    appended = await hub.store.append_im_message(message)
    if appended.created:
        await hub.bus.publish(ImMessageCreated(appended.thread, appended.message, origin))
    return appended.message


async def read_history(
    hub: Hub,
    agent: Agent,
    thread_id: object,
    *,
    after_seq: object = 0,
    before_seq: object = None,
    limit: object = None,
) -> list[ImMessage]:
    thread = await check_thread(hub, agent, thread_id)
    return await hub.store.list_im_messages(
        agent.tenant,
        thread.id,
        after_seq=check_after_seq(after_seq),
        before_seq=check_before_seq(before_seq),
        limit=check_limit(limit),
    )


async def do_read(hub: Hub, agent: Agent, thread_id: object, seq: object) -> int:
    thread = await check_thread(hub, agent, thread_id)
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise Invalid("seq must be a whole number ≥ 0", code="invalid_seq")
    position = await hub.store.mark_im_read(
        agent.tenant, thread.id, agent.id, min(seq, thread.last_seq)
    )
    await hub.bus.publish(ImRead(thread, agent.id, position))
    return position


async def relay_typing(
    hub: Hub, agent: Agent, thread_id: object, on: object, *, origin: str | None = None
) -> None:
    if not isinstance(on, bool):
        raise Invalid("on is true or false", code="invalid_on")
    thread = await check_thread(hub, agent, thread_id)
    await hub.bus.publish(ImTyping(thread, agent.id, agent.name, on, origin))


async def search(hub: Hub, agent: Agent, text: object, *, limit: int = 50) -> list[ImMessage]:
    """Messages of the threads the agent is a member of now."""
    query = _check_str(text, "q", 200, allow_empty=False)
    threads = await hub.store.list_im_threads(agent.tenant, agent.id)
    return await hub.store.search_im_messages(
        agent.tenant, [t.id for t in threads], query, limit=limit
    )


async def read_consulted(
    hub: Hub, agent: Agent, thread_id: object, conversation_id: object
) -> tuple[Conversation, list[Message]]:
    """A customer conversation a colleague shared into a thread the agent is in: read-only,
    whether or not the agent could read it otherwise."""
    thread = await check_thread(hub, agent, thread_id)
    wanted = _check_id(conversation_id, "conversation_id")
    if not await hub.store.im_thread_shares(agent.tenant, thread.id, wanted):
        raise Forbidden("that conversation was not shared in this thread", code="not_shared")
    conversation = await hub.store.get_conversation(agent.tenant, wanted)
    if conversation is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    messages = await hub.store.list_messages(agent.tenant, conversation.id, limit=500)
    return conversation, [m for m in messages if m.type != "note"]


# departments (administrators) ---------------------------------------------------------


def _check_admin(agent: Agent) -> None:
    if not agent.is_admin():
        raise Forbidden("administrators only", code="admin_only")


async def _department(hub: Hub, tenant: str, department_id: object) -> Department:
    wanted = _check_id(department_id, "department_id")
    for department in await hub.store.list_departments(tenant):
        if department.id == wanted:
            return department
    raise NotFound("no such department", code="department_not_found")


async def do_create_department(
    hub: Hub, admin: Agent, *, name: object, parent_id: object = None
) -> Department:
    _check_admin(admin)
    checked = _check_str(name, "name", MAX_NAME, allow_empty=False)
    parent = None if parent_id is None else (await _department(hub, admin.tenant, parent_id)).id
    department = Department(id=new_id(), tenant=admin.tenant, name=checked, parent_id=parent)
    await hub.store.create_department(department)
    return department


async def do_update_department(
    hub: Hub, admin: Agent, department_id: object, changes: object
) -> Department:
    _check_admin(admin)
    if not isinstance(changes, dict) or not changes or set(changes) - {"name", "parent_id"}:
        raise Invalid("change name and/or parent_id", code="invalid_department_change")
    department = await _department(hub, admin.tenant, department_id)
    fields = []
    if "name" in changes:
        department.name = _check_str(changes["name"], "name", MAX_NAME, allow_empty=False)
        fields.append("name")
    if "parent_id" in changes:
        parent_id = changes["parent_id"]
        if parent_id is not None:
            by_id = {d.id: d for d in await hub.store.list_departments(admin.tenant)}
            parent = await _department(hub, admin.tenant, parent_id)
            cursor: Department | None = parent
            while cursor is not None:  # the tree stays a tree: no department under itself
                if cursor.id == department.id:
                    raise Invalid("a department cannot be under itself", code="department_cycle")
                cursor = by_id.get(cursor.parent_id) if cursor.parent_id else None
            parent_id = parent.id
        department.parent_id = parent_id
        fields.append("parent_id")
    await hub.store.update_department(department, fields)
    return department


async def do_delete_department(hub: Hub, admin: Agent, department_id: object) -> None:
    _check_admin(admin)
    department = await _department(hub, admin.tenant, department_id)
    if any(d.parent_id == department.id for d in await hub.store.list_departments(admin.tenant)):
        raise Conflict("the department has departments under it", code="department_not_empty")
    if any(a.department_id == department.id for a in await hub.store.list_agents(admin.tenant)):
        raise Conflict("the department has people in it", code="department_not_empty")
    await hub.store.delete_department(admin.tenant, department.id)


async def do_place_agent(hub: Hub, admin: Agent, agent_id: object, department_id: object) -> Agent:
    """Puts an agent in a department (one each), or in none with null."""
    _check_admin(admin)
    wanted = _check_id(agent_id, "agent_id")
    agent = await hub.store.get_agent(admin.tenant, wanted)
    if agent is None:
        raise NotFound("no such agent", code="agent_not_found")
    placed = (
        None if department_id is None else (await _department(hub, admin.tenant, department_id)).id
    )
    agent.department_id = placed
    await hub.store.update_agent(agent, ["department_id"])
    return agent
