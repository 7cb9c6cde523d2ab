"""The Store's integrations section on every backend: API tokens, webhooks and the webhook
delivery queue (claims, leases, outcomes, the log, deletion with the webhook); tenants as
the platform administrator lists, suspends and deletes them."""

from __future__ import annotations

import asyncio

from hub.domain import Agent, Contact, Identity, Tenant
from hub.domain.integrations import ApiToken, Webhook, WebhookDelivery
from hub.storage.base import Store
from tests.storage.test_contract import at


def a_delivery(
    delivery_id: str, *, tenant: str = "t", webhook_id: str = "w1", due: float = 0
) -> WebhookDelivery:
    return WebhookDelivery(
        id=delivery_id,
        tenant=tenant,
        webhook_id=webhook_id,
        event_id=f"e-{delivery_id}",
        event="message.created",
        data={"text": "你好", "n": 1},
        created_at=at(due),
        due_at=at(due),
        updated_at=at(due),
    )


async def test_api_tokens_are_found_by_hash_and_scoped(store: Store) -> None:
    token = ApiToken(id="k1", tenant="t", name="CRM", token_hash="h1", agent_id="a1")
    await store.create_api_token(token)
    await store.create_api_token(
        ApiToken(id="k2", tenant="other", name="x", token_hash="h2", agent_id="a2")
    )
    found = await store.find_api_token("h1")
    assert found is not None and found.id == "k1" and found.last_used_at is None
    assert [t.id for t in await store.list_api_tokens("t")] == ["k1"]
    await store.touch_api_token("t", "k1", at(5))
    await store.touch_api_token("other", "k1", at(9))  # another tenant's: no effect
    assert (await store.find_api_token("h1")).last_used_at == at(5)
    assert not await store.delete_api_token("other", "k1")
    assert await store.delete_api_token("t", "k1")
    assert await store.find_api_token("h1") is None
    assert not await store.delete_api_token("t", "k1")


async def test_webhooks_are_scoped_and_updated_by_field(store: Store) -> None:
    hook = Webhook(id="w1", tenant="t", url="https://example.com/h", events=["a"], secret="s")
    await store.create_webhook(hook)
    assert await store.get_webhook("other", "w1") is None
    assert await store.list_webhooks("other") == []
    hook.enabled, hook.disabled_reason = False, "kept failing"
    assert await store.update_webhook(hook, ["enabled", "disabled_reason"])
    stored = await store.get_webhook("t", "w1")
    assert stored is not None and not stored.enabled and stored.disabled_reason == "kept failing"
    assert stored.secret == "s" and stored.events == ["a"]
    ghost = Webhook(id="w9", tenant="t", url="u", events=[], secret="s")
    assert not await store.update_webhook(ghost, ["enabled"])


