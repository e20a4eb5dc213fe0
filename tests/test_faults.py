"""Injected faults reach each official SDK as that SDK's own exception class."""

from __future__ import annotations

import time

import httpx
import pytest

from llmkit import faults

Q = "What is a rate limit?"


@pytest.fixture()
def fault(gateway):
    """inject(kind, ...) against the test gateway; everything cleared afterwards."""
    yield lambda kind, **kw: faults.inject(kind, url=gateway, **kw)
    faults.clear(url=gateway)


def call(sdk: str, gateway: str, stream: bool = False, timeout: float = 30):
    """One short chat call through an official SDK (no retries), returning its text."""
    if sdk in ("openai", "groq"):
        import groq
        import openai

        client = (openai.OpenAI(base_url=gateway + "/v1", api_key="x", max_retries=0, timeout=timeout) if sdk == "openai"
                  else groq.Groq(base_url=gateway, api_key="x", max_retries=0, timeout=timeout))
        r = client.chat.completions.create(model="gpt-4o-mini" if sdk == "openai" else "llama-3.1-8b-instant",
                                           messages=[{"role": "user", "content": Q}], max_tokens=20, stream=stream)
        return "".join(c.choices[0].delta.content or "" for c in r if c.choices) if stream else r.choices[0].message.content
    if sdk == "anthropic":
        import anthropic

        client = anthropic.Anthropic(base_url=gateway, api_key="x", max_retries=0, timeout=timeout)
        if stream:
            with client.messages.stream(model="claude-haiku-4-5", max_tokens=20,
                                        messages=[{"role": "user", "content": Q}]) as s:
                return "".join(s.text_stream)
        return client.messages.create(model="claude-haiku-4-5", max_tokens=20,
                                      messages=[{"role": "user", "content": Q}]).content[0].text
    if sdk == "gemini":
        from google import genai
        from google.genai import types

        client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=gateway, timeout=int(timeout * 1000)))
        cfg = types.GenerateContentConfig(max_output_tokens=20)
        if stream:
            return "".join(c.text or "" for c in client.models.generate_content_stream(
                model="gemini-2.5-flash", contents=Q, config=cfg))
        return client.models.generate_content(model="gemini-2.5-flash", contents=Q, config=cfg).text
    if sdk == "ollama":
        import ollama

        client = ollama.Client(host=gateway, timeout=timeout)
        r = client.chat(model="llama3.1", messages=[{"role": "user", "content": Q}], stream=stream,
                        options={"num_predict": 20})
        return "".join(c.message.content for c in r) if stream else r.message.content
    raise ValueError(sdk)


def expected(sdk: str, kind: str):
    """(exception class, status code) each SDK raises for each fault."""
    import anthropic
    import groq
    import ollama
    import openai
    from google.genai import errors as gerr

    status = {"rate_limit": 429, "server_error": 500, "overloaded": 529 if sdk == "anthropic" else 503,
              "auth": 401, "context_length": 400}[kind]
    if sdk == "gemini":
        return (gerr.ClientError if status < 500 else gerr.ServerError), status
    if sdk == "ollama":
        return ollama.ResponseError, status
    mod = {"openai": openai, "groq": groq, "anthropic": anthropic}[sdk]
    name = {"rate_limit": "RateLimitError", "server_error": "InternalServerError", "auth": "AuthenticationError",
            "context_length": "BadRequestError",
            "overloaded": "OverloadedError" if sdk == "anthropic" else "InternalServerError"}[kind]
    return getattr(mod, name), status


SDKS = ["openai", "anthropic", "gemini", "groq", "ollama"]


@pytest.mark.parametrize("kind", ["rate_limit", "server_error", "overloaded", "auth", "context_length"])
@pytest.mark.parametrize("sdk", SDKS)
def test_error_faults_raise_the_sdks_own_class(sdk, kind, gateway, fault):
    fault(kind, provider=sdk, retry_after=2)
    cls, status = expected(sdk, kind)
    with pytest.raises(cls) as err:
        call(sdk, gateway)
    code = getattr(err.value, "status_code", None) or getattr(err.value, "code", None)
    assert code == status
    if kind == "rate_limit" and sdk in ("openai", "groq", "anthropic"):
        assert err.value.response.headers["retry-after"] == "2"
    assert call(sdk, gateway)  # the fault was used once; the next call succeeds


