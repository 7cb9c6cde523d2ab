"""Two nodes' knowledge bases over one store (each node keeps its own index): a change made
through one is found through the other at its next search."""

from __future__ import annotations

from pathlib import Path

from bots.knowledge import ArticleBody, ArticlePatch, KnowledgeBase
from hub.storage.sqlite import SqliteStore


async def test_a_change_on_one_node_is_searched_on_the_other(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.sqlite3")
    await store.open()
    try:
        here, there = KnowledgeBase(store), KnowledgeBase(store)
        assert await there.search("t", "怎么退货") == []  # builds its (empty) index
        article = await here.create("t", ArticleBody(question="怎么退货", answer="去订单页"))
        hits = await there.search("t", "怎么退货")
        assert [h.article["id"] for h in hits] == [article["id"]]
        await here.update("t", article["id"], ArticlePatch(enabled=False))
        assert await there.search("t", "怎么退货") == []
        await there.delete("t", article["id"])
        assert await here.list("t") == []
        assert await here.search("t", "怎么退货") == []
    finally:
        await store.close()
