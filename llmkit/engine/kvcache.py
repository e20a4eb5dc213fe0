"""A reply's keys and values, per layer: what the network has seen so far (`transformer.forward`,
the scheduler's batched pass)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .transformer import Weights

GROW = 16  # a KV cache's capacity is a multiple of this many positions


class KVCache:
    """Keys and values of the positions seen so far, per layer. Sized to what the caller expects
    (a prompt and a short reply) and grown by half when a reply runs longer: a hundred replies at
    once each hold what they use (12 KB a position), not the longest reply they might write."""

    def __init__(self, w: "Weights", capacity: int = 256):
        self.w = w
        self.n = 0
        self.ids: list[int] = []
        self.cap = 0
        self.k: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self._grow(capacity)

    def _grow(self, need: int) -> None:
        cap = min(-(-max(need, self.cap + self.cap // 2) // GROW) * GROW, self.w.n_pos)
        if cap <= self.cap:
            return
        shape = (self.w.n_kv, cap, self.w.head_dim)
        new_k = [np.empty(shape, dtype=np.float32) for _ in range(self.w.n_layers)]
        new_v = [np.empty(shape, dtype=np.float32) for _ in range(self.w.n_layers)]
        for i in range(len(self.k)):
            new_k[i][:, :self.n] = self.k[i][:, :self.n]
            new_v[i][:, :self.n] = self.v[i][:, :self.n]
        self.k, self.v, self.cap = new_k, new_v, cap

    def reserve(self, n: int) -> None:
        if n > self.cap:
            self._grow(n)

    def fork(self, extra: int = 64) -> "KVCache":
        """A copy to try a continuation on without disturbing this one."""
        c = KVCache(self.w, self.n + extra)
        for i in range(self.w.n_layers):
            c.k[i][:, :self.n] = self.k[i][:, :self.n]
            c.v[i][:, :self.n] = self.v[i][:, :self.n]
        c.n, c.ids = self.n, list(self.ids)
        return c
