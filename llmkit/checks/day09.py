"""Checks for day 9 (inside the model): next-token probabilities, temperature, top-p, a greedy
loop with the KV cache, and parameter and memory arithmetic. Each check runs the learner's
function on inputs of its own and compares it with the offline model itself (transformer-v2,
run here in numpy) or with the formula; nothing the model says is written into a check, so
they keep working when the model is retrained."""

from __future__ import annotations

import numpy as np

from ..lang import t
from .core import Incorrect, Problem, call

ENGINE = "transformer-v2"


def _engine():
    from llmkit.engine import get_engine

    return get_engine(ENGINE)


def _softmax(x) -> np.ndarray:
    z = np.asarray(x, dtype=np.float64)
    z = np.exp(z - z.max())
    return z / z.sum()


def _chat_ids(eng, question: str) -> list[int]:
    return eng.tok.render_chat([{"role": "user", "content": question}])


def _as_probs(got, n: int, name: str) -> np.ndarray:
    """The learner's result as a float array of n numbers, or Incorrect saying why not."""
    if got is None:
        raise Incorrect(t("{name}() returned None: return the new array (did you forget `return`?).", name=name))
    try:
        arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise Incorrect(t("{name}() returned {kind}; expected a numpy array of probabilities.",
                          name=name, kind=type(got).__name__)) from None
    if arr.shape != (n,):
        raise Incorrect(t("{name}() returned an array of shape {shape}; expected ({n},), one number per token "
                          "of the vocabulary, at the same positions as the input.",
                          name=name, shape=arr.shape, n=n))
    return arr


# -- q1: the next token's top-k ------------------------------------------------------------------

def _pairs(got, k: int) -> list[tuple[str, float]]:
    if not isinstance(got, (list, tuple)):
        raise Incorrect(t("top_next() returned {kind}; expected a list of (piece, probability) pairs.",
                          kind=type(got).__name__))
    if len(got) != k:
        raise Incorrect(t("asked for k={k}, top_next() returned {n_got} pairs.", k=k, n_got=len(got)))
    out = []
    for item in got:
        if not (isinstance(item, (list, tuple)) and len(item) == 2):
            raise Incorrect(t("each item should be a pair (piece, probability); got {item!r}.", item=item))
        piece, prob = item
        if isinstance(piece, (int, np.integer)) and not isinstance(piece, bool):
            raise Incorrect(t("the first item of each pair should be the token's text, "
                              "eng.tok.decode([token_id]), not its id (got {piece!r}).",
                              piece=piece))
        if not isinstance(piece, str):
            raise Incorrect(t("the first item of each pair should be a string, the token's text; got {piece!r}.",
                              piece=piece))
        try:
            out.append((piece, float(prob)))
        except (TypeError, ValueError):
            raise Incorrect(t("the second item of each pair should be a probability (a float); got {prob!r}.",
                              prob=prob)) from None
    return out


