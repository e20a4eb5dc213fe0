"""Which entry a question is asking for, learned from all of an entry's training phrasings.

Lexical retrieval scores a question by its single nearest phrasing (and the latent half by words that
the same entries use); neither learns which words tell one entry from its neighbours. This is
fastText's supervised classifier (Joulin et al., 2016): a question's hashed features (the lexical
index's own words, word pairs and character 3-5-grams, folded into `BUCKETS`) are averaged into a
`DIM`-wide vector, and one linear layer scores every entry. Trained at build time on the training
phrasings and the answers (never the held-out phrasings), with torch (the `train` extra); served with
numpy. Two uses:

- its probability joins the ranking in `LexicalIndex.top` (`lexical.CLASSIFIER_SHARE`): it reorders
  what shared words found, it never finds an entry alone;
- where the network has not learned a candidate's answer, its logits join the candidates' weights
  (`guide.CLASSIFIER_WEIGHT`): there the network's rerank has nothing to say.

On the leave-one-phrasing-out dev set (`bench/retrieval_dev.py --base-corpus`, training data only):
raw top-1 0.545 -> 0.629, top-3 0.810 -> 0.839; the whole engine on the entries the network never
saw 0.475 -> 0.540 (200 questions), on those it learned 0.707 -> 0.687 (150).
"""

from __future__ import annotations

import numpy as np

BUCKETS = 1 << 15  # hashed features (a feature's lexical bucket, modulo this)
DIM = 64
EPOCHS = 20
BATCH = 64
LR = 0.01
# Each answer is also one row of its entry: a paraphrase often asks in the answer's words ("how does a
# container get everything it needs" for Docker), which no training phrasing has. On the dev set
# (bench/retrieval_dev.py, training data only) raw top-1 on the 1,261 left-out phrasings of the entries
# added since session 16 0.570 -> 0.592, on session 16's 2,098 0.622 -> 0.619; the whole engine 0.565 -> 0.595
# (200 questions) and 0.707 -> 0.727 (150). Its first sentence alone, or its content words alone, did less
# (top-1 0.584, 0.590). Off: phrasings only, as in session 19.
ANSWER_ROWS = True


def features(text: str) -> np.ndarray:
    """The text's distinct hashed features (the lexical index's, folded into BUCKETS)."""
    from .lexical import features as lexical_features

    return np.unique(np.fromiter(lexical_features(text), dtype=np.int64) % BUCKETS)


def train(questions: list[tuple[int, str]], n_entries: int, seed: int = 0,
          answers: list[str] | None = None) -> dict[str, np.ndarray]:
    """Fit the classifier on (entry, phrasing) pairs, and each of `answers` (entry i's answer at i) as
    one more row of its entry where ANSWER_ROWS; the arrays `Classifier` reads, packed (8-bit embedding
    rows with a scale each, a 16-bit output layer). Deterministic: one thread, a fixed seed."""
    import torch

    if ANSWER_ROWS and answers:
        questions = list(questions) + list(enumerate(answers))

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(seed)
        feats = [torch.from_numpy(features(q)) for _, q in questions]
        labels = torch.tensor([e for e, _ in questions])
        emb = torch.nn.EmbeddingBag(BUCKETS, DIM, mode="mean", sparse=True)
        lin = torch.nn.Linear(DIM, n_entries)
        with torch.no_grad():
            emb.weight.uniform_(-1 / DIM, 1 / DIM, generator=gen)
            lin.weight.uniform_(-DIM ** -0.5, DIM ** -0.5, generator=gen)
            lin.bias.zero_()
        sparse, dense = torch.optim.SparseAdam(emb.parameters(), lr=LR), torch.optim.Adam(lin.parameters(), lr=LR)
        for _ in range(EPOCHS):
            order = torch.randperm(len(feats), generator=gen)
            for start in range(0, len(order), BATCH):
                ids = order[start:start + BATCH].tolist()
                rows = [feats[i] for i in ids]
                offsets = torch.tensor([0] + [len(r) for r in rows[:-1]]).cumsum(0)
                loss = torch.nn.functional.cross_entropy(lin(emb(torch.cat(rows), offsets)), labels[ids])
                sparse.zero_grad()
                dense.zero_grad()
                loss.backward()
                sparse.step()
                dense.step()
        e = emb.weight.detach().numpy()
        scale = np.abs(e).max(axis=1) / 127 + 1e-12
        return {"clf_embed_q": np.round(e / scale[:, None]).astype(np.int8), "clf_embed_scale": scale.astype(np.float16),
                "clf_out": lin.weight.detach().numpy().astype(np.float16),
                "clf_bias": lin.bias.detach().numpy().astype(np.float32)}
    finally:
        torch.set_num_threads(threads)


class Classifier:
    """The trained arrays (`train`'s), read with numpy."""

    KEYS = ("clf_embed_q", "clf_embed_scale", "clf_out", "clf_bias")

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = {k: arrays[k] for k in self.KEYS}
        self._scale = arrays["clf_embed_scale"].astype(np.float32)
        self._out = arrays["clf_out"].astype(np.float32)
        # the last text's logits: a question is read several times (the ranking, the rare-word rule, its
        # language, the candidates' weights), each time whole
        self._last: tuple[str, np.ndarray | None] = ("", None)

    def _logits(self, text: str) -> np.ndarray | None:
        """Every entry's logit for `text`; None for a text with no features."""
        last = self._last
        if last[0] == text and text:
            return last[1]
        f = features(text)
        z = None
        if len(f):
            h = (self.arrays["clf_embed_q"][f].astype(np.float32) * self._scale[f, None]).mean(axis=0)
            z = self._out @ h + self.arrays["clf_bias"]
        self._last = (text, z)
        return z

    def logits(self, text: str, entries: list[int]) -> np.ndarray:
        """The entries' logits for `text` (log-probabilities up to one shared constant: enough to weigh
        them against each other; 0 for a text with no features)."""
        z = self._logits(text)
        return np.zeros(len(entries)) if z is None else z[entries]

    def probs(self, text: str) -> np.ndarray:
        """Every entry's probability for `text` (all 0 for a text with no features)."""
        z = self._logits(text)
        if z is None:
            return np.zeros(len(self._out), dtype=np.float32)
        p = np.exp(z - z.max())
        return p / p.sum()
