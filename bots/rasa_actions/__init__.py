"""A Rasa action server's actions that call the hub (rasa-sdk, the `rasa` extra):

    HUB_URL=https://hub.example.com HUB_TOKEN=<a staff token of the tenant> \
        python -m rasa_sdk --actions bots.rasa_actions --port 5055

* `action_hub_handoff`: hands the conversation to the agents (the skill from the slot
  `handoff_skill` when set), POST /api/v1/bot/conversations/{id}/handoff.
* `action_hub_contact`: looks the contact up (GET /api/v1/contacts/{id}) and sets the slots
  `contact_name`, `contact_email`, `contact_phone`.

Both read the conversation and contact from the metadata the hub sends with every message
(bots/rasa.py). docs/bots.md shows the domain and rules a Rasa project adds to use them."""

from bots.rasa_actions.actions import ActionHubContact, ActionHubHandOff

__all__ = ["ActionHubContact", "ActionHubHandOff"]