def _check_top_next(top_next) -> str:
    eng = _engine()
    cases = [(_chat_ids(eng, "What is a token?"), 5), (eng.tok.encode("A language model predicts the next"), 10)]
    for ids, k in cases:
        logits = eng.logits(ids)
        probs = _softmax(logits[-1])
        order = np.argsort(-probs, kind="stable")
        want = probs[order[:k]]
        pairs = _pairs(call(top_next, list(ids), k), k)
        got = np.array([p for _, p in pairs])
        if np.allclose(got, logits[-1][order[:k]], atol=1e-3) and not np.allclose(got, want, atol=1e-4):
            raise Incorrect(t("these are the logits, not probabilities: turn the last position's logits into "
                              "probabilities with softmax first."))
        if np.any(got < 0) or np.any(got > 1):
            raise Incorrect(t("a probability is between 0 and 1; got {v}: apply softmax to the logits.",
                              v=got.round(4).tolist()))
        if np.any(np.diff(got) > 1e-9):
            raise Incorrect(t("the pairs should be sorted by probability, highest first."))
        first = _softmax(logits[0])
        if len(ids) > 1 and np.allclose(got, np.sort(first)[::-1][:k], atol=1e-4) and not np.allclose(got, want, atol=1e-4):
            raise Incorrect(t("these are the probabilities after the FIRST token: the next token is predicted "
                              "by the logits of the LAST position, logits[-1]."))
        if not np.allclose(got, want, atol=1e-4):
            raise Incorrect(t("for a prompt of {n_ids} tokens, the top-{k} probabilities should be {v}; got "
                              "{v2}. Use softmax(eng.logits(ids)[-1]) and the k largest values.",
                              n_ids=len(ids), k=k, v=want.round(4).tolist(), v2=got.round(4).tolist()))
        near = order[:k + 10]
        for rank, (piece, p) in enumerate(pairs, 1):
            names = {s for j in near if abs(probs[j] - p) < 1e-4
                     for s in (eng.tok.decode([int(j)]), eng.tok.id_to_token(int(j)))}
            if piece not in names:
                j = int(order[rank - 1])
                raise Incorrect(t("pair {rank} has the piece {piece!r}; the token with that probability is "
                                  "{v!r} (eng.tok.decode([{j}])).",
                                  rank=rank, piece=piece, v=eng.tok.decode([j]), j=j))
    return (t("the model's {k} most likely next tokens, highest first, each with its probability (softmax of "
              "the last position's logits).", k=k))


q1 = Problem(
    "q1", "top_next", _check_top_next,
    hint="probs = softmax(eng.logits(ids)[-1]); best = np.argsort(-probs)[:k]; then "
         "[(eng.tok.decode([int(i)]), float(probs[i])) for i in best].",
    solution='''
    import numpy as np
    from llmkit.engine import get_engine
    from llmkit.engine.transformer import softmax

    eng = get_engine("transformer-v2")

    def top_next(ids, k):
        probs = softmax(eng.logits(ids)[-1])
        best = np.argsort(-probs)[:k]
        return [(eng.tok.decode([int(i)]), float(probs[i])) for i in best]
    ''')


# -- q2: temperature -------------------------------------------------------------------------------

def _check_apply_temperature(apply_temperature) -> str:
    eng = _engine()
    real = eng.logits(_chat_ids(eng, "What does temperature do?"))[-1].astype(np.float32)
    cases = [(real, 0.5), (real, 1.0), (real, 2.0), (np.array([1000.0, 999.0, 990.0, 10.0]), 0.5)]
    for logits, T in cases:
        before = logits.copy()
        with np.errstate(all="ignore"):  # an overflow is explained below, not warned about
            got = _as_probs(call(apply_temperature, logits, T), len(logits), "apply_temperature")
        if not np.array_equal(logits, before):
            raise Incorrect(t("apply_temperature() changed the logits it was given: compute a new array "
                              "(logits / T makes one) instead of modifying the input in place."))
        want = _softmax(np.asarray(logits, dtype=np.float64) / T)
        if not np.all(np.isfinite(got)):
            raise Incorrect(t("with logits as large as {v:g} and T={T}, the result holds nan or inf: np.exp "
                              "overflowed. Subtract the largest value before np.exp (softmax does not change "
                              "when every logit moves by the same amount).",
                              v=float(np.max(logits)), T=T))
        if np.allclose(got, want, rtol=1e-4, atol=1e-7):
            continue
        if T != 1 and np.allclose(got, _softmax(np.asarray(logits, dtype=np.float64) * T), rtol=1e-4, atol=1e-7):
            raise Incorrect(t("at T={T} you multiplied the logits by T: divide them (logits / T), so that a "
                              "low temperature sharpens the distribution and a high one flattens it.",
                              T=T))
        if T != 1 and np.allclose(got, _softmax(logits), rtol=1e-4, atol=1e-7):
            raise Incorrect(t("at T={T} the result is the plain softmax: the temperature was not used (logits "
                              "/ T).", T=T))
        if abs(got.sum() - 1) > 1e-4:
            raise Incorrect(t("at T={T} the result sums to {v:.4g}, not 1: after np.exp, divide by the sum.",
                              T=T, v=got.sum()))
        raise Incorrect(t("at T={T} the probabilities differ from softmax(logits / T) (largest expected "
                          "{v:.4f}, yours {v2:.4f}).", T=T, v=want.max(), v2=got.max()))
    return t("softmax(logits / T), numerically safe: T < 1 sharpens the distribution, T > 1 flattens it.")


