"""Continuous batching: one background thread runs the network for every reply at once.

Each reply's decode loop (`sampling.decode`) stays its own: its sampling parameters, seed,
stop strings, grammar mask, repetition blocks and retrieval mix act on its own distribution.
What the loops share is the network: where a loop needs the next distribution it yields a
`Need`, and the scheduler gathers the Needs of all running replies into one forward pass
(`forward_batch`): the projections and the feed-forward of every row in one matrix product
each (where a 6-layer d=256 model spends its time); the running replies' next tokens attend in
one batched product per array of pooled caches (`kvpool.py`), prompt pieces and the rerank's
branches per segment.

- Prefill is interleaved: a new prompt is cut into `CHUNK`-token pieces at fixed positions
  (multiples of CHUNK), and each step takes at most `PREFILL_BUDGET` rows of new prompts next
  to the running replies' one token each, so a long prompt never stalls the others. Retrieval's
  rerank (`guide.py`: the candidates' first tokens after the prompt) rides in the prompt's own
  pass as branches that attend over the prompt's cache, not as a forward pass of its own; its
  rows count in the budget (two thirds of a short question's rows: uncounted, a class's burst
  of questions made one long pass that every first token waited for).
- Reproducible whatever else runs: a row's result should not depend on its neighbours. Products
  always get >= 2 rows (one row alone takes OpenBLAS's matrix-vector path) and the 704-wide one is
  summed in 256-wide slices (a longer inner dimension is blocked by the row count); a prompt piece
  is always the same piece (fixed positions); attention reads only the reply's own keys. What is
  not exact (measured 2026-11-30, numpy 2.4 with OpenBLAS 0.3.31, one thread): OpenBLAS computes a
  product's rows in blocks of 12 with two kernels inside a block and another for a last partial
  block, so a row's bits depend on its place in the pass: the same request alone and inside a
  batch can differ by ~1e-6 in a logit. The texts are the same in the tests (a seeded and a greedy
  request alone and in busy batches, prefix-cache hit and miss), but an exact near-tie can go the
  other way. (LLMKIT_SCHEDULER_EXACT=0 lets a one-row pass use the faster one-row kernels.)
- Prefix cache: the KV of the prompts' piece-aligned prefixes, a small LRU (`PrefixCache`):
  a system prompt or a conversation's earlier turns are not run again.
- A reply is admitted when its Generation is first iterated, paused while `BUFFER` tokens wait
  unread, and dropped as soon as it is closed or garbage-collected (the client left).

LLMKIT_SCHEDULER=0 turns it off: each Generation then runs its network steps itself, as before.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING

import numpy as np

from . import kvpool
from .base import Generation, Token
from .sampling import Need

if TYPE_CHECKING:
    from .transformer import KVCache, TransformerEngine, Weights

CHUNK = 16  # prompt pieces start at multiples of this position
PREFILL_BUDGET = int(os.environ.get("LLMKIT_PREFILL_BUDGET", "256"))  # prompt and rerank rows per step, next to the running replies
BUFFER = 64  # tokens a reply may have waiting unread before it pauses
MAX_ACTIVE = 256  # replies in the batch at once; more wait their turn
PREFIX_TOKENS = int(os.environ.get("LLMKIT_PREFIX_CACHE_TOKENS", "1024"))  # KV positions the prefix cache keeps


EXACT = os.environ.get("LLMKIT_SCHEDULER_EXACT", "1") != "0"  # 2-row products even for one row (see above)


def enabled() -> bool:
    return os.environ.get("LLMKIT_SCHEDULER", "1") != "0"


# -- the batched network ------------------------------------------------------------------------

def _rms(x: np.ndarray, eps: float) -> np.ndarray:
    """x / sqrt(mean(x**2) + eps), with the bits of np.mean (its sum, then its division by an intp
    count) but without its Python-level wrapper: this runs 13 times per pass."""
    ms = np.add.reduce(x * x, axis=-1, keepdims=True)
    np.true_divide(ms, np.intp(x.shape[-1]), out=ms, casting="unsafe")
    return x / np.sqrt(ms + eps)


def _mm(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """x @ W with bits that do not depend on how many rows x has (see the module docstring)."""
    m = x.shape[0]
    if m == 1 and not EXACT:
        return x @ W
    if m == 1:
        x = np.concatenate([x, x])
    K = W.shape[0]
    if K <= 256:
        out = x @ W
    else:
        out = x[:, :256] @ W[:256]
        for a in range(256, K, 256):
            out += x[:, a:a + 256] @ W[a:a + 256]
    return out[:m]


class Segment:
    """Token ids to run after what `cache` holds; `logits`: True for the last position's,
    "all" for every position's (a reranked candidate), False for none (a prompt piece)."""

    __slots__ = ("cache", "ids", "logits", "start", "base")

    def __init__(self, cache: "KVCache | None", ids: list[int], logits: bool | str, base: "KVCache | None" = None,
                 at: int = 0):
        self.cache, self.ids, self.logits, self.start = cache, ids, logits, at
        # a branch (`cache` None): `ids` continue `base`'s first `at` positions (written earlier
        # in the same pass); its keys and values are used in the pass and dropped, `base` is unchanged
        self.base = base


