"""One exception hierarchy for five SDKs, and llmkit's retry policy: every injected fault
through every provider via llmkit.chat, retries, caps, fallbacks, streams that break."""

from __future__ import annotations

import builtins
import email.utils
import logging
import time

import pytest
from test_client import MODELS, PROVIDERS, Q, routed  # noqa: F401  (routed is a fixture)
from test_faults import expected

import llmkit
from llmkit import errors, faults
from llmkit.errors import classify

KINDS = {"rate_limit": errors.RateLimitError, "server_error": errors.ServerError,
         "overloaded": errors.OverloadedError, "auth": errors.AuthenticationError,
         "context_length": errors.ContextLengthError}


def inject(gateway, kind, provider=None, **kw):
    return faults.inject(kind, provider=provider, url=gateway, **kw)


def pending(gateway) -> list:
    return faults.pending(url=gateway)["pending"]


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_fault_becomes_the_llmkit_class(routed, provider, kind):
    inject(routed, kind, provider, retry_after=0.05)
    with pytest.raises(KINDS[kind]) as info:
        llmkit.chat(Q, model=MODELS[provider], retries=0)
    e = info.value
    sdk_cls, status = expected(provider, kind)
    assert e.provider == provider and e.model == llmkit.catalog.find(MODELS[provider]).id
    assert e.status_code == status and isinstance(e.original, sdk_cls) and e.__cause__ is e.original
    assert e.message and "injected fault" in e.message and provider in str(e)
    if kind == "rate_limit":
        assert e.retry_after == pytest.approx(0.05)  # from retry-after(-ms), or Ollama's message
    assert isinstance(e, errors.LLMError) and len(e.attempts) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_timeout_and_cut(routed, provider):
    inject(routed, "timeout", provider, delay=2)
    t0 = time.perf_counter()
    with pytest.raises(errors.TimeoutError) as info:
        llmkit.chat(Q, model=MODELS[provider], retries=0, timeout=0.4)
    assert time.perf_counter() - t0 < 1.5 and isinstance(info.value, builtins.TimeoutError)
    inject(routed, "cut", provider, after=0)
    with pytest.raises(errors.ConnectionError) as info:
        llmkit.chat(Q, model=MODELS[provider], retries=0)
    assert isinstance(info.value, builtins.ConnectionError) and info.value.original is not None


@pytest.mark.parametrize("provider", PROVIDERS)
def test_retries_succeed_after_two_rate_limits(routed, provider, caplog):
    inject(routed, "rate_limit", provider, times=2, retry_after=0.05)
    with caplog.at_level(logging.WARNING, logger="llmkit"):
        r = llmkit.chat(Q, model=MODELS[provider], max_tokens=5)
    assert r.text and r.retries == 2 and pending(routed) == []
    assert [a.error for a in r.attempts] == ["RateLimitError", "RateLimitError", None]
    assert all(a.wait >= 0.05 for a in r.attempts[:2])  # Retry-After is a floor
    retries = [m for m in caplog.messages if "retry" in m]
    assert len(retries) == 2 and "RateLimitError (429)" in retries[0] and "retry 1 of 3" in retries[0]
    rows = {(row.provider, row.errors, row.calls) for row in llmkit.ledger().rows()}
    assert (provider, 2, 3) in rows  # every request is in the ledger, failed ones too


@pytest.mark.parametrize("kind", ["server_error", "overloaded"])
def test_server_errors_are_retried(routed, kind):
    inject(routed, kind, "anthropic", times=1, retry_after=0.01)
    r = llmkit.chat(Q, model="claude-haiku", max_tokens=5)
    assert r.retries == 1 and r.attempts[0].error == KINDS[kind].__name__


def test_gives_up_after_the_cap(routed):
    inject(routed, "rate_limit", "openai", times=10, retry_after=0.01)
    with pytest.raises(errors.RateLimitError) as info:
        llmkit.chat(Q, model="gpt-4o-mini", retries=2)
    assert len(info.value.attempts) == 3 and pending(routed)[0]["times"] == 7


