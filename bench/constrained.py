"""Which constrained-decoding library for the offline model? Build time and mask cost, measured.

    python bench/constrained.py                       # every candidate that imports
    python bench/constrained.py --path /tmp/site      # candidates installed with pip --target there

For each candidate (llguidance, outlines-core, lm-format-enforcer; xgrammar imports torch and
transformers, so it cannot run without torch and is reported as such) and each schema:
- tokenizer s: preparing the library's view of the model's 4,096-token vocabulary (once per process);
- build ms: compiling one JSON schema into what masks tokens (the part a cache saves per request);
- mask us/token: computing the allowed-token set and advancing by one token, averaged over the
  canonical tokenization of a valid instance (what the decode loop pays per generated token).
One thread, one core; the model's own tokenizer (llmkit/engine/data/transformer-v2/hf/tokenizer.json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKENIZER = ROOT / "llmkit" / "engine" / "data" / "transformer-v2" / "hf" / "tokenizer.json"

SCHEMAS = {
    "flat": ({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
              "additionalProperties": False},
             {"answer": "Paris is the capital of France."}),
    "nested": ({"type": "object", "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "score": {"type": "number"},
        "active": {"type": "boolean"},
        "role": {"enum": ["student", "teacher", "admin"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
                    "required": ["city"], "additionalProperties": False}},
        "required": ["name", "age", "role", "tags", "address"], "additionalProperties": False},
        {"name": "Ada Lovelace", "age": 36, "score": 9.5, "active": True, "role": "teacher",
         "tags": ["math", "engines"], "address": {"city": "London", "zip": "W1"}}),
}
SEPARATORS = (", ", ": ")


def byte_tokens(hf) -> list[bytes | None]:
    """Each id's raw bytes (byte-level BPE's printable alphabet undone); None for special tokens."""
    from tokenizers import pre_tokenizers  # noqa: F401  (the alphabet lives in the GPT-2 table below)

    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    back = {chr(c): b for b, c in zip(bs, cs)}
    specials = {t.content for t in hf.get_added_tokens_decoder().values()}
    out: list[bytes | None] = []
    for i in range(hf.get_vocab_size()):
        s = hf.id_to_token(i)
        out.append(None if s in specials else bytes(back[c] for c in s))
    return out


def timed(fn, repeat: int = 1):
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        r = fn()
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    return r, best


def bench_llguidance(hf, end_id: int, ids_by_schema: dict) -> dict:
    import llguidance as llg
    import numpy as np

    lt, t_tok = timed(lambda: llg.LLTokenizer(TOKENIZER.read_text(), eos_token=end_id))
    out = {"tokenizer_s": t_tok, "schemas": {}}
    for name, (schema, ids) in ids_by_schema.items():
        opts = {"item_separator": SEPARATORS[0], "key_separator": SEPARATORS[1], "whitespace_flexible": False}

        def build():
            return llg.LLMatcher(lt, llg.LLMatcher.grammar_from_json_schema(schema, defaults=opts))

        m, t_build = timed(build, 5)
        mask = np.empty((lt.vocab_size + 31) // 32, dtype=np.int32)
        per = []
        for _ in range(5):
            m = build()
            t = time.perf_counter()
            for i in ids:
                m.unsafe_compute_mask_ptr(mask.ctypes.data, mask.nbytes)
                assert (mask[i // 32] >> (i % 32)) & 1, "a valid instance's token was masked"
                assert m.consume_token(i)
            m.unsafe_compute_mask_ptr(mask.ctypes.data, mask.nbytes)
            assert m.is_accepting()
            per.append((time.perf_counter() - t) / (len(ids) + 1))
        out["schemas"][name] = {"build_ms": 1000 * t_build, "mask_us": 1e6 * statistics.median(per)}
    return out


def bench_outlines(hf, end_id: int, ids_by_schema: dict) -> dict:
    import numpy as np
    from outlines_core import Guide, Index, Vocabulary
    from outlines_core.json_schema import build_regex_from_schema

    toks = byte_tokens(hf)

    def vocab():
        v: dict[bytes, list[int]] = {}
        for i, b in enumerate(toks):
            if b is not None:
                v.setdefault(b, []).append(i)
        return Vocabulary(end_id, v)

    voc, t_tok = timed(vocab)
    out = {"tokenizer_s": t_tok, "schemas": {}}
    for name, (schema, ids) in ids_by_schema.items():
        regex = build_regex_from_schema(json.dumps(schema), r"[ ]?")
        index, t_build = timed(lambda: Index(regex, voc), 1)
        mask = np.empty((hf.get_vocab_size() + 31) // 32, dtype=np.int32)
        per = []
        for _ in range(5):
            g = Guide(index)
            t = time.perf_counter()
            for i in ids:
                g.write_mask_into(mask.ctypes.data, mask.size, mask.itemsize)
                assert (mask[i // 32] >> (i % 32)) & 1, "a valid instance's token was masked"
                g.advance(i, return_tokens=False)
            g.write_mask_into(mask.ctypes.data, mask.size, mask.itemsize)
            assert g.is_finished()
            per.append((time.perf_counter() - t) / (len(ids) + 1))
        out["schemas"][name] = {"build_ms": 1000 * t_build, "mask_us": 1e6 * statistics.median(per)}
    return out


def bench_lmfe(hf, end_id: int, ids_by_schema: dict) -> dict:
    from lmformatenforcer import JsonSchemaParser, TokenEnforcer
    from lmformatenforcer.tokenenforcer import TokenEnforcerTokenizerData

    specials = {t.content for t in hf.get_added_tokens_decoder().values()}
    zero = hf.encode("0", add_special_tokens=False).ids[-1]

    def data():
        regular = []
        for i in range(hf.get_vocab_size()):
            if hf.id_to_token(i) in specials:
                continue
            after = hf.decode([zero, i])[1:]
            regular.append((i, after, len(after) > len(hf.decode([i]))))
        return TokenEnforcerTokenizerData(regular, lambda ids: hf.decode(ids).rstrip("\ufffd"), end_id, False,
                                          hf.get_vocab_size())

    td, t_tok = timed(data)
    out = {"tokenizer_s": t_tok, "schemas": {}}
    for name, (schema, ids) in ids_by_schema.items():
        enf, t_build = timed(lambda: TokenEnforcer(td, JsonSchemaParser(schema)), 3)
        per = []
        for _ in range(3):
            enf = TokenEnforcer(td, JsonSchemaParser(schema))
            t = time.perf_counter()
            for k in range(len(ids) + 1):
                enf.get_allowed_tokens(ids[:k])
            per.append((time.perf_counter() - t) / (len(ids) + 1))
        out["schemas"][name] = {"build_ms": 1000 * t_build, "mask_us": 1e6 * statistics.median(per)}
    return out


CANDIDATES = {"llguidance": bench_llguidance, "outlines-core": bench_outlines, "lm-format-enforcer": bench_lmfe}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--path", help="folders (joined by os.pathsep) of packages installed with pip --target, searched first")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    for folder in reversed((args.path or "").split(os.pathsep)):
        if folder:
            sys.path.insert(0, folder)
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    except (AttributeError, OSError):
        pass
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(TOKENIZER))
    hf.encode_special_tokens = True
    end_id = hf.token_to_id("<|end|>")
    ids_by_schema = {}
    for name, (schema, inst) in SCHEMAS.items():
        text = json.dumps(inst, separators=SEPARATORS)
        ids_by_schema[name] = (schema, hf.encode(text, add_special_tokens=False).ids)
    results = {}
    for name, fn in CANDIDATES.items():
        try:
            results[name] = fn(hf, end_id, ids_by_schema)
        except ImportError as e:
            results[name] = {"error": f"not installed ({e.name})"}
    try:
        import xgrammar  # noqa: F401
        results["xgrammar"] = {"error": "imports; not benchmarked"}
    except ImportError as e:
        why = "not installed" if e.name == "xgrammar" else f"cannot import without {e.name}"
        results["xgrammar"] = {"error": f"{why} (it needs torch and transformers at run time)"}
    rows = []
    for name, r in results.items():
        if "error" in r:
            rows.append((name, "-", "-", "-", r["error"]))
            continue
        for s, m in r["schemas"].items():
            rows.append((name, f"{r['tokenizer_s']:.3f}", s, f"{m['build_ms']:.2f}", f"{m['mask_us']:.1f}"))
    w = [max(len(str(x[i])) for x in rows + [("library", "tokenizer s", "schema", "build ms", "mask us/token")])
         for i in range(5)]
    for row in [("library", "tokenizer s", "schema", "build ms", "mask us/token")] + rows:
        print("  ".join(str(c).ljust(w[i]) for i, c in enumerate(row)))
    print(f"vocabulary: {hf.get_vocab_size()} tokens; tokens per instance: "
          + ", ".join(f"{k} {len(v[1])}" for k, v in ids_by_schema.items()))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
