"""Sampling and the decode loop shared by every offline engine.

An engine only supplies `next_probs(ids) -> probability vector`; this module turns that
into tokens with the parameters' real meaning: temperature (0 = greedy), top_k, min_p, top_p
(nucleus), seed, stop strings (cut before them, finish reason "stop"), max_tokens
(finish reason "length"), JSON mode, and per-token log-probabilities.

Structured outputs (`params.json_schema`, `params.json_object`) mask each step's distribution
with the grammar (`constrain.py`) right after the model (and retrieval) speak and before the
repetition blocks and the sampling parameters act: disallowed tokens get probability 0, the
rest are renormalised, and the end token is allowed only where the text is a complete instance.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
from typing import Callable, Iterator

import numpy as np

from . import constrain, copying, follow, tools
from .base import EngineInputError, Generation, SamplingParams, Token
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
    if params.temperature == 1 and not (params.top_k and 0 < params.top_k < len(probs)) and params.top_p >= 1.0:
        # the model's own odds (the APIs' default temperature): what the steps below compute, without
        # taking logarithms and exponentials of the whole vocabulary (a third of a token's sampling)
        if params.min_p:
            probs = np.where(probs < params.min_p * np.maximum.reduce(probs), 0.0, probs)
        return draw(probs, rng)
    logits = np.log(np.maximum(probs, 1e-12)) / params.temperature
    logits[probs <= 0] = -np.inf  # impossible stays impossible at any temperature (masks, blocked tokens)
    if params.top_k and params.top_k > 0 and params.top_k < len(logits):
        kth = np.partition(logits, -params.top_k)[-params.top_k]
        logits = np.where(logits >= kth, logits, -np.inf)
    p = np.exp(logits - logits.max())  # the likeliest token has 1 here
    if params.min_p:
        p[p < params.min_p] = 0.0
    p /= p.sum()
    if params.top_p < 1.0:
        order = np.argsort(-p)
        cum = np.cumsum(p[order])
        keep = order[: int(np.searchsorted(cum, params.top_p) + 1)]
        mask = np.zeros_like(p)
        mask[keep] = p[keep]
        p = mask / mask.sum()
    return draw(p, rng)


_BLOCK = 64  # draw's first level: blocks of this many tokens


def draw(p: np.ndarray, rng: np.random.Generator) -> int:
    """An index drawn with probabilities `p` (any non-negative weights): what
    `rng.choice(len(p), p=p)` returns from the same one uniform number, up to rounding at a
    boundary between two tokens. The cumulative sums are taken in two levels (blocks of 64, then
    within the chosen block): numpy's cumulative sum of 4,096 numbers is one long chain of
    additions, 13 us a token; this is about 5."""
    n = len(p)
    if n % _BLOCK:
        p = np.concatenate([p, np.zeros(_BLOCK - n % _BLOCK, dtype=p.dtype)])
    p = p.astype(np.float64, copy=False)
    acc = np.add.accumulate  # np.cumsum's own loop, without its Python wrapper (as add.reduce for .sum)
    blocks = acc(np.add.reduce(p.reshape(-1, _BLOCK), axis=1))
    total = blocks[-1]
    if not total > 0:
        raise ValueError("probabilities are not a distribution (all zero or NaN)")
    u = rng.random() * total
    j = min(int(blocks.searchsorted(u, side="right")), len(blocks) - 1)
    while not blocks[j] > (blocks[j - 1] if j else 0.0):  # rounding put u at the end: the last block with weight
        j -= 1
    inner = acc(p[j * _BLOCK:(j + 1) * _BLOCK])
    inner += blocks[j - 1] if j else 0.0
    i = int(inner.searchsorted(u, side="right"))
    if i >= _BLOCK:  # u past the block's own sum (the two sums round apart): its last token with weight
        i = int(np.flatnonzero(p[j * _BLOCK:(j + 1) * _BLOCK])[-1])
    return j * _BLOCK + i


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
    answer_probs: Callable[[list[int]], np.ndarray] | None = None,
    copier: Callable[..., np.ndarray] | None = None,
) -> Generation:
    """Run the decode loop lazily: tokens are produced as the Generation is iterated.

    The loop itself yields a `Need` where it wants the network (`gen.steps`); iterating the
    Generation answers those with `next_probs` / `answer_probs`, a scheduler answers them in batches.
    Under a JSON grammar, `answer_probs` (a second `next_probs` with its own state) lets the
    network write each string value as it writes a plain answer: it reads the prompt followed by
    the value so far (not the JSON around it, a format a small model has rarely seen), and its
    wish to end the answer closes the string. Tokens the grammar forces (the only one allowed)
    are taken without a network step; everything else is sampled from the network's masked
    distribution."""
    try:
        grammar = constrain.for_params(params)
    except ValueError as e:
        raise EngineInputError(f"Invalid JSON schema: {e}", param="json_schema", code="invalid_json_schema") from None
    matcher = grammar.matcher(tok) if grammar is not None else None
    # tool calling (engine/tools.py): the first token decides (or the grammar from the start for
    # "required" / a named tool); a JSON schema of the reply, when asked for too, wins
    calls = tools.CallWriter.for_params(params, tok) if grammar is None else None
    if calls is not None:
        matcher = calls.matcher()
    rng = rng_for(params, prompt_ids, base_seed)
    gen = Generation(iter(()), prompt_tokens=len(prompt_ids))
    room = context_length - len(prompt_ids)
    limit = room if params.max_tokens is None else min(params.max_tokens, room)

    never = [i for s, i in tok.special.items() if i != tok.end_id]  # role markers, padding

    def plain_answer():
        """The model's plain answer to the prompt, greedy, from the answer view (a few dozen steps)."""
        got: list[int] = []
        for _ in range(PLAIN_TOKENS):
            probs = (yield Need(1, list(prompt_ids) + got)).copy()
            probs[never] = 0.0
            nid = int(np.argmax(probs))
            if nid == tok.end_id:
                break
            got.append(nid)
        return tok.decode(got)

    def tokens() -> Iterator[Token]:
        nonlocal matcher  # a call begun by the first token brings its grammar
        ids = list(prompt_ids)
        out: list[int] = []
        dec = StreamDecoder(tok)
        stop = StopScanner(params.stop)
        wrap = params.json_mode and matcher is None
        if wrap:
            yield _extra(gen, tok, '{"answer": "')
        reason = "length"
        lt, marker, lt_slash, closing = tools.marker_rest(tok)  # a text reply writes no call marker
        cursor = constrain.JsonCursor() if matcher is not None and calls is None else None
        counter = follow.SentenceCounter(params.sentences) if params.sentences and matcher is None else None
        value: list[int] | None = None  # the string value being written, as the answer view's tokens
        tail = ""  # the reply's last characters (a number's digits so far)
        numbers = None  # a JSON number's value: copied from the plain answer (`plain_number`)
        copied = False  # the string value being written is copied from the user's data, not the plain answer
        for _ in itertools.repeat(None, max(limit, 0)):
            allowed = forced = None
            if matcher is not None:
                forced = matcher.forced()
                if forced is None:
                    allowed = matcher.allowed()
                    only = np.flatnonzero(allowed)
                    forced = int(only[0]) if len(only) == 1 else None
            if forced is not None:  # the grammar's choice, not the network's: probability 1
                probs = np.zeros(tok.vocab_size)
                probs[forced] = 1.0
            else:
                in_value = value is not None and answer_probs is not None and not copied
                if (numbers is None and answer_probs is not None and copier is None and cursor is not None
                        and cursor.value_starts
                        and not cursor.in_string and allowed is not None
                        and allowed[constrain.led_by(tok, constrain.DIGITS)].any()
                        and not allowed[constrain.led_by(tok, constrain.QUOTE)].any()):  # a number's place, not a string's
                    # a number may begin: the model's plain answer says which (it is written once, greedily)
                    said = yield from plain_answer()
                    number = plain_number(said)
                    numbers = copying.Copier(tok, [number], json_reply=True) if number else False
                if in_value:
                    probs = constrain.end_as_closing_quote((yield Need(1, list(prompt_ids) + value)), allowed, tok)
                else:
                    probs = (yield Need(0, ids)).copy()
                probs[never] = 0.0
                if out and (calls is None or not (calls.active or calls.deciding)):  # text: no marker
                    last = out[-1]
                    after_slash = last in lt_slash and (tok.decode([last]) != "/" or (len(out) > 1 and out[-2] in lt))
                    ban = marker if last in lt else closing if after_slash else None
                    if ban is not None and probs[ban].sum() < probs.sum():
                        probs[ban] = 0.0
                probs /= np.add.reduce(probs)  # .sum() without its Python wrapper: once a token
                if allowed is not None:
                    probs = constrain.mask_probs(probs, allowed)
                    if cursor is not None and not cursor.in_string and _digits_at_end(tail) >= MAX_DIGITS:
                        probs = constrain.without(probs, tok, constrain.DIGITS)  # a number has its digits: it ends
                    # a list closes when it has its items, or in extraction when the user's data has no phrase
                    # left for another item (it would be the plain answer, "I don't know that", as a participant)
                    wanted = (copier.items_wanted(out) if cursor is not None and cursor.stack and cursor.stack[-1] == "["
                              and copier is not None and copier.json_reply else None)
                    if wanted is not None:  # as many items as the pattern of the user's data gives (extraction.py)
                        at = cursor.commas[-1] + 1  # the item being written (or just written)
                        if cursor.in_string:  # its closing quote may come fused with what follows: `"]`, `",`
                            ban = copying.quote_then(tok, "," if at >= wanted else "]")
                        else:
                            ban = constrain.led_by(tok, constrain.COMMA if at >= wanted else constrain.CLOSE)
                        if (probs[~ban] > 0).any():
                            probs = np.where(ban, 0.0, probs)
                            probs /= probs.sum()
                    elif cursor is not None and not cursor.in_string and cursor.array_items and (
                            cursor.array_items >= MAX_ITEMS or (copier is not None and copier.json_reply
                                                                and not copier.starts(out, tok.decode(out[-16:])))):
                        probs = constrain.without(probs, tok, constrain.COMMA)
                if calls is not None and calls.deciding:  # call or text: the network's own odds
                    probs = calls.first_step(probs)
                elif copier is not None and not in_value:  # arguments, and answers after a result (copying.py)
                    probs = copier(probs, out, tok.decode(out[-16:]), calls is not None and calls.active,
                                   value_start=cursor.value_starts if cursor is not None else None)
                elif numbers and not in_value and not cursor.in_string:  # a number value: the plain answer's
                    probs = numbers(probs, out, tok.decode(out[-16:]), value_start=cursor.value_starts)
                if calls is not None and calls.active and copier is not None:  # one call per item the user listed
                    probs = calls.another(probs, copier.lists)
                if calls is not None and calls.active and calls.priors:  # which tool: the training data's too
                    probs = calls.name_step(probs)
                # repetition blocks look at the whole reply: not inside a value written as an answer
                # (two fields may rightly say the same), and never against the grammar
                # (nor in tool calls: each call repeats the one before it but for its values, and a third call
                # had its `"location": "` quote banned, leaving `""`)
                if penalize is not None and not in_value and not (calls is not None and calls.active):
                    blocked = penalize(probs, out)
                    probs = blocked if allowed is None or blocked.sum() > 0 else probs
                if params.repeat_penalty and params.repeat_penalty != 1.0 and out:
                    recent = np.unique(out[-64:])
                    probs = probs.copy()
                    probs[recent] /= params.repeat_penalty
                    probs /= probs.sum()
            nid = forced if forced is not None else choose(probs, params, rng)
            if nid == tok.end_id:
                reason = "stop"
                break
            if calls is not None and calls.deciding:
                matcher = calls.decide(nid) or matcher
            ids.append(nid)
            out.append(nid)
            gen.completion_tokens += 1
            if matcher is not None:
                matcher.advance(nid)
            if calls is not None and calls.active:  # a call's tokens: its name, then its arguments JSON
                lp = float(np.log(max(probs[nid], 1e-12))) if params.logprobs is not None else None
                yield from calls.feed(nid, lp)
                continue
            delta = dec.push(nid)
            if counter is not None and counter.feed(delta):  # the asked number of sentences is written
                gen.completion_tokens -= 1
                reason = "stop"
                break
            if cursor is not None:
                tail = (tail + delta)[-32:]
                was_in = cursor.in_value
                cursor.feed(delta)  # a held-back partial character is inside a string: nothing structural
                if not cursor.in_value:
                    value = None
                elif was_in and value is not None:
                    value.append(nid)
                else:  # the token opened the string (and may carry its first characters)
                    value = tok.encode(cursor.value_text)
                    # data to copy from (copying.Copier(json_reply=True)): the value is a phrase of it while
                    # one is left to copy, else the plain answer (the honest "I don't know that")
                    copied = bool(copier is not None and copier.json_reply and copier.starts(out, tok.decode(out[-16:])))
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
            if matcher is not None and matcher.done():  # a complete instance: only the end can follow
                reason = "stop"
                break
        rest = stop.flush()
        if rest:
            yield Token(rest, -1)
        if wrap and reason == "stop":
            yield _extra(gen, tok, '"}')
        gen.finish_reason = reason
        if calls is not None and calls.active:
            calls.finish(gen, reason)

    gen.steps = tokens()  # what a scheduler drives (engine/scheduler.py): Tokens, and a `Need` per network step
    gen._tokens = _drive(gen.steps, next_probs, answer_probs)
    return gen