def test_total_time_cap(routed):
    inject(routed, "rate_limit", "openai", times=10, retry_after=0.3)
    t0 = time.perf_counter()
    with pytest.raises(errors.RateLimitError) as info:
        llmkit.chat(Q, model="gpt-4o-mini", retries=10, max_time=0.5)
    # attempt 1 at 0 s, attempt 2 at ~0.3 s; a third would start after 0.6 s: not tried
    assert len(info.value.attempts) == 2 and time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize("kind", ["auth", "context_length"])
def test_no_retry_for_errors_that_would_repeat(routed, kind):
    inject(routed, kind, "gemini", times=2)
    with pytest.raises(KINDS[kind]) as info:
        llmkit.chat(Q, model="gemini-flash", retries=3)
    assert len(info.value.attempts) == 1 and pending(routed)[0]["times"] == 1


def test_fallback_when_the_first_model_fails(routed, caplog):
    inject(routed, "server_error", "openai", times=5)
    with caplog.at_level(logging.WARNING, logger="llmkit"):
        r = llmkit.chat(Q, model="gpt-4o-mini", fallbacks=["claude-haiku", "gemini-flash"], retries=1, max_tokens=5)
    assert r.provider == "anthropic" and r.model == "claude-haiku-4-5" and r.fallback_used
    assert [(a.provider, a.error) for a in r.attempts] == [("openai", "ServerError"), ("openai", "ServerError"),
                                                          ("anthropic", None)]
    assert r.retries == 2 and any("falling back to anthropic:claude-haiku-4-5" in m for m in caplog.messages)
    assert "fallback from openai:gpt-4o-mini" in repr(r)


def test_every_fallback_failing_raises_the_last_error(routed):
    inject(routed, "auth", "openai")
    inject(routed, "rate_limit", "groq", times=3, retry_after=0.01)
    with pytest.raises(errors.RateLimitError) as info:
        llmkit.chat(Q, model="gpt-4o-mini", fallbacks=["groq"], retries=2)
    assert [a.error for a in info.value.attempts] == ["AuthenticationError"] + ["RateLimitError"] * 3


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stream_retries_before_the_first_chunk(routed, provider):
    inject(routed, "rate_limit", provider, times=1, retry_after=0.01)
    s = llmkit.stream(Q, model=MODELS[provider], max_tokens=8, temperature=0)
    text = "".join(s)
    assert text == s.reply.text and s.reply.retries == 1 and s.reply.usage.output_tokens == 8


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stream_cut_after_text_raises_with_the_partial_text(routed, provider):
    inject(routed, "cut", provider, after=6)
    got = []
    with pytest.raises(errors.ConnectionError) as info:
        for chunk in llmkit.stream(Q, model=MODELS[provider], temperature=0):
            got.append(chunk)
    assert got and info.value.partial_text == "".join(got)  # what had arrived is kept...
    assert len(info.value.attempts) == 1 and info.value.provider == provider  # ...and it was not retried


async def _astream(provider):
    chunks = []
    async for c in llmkit.astream(Q, model=MODELS[provider], temperature=0):
        chunks.append(c)
    return chunks


def test_async_retries_and_cut(routed):
    import asyncio

    inject(routed, "overloaded", "anthropic", times=2, retry_after=0.01)
    r = asyncio.run(llmkit.achat(Q, model="claude-haiku", max_tokens=4))
    assert r.retries == 2
    inject(routed, "cut", "ollama", after=5)
    with pytest.raises(errors.ConnectionError) as info:
        asyncio.run(_astream("ollama"))
    assert info.value.partial_text


