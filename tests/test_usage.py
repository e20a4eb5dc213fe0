"""Tokens and money: catalog costs, count_tokens (exact offline, labelled estimates
elsewhere, never a download), the session ledger and the budget that refuses a call
before it is sent."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.machinery
import sys
import types

import pytest
from test_client import MODELS, PROVIDERS, Q, routed  # noqa: F401  (routed is a fixture)

import llmkit
from llmkit import catalog, faults, usage
from llmkit.errors import BudgetExceededError, RateLimitError
from llmkit.tokens import TokenCount, count_tokens


@pytest.fixture()
def live_openai(routed, monkeypatch):
    """OpenAI live by setup()'s own rule (a real-looking key, offline not forced), its requests
    sent to the test gateway under another name (localhost), as to any server that is not
    llmkit's: so live calls cost money here."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.delenv("LLMKIT_OFFLINE")
    st = llmkit.setup(offline=False, quiet=True)
    assert st.live("openai") and not st.live("anthropic")
    monkeypatch.setenv("OPENAI_BASE_URL", routed.replace("127.0.0.1", "localhost") + "/v1")
    assert not llmkit.providers.is_offline("openai") and llmkit.providers.is_offline("anthropic")
    yield routed


def test_cost_from_the_catalog():
    mini = catalog.find("gpt-4o-mini")
    assert usage.cost("openai", mini, 1000, 500) == pytest.approx((1000 * 0.15 + 500 * 0.6) / 1e6)
    assert usage.cost("anthropic", catalog.find("claude-haiku"), 2_000_000, 1_000_000) == pytest.approx(7.0)
    assert usage.cost("openai", None, 10, 10) is None  # unknown price: None, never a guess
    assert usage.cost("openai", mini, None, 10) is None
    assert usage.cost("ollama", None, 10**6, 10**6) == 0.0  # local models cost nothing


@pytest.mark.parametrize("provider", PROVIDERS)
def test_reply_cost_for_a_known_usage(routed, provider):
    r = llmkit.chat(Q, model=MODELS[provider], max_tokens=10)
    entry = catalog.find(MODELS[provider])
    assert r.offline and r.cost == usage.cost(provider, entry, r.usage.input_tokens, r.usage.output_tokens)
    assert ("would cost" in repr(r)) == (r.cost > 0)


def test_unknown_price_is_none(routed):
    r = llmkit.chat(Q, model="openai:gpt-4o-2099-01-01", max_tokens=3)  # an id the catalog does not list
    assert r.cost is None and "cost unknown" in repr(r)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_count_tokens_is_exact_offline(routed, provider):
    from llmkit.engine import get_engine

    n = count_tokens("What is a token?", MODELS[provider])
    assert isinstance(n, TokenCount) and isinstance(n, int) and n.exact
    assert n == get_engine().count_tokens("What is a token?") and "tokenizer" in n.method
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": Q}]
    r = llmkit.chat(messages, model=MODELS[provider], max_tokens=3)
    assert count_tokens(messages, MODELS[provider]) == r.usage.input_tokens  # what the API bills
    assert repr(n).startswith(f"{int(n)} tokens (exact") and str(n) == str(int(n)) and n + 1 == int(n) + 1


def test_count_tokens_live_is_a_labelled_estimate(live_openai, monkeypatch):
    monkeypatch.delitem(sys.modules, "tiktoken", raising=False)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tiktoken" else _find(name, *a))
    n = count_tokens("x" * 40, "gpt-4o-mini")
    assert n == 10 and not n.exact and "characters per token" in n.method and repr(n).startswith("~10 tokens")
    m = count_tokens([{"role": "user", "content": "x" * 40}], "gpt-4o-mini")
    assert m > n and not m.exact


_find = importlib.util.find_spec


