"""Lexical retrieval over the corpus: which answers were written for questions like this one.

The offline model v2 uses it for retrieval-augmented decoding (see `transformer.py`). Texts
become hashed TF-IDF vectors over words, word pairs and character 3-5-grams (character
n-grams survive typos, plurals and Spanish accents), and an entry scores by its best-matching
phrasing plus a share of its answer's similarity. Built at training time from the corpus'
training phrasings (never the held-out ones) and shipped as one compressed npz of about 3 MB;
a query takes well under a millisecond.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

BUCKETS = 1 << 18
ANSWER_SHARE = 0.6  # an entry's score: best phrasing similarity + this x its answer's similarity
_WORD = re.compile(r"\w+", re.UNICODE)


def _fold(text: str) -> str:
    """Lower case without accents, so 'qué' and 'que' match."""
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def features(text: str) -> Counter:
    """Hashed feature counts: words, word pairs, character 3-5-grams across the words."""
    ws = _WORD.findall(_fold(text))
    grams = ws + [f"{a} {b}" for a, b in zip(ws, ws[1:])]
    s = f" {' '.join(ws)} "
    grams += [f"#{s[i:i + n]}" for n in (3, 4, 5) for i in range(len(s) - n + 1)]
    return Counter(zlib.crc32(g.encode()) % BUCKETS for g in grams)


def _vector(counts: Counter, idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
    w = tf * idf[idx]
    n = np.linalg.norm(w)
    return idx, (w / n if n > 0 else w)


class LexicalIndex:
    """An inverted index (bucket -> rows, weights) over phrasing rows and answer rows."""

    def __init__(self, idf, colptr, rows, vals, row_entry, row_is_answer, n_entries):
        self.idf, self.colptr, self.rows, self.vals = idf, colptr, rows, vals
        self.row_entry, self.row_is_answer, self.n_entries = row_entry, row_is_answer, int(n_entries)
        # phrasing rows grouped by entry (each entry's best phrasing is a max over its group),
        # answer rows and their entries: worked out once, not per query
        q = np.flatnonzero(~row_is_answer)
        self._q_rows = q[np.argsort(row_entry[q], kind="stable")]
        entries = row_entry[self._q_rows]
        self._q_starts = np.flatnonzero(np.r_[True, entries[1:] != entries[:-1]]) if len(entries) else entries
        self._q_entries = entries[self._q_starts]
        self._a_rows = np.flatnonzero(row_is_answer)
        self._a_entries = row_entry[self._a_rows]

    @classmethod
    def build(cls, questions: list[tuple[int, str]], answers: list[str]) -> "LexicalIndex":
        """`questions`: (entry, phrasing) pairs; `answers[entry]`: that entry's answer."""
        texts = [q for _, q in questions] + answers
        counts = [features(t) for t in texts]
        df = Counter(b for c in counts for b in c)
        idf = np.zeros(BUCKETS, dtype=np.float64)
        for b, n in df.items():
            idf[b] = math.log((len(texts) + 1) / (n + 0.5))
        cols, rws, vls = [], [], []
        for r, c in enumerate(counts):
            idx, w = _vector(c, idf)
            cols.append(idx)
            rws.append(np.full(len(idx), r, dtype=np.int32))
            vls.append(w)
        cols, rws, vls = np.concatenate(cols), np.concatenate(rws), np.concatenate(vls)
        order = np.lexsort((rws, cols))
        colptr = np.searchsorted(cols[order], np.arange(BUCKETS + 1)).astype(np.int32)
        row_entry = np.array([e for e, _ in questions] + list(range(len(answers))), dtype=np.int32)
        is_answer = np.r_[np.zeros(len(questions), bool), np.ones(len(answers), bool)]
        return cls(idf.astype(np.float32), colptr, rws[order].astype(np.uint16), vls[order].astype(np.float16),
                   row_entry, is_answer, len(answers))

    def save(self, path: Path) -> None:
        np.savez_compressed(path, idf=self.idf, colptr=self.colptr, rows=self.rows, vals=self.vals,
                            row_entry=self.row_entry, row_is_answer=self.row_is_answer,
                            n_entries=np.array(self.n_entries))

    @classmethod
    def load(cls, path: Path) -> "LexicalIndex":
        z = np.load(path)
        return cls(z["idf"].astype(np.float64), z["colptr"], z["rows"], z["vals"].astype(np.float32),
                   z["row_entry"], z["row_is_answer"], int(z["n_entries"]))

    def scores(self, text: str) -> np.ndarray:
        """Every entry's score for `text` (cosines; about 0 to 1.6)."""
        idx, w = _vector(features(text), self.idf)
        lo, hi = self.colptr[idx].astype(np.int64), self.colptr[idx + 1].astype(np.int64)
        n = hi - lo  # the query's buckets' posting lists, gathered in one go
        flat = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(n.sum())
        sim = np.bincount(self.rows[flat], weights=self.vals[flat] * np.repeat(w, n), minlength=len(self.row_entry))
        best = np.zeros(self.n_entries)
        if len(self._q_rows):
            best[self._q_entries] = np.maximum(0.0, np.maximum.reduceat(sim[self._q_rows], self._q_starts))
        best[self._a_entries] += ANSWER_SHARE * sim[self._a_rows]
        return best

    def top(self, text: str, k: int = 3) -> list[tuple[int, float]]:
        s = self.scores(text)
        order = np.argsort(-s)[:k]
        return [(int(i), float(s[i])) for i in order]
