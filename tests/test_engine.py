"""The engines' contract: every offline engine (the n-gram v1, the transformers v2 and v3) keeps
the sampling parameters' real meaning. One parametrized file; what only the transformer has
(its KV cache, window, retrieval mixing, HF parity) is in test_transformer.py."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from llmkit.engine import EngineInputError, SamplingParams, get_engine

Q = [{"role": "user", "content": "What is a REST API?"}]


ENGINES = ["ngram-v1", "transformer-v2", "transformer-v3"]


@pytest.fixture(scope="module", params=ENGINES)
def engine(request):
    return get_engine(request.param)


def gen(engine, messages=Q, **kw):
    g = engine.generate(messages, SamplingParams(**kw))
    return g.text(), g


def test_answers_a_course_question_in_its_own_words(engine):
    text, g = gen(engine, temperature=0)
    assert "HTTP" in text and len(text.split()) > 8
    assert g.finish_reason == "stop"
    assert g.prompt_tokens == engine.count_chat_tokens(Q)
    assert g.completion_tokens == engine.count_tokens(text)


def test_greedy_is_deterministic_and_top_k_1_is_greedy(engine):
    a, _ = gen(engine, temperature=0)
    b, _ = gen(engine, temperature=0)
    c, _ = gen(engine, temperature=1.5, top_k=1, seed=7)
    d, _ = gen(engine, temperature=1.0, top_p=1e-9, seed=9)
    assert a == b == c == d


def test_same_seed_same_text_different_seeds_differ(engine):
    q = [{"role": "user", "content": "Tell me about tokens and costs"}]
    same = {gen(engine, q, temperature=1.8, seed=42, max_tokens=40)[0] for _ in range(3)}
    assert len(same) == 1
    many = {gen(engine, q, temperature=1.8, seed=s, max_tokens=40)[0] for s in range(8)}
    assert len(many) > 1


def test_min_p_drops_tokens_under_its_share_of_the_likeliest():
    """min_p (after temperature): a token less likely than min_p x the likeliest one is never drawn;
    the rest keep their odds; 0 is off. Each draw reads one uniform number, so the same seed maps a
    truncated distribution's cumulative sums: tail tokens come up without it and never with it."""
    from llmkit.engine.sampling import choose

    p = np.array([0.5, 0.3, 0.12, 0.05, 0.03])
    drawn = {m: {choose(p, SamplingParams(temperature=1.0, min_p=m), np.random.default_rng(s)) for s in range(400)}
             for m in (0.0, 0.1, 0.15, 0.2, 0.5)}
    assert drawn[0.0] == {0, 1, 2, 3, 4}
    assert drawn[0.1] == {0, 1, 2, 3}  # 0.05 = 0.1 x 0.5 stays: only less likely tokens go
    assert drawn[0.15] == {0, 1, 2}  # 0.05 < 0.075
    assert drawn[0.2] == {0, 1, 2}  # 0.12 >= 0.2 x 0.5
    assert drawn[0.5] == {0, 1}
    hot = {choose(p, SamplingParams(temperature=3.0, min_p=0.5), np.random.default_rng(s)) for s in range(400)}
    assert hot == {0, 1, 2}  # after temperature: (0.12/0.5) ** (1/3) = 0.62 of the likeliest


def test_a_draw_is_what_numpys_choice_gives_from_the_same_seed():
    """sampling.draw replaces Generator.choice(n, p=p) (its checks were half the cost): the same
    index from the same random stream, so seeded replies did not change."""
    from llmkit.engine.sampling import draw

    r = np.random.default_rng(0)
    for _ in range(300):
        p = r.random(int(r.integers(2, 4097))) ** int(r.integers(1, 20))
        p[r.random(len(p)) < 0.3] = 0.0
        p = (p / p.sum()).astype(r.choice([np.float64, np.float32]))
        seed = int(r.integers(0, 2**31))
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        assert [int(a.choice(len(p), p=p)) for _ in range(4)] == [draw(p, b) for _ in range(4)]
    with pytest.raises(ValueError):
        draw(np.zeros(4), np.random.default_rng(0))


def test_high_temperature_spreads_the_distribution(engine):
    """At a higher temperature the sampled tokens are, on average, less likely under the model."""
    q = [{"role": "user", "content": "What is streaming?"}]

    def mean_logprob(t):
        lps = [tok.logprob for s in range(6) for tok in engine.generate(
            q, SamplingParams(temperature=t, seed=s, max_tokens=25, logprobs=0)) if tok.logprob is not None]
        return sum(lps) / len(lps)

    assert mean_logprob(2.0) < mean_logprob(0.2)


def test_max_tokens_gives_finish_reason_length(engine):
    text, g = gen(engine, temperature=0, max_tokens=3)
    assert g.finish_reason == "length" and g.completion_tokens == 3
    assert text


def test_stop_sequence_cuts_before_it(engine):
    full, _ = gen(engine, temperature=0)
    word = full.split()[3]
    text, g = gen(engine, temperature=0, stop=[word])
    assert g.finish_reason == "stop" and g.stop_sequence == word
    assert word not in text and full.startswith(text)


def test_json_mode_gives_valid_json(engine):
    text, g = gen(engine, temperature=0.8, seed=1, json_mode=True)
    assert isinstance(json.loads(text), dict)


def test_logprobs_are_real_log_probabilities(engine):
    g = engine.generate(Q, SamplingParams(temperature=0, max_tokens=5, logprobs=3))
    toks = list(g)
    assert toks and all(t.logprob is not None and t.logprob <= 0 for t in toks)
    assert all(len(t.top) == 3 and t.top[0][1] >= t.top[-1][1] for t in toks)


def test_spanish_question_gets_a_spanish_answer(engine):
    text, _ = gen(engine, [{"role": "user", "content": "¿Qué es un token?"}], temperature=0)
    assert any(w in text.lower() for w in (" el ", " la ", " es ", " de "))


def test_context_overflow_is_an_input_error(engine):
    with pytest.raises(EngineInputError):
        engine.generate([{"role": "user", "content": "token " * (engine.context_length + 10)}], SamplingParams())


def test_embeddings_similar_texts_score_higher(engine):
    v = engine.embed(["How do I set the temperature of the model?",
                      "What does the temperature parameter change?",
                      "The cat sat on the mat.",
                      "A cat was sitting on the mat."])
    assert v.shape[0] == 4 and v.shape[1] >= 64
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 2] and sim[0, 1] > sim[0, 3]
    assert sim[2, 3] > sim[2, 0] and sim[2, 3] > sim[2, 1]
    short = engine.embed(["hello there"], dimensions=64)
    assert short.shape == (1, 64)


def test_unseeded_repeats_differ_but_a_fresh_process_replays_them():
    code = ("from llmkit.engine import get_engine, SamplingParams as P; e = get_engine(); "
            "m = [{'role': 'user', 'content': 'Tell me about tokens and costs'}]; "
            "print([e.generate(m, P(temperature=1.9, max_tokens=30)).text() for _ in range(4)])")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    assert runs[0] == runs[1]
    assert len(set(eval(runs[0]))) > 1
