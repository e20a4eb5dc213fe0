"""Day 9's checks (inside the model): every solution is Correct, untouched exercises are Not
attempted, and the typical wrong answers are Incorrect with a message that says what to fix.

The checks run the offline model (transformer-v2) in this process; no gateway, no network.
"""

from __future__ import annotations

import contextlib
import io
import re

import numpy as np
import pytest

from llmkit.checks import ____, day09

PROBLEMS = sorted((n for n in vars(day09) if re.fullmatch(r"q\d+", n)), key=lambda n: int(n[1:]))


@pytest.fixture(autouse=True)
def _not_strict(monkeypatch):
    monkeypatch.delenv("LLMKIT_CHECKS_STRICT", raising=False)


def _namespace(source: str) -> dict:
    ns: dict = {}
    exec("import numpy as np\n" + source, ns)
    return ns


def _evaluate(q: str, source: str):
    problem = getattr(day09, q)
    ns = _namespace(source)
    return problem.evaluate(*[ns[n] for n in problem.names])


def test_day09_has_five_problems():
    assert PROBLEMS == ["q1", "q2", "q3", "q4", "q5"]


@pytest.mark.parametrize("q", PROBLEMS)
def test_each_solution_is_correct_and_each_placeholder_not_attempted(q):
    problem = getattr(day09, q)
    ns = _namespace(problem._solution)
    outcome = problem.evaluate(*[ns[n] for n in problem.names])
    assert outcome.kind == "Correct", outcome
    assert problem.evaluate(*[____ for _ in problem.names]).kind == "Not attempted"

    def untouched(*args, **kwargs):
        raise NotImplementedError("your code here")

    assert problem.evaluate(*[untouched for _ in problem.names]).kind == "Not attempted"
    assert problem.evaluate(*[(lambda *a, **k: None) for _ in problem.names]).kind == "Incorrect"


def test_a_check_never_raises_on_the_learner():
    for q in PROBLEMS:
        problem = getattr(day09, q)
        out = problem.evaluate(*[(lambda *a, **k: 1 / 0) for _ in problem.names])
        assert out.kind == "Incorrect" and "ZeroDivisionError" in out.message, out
        out = problem.evaluate(*[(lambda *a, **k: "nonsense") for _ in problem.names])
        assert out.kind == "Incorrect", out


TOP_NEXT = """
from llmkit.engine import get_engine
from llmkit.engine.transformer import softmax
eng = get_engine("transformer-v2")
def top_next(ids, k):
{body}
"""

GREEDY = """
from llmkit.engine.transformer import KVCache, forward
def greedy(w, ids, n, stop_id):
{body}
"""

PARAMS = """
def count_params(cfg):
    d, L, F, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"], cfg["vocab_size"]
    H = cfg["num_attention_heads"]
    KV = {kv}
    hd = {hd}
    attention = d * H * hd + 2 * d * KV * hd + H * hd * d
    embeddings = {embeddings}
    return embeddings + L * (attention + {mlp} * d * F + {norms}) + {final}
def memory_gb(n_params, bits):
    return {memory}
"""

RIGHT = {"kv": 'cfg.get("num_key_value_heads") or H', "hd": 'cfg.get("head_dim") or d // H',
         "embeddings": 'V * d if cfg.get("tie_word_embeddings", False) else 2 * V * d', "mlp": "3",
         "norms": "2 * d", "final": "d", "memory": "n_params * bits / 8 / 1e9"}


def _indent(body: str) -> str:
    return "\n".join("    " + line for line in body.strip("\n").splitlines())


def _params(**wrong) -> str:
    return PARAMS.format(**{**RIGHT, **wrong})


