"""The actions (see the package's docstring). Configuration comes from the environment, as a
Rasa action server's usually does: HUB_URL, HUB_TOKEN and HUB_TIMEOUT_SECONDS (default 5)."""

from __future__ import annotations

import logging
import os
from typing import Any

import aiohttp
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

log = logging.getLogger(__name__)


def _hub() -> tuple[str, dict[str, str], aiohttp.ClientTimeout]:
    url = os.environ.get("HUB_URL", "http://127.0.0.1:8080").rstrip("/")
    token = os.environ.get("HUB_TOKEN", "")
    timeout = aiohttp.ClientTimeout(total=float(os.environ.get("HUB_TIMEOUT_SECONDS", "5")))
    return url, {"Authorization": f"Bearer {token}"}, timeout


def _metadata(tracker: Tracker) -> dict[str, Any]:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return metadata if isinstance(metadata, dict) else {}


class ActionHubHandOff(Action):
    def name(self) -> str:
        return "action_hub_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        conversation_id = _metadata(tracker).get("conversation_id") or tracker.sender_id
        skill = tracker.get_slot("handoff_skill")
        url, headers, timeout = _hub()
        body = {"skill": skill} if isinstance(skill, str) and skill else {}
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(
                    f"{url}/api/v1/bot/conversations/{conversation_id}/handoff",
                    json=body,
                    headers=headers,
                ) as response,
            ):
                if response.status != 200:
                    log.warning("the hub refused the hand-off: %s", await response.text())
                    # Rasa's REST channel answer asks the hub for it instead.
                    dispatcher.utter_message(json_message={"handoff": True, "skill": skill})
        except aiohttp.ClientError as exc:
            log.warning("the hub could not be reached for a hand-off: %r", exc)
            dispatcher.utter_message(json_message={"handoff": True, "skill": skill})
        return []


class ActionHubContact(Action):
    def name(self) -> str:
        return "action_hub_contact"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        contact = _metadata(tracker).get("contact") or {}
        contact_id = contact.get("id") if isinstance(contact, dict) else None
        if not contact_id:
            return []
        url, headers, timeout = _hub()
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(f"{url}/api/v1/contacts/{contact_id}", headers=headers) as response,
            ):
                if response.status != 200:
                    log.warning("the hub refused the contact: %s", await response.text())
                    return []
                found = await response.json()
        except aiohttp.ClientError as exc:
            log.warning("the hub could not be reached for the contact: %r", exc)
            return []
        return [
            SlotSet("contact_name", found.get("name")),
            SlotSet("contact_email", found.get("email")),
            SlotSet("contact_phone", found.get("phone")),
        ]