def test_tiktoken_is_used_only_when_its_file_is_cached(live_openai, monkeypatch, tmp_path):
    calls = []
    fake = types.ModuleType("tiktoken")
    fake.__spec__ = importlib.machinery.ModuleSpec("tiktoken", None)
    fake.model = types.SimpleNamespace(encoding_name_for_model=lambda m: "o200k_base")

    class Enc:
        name = "o200k_base"

        def encode(self, text):
            return text.split()

    fake.get_encoding = lambda name: calls.append(name) or Enc()
    monkeypatch.setitem(sys.modules, "tiktoken", fake)
    monkeypatch.setitem(sys.modules, "tiktoken.model", fake.model)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    n = count_tokens("one two three", "gpt-4o-mini")
    assert not n.exact and calls == []  # no cached file: tiktoken never asked (it would download)
    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_text("cached")
    n = count_tokens("one two three", "gpt-4o-mini")
    assert n == 3 and n.exact and n.method == "tiktoken o200k_base" and calls == ["o200k_base"]
    assert not count_tokens([{"role": "user", "content": "one two"}], "gpt-4o-mini").exact
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")  # Anthropic live too, at a server not named as llmkit's
    monkeypatch.setenv("ANTHROPIC_BASE_URL", live_openai.replace("127.0.0.1", "localhost"))
    assert not count_tokens("one two three", "claude-haiku").exact  # not an OpenAI model: estimate


def test_ledger_totals(routed):
    ledger = llmkit.ledger()
    ledger.reset()
    a = llmkit.chat(Q, model="gpt-4o-mini", max_tokens=5)
    b = llmkit.chat(Q, model="gpt-4o-mini", max_tokens=7)
    c = llmkit.chat(Q, model="claude-haiku", max_tokens=4)
    faults.inject("rate_limit", provider="gemini", retry_after=0.01, url=routed)
    d = llmkit.chat(Q, model="gemini-flash", max_tokens=3)  # one failed request, then an answer
    assert ledger.calls == 5 and ledger.errors == 1
    assert ledger.input_tokens == sum(r.usage.input_tokens for r in (a, b, c, d))
    assert ledger.output_tokens == sum(r.usage.output_tokens for r in (a, b, c, d))
    assert ledger.total_cost == 0  # offline calls spend nothing...
    assert ledger.offline_cost == pytest.approx(a.cost + b.cost + c.cost + d.cost)  # ...but show their price
    rows = {(r.provider, r.model): r for r in ledger.rows()}
    assert rows[("openai", "gpt-4o-mini")].calls == 2
    assert rows[("openai", "gpt-4o-mini")].output_tokens == a.usage.output_tokens + b.usage.output_tokens
    assert rows[("gemini", "gemini-2.5-flash")].errors == 1
    text = repr(ledger)
    assert text.splitlines()[0].split()[:4] == ["provider", "model", "mode", "calls"]
    assert "claude-haiku-4-5" in text and "offline" in text and catalog.prices_as_of() in text
    assert "<table>" in ledger._repr_html_() and "gemini-2.5-flash" in ledger._repr_html_()
    ledger.reset()
    assert ledger.calls == 0 and llmkit.usage.ledger() is ledger


def test_budget_refuses_before_sending(live_openai):
    llmkit.budget(usd=0.001)
    faults.inject("server_error", provider="openai", url=live_openai)  # would be consumed by any request
    served = faults.pending(url=live_openai)["served"]
    with pytest.raises(BudgetExceededError) as info:
        llmkit.chat(Q, model="gpt-4o", max_tokens=1000)  # 1000 output tokens at $10/1M = $0.01
    e = info.value
    assert faults.pending(url=live_openai)["pending"] and faults.pending(url=live_openai)["served"] == served
    assert e.limit == 0.001 and e.spent == 0 and e.estimate == pytest.approx(0.01, rel=0.01)
    assert "$0.001" in str(e) and "could cost up to $0.010" in str(e) and "spent $0.00 of the $0.001 budget" in str(e)
    assert llmkit.ledger().calls == 0  # nothing was sent
    with pytest.raises(BudgetExceededError, match="max_tokens"):  # no max_tokens: the model's maximum output
        llmkit.chat(Q, model="gpt-4o")
    with pytest.raises(BudgetExceededError, match="price is unknown"):
        llmkit.chat(Q, model="openai:gpt-4o-2099-01-01", max_tokens=5)
    with pytest.raises(BudgetExceededError):
        llmkit.stream(Q, model="gpt-4o", max_tokens=1000).get_final_reply()
    assert faults.pending(url=live_openai)["served"] == served
    llmkit.budget(None)
    assert llmkit.budget() is None
    with pytest.raises(Exception):  # the budget is gone: now the request is sent (and meets the fault)
        llmkit.chat(Q, model="gpt-4o", max_tokens=5, retries=0)
    assert faults.pending(url=live_openai)["pending"] == []