WRONG = [
    ("q1", TOP_NEXT.format(body=_indent("""
logits = eng.logits(ids)[-1]
best = np.argsort(-logits)[:k]
return [(eng.tok.decode([int(i)]), float(logits[i])) for i in best]""")), "softmax"),
    ("q1", TOP_NEXT.format(body=_indent("""
probs = softmax(eng.logits(ids)[-1])
best = np.argsort(probs)[-k:]
return [(eng.tok.decode([int(i)]), float(probs[i])) for i in best]""")), "highest first"),
    ("q1", TOP_NEXT.format(body=_indent("""
probs = softmax(eng.logits(ids)[0])
best = np.argsort(-probs)[:k]
return [(eng.tok.decode([int(i)]), float(probs[i])) for i in best]""")), "LAST position"),
    ("q1", TOP_NEXT.format(body=_indent("""
probs = softmax(eng.logits(ids)[-1])
best = np.argsort(-probs)[:k]
return [(int(i), float(probs[i])) for i in best]""")), "not its id"),
    ("q2", "def apply_temperature(logits, T):\n    e = np.exp(logits * T - np.max(logits * T))\n    return e / e.sum()",
     "divide them"),
    ("q2", "def apply_temperature(logits, T):\n    e = np.exp(logits / T)\n    return e / e.sum()", "overflow"),
    ("q2", "def apply_temperature(logits, T):\n    z = logits / T\n    return np.exp(z - z.max())", "divide by the sum"),
    ("q2", "def apply_temperature(logits, T):\n    logits /= T\n    e = np.exp(logits - logits.max())\n"
           "    return e / e.sum()", "in place"),
    ("q3", "def top_p_filter(probs, p):\n    order = np.argsort(-probs)\n    cum = np.cumsum(probs[order])\n"
           "    keep = order[cum < p]\n    out = np.zeros_like(probs)\n    out[keep] = probs[keep]\n"
           "    return out / out.sum()", "takes the running total to p"),
    ("q3", "def top_p_filter(probs, p):\n    order = np.argsort(-probs)\n    cum = np.cumsum(probs[order])\n"
           "    keep = order[:np.searchsorted(cum, p) + 1]\n    out = np.zeros_like(probs)\n    out[keep] = probs[keep]\n"
           "    return out", "divide by their sum"),
    ("q3", "def top_p_filter(probs, p):\n    s = np.sort(probs)[::-1]\n    n = np.searchsorted(np.cumsum(s), p) + 1\n"
           "    s[n:] = 0\n    return s / s.sum()", "wrong places"),
    ("q4", GREEDY.format(body=_indent("""
out = []
for _ in range(n):
    token = int(np.argmax(forward(w, list(ids) + out, None)))
    if token == stop_id:
        break
    out.append(token)
return out""")), "KV cache"),
    ("q4", GREEDY.format(body=_indent("""
cache = KVCache(w)
logits = forward(w, list(ids), cache)
out = []
for _ in range(n):
    token = int(np.argmax(logits))
    out.append(token)
    if token == stop_id:
        break
    logits = forward(w, [token], cache)
return out""")), "BEFORE"),
    ("q4", GREEDY.format(body=_indent("""
cache = KVCache(w)
out = list(ids)
logits = forward(w, list(ids), cache)
for _ in range(n):
    token = int(np.argmax(logits))
    if token == stop_id:
        break
    out.append(token)
    logits = forward(w, [token], cache)
return out""")), "only the new tokens"),
    ("q4", GREEDY.format(body=_indent("""
cache = KVCache(w)
seq = list(ids)
out = []
for _ in range(n):
    token = int(np.argmax(forward(w, seq, cache)))
    if token == stop_id:
        break
    out.append(token)
    seq.append(token)
return out""")), "only the newest token"),
    ("q4", "from llmkit.engine import get_engine\neng = get_engine('transformer-v2')\n" + GREEDY.format(body=_indent("""
out = []
for _ in range(n):
    token = int(np.argmax(eng.logits(list(ids) + out)[-1]))
    if token == stop_id:
        break
    out.append(token)
return out""")), "never ran the weights"),
    ("q5", _params(kv="H"), "num_key_value_heads"),
    ("q5", _params(hd="d // H"), "head_dim"),
    ("q5", _params(norms="0", final="0"), "RMSNorm"),
    ("q5", _params(embeddings="2 * V * d"), "tie_word_embeddings"),
    ("q5", _params(mlp="2"), "three matrices"),
    ("q5", _params(memory="n_params * bits / 8 / 2**30"), "1e9"),
    ("q5", _params(memory="n_params * bits / 1e9"), "divide bits by 8"),
]


@pytest.mark.parametrize("q,source,why", WRONG, ids=[f"{q}-{i}" for i, (q, _, _) in enumerate(WRONG)])
def test_wrong_answers_are_incorrect_and_say_why(q, source, why):
    outcome = _evaluate(q, source)
    assert outcome.kind == "Incorrect", outcome
    assert why in outcome.message, outcome.message


def test_the_parameter_formula_matches_the_model_and_known_sizes():
    from llmkit.engine import get_engine

    w = get_engine("transformer-v2").w
    assert day09._count(dict(w.config)) == w.n_params
    assert day09._count(day09.LLAMA_31_8B) == 8_030_261_248  # Llama 3.1 8B's published total
    assert round(day09._count(day09.LLAMA_32_3B) / 1e9, 2) == 3.21  # Llama 3.2 3B: 3.21 billion


def test_strict_mode_raises_on_a_wrong_answer(monkeypatch):
    monkeypatch.setenv("LLMKIT_CHECKS_STRICT", "1")
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(AssertionError, match="Incorrect"):
        day09.q2.check(lambda logits, T: np.ones(len(logits)))

