"""Extraction quality of the offline model (structured outputs), on the held-out extraction conversations.

    python bench/extract.py                              # the shipped default model (v3), every held-out one
    python bench/extract.py --model /work/train/v3x      # an exported model folder (hf/, embed.npz)
    python bench/extract.py --limit 100 --json out.json  # a fixed sample, figures (and each reply) to a file

The conversations are corpus/extract_gen.py's held-out ones (whole user templates never trained on).
Each is sent to the engine in process as a structured-output request: the conversation without its
reply, SamplingParams(json_schema=the conversation's schema), at temperature 0 and at 1 (seeded).
Measured there:

- valid: the reply parses and is an instance of the schema (the grammar's promise: 100% of the replies
  the model ends; "cut": replies cut by --max-tokens, a valid prefix with finish reason "length", as
  OpenAI sends it, not an instance);
- fields exact: top-level fields whose value equals the data's (a list must equal it whole);
- replies exact: the whole object equals the data's;
- copy path: the share of requests where the engine took the extraction path (values copied from
  the user's text: transformer.py's `extract`; a text that ends with "?" or that retrieval can answer
  keeps the plain answer instead);
- same tokens: the share of replies whose token ids are what the tokenizer makes of the reply's text
  (what training on the text teaches), to see whether forced keys split text differently.

Then the two README examples (OpenAI's CalendarEvent, Ollama's FriendList) and their replies.
A benchmark: it prints figures, it never fails on them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LLMKIT_SCHEDULER", "0")  # one request at a time: the plain decode path

import jsonschema  # noqa: E402

from llmkit.engine import SamplingParams, copying, corpus  # noqa: E402
from llmkit.engine.transformer import DATA_DIRS, TransformerEngine, question  # noqa: E402


def readme_examples() -> list[tuple[str, list[dict], dict]]:
    """(name, messages, schema) as the SDKs send them: `parse(response_format=CalendarEvent)` sends
    the strict schema of the Pydantic model; Ollama's `format=FriendList.model_json_schema()`."""
    from pydantic import BaseModel

    class CalendarEvent(BaseModel):
        name: str
        date: str
        participants: list[str]

    class FriendInfo(BaseModel):
        name: str
        age: int
        is_available: bool

    class FriendList(BaseModel):
        friends: list[FriendInfo]

    try:
        from openai.lib._pydantic import to_strict_json_schema
        cal = to_strict_json_schema(CalendarEvent)
    except ImportError:  # the SDK's helper moved: the same schema by hand
        cal = {**CalendarEvent.model_json_schema(), "additionalProperties": False}
    return [
        ("CalendarEvent (openai README)",
         [{"role": "system", "content": "Extract the event information."},
          {"role": "user", "content": "Alice and Bob are going to a science fair on Friday."}], cal),
        ("FriendList (ollama README)",
         [{"role": "user", "content": "I have two friends. The first is Ollama 22 years old busy saving the world, "
                                      "and the second is Alonso 23 years old and wants to hang out. "
                                      "Return a list of friends in JSON format"}], FriendList.model_json_schema()),
    ]


def run_one(engine, messages, schema, temperature, seed, max_tokens):
    gen = engine.generate(messages, SamplingParams(temperature=temperature, seed=seed, json_schema=schema,
                                                   max_tokens=max_tokens))
    toks = list(gen)
    return "".join(t.text for t in toks), [t.id for t in toks], gen.finish_reason


