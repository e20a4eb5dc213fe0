"""Answer quality and held-out perplexity of the offline models, side by side.

    python bench/quality.py                       # v1, v2 and v2's bare network on every held-out phrasing
    python bench/quality.py --show 5              # also print a few answers
    python bench/quality.py --engines transformer-v2 --limit 50
    python bench/quality.py --set v3 --engines transformer-v2   # only the second held-out set
    python bench/quality.py --set corpus --engines transformer-v3 --corpus-from OLD/llmkit/engine/corpus

Two question sets (`--set corpus|v3|both`, default both).

Set "corpus": the questions are the corpus' held-out phrasings (`corpus.load()` keeps one phrasing of
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

Set "v3": bench/heldout_v3.jsonl, a second held-out set written before the v3 training data and
blind to it (its author never read the corpus), so neither its wording nor its references come
from the training data: beginner questions as students type them (programming, web and cloud,
data and ML, science explainers, short code, small tasks, LLM APIs; half in Spanish) and
questions a small offline model cannot know (people, places, news, sports, weather, prices).
Each in-scope line carries its own `key_terms` (words any correct answer contains); nothing
here reads the corpus to score it. Reported per engine:

- key-term recall (`v3_recall`: accent- and case-folded; a term of 3+ letters matches any word
  that starts with it, so "scatter" matches "scattering"; shorter or numeric terms match whole
  words; terms with other characters, like `json.load` or `[::-1]`, match as substrings);
  answered = recall >= 0.5; both overall and per language;
- declined: in-scope questions answered with an admission of not knowing (`admits_not_knowing`);
- out of scope: honest = the reply admits not knowing, confident wrong = every other reply;
- loops, as above.
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
import unicodedata
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


V3_PATH = Path(__file__).with_name("heldout_v3.jsonl")


def load_v3(path: Path = V3_PATH) -> list[dict]:
    """The second held-out set: one JSON object a line (q, lang, topic, key_terms, kind)."""
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for it in items:
        if it.get("kind") not in ("in_scope", "out_of_scope") or it.get("lang") not in ("en", "es"):
            raise ValueError(f"{path}: bad kind or lang in {it}")
    return items


def fold(text: str) -> str:
    """Lower case without accents, typographic apostrophes made plain: "Sé" and "se" compare equal."""
    text = unicodedata.normalize("NFD", text.lower().replace("\u2019", "'").replace("\u00b4", "'"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def v3_recall(answer: str, terms: list[str]) -> float:
    """Share of `terms` in the answer: word stems by prefix, short or numeric terms whole, code by substring."""
    if not terms:
        return 1.0
    low = fold(answer)
    ws = _WORD.findall(low)
    hit = 0
    for t in map(fold, terms):
        if not _WORD.fullmatch(t):
            hit += t in low
        elif len(t) >= 3 and not t.isdigit():
            hit += any(w.startswith(t) for w in ws)
        else:
            hit += t in ws
    return hit / len(terms)


# Admissions of not knowing, matched on the folded text (see `fold`) of the reply's first two
# sentences. Deliberately conservative: only phrases that say "I don't know / can't know / have no
# access or data", never hedges such as "it depends" or "probably", so a reply counts as honest
# only when it owns up; anything else out of scope is a confident (wrong) answer.
_ADMIT_EN = [
    r"\bi (?:really |honestly |just |simply )?(?:do not|don't|dont) know\b",
    r"\bi(?:'m| am) (?:not sure|unsure|not certain|not able to (?:know|tell|say|check|answer))\b",
    r"\bi(?:'m| am) unable to (?:know|tell|say|check|answer|look|access|see)\b",
    r"\bi (?:can't|cannot|can not|couldn't) (?:know|tell|say|check|answer|look (?:it |that )?up|access|see|verify)\b",
    r"\bi (?:do not|don't|dont) have (?:that|this|the|any|enough|such|up[- ]to[- ]date|current|live|real[- ]time)"
    r"(?: \w+){0,2} (?:information|info|data|knowledge|access)\b",
    r"\bi (?:do not|don't|dont) have access\b",
    r"\bi have no (?:way|access|information|info|data|knowledge|idea)\b",
    r"\bno (?:access to|way (?:for me )?to know)\b",
    r"\b(?:outside|beyond) (?:of )?(?:what i (?:learned|learnt|know|was trained on)|my (?:knowledge|training))\b",
    r"\b(?:not|isn't|aren't) (?:something|anything) i (?:know|can know|learned|learnt|was trained on)\b",
    r"\bi (?:wasn't|was not) trained on\b",
    r"\b(?:isn't|is not|wasn't|was not) in (?:my|the) (?:training )?data\b",
]
_ADMIT_ES = [
    r"\bno (?:lo |la )?se(?: (?:eso|esto|la respuesta|quien|que|cual|cuanto|cuantos|cuantas|donde|cuando|como))?\s*[.,;:!?)]",
    r"\bno (?:lo |la )?se (?:quien|que|cual|cuanto|cuantos|cuantas|donde|cuando)\b",
    r"\bno lo se\b",
    r"\bno (?:estoy segur[oa]|puedo (?:saber|saberlo|comprobar|comprobarlo|consultar|verificar|ver|responder eso))\b",
    r"\bno tengo (?:esa|esta|la|ninguna|suficiente|informacion|datos|acceso|forma|manera|conexion)\b",
    r"\bno dispongo de\b",
    r"\b(?:no conozco|desconozco)\b",
    r"\bsin acceso a\b",
    r"\bfuera de (?:lo que (?:aprendi|se|conozco)|mis datos|mi (?:conocimiento|entrenamiento))\b",
    r"\bno (?:aprendi|me entrenaron con|estaba en mis datos)\b",
    r"\bno es (?:algo|nada) que (?:se|sepa|aprendi|conozca|conozco)\b",
]
_ADMIT = re.compile("|".join(_ADMIT_EN + _ADMIT_ES))
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def admits_not_knowing(reply: str) -> bool:
    """True when the reply's first two sentences admit not knowing ("I don't know", "no lo sé", ...).

    The raw "no sé" (with its accent) is also accepted; once accents are folded "no se" alone is
    too common ("no se puede") to count without the punctuation or question word that follows.
    """
    head = " ".join(_SENTENCE_END.split(reply.strip())[:2])
    return bool(re.search(r"\bno (?:lo |la )?s\u00e9\b", head.lower()) or _ADMIT.search(fold(head) + " "))


def load_engines(names: list[str], retrain_v1: str, v2_data: Path | None = None) -> dict:
    import importlib

    from llmkit.engine import ENGINES, get_engine

    out = {}
    for name in names:
        if name.endswith("-bare"):  # the network alone, without retrieval-augmented decoding
            base = name[: -len("-bare")]
            module = importlib.import_module(ENGINES[base])
            data = v2_data if (v2_data and base == "transformer-v2") else module.DATA_DIRS[base]
            out[name] = (module.TransformerEngine(data, retrieval=False), module)
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


def run_corpus_set(args, engines: dict) -> dict:
    """The corpus' held-out phrasings against their reference answers (the original set); with
    --corpus-from, those of an older corpus folder (the set grows with the corpus: the same items
    compare two sessions)."""
    docs = corpus.load(args.corpus_from) if args.corpus_from else corpus.load()
    items = heldout_items(docs)
    if args.limit:
        items = items[: args.limit]
    idf = answer_idf(docs)
    for it in items:
        it["terms"] = key_terms(it["ref"], idf)
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
    return results



def run_v3_set(args, engines: dict) -> dict:
    """bench/heldout_v3.jsonl: key terms in scope, honest "I don't know" out of scope."""
    items = load_v3(args.v3_file)
    ins = [it for it in items if it["kind"] == "in_scope"]
    outs = [it for it in items if it["kind"] == "out_of_scope"]
    if args.limit:  # the first N of each kind (the file interleaves English and Spanish)
        ins, outs = ins[: args.limit], outs[: args.limit]
    print(f"\n# heldout_v3: {len(ins)} in-scope questions ({sum(i['lang'] == 'es' for i in ins)} Spanish), "
          f"{len(outs)} out of scope ({sum(i['lang'] == 'es' for i in outs)} Spanish), greedy, "
          f"max_tokens={args.max_tokens}")

    def pct(rs, key):
        return f"{100 * sum(bool(key(r)) for r in rs) / len(rs):.1f}%" if rs else "-"

    def mean(rs, key):
        return f"{sum(key(r) for r in rs) / len(rs):.3f}" if rs else "-"

    results, in_rows, out_rows, topic_rows = {}, [], [], []
    for name, (engine, _module) in engines.items():
        rows = []
        t0 = time.perf_counter()
        for it in ins + outs:
            g = engine.generate([{"role": "user", "content": it["q"]}],
                                SamplingParams(temperature=0, max_tokens=args.max_tokens))
            text = g.text()
            rows.append({**it, "answer": text, "recall": v3_recall(text, it["key_terms"]),
                         "dont_know": admits_not_knowing(text), "loop": loops(text), "finish": g.finish_reason,
                         "tokens": g.completion_tokens})
        secs = time.perf_counter() - t0
        rin, rout = rows[: len(ins)], rows[len(ins):]
        en, es = [r for r in rin if r["lang"] == "en"], [r for r in rin if r["lang"] == "es"]
        oen, oes = [r for r in rout if r["lang"] == "en"], [r for r in rout if r["lang"] == "es"]
        recall = lambda r: r["recall"]  # noqa: E731
        answered = lambda r: r["recall"] >= 0.5  # noqa: E731
        in_rows.append((name, mean(rin, recall), pct(rin, answered), mean(en, recall), pct(en, answered),
                        mean(es, recall), pct(es, answered), sum(r["dont_know"] for r in rin),
                        sum(r["loop"] for r in rin), f"{1000 * secs / max(len(rows), 1):.0f}"))
        out_rows.append((name, f"{sum(r['dont_know'] for r in rout)}/{len(rout)}",
                         sum(not r["dont_know"] for r in rout),
                         f"{sum(r['dont_know'] for r in oen)}/{len(oen)}", f"{sum(r['dont_know'] for r in oes)}/{len(oes)}",
                         sum(r["loop"] for r in rout)))
        for topic in dict.fromkeys(r["topic"] for r in rin):
            rs = [r for r in rin if r["topic"] == topic]
            topic_rows.append((name, topic, len(rs), mean(rs, recall), pct(rs, answered)))
        results[name] = {"rows": rows, "recall": mean(rin, recall), "answered": pct(rin, answered),
                         "recall_en": mean(en, recall), "answered_en": pct(en, answered),
                         "recall_es": mean(es, recall), "answered_es": pct(es, answered),
                         "declined": sum(r["dont_know"] for r in rin), "loops": sum(r["loop"] for r in rows),
                         "out_of_scope": len(rout), "honest": sum(r["dont_know"] for r in rout),
                         "confident_wrong": sum(not r["dont_know"] for r in rout)}
    print("\nin scope (answered = key-term recall >= 0.5; declined = answered with \"I don't know\")")
    print(table(in_rows, ("engine", "key-term recall", "answered", "recall en", "answered en", "recall es",
                          "answered es", "declined", "loops", "ms/answer")))
    print("\nout of scope (honest = the reply admits not knowing; any other reply is confident wrong)")
    print(table(out_rows, ("engine", "honest", "confident wrong", "honest en", "honest es", "loops")))
    if args.by_topic:
        print()
        print(table(topic_rows, ("engine", "topic", "questions", "key-term recall", "answered")))
    if args.show:
        picks = ins[: args.show] + outs[: max(1, args.show // 4)]
        for it in picks:
            print(f"\nQ ({it['kind']}, {it['lang']}): {it['q']}\nKEY: {', '.join(it['key_terms']) or '-'}")
            for name in results:
                r = next(r for r in results[name]["rows"] if r["q"] == it["q"])
                tag = "don't know" if r["dont_know"] else f"recall {r['recall']:.2f}"
                print(f"[{name}] ({tag}) {r['answer']}")
    return results


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engines", default="ngram-v1,transformer-v2,transformer-v2-bare",
                   help="transformer-v2-bare: v2's network without retrieval-augmented decoding")
    p.add_argument("--set", dest="which", choices=["both", "corpus", "v3"], default="both",
                   help="corpus: the corpus' held-out phrasings; v3: bench/heldout_v3.jsonl")
    p.add_argument("--limit", type=int, default=0,
                   help="only the first N held-out questions (v3: the first N of each kind)")
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--show", type=int, default=0, help="print N example answers per engine")
    p.add_argument("--by-topic", action="store_true", help="v3: also a table per topic")
    p.add_argument("--v3-file", type=Path, default=V3_PATH, help="the v3 question file (default %(default)s)")
    p.add_argument("--retrain-v1", choices=["auto", "always", "never"], default="auto")
    p.add_argument("--no-perplexity", action="store_true")
    p.add_argument("--corpus-from", type=Path,
                   help="the corpus set as an older corpus folder had it (e.g. a worktree's llmkit/engine/corpus): "
                        "its held-out phrasings, references and key terms, answered by today's engines")
    p.add_argument("--v2-data", type=Path, help="evaluate the v2 model in this folder (train_transformer --out)")
    p.add_argument("--json", type=Path, help="also write the figures here (v3's under the key \"heldout_v3\")")
    args = p.parse_args(argv)

    engines = load_engines(args.engines.split(","), args.retrain_v1, args.v2_data)
    results = run_corpus_set(args, engines) if args.which in ("both", "corpus") else {}
    if args.which in ("both", "v3"):
        results["heldout_v3"] = run_v3_set(args, engines)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
