"""Email on the channel framework: the account type (config, secrets, recipients) and the
connector of one mailbox, built from this package's hub-free pieces.

Inbound: the connector holds an IMAP connection (supervised by the hub: reconnects with
back-off, status on the account). Each new mail is parsed, its attachments stored, threaded
and handed to receive_inbound; then the mailbox state (UIDVALIDITY, last UID) is saved on the
account and the mail marked processed, so a restart or a dropped connection neither misses a
mail nor reads one twice (a mail read twice anyway, after a renumbered folder, is the same
Message-ID: the store's deduplication makes no second message).

Threading, best first: a Message-ID of the conversation named by In-Reply-To or References
(inbound mail's ids and the ids the hub gave its own replies), then the reply token (a plus
address or the `[#token]` subject tag, the conversation's id), else the sender's open email
conversation on the account, else a new one. A mail from someone else in the thread (a
colleague in Cc) is that person's own conversation.

Bounces (DSN) mark the reply they answer `failed` with the remote server's reason; a bounce
that names no reply of ours is kept like any mail. Auto-replies are kept, marked `automatic`
in the message's meta, and never answered automatically.

Outbound: through the outbox. A reply's Message-ID is fixed when it is stored (its message id
at the account's domain), so every retry sends the same one: a copy after a crash mid-send is
recognisable to the customer's mail client (resend_safe), and the customer's answer names
the conversation.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from connectors.email.addresses import MailAddress, address_problem
from connectors.email.automatic import Bounce
from connectors.email.compose import Attachment, ComposeError, Parent, compose_mail, reply_subject
from connectors.email.config import (
    PROCESSED_VALUES,
    REQUIRED_KEYS,
    SECRET_KEYS,
    SECURITY_VALUES,
    EmailConfig,
    InvalidConfig,
    parse_config,
)
from connectors.email.errors import (
    AuthenticationError,
    ConfigurationError,
    MailError,
    PermanentError,
)
from connectors.email.imap import FetchedMail, MailboxReader, MailboxState
from connectors.email.parse import ParsedMail
from connectors.email.safe_html import sanitize_html
from connectors.email.smtp import send_mail
from hub.actions.channels import do_save_channel_state
from hub.actions.delivery import FAILED, record_platform_status
from hub.actions.messages import (
    MAX_STORED_TEXT,
    OpenConversationHint,
    receive_inbound,
    type_for,
)
from hub.actions.uploads import do_save_inbound_attachment
from hub.channels import (
    Capabilities,
    ChannelError,
    ChannelType,
    ConfigError,
    ConfigField,
    Connector,
    DeliveryError,
    InboundMessage,
)
from hub.context import Hub
from hub.domain import (
    Channel,
    ChannelAccount,
    Conversation,
    Identity,
    Message,
    SenderType,
)
from hub.errors import Forbidden, Invalid
from hub.uploads import attachment_path

log = logging.getLogger(__name__)

EMAIL = Channel.EMAIL.value
MAX_SUBJECT = 250
MAX_CC = 50
# How many of a mail's thread ids are looked up (In-Reply-To first, then References from the
# newest): a real thread needs a few; a mail listing thousands must not cost thousands.
MAX_THREAD_IDS = 20
MAX_REFERENCES_KEPT = 20
UNKNOWN_SENDER = "unknown-sender@invalid"


def _field(key: str, kind: str = "text", **more: Any) -> ConfigField:
    return ConfigField(key, kind, required=key in REQUIRED_KEYS, **more)


class EmailChannel(ChannelType):
    type = EMAIL
    secret_keys = SECRET_KEYS
    # connectors/email/config.py says what each key means; the form asks in this order.
    fields = (
        _field("imap_host"),
        _field("imap_port", "integer"),
        _field("imap_security", "choice", choices=SECURITY_VALUES),
        _field("imap_user"),
        _field("imap_password", "secret"),
        _field("imap_folder", default="INBOX"),
        _field("smtp_host"),
        _field("smtp_port", "integer"),
        _field("smtp_security", "choice", choices=SECURITY_VALUES),
        _field("smtp_user"),
        _field("smtp_password", "secret"),
        _field("from_address"),
        _field("from_name"),
        _field("imap_processed", "choice", choices=PROCESSED_VALUES, default="seen"),
        _field("imap_processed_folder"),
        _field("imap_idle", "boolean", default=True),
        _field("imap_poll_seconds", "integer", default=60),
        _field("tls_verify", "boolean", default=True),
        _field("reply_plus_address", "boolean", default=False),
        _field("subject_tag", "boolean", default=True),
    )

    def check_config(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        try:
            config = parse_config(raw)
        except InvalidConfig as exc:
            raise ConfigError(exc.key, exc.message) from exc
        return {k: v for k, v in dataclasses.asdict(config).items() if v is not None}

    def recipient(self, to: str) -> Identity:
        problem = address_problem(to)
        if problem is not None:
            raise ValueError(f"{to!r} is not an email address: {problem}")
        return Identity(EMAIL, to.lower())

    def routes(self) -> list[web.RouteDef]:
        return []

    def connector(self, hub: Hub, account: ChannelAccount) -> Connector:
        return EmailConnector(hub, account)


def _mail_error(exc: MailError) -> ChannelError:
    permanent = isinstance(exc, AuthenticationError | ConfigurationError)
    return ChannelError(exc.message, permanent=permanent)


class EmailConnector(Connector):
    channel = EMAIL
    capabilities = Capabilities(
        attachments=True,
        max_text=MAX_STORED_TEXT,
        outbox=True,
        resend_safe=True,
        agent_threads=True,
    )
    holds_connection = True

    def __init__(self, hub: Hub, account: ChannelAccount) -> None:
        self.hub = hub
        self.account = account
        self.config: EmailConfig = parse_config(account.config)
        self.state = MailboxState.from_dict(account.state.get("mailbox"))

    # inbound ------------------------------------------------------------------------------

    async def run(self, connected: Callable[[], Awaitable[None]]) -> None:
        reader = MailboxReader(self.config)
        try:
            await reader.connect()
            await connected()
            while True:
                async for mail in reader.fetch_new(self.state):
                    await self._take(mail)
                    self.state = mail.state
                    await do_save_channel_state(
                        self.hub, self.account, {"mailbox": self.state.to_dict()}
                    )
                    await reader.mark_processed(mail.uid)
                await reader.wait_for_mail()
        except MailError as exc:
            raise _mail_error(exc) from exc
        finally:
            await reader.close()

    async def _take(self, mail: FetchedMail) -> None:
        parsed = mail.parse(self.config.from_address)
        if parsed.bounce is not None and await self._bounced(parsed.bounce):
            return
        sender = parsed.sender or MailAddress(UNKNOWN_SENDER, "")
        identity = Identity(EMAIL, sender.email.lower())
        inbound = await self._inbound(parsed, mail, identity, sender)
        hint = await self._thread(parsed, identity)
        try:
            await receive_inbound(self.hub, inbound, hint=hint)
        except Forbidden:
            # A blacklisted sender's mail is not kept; it is marked processed all the same.
            log.info(
                "mail from blacklisted %s on channel %s dropped", sender.email, self.account.id
            )

    async def _inbound(
        self, parsed: ParsedMail, mail: FetchedMail, identity: Identity, sender: MailAddress
    ) -> InboundMessage:
        tenant = self.account.tenant
        attachments = [
            await do_save_inbound_attachment(
                self.hub,
                tenant,
                part.data,
                channel_id=self.account.id,
                name=part.filename,
                mime=part.content_type,
                content_id=part.content_id if part.inline else None,
            )
            for part in parsed.parts
        ]
        if parsed.unreadable or len(parsed.text) > MAX_STORED_TEXT:
            # Kept whole beside what the inbox shows (cut, or as well as it could be read).
            raw = await do_save_inbound_attachment(
                self.hub,
                tenant,
                mail.raw,
                channel_id=self.account.id,
                name="message.eml",
                mime="message/rfc822",
            )
            attachments.append(raw)
        inline = {
            a["content_id"]: a["url"] for a in attachments if a.get("content_id") and a["url"]
        }
        meta = parsed.meta() | {
            "quoted": parsed.quoted,
            "html": sanitize_html(parsed.html, inline_urls=inline) if parsed.html else None,
            "references": parsed.references[-MAX_REFERENCES_KEPT:],
            "automatic": parsed.automatic,
            "unreadable": parsed.unreadable,
        }
        return InboundMessage(
            tenant=tenant,
            channel=EMAIL,
            channel_id=self.account.id,
            identity=identity,
            text=parsed.text,
            type=type_for(attachments),
            attachments=attachments,
            # Mail without a Message-ID is still read once: its place in the mailbox.
            platform_message_id=parsed.message_id or f"imap:{mail.state.uidvalidity}:{mail.uid}",
            contact_name=sender.name,
            contact_email=identity.external_id if identity.external_id != UNKNOWN_SENDER else "",
            meta={k: v for k, v in meta.items() if v not in (None, "", [])},
            conversation_meta={"subject": parsed.subject} if parsed.subject else {},
        )

    async def _thread(self, parsed: ParsedMail, identity: Identity) -> OpenConversationHint | None:
        """The open conversation this mail answers, if its sender is that conversation's
        contact (see the module's docstring for the order)."""
        store, tenant = self.hub.store, self.account.tenant
        conversation: Conversation | None = None
        ids = parsed.thread_ids[:MAX_THREAD_IDS]
        if ids:
            found = {
                m.platform_message_id: m
                for m in await store.find_messages_by_platform_ids(tenant, self.account.id, ids)
            }
            for thread_id in ids:
                if thread_id in found:
                    conversation = await store.get_conversation(
                        tenant, found[thread_id].conversation_id
                    )
                    break
        token = parsed.reply_token or parsed.subject_tag
        if conversation is None and token:
            tagged = await store.get_conversation(tenant, token)
            if tagged is not None and tagged.channel_id == self.account.id:
                conversation = tagged
        if conversation is None or not conversation.is_open:
            return None
        contact = await store.find_contact(tenant, identity)
        if contact is None or contact.id != conversation.contact_id:
            return None
        return OpenConversationHint(conversation.id, conversation.contact_id)

    async def _bounced(self, bounce: Bounce) -> bool:
        """Marks the reply a bounce answers failed; False when it names none of ours."""
        if not bounce.original_message_id or not bounce.permanent:
            return False
        tenant = self.account.tenant
        for message in await self.hub.store.find_messages_by_platform_ids(
            tenant, self.account.id, [bounce.original_message_id]
        ):
            if message.sender.type == SenderType.CONTACT.value or message.delivery is None:
                continue
            conversation = await self.hub.store.get_conversation(tenant, message.conversation_id)
            if conversation is None:
                continue
            reason = bounce.reason or "the receiving server refused the mail"
            if bounce.status:
                reason = f"{bounce.status} {reason}"
            await record_platform_status(
                self.hub, conversation, message, FAILED, {"code": "bounced", "message": reason}
            )
            return True
        return False

    # outbound -----------------------------------------------------------------------------

    def outbound_platform_id(self, conversation: Conversation, message_id: str) -> str | None:
        domain = self.config.from_address.rpartition("@")[2]
        return f"<{message_id}@{domain}>"

    def outbound_meta(
        self, conversation: Conversation, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        unknown = set(options) - {"subject", "cc"}
        if unknown:
            raise Invalid(f"{sorted(unknown)[0]}: not an email option", code="invalid_options")
        meta: dict[str, Any] = {}
        subject = options.get("subject")
        if subject is not None:
            if not isinstance(subject, str) or len(subject) > MAX_SUBJECT:
                raise Invalid(
                    f"subject is text of at most {MAX_SUBJECT} characters", code="invalid_subject"
                )
            if subject.strip():
                meta["subject"] = subject.strip()
        thread_subject = conversation.meta.get("subject")
        if "subject" not in meta and isinstance(thread_subject, str) and thread_subject:
            # Stored with the reply, so the inbox shows the subject the mail goes out with.
            meta["subject"] = reply_subject(thread_subject)
        cc = options.get("cc")
        if cc is not None:
            if isinstance(cc, str):
                cc = [part.strip() for part in cc.split(",") if part.strip()]
            if not isinstance(cc, list) or len(cc) > MAX_CC:
                raise Invalid(f"cc lists at most {MAX_CC} addresses", code="invalid_cc")
            for address in cc:
                problem = address_problem(address) if isinstance(address, str) else "not text"
                if problem is not None:
                    raise Invalid(
                        f"cc: {address!r} is not an address ({problem})", code="invalid_cc"
                    )
            if cc:
                meta["cc"] = [{"email": a.lower(), "name": ""} for a in cc]
        return meta

    async def send(self, conversation: Conversation, message: Message) -> str | None:
        store = self.hub.store
        contact = await store.get_contact(conversation.tenant, conversation.contact_id)
        address = next(
            (i.external_id for i in (contact.identities if contact else []) if i.channel == EMAIL),
            contact.email if contact else "",
        )
        if not address or address == UNKNOWN_SENDER:
            raise DeliveryError(
                "the customer has no email address", code="no_address", permanent=True
            )
        attachments = [
            await self._attachment(conversation.tenant, item) for item in message.attachments
        ]
        parent = await self._parent(conversation, message)
        subject = message.meta.get("subject")
        if subject is None and parent is None:
            subject = conversation.meta.get("subject") or ""
        try:
            mail = compose_mail(
                self.config,
                to=[MailAddress(address, contact.name if contact else "")],
                text=message.text,
                subject=subject,
                cc=[
                    MailAddress(item["email"], item.get("name", ""))
                    for item in message.meta.get("cc", [])
                ],
                parent=parent,
                token=conversation.id,
                attachments=attachments,
                message_id=message.platform_message_id,
                date=message.created_at,
            )
        except ComposeError as exc:
            raise DeliveryError(str(exc), code="invalid_mail", permanent=True) from exc
        try:
            result = await send_mail(self.config, mail)
        except PermanentError as exc:
            raise DeliveryError(exc.message, code="rejected", permanent=True) from exc
        except MailError as exc:
            raise DeliveryError(exc.message, code="smtp_unavailable") from exc
        return result.message_id

    async def _attachment(self, tenant: str, item: Mapping[str, Any]) -> Attachment:
        path = attachment_path(self.hub, tenant, item.get("url"))
        if path is None:
            raise DeliveryError(
                f"the attachment {item.get('name')!r} is gone",
                code="attachment_missing",
                permanent=True,
            )
        data = await asyncio.to_thread(Path.read_bytes, path)
        return Attachment(str(item.get("name") or path.name), str(item.get("mime") or ""), data)

    async def _parent(self, conversation: Conversation, message: Message) -> Parent | None:
        """The newest mail of the conversation before this reply: what it answers."""
        earlier = await self.hub.store.list_messages(
            conversation.tenant, conversation.id, before_seq=message.seq, limit=50
        )
        for previous in reversed(earlier):
            if previous.platform_message_id and previous.platform_message_id.startswith("<"):
                return Parent(
                    previous.platform_message_id,
                    tuple(previous.meta.get("references", ())),
                    previous.meta.get("subject") or conversation.meta.get("subject", ""),
                )
        return None
