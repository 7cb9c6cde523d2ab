"""Customer notifications: one subscriber of the event bus that tells the customer, through
their conversation's connector, what is not a message: their place in the queue, who serves
them, that the conversation closed, that the agent is typing. Each channel shows what it
can (`Connector.notify`, `Capabilities`); web chat shows all of it, email none."""

from __future__ import annotations

from hub.bus import EventBus
from hub.channels import Connectors, Notification
from hub.domain import ConversationRef, SenderType
from hub.events import ConversationAssigned, ConversationClosed, QueuePositionChanged, Typing


class CustomerNotifier:
    def __init__(self, connectors: Connectors) -> None:
        self.connectors = connectors

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(ConversationAssigned, self.assigned)
        bus.subscribe(QueuePositionChanged, self.queued)
        bus.subscribe(ConversationClosed, self.closed)
        bus.subscribe(Typing, self.typing)

    async def _notify(self, conversation: ConversationRef, notification: Notification) -> None:
        connector = self.connectors.for_conversation(conversation)
        if connector is not None:
            await connector.notify(conversation, notification)

    async def assigned(self, event: ConversationAssigned) -> None:
        conversation = event.conversation
        await self._notify(
            conversation.ref(),
            Notification(
                "status",
                {
                    "status": conversation.status,
                    "agent": {"id": conversation.agent_id, "name": event.agent_name},
                },
            ),
        )

    async def queued(self, event: QueuePositionChanged) -> None:
        await self._notify(
            event.conversation,
            Notification("status", {"status": "queued", "queue_position": event.position}),
        )

    async def closed(self, event: ConversationClosed) -> None:
        data: dict[str, object] = {"status": "closed", "reason": event.reason}
        if event.leave_message:
            data["leave_message"] = True
        await self._notify(event.conversation.ref(), Notification("status", data))

    async def typing(self, event: Typing) -> None:
        if event.sender_type == SenderType.AGENT.value:
            await self._notify(event.conversation, Notification("typing", {"on": event.on}))
