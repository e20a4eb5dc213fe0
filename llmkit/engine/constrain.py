"""Constrained decoding: the offline model follows a JSON schema (or writes any JSON object)
token by token, as providers' structured outputs do.

The network still writes every token: at each step the grammar only says which tokens may come
next, the decode loop sets the others' probability to 0 and renormalises (before temperature,
top_p and top_k act), and the end token is allowed only where the grammar accepts. So a reply is
always a valid prefix of an instance, and a complete one when the model ends its turn; a reply
cut by max_tokens is the cut prefix, with finish reason "length", as OpenAI sends it.

The grammar engine is llguidance (Microsoft's Rust library behind Guidance, also used by
llama.cpp and vLLM): no torch, ~8 MB. bench/constrained.py measured it against outlines-core
and lm-format-enforcer on this model's 4,096-token vocabulary: a schema compiles in about a
millisecond (outlines-core builds a vocabulary-wide index: 10-50 ms, growing with the schema,
and cannot express "any JSON object", which recurses) and a step's mask costs ~30 us
(lm-format-enforcer, pure Python: 130-580 us). xgrammar needs torch and transformers at run time.

Interface: `compile(schema, json_object=False, lark=None)` checks a grammar without a model
(ValueError with the reason: for the protocol adapters' 400s) and returns a `Grammar`, cached
(LRU, keyed by the canonical JSON of the schema); `Grammar.matcher(tok)` starts a per-generation
`Matcher` (a copy of one compiled per tokenizer: microseconds). A choice among tools is a Lark
grammar over several `%json{...}` schemas: the same `Grammar`, built with `lark=`.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import OrderedDict
from functools import lru_cache

import numpy as np

from .base import EngineInputError

# The JSON the model writes: `{"key": "value", "n": 1}`, the layout of json.dumps and of the
# course's own examples (so the network meets the byte sequences it learned); no other spacing.
JSON_STYLE = {"item_separator": ", ", "key_separator": ": ", "whitespace_flexible": False}
CACHE_SIZE = 64  # compiled grammars kept (each is a few KB)
# json_object mode ("any JSON object"): the small model never learned JSON keys of its own (left free, it
# writes keys that never close), so its object is {"answer": "<its plain answer>"}: valid, and its own words
ANY_OBJECT = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
              "additionalProperties": False}

_cache: OrderedDict[str, "Grammar"] = OrderedDict()
_cache_lock = threading.Lock()
_tokenizers: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_tok_lock = threading.Lock()
stats = {"compiled": 0, "hits": 0}  # for tests and benchmarks: compiles vs cache hits


def _llg():
    import llguidance

    return llguidance


class Grammar:
    """A checked grammar (llguidance's serialised form); one compiled matcher per tokenizer."""

    def __init__(self, key: str, grammar: str):
        self.key = key
        self.grammar = grammar
        self._matchers: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def matcher(self, tok) -> "Matcher":
        """A fresh matcher for one generation with the model's tokenizer `tok` (engine.tokenizer.Tokenizer)."""
        with self._lock:
            base = self._matchers.get(tok)
            if base is None:
                llg = _llg()
                base = llg.LLMatcher(_ll_tokenizer(tok), self.grammar, log_level=0)
                if base.is_error():
                    raise ValueError(base.get_error())
                self._matchers[tok] = base
            return Matcher(base.deep_copy(), tok.vocab_size, tok.end_id)


class Matcher:
    """Where one generation stands in the grammar: which tokens may come next, and moving on."""

    def __init__(self, m, vocab: int, end_id: int):
        self._m = m
        self.vocab = vocab
        self.end_id = end_id
        self._words = np.zeros((vocab + 31) // 32, dtype=np.int32)

    def allowed(self) -> np.ndarray:
        """Boolean mask (vocab,) of the tokens the grammar allows next (the end token only where it accepts)."""
        self._m.unsafe_compute_mask_ptr(self._words.ctypes.data, self._words.nbytes)
        return np.unpackbits(self._words.view(np.uint8), bitorder="little", count=self.vocab).astype(bool)

    def forced(self) -> int | None:
        """The next token when the grammar leaves no choice (its canonical tokenization of the
        bytes that must come next, e.g. a required key), else None."""
        ff = self._m.compute_ff_tokens()
        return int(ff[0]) if ff else None

    def advance(self, token_id: int) -> None:
        """Move on by an allowed token. The grammar engine can still refuse one at a limit of its own
        (a schema whose instances grow past what it tracks): that is the schema's doing, a 400 (or
        the protocol's error event mid-stream), not a failure of the gateway."""
        if not self._m.consume_token(int(token_id)):
            raise EngineInputError(f"The reply could not go on following the JSON schema: the grammar engine "
                                   f"stopped ({self._m.get_error()}). Simplify the schema.",
                                   param="response_format", code="invalid_json_schema")

    def accepting(self) -> bool:
        """True when the text so far is a complete instance."""
        return self._m.is_accepting()

    def done(self) -> bool:
        """True when nothing but the end can follow."""
        return self._m.is_stopped()


def _ll_tokenizer(tok):
    """llguidance's view of the model's tokenizer (its tokenizer.json), built once per tokenizer (~0.1 s)."""
    with _tok_lock:
        lt = _tokenizers.get(tok)
        if lt is None:
            hf = tok._tok
            flag = hf.encode_special_tokens
            hf.encode_special_tokens = False  # the file as saved
            try:
                spec = hf.to_str()
            finally:
                hf.encode_special_tokens = flag
            lt = _llg().LLTokenizer(spec, n_vocab=tok.vocab_size, eos_token=tok.end_id)
            _tokenizers[tok] = lt
        return lt


def canonical(schema) -> str:
    """The schema's JSON with keys sorted, except the order of `properties` (the order the reply
    writes them in, as providers do): equal schemas share one compiled grammar."""
    def norm(node, ordered=False):
        if isinstance(node, dict):
            keys = list(node) if ordered else sorted(node)
            return {k: norm(node[k], k == "properties" and not ordered and isinstance(node[k], dict)) for k in keys}
        if isinstance(node, list):
            return [norm(v) for v in node]
        return node

    return json.dumps(norm(schema), separators=(",", ":"), ensure_ascii=False)


def compile(schema: dict | None = None, *, json_object: bool = False, lark: str | None = None) -> Grammar:
    """The grammar for a JSON schema (a dict), any JSON object, or a Lark grammar (llguidance's
    dialect, where `%json{...}` embeds a schema): checked, cached by its canonical text.
    Raises ValueError saying what is wrong (not an object, a keyword llguidance cannot honour,
    a broken $ref, an invalid regex pattern...)."""
    if lark is not None:
        key = "lark:" + lark
    else:
        if json_object:
            schema = ANY_OBJECT
        if not isinstance(schema, dict):
            raise ValueError(f"a JSON schema must be an object, got {type(schema).__name__}")
        try:
            key = "json:" + canonical(schema)
        except (TypeError, ValueError) as e:
            raise ValueError(f"the schema is not JSON: {e}") from None
    with _cache_lock:
        g = _cache.get(key)
        if g is not None:
            _cache.move_to_end(key)
            stats["hits"] += 1
            return g
    llg = _llg()
    if lark is not None:
        text = llg.LLMatcher.grammar_from_lark(lark)
    else:
        check_schema(schema)
        text = llg.LLMatcher.grammar_from_json_schema(json.dumps(_declared_only(json.loads(key[5:]))),
                                                       overrides=JSON_STYLE)
    is_error, messages = llg.LLMatcher.validate_grammar_with_warnings(text)
    if is_error:
        raise ValueError(_reason(messages[0] if messages else "the grammar is invalid"))
    g = Grammar(key, text)
    with _cache_lock:
        stats["compiled"] += 1
        _cache[key] = g
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return g


def _jsonschema():
    """jsonschema, imported without its optional `rfc3987_syntax` (a format checker for
    IRIs that builds a parser grammar at import: 2-20 s on a busy machine, for a format schemas of
    tool arguments never need checked here). Later imports of it elsewhere are unaffected."""
    import sys

    if "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # import -> ImportError
        try:
            import jsonschema  # noqa: F401
        finally:
            del sys.modules["rfc3987_syntax"]
    import jsonschema

    return jsonschema


def check_schema(schema: dict) -> None:
    """ValueError unless `schema` is a valid JSON schema for its draft (2020-12 unless its
    `$schema` says another): `"required": true` or `"properties": []` must be a 400 naming the
    keyword, not a crash further on."""
    import warnings

    jsonschema = _jsonschema()
    cls = jsonschema.Draft202012Validator
    if isinstance(schema.get("$schema"), str):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an unknown $schema: checked as 2020-12
            cls = jsonschema.validators.validator_for(schema, default=cls)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as e:
        path = "".join(f"[{x!r}]" if isinstance(x, int) else f".{x}" for x in e.absolute_path).lstrip(".")
        raise ValueError(f"not a valid JSON schema: {_short(e.message)}" + (f" (at {path})" if path else "")) from None


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _declared_only(node):
    """The schema as the model fills it in: an object writes every property it declares and no
    other (unless the schema says otherwise with `additionalProperties`). Every instance of this
    is an instance of the original schema; without it a 6M-parameter model, free to skip keys or
    invent new ones, wanders into made-up keys and never closes the object."""
    if isinstance(node, list):
        return [_declared_only(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: (v if k in ("enum", "const", "default", "examples", "required") else _declared_only(v))
           for k, v in node.items()}
    props = node.get("properties")
    if isinstance(props, dict) and node.get("type", "object") == "object":
        out.setdefault("additionalProperties", False)
        out["required"] = list(dict.fromkeys(list(node.get("required") or []) + list(props)))
    return out


def _reason(message: str) -> str:
    """llguidance's message, short: its first line, and 'Unimplemented keys' said plainly."""
    first = message.strip().splitlines()[0] if message.strip() else message
    if first.startswith("Unimplemented keys"):
        return f"unsupported JSON schema keywords: {first.split(':', 1)[1].strip()}"
    return message.strip().replace("\n", " ")


def for_params(params) -> Grammar | None:
    """The grammar a SamplingParams asks for (json_schema, else json_object), or None."""
    if getattr(params, "json_schema", None) is not None:
        return compile(params.json_schema)
    if getattr(params, "json_object", False):
        return compile(json_object=True)
    return None


def mask_probs(probs: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The model's distribution restricted to the allowed tokens, renormalised. When the model
    gives every allowed token (numerically) zero, they share the mass equally."""
    out = np.where(allowed, probs, 0.0)
    s = out.sum()
    if not s > 0:
        out = allowed.astype(np.float64)
        s = out.sum()
    return out / s


DIGITS, QUOTE, COMMA, CLOSE = frozenset("0123456789-"), frozenset('"'), frozenset(","), frozenset("]")


@lru_cache(maxsize=16)
def led_by(tok, chars: frozenset) -> np.ndarray:
    """Tokens whose text begins, after any spaces, with one of `chars` (DIGITS: " 4", "-")."""
    return np.array([tok.decode([i]).lstrip()[:1] in chars for i in range(tok.vocab_size)])


def without(probs: np.ndarray, tok, chars: frozenset) -> np.ndarray:
    """`probs` without the tokens `led_by(chars)`, where the grammar allows something else: DIGITS
    ends a number that has its digits, COMMA closes a list that has its items, CLOSE keeps one open."""
    led = led_by(tok, chars)
    if not (probs[~led] > 0).any():
        return probs
    probs = np.where(led, 0.0, probs)
    return probs / probs.sum()


class JsonCursor:
    """Follows the JSON text written so far, character by character: is the writer inside a
    string that is a value (not a key), and what has it written of it. The decode loop lets the
    network write such a string as it writes a plain answer (see `sampling.decode`)."""

    def __init__(self):
        self.stack: list[str] = []  # "{" / "[" of the open containers
        self.expect_key = False
        self.in_string = False
        self.is_key = False
        self.escaped = False
        self.value_text = ""
        self.last = ""  # the last character written outside strings, other than whitespace
        self.commas: list[int] = []  # per open container, the commas written at its level

    @property
    def in_value(self) -> bool:
        return self.in_string and not self.is_key

    @property
    def array_items(self) -> int:
        """Items begun in the innermost open array (0 when the innermost container is not an array)."""
        if not self.stack or self.stack[-1] != "[":
            return 0
        return self.commas[-1] + (self.last != "[")

    @property
    def value_starts(self) -> bool:
        """A value begins here: after `:`, `[` or an array's `,`, or just inside its opening quote."""
        if self.in_string:
            return not self.is_key and self.value_text == ""
        return self.last in (":", "[") or (self.last == "," and bool(self.stack) and self.stack[-1] == "[")

    def feed(self, text: str) -> None:
        for c in text:
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif c == "\\":
                    self.escaped = True
                elif c == '"':
                    self.in_string = False
                    continue
                if not self.is_key:
                    self.value_text += c
                continue
            if not c.isspace():
                self.last = c
            if c == '"':
                self.in_string, self.is_key, self.value_text = True, self.expect_key, ""
            elif c == "{":
                self.stack.append("{")
                self.commas.append(0)
                self.expect_key = True
            elif c == "[":
                self.stack.append("[")
                self.commas.append(0)
                self.expect_key = False
            elif c in "}]":
                if self.stack:
                    self.stack.pop()
                    self.commas.pop()
                self.expect_key = False
            elif c == ":":
                self.expect_key = False
            elif c == ",":
                self.expect_key = bool(self.stack) and self.stack[-1] == "{"
                if self.commas:
                    self.commas[-1] += 1


_closers: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def closing_tokens(tok) -> tuple[int | None, np.ndarray]:
    """The token that is exactly `"`, and every token whose text starts with `"` (each may end
    a string value), for the model's tokenizer; computed once per tokenizer."""
    with _tok_lock:
        got = _closers.get(tok)
        if got is None:
            texts = [tok.decode([i]) for i in range(tok.vocab_size)]
            exact = next((i for i, t in enumerate(texts) if t == '"'), None)
            got = (exact, np.array([t.startswith('"') for t in texts]))
            _closers[tok] = got
        return got


def end_as_closing_quote(probs: np.ndarray, allowed: np.ndarray, tok) -> np.ndarray:
    """In a string value written as a plain answer, the model ending its answer means closing the
    string: the end token's probability goes to the closing quote (`"` itself when allowed)."""
    end = probs[tok.end_id]
    if end <= 0:
        return probs
    exact, closers = closing_tokens(tok)
    out = probs.copy()
    out[tok.end_id] = 0.0
    if exact is not None and allowed[exact]:
        out[exact] += end
    else:
        ok = closers & allowed
        if ok.any():
            out[ok] += end / ok.sum()
    return out