PLAIN_TOKENS = 48  # of the plain answer a JSON number is read from
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")


def plain_number(text: str) -> str | None:
    """The number a plain answer gives: the first after its last "=" ("2 + 2 = 4"), else its first
    ("A week has 7 days"); a comma before three digits groups thousands ("1,000"), another is a
    decimal comma ("3,5")."""
    tail = text.rsplit("=", 1)[-1] if "=" in text else text
    m = _NUMBER.search(tail) or _NUMBER.search(text)
    if not m:
        return None
    n = m.group(0)
    return n.replace(",", "") if re.fullmatch(r"-?\d+,\d{3}", n) else n.replace(",", ".")


MAX_ITEMS = 16  # items of a JSON array whose schema sets no maxItems: sampled at temperature 1, the
# network would add items until max_tokens cut the reply (the grammar enforces a maxItems itself)
MAX_DIGITS = 17  # a JSON number's digits at most (a double's precision): a network unsure of a value
# would otherwise write digits until max_tokens cuts the reply, and the JSON with it


def _digits_at_end(text: str) -> int:
    return len(text) - len(text.rstrip("0123456789"))


class Need:
    """A decode loop's request for the next distribution: of the reply (`channel` 0, `next_probs`)
    or of the answer view (1, `answer_probs`) after the token ids `ids`. Whoever drives the loop
    sends the probabilities back, so one scheduler can batch the network steps of many loops."""

    __slots__ = ("channel", "ids")

    def __init__(self, channel: int, ids: list[int]):
        self.channel, self.ids = channel, ids


