"""Question matching for the built-in knowledge-base bot, offline, Chinese and English.

Every question of an article (its question and its similar questions) is a document of a
BM25 index over terms: Chinese is segmented by jieba (search mode, so that 退货 and 退货地址
both meet 退货地址), English words are lower-cased and lightly stemmed. A query term the
index has never seen is replaced by its closest known term when they are near enough
(rapidfuzz), which is how typos (refnud, delivary) still find their article.

BM25 ranks; the confidence of a hit is how much of the query's weight (idf) the question
covers and how much of the question's weight the query covers, combined as their harmonic
mean, so a long question that shares one rare word with the query, or a short query that
is one common word of a question, both stay low. The bot answers above its threshold and
offers "did you mean" just below it (bots/builtin.py)."""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import jieba
from rapidfuzz import fuzz, process

K1 = 1.2
B = 0.75
# How near an unknown word must be to a known one to stand for it (rapidfuzz ratio, 0-100).
TYPO_CUTOFF = 80
MIN_TYPO_LENGTH = 4
# A question longer than this is cut before matching: nobody asks a question of 5,000
# characters, and matching cost grows with the query's terms.
MAX_QUERY_CHARS = 300

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+(?:'[a-z]+)?")

# Words that carry no meaning of their own in a customer's question.
EN_STOP = frozenset(
    """a an the i me my we our you your it its is are was were be been being am do does did
    doing to of in on at for from by with about as into than then so and or but if can could
    would should will shall may might must have has had having there here this that these
    those what which who whom how when where why please pls hi hello hey thanks thank get
    got any some just also still want need like know tell let us im i'm id i'd ok okay
    one""".split()
)
ZH_STOP = frozenset(
    """的 了 吗 呢 吧 啊 呀 哦 嗯 么 我 你 您 他 她 它 我们 你们 是 在 有 和 与 及 或 就 都 也 还
    请问 请 问 一下 下 这个 那个 这 那 个 可以 能 能不能 可不可以 想 要 会 该 得 着 过 把 被 给
    吗? 呢? 怎么 怎样 如何 怎么样 什么 哪 哪里 哪儿 多少 几 为什么 为啥 啥 一个 现在 麻烦 谢谢
    你好 您好 下吗""".split()
)
ZH_STOP_CHARS = frozenset(
    "的了吗呢吧啊呀哦嗯么我你您他她它是在有和与就都也还请问一下这那个可以能想要会该得着过把被给怎样如何什哪多少几为啥现麻烦谢好"
)
# Question words matter to nobody's intent here: "how do I return" and "can I return" are
# the same question. They are dropped in both languages above.

_jieba_ready = threading.Lock()
_jieba_loaded = False


def _load_jieba() -> None:
    global _jieba_loaded
    with _jieba_ready:
        if not _jieba_loaded:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba_loaded = True


def _stem(word: str) -> str:
    """A light English stemmer: plurals and the common verb endings, enough to make
    refunds/refunded/refunding one term (no dictionary, no model)."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                return word
            return word[: len(word) - len(suffix)] + keep
    return word


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def is_chinese(text: str) -> bool:
    return _CJK.search(text) is not None


def terms(text: str) -> list[str]:
    """The meaningful terms of a text, in order, repeats kept."""
    _load_jieba()
    found: list[str] = []
    for run in _TOKEN.findall(normalise(text)):
        if _CJK.fullmatch(run):
            for word in jieba.lcut_for_search(run):
                if word not in ZH_STOP:
                    found.append(word)
                    # Its characters too: paraphrases share characters more often than
                    # words (退回去 / 退货, 假货 / 正品的货).
                    if len(word) > 1:
                        found.extend(c for c in word if c not in ZH_STOP_CHARS)
        elif run not in EN_STOP:
            found.append(_stem(run))
    return found


@dataclass(frozen=True, slots=True)
class Scored:
    key: str  # the article's id
    question: str  # which of its questions matched best
    confidence: float  # 0..1


class QuestionIndex:
    """A BM25 index of questions, each belonging to a key (an article). Built once from a
    snapshot; a change builds a new one (bots/builtin.py swaps it in)."""

    def __init__(self, questions: Iterable[tuple[str, str]]) -> None:
        self._keys: list[str] = []
        self._texts: list[str] = []
        self._lengths: list[int] = []
        self._weights: list[float] = []  # the sum of idf over each question's distinct terms
        self._postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        counted: list[Counter[str]] = []
        for key, text in questions:
            bag = Counter(terms(text))
            if not bag:
                continue
            number = len(self._keys)
            self._keys.append(key)
            self._texts.append(text)
            self._lengths.append(sum(bag.values()))
            counted.append(bag)
            for term, count in bag.items():
                self._postings[term].append((number, count))
        total = len(self._keys)
        self._average = (sum(self._lengths) / total) if total else 1.0
        self._idf = {
            term: math.log(1 + (total - len(p) + 0.5) / (len(p) + 0.5))
            for term, p in self._postings.items()
        }
        # A word nobody's question has weighs as much as the rarest one: a question about
        # something the knowledge base never mentions should not look covered.
        self._unknown_idf = math.log(1 + (total + 0.5) / 0.5) if total else 1.0
        self._weights = [sum(self._idf[t] for t in bag) for bag in counted]
        self._vocabulary = [t for t in self._postings if not _CJK.match(t)]

    def __len__(self) -> int:
        return len(self._keys)

    def _known(self, term: str) -> str | None:
        if term in self._postings:
            return term
        if len(term) < MIN_TYPO_LENGTH or _CJK.match(term) or not self._vocabulary:
            return None
        best = process.extractOne(
            term, self._vocabulary, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF
        )
        return best[0] if best else None

    def search(self, query: str, limit: int = 5) -> list[Scored]:
        """The best question of each of the `limit` best keys, best first."""
        query_terms = set()
        query_weight = 0.0
        for raw in terms(query[:MAX_QUERY_CHARS]):
            term = self._known(raw)
            if term is None:
                query_weight += self._unknown_idf if raw not in query_terms else 0.0
                query_terms.add(raw)
                continue
            if term not in query_terms:
                query_terms.add(term)
                query_weight += self._idf[term]
        if not query_weight:
            return []
        bm25: dict[int, float] = defaultdict(float)
        shared: dict[int, float] = defaultdict(float)
        for term in query_terms:
            postings = self._postings.get(term)
            if not postings:
                continue
            idf = self._idf[term]
            for number, count in postings:
                norm = K1 * (1 - B + B * self._lengths[number] / self._average)
                bm25[number] += idf * count * (K1 + 1) / (count + norm)
                shared[number] += idf
        ranked: dict[str, Scored] = {}
        # Rank by BM25, then keep each key's best; confidence from the coverage both ways.
        for number in sorted(bm25, key=bm25.__getitem__, reverse=True)[: limit * 8]:
            of_query = shared[number] / query_weight
            of_question = shared[number] / self._weights[number]
            confidence = 2 * of_query * of_question / (of_query + of_question)
            key = self._keys[number]
            if key not in ranked or ranked[key].confidence < confidence:
                ranked[key] = Scored(key, self._texts[number], round(confidence, 4))
        return sorted(ranked.values(), key=lambda s: s.confidence, reverse=True)[:limit]


def numbered(options: Sequence[str]) -> str:
    """Buttons as text, for channels that cannot show buttons: the customer answers with the
    number."""
    return "\n".join(f"{n}. {option}" for n, option in enumerate(options, 1))
