"""The knowledge base: articles (question, similar questions, answer with an optional answer
per language, category, enabled), kept in the store per tenant, with CSV import and export,
and the per-tenant search index the built-in bot and agent suggestions read.

An index is built from a tenant's articles on first use and rebuilt after each change (here or
on another node), in a worker thread (jieba segmentation of 10,000 articles takes about a
second)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, ValidationError

from bots.matching import QuestionIndex, Scored, is_chinese
from hub.domain import iso, new_id, utcnow
from hub.errors import Invalid, NotFound, TooLarge
from hub.storage.base import Store

Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Answer = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Category = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
MAX_SIMILAR = 50
MAX_ARTICLES = 20_000
MAX_CSV_BYTES = 20 * 1024 * 1024
CSV_COLUMNS = [
    "id",
    "category",
    "question",
    "similar",
    "answer",
    "answer_en",
    "answer_zh",
    "enabled",
]
SIMILAR_SEPARATOR = "|"


class ArticleBody(BaseModel):
    """POST /api/v1/kb/articles; PATCH takes any of these fields."""

    model_config = ConfigDict(extra="forbid")
    question: Question
    similar: list[Question] = Field(default_factory=list, max_length=MAX_SIMILAR)
    answer: Answer
    answers: dict[str, Answer] = Field(default_factory=dict, max_length=10)
    category: Category = ""
    enabled: StrictBool = True


class ArticlePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: Question | None = None
    similar: list[Question] | None = Field(default=None, max_length=MAX_SIMILAR)
    answer: Answer | None = None
    answers: dict[str, Answer] | None = Field(default=None, max_length=10)
    category: Category | None = None
    enabled: StrictBool | None = None


def _article(body: ArticleBody, article_id: str | None = None, created_at: str | None = None):
    now = iso(utcnow())
    return {
        "id": article_id or new_id(),
        **body.model_dump(),
        "created_at": created_at or now,
        "updated_at": now,
    }


def answer_in(article: dict[str, Any], language: str) -> str:
    """The article's answer in the visitor's language when it has one."""
    return str(article.get("answers", {}).get(language) or article["answer"])


def language_of(text: str) -> str:
    return "zh" if is_chinese(text) else "en"


@dataclass(frozen=True, slots=True)
class Hit:
    article: dict[str, Any]
    score: float
    question: str


class _Snapshot:
    def __init__(self, articles: Sequence[dict[str, Any]], version: str | None) -> None:
        self.version = version
        self.articles = {a["id"]: a for a in articles}
        self.index = QuestionIndex(_questions(a for a in articles if a.get("enabled", True)))


def _questions(articles: Iterable[dict[str, Any]]) -> Iterable[tuple[str, str]]:
    for article in articles:
        yield article["id"], article["question"]
        for similar in article.get("similar", []):
            yield article["id"], similar


VERSION_KEY = "kb_version"


class KnowledgeBase:
    """Articles of every tenant, through the store, with one search index per tenant.

    Every change stores a new version token beside the articles (settings `kb_version`);
    an index is used while its token is the stored one, so a change made on another node
    is seen here at the next search, after one rebuild."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._snapshots: dict[str, _Snapshot] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def _stored_version(self, tenant: str) -> str | None:
        stored = await self.store.get_settings(tenant, VERSION_KEY)
        return str(stored["token"]) if stored else None

    async def _snapshot(self, tenant: str) -> _Snapshot:
        version = await self._stored_version(tenant)
        found = self._snapshots.get(tenant)
        if found is not None and found.version == version:
            return found
        async with self._locks.setdefault(tenant, asyncio.Lock()):
            found = self._snapshots.get(tenant)
            if found is not None and found.version == version:
                return found  # built while this one waited
            return await self._build(tenant, version)

    async def _build(self, tenant: str, version: str | None) -> _Snapshot:
        articles = await self.store.list_kb_articles(tenant)
        snapshot = await asyncio.to_thread(_Snapshot, articles, version)
        self._snapshots[tenant] = snapshot
        return snapshot

    async def _changed(self, tenant: str) -> None:
        """After a write: a new version for every node, and this node's index rebuilt now."""
        await self.store.put_settings(tenant, VERSION_KEY, {"token": new_id()})
        await self._snapshot(tenant)

    async def list(self, tenant: str) -> list[dict[str, Any]]:
        return await self.store.list_kb_articles(tenant)

    async def get(self, tenant: str, article_id: str) -> dict[str, Any]:
        article = (await self._snapshot(tenant)).articles.get(article_id)
        if article is None:
            raise NotFound("no such article", code="article_not_found")
        return article

    async def create(self, tenant: str, body: ArticleBody) -> dict[str, Any]:
        await self._check_room(tenant, 1)
        article = _article(body)
        await self.store.put_kb_articles(tenant, [article])
        await self._changed(tenant)
        return article

    async def update(self, tenant: str, article_id: str, patch: ArticlePatch) -> dict[str, Any]:
        current = await self.get(tenant, article_id)
        changes = patch.model_dump(exclude_none=True)
        merged = ArticleBody.model_validate({**_body_of(current), **changes})
        article = _article(merged, article_id, current["created_at"])
        await self.store.put_kb_articles(tenant, [article])
        await self._changed(tenant)
        return article

    async def delete(self, tenant: str, article_id: str) -> None:
        if not await self.store.delete_kb_article(tenant, article_id):
            raise NotFound("no such article", code="article_not_found")
        await self._changed(tenant)

    async def _check_room(self, tenant: str, adding: int) -> None:
        have = len((await self._snapshot(tenant)).articles)
        if have + adding > MAX_ARTICLES:
            raise TooLarge(
                f"a knowledge base holds at most {MAX_ARTICLES} articles",
                code="too_many_articles",
                limit=MAX_ARTICLES,
            )

    async def search(self, tenant: str, query: str, limit: int = 5) -> list[Hit]:
        snapshot = await self._snapshot(tenant)
        found: list[Scored] = await asyncio.to_thread(snapshot.index.search, query, limit)
        return [
            Hit(snapshot.articles[s.key], s.confidence, s.question)
            for s in found
            if s.key in snapshot.articles
        ]

    # CSV ---------------------------------------------------------------------------------

    async def export_csv(self, tenant: str) -> str:
        out = io.StringIO()
        writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for article in await self.list(tenant):
            answers = article.get("answers", {})
            writer.writerow(
                {
                    "id": article["id"],
                    "category": article.get("category", ""),
                    "question": article["question"],
                    "similar": SIMILAR_SEPARATOR.join(article.get("similar", [])),
                    "answer": article["answer"],
                    "answer_en": answers.get("en", ""),
                    "answer_zh": answers.get("zh", ""),
                    "enabled": "true" if article.get("enabled", True) else "false",
                }
            )
        return out.getvalue()

    async def import_csv(self, tenant: str, data: bytes) -> list[dict[str, Any]]:
        """Every row is checked first: one bad row and nothing is imported, with every bad
        row named (line and reason). A row with the id of an existing article replaces it."""
        articles = parse_csv(data)
        existing = (await self._snapshot(tenant)).articles
        new = [a for a in articles if a["id"] not in existing]
        await self._check_room(tenant, len(new))
        for article in articles:
            if article["id"] in existing:
                article["created_at"] = existing[article["id"]]["created_at"]
        await self.store.put_kb_articles(tenant, articles)
        await self._changed(tenant)
        return articles