def _drive(steps, next_probs, answer_probs) -> Iterator[Token]:
    """Run a decode loop alone, answering each `Need` with a direct call (no scheduler)."""
    reply = None
    while True:
        try:
            item = steps.send(reply)
        except StopIteration:
            return
        if isinstance(item, Need):
            reply = (next_probs if item.channel == 0 else answer_probs)(item.ids)
        else:
            reply = None
            yield item


def _extra(gen: Generation, tok: Tokenizer, text: str) -> Token:
    """Text the decode loop adds itself (JSON framing): counted in usage like any output."""
    gen.completion_tokens += len(tok.encode(text))
    return Token(text, -1)


def no_repeat(n: int, allowed: dict[tuple, int] | None = None):
    """Block a token that would repeat an n-gram already generated (no degenerate loops).
    `allowed`: n-grams a known text repeats, and how often it has them (retrieval's answers: "input
    tokens / 1,000,000 x price + output tokens / 1,000,000"): those may come that many times."""
    seen: dict[tuple, dict[int, int]] = {}
    allowed = allowed or {}

    def penalize(probs: np.ndarray, out: list[int]) -> np.ndarray:
        if len(out) >= n:
            after = seen.setdefault(tuple(out[-n:-1]), {})
            after[out[-1]] = after.get(out[-1], 0) + 1
        ctx = tuple(out[-(n - 1):]) if len(out) >= n - 1 else None
        banned = [t for t, c in seen.get(ctx, {}).items() if c >= allowed.get(ctx + (t,), 1)] if ctx else None
        if banned:
            probs = probs.copy()
            probs[banned] = 0.0
            s = probs.sum()
            if s <= 0:
                return probs  # everything banned: let the caller's argmax pick something
            probs /= s
        return probs

    return penalize
