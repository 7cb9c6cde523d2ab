"""hub.contacts: a hit answers only what a fresh read would answer."""

from __future__ import annotations

from hub.contact_cache import ContactCache
from hub.domain import Contact, Conversation

WEBIM = "webim"


def records(status: str = "assigned") -> tuple[Contact, Conversation]:
    contact = Contact(id="c1", tenant="t", name="Visitor")
    conversation = Conversation(
        id="v1", tenant="t", channel=WEBIM, contact_id="c1", status=status, agent_id="a1"
    )
    return contact, conversation


def test_a_fill_is_used_until_a_write_to_the_contact() -> None:
    cache = ContactCache()
    cache.attach("t", "c1")
    contact, conversation = records()
    cache.fill(cache.ticket("t", "c1"), contact, conversation)
    assert cache.lookup("t", "c1", WEBIM) == (contact, conversation)
    assert cache.lookup("t", "c1", "wechat") is None
    with cache.changing("t", "c1"):
        # A write in flight: neither used nor filled.
        assert cache.lookup("t", "c1", WEBIM) is None
        assert cache.ticket("t", "c1") is None
    assert cache.lookup("t", "c1", WEBIM) is None


def test_a_fill_from_reads_older_than_a_write_is_dropped() -> None:
    cache = ContactCache()
    cache.attach("t", "c1")
    before_write = cache.ticket("t", "c1")
    with cache.changing("t", "c1"):
        cache.fill(before_write, *records())
    cache.fill(before_write, *records())
    assert cache.lookup("t", "c1", WEBIM) is None


def test_a_closed_conversation_is_never_cached() -> None:
    cache = ContactCache()
    cache.attach("t", "c1")
    cache.fill(cache.ticket("t", "c1"), *records(status="closed"))
    assert cache.lookup("t", "c1", WEBIM) is None


def test_entries_live_while_a_socket_does() -> None:
    cache = ContactCache()
    cache.attach("t", "c1")
    cache.attach("t", "c1")
    cache.fill(cache.ticket("t", "c1"), *records())
    cache.detach("t", "c1")
    assert cache.lookup("t", "c1", WEBIM) is not None
    ticket = cache.ticket("t", "c1")
    cache.detach("t", "c1")
    assert cache.lookup("t", "c1", WEBIM) is None
    # A fill begun before the last tab left does not land in a later socket's entry.
    cache.attach("t", "c1")
    cache.fill(ticket, *records())
    assert cache.lookup("t", "c1", WEBIM) is None


def test_disabled_never_answers() -> None:
    cache = ContactCache(enabled=False)
    cache.attach("t", "c1")
    cache.fill(cache.ticket("t", "c1"), *records())
    assert cache.lookup("t", "c1", WEBIM) is None
