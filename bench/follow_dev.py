"""Following a system prompt, measured on training data only (a dev set; prints figures).

    python bench/follow_dev.py        # about half a minute; each figure with the feature and without it

- language: a training phrasing asked with a system prompt that asks for the other language
  ("Always answer in Spanish." before an English phrasing); is the first candidate retrieval hands the
  engine in the language asked for? and where the corpus has the entry's written translation (the files
  written as parallel en/es lists), is it that one? (guide.counterparts, guide.Guide._in_language)
- role: a phrasing that names its subject ("How do I loop in JavaScript?") with the subject taken out,
  asked without a system prompt and with "You are a <subject> tutor." / "Eres un tutor de <subject>.";
  is its entry the first candidate? (follow.role_subject)
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmkit.engine import corpus, get_engine  # noqa: E402
from llmkit.engine.transformer import question  # noqa: E402

SUBJECTS = {"javascript": "JavaScript", "sql": "SQL", "git": "git", "docker": "Docker", "kubernetes": "Kubernetes",
            "linux": "Linux", "pandas": "pandas", "numpy": "NumPy", "bash": "Bash", "node": "Node.js", "react": "React"}


def first(guide, messages) -> int | None:
    c = guide.candidates(question(messages))
    return c[0][0] if c else None


def written_pairs(entry: dict[str, int]) -> dict[int, int]:
    """Entry -> its written translation, from the corpus files written as parallel lists (`X_en.jsonl`
    and `X_es.jsonl` with as many lines: line i of one is line i of the other)."""
    pairs: dict[int, int] = {}
    for en in sorted(corpus.CORPUS_DIR.glob("*_en.jsonl")):
        es = en.with_name(en.name.replace("_en.jsonl", "_es.jsonl"))
        a = [json.loads(x)["a"] for x in en.read_text(encoding="utf-8").splitlines() if x.strip()]
        b = [json.loads(x)["a"] for x in es.read_text(encoding="utf-8").splitlines() if x.strip()] if es.exists() else []
        if len(a) != len(b):
            continue
        for x, y in zip(a, b):
            if x in entry and y in entry:
                pairs[entry[x]], pairs[entry[y]] = entry[y], entry[x]
    return pairs


def main() -> None:
    engine = get_engine("transformer-v3")
    guide = engine.guide
    texts = json.loads(bytes(np.load(engine.files[-1].with_name("retrieval.npz"))["answers"]).decode())
    entry = {t: e for e, t in enumerate(texts)}  # the index's entries (the corpus may have grown since)
    docs = [d for d in corpus.load() if d.answer in entry]
    rng = random.Random(3)
    asked = rng.sample([d for d in docs if d.topic != "fallback" and len(d.questions) >= 3], 600)
    pair = written_pairs(entry)
    links, lookup = guide.counterpart, guide._in_language
    for label, guide.counterpart, guide._in_language in [
            ("shipped", links, lookup),
            ("no lookup in the language asked (guide._in_language)", links, lambda *a: []),
            ("neither, nor translation links (guide.counterpart = [])", [], lambda *a: [])]:
        got = {"en": [0, 0], "es": [0, 0]}
        right = [0, 0]
        for d in asked:
            want = "es" if d.lang == "en" else "en"
            system = "Always answer in Spanish." if want == "es" else "Always answer in English."
            e = first(guide, [{"role": "system", "content": system}, {"role": "user", "content": d.questions[-1]}])
            got[want][0] += e is not None and guide.lang[e] == want
            got[want][1] += 1
            if entry[d.answer] in pair:
                right[0] += e == pair[entry[d.answer]]
                right[1] += 1
        print(f"language asked, first candidate in it, {label}: "
              + ", ".join(f"{lang} {n}/{of} = {n / of:.3f}" for lang, (n, of) in got.items())
              + f"; the written translation, where the corpus has one: {right[0]}/{right[1]} = {right[0] / right[1]:.3f}")
    guide.counterpart, guide._in_language = links, lookup
    rows = []
    for d in docs:
        for q in d.questions:
            for word, name in SUBJECTS.items():
                if re.search(rf"\b{word}\b", q, re.I):
                    bare = " ".join(re.sub(rf"\b(?:in|en|with|con|de)?\s*{word}\b", " ", q, flags=re.I).split())
                    if len(bare.split()) >= 3:
                        rows.append((entry[d.answer], bare, name))
    rows = random.Random(5).sample(rows, min(400, len(rows)))
    for label, system in [("no system prompt", None), ("You are a <subject> tutor.", "You are a {} tutor."),
                          ("Eres un tutor de <subject>.", "Eres un tutor de {}.")]:
        ok = 0
        for e, bare, name in rows:
            msgs = ([{"role": "system", "content": system.format(name)}] if system else []) + [{"role": "user", "content": bare}]
            q = question(msgs)
            q.lang = None  # the subject is what is measured here, not the language a Spanish role asks for
            c = guide.candidates(q)
            ok += bool(c) and c[0][0] == e
        print(f"role, {label:28s} entry first: {ok}/{len(rows)} = {ok / len(rows):.3f}")


if __name__ == "__main__":
    main()