q2 = Problem(
    "q2", "apply_temperature", _check_apply_temperature,
    hint="z = logits / T; z = z - z.max() (no overflow); e = np.exp(z); return e / e.sum().",
    solution='''
    import numpy as np

    def apply_temperature(logits, T):
        z = np.asarray(logits, dtype=np.float64) / T
        e = np.exp(z - z.max())
        return e / e.sum()
    ''')


# -- q3: top-p --------------------------------------------------------------------------------------

def _top_p(probs: np.ndarray, p: float, crossing: bool = True) -> tuple[np.ndarray, int]:
    order = np.argsort(-probs, kind="stable")
    cum = np.cumsum(probs[order])
    n = int(np.searchsorted(cum, p)) + (1 if crossing else 0)
    keep = order[:max(n, 1)]
    out = np.zeros_like(probs, dtype=np.float64)
    out[keep] = probs[keep]
    return out / out.sum(), len(keep)


def _check_top_p_filter(top_p_filter) -> str:
    eng = _engine()
    real = _softmax(eng.logits(_chat_ids(eng, "What is a KV cache?"))[-1])
    cum = np.cumsum(np.sort(real)[::-1])
    m = int(np.searchsorted(cum, 0.9))
    p_real = float((cum[m - 1] + cum[m]) / 2 if m > 0 else cum[0] / 2)  # halfway between two totals: no rounding edge
    hand = np.array([0.05, 0.4, 0.1, 0.3, 0.15])
    cases = [(hand, 0.75), (hand, 0.5), (hand, 0.01), (hand, 1.0), (real, p_real)]
    kept = None
    for probs, p in cases:
        before = probs.copy()
        got = _as_probs(call(top_p_filter, probs, p), len(probs), "top_p_filter")
        if not np.array_equal(probs, before):
            raise Incorrect(t("top_p_filter() changed the probabilities it was given: build a new array "
                              "(np.zeros_like(probs), or probs.copy()) instead."))
        want, n = _top_p(probs, p)
        if np.allclose(got, want, atol=1e-8):
            kept = n
            continue
        short, n_short = _top_p(probs, p, crossing=False)
        if n_short >= 1 and np.allclose(got, short, atol=1e-8):
            raise Incorrect(t("with p={p:g} you kept {n_short} token(s); top-p keeps {n}: also keep the token "
                              "that takes the running total to p or past it (the smallest set adding up to at "
                              "least p).", p=p, n_short=n_short, n=n))
        if np.allclose(np.sort(got)[::-1], np.sort(want)[::-1], atol=1e-8):
            raise Incorrect(t("the right values, in the wrong places: keep each probability at its token's "
                              "index (zero the others); do not return the sorted array."))
        if np.count_nonzero(got) == n and abs(got.sum() - 1) > 1e-6:
            raise Incorrect(t("the right {n} token(s) kept, but they sum to {v:.4g}: divide by their sum so "
                              "the result is a distribution again.", n=n, v=got.sum()))
        raise Incorrect(t("with probs={v} and p={p:g}, top-p keeps {n} token(s) (the most likely ones until "
                          "they add up to at least p), renormalised; you kept {v2} and the result sums to "
                          "{v3:.4g}.",
                          v=np.round(probs, 3).tolist() if len(probs) < 10 else '(the model)', p=p, n=n, v2=np.count_nonzero(got), v3=got.sum()))
    return (t("the nucleus filter: most likely tokens first, up to and including the one that reaches p, "
              "renormalised (at p={p_real:.3f} the model's distribution keeps {kept} tokens).",
              p_real=p_real, kept=kept))


