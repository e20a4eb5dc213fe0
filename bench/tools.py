"""Tool-use quality of the offline model, on the held-out tool conversations.

    python bench/tools.py                                  # the shipped default model (v3)
    python bench/tools.py --model /work/train/v3b          # an exported model folder (hf/, embed.npz)
    python bench/tools.py --limit 0 --json out.json        # every held-out conversation, figures to a file

The conversations are corpus/tools_gen.py's held-out ones (whole question templates never trained
on). Every assistant turn of one is a decision point: the conversation up to it, with its tools,
and tool_choice "auto". Measured there, the engine as served (engine/tools.py: the first token
decides, the grammar masks a call; greedy):

- decision: called a tool where the data calls one, answered in text where it answers (a course
  question, a tool not offered, the turn after a result); P(call) is the network's probability of
  starting a call at the first token, averaged over the points that should call and those that should not;
- right tool: where it should call and did, the name of the first call is the expected one;
- arguments valid: the arguments follow the tool's JSON schema (jsonschema); arguments exact: they
  equal the data's arguments; all calls: where the data makes two calls in one reply (two cities...),
  the reply makes them both;
- uses result: the answer after a tool result contains the result's numbers (or, for a result
  with none, its new strings), and after an error says so (the error text or words of failure).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LLMKIT_SCHEDULER", "0")  # one request at a time: the plain decode path

import jsonschema  # noqa: E402
import numpy as np  # noqa: E402

from llmkit.engine import SamplingParams, corpus, tools  # noqa: E402
from llmkit.engine.transformer import DATA_DIRS, TransformerEngine, softmax, forward, KVCache, one_blas_thread  # noqa: E402

FAILURE_WORDS = ("error", "couldn't", "could not", "failed", "not sent", "has no", "no pude", "falló", "no se envió",
                 "no tiene", "no encontré", "no lo encontré", "sorry", "lo siento")


def points(conv: dict) -> list[dict]:
    """Every assistant turn of a conversation as a decision point."""
    out = []
    for i, m in enumerate(conv["messages"]):
        if m["role"] != "assistant" or i == 0:
            continue
        prev = conv["messages"][i - 1]
        if prev["role"] == "assistant":
            continue
        out.append({"conv": conv, "prefix": conv["messages"][:i], "target": m,
                    "after_result": prev["role"] == "tool",
                    "kind": ("call" if m.get("tool_calls") else "after_error" if conv["case"] == "error" and
                             prev["role"] == "tool" else "after_result" if prev["role"] == "tool"
                             else conv["case"] if i == len(conv["messages"]) - 1 else "earlier_plain")})
    return out


def p_call(engine: TransformerEngine, prompt: list[int], starts: np.ndarray) -> float:
    """The network's probability that the reply's first token starts a call."""
    with one_blas_thread():
        p = softmax(forward(engine.w, engine.visible(prompt), KVCache(engine.w, len(prompt) + 8)))
    never = [i for s, i in engine.tok.special.items() if i != engine.tok.end_id]
    p[never] = 0.0
    return float(p[starts].sum() / p.sum())


def _parsed(content: str):
    """A tool message's content: JSON where it is JSON, else the plain text (tools_gen --varied)."""
    try:
        return json.loads(content)
    except ValueError:
        return content