def test_budget_tracks_live_spending(live_openai):
    b = llmkit.budget(usd=0.05)
    r = llmkit.chat(Q, model="gpt-4o-mini", max_tokens=20)
    assert not r.offline and r.cost > 0
    assert b.spent == pytest.approx(r.cost) and b.reserved == 0 and llmkit.ledger().total_cost == pytest.approx(r.cost)
    s = llmkit.stream(Q, model="gpt-4o-mini", max_tokens=20)
    final = s.get_final_reply()
    assert b.spent == pytest.approx(r.cost + final.cost)
    o = llmkit.chat(Q, model="claude-haiku", max_tokens=20)  # still offline: counted at claude-haiku's list price
    assert o.offline and o.cost > 0 and b.spent == pytest.approx(r.cost + final.cost + o.cost) and b.would_cost == 0
    assert "of $0.05" in repr(b) and "offline calls at list price" in repr(b)
    b = llmkit.budget(usd=0.05, offline=False)  # opting out: offline calls count $0 and are only noted
    o = llmkit.chat(Q, model="claude-haiku", max_tokens=20)
    r = llmkit.chat(Q, model="gpt-4o-mini", max_tokens=20)
    assert b.spent == pytest.approx(r.cost) and b.would_cost == pytest.approx(o.cost)
    assert "would have cost" in repr(b) and "live calls only" in repr(b)
    llmkit.budget(usd=b.spent)  # a new budget starts from zero...
    assert llmkit.budget().spent == 0


def test_budget_holds_under_concurrency(live_openai):
    one = usage.cost("openai", catalog.find("gpt-4o-mini"), int(count_tokens([{"role": "user", "content": Q}],
                                                                            "gpt-4o-mini")), 2000)
    b = llmkit.budget(usd=one * 2.5)  # room for two worst cases in flight at once
    results = llmkit.batch([Q] * 8, model="gpt-4o-mini", max_tokens=2000, concurrency=8, progress=False)
    refused = [e for _, e in results.errors]
    assert all(isinstance(e, BudgetExceededError) for e in refused)
    assert b.spent <= b.limit and b.reserved == pytest.approx(0, abs=1e-12)
    assert len(refused) < 8


def test_a_budget_refuses_offline_calls_at_list_price(routed):
    """Without keys, a budget still refuses: offline gpt-4o is priced as gpt-4o."""
    b = llmkit.budget(usd=0.001)
    faults.inject("server_error", provider="openai", url=routed)  # would be consumed by any request
    served = faults.pending(url=routed)["served"]
    with pytest.raises(BudgetExceededError) as info:
        llmkit.chat(Q, model="gpt-4o", max_tokens=1000)  # 1000 output tokens at $10/1M = $0.01
    assert info.value.estimate == pytest.approx(0.01, rel=0.05) and "gpt-4o" in str(info.value)
    with pytest.raises(BudgetExceededError):
        llmkit.stream(Q, model="gpt-4o", max_tokens=1000)
    assert faults.pending(url=routed)["served"] == served and llmkit.ledger().calls == 0  # nothing was sent
    faults.clear(url=routed)
    r = llmkit.chat(Q, model="gpt-4o-mini", max_tokens=5)  # a small call fits, and is counted
    entry = catalog.find("gpt-4o-mini")
    estimate = usage.cost("openai", entry, int(count_tokens([{"role": "user", "content": Q}], "gpt-4o-mini")), 5)
    assert r.offline and r.cost > 0 and b.spent == pytest.approx(r.cost) and r.cost <= estimate and b.reserved == 0
    small = llmkit.budget(usd=estimate * 1.5)  # room for one such call, not two
    one = llmkit.chat(Q, model="gpt-4o-mini", max_tokens=5)
    assert small.spent == pytest.approx(one.cost) and small.spent + estimate > small.limit
    with pytest.raises(BudgetExceededError):  # the second is refused, as it would be live
        llmkit.chat(Q, model="gpt-4o-mini", max_tokens=5)
    llmkit.budget(usd=0)
    assert llmkit.chat(Q, model="llmkit-offline", max_tokens=5).cost == 0  # the offline model itself is free


