"""Retrieval-augmented decoding for the offline model v2 (kNN-LM style, like v1's).

A 6M-parameter network trained for an hour on CPU writes fluent course answers but often
picks the wrong one for a question phrased in a way it never saw. Retrieval fixes that
the way production systems do (RAG), without touching the network:

1. retrieve: the `LEXICAL_TOP` corpus entries whose phrasings best match the question
   (`lexical.py`, training phrasings only; nothing when no score reaches `MIN_SCORE`);
2. rerank: the network scores each candidate answer's first `RERANK_TOKENS` tokens
   (log-likelihood after the real prompt, from a fork of the prompt's KV cache); the
   candidates' weights are softmax(lexical score / `LEXICAL_TEMPERATURE` + log-likelihood);
3. decode: every step's distribution is (1 - lambda) x the network's + lambda x a copy
   distribution that continues the weighted candidate answers where the generated text
   matches them (lambda = `MIX`, scaled by the weight of the candidates that match).

The network still writes every token, sampling parameters keep their meaning (they act on
the mixed distribution, which is also what `logprobs` report), and with retrieval off
(`TransformerEngine(retrieval=False)`, LLMKIT_V2_RETRIEVAL=0) the engine is the bare
network that the Hugging Face export reproduces.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .lexical import LexicalIndex

LEXICAL_TOP = 3
MIN_SCORE = 0.25
LEXICAL_TEMPERATURE = 0.1
RERANK_TOKENS = 8
MIX = 0.6
MATCH_MAX = 6  # longest generated suffix looked up in a candidate answer


class Guide:
    """The retrieval index plus every entry's answer as token ids."""

    def __init__(self, index: LexicalIndex, answers: list[list[int]], end_id: int, vocab: int):
        self.index, self.answers, self.end_id, self.vocab = index, [tuple(a) for a in answers], end_id, vocab

    @classmethod
    def load(cls, path: Path, tok) -> "Guide":
        index = LexicalIndex.load(path)
        texts = json.loads(bytes(np.load(path)["answers"]).decode())
        return cls(index, [tok.encode(t) for t in texts], tok.end_id, tok.vocab_size)

    @staticmethod
    def save(path: Path, index: LexicalIndex, answers: list[str]) -> None:
        index.save(path)
        z = dict(np.load(path))
        z["answers"] = np.frombuffer(json.dumps(answers, ensure_ascii=False).encode(), dtype=np.uint8)
        np.savez_compressed(path, **z)

    def candidates(self, query: str | list[str]) -> list[tuple[int, float]]:
        """The best entries for the query (for several queries: the one matching best)."""
        tops = [self.index.top(q, LEXICAL_TOP) for q in ([query] if isinstance(query, str) else query)]
        best = max(tops, key=lambda t: t[0][1] if t else -1.0, default=[])
        return [(e, s) for e, s in best if s >= MIN_SCORE]

    def weigh(self, cands: list[tuple[int, float]], first_logp: np.ndarray, score_rest) -> list[tuple[int, float]]:
        """Candidates' weights: lexical score and the network's log-likelihood of each answer's
        first tokens (`first_logp`: log-probs after the prompt; `score_rest(seqs)`: for each
        sequence, the log-prob of s[1:] given the prompt and s[0])."""
        firsts = [list(self.answers[e][:RERANK_TOKENS]) for e, _ in cands]
        rest = score_rest([a for a in firsts if len(a) > 1])
        rest = iter(rest)
        logits = []
        for (e, s), a in zip(cands, firsts):
            ll = float(first_logp[a[0]]) + (next(rest) if len(a) > 1 else 0.0)
            logits.append(s / LEXICAL_TEMPERATURE + ll)
        z = np.exp(np.array(logits) - max(logits))
        z /= z.sum()
        return [(e, float(p)) for (e, _), p in zip(cands, z)]

    def copy_probs(self, weights: list[tuple[int, float]], out: list[int]) -> tuple[np.ndarray, float] | None:
        """Where the candidates' answers say the text goes next, and the weight that says so."""
        p = np.zeros(self.vocab)
        mass = 0.0
        n = len(out)
        for e, w in weights:
            a = self.answers[e]
            if tuple(out) == a[:n]:  # following this answer exactly
                p[a[n] if n < len(a) else self.end_id] += w
                mass += w
                continue
            nxt = self._continuations(a, out)
            if nxt:
                for t in nxt:
                    p[t] += 0.5 * w / len(nxt)
                mass += 0.5 * w
        if mass <= 0:
            return None
        return p / p.sum(), mass

    def _continuations(self, a: tuple, out: list[int]) -> list[int]:
        for k in range(min(MATCH_MAX, len(out)), 1, -1):
            tail = tuple(out[-k:])
            nxt = [a[j + k] if j + k < len(a) else self.end_id
                   for j in range(len(a) - k + 1) if a[j:j + k] == tail]
            if nxt:
                return nxt
        return []

    @staticmethod
    def mix(p_lm: np.ndarray, copy: tuple[np.ndarray, float] | None) -> np.ndarray:
        if copy is None:
            return p_lm
        p_copy, mass = copy
        lam = MIX * min(mass, 1.0)
        return (1.0 - lam) * p_lm + lam * p_copy


def build(out_dir: Path) -> dict:
    """Write `retrieval.npz` for the current corpus (training phrasings only) into `out_dir`."""
    from . import corpus

    answers: list[str] = []
    entry: dict[str, int] = {}
    questions = []
    for d in corpus.load():
        e = entry.setdefault(d.answer, len(answers))
        if e == len(answers):
            answers.append(d.answer)
        questions += [(e, q) for q in d.questions]
    path = Path(out_dir) / "retrieval.npz"
    Guide.save(path, LexicalIndex.build(questions, answers), answers)
    return {"entries": len(answers), "phrasings": len(questions), "bytes": path.stat().st_size}


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="build the v2 retrieval index from the corpus")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "transformer-v2")
    print(build(ap.parse_args().out))