def forward_batch(w: "Weights", segs: list[Segment]) -> np.ndarray:
    """One pass of the network over every segment's rows; the logits the segments ask for, in
    order (one row, or all of a segment's rows). Segments of one cache come in position order."""
    ends: dict[int, int] = {}
    for s in segs:
        if s.base is None:
            s.start = ends.get(id(s.cache), s.cache.n)
            ends[id(s.cache)] = s.start + len(s.ids)
    for s in segs:
        if s.base is None:
            s.cache.reserve(ends[id(s.cache)])
    H, KV, hd = w.n_heads, w.n_kv, w.head_dim
    group = H // KV
    ids = np.fromiter((t for s in segs for t in s.ids), dtype=np.int64)
    lens = [len(s.ids) for s in segs]
    bounds = list(itertools.accumulate(lens, initial=0))
    # each row's position: its segment's start plus its place in the segment (one arange per segment was 4% of a pass)
    pos = np.repeat(np.fromiter((s.start - b for s, b in zip(segs, bounds)), dtype=np.int64, count=len(segs)), lens) \
        + np.arange(bounds[-1])
    x = w.embed[ids]
    cos, sin = w.cos[pos][:, None, :], w.sin[pos][:, None, :]
    h2 = hd // 2
    scale = np.float32(1.0 / np.sqrt(hd))
    # per segment, in plain ints (the loop below runs segments x layers times): its rows a:b,
    # its positions start:end, and where its keys and values live
    plan = []
    by_chunk: dict[int, tuple] = {}  # one-row segments of pooled caches (running replies' next tokens): kvpool.py
    for i, s in enumerate(segs):
        a, b = bounds[i], bounds[i + 1]
        chunk = getattr(s.cache, "chunk", None) if b - a == 1 and s.base is None else None
        if chunk is None:
            plan.append((a, b, s.start, s.start + len(s.ids), s.cache, s.base))
        else:
            rows_, slots, positions = by_chunk.setdefault(id(chunk), (chunk, [], [], []))[1:]
            rows_.append(a)
            slots.append(s.cache.slot)
            positions.append(s.start)
    groups = [kvpool.Group(*g) for g in by_chunk.values()]
    masks: dict[tuple[int, int], np.ndarray] = {}
    amax, add = np.maximum.reduce, np.add.reduce  # the reductions of .max() and .sum(), without their wrappers
    for li, L in enumerate(w.layers):
        qkv = _mm(_rms(x, w.eps), L["qkv"])
        qk = qkv[:, :(H + KV) * hd].reshape(-1, H + KV, hd)
        v = qkv[:, (H + KV) * hd:].reshape(-1, KV, hd).transpose(1, 0, 2)
        # rotary positions, queries' and keys' heads at once; queries pre-scaled; heads first
        # (H, rows, hd) for the per-reply products
        qk = np.concatenate([qk[..., :h2] * cos - qk[..., h2:] * sin, qk[..., h2:] * cos + qk[..., :h2] * sin],
                            axis=-1).transpose(1, 0, 2)
        q, k = qk[:H] * scale, qk[H:]
        att = np.empty((H, x.shape[0], hd), dtype=np.float32)
        for g in groups:
            kvpool.write(li, g, k, v)
        for a, b, start, end, c, base in plan:
            if base is None:
                Kc, Vc = c.k[li], c.v[li]
                Kc[:, start:end] = k[:, a:b]
                Vc[:, start:end] = v[:, a:b]
                K, V = Kc[:, :end], Vc[:, :end]
            else:
                K = np.concatenate([base.k[li][:, :start], k[:, a:b]], axis=1)
                V = np.concatenate([base.v[li][:, :start], v[:, a:b]], axis=1)
            if group > 1:
                K, V = np.repeat(K, group, axis=0), np.repeat(V, group, axis=0)
            sc = q[:, a:b] @ K.transpose(0, 2, 1)  # (H, T, S)
            T = b - a
            if T > 1:
                m = masks.get((T, start))
                if m is None:
                    m = masks[(T, start)] = np.triu(np.full((T, end), -np.inf, dtype=np.float32), k=start + 1)
                sc += m
            sc -= amax(sc, axis=-1, keepdims=True)
            np.exp(sc, out=sc)
            sc /= add(sc, axis=-1, keepdims=True)
            np.matmul(sc, V, out=att[:, a:b])
        for g in groups:
            kvpool.attend(li, g, q, att)
        att = att.transpose(1, 0, 2).reshape(-1, H * hd)
        x = x + _mm(att, L["o"])
        gu = _mm(_rms(x, w.eps), L["gate_up"])
        g, u = gu[:, :w.ffn], gu[:, w.ffn:]
        x = x + _mm(0.5 * g * (1.0 + np.tanh(0.5 * g)) * u, L["down"])
    for s in segs:
        if s.base is None:
            s.cache.n = s.start + len(s.ids)
            s.cache.ids.extend(s.ids)
    rows = [r for si, s in enumerate(segs) if s.logits
            for r in (range(bounds[si], bounds[si + 1]) if s.logits == "all" else [bounds[si + 1] - 1])]
    if not rows:
        return np.zeros((0, w.vocab), dtype=np.float32)
    h = _rms(x[rows], w.eps)
    if len(rows) == 1 and x.shape[0] == 1 and not EXACT:
        return (w.head @ h[0])[None]
    if len(rows) == 1:
        h = np.concatenate([h, h])
    return (w.head @ h.T).T[:len(rows)]  # (V, d) @ (d, rows): reads the 4 MB head once, not repacked