q3 = Problem(
    "q3", "top_p_filter", _check_top_p_filter,
    hint="order = np.argsort(-probs); cum = np.cumsum(probs[order]); n = np.searchsorted(cum, p) + 1; "
         "keep = order[:n]; out = np.zeros_like(probs); out[keep] = probs[keep]; return out / out.sum().",
    solution='''
    import numpy as np

    def top_p_filter(probs, p):
        order = np.argsort(-probs)
        cum = np.cumsum(probs[order])
        n = int(np.searchsorted(cum, p)) + 1
        keep = order[:n]
        out = np.zeros_like(probs, dtype=float)
        out[keep] = probs[keep]
        return out / out.sum()
    ''')


# -- q4: a greedy loop on the KV cache --------------------------------------------------------------

class _CountingEmbed:
    """The embedding table, counting the positions looked up: one per token `forward` runs."""

    def __init__(self, table: np.ndarray, counter: list[int]):
        self._table, self._counter = table, counter

    def __getitem__(self, idx):
        rows = self._table[idx]
        self._counter[0] += 1 if rows.ndim == 1 else rows.shape[0]
        return rows

    def __array__(self, dtype=None, copy=None):
        return self._table if dtype is None else self._table.astype(dtype)

    def __getattr__(self, name):
        return getattr(self._table, name)


class _CountingWeights:
    """The model's weights as `forward` and `KVCache` use them, counting the tokens fed."""

    def __init__(self, w):
        self._w = w
        self.fed = [0]
        self.embed = _CountingEmbed(w.embed, self.fed)

    def __getattr__(self, name):
        return getattr(self._w, name)


def _greedy_reference(w, ids: list[int], n: int, stop_id: int) -> list[int]:
    from llmkit.engine.transformer import KVCache, forward

    cache = KVCache(w, len(ids) + n + 1)
    logits = forward(w, list(ids), cache)
    out: list[int] = []
    for _ in range(n):
        nid = int(np.argmax(logits))
        if nid == stop_id:
            break
        out.append(nid)
        logits = forward(w, [nid], cache)
    return out


def _ids_list(got, name: str) -> list[int]:
    if got is None:
        raise Incorrect(t("{name}() returned None: return the list of new token ids.", name=name))
    try:
        return [int(i) for i in got]
    except (TypeError, ValueError):
        raise Incorrect(t("{name}() returned {kind}; expected a list of token ids (ints).",
                          name=name, kind=type(got).__name__)) from None


def _check_greedy(greedy) -> str:
    eng = _engine()
    prompt = _chat_ids(eng, "What is a KV cache?")
    n = 12
    full = _greedy_reference(eng.w, prompt, n, stop_id=-1)
    j = next((i for i in range(2, len(full)) if full[i] not in full[:i]), None)
    cases = [(eng.tok.end_id, _greedy_reference(eng.w, prompt, n, eng.tok.end_id))]
    if j is not None:
        cases.append((full[j], full[:j]))  # a stop token the model is sure to reach: stopping is tested
    for stop_id, want in cases:
        w = _CountingWeights(eng.w)
        got = _ids_list(call(greedy, w, list(prompt), n, stop_id), "greedy")
        if w.fed[0] == 0:
            raise Incorrect(t("greedy() never ran the weights it was given: call forward(w, ..., cache) with "
                              "the `w` passed in (not eng.logits or another model)."))
        if got[:len(prompt)] == prompt and len(got) > len(prompt):
            raise Incorrect(t("return only the new tokens, not the prompt followed by them."))
        if got == want + [stop_id]:
            raise Incorrect(t("stop BEFORE the stop token: when the model picks stop_id ({stop_id}), end the "
                              "loop without adding it.", stop_id=stop_id))
        if got != want:
            i = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            if i < min(len(got), len(want)):
                why = t("token {i} should be {want} ({piece!r}), yours is {got}", i=i, want=want[i],
                        piece=eng.tok.decode([want[i]]), got=got[i])
            else:
                why = t("expected {want} tokens, got {got}", want=len(want), got=len(got))
            raise Incorrect(t("greedy decoding of {n} tokens differs: {why}. Each step picks "
                              "np.argmax(logits); feed the prompt once, then only the newest token, into the "
                              "same cache; stop at stop_id or after n tokens.",
                              n=n, why=why))
        most = len(prompt) + len(want) + 1
        if w.fed[0] > most:
            raise Incorrect(t("the right tokens, but {v} positions went through the model; with a KV cache it "
                              "takes at most {most}: run the prompt once into a KVCache, then feed only the "
                              "newest token (forward(w, [token], cache)).",
                              v=w.fed[0], most=most))
    return (t("greedy decoding on a KV cache: the prompt ran once, then one position per new token ({n_prompt} "
              "+ {n_x} positions instead of recomputing everything each step).",
              n_prompt=len(prompt), n_x=len(cases[0][1])))


