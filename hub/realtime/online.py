"""Staff's side of online visitors and invitations: the batched list change to the tenant's
staff, and the answer to an invitation to the agent who sent it (every tab)."""

from __future__ import annotations

import socketio

from hub.bus import EventBus
from hub.events import InvitationAnswered, OnlineVisitorsChanged
from hub.realtime.rooms import AGENT_NS, agent_room, staff_room


class OnlineFanout:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(OnlineVisitorsChanged, self.changed)
        bus.subscribe(InvitationAnswered, self.answered)

    async def changed(self, event: OnlineVisitorsChanged) -> None:
        await self.sio.emit(
            "visitors.online",
            {"online": event.online},
            to=staff_room(event.tenant_id),
            namespace=AGENT_NS,
        )

    async def answered(self, event: InvitationAnswered) -> None:
        if event.agent_id is None:
            return  # the auto-invite rules: nobody to tell (the counters show it)
        await self.sio.emit(
            "invitation.answered",
            {
                "invitation_id": event.invitation_id,
                "accepted": event.accepted,
                "contact_id": event.contact_id,
                "conversation_id": event.conversation_id,
            },
            to=agent_room(event.tenant_id, event.agent_id),
            namespace=AGENT_NS,
        )