def _logliks(logits: np.ndarray, seqs: list[list[int]]) -> list[float]:
    """log p(q[1:] | prompt, q[0]) for each q, from the logits of the q[:-1]s' positions in order:
    the numbers of `TransformerEngine._loglik`, without its whole matrix of log-probabilities (only
    the tokens read are picked, then each row is normalized once: a wave of 32 questions spent 18 ms
    here, now 11)."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    rows = np.arange(len(z))
    picked = z[rows, [t for q in seqs for t in q[1:]]]
    np.exp(z, out=z)
    lse = np.log(z.sum(axis=1))
    out, at = [], 0
    for q in seqs:
        out.append(float(sum(picked[at + i] - lse[at + i] for i in range(len(q) - 1))))
        at += len(q) - 1
    return out


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """Each row's softmax in float64, in place in one new array (the bits of exp(z - max) / sum;
    a temporary per operation made 32 rows cost 1 ms instead of 0.2)."""
    z = logits.astype(np.float64)
    z -= np.maximum.reduce(z, axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= np.add.reduce(z, axis=-1, keepdims=True)
    return z


# -- prefix cache -------------------------------------------------------------------------------

class PrefixCache:
    """KV of prompt prefixes (whole CHUNK pieces), least recently used dropped first."""

    def __init__(self, max_tokens: int = PREFIX_TOKENS):
        self.max_tokens = max_tokens
        self.entries: collections.OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = collections.OrderedDict()
        self.tokens = 0
        self.hits = self.misses = 0

    def put(self, cache: "KVCache") -> None:
        n = cache.n // CHUNK * CHUNK
        if n == 0 or n > self.max_tokens:
            return
        key = tuple(cache.ids[:n])
        if key in self.entries:
            self.entries.move_to_end(key)
            return
        for other in list(self.entries):  # a shorter prefix of this one adds nothing
            if len(other) < n and key[:len(other)] == other:
                self._drop(other)
        k = np.stack([a[:, :n] for a in cache.k])
        v = np.stack([a[:, :n] for a in cache.v])
        self.entries[key] = (k, v)
        self.tokens += n
        while self.tokens > self.max_tokens:
            self._drop(next(iter(self.entries)))

    def _drop(self, key: tuple) -> None:
        del self.entries[key]
        self.tokens -= len(key)

    def fill(self, cache: "KVCache", ids: list[int]) -> int:
        """Copy into the empty `cache` the longest cached piece-aligned prefix of `ids` (leaving
        at least one id to run); returns how many positions it holds."""
        best, best_key = 0, None
        limit = (len(ids) - 1) // CHUNK * CHUNK
        for key in self.entries:
            n = min(len(key), limit)
            if n <= best:
                continue
            a = np.asarray(key[:n])
            diff = np.flatnonzero(a != np.asarray(ids[:n]))
            common = (int(diff[0]) if len(diff) else n) // CHUNK * CHUNK
            if common > best:
                best, best_key = common, key
        if best_key is None:
            self.misses += 1
            return 0
        self.hits += 1
        self.entries.move_to_end(best_key)
        k, v = self.entries[best_key]
        cache.reserve(best)
        for li in range(len(cache.k)):
            cache.k[li][:, :best] = k[li][:, :best]
            cache.v[li][:, :best] = v[li][:, :best]
        cache.n, cache.ids = best, list(ids[:best])
        return best


# -- requests -----------------------------------------------------------------------------------

class _Seq:
    """One token stream the network reads for a reply (the reply, or its answer view): its KV
    cache and, with retrieval, its candidates' weights (what `TransformerEngine.stepper` keeps)."""

    def __init__(self, engine: "TransformerEngine", capacity: int, query, pool: kvpool.KVPool):
        self.cache = kvpool.PooledCache(engine.w, capacity, pool)
        self.guide = engine.guide if query else None
        self.query = query
        self.weights: list | None = None
        self.start = 0
        self.fresh = True  # nothing run yet: the prefix cache may fill it
        self.stored = False  # its prompt is in the prefix cache
        self.want: list[int] | None = None  # ids of the pending Need
        self.rerank: dict | None = None  # candidates scored in the current pass (`_rerank`, `_mix`)