async def test_the_delivery_queue_claims_each_once_until_its_lease_ends(store: Store) -> None:
    await store.create_webhook(
        Webhook(id="w1", tenant="t", url="https://example.com/h", events=["a"], secret="s")
    )
    await store.create_webhook_deliveries([a_delivery("d1", due=1), a_delivery("d2", due=2)])
    await store.create_webhook_deliveries([a_delivery("d3", tenant="u", webhook_id="w2", due=3)])
    assert await store.claim_due_webhook_deliveries(at(0), at(50), 10) == []
    first, second = await asyncio.gather(
        store.claim_due_webhook_deliveries(at(2), at(50), 10),
        store.claim_due_webhook_deliveries(at(2), at(50), 10),
    )
    claimed = sorted(d.id for d in first + second)
    assert claimed == ["d1", "d2"]  # each once, whoever took it
    assert (first + second)[0].data == {"text": "你好", "n": 1}
    assert [d.id for d in await store.claim_due_webhook_deliveries(at(10), at(999), 10)] == ["d3"]
    # The lease ran out with no outcome recorded (a worker died): it is claimed again.
    again = await store.claim_due_webhook_deliveries(at(51), at(100), 10)
    assert sorted(d.id for d in again) == ["d1", "d2"]

    done = next(d for d in again if d.id == "d1")
    done.status, done.attempts, done.due_at, done.response_status = "delivered", 1, None, 204
    assert await store.update_webhook_delivery(done, ["status", "attempts", "due_at"])
    retry = next(d for d in again if d.id == "d2")
    retry.attempts, retry.due_at, retry.last_error = 1, at(200), "HTTP 503"
    assert await store.update_webhook_delivery(retry, ["attempts", "due_at", "last_error"])
    assert await store.claim_due_webhook_deliveries(at(199), at(300), 10) == []
    assert [d.id for d in await store.claim_due_webhook_deliveries(at(200), at(300), 10)] == ["d2"]
    log = await store.list_webhook_deliveries("t", "w1")
    assert [(d.id, d.status) for d in log] == [("d2", "pending"), ("d1", "delivered")]
    assert await store.list_webhook_deliveries("u", "w1") == []
    assert (await store.get_webhook_delivery("t", "d2")).last_error == "HTTP 503"
    assert await store.get_webhook_delivery("u", "d2") is None

    assert await store.delete_webhook("t", "w1")
    assert await store.list_webhook_deliveries("t", "w1") == []
    assert await store.get_webhook_delivery("t", "d2") is None
    assert not await store.update_webhook_delivery(retry, ["attempts"])
    assert not await store.delete_webhook("t", "w1")


async def test_tenants_are_listed_suspended_and_deleted_with_all_they_own(store: Store) -> None:
    for tenant_id in ("t", "u"):
        await store.create_tenant(Tenant(id=tenant_id, name=tenant_id.upper()))
        await store.create_agent(
            Agent(
                id=f"a-{tenant_id}",
                tenant=tenant_id,
                name="A",
                email=f"a@{tenant_id}.example",
                password_hash="x",
            )
        )
        await store.create_contact(
            Contact(id=f"k-{tenant_id}", tenant=tenant_id, identities=[Identity("webim", "v")])
        )
        await store.put_settings(tenant_id, "widget", {"title": tenant_id})
        await store.create_api_token(
            ApiToken(
                id=f"k-{tenant_id}",
                tenant=tenant_id,
                name="x",
                token_hash=f"h-{tenant_id}",
                agent_id=f"a-{tenant_id}",
            )
        )
        await store.create_webhook(
            Webhook(id=f"w-{tenant_id}", tenant=tenant_id, url="u", events=[], secret="s")
        )
        await store.create_webhook_deliveries(
            [a_delivery(f"d-{tenant_id}", tenant=tenant_id, webhook_id=f"w-{tenant_id}")]
        )
    assert [t.id for t in await store.list_tenants()] == ["t", "u"]
    tenant = await store.get_tenant("t")
    assert tenant is not None and not tenant.suspended
    tenant.suspended = True
    assert await store.update_tenant(tenant, ["suspended"])
    assert (await store.get_tenant("t")).suspended
    assert not await store.update_tenant(Tenant(id="nope", name="n"), ["suspended"])

    assert await store.delete_tenant("t")
    assert not await store.delete_tenant("t")
    assert [t.id for t in await store.list_tenants()] == ["u"]
    assert await store.get_agent("t", "a-t") is None
    assert await store.get_agent_by_email("a@t.example") is None
    assert await store.find_contact("t", Identity("webim", "v")) is None
    assert await store.get_settings("t", "widget") is None
    assert await store.find_api_token("h-t") is None
    assert await store.list_webhooks("t") == []
    assert [d.id for d in await store.claim_due_webhook_deliveries(at(10), at(20), 10)] == ["d-u"]
    # The other tenant keeps everything.
    assert await store.get_agent("u", "a-u") is not None
    assert await store.find_contact("u", Identity("webim", "v")) is not None
    assert await store.find_api_token("h-u") is not None
    assert [w.id for w in await store.list_webhooks("u")] == ["w-u"]