def test_connection_refused_is_a_connection_error(routed, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("GROQ_BASE_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(errors.ConnectionError):
        llmkit.chat(Q, model="groq", retries=0, timeout=2)


# ---- classify() on its own -------------------------------------------------------------

class Resp:
    def __init__(self, status, headers=None):
        self.status_code, self.headers = status, headers or {}


class FakeSDKError(Exception):
    def __init__(self, status, message, headers=None, body=None, details=None):
        super().__init__(message)
        self.status_code, self.response, self.body = status, Resp(status, headers), body
        if details is not None:
            self.details = details


def test_hierarchy_and_docstring():
    assert issubclass(errors.ContextLengthError, errors.BadRequestError)
    assert issubclass(errors.QuotaExceededError, errors.RateLimitError) and not errors.QuotaExceededError.retryable
    assert issubclass(errors.TimeoutError, builtins.TimeoutError) and issubclass(errors.TimeoutError, errors.LLMError)
    assert issubclass(errors.ConnectionError, builtins.ConnectionError)
    assert issubclass(errors.BudgetExceededError, errors.LLMError)
    assert errors.PermissionDeniedError is not builtins.PermissionError
    for name in errors.__all__[:-1]:
        assert name in errors.__doc__
    e = errors.TimeoutError("slow", provider="openai")
    assert str(e) == "[openai] slow" and e.args == ("slow",)


@pytest.mark.parametrize("status,message,cls", [
    (400, "Rate limit exceeded for this model, slow down", errors.RateLimitError),
    (400, "This model's maximum context length is 8192 tokens", errors.ContextLengthError),
    (400, "temperature must be between 0 and 2", errors.BadRequestError),
    (413, "prompt is too long: 300000 tokens", errors.ContextLengthError),
    (429, "You exceeded your current quota, please check your plan and billing details", errors.QuotaExceededError),
    (429, "Resource has been exhausted (e.g. check quota).", errors.RateLimitError),
    (400, "API key not valid. Please pass a valid API key.", errors.AuthenticationError),  # Gemini's bad key
    (429, "Error code: 429 - insufficient_quota", errors.QuotaExceededError),
    (403, "Permission denied on model", errors.PermissionDeniedError),
    (404, "model not found", errors.NotFoundError),
    (408, "request timeout", errors.TimeoutError),
    (500, "internal error", errors.ServerError),
    (502, "bad gateway", errors.ServerError),
    (503, "unavailable", errors.OverloadedError),
    (529, "Overloaded", errors.OverloadedError),
    (500, "The model is overloaded", errors.OverloadedError),
])
def test_classify_by_status_then_message(status, message, cls):
    e = classify(FakeSDKError(status, message), "openai")
    assert type(e) is cls and e.status_code == status and e.message == message


def test_classify_reads_retry_after_everywhere():
    assert classify(FakeSDKError(429, "x", {"retry-after-ms": "1500", "retry-after": "9"})).retry_after == 1.5
    assert classify(FakeSDKError(429, "x", {"retry-after": "7"})).retry_after == 7
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < classify(FakeSDKError(429, "x", {"retry-after": date})).retry_after <= 30
    gemini = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "21s"}]
    free_tier = classify(FakeSDKError(429, "You exceeded your current quota, please check your plan and billing "
                                           "details.", details={"error": {"details": gemini}}))
    assert type(free_tier) is errors.RateLimitError and free_tier.retry_after == 21  # Gemini: wait, then retry
    assert classify(FakeSDKError(429, "Please try again in 250ms.")).retry_after == 0.25
    assert classify(FakeSDKError(429, "Rate limited, retry in 3 seconds")).retry_after == 3
    assert classify(FakeSDKError(429, "slow down")).retry_after is None


def test_classify_sdk_bodies_and_transport_errors():
    import httpx
    import ollama

    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert type(classify(FakeSDKError(500, "Error code: 500 - {...}", body=body))) is errors.OverloadedError
    cut = classify(ollama.ResponseError("an error was encountered while running the model: connection cut"), "ollama")
    assert type(cut) is errors.ConnectionError and cut.status_code == -1
    crash = classify(ollama.ResponseError("an error was encountered while running the model: CUDA error"), "ollama")
    assert type(crash) is errors.ServerError
    assert type(classify(httpx.ConnectError("refused"))) is errors.ConnectionError
    assert type(classify(httpx.ReadTimeout("slow"))) is errors.TimeoutError
    assert type(classify(builtins.TimeoutError())) is errors.TimeoutError
    odd = classify(ValueError("??"), "gemini")
    assert type(odd) is errors.LLMError and odd.original is not None
    already = errors.RateLimitError("x")
    assert classify(already) is already