def uses_result(answer: str, result, question: str) -> bool | None:
    low = answer.lower()
    if not isinstance(result, dict):  # a bare value or a plain string ("18 °C", "14:05", "12.5 USD")
        text = str(result)
        nums = re.findall(r"\d+(?:[.:]\d+)?", text)
        if nums:
            return all(n in answer for n in nums)
        return text[:24].lower() in low
    if "error" in result:
        return str(result["error"]).lower() in low or any(w in low for w in FAILURE_WORDS)
    nums = [v for v in result.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if nums:
        return all(str(v) in answer for v in nums)
    strs = [v for v in result.values() if isinstance(v, str) and v not in ("sent", "created")
            and v.lower() not in question.lower()]
    if strs:
        return any(s[:24].lower() in low for s in strs)
    return None  # a bare status: nothing to check the answer against


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=DATA_DIRS["transformer-v3"], help="an exported model folder")
    ap.add_argument("--limit", type=int, default=240, help="held-out conversations (a fixed sample; 0 = all)")
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--json", type=Path, default=None, help="write the figures (and each point) here")
    ap.add_argument("--varied", action="store_true",
                    help="held-out conversations whose results come in other shapes too (tools_gen --varied)")
    ap.add_argument("--records", action="store_true",
                    help="only the held-out conversations of the lookup and quote families (tools_gen --records)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    engine = TransformerEngine(args.model, retrieval=True)
    held = [c for c in corpus.load_tools(varied=args.varied, records=args.records) if c["heldout"]]
    if args.records:  # the families a model before stage K never saw
        before = {c["family"] for c in corpus.load_tools(varied=args.varied)}
        held = [c for c in held if c["family"] not in before]
    if args.limit and args.limit < len(held):
        held = random.Random(0).sample(held, args.limit)
    starts = tools.marker_starts(engine.tok)
    rows = []
    for conv in held:
        specs = tools.check_tools(conv["tools"], "auto")
        schema = {s.name: s.parameters for s in specs}
        for pt in points(conv):
            prompt = engine.tok.render_chat(tools.to_plain(pt["prefix"], specs))
            pc = p_call(engine, prompt, starts)
            gen = engine.generate(pt["prefix"], SamplingParams(tools=specs, tool_choice="auto", temperature=0,
                                                               max_tokens=args.max_tokens))
            toks = list(gen)
            text = "".join(t.text for t in toks if t.tool_call is None)
            want_call = bool(pt["target"].get("tool_calls"))
            row = {"id": conv["id"], "case": conv["case"], "kind": pt["kind"], "lang": conv["lang"],
                   "family": conv["family"], "want_call": want_call, "p_call": round(pc, 4),
                   "called": bool(gen.tool_calls) or any(t.tool_call is not None for t in toks),
                   "finish": gen.finish_reason, "text": text, "calls": gen.tool_calls}
            if want_call and gen.tool_calls:
                exp = pt["target"]["tool_calls"][0]
                got = gen.tool_calls[0]
                row["right_tool"] = got["name"] == exp["name"]
                try:
                    jsonschema.validate(got["arguments"], schema[got["name"]])
                    row["args_valid"] = True
                except jsonschema.ValidationError:
                    row["args_valid"] = False
                row["args_exact"] = row["right_tool"] and got["arguments"] == exp["arguments"]
                if len(pt["target"]["tool_calls"]) > 1:  # the "parallel" case: two calls in one reply
                    row["all_calls"] = len(gen.tool_calls) >= len(pt["target"]["tool_calls"])
            if pt["after_result"] and not row["called"]:
                results = [_parsed(m["content"]) for m in pt["prefix"] if m["role"] == "tool"][-1:]
                question = next(m["content"] for m in reversed(pt["prefix"]) if m["role"] == "user")
                u = uses_result(text, results[0], question) if results else None
                if u is not None:
                    row["uses_result"] = u
                row["expected"] = pt["target"]["content"]
                row["exact_answer"] = text.strip() == pt["target"]["content"].strip()
            rows.append(row)

    def rate(sel, key):
        vals = [r[key] for r in sel if key in r]
        return (round(sum(vals) / len(vals), 3), len(vals)) if vals else (None, 0)

    figures = {"model": str(args.model), "conversations": len(held), "points": len(rows)}
    figures["decision_accuracy"] = rate([{**r, "ok": r["called"] == r["want_call"]} for r in rows], "ok")
    figures["p_call_when_call_expected"] = round(float(np.mean([r["p_call"] for r in rows if r["want_call"]] or [np.nan])), 3)
    figures["p_call_when_text_expected"] = round(float(np.mean([r["p_call"] for r in rows if not r["want_call"]] or [np.nan])), 3)
    figures["right_tool"] = rate(rows, "right_tool")
    figures["args_valid"] = rate(rows, "args_valid")
    figures["args_exact"] = rate(rows, "args_exact")
    figures["all_calls_when_two_expected"] = rate(rows, "all_calls")
    figures["uses_result"] = rate(rows, "uses_result")
    figures["exact_answer_after_result"] = rate(rows, "exact_answer")
    by = defaultdict(list)
    for r in rows:
        by[r["kind"]].append({**r, "ok": r["called"] == r["want_call"]})
    figures["decision_by_kind"] = {k: rate(v, "ok") for k, v in sorted(by.items())}
    byl = defaultdict(list)
    for r in rows:
        byl[r["lang"]].append({**r, "ok": r["called"] == r["want_call"]})
    figures["decision_by_lang"] = {k: rate(v, "ok") for k, v in sorted(byl.items())}
    figures["seconds"] = round(time.perf_counter() - t0, 1)
    for k, v in figures.items():  # a rate is [share, how many points it is over]
        print(f"{k}: {json.dumps(v, ensure_ascii=False)}")
    for r in [r for r in rows if "uses_result" in r][:4] + [r for r in rows if r["want_call"] and r["calls"]][:4]:
        print(f"  [{r['kind']}/{r['lang']}] {r['calls'][0]['name'] + ' ' + json.dumps(r['calls'][0]['arguments'], ensure_ascii=False) if r['calls'] else repr(r['text'][:100])}")
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, "rows": rows}, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
