"""Offline model v2: a small Llama-style decoder-only transformer, run in numpy.

The network is the standard Llama block (RMSNorm, rotary positions, grouped attention
with causal masking, SwiGLU feed-forward; tied input/output embeddings), trained by
`python -m llmkit.engine.train_transformer` on the course corpus in chat-template form.
Its weights are stored once, in Hugging Face format under `data/transformer-v2/hf/`
(config.json, model.safetensors, tokenizer.json): this module reads the safetensors file
itself, so inference needs numpy and `tokenizers` only, never torch.

Generation reuses the shared decode loop (`sampling.decode`): this engine only supplies
`next_probs(ids)`, which feeds the tokens the KV cache has not seen yet (the whole prompt
on the first call, then one token per step) and returns the softmax of the last logits.
Every generation owns its KV cache, so interleaved streams never mix. A token that would
repeat a 6-gram already generated is blocked (no degenerate loops).

Answers are retrieval-augmented by default (`guide.py`): the question's nearest corpus
entries are reranked by the network and their answers mixed into each step's
distribution. `TransformerEngine(retrieval=False)` (or LLMKIT_V2_RETRIEVAL=0) is the
bare network, exactly what the Hugging Face export computes.

Embeddings are the model's own: mean-pooled hidden states (a middle layer and the last
one) through a small linear head trained contrastively on paraphrases, rotated so that
the leading components carry the most variance (`dimensions=k` keeps the first k).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import struct
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import copying, decision, extraction, follow, results, scheduler, tools
from .kvcache import KVCache  # noqa: F401 (KVCache's home was here: lessons and checks import it from here)
from .base import EngineInputError, Generation, SamplingParams, TokenCounting, require_text
from .guide import Guide
from .sampling import decode, no_repeat
from .tokenizer import Tokenizer

DATA_DIR = Path(__file__).parent / "data" / "transformer-v2"
DATA_DIRS = {"transformer-v2": DATA_DIR,  # v3 is v2's network trained on, with the same code and tokenizer
             "transformer-v3": Path(__file__).parent / "data" / "transformer-v3"}
CONTEXT = 8192  # the context the APIs advertise and enforce (as v1); the network reads the latest turns (`visible`)
REPLY_ROOM = 256  # tokens kept free for the reply when a long prompt is cut to the network's window
HF_DIR = DATA_DIR / "hf"
REPLY_GUESS = 64  # KV positions held for a reply from the start; a longer one grows its cache
NO_REPEAT_NGRAM = 6

_DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """Tensors of a .safetensors file (8-byte header length, JSON header, raw little-endian data)."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] == "BF16":
            a, b = meta["data_offsets"]
            u = np.frombuffer(raw, dtype="<u2", count=(b - a) // 2, offset=base + a).astype(np.uint32) << 16
            out[name] = u.view(np.float32).reshape(meta["shape"])
            continue
        dt = np.dtype(_DTYPES[meta["dtype"]]).newbyteorder("<")
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(raw, dtype=dt, count=(b - a) // dt.itemsize, offset=base + a).reshape(meta["shape"])
    return out


def write_safetensors(path: str | Path, tensors: dict[str, np.ndarray], metadata: dict | None = None) -> None:
    """Write numpy arrays as .safetensors (what `safetensors.numpy.save_file` writes)."""
    names = {np.dtype(np.float16): "F16", np.dtype(np.float32): "F32", np.dtype(np.int64): "I64", np.dtype(np.int32): "I32"}
    header: dict = {"__metadata__": metadata or {"format": "pt"}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": names[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def rope_tables(n_pos: int, head_dim: int, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin of the rotary angles, (n_pos, head_dim/2), Hugging Face's "rotate half" layout."""
    inv = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim))
    ang = np.outer(np.arange(n_pos, dtype=np.float64), inv)
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


class Weights:
    """The network's arrays in float32, fused for few, large matrix products."""

    def __init__(self, hf_dir: Path = HF_DIR):
        cfg = json.loads((hf_dir / "config.json").read_text())
        self.config = cfg
        t = read_safetensors(hf_dir / "model.safetensors")
        self.n_params = int(sum(a.size for k, a in t.items() if k != "lm_head.weight"))
        self.d = cfg["hidden_size"]
        self.n_layers = cfg["num_hidden_layers"]
        self.n_heads = cfg["num_attention_heads"]
        self.n_kv = cfg.get("num_key_value_heads") or self.n_heads
        self.head_dim = cfg.get("head_dim") or self.d // self.n_heads
        self.eps = float(cfg.get("rms_norm_eps", 1e-5))
        self.vocab = cfg["vocab_size"]
        self.n_pos = cfg["max_position_embeddings"]
        theta = cfg.get("rope_theta") or (cfg.get("rope_parameters") or {}).get("rope_theta", 10000.0)
        f32 = lambda k: np.ascontiguousarray(t[k], dtype=np.float32)  # noqa: E731
        self.embed = f32("model.embed_tokens.weight")  # (V, d); also the output layer
        self.lm_head = f32("lm_head.weight") if "lm_head.weight" in t else self.embed
        self.final_norm = f32("model.norm.weight")
        self.head = np.ascontiguousarray(self.lm_head * self.final_norm)  # final norm folded in, (V, d)
        self.layers = []
        for i in range(self.n_layers):
            p = f"model.layers.{i}."
            q, k, v = (f32(p + f"self_attn.{n}_proj.weight") for n in "qkv")
            # RMSNorm's weight is folded into the matrix that follows it: (x/rms * g) @ W = (x/rms) @ (g[:, None] * W)
            g_attn = f32(p + "input_layernorm.weight")[:, None]
            g_mlp = f32(p + "post_attention_layernorm.weight")[:, None]
            self.layers.append({
                "qkv": np.ascontiguousarray(g_attn * np.concatenate([q, k, v]).T),  # (d, (H + 2 KV) hd)
                "o": np.ascontiguousarray(f32(p + "self_attn.o_proj.weight").T),
                "gate_up": np.ascontiguousarray(g_mlp * np.concatenate(
                    [f32(p + "mlp.gate_proj.weight"), f32(p + "mlp.up_proj.weight")]).T),  # (d, 2F)
                "down": np.ascontiguousarray(f32(p + "mlp.down_proj.weight").T),
            })
        self.ffn = self.layers[0]["down"].shape[0]
        self.cos, self.sin = rope_tables(self.n_pos, self.head_dim, float(theta))


def _rms(x: np.ndarray, eps: float) -> np.ndarray:
    """RMSNorm without its gain (folded into the next matrix)."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)


def _rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """x: (heads, T, hd); cos/sin: (T, hd/2)."""
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def forward(w: Weights, ids: list[int], cache: KVCache | None = None, want: str = "last",
            positions: np.ndarray | None = None, mask: np.ndarray | None = None) -> np.ndarray:
    """Run the new tokens `ids` after what `cache` holds (or from scratch without a cache).

    want="last": logits of the last position (V,); "logits": all positions (T, V);
    "hidden": (middle layer, final normed) hidden states, each (T, d), for embeddings.
    `positions` and `mask` (T, cached + T) replace the usual consecutive positions and
    causal mask: several continuations of one prompt can then run in one pass (`branches`).
    With one BLAS thread, whoever calls it (lesson 9 calls it from a notebook).
    """
    with one_blas_thread():
        return _forward(w, ids, cache, want, positions, mask)


def _forward(w: Weights, ids: list[int], cache: KVCache | None, want: str,
             positions: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
    T = len(ids)
    start = cache.n if cache is not None else 0
    pos = np.arange(start, start + T) if positions is None else positions
    if start + T > w.n_pos or pos.max(initial=0) >= w.n_pos:
        raise EngineInputError(f"sequence longer than the model's {w.n_pos} positions", param="messages",
                               code="context_length_exceeded")
    H, KV, hd = w.n_heads, w.n_kv, w.head_dim
    group = H // KV
    x = w.embed[np.asarray(ids, dtype=np.int64)]  # (T, d)
    cos, sin = w.cos[pos], w.sin[pos]
    scale = np.float32(1.0 / np.sqrt(hd))
    if cache is not None:
        cache.reserve(start + T)
    if mask is None and T > 1:
        mask = np.triu(np.full((T, start + T), -np.inf, dtype=np.float32), k=start + 1)
    mid = None
    for li, L in enumerate(w.layers):
        h = _rms(x, w.eps)
        qkv = h @ L["qkv"]  # (T, (H + 2KV) hd)
        q = qkv[:, :H * hd].reshape(T, H, hd).transpose(1, 0, 2)
        k = qkv[:, H * hd:(H + KV) * hd].reshape(T, KV, hd).transpose(1, 0, 2)
        v = qkv[:, (H + KV) * hd:].reshape(T, KV, hd).transpose(1, 0, 2)
        q = _rope(q, cos, sin)
        k = _rope(k, cos, sin)
        if cache is not None:
            cache.k[li][:, start:start + T] = k
            cache.v[li][:, start:start + T] = v
            K, V = cache.k[li][:, :start + T], cache.v[li][:, :start + T]
        else:
            K, V = k, v
        if group > 1:
            K, V = np.repeat(K, group, axis=0), np.repeat(V, group, axis=0)
        s = (q @ K.transpose(0, 2, 1)) * scale  # (H, T, S)
        if mask is not None:
            s = s + mask
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        s /= s.sum(axis=-1, keepdims=True)
        a = (s @ V).transpose(1, 0, 2).reshape(T, H * hd)
        x = x + a @ L["o"]
        h = _rms(x, w.eps)
        gu = h @ L["gate_up"]
        g, u = gu[:, :w.ffn], gu[:, w.ffn:]
        x = x + (0.5 * g * (1.0 + np.tanh(0.5 * g)) * u) @ L["down"]  # SiLU(g) * u, overflow-free
        if li == w.n_layers // 2 - 1:
            mid = x
    if cache is not None:
        cache.n = start + T
        cache.ids.extend(int(i) for i in ids)
    x = _rms(x, w.eps)
    if want == "hidden":
        return mid, x * w.final_norm
    if want == "logits":
        return x @ w.head.T
    return w.head @ x[-1]


_blas = None
_held = threading.local()  # .on: this thread runs under one_blas_thread() already


@contextlib.contextmanager
def one_blas_thread():
    """Run the network with one BLAS thread: its matrices are small, and with OpenBLAS's
    default (a thread per core) a busy machine makes each step 10-100x slower. Nested in the
    same thread it does nothing more."""
    global _blas
    if getattr(_held, "on", False):
        yield
        return
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()
    with _blas.limit(limits=1, user_api="blas"):
        _held.on = True
        try:
            yield
        finally:
            _held.on = False


def branches(w: Weights, cache: KVCache, seqs: list[list[int]]) -> np.ndarray:
    """Logits (sum of lengths, V) of several continuations of what `cache` holds, in one
    pass: each sequence sits at the positions right after the cache and attends to the
    cache and to itself only (a block-diagonal causal mask). The cache is not changed."""
    n = cache.n
    lengths = [len(q) for q in seqs]
    T = sum(lengths)
    positions = np.concatenate([np.arange(n, n + k) for k in lengths])
    mask = np.full((T, n + T), -np.inf, dtype=np.float32)
    mask[:, :n] = 0.0
    at = 0
    for k in lengths:
        mask[at:at + k, n + at:n + at + k] = np.triu(np.full((k, k), -np.inf, dtype=np.float32), k=1)
        at += k
    return forward(w, [t for q in seqs for t in q], cache.fork(T), want="logits", positions=positions, mask=mask)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z = np.exp(z - z.max())
    return z / z.sum()


class TransformerEngine(TokenCounting):
    name = "llmkit-transformer-v2"

    def __init__(self, data_dir: Path = DATA_DIR, retrieval: bool | None = None):
        data_dir = Path(data_dir)
        if data_dir.name in DATA_DIRS:
            self.name = f"llmkit-{data_dir.name}"
        hf = data_dir / "hf"
        self.w = Weights(hf)
        self.tok = Tokenizer.load(hf / "tokenizer.json")
        self.vocab = self.w.vocab
        self.window = self.w.n_pos  # positions the network was trained on (1,024)
        self.context_length = max(CONTEXT, self.window)
        e = np.load(data_dir / "embed.npz")
        self.emb_w = e["weight"].astype(np.float32)  # (2d, D), rotated by PCA
        self.emb_b = e["bias"].astype(np.float32)
        self.max_dim = self.emb_w.shape[1]
        self.parameters = self.w.n_params + int(self.emb_w.size + self.emb_b.size)
        self.files = [hf / "config.json", hf / "model.safetensors", hf / "tokenizer.json", data_dir / "embed.npz"]
        # sampling defaults the model ships, as HF models do (transformers and vLLM apply them too):
        # min_p keeps a sampled reply on its answer at temperature 1 (see sampling.choose)
        gen_cfg = hf / "generation_config.json"
        self.default_min_p = float(json.loads(gen_cfg.read_text(encoding="utf-8")).get("min_p") or 0.0) \
            if gen_cfg.exists() else 0.0
        info = data_dir / "info.json"
        # trained with structured-output conversations that say so in the system turn (tools.json_block)
        self.json_marker = bool(info.exists() and json.loads(info.read_text(encoding="utf-8")).get("json_marker"))
        if retrieval is None:
            retrieval = os.environ.get("LLMKIT_V2_RETRIEVAL", "1") != "0"
        index = data_dir / "retrieval.npz"
        self.guide = Guide.load(index, self.tok) if retrieval and index.exists() else None
        if index.exists():
            self.files.append(index)
        self._scheduler = None

    # -- interface -------------------------------------------------------------------
    def as_read(self, messages: list[dict]) -> list[dict]:
        return _attachments_asked(messages)

    def generate(self, messages: list[dict], params: SamplingParams) -> Generation:
        require_text(messages)
        specs = tools.check_tools(params.tools, params.tool_choice) if params.tools else None  # 4xx before any work
        prompt = self.render_prompt(messages, specs, json_schema=params.json_schema if self.json_marker else None)
        if len(prompt) >= self.context_length:
            raise EngineInputError(
                f"This model's maximum context length is {self.context_length} tokens. "
                f"However, your messages resulted in {len(prompt)} tokens.",
                param="messages", code="context_length_exceeded")
        if params.sentences is None:  # "in 2 sentences": the reply ends after two (engine/follow.py)
            params = replace(params, sentences=follow.requested_limit(messages))
        if params.min_p is None:
            params = replace(params, min_p=self.default_min_p)
        seen = self.visible(prompt)
        room = self.window - len(seen)
        want = room if params.max_tokens is None else min(room, max(params.max_tokens, 0))
        structured = params.json_schema is not None or params.json_object
        capacity, query = len(seen) + min(want, REPLY_GUESS) + 1, question(messages)
        # the corpus' answers never override a tool decision or a result; with "auto" the network's odds of
        # starting a call are kept from them at the first step (`keep`) and mixed with the tool conversations'
        # prior instead (below), and a text reply keeps retrieval's honesty ("What is three plus one?" with
        # calculator tools had got "1 + 1 = 2." from the network alone)
        mode = tools.retrieval_mode(messages, params)
        # the training data's say on calling, and which tool (engine/decision.py): retrieval, off with it
        if self.guide is not None and params.tools and params.tool_choice != "none" and params.call_prior is None:
            params = replace(params, call_prior=decision.tool_priors(messages, params.tools))
        keep = tools.marker_starts(self.tok) if mode == "text" else None
        if mode == "none":
            query = None
        batched = scheduler.enabled()
        # after a tool result, the training answer that fits it, with its values (engine/results.py), is
        # followed as retrieval's answers are; with tools still offered ("auto"), whether to call again is
        # the network's own decision at the first step
        written = self.result_answer(messages, params)
        if written:
            query = Query([written])
            query.written = written
            keep = tools.marker_starts(self.tok) if params.tools else None
        # a call's arguments and the answer after a result copy the conversation where the network is unsure
        copier = (copying.Copier(self.tok, copying.sources(messages), after_result=messages[-1].get("role") == "tool",
                                 known=copying.tool_words(params.tools))
                  if (params.tools or messages[-1].get("role") == "tool") and not written else None)
        # structured outputs: string values written as the plain answer (sampling.decode), unless the user
        # gave data, not a question, that the model has no answer to ("Extract the event." / "Alice and Bob
        # are going to a science fair on Friday."): then values are copied from it, as a tool call's
        # arguments are, while a phrase of it is left to copy (then the plain answer: "I don't know that").
        # A question it cannot answer keeps its honest "I don't know" in the values.
        extract = structured and copier is None and query is not None and self.guide is not None \
            and not copying.asks(messages) and self.guide.declines(query)
        if extract:  # which phrase goes under which key: a training pattern's, where one matches (extraction.py)
            data = copying.sources(messages)
            copier = copying.Copier(self.tok, data, json_reply=True, known=copying.schema_words(params.json_schema),
                                    preferred=extraction.values(data[0], params.json_schema)
                                    if data and isinstance(params.json_schema, dict) else None)
        repeats = self.guide.repeats(NO_REPEAT_NGRAM) if self.guide else None  # an answer's own repeats copy
        gen = decode(self.tok, seen, _batched if batched else self.stepper(capacity=capacity, query=query, keep=keep),
                     params, self.window, penalize=no_repeat(NO_REPEAT_NGRAM, repeats), copier=copier,
                     answer_probs=(_batched if batched else self.stepper(capacity=len(seen) + 128, query=query))
                     if structured else None)
        gen.prompt_tokens = len(prompt)  # usage counts the whole prompt, as a provider bills it
        if batched:  # the network steps of all replies run together (engine/scheduler.py)
            return self.scheduler.generation(gen, capacity, query, keep)
        return gen

    def result_answer(self, messages: list[dict], params: SamplingParams) -> str | None:
        """The answer templates write after the conversation's tool results (engine/results.py), one
        sentence per result of the assistant's last calls (the OpenAI cookbook's three cities), in the
        language asked for or the question's; None where a result fits no template, the reply must be a
        call (tool_choice "required" or a named tool), or the last turn is not a result."""
        if self.guide is None or not messages or messages[-1].get("role") != "tool":
            return None
        if params.tools and getattr(params, "tool_choice", "auto") not in ("auto", "none", None):
            return None
        i = len(messages)
        while i > 0 and messages[i - 1].get("role") == "tool":
            i -= 1
        calls = messages[i - 1].get("tool_calls") or [] if i > 0 and messages[i - 1].get("role") == "assistant" else []
        done = messages[i:]
        if not calls or len(calls) != len(done):
            return None
        typed = _question(messages[:i - 1])
        if not typed:
            return None
        lang = follow.requested_language(messages) or self.guide.question_lang(typed[0])
        by_id = {c.get("id"): c for c in calls}
        said = []
        for call_at, m in enumerate(done):
            call = by_id.get(m.get("tool_call_id")) or calls[call_at]
            args = call.get("arguments")
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except ValueError:
                    args = None
            spec = next((t for t in params.tools or [] if getattr(t, "name", None) == call.get("name")), None)
            one = results.answer(follow._text(m), args if isinstance(args, dict) else None,
                                 spec or {"name": call.get("name") or m.get("name") or ""}, typed[0], lang)
            if one is None:
                return None
            said.append(one)
        return " ".join(said)

    @property
    def scheduler(self) -> "scheduler.Scheduler":
        with _engine_lock:
            if self._scheduler is None:
                self._scheduler = scheduler.Scheduler(self)
            return self._scheduler

    def visible(self, prompt: list[int]) -> list[int]:
        """What the network reads of a prompt: all of it when it fits its window with room for a
        reply; else the latest turns that do (cut at a turn boundary, like Ollama's truncation)."""
        keep = self.window - REPLY_ROOM
        if len(prompt) + REPLY_ROOM <= self.window:
            return prompt
        tail = prompt[-keep:]
        roles = {self.tok.special[r] for r in ("<|system|>", "<|user|>", "<|assistant|>")}
        starts = [i for i, t in enumerate(tail[:-1]) if t in roles]  # not the final <|assistant|>
        return tail[starts[0]:] if starts else tail

    def stepper(self, capacity: int = 256, query: str | list[str] | None = None, keep=None):
        """A `next_probs(ids)` with its own KV cache: feeds only the ids it has not seen.
        With a `query` and retrieval on, the first call (the prompt) also retrieves and
        reranks candidate answers, and every call mixes them in (`guide.py`); at the first
        step the tokens `keep` keep the network's own odds (Guide.mix)."""
        cache = KVCache(self.w, capacity)
        guide = self.guide if query else None
        weights: list[tuple[int, float]] | None = None
        start = 0

        def next_probs(ids: list[int]) -> np.ndarray:
            nonlocal cache, weights, start
            n = cache.n
            if len(ids) <= n or cache.ids != ids[:n]:  # not an extension of what we ran: start over
                cache = KVCache(self.w, len(ids) + 64)
                n, weights = 0, None
            with one_blas_thread():
                p = softmax(forward(self.w, ids[n:], cache))
                if guide is None:
                    return p
                if weights is None:  # the prompt: retrieve and rerank once
                    start = len(ids)
                    cands = guide.candidates(query)
                    weights = guide.weigh(cands, np.log(np.maximum(p, 1e-30)),
                                          lambda seqs: self._loglik(cache, seqs), query) if cands else []
            return guide.step(p, weights, ids[start:], keep) if weights else p

        return next_probs

    def _loglik(self, cache: KVCache, seqs: list[list[int]]) -> list[float]:
        """log p(s[1:] | what `cache` holds, s[0]) for each s, in one pass (`branches`)."""
        if not seqs:
            return []
        logits = branches(self.w, cache, [s[:-1] for s in seqs]).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        out, at = [], 0
        for s in seqs:
            out.append(float(sum(logp[at + i, t] for i, t in enumerate(s[1:]))))
            at += len(s) - 1
        return out

    def embed(self, texts: list[str], dimensions: int | None = None) -> np.ndarray:
        k = dimensions or self.max_dim
        if not 1 <= k <= self.max_dim:
            raise ValueError(f"dimensions must be between 1 and {self.max_dim}, got {k}")
        out = np.zeros((len(texts), k), dtype=np.float32)
        with one_blas_thread():  # as for generation: a busy machine makes BLAS threads 10x slower
            for i, text in enumerate(texts):
                out[i] = self.pooled_embedding(text)[:k]
        out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-9
        return out

    def pooled_embedding(self, text: str) -> np.ndarray:
        ids = self.tok.encode(text)[: self.window] or [self.tok.end_id]
        mid, last = forward(self.w, ids, None, want="hidden")
        pooled = np.concatenate([mid.mean(axis=0), last.mean(axis=0)])
        return pooled @ self.emb_w + self.emb_b

    # -- evaluation helpers ----------------------------------------------------------
    def logits(self, ids: list[int]) -> np.ndarray:
        """Logits at every position of `ids` (T, V), one pass without a cache."""
        return forward(self.w, ids, None, want="logits")


def _batched(ids: list[int]) -> np.ndarray:
    raise RuntimeError("this generation's network steps are run by the scheduler: iterate it, don't drive it")


# how the gateway writes a part the model cannot read ("[image attached: image/png]"): what the
# text-only model must answer first is whether it can see it, so that is what retrieval looks up
_ATTACHED = re.compile(r"\[(image|audio|video|file|document) attached[^\]]*\]")


_SEE = {"en": ("can you see this {}?", {}),
        "es": ("¿puedes ver {}?", {"image": "esta imagen", "audio": "este audio", "video": "este vídeo",
                                    "file": "este archivo", "document": "este documento"})}


def _attached_questions(turn: str) -> list[str]:
    """The question each attached part of a turn raises, in the language of the turn's own words
    ("Describe esta imagen" with an image: "¿puedes ver esta imagen?", so the answer is in Spanish)."""
    from .corpus import detect_lang

    template, names = _SEE[detect_lang(_ATTACHED.sub(" ", turn))]
    return [template.format(names.get(m[1], m[1])) for m in _ATTACHED.finditer(turn)]


def _attachments_asked(messages: list[dict]) -> list[dict]:
    """The conversation as the network reads it: an attached part's note ("[image attached: ...]", which
    it never saw in training) as the question it raises, in the turn's language, at the turn's end (what
    the reply answers first), as retrieval looks it up."""
    def asked(m: dict) -> dict:
        c = m.get("content")
        if m.get("role") != "user" or not isinstance(c, str) or not _ATTACHED.search(c):
            return m
        rest = " ".join(_ATTACHED.sub(" ", c).split())  # the question last: it is what the reply answers
        return {**m, "content": " ".join([rest] * bool(rest) + _attached_questions(c))}
    return [asked(m) for m in messages]


class Query(list):
    """The texts retrieval looks up, and `lang`: the answers' language a system prompt asks for
    (engine/follow.py), or None for the question's own; `typed`: the texts as the user typed them,
    before form instructions ("in one sentence") were taken out; `subject`: what a system prompt's
    role is about ("You are a JavaScript tutor."), to look the question up with; `name`: the user's name
    where the question asks for it and the conversation has it (engine/follow.py); `written`: an answer
    the conversation writes (after a tool result: engine/results.py), followed instead of the corpus'."""

    lang: str | None = None
    typed: list[str] = []
    subject: str = ""
    name: str | None = None
    greet: str | None = None  # the name an introduction gave: the greeting says it ("Hello, Isa!")
    written: str | None = None  # the reply's text, written from the conversation (a tool result: results.py)


def question(messages: list[dict]) -> Query:
    """What retrieval looks up: the last user turn, and for a short follow-up ("tell me
    more", "why?") also the turn before it with it; the better match wins (`Guide.candidates`)."""
    typed = _question(messages)
    q = Query(follow.strip_instructions(t) for t in typed)
    q.lang, q.typed, q.subject = follow.requested_language(messages), typed, follow.role_subject(messages)
    q.name = follow.recalled_name(messages)
    q.greet = follow.greeted_name(messages)
    return q


def _question(messages: list[dict]) -> list[str]:
    def text(m):
        c = m.get("content") or ""
        return c if isinstance(c, str) else " ".join(p.get("text", "") for p in c if isinstance(p, dict))
    users = [text(m) for m in messages if m.get("role") == "user"]
    if not users:
        return []
    if _ATTACHED.search(users[-1]):  # whether it can see it comes first, whatever else the turn asks
        return [" ".join(_attached_questions(users[-1]))]
    if len(users) > 1 and len(users[-1].split()) < 4:
        return [users[-1], f"{users[-2]} {users[-1]}"]
    return [users[-1]]


_engines: dict[str, TransformerEngine] = {}
_engine_lock = threading.Lock()


def get(name: str = "transformer-v2") -> TransformerEngine:
    """The engine `name` (a key of DATA_DIRS), loaded once per process."""
    with _engine_lock:
        if name not in _engines:
            data_dir = DATA_DIRS[name]
            if not (data_dir / "hf" / "model.safetensors").exists():
                raise EngineInputError(f"model files missing in {data_dir}: run "
                                       f"`llmkit train {name}` (needs the [train] extra)")
            _engines[name] = TransformerEngine(data_dir)
        return _engines[name]
