"""bots: how long the built-in bot takes to find an answer as the knowledge base grows.

Knowledge bases of 54 articles (the labelled set of tests/bots/data) and of 1,000 and
10,000 articles (the labelled ones plus generated ones: product × topic × phrasing, in
Chinese and English, so the vocabulary grows as a real catalogue's does). For each: the time
to build the index, and the time per question (p50, p99) over the labelled paraphrases,
with their top-1 accuracy, which must not fall much as unrelated articles are added.

End to end: a hub (run.py, its own process) with the 10,000-article knowledge base imported
as CSV, in bot_first mode; visitors (python-socketio clients) each ask two labelled
questions: the time from sending to the stored message's ack (the hub's baseline for any
message) and to the bot's answer arriving, and the ratio of the two.

Baseline in the same run: a plain fuzzy scan (rapidfuzz's extractOne over every question,
what a bot without an index would do) on the same knowledge base; the ratio says how much
the index saves, and the 10,000 / 54 ratio how answer time grows with size.
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from rapidfuzz import fuzz, process

from bench.servers import ADMIN_EMAIL, ADMIN_PASSWORD, ServerProcess
from bench.stats import ratio
from bots.knowledge import parse_csv
from bots.matching import QuestionIndex

DATA = Path(__file__).resolve().parent.parent / "tests" / "bots" / "data"
SIZES = (54, 1_000, 10_000)

PRODUCTS_ZH = (
    "手机 耳机 电视 冰箱 洗衣机 相机 手表 平板 音箱 键盘 鼠标 显示器 "
    "空调 风扇 吸尘器 台灯 背包 外套 跑鞋 床垫"
).split()
PRODUCTS_EN = (
    "phone headphones tv fridge washer camera watch tablet speaker keyboard mouse monitor "
    "aircon fan vacuum lamp backpack jacket sneakers mattress"
).split()
TOPICS = [
    ("怎么安装{p}", "How do I install the {p}?", "{p}安装说明见说明书第二页。"),
    ("{p}充电要多久", "How long does the {p} take to charge?", "{p}充满约需两小时。"),
    (
        "{p}{n}型号的尺寸是多少",
        "What are the dimensions of {p} model {n}?",
        "{p} {n} 尺寸见详情页。",
    ),
    ("{p}{n}支持防水吗", "Is {p} model {n} waterproof?", "{p} {n} 支持日常防水。"),
    ("{p}{n}的颜色有哪些", "Which colours does {p} {n} come in?", "{p} {n} 有黑白两色。"),
    ("{p}{n}怎么连接蓝牙", "How do I pair {p} {n} over bluetooth?", "长按电源键五秒进入配对。"),
]


def _labelled() -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    articles = parse_csv((DATA / "kb_articles.csv").read_bytes())
    with (DATA / "paraphrases.csv").open(encoding="utf-8", newline="") as file:
        questions = [(row["article"], row["question"]) for row in csv.DictReader(file)]
    return articles, [(key, text) for key, text in questions if key]


def _generated(count: int, seed: int = 19) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    questions: list[tuple[str, str]] = []
    for number in range(count):
        zh, en, _ = TOPICS[number % len(TOPICS)]
        which = rng.randrange(len(PRODUCTS_ZH))
        model = f"X{number}"
        key = f"gen-{number}"
        questions.append((key, zh.format(p=PRODUCTS_ZH[which], n=model)))
        questions.append((key, en.format(p=PRODUCTS_EN[which], n=model)))
    return questions


def _knowledge_base(size: int, articles: list[dict[str, Any]]) -> list[tuple[str, str]]:
    labelled = [(a["id"], q) for a in articles for q in [a["question"], *a["similar"]]]
    return labelled + _generated(size - len(articles))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _timed(ask: Callable[[str], str | None], asked: list[tuple[str, str]]) -> dict[str, float]:
    times: list[float] = []
    right = 0
    for key, text in asked:
        started = time.perf_counter()
        found = ask(text)
        times.append(time.perf_counter() - started)
        right += found == key
    return {
        "p50_ms": round(_percentile(times, 0.5) * 1000, 3),
        "p99_ms": round(_percentile(times, 0.99) * 1000, 3),
        "top1": round(right / len(asked), 3),
    }


def run(quick: bool, workers: int, log: Callable[[str], None]) -> dict[str, Any]:
    articles, asked = _labelled()
    if quick:
        asked = asked[::4]
    sizes = SIZES[:2] if quick else SIZES
    result: dict[str, Any] = {"scenario": "bots", "questions": len(asked), "sizes": {}}
    QuestionIndex([("warm-up", "加载 jieba 的词典")])  # jieba loads its dictionary once
    for size in sizes:
        questions = _knowledge_base(size, articles)
        started = time.perf_counter()
        index = QuestionIndex(questions)
        built = time.perf_counter() - started
        log(f"bots: {size} articles, {len(questions)} questions indexed in {built:.2f}s")

        def indexed(text: str, index: QuestionIndex = index) -> str | None:
            hits = index.search(text, 1)
            return hits[0].key if hits else None

        texts = [text for _, text in questions]
        keys = [key for key, _ in questions]

        def scanned(text: str, texts: list[str] = texts, keys: list[str] = keys) -> str | None:
            best = process.extractOne(text, texts, scorer=fuzz.token_set_ratio)
            return keys[best[2]] if best else None

        bot = _timed(indexed, asked)
        baseline = _timed(scanned, asked[:: 1 if size < 10_000 else 3])
        result["sizes"][str(size)] = {
            "build_s": round(built, 2),
            "bot": bot,
            "fuzzy_scan_baseline": baseline,
            "p50_vs_baseline": round(bot["p50_ms"] / baseline["p50_ms"], 3),
        }
    first, last = str(sizes[0]), str(sizes[-1])
    result["p50_growth"] = round(
        result["sizes"][last]["bot"]["p50_ms"] / result["sizes"][first]["bot"]["p50_ms"], 2
    )
    result["answer_p99_ms"] = result["sizes"][last]["bot"]["p99_ms"]
    visitors = 20 if quick else 100
    with ServerProcess("hub") as hub:
        result["end_to_end"] = asyncio.run(
            _end_to_end(hub.base_url, articles, asked, sizes[-1], visitors, log)
        )
    return result


def _csv(articles: list[dict[str, Any]], size: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["id", "question", "similar", "answer", "answer_en"])
    for a in articles:
        answers = a.get("answers", {})
        row = [a["id"], a["question"], "|".join(a["similar"]), a["answer"], answers.get("en", "")]
        writer.writerow(row)
    generated = _generated(size - len(articles))
    for number in range(0, len(generated), 2):
        (key, zh), (_, en) = generated[number], generated[number + 1]
        writer.writerow([key, zh, en, "…", ""])
    return out.getvalue().encode()


async def _end_to_end(
    base_url: str,
    articles: list[dict[str, Any]],
    asked: list[tuple[str, str]],
    size: int,
    visitors: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base_url}/api/v1/auth/login",
            json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        ) as response:
            admin = {"Authorization": f"Bearer {(await response.json())['token']}"}
        started = time.perf_counter()
        async with http.post(
            f"{base_url}/api/v1/kb/import",
            data=_csv(articles, size),
            headers={**admin, "Content-Type": "text/csv"},
        ) as response:
            imported = (await response.json())["imported"]
        import_s = time.perf_counter() - started
        log(f"bots: imported {imported} articles through the hub in {import_s:.1f}s")
        async with http.get(f"{base_url}/api/v1/settings/bot", headers=admin) as response:
            settings = await response.json()
        async with http.put(
            f"{base_url}/api/v1/settings/bot",
            headers=admin,
            json=settings | {"mode": "bot_first", "welcome": {}},
        ) as response:
            assert response.status == 200, await response.text()
    acks: list[float] = []
    answers: list[float] = []
    rng = random.Random(7)
    for number in range(visitors):
        client = socketio.AsyncClient(reconnection=False)
        arrived: asyncio.Queue[float] = asyncio.Queue()

        async def on_message(message: dict[str, Any], arrived: asyncio.Queue[float] = arrived):
            if message["sender"]["type"] == "bot":
                arrived.put_nowait(time.perf_counter())

        client.on("message", on_message, namespace="/visitor")
        await client.connect(
            base_url,
            namespaces=["/visitor"],
            auth={"tenant": "default"},
            transports=["websocket"],
        )
        try:
            for turn in range(2):
                _, text = rng.choice(asked)
                sent = time.perf_counter()
                ack = await client.call(
                    "message",
                    {"client_id": f"b{number}-{turn}", "text": text},
                    namespace="/visitor",
                    timeout=30,
                )
                acks.append(time.perf_counter() - sent)
                assert ack["ok"], ack
                answers.append(await asyncio.wait_for(arrived.get(), 30) - sent)
        finally:
            await client.disconnect()
    ack_p50, answer_p50 = _percentile(acks, 0.5), _percentile(answers, 0.5)
    return {
        "articles": imported,
        "import_s": round(import_s, 1),
        "messages": len(answers),
        "ack_p50_ms": round(ack_p50 * 1000, 2),
        "ack_p99_ms": round(_percentile(acks, 0.99) * 1000, 2),
        "answer_p50_ms": round(answer_p50 * 1000, 2),
        "answer_p99_ms": round(_percentile(answers, 0.99) * 1000, 2),
        "answer_vs_ack_p50": ratio(answer_p50, ack_p50),
    }
