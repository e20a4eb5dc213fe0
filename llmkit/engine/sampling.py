"""Sampling and the decode loop shared by every offline engine.

An engine only supplies `next_probs(ids) -> probability vector`; this module turns that
into tokens with the parameters' real meaning: temperature (0 = greedy), top_k, top_p
(nucleus), seed, stop strings (cut before them, finish reason "stop"), max_tokens
(finish reason "length"), JSON mode, and per-token log-probabilities.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from typing import Callable, Iterator

import numpy as np

from .base import Generation, SamplingParams, Token
from .tokenizer import StreamDecoder, Tokenizer

_occurrences: dict[bytes, int] = {}
_occ_lock = threading.Lock()


def rng_for(params: SamplingParams, prompt_ids: list[int], base_seed: int = 0) -> np.random.Generator:
    """A seed gives the same sample every time. Without one, the n-th identical request in
    a process gets the n-th draw of a sequence fixed by the prompt, so repeated calls
    differ (as with real models) yet a fresh process replays the same outputs."""
    if params.seed is not None:
        return np.random.default_rng(abs(int(params.seed)))
    digest = hashlib.blake2b(np.asarray(prompt_ids, dtype=np.int64).tobytes(), digest_size=8).digest()
    with _occ_lock:
        n = _occurrences.get(digest, 0)
        _occurrences[digest] = n + 1
    return np.random.default_rng([base_seed, int.from_bytes(digest, "little"), n])


def choose(probs: np.ndarray, params: SamplingParams, rng: np.random.Generator) -> int:
    """Pick the next token id from the model's distribution under the sampling params."""
    if params.temperature <= 0:
        return int(np.argmax(probs))
    logits = np.log(np.maximum(probs, 1e-12)) / params.temperature
    if params.top_k and params.top_k > 0 and params.top_k < len(logits):
        kth = np.partition(logits, -params.top_k)[-params.top_k]
        logits = np.where(logits >= kth, logits, -np.inf)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    if params.top_p < 1.0:
        order = np.argsort(-p)
        cum = np.cumsum(p[order])
        keep = order[: int(np.searchsorted(cum, params.top_p) + 1)]
        mask = np.zeros_like(p)
        mask[keep] = p[keep]
        p = mask / mask.sum()
    return int(rng.choice(len(p), p=p))


class StopScanner:
    """Holds back text that may be the start of a stop string; reports when one appears."""

    def __init__(self, stops: list[str]):
        self.stops = [s for s in stops if s]
        self.pending = ""
        self.hit: str | None = None

    def feed(self, text: str) -> str:
        if not self.stops:
            return text
        self.pending += text
        cut = None
        for s in self.stops:
            i = self.pending.find(s)
            if i >= 0 and (cut is None or i < cut[0]):
                cut = (i, s)
        if cut:
            self.hit = cut[1]
            out, self.pending = self.pending[: cut[0]], ""
            return out
        hold = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(self.pending)), 0, -1):
                if self.pending.endswith(s[:k]):
                    hold = max(hold, k)
                    break
        out = self.pending[: len(self.pending) - hold]
        self.pending = self.pending[len(out):]
        return out

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out


def decode(
    tok: Tokenizer,
    prompt_ids: list[int],
    next_probs: Callable[[list[int]], np.ndarray],
    params: SamplingParams,
    context_length: int,
    base_seed: int = 0,
    penalize: Callable[[np.ndarray, list[int]], np.ndarray] | None = None,
) -> Generation:
    """Run the decode loop lazily: tokens are produced as the Generation is iterated."""
    rng = rng_for(params, prompt_ids, base_seed)
    gen = Generation(iter(()), prompt_tokens=len(prompt_ids))
    room = context_length - len(prompt_ids)
    limit = room if params.max_tokens is None else min(params.max_tokens, room)

    def tokens() -> Iterator[Token]:
        ids = list(prompt_ids)
        out: list[int] = []
        dec = StreamDecoder(tok)
        stop = StopScanner(params.stop)
        wrap = params.json_mode
        if wrap:
            yield _extra(gen, tok, '{"answer": "')
        reason = "length"
        never = [i for s, i in tok.special.items() if i != tok.end_id]  # role markers, padding
        for _ in itertools.repeat(None, max(limit, 0)):
            probs = next_probs(ids).copy()
            probs[never] = 0.0
            probs /= probs.sum()
            if penalize is not None:
                probs = penalize(probs, out)
            if params.repeat_penalty and params.repeat_penalty != 1.0 and out:
                recent = np.unique(out[-64:])
                probs = probs.copy()
                probs[recent] /= params.repeat_penalty
                probs /= probs.sum()
            nid = choose(probs, params, rng)
            if nid == tok.end_id:
                reason = "stop"
                break
            ids.append(nid)
            out.append(nid)
            gen.completion_tokens += 1
            delta = dec.push(nid)
            if wrap:
                delta = json.dumps(delta)[1:-1]
            text = stop.feed(delta)
            lp = top = None
            if params.logprobs is not None:
                lp = float(np.log(max(probs[nid], 1e-12)))
                if params.logprobs > 0:
                    best = np.argsort(-probs)[: params.logprobs]
                    top = [(tok.decode([int(b)]), float(np.log(max(probs[b], 1e-12)))) for b in best]
            if stop.hit is not None:
                if text:
                    yield Token(text, nid, lp, top)
                gen.stop_sequence = stop.hit
                reason = "stop"
                break
            if text:
                yield Token(text, nid, lp, top)
        rest = stop.flush()
        if rest:
            yield Token(rest, -1)
        if wrap and reason == "stop":
            yield _extra(gen, tok, '"}')
        gen.finish_reason = reason

    gen._tokens = tokens()
    return gen


def _extra(gen: Generation, tok: Tokenizer, text: str) -> Token:
    """Text the decode loop adds itself (JSON framing): counted in usage like any output."""
    gen.completion_tokens += len(tok.encode(text))
    return Token(text, -1)


def no_repeat(n: int):
    """Block a token that would repeat an n-gram already generated (no degenerate loops)."""
    seen: dict[tuple, set] = {}

    def penalize(probs: np.ndarray, out: list[int]) -> np.ndarray:
        if len(out) >= n:
            seen.setdefault(tuple(out[-n:-1]), set()).add(out[-1])
        banned = seen.get(tuple(out[-(n - 1):])) if len(out) >= n - 1 else None
        if banned:
            probs = probs.copy()
            probs[list(banned)] = 0.0
            s = probs.sum()
            if s <= 0:
                return probs  # everything banned: let the caller's argmax pick something
            probs /= s
        return probs

    return penalize