class _Request:
    def __init__(self, engine: "TransformerEngine", steps, capacity: int, query, woken: list, keep=None):
        self.engine = engine
        self.woken = woken  # the scheduler's: async readers to wake once the step is done
        self.steps = steps
        self.capacity, self.query = capacity, query
        self.keep = keep  # tokens whose odds at the first step stay the network's (a tool call's start: Guide.mix)
        self.seqs: dict[int, _Seq] = {}
        self.need: Need | None = None
        self.out: collections.deque = collections.deque()
        self.done = False
        self.error: BaseException | None = None
        self.cancelled = False
        self.steps_run = 0  # network steps taken for this reply (tests count them)
        self.cond = threading.Condition()
        self.wakers: list = []  # (loop, event) of async readers

    def push(self, token: Token | None = None) -> None:
        with self.cond:
            if token is not None:
                self.out.append(token)
            self.cond.notify_all()
            if self.wakers:
                self.woken.extend(self.wakers)
                self.wakers = []


class ScheduledGeneration(Generation):
    """A Generation whose tokens the scheduler makes; iterate it (sync or async) or close it."""

    def __init__(self, inner: Generation, scheduler: "Scheduler", req: _Request):
        self._inner, self._scheduler, self._req = inner, scheduler, req
        self._submitted = False
        self._finalizer = weakref.finalize(self, scheduler.cancel, req)

    # the decode loop keeps its counts on the inner Generation
    prompt_tokens = property(lambda self: self._inner.prompt_tokens,
                             lambda self, v: setattr(self._inner, "prompt_tokens", v))
    completion_tokens = property(lambda self: self._inner.completion_tokens,
                                 lambda self, v: setattr(self._inner, "completion_tokens", v))
    finish_reason = property(lambda self: self._inner.finish_reason,
                             lambda self, v: setattr(self._inner, "finish_reason", v))
    stop_sequence = property(lambda self: self._inner.stop_sequence,
                             lambda self, v: setattr(self._inner, "stop_sequence", v))
    tool_calls = property(lambda self: self._inner.tool_calls,
                          lambda self, v: setattr(self._inner, "tool_calls", v))

    @property
    def steps_run(self) -> int:
        return self._req.steps_run

    def _submit(self) -> None:
        if not self._submitted:
            self._submitted = True
            self._scheduler.submit(self._req)

    def __iter__(self):
        self._submit()
        req = self._req
        while True:
            with req.cond:
                while not req.out and not req.done:
                    req.cond.wait()
                if req.out:
                    t = req.out.popleft()
                elif req.error is not None:
                    raise req.error
                else:
                    return
            if len(req.out) == BUFFER - 1:
                self._scheduler.wake()
            yield t

    async def __aiter__(self):
        self._submit()
        req = self._req
        loop = asyncio.get_running_loop()
        try:
            while True:
                with req.cond:
                    if req.out:
                        batch = list(req.out)
                        req.out.clear()
                    elif req.done:
                        if req.error is not None:
                            raise req.error
                        return
                    else:
                        ev = asyncio.Event()
                        req.wakers.append((loop, ev))
                        batch = None
                if batch is None:
                    await ev.wait()
                    continue
                if len(batch) >= BUFFER - 1:
                    self._scheduler.wake()
                for t in batch:
                    yield t
        finally:
            if not req.done:
                self.close()

    def close(self) -> None:
        self._scheduler.cancel(self._req)


