"""Text embeddings for the offline model: hashed TF-IDF features plus an LSA projection.

Two halves, each L2-normalised, concatenated and normalised again, so the cosine of two
embeddings is the mean of a lexical similarity (shared words and word pieces, robust to
typos and unseen words) and a latent one (words that co-occur in the course corpus, so
paraphrases score close). `dimensions=k` folds the lexical half into k - k//2 buckets
and keeps the first k//2 latent components (ordered by singular value), the way
shortened embeddings keep the most informative part.
"""

from __future__ import annotations

import re
import unicodedata
import zlib

import numpy as np

HASH_DIM = 4096
LATENT_DIM = 256
DEFAULT_DIM = 512
_WORD = re.compile(r"\w+", re.UNICODE)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def features(text: str) -> dict[int, float]:
    """Hashed feature counts: words, word bigrams, and character 3/4-grams of words."""
    words = _WORD.findall(_fold(text))
    counts: dict[int, float] = {}

    def add(key: str, w: float) -> None:
        h = zlib.crc32(key.encode()) % HASH_DIM
        counts[h] = counts.get(h, 0.0) + w

    for i, w in enumerate(words):
        add("w:" + w, 1.0)
        if i:
            add("b:" + words[i - 1] + " " + w, 0.5)
        padded = f" {w} "
        for n in (3, 4):
            for j in range(len(padded) - n + 1):
                add("c:" + padded[j:j + n], 0.25)
    return counts


def tf_matrix(texts: list[str]) -> np.ndarray:
    m = np.zeros((len(texts), HASH_DIM), dtype=np.float32)
    for i, t in enumerate(texts):
        for h, c in features(t).items():
            m[i, h] = 1.0 + np.log(c) if c >= 1 else c
    return m


def fit(texts: list[str]) -> dict[str, np.ndarray]:
    """Learn IDF weights and the latent basis from a corpus (run at training time)."""
    tf = tf_matrix(texts)
    df = (tf > 0).sum(axis=0)
    idf = np.log((1 + len(texts)) / (1 + df)).astype(np.float32) + 1.0
    x = tf * idf
    x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-9
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    k = min(LATENT_DIM, vt.shape[0])
    basis = vt[:k].T.astype(np.float32)  # HASH_DIM x k
    return {"idf": idf, "basis": basis.astype(np.float16), "mean": mean.astype(np.float32)}


class Embedder:
    def __init__(self, idf: np.ndarray, basis: np.ndarray, mean: np.ndarray):
        self.idf = idf.astype(np.float32)
        self.basis = basis.astype(np.float32)
        self.offset = mean.astype(np.float32) @ self.basis  # centre the latent half as in fit()
        self.max_dim = LATENT_DIM + min(LATENT_DIM, self.basis.shape[1])

    def embed(self, texts: list[str], dimensions: int | None = None) -> np.ndarray:
        k = dimensions or DEFAULT_DIM
        if not 1 <= k <= self.max_dim:
            raise ValueError(f"dimensions must be between 1 and {self.max_dim}, got {k}")
        x = tf_matrix(texts) * self.idf
        x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-9
        n_lat = min(k // 2, self.basis.shape[1])
        n_lex = k - n_lat
        lex = np.zeros((len(texts), n_lex), dtype=np.float32)
        idx = np.arange(HASH_DIM) % n_lex
        for i in range(len(texts)):
            lex[i] = np.bincount(idx, weights=x[i], minlength=n_lex)
        lex /= np.linalg.norm(lex, axis=1, keepdims=True) + 1e-9
        parts = [lex]
        if n_lat:
            lat = x @ self.basis[:, :n_lat] - self.offset[:n_lat]
            lat /= np.linalg.norm(lat, axis=1, keepdims=True) + 1e-9
            parts.append(lat)
        out = np.concatenate(parts, axis=1)
        out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-9
        return out.astype(np.float32)
