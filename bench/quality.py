"""Answer quality and held-out perplexity of the offline models, side by side.

    python bench/quality.py                       # v1, v2 and v2's bare network on every held-out phrasing
    python bench/quality.py --show 5              # also print a few answers
    python bench/quality.py --engines transformer-v2 --limit 50

The questions are the corpus' held-out phrasings (`corpus.load()` keeps one phrasing of
every fifth entry with 3+ phrasings out of training): paraphrases no model was trained on,
each with the entry's reference answer. Each engine answers greedily (temperature 0) and
is scored against the reference with:

- key-term recall: the reference's key terms (its up-to-8 rarest content words across the
  corpus' answers, plus `code` spans) found in the answer; "answered" = recall >= 0.5;
- ROUGE-L F1 over lower-cased word tokens (longest common subsequence);
- loops: answers in which some word 4-gram occurs 3+ times (degenerate repetition).

Perplexity: the mean negative log-likelihood of the reference answer's tokens (and the
closing <|end|>) after the held-out question in the chat template, under the exact
distribution each engine samples from at temperature 1 (its `next_probs`, special tokens
other than <|end|> masked as in the decode loop; no repetition blocking). Per token and
per word (exp of total NLL / words), the latter comparable across tokenizers.

transformer-v2 is the engine as served (retrieval-augmented decoding, `engine/guide.py`);
transformer-v2-bare is its network alone (what the Hugging Face export computes).

v1 (the n-gram model) is evaluated as retrained on the current corpus when its committed
files are older than the corpus (other document or phrasing counts): it is deterministic and takes a minute or two,
so the comparison is like for like (same tokenizer, same held-out split).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmkit.engine import SamplingParams, corpus  # noqa: E402

_WORD = re.compile(r"\w+", re.UNICODE)
STOP = set("""a an the and or but if of to in on at by for with from as is are was were be been being it its this that
these those you your yours i me my we our they them their he she his her not no yes do does did done can could
will would should may might must have has had so than then there here what which who whom when where why how all
any each more most some such only own same too very just also into out up down over under again once about
both few other because while until after before between through during above below off use uses used using
one two get gets make makes like e g eg etc
el la los las un una unos unas y o de del al en por para con sin que es son se su sus lo le les como más pero
si no ya muy este esta estos estas ese esa eso tu tus te mi mis nos cada cuando donde porque también otro otra
hay ser está están tiene tienen puede pueden hace hacer solo""".split())


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def key_terms(answer: str, idf: dict[str, float], k: int = 8) -> list[str]:
    code = [c.lower() for c in re.findall(r"`([^`]{2,40})`", answer)][:3]
    cands = {w for w in words(answer) if w not in STOP and (len(w) >= 4 or any(ch.isdigit() for ch in w))}
    best = sorted(cands, key=lambda w: (-idf.get(w, 0.0), w))[:k]
    return list(dict.fromkeys(code + best))


def term_recall(answer: str, terms: list[str]) -> float:
    if not terms:
        return 1.0
    low = answer.lower()
    ws = set(words(answer))
    hit = sum(1 for t in terms if ((t in ws) if _WORD.fullmatch(t) else (t in low)))
    return hit / len(terms)


def rouge_l(pred: str, ref: str) -> float:
    a, b = words(pred), words(ref)
    if not a or not b:
        return 0.0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            cur[j + 1] = prev[j] + 1 if x == y else max(prev[j + 1], cur[j])
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    p, r = lcs / len(a), lcs / len(b)
    return 2 * p * r / (p + r)


def loops(text: str, n: int = 4, times: int = 3) -> bool:
    w = words(text)
    grams = Counter(tuple(w[i:i + n]) for i in range(len(w) - n + 1))
    return bool(grams) and max(grams.values()) >= times


def heldout_items(docs: list[corpus.Doc]) -> list[dict]:
    return [{"q": q, "ref": d.answer, "lang": d.lang, "topic": d.topic} for d in docs for q in d.heldout]


def answer_idf(docs: list[corpus.Doc]) -> dict[str, float]:
    df = Counter(w for d in docs for w in set(words(d.answer)))
    n = len(docs)
    return {w: math.log((1 + n) / (1 + c)) for w, c in df.items()}


@contextlib.contextmanager
def captured_next_probs(module):
    """Patch `module.decode` so `engine.generate` hands back its `next_probs` and prompt ids."""
    box = {}
    original = module.decode

    def grab(tok, prompt, next_probs, params, context_length, **kw):
        box["next_probs"], box["prompt"] = next_probs, list(prompt)
        return original(tok, prompt, next_probs, params, context_length, **kw)

    module.decode = grab
    try:
        yield box
    finally:
        module.decode = original


def answer_nll(engine, module, question: str, answer: str) -> tuple[float, int]:
    """Total NLL (nats) of the answer's tokens + <|end|> after the question, and the count."""
    tok = engine.tok
    never = [i for s, i in tok.special.items() if i != tok.end_id]
    with captured_next_probs(module) as box:
        engine.generate([{"role": "user", "content": question}], SamplingParams(max_tokens=1))
    next_probs, ids = box["next_probs"], box["prompt"]
    target = tok.encode(answer) + [tok.end_id]
    total = 0.0
    for t in target:
        p = np.array(next_probs(ids), dtype=np.float64)
        p[never] = 0.0
        total -= math.log(max(p[t] / p.sum(), 1e-12))
        ids.append(t)
    return total, len(target)