q4 = Problem(
    "q4", "greedy", _check_greedy,
    hint="cache = KVCache(w); logits = forward(w, ids, cache); then n times: t = int(np.argmax(logits)); "
         "if t == stop_id: break; out.append(t); logits = forward(w, [t], cache).",
    solution='''
    import numpy as np
    from llmkit.engine.transformer import KVCache, forward

    def greedy(w, ids, n, stop_id):
        cache = KVCache(w)
        logits = forward(w, list(ids), cache)
        out = []
        for _ in range(n):
            token = int(np.argmax(logits))
            if token == stop_id:
                break
            out.append(token)
            logits = forward(w, [token], cache)
        return out
    ''')


# -- q5: parameters and memory ---------------------------------------------------------------------

def _count(cfg: dict, *, kv: bool = True, head_dim: bool = True, norms: bool = True, tied: bool | None = None,
           mlp: int = 3) -> int:
    d, L, F, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"], cfg["vocab_size"]
    H = cfg["num_attention_heads"]
    KV = (cfg.get("num_key_value_heads") or H) if kv else H
    hd = (cfg.get("head_dim") or d // H) if head_dim else d // H
    attention = d * H * hd + 2 * d * KV * hd + H * hd * d
    layer = attention + mlp * d * F + (2 * d if norms else 0)
    tie = cfg.get("tie_word_embeddings", False) if tied is None else tied
    return V * d + L * layer + (d if norms else 0) + (0 if tie else V * d)


# configs written out from each model's config.json; the checks only need the formula to hold
LLAMA_31_8B = {"vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
               "num_attention_heads": 32, "num_key_value_heads": 8, "tie_word_embeddings": False}
LLAMA_32_3B = {"vocab_size": 128256, "hidden_size": 3072, "intermediate_size": 8192, "num_hidden_layers": 28,
               "num_attention_heads": 24, "num_key_value_heads": 8, "head_dim": 128, "tie_word_embeddings": True}
WIDE_HEADS = {"vocab_size": 151936, "hidden_size": 5120, "intermediate_size": 25600, "num_hidden_layers": 64,
              "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 128, "tie_word_embeddings": False}
DEFAULTS = {"vocab_size": 32000, "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22,
            "num_attention_heads": 32}  # no KV heads, head_dim or tying given: the defaults apply


def _check_params(count_params, memory_gb) -> str:
    eng = _engine()
    own = dict(eng.w.config)
    cases = [("this course's model", own, eng.w.n_params), ("Llama 3.1 8B", LLAMA_31_8B, _count(LLAMA_31_8B)),
             ("Llama 3.2 3B", LLAMA_32_3B, _count(LLAMA_32_3B)),
             ("a config whose head_dim is not hidden_size / heads", WIDE_HEADS, _count(WIDE_HEADS)),
             ("a config without num_key_value_heads, head_dim or tie_word_embeddings", DEFAULTS, _count(DEFAULTS))]
    for name, cfg, want in cases:
        got = call(count_params, dict(cfg))
        if got is None or isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
            raise Incorrect(t("count_params() returned {got!r}; expected a number of parameters (an int).",
                              got=got))
        if got == want:
            continue
        known = [
            (dict(kv=False), t("k_proj and v_proj have num_key_value_heads × head_dim outputs each (grouped-query "
                               "attention), not one per query head")),
            (dict(head_dim=False), t("use head_dim from the config when it is there (q_proj has num_attention_heads "
                                     "× head_dim outputs, which need not equal hidden_size)")),
            (dict(norms=False), t("count the RMSNorm weights too: two per layer and one final, hidden_size each")),
            (dict(tied=not bool(cfg.get("tie_word_embeddings", False))),
             t("the output layer is a separate vocab_size × hidden_size matrix unless tie_word_embeddings is true")),
            (dict(mlp=2), t("the SwiGLU MLP has three matrices (gate, up, down), each hidden_size × "
                            "intermediate_size")),
        ]
        for variant, why in known:
            if got == _count(cfg, **variant):
                raise Incorrect(t("for {name} you counted {v:,}; expected {want:,}: {why}.",
                                  name=name, v=int(got), want=want, why=why))
        raise Incorrect(t("for {name} you counted {got:,}; expected {want:,} (embedding + per layer: attention "
                          "q, k, v, o + MLP gate, up, down + 2 norms; a final norm; an output layer unless "
                          "tied).", name=name, got=got, want=want))
    n8b = _count(LLAMA_31_8B)
    for n, bits in ((n8b, 16), (n8b, 8), (n8b, 4), (eng.w.n_params, 32)):
        got = call(memory_gb, n, bits)
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise Incorrect(t("memory_gb() returned {got!r}; expected a number of gigabytes.", got=got)) from None
        want = n * bits / 8 / 1e9
        if abs(got - want) <= 1e-9 * max(1.0, want):
            continue
        if abs(got - n * bits / 8 / 2**30) <= 1e-9 * max(1.0, want):
            raise Incorrect(t("a GB here is 10**9 bytes (as disk and download sizes are given): divide by 1e9, "
                              "not 2**30."))
        if abs(got - n * bits / 1e9) <= 1e-9 * max(1.0, want):
            raise Incorrect(t("that is gigaBITS: divide bits by 8 to get bytes per parameter."))
        raise Incorrect(t("memory_gb({n:,}, {bits}) should be {want:.4g} GB (parameters × bits / 8 bytes, in "
                          "10**9 bytes); got {got:.4g}.",
                          n=n, bits=bits, want=want, got=got))
    return (t("parameters from the config (this model: {n_params:,}, exactly what its weights hold; Llama 3.1 "
              "8B: {v:.2f} billion) and their memory: {v2:.1f} GB at 16 bits, {v3:.1f} GB at 4 bits.",
              n_params=eng.w.n_params, v=n8b / 1000000000.0, v2=n8b * 2 / 1000000000.0, v3=n8b / 2 / 1000000000.0))


q5 = Problem(
    "q5", ("count_params", "memory_gb"), _check_params,
    hint="hd = cfg.get('head_dim') or d // H; KV = cfg.get('num_key_value_heads') or H; attention = d·H·hd "
         "(q) + 2·d·KV·hd (k, v) + H·hd·d (o); MLP = 3·d·F; norms 2·d per layer + d; embeddings V·d, twice "
         "unless tie_word_embeddings. memory_gb = n_params · bits / 8 / 1e9.",
    solution='''
    def count_params(cfg):
        d, L, F, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"], cfg["vocab_size"]
        H = cfg["num_attention_heads"]
        KV = cfg.get("num_key_value_heads") or H
        hd = cfg.get("head_dim") or d // H
        attention = d * H * hd + 2 * d * KV * hd + H * hd * d  # q, k and v, o
        mlp = 3 * d * F                                         # gate, up, down
        norms = 2 * d                                           # before attention, before the MLP
        embeddings = V * d if cfg.get("tie_word_embeddings", False) else 2 * V * d
        return embeddings + L * (attention + mlp + norms) + d  # + the final norm

    def memory_gb(n_params, bits):
        return n_params * bits / 8 / 1e9
    ''')
