"""Days 03, 04, 05, 06, 07 and 09's checks in the Spanish edition: the same wrong answer a student
would write is Incorrect in both languages (same behaviour), and in Spanish the reason, the hint
and the solution are Spanish. The language comes from LLMKIT_LANG here; which folder or notebook
picks it without the learner doing anything is tests/test_spanish_edition.py's part.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import textwrap

import pytest

from llmkit import lang

DAYS = ("day03", "day04", "day05", "day06", "day07", "day09")

HEADER = """\
import json, random, time
import numpy as np
import anthropic, groq, httpx, httpx2, ollama, openai
from google import genai
from google.genai import types
from openai import OpenAI
from llmkit.engine import get_engine
from llmkit.engine.transformer import softmax
eng = get_engine("transformer-v2")
"""


@pytest.fixture(autouse=True)
def _not_strict(monkeypatch):
    monkeypatch.delenv("LLMKIT_CHECKS_STRICT", raising=False)


def _evaluate(day: str, q: str, source: str, language: str, monkeypatch):
    monkeypatch.setenv("LLMKIT_LANG", language)
    problem = getattr(importlib.import_module(f"llmkit.checks.{day}"), q)
    ns: dict = {}
    exec(HEADER + textwrap.dedent(source), ns)
    with contextlib.redirect_stdout(io.StringIO()):
        outcome = problem.evaluate(*[ns[n] for n in problem.names])
    return outcome, repr(outcome)  # the label is written in the language of the moment


# (day, question, a wrong answer, words of the English reason, words of the Spanish reason)
WRONG = [
    ("day03", "q1", """
     def ask_claude(client, question, system):
         r = client.messages.create(model="claude-haiku-4-5", max_tokens=300, messages=[
             {"role": "system", "content": system}, {"role": "user", "content": question}])
         return r.content[0].text
     """, "Anthropic takes the system prompt as system=", "Anthropic recibe el prompt de sistema como system="),
    ("day03", "q4", """
     def ollama_openai(host):
         return OpenAI(base_url=f"http://{host}", api_key="ollama")
     """, "expected http://", "se esperaba http://"),
    ("day04", "q2", """
     def parse_sse(lines):
         return [json.loads(line[5:]) for line in lines if line.startswith("data:")]
     """, "it is not JSON but the end of OpenAI's stream", "no es JSON sino el final del stream de OpenAI"),
    ("day04", "q1", """
     def stream_print(client, question):
         r = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
         text = r.choices[0].message.content
         print(text)
         return text, 1
     """, "pass stream=True", "pasa stream=True"),
    ("day05", "q1", """
     def retry_decision(e):
         return 1.0  # retry everything
     """, "retrying cannot fix it", "reintentar no lo arregla"),
    ("day05", "q1", """
     def retry_decision(e):
         return None  # never retry
     """, "this failure is transient", "este fallo es pasajero"),
    ("day06", "q1", """
     MODELFILE = "FROM llama3.2\\nPARAMETER temperature 0\\nPARAMETER num_predict 40\\nSYSTEM You are a patient tutor."
     def create_from_modelfile(client, name, modelfile):
         return client.create(model=name, modelfile=modelfile)
     """, "MODELFILE should start FROM llama3.1", "MODELFILE debería empezar con FROM llama3.1"),
    ("day06", "q2", """
     class LocalModelsError:
         def __init__(self, status, detail):
             self.status, self.detail = status, detail
     class LocalModels:
         def __init__(self, base_url, api_key=None, timeout=30.0, max_retries=2, sleep=time.sleep):
             self.http = httpx.Client(base_url=base_url, timeout=timeout)
     """, "LocalModelsError should be an exception class", "LocalModelsError debería ser una clase de excepción"),
    ("day07", "q1", """
     import llmkit
     def prompt_cost(messages, model, max_tokens):
         entry = llmkit.catalog.find(model)
         words = sum(len(m["content"].split()) for m in messages)
         return (words * entry.price_in + max_tokens * entry.price_out) / 1_000_000
     """, "counted words", "contaste palabras"),
    ("day07", "q3", """
     def validate_jsonl(text, model, max_tokens):
         valid = [json.loads(line) for line in text.splitlines() if line.strip()]
         return valid, []
     """, "json.loads was given text that is not JSON", "json.loads recibió un texto que no es JSON"),
    ("day09", "q2", """
     def apply_temperature(logits, T):
         z = np.asarray(logits, dtype=float) * T
         e = np.exp(z - z.max())
         return e / e.sum()
     """, "you multiplied the logits by T", "multiplicaste los logits por T"),
    ("day09", "q3", """
     def top_p_filter(probs, p):
         order = np.argsort(-probs)
         n = int(np.searchsorted(np.cumsum(probs[order]), p))
         out = np.zeros_like(probs, dtype=float)
         out[order[:n]] = probs[order[:n]]
         return out / out.sum()
     """, "also keep the token that takes the running total to p", "quédate también con el token"),
    ("day09", "q5", """
     def count_params(cfg):
         d, L, F, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"], cfg["vocab_size"]
         H = cfg["num_attention_heads"]
         KV = cfg.get("num_key_value_heads") or H
         hd = cfg.get("head_dim") or d // H
         embeddings = V * d if cfg.get("tie_word_embeddings", False) else 2 * V * d
         return embeddings + L * (2 * d * H * hd + 2 * d * KV * hd + 3 * d * F)

     def memory_gb(n_params, bits):
         return n_params * bits / 8 / 1e9
     """, "count the RMSNorm weights too", "cuenta también los pesos de RMSNorm"),
]


@pytest.mark.parametrize("day,q,source,en_words,es_words", WRONG,
                         ids=[f"{d}.{q}-{i}" for i, (d, q, *_) in enumerate(WRONG)])
def test_a_wrong_answer_is_incorrect_in_both_languages_and_says_why_in_spanish(day, q, source, en_words, es_words,
                                                                               monkeypatch):
    en, en_shown = _evaluate(day, q, source, "en", monkeypatch)
    es, es_shown = _evaluate(day, q, source, "es", monkeypatch)
    assert en.kind == es.kind == "Incorrect", (en, es)
    assert en_words in en.message, en.message
    assert es_words in es.message, es.message
    assert es.message != en.message
    assert es_shown.startswith(f"[{q}] Incorrecto: "), es_shown
    assert en_shown.startswith(f"[{q}] Incorrect: "), en_shown


@pytest.mark.parametrize("day", DAYS)
def test_every_hint_and_solution_has_a_spanish_text(day, monkeypatch, capsys):
    """Each problem's hint and solution come out Spanish with LLMKIT_LANG=es, English without it;
    the Spanish solution is still the same Python (it compiles), with Spanish comments or strings."""
    module = importlib.import_module(f"llmkit.checks.{day}")
    problems = [getattr(module, n) for n in dir(module) if n[:1] == "q" and n[1:].isdigit()]
    assert problems
    for problem in problems:
        hint_es, solution_es = lang.translate(problem._hint, "es"), lang.translate(problem._solution, "es")
        assert hint_es != problem._hint, f"{day} {problem.name}: the hint has no Spanish"
        assert solution_es != problem._solution, f"{day} {problem.name}: the solution has no Spanish"
        compile(solution_es, f"{day}.{problem.name} (es)", "exec")
        monkeypatch.setenv("LLMKIT_LANG", "es")
        problem.hint()
        problem.solution()
        shown = capsys.readouterr().out
        assert f"[{problem.name}] Pista: {hint_es}" in shown
        assert f"[{problem.name}] Solución: " in shown and solution_es.splitlines()[-1].strip() in shown
        monkeypatch.setenv("LLMKIT_LANG", "en")
        problem.hint()
        assert f"[{problem.name}] Hint: {problem._hint}" in capsys.readouterr().out


def test_not_attempted_speaks_spanish(monkeypatch):
    from llmkit.checks import ____, day07

    monkeypatch.setenv("LLMKIT_LANG", "es")
    outcome = day07.q1.evaluate(____)
    assert outcome.kind == "Not attempted" and repr(outcome).startswith("[q1] Sin intentar: ")