def _set_all(events: list) -> None:
    for ev in events:
        ev.set()


class Scheduler:
    """The step loop: a daemon thread, started with the first reply."""

    def __init__(self, engine: "TransformerEngine"):
        self.engine = engine
        self.prefix = PrefixCache()
        self.pool = kvpool.KVPool(engine.w)
        self.lock = threading.Condition()
        self.incoming: list[_Request] = []
        self.active: list[_Request] = []
        self.thread: threading.Thread | None = None
        self.woken: list = []  # (loop, event) of readers with new tokens
        self.steps = 0  # batched forward passes run
        self.rows = 0  # rows they held

    def generation(self, inner: Generation, capacity: int, query, keep=None) -> ScheduledGeneration:
        return ScheduledGeneration(inner, self, _Request(self.engine, inner.steps, capacity, query, self.woken, keep))

    def submit(self, req: _Request) -> None:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, name="llmkit-scheduler", daemon=True)
                self.thread.start()
            self.incoming.append(req)
            self.lock.notify()

    def cancel(self, req: _Request) -> None:
        if not req.done:
            req.cancelled = True
            self.wake()

    def wake(self) -> None:
        with self.lock:
            self.lock.notify()

    # -- the loop ------------------------------------------------------------------------
    def _loop(self) -> None:
        from .transformer import one_blas_thread

        while True:
            with self.lock:
                while not self.incoming and not self._runnable():
                    self.lock.wait()
            with one_blas_thread():  # held while there is work (setting it each step was 2% of a step)
                while True:
                    with self.lock:
                        room = MAX_ACTIVE - len(self.active)
                        new, self.incoming = self.incoming[:max(room, 0)], self.incoming[max(room, 0):]
                    for req in new:
                        self._advance(req, None)
                        if not req.done:
                            self.active.append(req)
                    try:
                        self._step()
                    except Exception as e:  # a fault of the pass itself: every reply in it fails
                        for req in self.active:
                            self._finish(req, e)
                    self.active = [r for r in self.active if not r.done]
                    self._wake_readers()
                    with self.lock:
                        if not self.incoming and not self._runnable():
                            break

    def _wake_readers(self) -> None:
        """One call per event loop per step (each call_soon_threadsafe writes to the loop's
        wake-up pipe), not one per token."""
        by_loop: dict = {}
        while self.woken:
            loop, ev = self.woken.pop()
            by_loop.setdefault(loop, []).append(ev)
        for loop, events in by_loop.items():
            try:
                loop.call_soon_threadsafe(_set_all, events)
            except RuntimeError:  # that loop is closed
                pass
        if by_loop:
            time.sleep(0)  # let the woken loop take the GIL and send the tokens before the next pass

    def _runnable(self) -> bool:
        return any(r.cancelled or len(r.out) < BUFFER for r in self.active)

    def _finish(self, req: _Request, error: BaseException | None = None) -> None:
        if req.done:
            return
        req.error = error
        req.done = True
        for seq in req.seqs.values():
            seq.cache.release()
        req.seqs.clear()
        try:
            req.steps.close()
        except Exception:
            pass
        req.push()

    def _advance(self, req: _Request, probs: np.ndarray | None) -> None:
        """Run the reply's decode loop until it needs the network again (or ends)."""
        if req.cancelled:
            return self._finish(req)
        reply = probs
        try:
            while True:
                item = req.steps.send(reply)
                if isinstance(item, Need):
                    req.need = item
                    return
                reply = None
                req.push(item)
        except StopIteration:
            self._finish(req)
        except Exception as e:
            self._finish(req, e)

    def _seq(self, req: _Request, need: Need) -> _Seq:
        seq = req.seqs.get(need.channel)
        if seq is None:
            cap = req.capacity if need.channel == 0 else len(need.ids) + 128
            seq = req.seqs[need.channel] = _Seq(self.engine, cap, req.query, self.pool)
        return seq

    def _step(self) -> None:
        segs: list[Segment] = []
        owners: list[tuple[_Request, _Seq]] = []
        budget = PREFILL_BUDGET
        for req in self.active:
            if req.done:
                continue
            if req.cancelled:
                self._finish(req)
                continue
            if len(req.out) >= BUFFER or req.need is None:
                continue
            seq = self._seq(req, req.need)
            ids = req.need.ids
            c = seq.cache
            if seq.want is None:  # a new Need: what the cache lacks
                n = c.n
                if len(ids) <= n or c.ids != ids[:n]:  # not an extension: keep the common prefix, weigh again
                    common = 0
                    for common, (a, b) in enumerate(zip(c.ids, ids[:-1])):
                        if a != b:
                            break
                    else:
                        common = min(len(c.ids), len(ids) - 1)
                    c.n = common
                    del c.ids[common:]
                    seq.weights = None
                if seq.fresh:
                    seq.fresh = False
                    self.prefix.fill(c, ids)
                seq.want = ids
            have = c.n  # a cache is its reply's own: nothing of it is among this step's pieces yet
            todo = ids[have:]
            if len(todo) > 1 and budget <= 0:
                continue
            pieces = []
            at = have
            while at < len(ids):
                end = min((at // CHUNK + 1) * CHUNK, len(ids))
                if len(ids) - at > 1:
                    if budget <= 0:
                        break
                    budget -= end - at
                pieces.append(ids[at:end])
                at = end
            for i, p in enumerate(pieces):
                last = at == len(ids) and i == len(pieces) - 1
                segs.append(Segment(c, p, last))
                if last:
                    owners.append((req, seq))
                    if seq.guide is not None and seq.weights is None:  # retrieval: rerank in this same pass
                        budget -= self._rerank(seq, ids, segs)
            req.steps_run += 1
        if not segs:
            return
        logits = forward_batch(self.engine.w, segs)
        self.steps += 1
        self.rows += sum(len(s.ids) for s in segs)
        firsts, at = [], 0
        for req, seq in owners:
            firsts.append(at)
            at += 1
            if seq.rerank is not None:  # its candidates' rows follow
                n = sum(len(q) - 1 for q in seq.rerank["seqs"])
                seq.rerank["logits"], at = logits[at:at + n], at + n
        probs = softmax_rows(logits[firsts])
        for (req, seq), p in zip(owners, probs):
            ids, seq.want = seq.want, None
            try:
                p = self._mix(req, seq, ids, p)
            except Exception as e:
                self._finish(req, e)
                continue
            self._advance(req, p)

    def _rerank(self, seq: _Seq, ids: list[int], segs: list[Segment]) -> int:
        """Retrieve candidate answers (lexical: no network needed) and add their first tokens to
        the pass as branches after the prompt, so the prompt's pass also scores them."""
        g = seq.guide
        seq.start = len(ids)
        cands = g.candidates(seq.query)
        seqs = g.rerank_seqs(cands)
        seq.rerank = {"cands": cands, "seqs": seqs}
        for q in seqs:
            segs.append(Segment(None, q[:-1], "all", base=seq.cache, at=len(ids)))
        return sum(len(q) - 1 for q in seqs)

    def _mix(self, req: _Request, seq: _Seq, ids: list[int], p: np.ndarray) -> np.ndarray:
        """Retrieval as `TransformerEngine.stepper` does it: weigh candidates once after the
        prompt (and after any restart; their first tokens were scored in the prompt's own pass,
        `_rerank`), then mix their copy distribution into every step. The first prompt of a
        reply goes to the prefix cache."""
        if len(req.seqs) == 1 and seq is req.seqs.get(0) and seq.cache.n == len(ids) and not seq.stored:
            seq.stored = True  # the prompt, run in whole pieces from position 0
            self.prefix.put(seq.cache)
        if seq.guide is None:
            return p
        g = seq.guide
        if seq.rerank is not None:  # the candidates were scored in this pass: weigh them
            r, seq.rerank = seq.rerank, None
            lls = _logliks(r["logits"], r["seqs"]) if r["seqs"] else []
            seq.weights = g.weigh(r["cands"], np.log(np.maximum(p, 1e-30)), lambda seqs: lls,
                                  seq.query) if r["cands"] else []
        if not seq.weights:
            return p
        return g.step(p, seq.weights, ids[seq.start:], req.keep)
