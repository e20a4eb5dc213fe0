"""llmkit.chat / stream / achat / astream / batch through the five official SDKs, against
the in-process gateway: replies, parameters, finish reasons, streams, model names."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import warnings

import pytest

import llmkit
from llmkit import catalog, faults
from llmkit.providers import ADAPTERS, Params, RetiredModelWarning, client_for, resolve

PROVIDERS = ["openai", "anthropic", "gemini", "groq", "ollama"]
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku", "gemini": "gemini-flash", "groq": "groq-llama",
          "ollama": "llama3.1"}
Q = "What is a token?"


@pytest.fixture()
def routed(gateway, monkeypatch):
    """Every SDK pointed at the test gateway by llmkit.setup() itself (LLMKIT_GATEWAY_URL
    names it, offline forced); faults, the ledger and the budget are clean before and after."""
    monkeypatch.setenv("LLMKIT_GATEWAY_URL", gateway)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)  # google-genai would prefer it to GEMINI_API_KEY
    monkeypatch.delenv("LLMKIT_MODEL", raising=False)
    assert llmkit.setup(offline=True, quiet=True).gateway_url == gateway
    faults.clear(url=gateway)
    llmkit.ledger().reset()
    llmkit.budget(None)
    yield gateway
    faults.clear(url=gateway)
    llmkit.budget(None)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_chat_every_provider(routed, provider):
    r = llmkit.chat(Q, model=MODELS[provider], max_tokens=40)
    entry = catalog.find(MODELS[provider])
    assert r.text and str(r) == r.text
    assert r.provider == provider and r.model == entry.id and r.requested == MODELS[provider]
    assert r.finish_reason in ("stop", "length") and r.offline is True
    assert r.usage.input_tokens > 0 and 0 < r.usage.output_tokens <= 40
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    u = r.usage
    assert r.cost == pytest.approx((u.input_tokens * entry.price_in + u.output_tokens * entry.price_out) / 1e6)
    assert r.latency > 0 and r.ttft is None and r.retries == 0 and len(r.attempts) == 1
    assert r.raw is not None
    assert repr(r).startswith("Reply(") and provider in repr(r) and len(repr(r)) < 250
    assert r.text in r._repr_markdown_() and "tokens" in r._repr_markdown_()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_finish_reason_length_and_stop(routed, provider):
    short = llmkit.chat(Q, model=MODELS[provider], max_tokens=3, temperature=0)
    assert short.finish_reason == "length" and short.usage.output_tokens == 3
    full = llmkit.chat(Q, model=MODELS[provider], max_tokens=500, temperature=0)
    assert full.finish_reason == "stop"
    raw = {"openai": "stop", "groq": "stop", "anthropic": "end_turn", "gemini": "STOP", "ollama": "stop"}[provider]
    assert full.finish_raw == raw


@pytest.mark.parametrize("provider", PROVIDERS)
def test_system_prompt_reaches_each_provider(routed, provider):
    plain = llmkit.chat(Q, model=MODELS[provider], max_tokens=5)
    with_system = llmkit.chat(Q, model=MODELS[provider], max_tokens=5, system="Answer in one short sentence.")
    as_message = llmkit.chat([{"role": "system", "content": "Answer in one short sentence."},
                              {"role": "user", "content": Q}], model=MODELS[provider], max_tokens=5)
    assert with_system.usage.input_tokens > plain.usage.input_tokens
    assert as_message.usage.input_tokens == with_system.usage.input_tokens


@pytest.mark.parametrize("provider", ["openai", "gemini", "groq", "ollama"])
def test_seed_reproduces_a_sample(routed, provider):
    a = llmkit.chat(Q, model=MODELS[provider], max_tokens=30, temperature=1.0, seed=11)
    b = llmkit.chat(Q, model=MODELS[provider], max_tokens=30, temperature=1.0, seed=11)
    assert a.text == b.text


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stop_sequence(routed, provider):
    full = llmkit.chat(Q, model=MODELS[provider], max_tokens=60, temperature=0)
    word = full.text.split()[3]
    r = llmkit.chat(Q, model=MODELS[provider], max_tokens=60, temperature=0, stop=[word])
    assert word not in r.text and r.finish_reason == "stop" and len(r.text) < len(full.text)


def test_parameters_mapped_per_provider():
    p = Params(max_tokens=50, temperature=0.2, top_p=0.9, top_k=20, stop=["END"], seed=3)
    turns = [{"role": "user", "content": "hi"}]
    with pytest.warns(UserWarning, match="top_k"):
        o = ADAPTERS["openai"].request("gpt-4o-mini", "sys", turns, p, stream=True)
    assert o["max_completion_tokens"] == 50 and o["stop"] == ["END"] and o["seed"] == 3 and "top_k" not in o
    assert o["messages"][0] == {"role": "system", "content": "sys"} and o["stream_options"] == {"include_usage": True}
    with pytest.warns(UserWarning, match="seed"):
        a = ADAPTERS["anthropic"].request("claude-haiku-4-5", "sys", turns, p, stream=False)
    assert a["max_tokens"] == 50 and a["system"] == "sys" and a["stop_sequences"] == ["END"]
    assert a["extra_body"] == {"temperature": 0.2, "top_p": 0.9, "top_k": 20} and a["messages"] == turns
    assert ADAPTERS["anthropic"].request("m", None, turns, Params(), False)["max_tokens"] == 1024  # required there
    g = ADAPTERS["gemini"].request("gemini-2.5-flash", "sys", turns, p, stream=False)
    assert g["config"] == {"system_instruction": "sys", "max_output_tokens": 50, "temperature": 0.2, "top_p": 0.9,
                           "top_k": 20, "seed": 3, "stop_sequences": ["END"]}
    assert g["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]
    native = {"num_ctx": 2048, "format": "json"}
    n = ADAPTERS["ollama"].request("llama3.1", "sys", turns, Params(max_tokens=50, stop=["END"], extra=native), False)
    assert n["options"] == {"num_predict": 50, "stop": ["END"], "num_ctx": 2048} and n["format"] == "json"
    q = ADAPTERS["groq"].request("llama-3.1-8b-instant", None, turns, Params(extra={"extra_body": {"x": 1}}), True)
    assert q["extra_body"] == {"stream_options": {"include_usage": True}, "x": 1}


def test_unknown_parameter_is_a_type_error_naming_it(routed):
    with pytest.raises(TypeError, match="temprature"):
        llmkit.chat(Q, model="gpt-4o-mini", temprature=0.5)
    with pytest.raises(TypeError, match="num_ctx"):  # an Ollama option is not an OpenAI parameter
        llmkit.chat(Q, model="gpt-4o-mini", num_ctx=2048)
    r = llmkit.chat(Q, model="llama3.1", max_tokens=5, num_ctx=2048)  # ...but passes through to Ollama
    assert r.text


def test_model_names_resolve_through_the_catalog(routed):
    assert resolve("claude-haiku").model == "claude-haiku-4-5"
    assert resolve("anthropic:").model == catalog.default_for("anthropic")
    assert resolve("groq:llama3.1").provider == "groq"  # the prefix wins over the alias
    assert resolve("gpt-oss:20b").provider == "ollama"  # a colon in an Ollama tag is not a provider
    assert resolve("gpt-4o-2024-08-06").provider == "openai"  # not in the catalog, provider beyond doubt
    assert resolve(None).model == catalog.default_for("openai")  # nothing live: OpenAI's default, offline
    with pytest.raises(ValueError, match="provider:model"):
        resolve("no-such-model")
    with pytest.raises(ValueError, match="embedding"):
        llmkit.chat(Q, model="text-embedding-3-small")


def test_retired_model_is_replaced_with_a_warning(routed):
    with pytest.warns(RetiredModelWarning, match="gpt-3.5-turbo.*gpt-4o-mini"):
        r = llmkit.chat(Q, model="gpt-3.5-turbo", max_tokens=5)
    assert r.model == "gpt-4o-mini" and r.requested == "gpt-3.5-turbo"


def test_offline_model_by_name(routed):
    r = llmkit.chat(Q, model="offline", max_tokens=5)
    assert r.provider == "offline" and r.model == "llmkit-offline" and r.cost == 0 and r.offline


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stream_yields_text_then_a_final_reply(routed, provider):
    s = llmkit.stream(Q, model=MODELS[provider], max_tokens=12, temperature=0)
    chunks = list(s)
    r = s.reply
    assert len(chunks) > 1 and "".join(chunks) == r.text == s.text
    assert r.usage.input_tokens > 0 and r.usage.output_tokens == 12 and r.finish_reason == "length"
    assert 0 < r.ttft <= r.latency and r.provider == provider and r.cost is not None
    again = llmkit.stream(Q, model=MODELS[provider], max_tokens=5, temperature=0).get_final_reply()
    assert again.usage.output_tokens == 5


def test_stream_closed_early_releases_it(routed):
    with llmkit.stream(Q, model="gpt-4o-mini", max_tokens=50) as s:
        first = next(iter(s))
    assert first and s.reply is None
    with pytest.raises(RuntimeError, match="closed"):
        s.get_final_reply()
    assert llmkit.chat(Q, model="gpt-4o-mini", max_tokens=3).text  # the gateway still serves


@pytest.mark.parametrize("provider", PROVIDERS)
def test_async_chat_and_stream(routed, provider):
    async def main():
        replies = await asyncio.gather(*(llmkit.achat(Q, model=MODELS[provider], max_tokens=4, temperature=0)
                                         for _ in range(3)))
        s = llmkit.astream(Q, model=MODELS[provider], max_tokens=6, temperature=0)
        chunks = [c async for c in s]
        return replies, chunks, s.reply

    replies, chunks, final = asyncio.run(main())
    assert all(r.finish_reason == "length" and r.usage.output_tokens == 4 for r in replies)
    assert "".join(chunks) == final.text and final.usage.output_tokens == 6 and final.ttft is not None
    # a second event loop gets its own clients (the first loop's were closed with it)
    assert asyncio.run(llmkit.achat(Q, model=MODELS[provider], max_tokens=2, temperature=0)).usage.output_tokens == 2


def test_batch_keeps_order_and_reports_failures(routed):
    prompts = [Q, "What is an API key?", "word " * 12000, "What is JSON?", "What is streaming?"]  # #2: too long
    results = llmkit.batch(prompts, model="gpt-4o-mini", concurrency=3, max_tokens=5, retries=0, progress=False)
    assert len(results) == 5 and [i for i, _ in results.errors] == [2]
    assert isinstance(results[2], llmkit.errors.ContextLengthError)
    for i in (0, 1, 3, 4):  # each reply is its own prompt's: the input token counts say so
        assert results[i].usage.input_tokens == llmkit.count_tokens([{"role": "user", "content": prompts[i]}],
                                                                    "gpt-4o-mini")
    assert results.texts[2] is None and not results.ok


def test_batch_raises_parameter_mistakes_at_once(routed):
    with pytest.raises(TypeError, match="bogus"):
        llmkit.batch([Q, Q], model="gpt-4o-mini", bogus=1, progress=False)


def test_clients_are_cached_and_rebuilt_when_the_environment_changes(routed, monkeypatch):
    a = ADAPTERS["openai"]
    first = client_for(a)
    assert client_for(a) is first
    monkeypatch.setenv("OPENAI_BASE_URL", os.environ["OPENAI_BASE_URL"] + "/")
    second = client_for(a)
    assert second is not first and client_for(a) is second
    assert first.max_retries == 0 and second.max_retries == 0  # llmkit's retries are the only ones


def test_chat_runs_setup_quietly_when_nobody_did(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL") and k not in ("OLLAMA_HOST",)}
    env["LLMKIT_OFFLINE"] = "1"
    code = ("import llmkit; r = llmkit.chat('What is a token?', model='claude-haiku', max_tokens=5, temperature=0); "
            "print('RESULT', r.provider, r.offline, r.usage.output_tokens)")
    p = subprocess.run([sys.executable, "-c", code], env=env, cwd=str(tmp_path), capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "RESULT anthropic True 5"  # and no setup() table printed


def test_import_llmkit_stays_light():
    code = ("import sys, llmkit; llmkit.chat; llmkit.Reply; llmkit.count_tokens; llmkit.ledger; llmkit.budget; "
            "print(sorted(m for m in ('openai', 'anthropic', 'google.genai', 'groq', 'ollama', 'httpx', 'numpy', "
            "'tenacity', 'tqdm') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "[]", p.stdout + p.stderr


def test_no_warning_for_a_plain_call(routed):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        llmkit.chat(Q, model="gemini-flash", max_tokens=3)