def load_engines(names: list[str], retrain_v1: str, v2_data: Path | None = None) -> dict:
    import importlib

    from llmkit.engine import ENGINES, get_engine

    out = {}
    for name in names:
        if name == "transformer-v2-bare":  # the network alone, without retrieval-augmented decoding
            module = importlib.import_module(ENGINES["transformer-v2"])
            out[name] = (module.TransformerEngine(v2_data or module.DATA_DIR, retrieval=False), module)
            continue
        module = importlib.import_module(ENGINES[name])
        if name == "transformer-v2" and v2_data:
            out[name] = (module.TransformerEngine(v2_data), module)
            print(f"# transformer-v2 from {v2_data}")
            continue
        if name == "ngram-v1":
            from llmkit.engine import train as v1_train
            from llmkit.engine.ngram import DATA_DIR, NgramEngine

            info = json.loads((DATA_DIR / "info.json").read_text())
            docs = corpus.load()
            stale = (info.get("documents"), info.get("question_phrasings")) != (
                len(docs), sum(len(d.questions) for d in docs))
            if retrain_v1 == "always" or (retrain_v1 == "auto" and stale):
                # keyed by the corpus' content, so repeated runs reuse it
                digest = hashlib.sha1(b"".join(p.read_bytes() for p in sorted(corpus.CORPUS_DIR.glob("*.jsonl"))))
                tmp = Path(tempfile.gettempdir()) / f"llmkit-v1-{digest.hexdigest()[:12]}"
                if not (tmp / "model.npz").exists():
                    t0 = time.perf_counter()
                    v1_train.train(tmp)
                    print(f"# ngram-v1 retrained on the current corpus into {tmp} in {time.perf_counter() - t0:.1f} s")
                print(f"# ngram-v1 as retrained on the current corpus ({tmp}); its committed files have "
                      f"{info.get('question_phrasings')} phrasings, the corpus "
                      f"{sum(len(d.questions) for d in docs)}")
                out[name] = (NgramEngine(tmp), module)
                continue
            if stale:
                print(f"# ngram-v1 uses its committed files, trained on an older corpus "
                      f"({info.get('question_phrasings')} phrasings)")
        out[name] = (get_engine(name), module)
    return out


