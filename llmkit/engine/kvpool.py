"""The scheduler's KV caches, side by side: one array per capacity holds `SLOTS` replies' keys and values.

A reply's cache used to be arrays of its own, so a batched pass took each running reply's next
token through attention one reply at a time: about ten numpy calls per reply and layer, a third of
a 32-reply pass. Here the replies whose capacity rounds to the same `STEP` multiple live in the
slots of one `Chunk` (per layer: slots x kv heads x capacity x head size), and their next tokens'
attention is one batched product per chunk and layer (`attend`): numpy runs one small BLAS product
per slot and head, each reading only its own slot.

A `PooledCache` is a `KVCache` whose arrays are views of its slot, so everything else (prompt
pieces, the rerank's branches, the prefix cache) reads and writes it as before. It moves to a slot
of a larger chunk when it outgrows its capacity, and gives its slot back when its reply ends.

Reproducible: a reply's scores cover its chunk's whole capacity, positions past its own masked
with -inf (their probability is an exact 0). The capacity follows from the reply's own prompt and
length only, never from its neighbours, and each slot's products and reductions read its own row:
a reply's attention gets the same bits alone and in any batch (the pass's other products do not
quite: scheduler.py's docstring).
"""

from __future__ import annotations

import heapq
import mmap
import threading
from typing import TYPE_CHECKING

import numpy as np

from .kvcache import GROW, KVCache

if TYPE_CHECKING:
    from .transformer import Weights

SLOTS = 32  # replies per chunk: a class
POSITIONS = 4096  # at most this many positions per chunk (fewer slots for long replies: 32 x 128, 4 x 1,024)
STEP = GROW  # chunk capacities are multiples of this many positions, as a KVCache's


class Chunk:
    """Per layer, keys and values of up to `SLOTS` replies of capacity `cap` (zeros until written:
    untouched pages cost no memory, and a slot's unwritten positions are finite)."""

    def __init__(self, w: "Weights", cap: int):
        slots = max(1, min(SLOTS, POSITIONS // cap))  # a chunk maps at most 48 MiB (some systems commit it all)
        shape = (slots, w.n_kv, cap, w.head_dim)
        self.cap = cap
        # one anonymous mapping of its own (zero pages until written), unmapped when the chunk goes: a
        # class's burst of replies gives its memory back to the system, not to the allocator's heap
        size = int(np.prod(shape)) * 4
        self._map = mmap.mmap(-1, 2 * w.n_layers * size)
        arrays = np.frombuffer(self._map, dtype=np.float32).reshape(2 * w.n_layers, *shape)
        self.k, self.v = list(arrays[:w.n_layers]), list(arrays[w.n_layers:])
        self.free = list(range(slots))  # a heap: the lowest free slot is taken first (fewer slots to scan)
        self.used = 0


class KVPool:
    """The chunks, by capacity; a chunk with no reply left is dropped (and unmapped). The scheduler's
    thread takes and gives the slots; the lock keeps any other caller safe."""

    def __init__(self, w: "Weights"):
        self.w = w
        self.chunks: dict[int, list[Chunk]] = {}
        self.made: set[int] = set()  # capacities it has made chunks of (the tests read it)
        self.lock = threading.Lock()

    def take(self, need: int) -> tuple[Chunk, int]:
        cap = min(-(-need // STEP) * STEP, self.w.n_pos)
        with self.lock:
            chunks = self.chunks.setdefault(cap, [])
            chunk = next((c for c in chunks if c.free), None)
            if chunk is None:
                chunk = Chunk(self.w, cap)
                chunks.append(chunk)
                self.made.add(cap)
            chunk.used += 1
            return chunk, heapq.heappop(chunk.free)

    def give(self, chunk: Chunk, slot: int) -> None:
        with self.lock:
            heapq.heappush(chunk.free, slot)
            chunk.used -= 1
            chunks = self.chunks.get(chunk.cap, [])
            if chunk.used == 0 and chunk in chunks:  # a burst is over: its memory goes back
                chunks.remove(chunk)
                if not chunks:
                    del self.chunks[chunk.cap]


class PooledCache(KVCache):
    """A KV cache in a pool slot (`chunk`, `slot`); `release()` gives the slot back."""

    def __init__(self, w: "Weights", capacity: int, pool: KVPool):
        self.pool = pool
        self.chunk: Chunk | None = None
        self.slot = -1
        super().__init__(w, capacity)

    def _grow(self, need: int) -> None:
        if need <= self.cap:
            return
        chunk, slot = self.pool.take(min(max(need, self.cap + self.cap // 2), self.w.n_pos))
        k = [a[slot] for a in chunk.k]
        v = [a[slot] for a in chunk.v]
        for i in range(len(self.k)):
            k[i][:, :self.n] = self.k[i][:, :self.n]
            v[i][:, :self.n] = self.v[i][:, :self.n]
        old = (self.chunk, self.slot)
        self.k, self.v, self.cap, self.chunk, self.slot = k, v, chunk.cap, chunk, slot
        if old[0] is not None:
            self.pool.give(*old)

    def release(self) -> None:
        if self.chunk is not None:
            self.pool.give(self.chunk, self.slot)
            self.chunk, self.k, self.v, self.cap = None, [], [], 0


class Group:
    """The one-row segments of a pass whose caches share a chunk: their rows in the pass, slots,
    positions, and the mask of each slot's own length (the slots between them attend to their
    first position: finite numbers nobody reads)."""

    def __init__(self, chunk: Chunk, rows: list[int], slots: list[int], positions: list[int]):
        self.chunk = chunk
        self.rows, self.slots, self.positions = rows, np.asarray(slots), np.asarray(positions)
        self.n = int(self.slots.max()) + 1
        length = np.ones(self.n, dtype=np.int64)
        length[self.slots] = self.positions + 1
        self.mask = np.where(np.arange(chunk.cap) < length[:, None], 0.0, -np.inf).astype(np.float32)[:, None, None, :]


def write(li: int, g: Group, k: np.ndarray, v: np.ndarray) -> None:
    """Layer `li`'s new keys and values of a group's rows into their slots (`k`, `v`: the pass's,
    kv heads x rows x head size). Before any segment of the pass attends: a rerank branch reads
    the prompt it continues, whose last position may be one of these rows."""
    g.chunk.k[li][g.slots, :, g.positions] = k[:, g.rows].transpose(1, 0, 2)
    g.chunk.v[li][g.slots, :, g.positions] = v[:, g.rows].transpose(1, 0, 2)


def attend(li: int, g: Group, q: np.ndarray, att: np.ndarray) -> None:
    """Layer `li`'s attention for a group's rows (written by `write`): one product over the
    chunk's slots for the scores and one for the values. `q`: the pass's queries (heads, rows,
    head size), pre-scaled; the result goes to `att` (heads, rows, head size)."""
    K, V = g.chunk.k[li], g.chunk.v[li]
    H, hd = q.shape[0], q.shape[2]
    kv = K.shape[1]
    Q = np.zeros((g.n, H, hd), dtype=np.float32)
    Q[g.slots] = q[:, g.rows].transpose(1, 0, 2)
    sc = Q.reshape(g.n, kv, H // kv, hd) @ K[:g.n].transpose(0, 1, 3, 2)  # (slots, kv heads, group, cap)
    sc += g.mask
    sc -= np.maximum.reduce(sc, axis=-1, keepdims=True)
    np.exp(sc, out=sc)
    sc /= np.add.reduce(sc, axis=-1, keepdims=True)
    out = (sc @ V[:g.n]).reshape(g.n, H, hd)
    att[:, g.rows] = out[g.slots].transpose(1, 0, 2)
