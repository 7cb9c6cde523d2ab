"""The bot service: takes new conversations by the tenant's mode (hub/intake.py), hears the
customer's messages in the conversations it holds (a subscriber of the event bus), asks the
tenant's bot (built-in or Rasa) and sends its answers through the hub's actions; hands off on
a keyword, after max_misses misses in a row, or when the bot asks; counts what happened per
day for the console.

Answers run in the background, one at a time per conversation, so a customer's message is
acknowledged as soon as it is stored, whatever the bot's speed (Rasa may take seconds).
The count of misses in a row and the buttons last offered are kept in memory: a restart
starts a conversation's count again."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bots.base import Bot, BotContext, BotMessage, BotTurn
from bots.builtin import KnowledgeBaseBot
from bots.knowledge import KnowledgeBase, language_of
from bots.matching import is_chinese, normalise
from bots.rasa import RasaBot
from bots.settings import BotSettings, Mode
from hub.actions.bots import do_bot_close, do_hand_off, do_hold_for_bot, do_send_bot_message
from hub.actions.routing import is_live
from hub.actions.uploads import do_save_inbound_attachment
from hub.actions.workspace import widget_config, widget_is_open
from hub.bus import EventBus
from hub.context import Hub
from hub.domain import Contact, Conversation, ConversationStatus, Message, SenderType, utcnow
from hub.events import ConversationClosed, MessageCreated

log = logging.getLogger(__name__)

BOT = ConversationStatus.BOT.value
CONTACT = SenderType.CONTACT.value
# A hand-off keyword counts only in a short message: "human" inside a long question about
# human resources is a question, "转人工" on its own is a request.
KEYWORD_MESSAGE_CHARS = 40
UNANSWERED_CHARS = 200
HISTORY = 50
BOT_UPLOADER = "bot"  # the uploader id of the pictures a bot sends
TEXTS = {
    "handing_off": {
        "en": "Let me put you through to an agent.",
        "zh": "正在为您转接人工客服，请稍候。",
    },
    "text_only": {
        "en": "I can only read text: please type your question.",
        "zh": "我只能看懂文字，请输入您的问题。",
    },
    "bot_only": {
        "en": "Only the assistant answers on this channel.",
        "zh": "此渠道仅由智能助理为您服务。",
    },
}


def idle_timer(conversation_id: str) -> tuple[str, str]:
    return ("bot-idle", conversation_id)


def today() -> str:
    return datetime.now(UTC).date().isoformat()


class BotService:
    def __init__(self, hub: Hub, knowledge: KnowledgeBase) -> None:
        self.hub = hub
        self.knowledge = knowledge
        self.builtin = KnowledgeBaseBot(knowledge)
        self._session: aiohttp.ClientSession | None = None
        self._misses: dict[str, int] = {}
        self._options: dict[str, list[tuple[str, str]]] = {}

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(MessageCreated, self._message_created)
        bus.subscribe(ConversationClosed, self._closed)

    def _client(self) -> aiohttp.ClientSession:
        """The HTTP client for Rasa and its pictures, made on first use (most hubs never
        need one)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # settings --------------------------------------------------------------------------

    async def settings(self, tenant: str) -> BotSettings:
        """Read from the store each time (one keyed read), so that every node follows a
        change at once."""
        return BotSettings.from_stored(await self.hub.store.get_settings(tenant, "bot"))

    async def update_settings(self, tenant: str, settings: BotSettings) -> BotSettings:
        await self.hub.store.put_settings(tenant, "bot", settings.public())
        return settings

    async def open_now(self, tenant: str) -> bool:
        """Within the tenant's working hours (the widget settings' working_hours, when
        working_hours_enabled; otherwise always)."""
        config = widget_config(await self.hub.store.get_settings(tenant, "widget"))
        return widget_is_open(config, utcnow())

    async def answers(self, tenant: str, channel: str) -> bool:
        """Whether the bot answers on the channel now, even if the agents cannot."""
        return (await self.settings(tenant)).mode_for(channel) != Mode.OFF

    def _bot(self, settings: BotSettings) -> Bot:
        if settings.provider == "rasa":
            return RasaBot(self._client())
        return self.builtin

    # taking new conversations ---------------------------------------------------------------

    async def take(self, conversation: Conversation) -> bool:
        settings = await self.settings(conversation.tenant)
        mode = settings.mode_for(conversation.channel)
        if mode == Mode.OFF:
            return False
        if (
            mode == Mode.HUMAN_FIRST
            and await self.open_now(conversation.tenant)
            and await self._agent_can_take(conversation)
        ):
            return False
        held = await do_hold_for_bot(self.hub, conversation)
        if held is None:
            return True  # closed meanwhile: nothing to route
        self.hub.background.spawn(self._first_turn(held), name=f"bot-first-{held.id}")
        return True

    async def _agent_can_take(self, conversation: Conversation) -> bool:
        """Whether an agent is eligible now (connected, ready, room under its maximum, the
        skill), as routing would find one."""
        for load in await self.hub.acd.loads(conversation.tenant):
            if (
                load.connected
                and load.ready
                and load.held < load.max_concurrent
                and (conversation.skill is None or conversation.skill in load.skills)
            ):
                return True
        return False

    async def _first_turn(self, conversation: Conversation) -> None:
        await self._count(conversation.tenant, {"taken": 1})
        async with self.hub.turns.hold(("bot", conversation.id)):
            history = await self._history(conversation)
            # The message that opened it (a later one has its own turn).
            first = next((m for m in history if m.sender.type == CONTACT), None)
            settings = await self.settings(conversation.tenant)
            context = BotContext(
                conversation,
                await self._contact(conversation),
                history,
                first.text if first else "",
                settings,
            )
            for message in await self._bot(settings).welcome(context):
                await self._send(conversation, message)
            if first is not None:
                await self._answer(conversation, first, history)

    # hearing customers ------------------------------------------------------------------------

    async def _message_created(self, event: MessageCreated) -> None:
        if event.status != BOT or event.message.sender.type != CONTACT:
            return
        self.hub.background.spawn(
            self._turn(event.conversation.tenant, event.conversation.id, event.message),
            name=f"bot-{event.conversation.id}",
        )

    async def _turn(self, tenant: str, conversation_id: str, message: Message) -> None:
        async with self.hub.turns.hold(("bot", conversation_id)):
            conversation = await self.hub.store.get_conversation(tenant, conversation_id)
            if conversation is None or conversation.status != BOT:
                return  # handed off or closed while this message waited its turn
            await self._answer(conversation, message, await self._history(conversation))

    async def _answer(
        self, conversation: Conversation, message: Message, history: list[Message]
    ) -> None:
        settings = await self.settings(conversation.tenant)
        self.hub.timers.cancel(idle_timer(conversation.id))
        text = message.text.strip()
        language = language_of(text) if text else "en"
        if not text:
            await self._send(conversation, BotMessage(TEXTS["text_only"][language]))
            await self._missed(conversation, settings, "")
            return
        if self._asks_for_human(text, settings):
            await self._hand_off(conversation, settings, "keyword", language)
            return
        chosen = self._choice(conversation.id, text)
        context = BotContext(
            conversation, await self._contact(conversation), history, chosen, settings
        )
        try:
            turn = await self._bot(settings).reply(context)
        except Exception:
            log.exception("the bot failed on conversation %s", conversation.id)
            turn = BotTurn(handoff="error", understood=False)
        for reply in turn.messages:
            await self._send(conversation, reply)
        if turn.handoff is not None:
            await self._hand_off(conversation, settings, turn.handoff, language, turn.skill)
        elif not turn.understood:
            await self._missed(conversation, settings, chosen, language)
        else:
            self._misses.pop(conversation.id, None)
            await self._count(conversation.tenant, {"answered": 1})
            self._watch_idle(conversation, settings)

    def _asks_for_human(self, text: str, settings: BotSettings) -> bool:
        if len(text) > KEYWORD_MESSAGE_CHARS:
            return False
        said = normalise(text)
        for keyword in settings.handoff_keywords:
            word = normalise(keyword)
            if is_chinese(word):
                if word in said:
                    return True
            elif re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", said):
                return True
        return False

    def _choice(self, conversation_id: str, text: str) -> str:
        """A number answering numbered options, or a button's text: what it stands for."""
        options = self._options.get(conversation_id, [])
        if text.isdigit() and 1 <= int(text) <= len(options):
            return options[int(text) - 1][1]
        for title, payload in options:
            if text == title:
                return payload
        return text

    async def _missed(
        self, conversation: Conversation, settings: BotSettings, text: str, language: str = "en"
    ) -> None:
        misses = self._misses.get(conversation.id, 0) + 1
        self._misses[conversation.id] = misses
        await self._count(
            conversation.tenant, {"misses": 1}, unanswered=text[:UNANSWERED_CHARS] or None
        )
        if misses >= settings.max_misses:
            await self._hand_off(conversation, settings, "misses", language)
        else:
            self._watch_idle(conversation, settings)

    async def _hand_off(
        self,
        conversation: Conversation,
        settings: BotSettings,
        trigger: str,
        language: str,
        skill: str | None = None,
    ) -> None:
        self._forget(conversation.id)
        if settings.mode_for(conversation.channel) == Mode.BOT_ONLY:
            # Nobody takes over: a customer at a screen is offered to leave a message, one
            # writing by mail or SMS stays with the bot.
            await self._send(conversation, BotMessage(TEXTS["bot_only"][language]))
            if is_live(self.hub, conversation):
                await do_hand_off(self.hub, conversation, trigger, close_reason="bot_only")
            await self._count(conversation.tenant, {"handoff_refused": 1})
            return
        # Counted before the hand-off announces the assignment, so that whoever hears of it
        # reads metrics that already hold it (a take-over meanwhile also ends the bot's part).
        await self._count(conversation.tenant, {f"handoff_{trigger}": 1})
        if await self.open_now(conversation.tenant):
            await self._send(conversation, BotMessage(TEXTS["handing_off"][language]))
            await do_hand_off(self.hub, conversation, trigger, skill=skill)
        else:
            await do_hand_off(
                self.hub, conversation, trigger, skill=skill, close_reason="after_hours"
            )

    async def hand_off(self, conversation: Conversation, skill: str | None) -> bool:
        """A bot's own request from outside a turn (Rasa's action server calls the hub)."""
        async with self.hub.turns.hold(("bot", conversation.id)):
            current = await self.hub.store.get_conversation(conversation.tenant, conversation.id)
            if current is None or current.status != BOT:
                return False
            settings = await self.settings(current.tenant)
            await self._hand_off(current, settings, "bot", "en", skill)
            return True

    # sending, the idle close and the counters ---------------------------------------------------

    async def _image(self, conversation: Conversation, url: str) -> dict[str, Any] | None:
        """A bot's picture (Rasa's `image` URL) fetched and kept on this hub like a file a
        channel brings in, so that customers load it from the hub (the widget loads only
        the hub's files); None where the channel sends no files or the fetch failed."""
        connector = self.hub.connectors.for_conversation(conversation)
        if connector is None or not connector.capabilities.attachments:
            return None
        limit = self.hub.settings.upload_max_bytes
        try:
            async with self._client().get(url, timeout=aiohttp.ClientTimeout(total=10)) as got:
                mime = got.content_type or ""
                if got.status != 200 or not mime.startswith("image/"):
                    return None
                data = await got.content.read(limit + 1)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("a bot image could not be fetched from %s: %r", url, exc)
            return None
        if len(data) > limit:
            return None
        name = url.rsplit("/", 1)[-1].split("?", 1)[0] or "image"
        saved = await do_save_inbound_attachment(
            self.hub, conversation.tenant, data, channel_id=BOT_UPLOADER, name=name, mime=mime
        )
        return saved if saved.get("url") else None

    async def _send(self, conversation: Conversation, message: BotMessage) -> None:
        try:
            image = (
                await self._image(conversation, message.image_url) if message.image_url else None
            )
            await do_send_bot_message(
                self.hub,
                conversation,
                message.text,
                buttons=message.buttons,
                image=image,
                image_url=message.image_url,
            )
        except Exception:
            log.exception("a bot answer in %s could not be sent", conversation.id)
            return
        if message.buttons:
            payloads = message.payloads or message.buttons
            self._options[conversation.id] = list(zip(message.buttons, payloads, strict=False))

    def _watch_idle(self, conversation: Conversation, settings: BotSettings) -> None:
        tenant, conversation_id = conversation.tenant, conversation.id
        self.hub.timers.schedule(
            idle_timer(conversation_id),
            settings.idle_close_seconds,
            lambda: self._idle(tenant, conversation_id),
        )

    async def _idle(self, tenant: str, conversation_id: str) -> None:
        async with self.hub.turns.hold(("bot", conversation_id)):
            conversation = await self.hub.store.get_conversation(tenant, conversation_id)
            if conversation is not None and conversation.status == BOT:
                await do_bot_close(self.hub, conversation, "bot_resolved")

    async def _closed(self, event: ConversationClosed) -> None:
        conversation = event.conversation
        self._forget(conversation.id)
        bot = conversation.meta.get("bot") or {}
        if bot.get("held") and not bot.get("handoff"):
            await self._count(conversation.tenant, {"resolved": 1})

    def _forget(self, conversation_id: str) -> None:
        self._misses.pop(conversation_id, None)
        self._options.pop(conversation_id, None)
        self.hub.timers.cancel(idle_timer(conversation_id))

    async def _count(
        self, tenant: str, counts: dict[str, int], *, unanswered: str | None = None
    ) -> None:
        try:
            await self.hub.store.add_bot_stats(tenant, today(), counts, unanswered)
        except Exception:
            log.exception("bot counters of %s not recorded", tenant)

    async def _history(self, conversation: Conversation) -> list[Message]:
        return await self.hub.store.list_messages(
            conversation.tenant,
            conversation.id,
            after_seq=max(0, conversation.last_seq - HISTORY),
            limit=HISTORY,
        )

    async def _contact(self, conversation: Conversation) -> Contact | None:
        return await self.hub.store.get_contact(conversation.tenant, conversation.contact_id)
