"""Sampled replies at the APIs' default temperature: how many derail into made-up words.

    OPENBLAS_NUM_THREADS=1 python bench/sampling.py                  # min_p off vs the model's default
    OPENBLAS_NUM_THREADS=1 python bench/sampling.py --min-p 0,0.05,0.1,0.2 --temperature 1,0.8

OpenAI's, Anthropic's, Gemini's and Groq's APIs sample at temperature 1 unless told otherwise, so
that is what a learner's first call gets. A reply counts as derailed when more than 5% of its
words appear in no answer or question of the training corpus (a made-up word such as
"capabilly" or "peckerved"). Questions: the first prompts of the official SDKs' examples
(openai, anthropic, groq, ollama) and everyday questions written for this benchmark (not the
held-out sets); three seeds each, max_tokens 120, in process, no HTTP. Also printed: how many
distinct replies the three seeds give (the variety that temperature buys). A benchmark: it
prints, it never fails.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmkit.engine import SamplingParams, corpus, get_engine  # noqa: E402

QUESTIONS = [
    # the SDKs' own examples
    "Say this is a test", "How do I output all files in a directory using Python?",
    "Explain the importance of low latency LLMs", "Why is the sky blue?", "Hello, Claude",
    "Write a one-sentence bedtime story about a unicorn.", "Explain how AI works in a few words",
    "Count to 10.", "What is three plus one?",
    # everyday beginner questions (English and Spanish)
    "What does an API key do?", "how do I install a python package", "What is a for loop?",
    "Explain recursion simply", "What is JSON used for?", "How do I read a CSV file in Python?",
    "what is the difference between git pull and git fetch", "Why use a virtual environment?",
    "What is machine learning?", "Tell me a fun fact about the Moon", "How does streaming work in chat APIs?",
    "¿Qué es una API?", "¿Cómo instalo un paquete de Python?", "Explícame qué es un token",
    "¿Para qué sirve Docker?", "¿Qué es una función en programación?", "¿Por qué el cielo es azul?",
    "Hola, ¿quién eres?", "¿Qué es el aprendizaje automático?", "Dime los días de la semana",
    "¿Cómo leo un archivo de texto en Python?",
]
WORD = re.compile(r"[A-Za-zÀ-ÿ']+")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--min-p", default="0,default", help="comma list; 'default' = the model's own (generation_config.json)")
    ap.add_argument("--temperature", default="1")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--show", action="store_true", help="print each derailed reply")
    args = ap.parse_args()
    engine = get_engine()
    known = set()
    for d in corpus.load():
        for text in [d.answer, *d.questions]:
            known.update(w.lower() for w in WORD.findall(text))

    def unknown(text: str) -> float:
        words = [w.lower() for w in WORD.findall(text)]
        return sum(w not in known for w in words) / max(1, len(words))

    print(f"{len(QUESTIONS)} questions x {args.seeds} seeds, max_tokens 120; the model's default min_p is "
          f"{engine.default_min_p if hasattr(engine, 'default_min_p') else 'n/a'}")
    print(f"{'temperature':>11}  {'min_p':>7}  {'derailed':>9}  {'unknown words':>13}  {'distinct of 3':>13}  {'s':>5}")
    for t in (float(x) for x in args.temperature.split(",")):
        for m in args.min_p.split(","):
            min_p = None if m == "default" else float(m)
            t0 = time.perf_counter()
            derailed, rates, distinct = 0, [], []
            for q in QUESTIONS:
                seen = set()
                for seed in range(args.seeds):
                    text = engine.generate([{"role": "user", "content": q}],
                                           SamplingParams(max_tokens=120, temperature=t, seed=seed, min_p=min_p)).text()
                    r = unknown(text)
                    rates.append(r)
                    derailed += r > 0.05
                    if args.show and r > 0.05:
                        print(f"    {r:.2f} {q!r} s{seed}: {text[:160]!r}")
                    seen.add(text)
                distinct.append(len(seen))
            n = len(rates)
            print(f"{t:>11g}  {m:>7}  {derailed:>4}/{n:<4}  {sum(rates) / n:>13.3f}  "
                  f"{sum(distinct) / len(distinct):>13.2f}  {time.perf_counter() - t0:>5.0f}")


if __name__ == "__main__":
    main()