def _body_of(article: dict[str, Any]) -> dict[str, Any]:
    return {key: article[key] for key in ArticleBody.model_fields if key in article}


MAX_REPORTED = 20


def parse_csv(data: bytes) -> list[dict[str, Any]]:
    if len(data) > MAX_CSV_BYTES:
        raise TooLarge(
            f"the file is larger than {MAX_CSV_BYTES} bytes",
            code="csv_too_large",
            limit=MAX_CSV_BYTES,
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(
            f"the file is not UTF-8 text (byte {exc.start})", code="csv_not_utf8"
        ) from exc
    if "\x00" in text:
        raise Invalid("the file is not text (it holds NUL bytes)", code="csv_not_text")
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise Invalid(f"the header cannot be read: {exc}", code="csv_malformed") from exc
    if not header:
        raise Invalid("the file is empty: it needs a header row", code="csv_empty")
    unknown = [name for name in header if name not in CSV_COLUMNS]
    missing = [name for name in ("question", "answer") if name not in header]
    if unknown or missing:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        raise Invalid(f"{'; '.join(parts)} (columns: {', '.join(CSV_COLUMNS)})", code="csv_columns")
    problems: list[str] = []
    articles: list[dict[str, Any]] = []
    seen_ids: set[str] = set()
    try:
        for row in reader:
            line = reader.line_num
            if None in row or any(value is None for value in row.values()):
                problems.append(f"line {line}: {len(header)} columns expected")
                continue
            if not any(value.strip() for value in row.values()):
                continue  # a blank line
            problem, article = _row_article(row)
            if problem is None and article["id"] in seen_ids:
                problem = f"id {article['id']} appears twice"
            if problem is not None:
                problems.append(f"line {line}: {problem}")
                continue
            seen_ids.add(article["id"])
            articles.append(article)
            if len(articles) > MAX_ARTICLES:
                raise TooLarge(
                    f"a file may hold at most {MAX_ARTICLES} articles",
                    code="too_many_articles",
                    limit=MAX_ARTICLES,
                )
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: {exc}")
    if problems:
        shown = problems[:MAX_REPORTED]
        more = len(problems) - len(shown)
        tail = f" (and {more} more)" if more else ""
        raise Invalid("nothing was imported: " + "; ".join(shown) + tail, code="csv_invalid_rows")
    if not articles:
        raise Invalid("the file has no articles", code="csv_empty")
    return articles


ENABLED = {"": True, "true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _row_article(row: dict[str, str]) -> tuple[str | None, dict[str, Any]]:
    enabled = ENABLED.get(row.get("enabled", "").strip().lower())
    if enabled is None:
        return "enabled must be true or false", {}
    answers = {
        language: row[column].strip()
        for language, column in (("en", "answer_en"), ("zh", "answer_zh"))
        if row.get(column, "").strip()
    }
    similar = [s.strip() for s in row.get("similar", "").split(SIMILAR_SEPARATOR) if s.strip()]
    try:
        body = ArticleBody(
            question=row["question"],
            similar=similar,
            answer=row["answer"],
            answers=answers,
            category=row.get("category", ""),
            enabled=enabled,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        return f"{field}: {first['msg']}", {}
    article_id = row.get("id", "").strip()
    if len(article_id) > 64:
        return "id is longer than 64 characters", {}
    return None, _article(body, article_id or None)
