"""Lexical retrieval over the corpus: which answers were written for questions like this one.

The offline model v2 uses it for retrieval-augmented decoding (see `transformer.py`). Texts
become hashed TF-IDF vectors over words, word pairs and character 3-5-grams (character
n-grams survive typos, plurals and Spanish accents), and an entry scores by its best-matching
phrasing plus a share of its answer's similarity. Built at training time from the corpus'
training phrasings (never the held-out ones) and shipped as one compressed npz (about 5 MB
for v3's corpus, packed: see `save`); a query takes about a millisecond.

The latent half (LSA): shared words and pieces miss a paraphrase asked with other words ("catch
an error" for an entry asked as "handle exceptions"). Each entry's phrasings and answer together
make one document; a truncated SVD of those documents' word TF-IDF (`LATENT_BUCKETS` hashed words,
`LATENT_DIM` components) puts words that the same entries use close together, and an entry's
score gains `LATENT_SHARE` x the cosine of the question and the entry in that space. It only
reorders what shared words found (`top`'s `min_lexical`): close in that space is not the same
question ("the population of Lagos" is near "the population of a country"). Indexes built before
it have no latent arrays and score as before. On a leave-one-phrasing-out dev set of training
phrasings (bench/retrieval_dev.py) it raises top-1 from 0.48 to 0.57 and top-3 from 0.75 to 0.84.

An index built by `guide.build` also holds an entry classifier (engine/classifier.py) learned from
all of each entry's phrasings; its probability joins the ranking (`CLASSIFIER_SHARE`).
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
ANSWER_FEATURES = 200  # an answer row keeps its heaviest features (the tail of a long answer weighs little)
LATENT_BUCKETS = 1 << 13  # hashed words the latent half reads
LATENT_DIM = 128  # its components (an entry's phrasings and answer make one document)
LATENT_SHARE = 1.0  # an entry's score also gains this x the latent cosine of question and entry
CLASSIFIER_SHARE = 0.5  # and this x the classifier's probability of the entry (engine/classifier.py)
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


def word_features(text: str) -> Counter:
    """Hashed word counts: what the latent half reads (pieces of words carry no topic)."""
    return Counter(zlib.crc32(w.encode()) % LATENT_BUCKETS for w in _WORD.findall(_fold(text)))


def fit_latent(documents: list[str]) -> dict[str, np.ndarray]:
    """LSA of the entries' documents: word IDF, the basis (buckets x components) and each entry's
    unit vector in the latent space (its row of U x S)."""
    x = np.zeros((len(documents), LATENT_BUCKETS), dtype=np.float32)
    counts = [word_features(t) for t in documents]
    df = np.zeros(LATENT_BUCKETS)
    for c in counts:
        df[list(c)] += 1
    idf = np.log((len(documents) + 1) / (df + 0.5)).astype(np.float32)
    for i, c in enumerate(counts):
        idx = np.fromiter(c.keys(), dtype=np.int64, count=len(c))
        x[i, idx] = (1.0 + np.log(np.fromiter(c.values(), dtype=np.float32, count=len(c)))) * idf[idx]
    x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-9
    # the SVD through the documents' Gram matrix (documents are fewer than buckets: 5x faster);
    # eigenvectors' signs are arbitrary but shared by the basis and the entries, which is all that counts
    lam, u = np.linalg.eigh((x @ x.T).astype(np.float64))
    k = min(LATENT_DIM, len(lam))
    top = np.argsort(-lam, kind="stable")[:k]
    s = np.sqrt(np.maximum(lam[top], 1e-12))
    entries = u[:, top] * s  # U x S
    basis = (x.T.astype(np.float64) @ u[:, top]) / s  # V = X^T U / S
    entries /= np.linalg.norm(entries, axis=1, keepdims=True) + 1e-9
    return {"latent_idf": idf, "latent_basis": basis.astype(np.float32), "latent_entries": entries.astype(np.float32)}


def _vector(counts: Counter, idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
    w = tf * idf[idx]
    n = np.linalg.norm(w)
    return idx, (w / n if n > 0 else w)


class LexicalIndex:
    """An inverted index (bucket -> rows, weights) over phrasing rows and answer rows."""

    def __init__(self, idf, colptr, rows, vals, row_entry, row_is_answer, n_entries, latent=None, levels=None,
                 classifier=None):
        self.idf, self.colptr, self.rows = idf, colptr, rows
        self.classifier = classifier  # a trained `classifier.Classifier` (guide.build), or None
        # weights kept as given, or (a loaded packed index) as 8-bit codes into `levels`: 1 byte a
        # posting instead of 4, the same numbers read (`_weights`)
        self._vals, self.levels = vals, levels
        self.latent = latent  # fit_latent()'s arrays as float32, or None (an index built before them)
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

    @property
    def vals(self) -> np.ndarray:
        """Every posting's weight."""
        return self._vals if self.levels is None else self.levels[self._vals]

    def _weights(self, at: np.ndarray) -> np.ndarray:
        return self._vals[at] if self.levels is None else self.levels[self._vals[at]]

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
            if r >= len(questions) and len(idx) > ANSWER_FEATURES:  # an answer: its heaviest features
                keep = np.sort(np.argsort(-w, kind="stable")[:ANSWER_FEATURES])
                idx, w = idx[keep], w[keep]
            cols.append(idx)
            rws.append(np.full(len(idx), r, dtype=np.int32))
            vls.append(w)
        cols, rws, vls = np.concatenate(cols), np.concatenate(rws), np.concatenate(vls)
        order = np.lexsort((rws, cols))
        colptr = np.searchsorted(cols[order], np.arange(BUCKETS + 1)).astype(np.int32)
        row_entry = np.array([e for e, _ in questions] + list(range(len(answers))), dtype=np.int32)
        is_answer = np.r_[np.zeros(len(questions), bool), np.ones(len(answers), bool)]
        phrasings: list[list[str]] = [[] for _ in answers]
        for e, q in questions:
            phrasings[e].append(q)
        latent = fit_latent([" ".join(p + [a]) for p, a in zip(phrasings, answers)])
        return cls(idf.astype(np.float32), colptr, rws[order].astype(np.uint16), vls[order].astype(np.float16),
                   row_entry, is_answer, len(answers), latent)

    def save(self, path: Path) -> None:
        """With the latent half, packed to a third of the size: each posting list's rows as gaps
        (small numbers compress), weights as 8-bit logarithms (1% apart), the latent basis as 8 bits
        per component scale; without it (indexes built before), the plain arrays."""
        if self.latent is None:
            np.savez_compressed(path, idf=self.idf, colptr=self.colptr, rows=self.rows, vals=self.vals,
                                row_entry=self.row_entry, row_is_answer=self.row_is_answer,
                                n_entries=np.array(self.n_entries))
            return
        rows = self.rows.astype(np.int64)
        gaps = np.diff(rows, prepend=0)
        firsts = self.colptr[:-1][np.diff(self.colptr) > 0]
        gaps[firsts] = rows[firsts]
        logs = np.log(self.vals.astype(np.float64))
        lo, hi = float(logs.min()), float(logs.max())
        basis = self._basis(np.arange(self.latent["latent_idf"].shape[0]))
        scale = np.abs(basis).max(axis=0) / 127 + 1e-12
        np.savez_compressed(path, idf=self.idf.astype(np.float16), col_counts=np.diff(self.colptr).astype(np.uint16),
                            row_gaps=gaps.astype(np.uint16), vals_range=np.array([lo, hi]),
                            vals_log=np.round((logs - lo) / (hi - lo) * 255).astype(np.uint8),
                            row_entry=self.row_entry, row_is_answer=self.row_is_answer,
                            n_entries=np.array(self.n_entries), latent_idf=self.latent["latent_idf"],
                            latent_basis_q=np.round(basis / scale).astype(np.int8),
                            latent_basis_scale=scale.astype(np.float32),
                            latent_entries=self.latent["latent_entries"].astype(np.float16),
                            **(self.classifier.arrays if self.classifier is not None else {}))

    @classmethod
    def load(cls, path: Path) -> "LexicalIndex":
        z = np.load(path)
        if "row_gaps" not in z.files:
            return cls(z["idf"].astype(np.float64), z["colptr"], z["rows"], z["vals"].astype(np.float32),
                       z["row_entry"], z["row_is_answer"], int(z["n_entries"]))
        # unpacked with few full-size temporaries: the heap a load grows stays the process's (an
        # earlier version of this left ~26 MB of it behind in every process that loads the model)
        counts = z["col_counts"].astype(np.int64)
        colptr = np.r_[0, np.cumsum(counts)]
        gaps = z["row_gaps"].astype(np.int64)
        firsts = colptr[:-1][counts > 0]
        rows = np.cumsum(gaps)
        base = np.zeros_like(gaps)  # undo the gaps: a running sum restarted at every posting list
        base[firsts] = rows[firsts] - gaps[firsts]
        del gaps
        rows -= np.maximum.accumulate(base, out=base)
        del base
        lo, hi = z["vals_range"]
        levels = np.exp(lo + np.arange(256, dtype=np.float64) / 255 * (hi - lo)).astype(np.float32)
        # each of the 256 levels computed once, as it was for every value; the postings keep their codes,
        # the rows their 16 bits where they fit, the idf its 16 (read as float64, the same numbers)
        latent = {"latent_idf": z["latent_idf"].astype(np.float32),
                  "latent_basis_q": z["latent_basis_q"], "latent_basis_scale": z["latent_basis_scale"],
                  "latent_entries": z["latent_entries"].astype(np.float32)}
        rows = rows.astype(np.uint16 if len(z["row_entry"]) <= 1 << 16 else np.int32)
        clf = None
        if "clf_out" in z.files:
            from .classifier import Classifier

            clf = Classifier({k: z[k] for k in Classifier.KEYS})
        return cls(z["idf"], colptr.astype(np.int32), rows, z["vals_log"], z["row_entry"], z["row_is_answer"],
                   int(z["n_entries"]), latent, levels=levels, classifier=clf)

    def scores(self, text: str) -> np.ndarray:
        """Every entry's score for `text`: the lexical one plus the latent one (see `top`)."""
        lexical = self.lexical_scores(text)
        if self.latent is None:
            return lexical
        return lexical + LATENT_SHARE * np.maximum(0.0, self.latent_cosines(text))

    def lexical_scores(self, text: str) -> np.ndarray:
        """Every entry's lexical score for `text` (cosines; about 0 to 1.6)."""
        idx, w = _vector(features(text), self.idf)
        lo, hi = self.colptr[idx].astype(np.int64), self.colptr[idx + 1].astype(np.int64)
        n = hi - lo  # the query's buckets' posting lists, gathered in one go
        flat = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(n.sum())
        sim = np.bincount(self.rows[flat], weights=self._weights(flat) * np.repeat(w, n), minlength=len(self.row_entry))
        best = np.zeros(self.n_entries)
        if len(self._q_rows):
            best[self._q_entries] = np.maximum(0.0, np.maximum.reduceat(sim[self._q_rows], self._q_starts))
        best[self._a_entries] += ANSWER_SHARE * sim[self._a_rows]
        return best

    def latent_cosines(self, text: str) -> np.ndarray:
        """Every entry's cosine with `text` in the latent space (0 for a text of unknown words)."""
        c = word_features(text)
        idx = np.fromiter(c.keys(), dtype=np.int64, count=len(c))
        x = (1.0 + np.log(np.fromiter(c.values(), dtype=np.float32, count=len(c)))) * self.latent["latent_idf"][idx]
        z = x @ self._basis(idx)
        n = np.linalg.norm(z)
        return self.latent["latent_entries"] @ (z / n) if n > 0 else np.zeros(self.n_entries, dtype=np.float32)

    def _basis(self, idx: np.ndarray) -> np.ndarray:
        """The latent basis' rows `idx`; a loaded index keeps its 8-bit components and scales
        (a quarter of the memory) and scales only the rows a text uses (the same numbers)."""
        if "latent_basis" in self.latent:
            return self.latent["latent_basis"][idx]
        return self.latent["latent_basis_q"][idx].astype(np.float32) * self.latent["latent_basis_scale"]

    def top(self, text: str, k: int = 3, min_lexical: float = 0.0,
            among: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The `k` best entries (by `scores`) and their lexical scores, among those whose lexical
        score reaches `min_lexical`: the latent half reorders what shared words found, it finds
        nothing alone (a question about Lagos' population is close to "the population of a country"
        in it), and the score it hands on is the one words earned (an exact phrasing stays far
        ahead of its neighbours: "What is Docker?" is not "What is Docker Compose?"). `among`: a mask
        of the entries that may be returned (one language's)."""
        lexical = self.lexical_scores(text)
        s = lexical if self.latent is None else lexical + LATENT_SHARE * np.maximum(0.0, self.latent_cosines(text))
        if self.classifier is not None:
            s = s + CLASSIFIER_SHARE * self.classifier.probs(text)
        s = np.where(lexical >= min_lexical, s, -1.0)
        if among is not None:
            s = np.where(among, s, -1.0)
        order = np.argsort(-s, kind="stable")[:k]
        return [(int(i), float(lexical[i])) for i in order if s[i] >= 0]
