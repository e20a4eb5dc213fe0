"""The engine's scheduler (engine/scheduler.py): many replies in one forward pass, each one
exactly what it would be alone; a client that leaves stops its work; a shared prefix is not run
twice; concurrent SDK streams all finish with the right usage; grammars hold inside a batch."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import jsonschema
import pytest

from llmkit.engine import SamplingParams, get_engine
from llmkit.engine import scheduler as sched

QUESTIONS = ["What is an API?", "What is a token?", "How do I stream a reply?", "What does temperature do?",
             "What is top_p?", "What is a rate limit?", "What is an embedding?", "Why set max_tokens?",
             "What is a system prompt?", "How do retries work?", "What is JSON mode?", "What is a seed?"]
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
          "required": ["answer", "confidence"], "additionalProperties": False}


@pytest.fixture(scope="module")
def engine():
    e = get_engine("transformer-v2")
    assert sched.enabled(), "these tests are about the scheduler (LLMKIT_SCHEDULER must not be 0)"
    return e


def ask(q: str, system: str | None = None) -> list[dict]:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": q}]


def run_together(gens) -> list[str]:
    """Read every generation in its own thread, all at once (so their steps share passes)."""
    out: list = [None] * len(gens)

    def read(i, g):
        out[i] = g.text()

    threads = [threading.Thread(target=read, args=(i, g)) for i, g in enumerate(gens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def busy(engine, n: int = 12, max_tokens: int = 40):
    """Other requests that keep the batch full: different prompts, lengths and sampling."""
    return [engine.generate(ask(QUESTIONS[i % len(QUESTIONS)] + " " * (i % 3) + "Explain briefly." * (i % 2)),
                            SamplingParams(max_tokens=max_tokens + i, temperature=0.5 + 0.1 * (i % 5), top_p=0.9))
            for i in range(n)]


@pytest.mark.parametrize("params", [
    SamplingParams(max_tokens=40, temperature=0),
    SamplingParams(max_tokens=40, temperature=1.2, top_k=40, seed=1234),
    SamplingParams(max_tokens=40, temperature=0.9, top_p=0.8, seed=7, stop=["."]),
], ids=["greedy", "seeded", "seeded-top_p-stop"])
def test_a_request_gives_the_same_text_alone_and_inside_a_busy_batch(engine, params):
    msgs = ask("How do I keep my API key out of a notebook?")
    alone = engine.generate(msgs, params)
    text_alone = alone.text()
    rows_before, steps_before = engine.scheduler.rows, engine.scheduler.steps
    mine = engine.generate(msgs, params)
    texts = run_together(busy(engine) + [mine])
    assert texts[-1] == text_alone
    assert (mine.finish_reason, mine.completion_tokens) == (alone.finish_reason, alone.completion_tokens)
    steps = engine.scheduler.steps - steps_before
    assert (engine.scheduler.rows - rows_before) / steps > 2, "the requests did not share forward passes"


def test_pooled_caches_keep_a_reply_exact_when_it_outgrows_its_slot_and_give_every_slot_back(engine, monkeypatch):
    """Running replies' caches live in the slots of shared arrays (engine/kvpool.py). A reply longer than
    its first capacity moves to a larger chunk mid-reply and still writes what it writes alone, next to
    neighbours of other lengths; when all have ended, no slot is held."""
    from llmkit.engine import kvpool, transformer

    monkeypatch.setattr(transformer, "REPLY_GUESS", 4)  # a first capacity of prompt + 5, rounded up to kvpool.STEP
    first = lambda g: -(-(g.prompt_tokens + 5) // kvpool.STEP) * kvpool.STEP  # noqa: E731
    pool = engine.scheduler.pool
    pool.made.clear()
    msgs = ask("Tell me everything about streaming.")
    params = SamplingParams(max_tokens=200, temperature=0.8, seed=11)
    alone = engine.generate(msgs, params)
    text_alone = alone.text()
    assert alone.prompt_tokens + alone.completion_tokens > first(alone), "the reply must outgrow its first chunk"
    mine = engine.generate(msgs, params)
    texts = run_together(busy(engine, n=20) + [mine])
    assert texts[-1] == text_alone
    assert sum(c.used for chunks in pool.chunks.values() for c in chunks) == 0
    assert not pool.chunks, "chunks with no reply left are given back"
    assert len(pool.made) >= 2, "the long reply grew into a chunk of a larger capacity"
    # what it moved is what it had: the bare network (no retrieval to steer it) writes the same greedy
    # reply through the pool as through the one-request path's own cache
    bare = transformer.TransformerEngine(retrieval=False)
    greedy = SamplingParams(max_tokens=90, temperature=0)
    pooled = bare.generate(msgs, greedy)
    text = pooled.text()
    assert pooled.prompt_tokens + pooled.completion_tokens > first(pooled)
    monkeypatch.setenv("LLMKIT_SCHEDULER", "0")
    assert bare.generate(msgs, greedy).text() == text


def test_a_rerank_branch_reads_the_prompt_position_written_in_its_own_pass(engine):
    """A prompt whose last piece is one row (17 tokens: 16, then 1) and the rerank's branch that continues
    it, in one pass: the branch's logits are what it gets in a pass after the prompt's (the one-row
    piece's keys are in its pooled slot before any segment attends; read too early, the branch saw a
    stale key there and its logits moved by ~2). Equal up to ~1e-5: OpenBLAS computes a row with other
    bits in a pass of another size (see scheduler.py's docstring)."""
    import numpy as np

    from llmkit.engine import kvpool
    from llmkit.engine.transformer import one_blas_thread

    w, pool = engine.w, kvpool.KVPool(engine.w)
    rng = np.random.default_rng(0)
    prompt, cand = [int(t) for t in rng.integers(10, 4000, 17)], [int(t) for t in rng.integers(10, 4000, 3)]
    with one_blas_thread():  # as the scheduler runs its passes
        one = kvpool.PooledCache(w, 64, pool)
        together = sched.forward_batch(w, [sched.Segment(one, prompt[:16], False), sched.Segment(one, prompt[16:], True),
                                           sched.Segment(None, cand, "all", base=one, at=17)])
        two = kvpool.PooledCache(w, 64, pool)
        sched.forward_batch(w, [sched.Segment(two, prompt[:16], False), sched.Segment(two, prompt[16:], True)])
        apart = sched.forward_batch(w, [sched.Segment(None, cand, "all", base=two, at=17)])
    assert np.abs(together[1:] - apart).max() < 1e-3


def test_seeded_sampling_differs_by_seed_and_matches_the_unbatched_path(engine, monkeypatch):
    """The batched network computes what the one-request path does (same meaning of a seed)."""
    msgs = ask("What is a token?")
    seeded = {engine.generate(msgs, SamplingParams(max_tokens=30, temperature=1.6, seed=s)).text() for s in range(4)}
    monkeypatch.setenv("LLMKIT_SCHEDULER", "0")
    old = engine.generate(msgs, SamplingParams(max_tokens=30, temperature=0)).text()
    monkeypatch.setenv("LLMKIT_SCHEDULER", "1")
    new = engine.generate(msgs, SamplingParams(max_tokens=30, temperature=0)).text()
    assert len(seeded) > 1
    assert new == old


def test_closing_a_generation_stops_its_work_and_frees_its_slot(engine):
    others = busy(engine, n=4, max_tokens=60)
    leaving = engine.generate(ask("Tell me everything about streaming."), SamplingParams(max_tokens=400, temperature=1.0, seed=3))
    results = []
    t = threading.Thread(target=lambda: results.append(run_together(others)))
    t.start()
    it = iter(leaving)
    next(it), next(it)
    leaving.close()
    time.sleep(0.3)
    steps = leaving.steps_run
    t.join(120)
    assert leaving.steps_run == steps < 60, "the scheduler kept running a closed generation"
    assert leaving._req not in engine.scheduler.active
    assert all(g.finish_reason for g in others)


def test_a_dropped_generation_is_cancelled(engine):
    """A reader that goes away without closing (garbage collected) stops the work too."""
    gen = engine.generate(ask("Explain rate limits in detail."), SamplingParams(max_tokens=300, temperature=1.0))
    it = iter(gen)
    next(it)
    req = gen._req
    del it, gen
    deadline = time.time() + 10
    while not req.done and time.time() < deadline:
        time.sleep(0.02)
    assert req.done and req.steps_run < 300


def test_a_prefix_cache_hit_gives_the_same_text_as_a_miss(engine):
    system = ("You are the course's teaching assistant. Answer in two sentences, plainly, for a "
              "Python programmer who is new to LLM APIs, and name the parameter involved.")
    engine.scheduler.prefix.entries.clear()
    engine.scheduler.prefix.tokens = 0
    first = engine.generate(ask("What does temperature do?", system), SamplingParams(max_tokens=30, temperature=0))
    miss = first.text()
    hits = engine.scheduler.prefix.hits
    again = engine.generate(ask("What does temperature do?", system), SamplingParams(max_tokens=30, temperature=0)).text()
    assert engine.scheduler.prefix.hits == hits + 1
    assert again == miss
    # another question after the same system prompt reuses it and answers as a fresh run does
    other = ask("What is top_p?", system)
    hit = engine.generate(other, SamplingParams(max_tokens=30, temperature=0.8, seed=5)).text()
    assert engine.scheduler.prefix.hits == hits + 2
    engine.scheduler.prefix.entries.clear()
    engine.scheduler.prefix.tokens = 0
    assert engine.generate(other, SamplingParams(max_tokens=30, temperature=0.8, seed=5)).text() == hit


def test_constrained_requests_inside_a_batch_stay_valid(engine):
    params = [SamplingParams(max_tokens=300, temperature=0.7, seed=i, json_schema=SCHEMA) for i in range(3)]
    msgs = [ask(QUESTIONS[i]) for i in (1, 4, 11)]
    alone = [engine.generate(m, p).text() for m, p in zip(msgs, params)]
    gens = [engine.generate(m, p) for m, p in zip(msgs, params)]
    together = run_together(gens + busy(engine, n=6))
    for a, t, g in zip(alone, together, gens):
        assert t == a and g.finish_reason == "stop"
        jsonschema.validate(json.loads(t), SCHEMA)


def test_many_concurrent_sdk_streams_all_finish_with_the_right_usage(gateway):
    import openai

    client = openai.AsyncOpenAI(base_url=gateway + "/v1", api_key="x", max_retries=0, timeout=120)
    n = 40

    async def stream(i: int):
        s = await client.chat.completions.create(
            model="gpt-4o-mini", messages=ask(QUESTIONS[i % len(QUESTIONS)] + f" ({i})"), max_tokens=12 + i % 20,
            temperature=0.8, seed=i, stream=True, stream_options={"include_usage": True})
        text, usage, finish = "", None, None
        async for chunk in s:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                finish = chunk.choices[0].finish_reason or finish
            usage = chunk.usage or usage
        return text, usage, finish

    async def main():
        streamed = await asyncio.gather(*[stream(i) for i in range(n)])
        whole = [await client.chat.completions.create(
            model="gpt-4o-mini", messages=ask(QUESTIONS[i % len(QUESTIONS)] + f" ({i})"), max_tokens=12 + i % 20,
            temperature=0.8, seed=i) for i in range(0, n, 5)]
        return streamed, whole

    streamed, whole = asyncio.run(main())
    for i, (text, usage, finish) in enumerate(streamed):
        assert text and usage is not None and finish in ("stop", "length")
        assert usage.completion_tokens <= 12 + i % 20
        assert (finish == "length") == (usage.completion_tokens == 12 + i % 20)
    for k, w in zip(range(0, n, 5), whole):  # each stream is what the same request gives alone
        text, usage, finish = streamed[k]
        assert w.choices[0].message.content == text
        assert (w.usage.prompt_tokens, w.usage.completion_tokens) == (usage.prompt_tokens, usage.completion_tokens)


def test_a_streaming_client_that_leaves_stops_the_engine(gateway):
    import httpx

    engine = get_engine("transformer-v2")
    body = {"model": "gpt-4o-mini", "messages": ask("Tell me about every sampling parameter."),
            "max_tokens": 500, "temperature": 1.0, "stream": True}
    rows = engine.scheduler.rows
    with httpx.Client(base_url=gateway, timeout=30) as http:
        with http.stream("POST", "/v1/chat/completions", json=body) as r:
            for line in r.iter_lines():
                if '"content":"' in line:
                    break
    deadline = time.time() + 10
    while engine.scheduler.active and time.time() < deadline:
        time.sleep(0.05)
    assert not engine.scheduler.active, "the engine kept generating for a client that left"
    time.sleep(0.5)
    # the prompt, its rerank and the few tokens sent before the client left: far from 500 tokens
    assert engine.scheduler.rows - rows < 150
