"""Paraphrase retrieval of the offline model, measured on training data only (a dev set).

    python bench/retrieval_dev.py                   # retrieval figures (about a minute)
    python bench/retrieval_dev.py --engine 120      # also the whole engine on 120 dev questions + the OOS set
    python bench/retrieval_dev.py --engine 150 --base-corpus OLD/llmkit/engine/corpus [--entries new]
                                                    # only the entries an older corpus had (or lacked)

Neither the corpus' held-out phrasings nor bench/heldout_v3.jsonl are read here: those are the
test sets, and a retrieval tuned on them would report figures it cannot keep. Instead:

- leave-one-phrasing-out: every entry with 3+ training phrasings gives up one of them (chosen by
  a hash of its answer); the index is rebuilt without those phrasings and each one is asked. Its
  entry must come back first (top-1) or among the retrieved (top-3): raw index order, and what
  `Guide.candidates` hands the engine after its honesty rules ("idk": it said "I don't know" instead);
- out of scope: bench/retrieval_dev_oos.jsonl, 30 questions about people, places, sports, prices,
  news and weather (en and es) written for this; honest = every candidate is an answer that says
  it cannot know (the "I don't know that" entry or another honest one), as the full index retrieves;
- query cost: the mean time of one `Guide.candidates` call.

DEV_DUMP=1 prints each engine reply (question, reply) as a `DUMP` line, to diff two settings.

Figures (2026-11-29, this 2-core machine, under load; v3's network):

                          lexical only (before)   + latent half, pool, never-seen-word rule
    top-1 / top-3 (raw)       0.480 / 0.747          0.573 / 0.837
    candidates top-1 / in     0.485 / 0.642          0.547 / 0.712
    "I don't know" instead    0.093                  0.075
    out of scope honest       28/30                  30/30
    query                     1.1 ms                 1.1 ms
    retrieval.npz             8.9 MB                 5.2 MB
    engine, 150 dev questions answered 0.647, OOS 28/30    0.680, OOS 30/30

Session 16 (2026-11-30; 521 entries added that the network never trained on, docs/offline-model-v3.md):
`--base-corpus <the session start's corpus>` keeps the same 2,098 questions and 150 engine questions as before
(top-1 0.564 -> 0.556, candidates top-1 0.540 -> 0.539, engine answered 0.713 -> 0.707, OOS 30/30);
`--entries new` asks the new entries' 521 (top-1 0.472, candidates 0.522, engine 0.520 of 200).

Session 19 (2026-12-01; the entry classifier, engine/classifier.py), the same 2,098 questions of session 16's
start (`--base-corpus`): top-1 0.545 -> 0.629, top-3 0.810 -> 0.839, candidates top-1 0.543 -> 0.592, in 0.706
-> 0.720, engine 0.707 -> 0.687, OOS 30/30; `--entries new` (the 1,258 of the entries added since, which the
network never trained on): top-1 0.460 -> 0.576, top-3 0.734 -> 0.781, candidates top-1 0.506 -> 0.548, engine
0.475 -> 0.540 of 200. A query 0.67 -> 0.81 ms; a build 35 s -> 85 s (the classifier's training).

Session 20 (2026-12-01; a question's typos read as the common word they slipped from, its language from more
function words or else the entries the classifier finds, and the classifier vouching for an entry that lacks one
of the question's rare words; guide.py), against the same code with the first two switched off and without the
third, the same day: session 16's 150 engine questions 0.700 -> 0.707, candidates top-1 0.591 -> 0.600, "I don't
know" 0.047 -> 0.040; `--entries new`: engine 0.535 -> 0.565 of 200, candidates top-1 0.546 -> 0.585, "I don't
know" 0.110 -> 0.080; OOS 30/30 throughout. The language of all 3,359 left-out phrasings, as typed: 0.923 -> 0.956.

Session 21 (2026-12-01; the classifier also learns each answer as one more row of its entry, classifier.ANSWER_ROWS),
against session 20's shipped code: session 16's 2,098 top-1 0.622 -> 0.619, candidates top-1 0.600 -> 0.596, engine
0.707 -> 0.727 of 150; `--entries new` (1,261): top-1 0.570 -> 0.592, candidates top-1 0.585 -> 0.604, engine 0.565 ->
0.595 of 200; OOS 30/30. The answer's first sentence alone gave top-1 0.584 on the new ones, its content words 0.590.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import zlib
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmkit.engine import corpus, guide  # noqa: E402
from llmkit.engine.tokenizer import Tokenizer  # noqa: E402

DATA = ROOT / "llmkit" / "engine" / "data" / "transformer-v3"
OOS = Path(__file__).with_name("retrieval_dev_oos.jsonl")


def leave_one_out(docs: list) -> tuple[list, list[tuple[str, str]]]:
    """The documents without one training phrasing of each entry with 3+, and (phrasing, answer) pairs."""
    by_answer: dict[str, int] = {}
    for d in docs:
        by_answer[d.answer] = by_answer.get(d.answer, 0) + len(d.questions)
    out, asked = [], []
    for d in docs:
        if by_answer[d.answer] >= 3 and len(d.questions) >= 2:
            i = zlib.crc32(("dev:" + d.answer).encode()) % len(d.questions)
            asked.append((d.questions[i], d.answer))
            d = replace(d, questions=d.questions[:i] + d.questions[i + 1:])
        out.append(d)
    return out, asked


def load_guide(docs: list, tok) -> guide.Guide:
    with tempfile.TemporaryDirectory() as tmp:
        guide.build(Path(tmp), docs)
        return guide.Guide.load(Path(tmp) / "retrieval.npz", tok)


def retrieval(g: guide.Guide, asked: list[tuple[str, str]], answers: list[str]) -> dict:
    entry = {a: e for e, a in enumerate(answers)}
    unknown = set(g.unknown_entry.values())
    top1 = top3 = c1 = c3 = idk = 0
    seconds = 0.0
    for q, a in asked:
        e = entry[a]
        raw = [i for i, _ in g.index.top(q, guide.LEXICAL_TOP)]
        t0 = time.perf_counter()
        cands = [i for i, _ in g.candidates(q)]
        seconds += time.perf_counter() - t0
        top1 += raw[:1] == [e]
        top3 += e in raw
        c1 += cands[:1] == [e]
        c3 += e in cands
        idk += bool(cands) and cands[0] in unknown and e not in unknown
    n = len(asked)
    return {"questions": n, "top1": top1 / n, "top3": top3 / n, "cand_top1": c1 / n, "cand_top3": c3 / n,
            "idk": idk / n, "query_ms": 1000 * seconds / n}


def honesty(g: guide.Guide, questions: list[dict]) -> tuple[float, list[str]]:
    wrong = []
    for row in questions:
        cands = [e for e, _ in g.candidates(row["q"])]
        if not all(e in g.honest or e in g.unknown_entry.values() for e in cands):
            wrong.append(f"{row['q']} -> {cands}")
    return 1 - len(wrong) / len(questions), wrong


def engine_run(docs_loo: list, asked: list, oos: list[dict], n: int, data: Path, answers: list[str]) -> dict:
    """The whole engine (greedy) on `n` left-out phrasings, served from the leave-one-out index, and on the OOS set."""
    from llmkit.engine.base import SamplingParams
    from llmkit.engine.transformer import TransformerEngine

    def content(t):
        return set(guide.content_words(t))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "hf").symlink_to(data / "hf")
        (folder / "embed.npz").symlink_to(data / "embed.npz")
        guide.build(folder, docs_loo)
        eng = TransformerEngine(folder)
        # an answer that says it cannot know: "I don't know that" or another honest entry's
        idk_texts = [answers[e] for e in set(eng.guide.unknown_entry.values()) | eng.guide.honest]
        params = SamplingParams(temperature=0.0, max_tokens=120)
        step = max(1, len(asked) // n)
        sample = asked[::step][:n]
        right = refused = 0
        t0 = time.perf_counter()
        for q, a in sample:
            text = eng.generate([{"role": "user", "content": q}], params).text()
            ref = content(a)
            right += len(ref & content(text)) >= 0.5 * len(ref) if ref else text.strip() == a.strip()
            if os.environ.get("DEV_DUMP"):
                print(f"DUMP\t{q}\t{text}", flush=True)
            refused += any(text.strip()[:30] == t.strip()[:30] for t in idk_texts)
        guide.build(folder, corpus.load())
        eng = TransformerEngine(folder)
        idk_texts = [answers[e] for e in set(eng.guide.unknown_entry.values()) | eng.guide.honest]
        honest = 0
        for row in oos:
            text = eng.generate([{"role": "user", "content": row["q"]}], params).text()
            ok = any(text.strip()[:30] == t.strip()[:30] for t in idk_texts)
            honest += ok
            if not ok:
                print(f"  engine not honest: {row['q']} -> {text[:70]!r}")
        return {"engine_questions": len(sample), "engine_answered": right / len(sample),
                "engine_idk": refused / len(sample), "engine_oos_idk": honest / len(oos),
                "engine_s": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA,
                    help="model folder whose tokenizer (and, with --engine, network) to use")
    ap.add_argument("--engine", type=int, default=0, help="also run the whole engine on this many dev questions")
    ap.add_argument("--show", type=int, default=0, help="print this many misses")
    ap.add_argument("--base-corpus", type=Path,
                    help="an older corpus folder (e.g. a worktree's llmkit/engine/corpus): ask only the left-out "
                         "phrasings of entries it has (--entries base, the same questions as a run on it) or of "
                         "those it lacks (--entries new)")
    ap.add_argument("--entries", choices=["base", "new"], default="base")
    args = ap.parse_args()
    tok = Tokenizer.load(args.data / "hf" / "tokenizer.json")
    docs = corpus.load()  # training phrasings only: `heldout` is never read
    answers = list(dict.fromkeys(d.answer for d in docs))
    docs_loo, asked = leave_one_out(docs)
    if args.base_corpus:
        base = {d.answer for d in corpus.load(args.base_corpus)}
        asked = [(q, a) for q, a in asked if (a in base) == (args.entries == "base")]
    t0 = time.perf_counter()
    g = load_guide(docs_loo, tok)
    build_s = time.perf_counter() - t0
    fig = retrieval(g, asked, answers)
    if args.show:
        entry = {a: e for e, a in enumerate(answers)}
        shown = 0
        for q, a in asked:
            cands = [e for e, _ in g.candidates(q)]
            if cands[:1] != [entry[a]] and shown < args.show:
                shown += 1
                got = answers[cands[0]][:60] if cands else "-"
                print(f"MISS {q!r}\n   want {a[:60]!r}\n   got  {got!r}")
    oos = [json.loads(x) for x in OOS.read_text(encoding="utf-8").splitlines() if x.strip()]
    with tempfile.TemporaryDirectory() as tmp:  # the full index (all training phrasings), as shipped
        guide.build(Path(tmp), docs)
        fig["index_mb"] = (Path(tmp) / "retrieval.npz").stat().st_size / 2**20
        fig["oos_honest"], wrong = honesty(guide.Guide.load(Path(tmp) / "retrieval.npz", tok), oos)
    fig["build_s"] = build_s
    if args.engine:
        fig.update(engine_run(docs_loo, asked, oos, args.engine, args.data, answers))
    for k, v in fig.items():
        print(f"{k:>16}  {v:.3f}" if isinstance(v, float) else f"{k:>16}  {v}")
    for w in wrong:
        print("  not honest:", w)


if __name__ == "__main__":
    main()
