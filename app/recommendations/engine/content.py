"""Content similarity: TF-IDF over an item's tags, title and summary, compared by cosine.

Chinese has no spaces, so Chinese text is segmented into words with jieba; text without Chinese
characters is split on non-word characters (MovieLens titles and genres in the benchmark). Words
are lower-cased. Tags are kept whole (a creator's tag "Python入门" is one term) and count twice:
they are chosen on purpose, titles and summaries are prose.

jieba is quiet and tidy here: its DEBUG log ("Building prefix dict ...") is turned off, and the
prefix-dictionary cache it builds on first use (about a second; then loaded in a fraction of it)
goes to a directory we name instead of the system temp directory.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from app.recommendations.engine.similarity import DEFAULT_K, Neighbours, item_neighbours

with warnings.catch_warnings():
    # jieba 0.42 imports pkg_resources when setuptools is present, which warns on import.
    warnings.simplefilter("ignore")
    import jieba

logging.getLogger("jieba").setLevel(logging.WARNING)

TAG_WEIGHT = 2
_CHINESE = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"[^\W_]+")
# Words so common in Chinese prose that they only add noise to a short summary.
_STOPWORDS = frozenset(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "或",
        "是",
        "在",
        "也",
        "就",
        "都",
        "而",
        "着",
        "把",
        "被",
        "让",
        "给",
        "对",
        "从",
        "这",
        "那",
        "之",
        "一个",
        "我们",
        "你",
        "我",
    ]
)


def default_cache_dir() -> Path:
    """Where jieba's dictionary cache lives unless told otherwise: the user's cache directory."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "zhishi-shop"


@lru_cache(maxsize=4)
def chinese_segmenter(cache_dir: Path | None = None) -> jieba.Tokenizer:
    """A jieba tokenizer whose dictionary cache file is `cache_dir`/jieba.cache."""
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    segmenter = jieba.Tokenizer()
    segmenter.tmp_dir = str(directory)
    segmenter.cache_file = "jieba.cache"
    return segmenter


def tokenize(text: str, cache_dir: Path | None = None) -> list[str]:
    """The lower-cased words of `text`; Chinese runs segmented by jieba, punctuation dropped."""
    text = text.lower()
    if _CHINESE.search(text):
        words = chinese_segmenter(cache_dir).lcut(text)
        return [w for w in (w.strip() for w in words) if _WORD.search(w) and w not in _STOPWORDS]
    return _WORD.findall(text)


def item_terms(
    title: str, summary: str = "", tags: Iterable[str] = (), cache_dir: Path | None = None
) -> list[str]:
    """One item's terms for TF-IDF: each tag whole (twice), then the words of title and summary."""
    terms = [tag.strip().lower() for tag in tags if tag.strip()] * TAG_WEIGHT
    return terms + tokenize(title, cache_dir) + tokenize(summary, cache_dir)


def tfidf_matrix(documents: Sequence[Sequence[str]]) -> sp.csr_matrix:
    """Documents × terms, L2-normalised rows of (1 + log tf) · idf; idf = 1 + log((1+n)/(1+df)).

    The smoothed idf keeps a term found in every document at weight 1 rather than 0, so a
    catalog where every item shares a tag still has similar items. Term columns are numbered in
    order of first appearance.
    """
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for row, terms in enumerate(documents):
        for term in terms:
            rows.append(row)
            cols.append(vocabulary.setdefault(term, len(vocabulary)))
    counts = sp.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(documents), len(vocabulary))
    )
    counts.sum_duplicates()
    document_frequency = np.bincount(counts.indices, minlength=len(vocabulary))
    idf = 1.0 + np.log((1.0 + len(documents)) / (1.0 + document_frequency))
    counts.data = (1.0 + np.log(counts.data)) * idf[counts.indices]
    return _unit_rows(counts)


def content_neighbours(documents: Sequence[Sequence[str]], k: int = DEFAULT_K) -> Neighbours:
    """Each item's top-k items by cosine of their TF-IDF vectors (see `item_terms`)."""
    return item_neighbours(tfidf_matrix(documents).T, k)


def _unit_rows(matrix: sp.spmatrix) -> sp.csr_matrix:
    """`matrix` (CSR) with every non-empty row scaled to length 1; empty rows stay empty."""
    rows = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    rows.data /= np.repeat(norms, np.diff(rows.indptr))
    return rows