def test_faults_are_scoped_to_a_provider_and_counted(gateway, fault):
    state = fault("server_error", times=2, provider="anthropic")
    assert state["pending"][0]["times"] == 2
    assert call("openai", gateway)  # other providers are untouched
    httpx.get(gateway + "/v1/models")  # listing models never consumes a fault
    import anthropic

    for _ in range(2):
        with pytest.raises(anthropic.InternalServerError):
            call("anthropic", gateway)
    assert call("anthropic", gateway)
    assert faults.pending(url=gateway)["pending"] == []


def test_context_manager_clears(gateway):
    with faults.injected("rate_limit", times=5, url=gateway):
        assert faults.pending(url=gateway)["pending"]
    assert faults.pending(url=gateway)["pending"] == []


def test_unknown_kind_is_refused(gateway):
    with pytest.raises(ValueError):
        faults.inject("meteor_strike", url=gateway)
    r = httpx.post(gateway + "/admin/faults", json={"kind": "meteor_strike"})
    assert r.status_code == 400 and "kind" in r.text


@pytest.mark.parametrize("sdk", SDKS)
def test_timeout_fault_hangs_past_the_client_timeout(sdk, gateway, fault):
    fault("timeout", provider=sdk, delay=3)
    t0 = time.perf_counter()
    with pytest.raises(Exception) as err:
        call(sdk, gateway, timeout=0.5)
    assert time.perf_counter() - t0 < 2.5
    assert "timeout" in type(err.value).__name__.lower() or "timed out" in str(err.value).lower()


def test_slow_fault_delays_every_chunk(gateway, fault):
    fault("slow", provider="openai", delay=0.05)
    t0 = time.perf_counter()
    text = call("openai", gateway, stream=True)
    assert text and time.perf_counter() - t0 > 0.05 * 5


@pytest.mark.parametrize("sdk", SDKS)
def test_cut_fault_breaks_the_stream(sdk, gateway, fault):
    fault("cut", provider=sdk, after=3)
    with pytest.raises(Exception) as err:
        call(sdk, gateway, stream=True)
    if sdk == "ollama":
        import ollama

        assert isinstance(err.value, ollama.ResponseError) and "cut" in str(err.value)
    assert call(sdk, gateway, stream=True)  # and the server keeps serving


@pytest.mark.parametrize("kind, status", [("permission", 403), ("too_large", 413)])
@pytest.mark.parametrize("sdk", SDKS)
def test_permission_and_too_large_faults_raise_the_sdks_own_class(sdk, kind, status, gateway, fault):
    import anthropic
    import groq
    import ollama
    import openai
    from google.genai import errors as gerr

    fault(kind, provider=sdk)
    names = {403: "PermissionDeniedError", 413: "APIStatusError"}
    cls = {"openai": getattr(openai, names[status]), "groq": getattr(groq, names[status]),
           "anthropic": anthropic.PermissionDeniedError if status == 403 else anthropic.RequestTooLargeError,
           "gemini": gerr.ClientError, "ollama": ollama.ResponseError}[sdk]
    with pytest.raises(cls) as err:
        call(sdk, gateway)
    assert (getattr(err.value, "status_code", None) or getattr(err.value, "code", None)) == status
    assert "injected fault" in str(err.value)
    assert call(sdk, gateway)


def test_a_cut_stream_is_not_logged_as_a_gateway_failure(gateway, fault, caplog):
    fault("cut", provider="openai", after=3)
    with caplog.at_level("WARNING", logger="llmkit.server"), pytest.raises(Exception):
        call("openai", gateway, stream=True)
    time.sleep(0.2)  # the server thread logs after the client saw the cut
    assert not [r for r in caplog.records if r.name == "llmkit.server"]