def test_offline_calls_pass_a_budget_that_opts_out(routed):
    llmkit.budget(usd=0, offline=False)
    r = llmkit.chat(Q, model="gpt-4o", max_tokens=5)
    assert r.offline and r.cost > 0 and llmkit.budget().spent == 0 and llmkit.budget().would_cost == r.cost


def test_rate_limit_in_a_budgeted_call_releases_the_reservation(live_openai):
    b = llmkit.budget(usd=1)
    faults.inject("rate_limit", provider="openai", times=3, retry_after=0.01, url=live_openai)
    with pytest.raises(RateLimitError):
        llmkit.chat(Q, model="gpt-4o-mini", max_tokens=10, retries=1)
    assert b.reserved == 0 and b.spent == 0


@pytest.mark.parametrize("aio", [False, True], ids=["stream", "astream"])
def test_a_stream_stopped_early_settles_its_reservation(routed, aio):
    """Stopping a stream after its first text releases the reservation, counting the worst
    case (the provider may have billed tokens it never reported), sync and async alike."""
    b = llmkit.budget(usd=1.0)
    entry = catalog.find("gpt-4o-mini")
    worst = usage.cost("openai", entry, int(count_tokens([{"role": "user", "content": Q}], "gpt-4o-mini")), 40)

    async def first_then_stop():
        async with llmkit.astream(Q, model="gpt-4o-mini", max_tokens=40) as s:
            async for chunk in s:
                return chunk

    if aio:
        chunk = asyncio.run(first_then_stop())
    else:
        with llmkit.stream(Q, model="gpt-4o-mini", max_tokens=40) as s:
            chunk = next(iter(s))
    assert chunk and b.reserved == 0 and b.spent == pytest.approx(worst)
    r = llmkit.chat(Q, model="gpt-4o-mini", max_tokens=5)  # the stopped stream left nothing behind
    assert r.text and b.spent == pytest.approx(worst + r.cost) and b.reserved == 0


def test_offline_counts_ask_the_gateway_without_loading_the_engine_here(gateway):
    """A notebook pointed at a gateway (LLMKIT_GATEWAY_URL) counts through its count endpoints:
    exact, the gateway's engine named, and no engine (nor numpy) loaded in the notebook's process."""
    import os
    import subprocess

    from llmkit.engine import get_engine

    code = ("import sys, llmkit; llmkit.setup(offline=True, quiet=True); "
            "a = llmkit.count_tokens('What is a token?', 'gpt-4o-mini'); "
            "b = llmkit.count_tokens([{'role': 'user', 'content': 'What is a token?'}], 'claude-haiku'); "
            "print(int(a), int(b), a.exact and b.exact, a.method, "
            "any(m.startswith('llmkit.engine') or m == 'numpy' for m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], env={**os.environ, "LLMKIT_GATEWAY_URL": gateway},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    a, b, exact, method = r.stdout.split()[:4]
    engine = get_engine()
    assert int(a) == engine.count_tokens("What is a token?")
    assert int(b) == engine.count_chat_tokens([{"role": "user", "content": "What is a token?"}])
    assert exact == "True" and method == engine.name and r.stdout.split()[-1] == "False"
