"""Offline model v1: a retrieval-conditioned n-gram language model (a kNN-LM in miniature).

Two 4-gram models with Witten-Bell interpolated smoothing share one BPE tokenizer:
- a global model over the whole corpus (questions and answers, in chat-template form);
- a local model built per request from the answers of the corpus entries whose questions
  are nearest to the conversation (by the embedding in `embed.py`), weighted by
  similarity.
The local model's orders sit on top of the global one (it backs off to it, not to a
uniform guess), so the model answers in the words of the closest course material, while temperature, top_p and top_k still shape real
probabilities. When nothing in the corpus is close, the local model is built from the
corpus' own "I don't know that" answers, so the model says so instead of rambling.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np

from . import corpus
from .base import EngineInputError, Generation, SamplingParams, TokenCounting, require_text
from .embed import Embedder
from .sampling import decode, no_repeat
from .tokenizer import Tokenizer

ORDER = 4
GLOBAL_DISCOUNT = 0.5  # how much mass the global model keeps for shorter contexts
LOCAL_DISCOUNT = 0.1  # the local (retrieved) model copies its sources more faithfully
TOP_DOCS = 3
MIN_SIMILARITY = 0.22
DATA_DIR = Path(__file__).parent / "data" / "ngram-v1"


def _key(ctx, vocab: int) -> int:
    k = 0
    for i in ctx:
        k = k * vocab + int(i)
    return k


def count_ngrams(seqs: list[list[int]], vocab: int, order: int = ORDER) -> dict[str, np.ndarray]:
    """Count table per order n (context of n-1 tokens), stored as sorted flat arrays."""
    arrays: dict[str, np.ndarray] = {}
    for n in range(1, order + 1):
        table: dict[int, dict[int, int]] = {}
        for seq in seqs:
            for i in range(n - 1, len(seq)):
                row = table.setdefault(_key(seq[i - n + 1:i], vocab), {})
                row[seq[i]] = row.get(seq[i], 0) + 1
        keys = np.array(sorted(table), dtype=np.int64)
        starts, nexts, counts = [0], [], []
        for k in keys.tolist():
            row = table[k]
            for w in sorted(row):
                nexts.append(w)
                counts.append(row[w])
            starts.append(len(nexts))
        arrays[f"keys{n}"] = keys
        arrays[f"starts{n}"] = np.array(starts, dtype=np.int32)
        arrays[f"next{n}"] = np.array(nexts, dtype=np.int32)
        arrays[f"count{n}"] = np.array(counts, dtype=np.float32)
    return arrays


class _Table:
    """Lookup of continuation counts for a context, for one model (global or local)."""

    def __init__(self, rows: dict[int, dict[int, tuple[np.ndarray, np.ndarray]]]):
        self.rows = rows  # order -> context key -> (next ids, counts)

    @classmethod
    def from_arrays(cls, a, vocab: int, order: int = ORDER) -> "_Table":
        rows = {}
        for n in range(1, order + 1):
            keys, starts = a[f"keys{n}"].tolist(), a[f"starts{n}"]
            nxt, cnt = a[f"next{n}"], a[f"count{n}"]
            rows[n] = {k: (nxt[starts[i]:starts[i + 1]], cnt[starts[i]:starts[i + 1]]) for i, k in enumerate(keys)}
        return cls(rows)

    def probs(self, ids: list[int], base: np.ndarray, discount: float, lowest: int = 1) -> np.ndarray:
        """Interpolated smoothing from `base` up through orders lowest..ORDER: at each order
        whose context was seen, P_n = (1 - a) c(h,w)/c(h) + a P_{n-1}, with the back-off
        weight a = d T(h) / (c(h) + d T(h)) (Witten-Bell when d = 1; T(h) = distinct
        continuations)."""
        p = base
        vocab = len(base)
        for n in range(lowest, ORDER + 1):
            if n > 1 and len(ids) < n - 1:
                break
            hit = self.rows[n].get(_key(ids[len(ids) - n + 1:] if n > 1 else [], vocab))
            if hit is None:
                continue
            nxt, cnt = hit
            c, t = float(cnt.sum()), float(len(nxt))
            a = discount * t / (c + discount * t)
            p = p * a
            p[nxt] += (1 - a) * cnt / c
        return p


class NgramEngine(TokenCounting):
    name = "llmkit-ngram-v1"
    context_length = 8192

    def __init__(self, data_dir: Path = DATA_DIR):
        self.tok = Tokenizer.load(data_dir / "tokenizer.json")
        a = np.load(data_dir / "model.npz")
        self.vocab = int(a["vocab"])
        self.table = _Table.from_arrays(a, self.vocab)
        self.embedder = Embedder(a["idf"], a["basis"], a["mean"])
        self.q_emb = a["q_emb"].astype(np.float32)
        self.q_doc = a["q_doc"]
        offs = a["ans_offsets"]
        flat = a["ans_ids"]
        self.answers = [flat[offs[i]:offs[i + 1]].tolist() for i in range(len(offs) - 1)]
        self.doc_lang = a["doc_lang"]  # 0 en, 1 es
        self.fallback = np.flatnonzero(a["doc_fallback"])
        self.n_docs = len(self.answers)
        self.parameters = int(sum(a[f"count{n}"].size for n in range(1, ORDER + 1)) + a["basis"].size + a["idf"].size)
        self.files = [data_dir / "tokenizer.json", data_dir / "model.npz"]

    # -- interface -------------------------------------------------------------------
    def embed(self, texts: list[str], dimensions: int | None = None) -> np.ndarray:
        return self.embedder.embed(texts, dimensions)

    def generate(self, messages: list[dict], params: SamplingParams) -> Generation:
        require_text(messages)
        prompt = self.tok.render_chat(messages)
        if len(prompt) >= self.context_length:
            raise EngineInputError(
                f"This model's maximum context length is {self.context_length} tokens. "
                f"However, your messages resulted in {len(prompt)} tokens.",
                param="messages", code="context_length_exceeded")
        local = self._local_table(messages)
        table, uniform = self.table, np.full(self.vocab, 1.0 / self.vocab)

        def next_probs(ids: list[int]) -> np.ndarray:
            p = table.probs(ids, uniform, GLOBAL_DISCOUNT)
            return local.probs(ids, p, LOCAL_DISCOUNT, lowest=2)  # the retrieved answers sit on top

        return decode(self.tok, prompt, next_probs, params, self.context_length,
                      penalize=no_repeat(ORDER))

    # -- retrieval -------------------------------------------------------------------
    def nearest(self, text: str, k: int = TOP_DOCS) -> list[tuple[int, float]]:
        """The k corpus entries whose questions are closest to `text`, with similarity."""
        q = self.embedder.embed([text])[0]
        lang = 1 if corpus.detect_lang(text) == "es" else 0
        sims = self.q_emb @ q
        best = np.full(self.n_docs, -1.0, dtype=np.float32)
        np.maximum.at(best, self.q_doc, sims)
        best += 0.12 * (self.doc_lang == lang)  # answer in the language of the question
        top = np.argsort(-best)[:k]
        return [(int(i), float(best[i])) for i in top]

    def _query(self, messages: list[dict]) -> str:
        users = [m.get("content") or "" for m in messages if m.get("role") == "user"]
        if not users:
            users = [m.get("content") or "" for m in messages]
        q = users[-1] if users else ""
        if len(q.split()) < 4 and len(users) > 1:
            q = users[-2] + " " + q
        return q

    def _local_table(self, messages: list[dict]) -> _Table:
        return self._local_for_query(self._query(messages))

    @functools.lru_cache(maxsize=512)  # a pure function of the query: repeated questions are common
    def _local_for_query(self, query: str) -> _Table:
        hits = self.nearest(query)
        if not hits or hits[0][1] < MIN_SIMILARITY:
            lang = 1 if corpus.detect_lang(query) == "es" else 0
            pool = [int(i) for i in self.fallback if self.doc_lang[i] == lang] or self.fallback.tolist()
            hits = [(pool[0], 1.0)] if pool else hits
        sims = np.array([s for _, s in hits])
        w = np.exp((sims - sims.max()) / 0.03)
        w /= w.sum()
        start = self.tok.special["<|assistant|>"]
        rows: dict[int, dict[int, dict[int, float]]] = {n: {} for n in range(1, ORDER + 1)}
        for (doc, _), weight in zip(hits, w):
            if weight < 1e-3:
                continue
            seq = [start] + self.answers[doc] + [self.tok.end_id]
            for n in range(1, ORDER + 1):
                for i in range(max(n - 1, 1), len(seq)):
                    row = rows[n].setdefault(_key(seq[i - n + 1:i] if n > 1 else [], self.vocab), {})
                    row[seq[i]] = row.get(seq[i], 0.0) + float(weight)
        return _Table({n: {k: (np.fromiter(r.keys(), dtype=np.int64), np.fromiter(r.values(), dtype=np.float64))
                           for k, r in rows[n].items()} for n in rows})


_engine = None
_engine_lock = threading.Lock()


def get() -> NgramEngine:
    global _engine
    with _engine_lock:
        if _engine is None:
            if not (DATA_DIR / "model.npz").exists():
                raise EngineInputError(f"model files missing in {DATA_DIR}: run `python -m llmkit.engine.train`")
            _engine = NgramEngine()
        return _engine