def copy_path(engine, messages) -> bool:
    """Whether the engine copies the values from the user's text (transformer.py's `extract` condition)."""
    q = question(messages)
    return engine.guide is not None and q is not None and not copying.asks(messages) and engine.guide.declines(q)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=DATA_DIRS["transformer-v3"], help="an exported model folder")
    ap.add_argument("--limit", type=int, default=0, help="held-out conversations (a fixed sample; 0 = all)")
    ap.add_argument("--temperatures", default="0,1")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--json", type=Path, default=None, help="write the figures (and each reply) here")
    args = ap.parse_args(argv)

    engine = TransformerEngine(args.model, retrieval=True)
    convs = [c for c in corpus.load_extract() if c["heldout"]]
    if args.limit and args.limit < len(convs):
        convs = sorted(random.Random(0).sample(convs, args.limit), key=lambda c: c["id"])
    temps = [float(t) for t in args.temperatures.split(",")]
    print(f"model {args.model}, {len(convs)} held-out extraction conversations "
          f"({sum(c['lang'] == 'en' for c in convs)} en), temperatures {temps}", flush=True)
    paths = [copy_path(engine, c["messages"][:-1]) for c in convs]
    figures, items = {}, []
    for temp in temps:
        t0 = time.perf_counter()
        agg = defaultdict(lambda: defaultdict(int))
        for i, (c, copied) in enumerate(zip(convs, paths)):
            want = json.loads(c["messages"][-1]["content"])
            text, ids, finish = run_one(engine, c["messages"][:-1], c["schema"], temp, 1000 + i, args.max_tokens)
            try:
                got = json.loads(text)
                jsonschema.validate(got, c["schema"])
                valid = True
            except (ValueError, jsonschema.ValidationError):
                got, valid = None, False
            same = sum(isinstance(got, dict) and got.get(k) == v for k, v in want.items())
            for key in ("all", c["family"], c["lang"]):
                a = agg[key]
                a["n"] += 1
                a["valid"] += valid
                a["cut"] += finish == "length"
                a["valid_done"] += valid and finish != "length"
                a["fields"] += len(want)
                a["fields_exact"] += same
                a["exact"] += got == want
                a["copy"] += copied
                a["same_tokens"] += ids == engine.tok.encode(text)
            items.append({"id": c["id"], "temperature": temp, "family": c["family"], "lang": c["lang"],
                          "user": c["messages"][-2]["content"], "want": want, "got": text, "finish": finish,
                          "copy_path": copied})
        secs = time.perf_counter() - t0
        rows = {k: {"n": a["n"], "valid": a["valid"] / a["n"], "cut": a["cut"] / a["n"],
                    "valid_of_ended": a["valid_done"] / max(a["n"] - a["cut"], 1), "fields_exact": a["fields_exact"] / a["fields"],
                    "replies_exact": a["exact"] / a["n"], "copy_path": a["copy"] / a["n"],
                    "same_tokens": a["same_tokens"] / a["n"]} for k, a in agg.items()}
        figures[f"t{temp:g}"] = {"seconds": round(secs, 1), "groups": rows}
        print(f"\ntemperature {temp:g} ({secs:.0f} s, {secs / max(len(convs), 1):.2f} s a reply)")
        print(f"  {'group':<10} {'n':>4} {'valid':>6} {'cut':>5} {'ended ok':>9} {'fields':>7} {'replies':>8} {'copy':>6} {'same tok':>9}")
        order = ["all", "en", "es"] + sorted(k for k in rows if k not in ("all", "en", "es"))
        for k in order:
            r = rows[k]
            print(f"  {k:<10} {r['n']:>4} {r['valid']:>6.0%} {r['cut']:>5.0%} {r['valid_of_ended']:>9.0%} "
                  f"{r['fields_exact']:>7.0%} {r['replies_exact']:>8.0%} "
                  f"{r['copy_path']:>6.0%} {r['same_tokens']:>9.0%}")
    print("\nREADME examples:")
    examples = []
    for name, msgs, schema in readme_examples():
        for temp in temps:
            text, _, finish = run_one(engine, msgs, schema, temp, 7, args.max_tokens)
            print(f"  {name}, temperature {temp:g} (copy path: {copy_path(engine, msgs)}):\n    {text}")
            examples.append({"name": name, "temperature": temp, "reply": text, "finish": finish})
    if args.json:
        args.json.write_text(json.dumps({"model": str(args.model), "figures": figures, "readme": examples,
                                         "items": items}, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
