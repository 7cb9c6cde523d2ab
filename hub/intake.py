"""The seam through which a bot takes new conversations before routing (bots/ implements
it; the core never imports bots). Without one, every new conversation is routed."""

from __future__ import annotations

from typing import Protocol

from hub.domain import Conversation


class BotIntake(Protocol):
    async def take(self, conversation: Conversation) -> bool:
        """Whether the bot holds the new conversation now (it then answers it); False routes
        it to the agents as usual."""
        ...

    async def answers(self, tenant: str, channel: str) -> bool:
        """Whether a bot answers on that channel now (outside working hours too): the widget
        then offers a chat rather than only a form to leave a message."""
        ...