def table(rows: list[tuple], header: tuple) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    return "\n".join([fmt.format(*header)] + [fmt.format(*map(str, r)) for r in rows])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engines", default="ngram-v1,transformer-v2,transformer-v2-bare",
                   help="transformer-v2-bare: v2's network without retrieval-augmented decoding")
    p.add_argument("--limit", type=int, default=0, help="only the first N held-out questions")
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--show", type=int, default=0, help="print N example answers per engine")
    p.add_argument("--retrain-v1", choices=["auto", "always", "never"], default="auto")
    p.add_argument("--no-perplexity", action="store_true")
    p.add_argument("--v2-data", type=Path, help="evaluate the v2 model in this folder (train_transformer --out)")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)

    docs = corpus.load()
    items = heldout_items(docs)
    if args.limit:
        items = items[: args.limit]
    idf = answer_idf(docs)
    for it in items:
        it["terms"] = key_terms(it["ref"], idf)
    engines = load_engines(args.engines.split(","), args.retrain_v1, args.v2_data)
    print(f"# {len(items)} held-out questions ({sum(i['lang'] == 'es' for i in items)} Spanish), greedy, "
          f"max_tokens={args.max_tokens}")

    summary, results = [], {}
    for name, (engine, module) in engines.items():
        rows = []
        t0 = time.perf_counter()
        for it in items:
            g = engine.generate([{"role": "user", "content": it["q"]}],
                                SamplingParams(temperature=0, max_tokens=args.max_tokens))
            text = g.text()
            rows.append({"q": it["q"], "answer": text, "lang": it["lang"], "recall": term_recall(text, it["terms"]),
                         "rougeL": rouge_l(text, it["ref"]), "loop": loops(text), "finish": g.finish_reason,
                         "tokens": g.completion_tokens})
        secs = time.perf_counter() - t0
        ppl = {}
        if not args.no_perplexity:
            nll = n_tok = n_words = 0.0
            for it in items:
                a, n = answer_nll(engine, module, it["q"], it["ref"])
                nll, n_tok, n_words = nll + a, n_tok + n, n_words + len(it["ref"].split())
            ppl = {"ppl_token": math.exp(nll / n_tok), "ppl_word": math.exp(nll / n_words), "nll_token": nll / n_tok}
        results[name] = {"rows": rows, **ppl}

        def agg(rs):
            n = max(len(rs), 1)
            return (f"{sum(r['recall'] for r in rs) / n:.3f}", f"{sum(r['rougeL'] for r in rs) / n:.3f}",
                    f"{100 * sum(r['recall'] >= 0.5 for r in rs) / n:.1f}%", f"{100 * sum(r['loop'] for r in rs) / n:.1f}%")

        en = [r for r in rows if r["lang"] != "es"]
        es = [r for r in rows if r["lang"] == "es"]
        summary.append((name, *agg(rows), agg(en)[2], agg(es)[2],
                        f"{sum(r['tokens'] for r in rows) / max(len(rows), 1):.0f}",
                        f"{sum(r['finish'] == 'length' for r in rows)}",
                        f"{ppl.get('ppl_token', float('nan')):.2f}", f"{ppl.get('ppl_word', float('nan')):.2f}",
                        f"{1000 * secs / max(len(rows), 1):.0f}"))
        results[name].update(dict(zip(("recall", "rougeL", "answered", "loops"), agg(rows))))
    print()
    print(table(summary, ("engine", "key-term recall", "ROUGE-L", "answered", "loops", "answered en", "answered es",
                          "tokens/answer", "cut at max", "ppl/token", "ppl/word", "ms/answer")))
    if args.show:
        for i, it in enumerate(items[: args.show]):
            print(f"\nQ: {it['q']}\nREF: {it['ref']}\nKEY: {', '.join(it['terms'])}")
            for name in results:
                r = results[name]["rows"][i]
                print(f"[{name}] (recall {r['recall']:.2f}, rougeL {r['rougeL']:.2f}) {r['answer']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
