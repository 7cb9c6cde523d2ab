"""The bot interface, like the channel interface: a bot gets a conversation's messages and
answers with messages (text, an image, buttons: suggested questions) or asks for a
hand-off. The service (bots/service.py) sends what it answers through the hub's actions,
counts misses and decides hand-offs; a bot only knows the conversation it is shown."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from bots.settings import BotSettings
from hub.domain import Contact, Conversation, Message


@dataclass(frozen=True, slots=True)
class BotMessage:
    text: str = ""
    image_url: str | None = None
    # Suggested questions or choices: buttons where the channel has them, else numbered text.
    buttons: list[str] = field(default_factory=list)
    # What choosing each button sends back to the bot (Rasa's payloads); default: its text.
    payloads: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BotTurn:
    messages: list[BotMessage] = field(default_factory=list)
    # False: the bot did not know the answer (a miss; max_misses in a row hand off).
    understood: bool = True
    # The bot asks for a human ("bot": its own decision, "error": it cannot answer now);
    # skill: the agents' queue it asks for.
    handoff: str | None = None
    skill: str | None = None
    # What the bot matched (an article id), for metrics and the agent's view.
    matched: str | None = None


@dataclass(frozen=True, slots=True)
class BotContext:
    conversation: Conversation
    contact: Contact | None
    history: list[Message]  # the conversation so far, oldest first, the new message last
    text: str  # the customer's new message (a chosen button already resolved to its text)
    settings: BotSettings


class Bot(ABC):
    @abstractmethod
    async def reply(self, context: BotContext) -> BotTurn:
        """The answer to the customer's new message."""

    async def welcome(self, context: BotContext) -> list[BotMessage]:
        """What the bot says first when it takes a conversation."""
        return []
