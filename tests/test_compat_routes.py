"""OpenAI's protocol at other providers' addresses: Gemini's OpenAI compatibility
(/v1beta/openai/, through the openai SDK with Gemini model names) and Groq's
(/openai/v1, through the groq SDK: its streams end with `x_groq.usage`)."""

from __future__ import annotations

import groq
import httpx
import openai
import pytest

QUESTION = [{"role": "user", "content": "What is a token?"}]


@pytest.fixture(scope="module")
def gemini(gateway):
    return openai.OpenAI(base_url=f"{gateway}/v1beta/openai/", api_key="GEMINI_API_KEY", max_retries=0)


@pytest.fixture(scope="module")
def groq_client(gateway):
    return groq.Groq(base_url=gateway, api_key="x", max_retries=0)


# -- Gemini through the openai SDK ----------------------------------------------------------------
def test_gemini_compat_chat(gemini, gateway):
    r = gemini.chat.completions.create(model="gemini-2.0-flash", messages=QUESTION, temperature=0)
    assert r.model == "gemini-2.0-flash" and "token" in r.choices[0].message.content.lower()
    assert r.usage.prompt_tokens > 0 and r.choices[0].finish_reason == "stop"
    same = openai.OpenAI(base_url=gateway + "/v1", api_key="x").chat.completions.create(
        model="gemini-2.0-flash", messages=QUESTION, temperature=0)
    assert same.choices[0].message.content == r.choices[0].message.content  # the same handler answers


def test_gemini_compat_streaming(gemini):
    chunks = list(gemini.chat.completions.create(model="gemini-2.5-flash", messages=QUESTION, stream=True,
                                                 temperature=0, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "token" in text.lower() and chunks[-1].usage.completion_tokens > 0
    assert all(c.model_extra.get("x_groq") is None for c in chunks)  # only Groq's route adds it


def test_gemini_compat_embeddings_and_models(gemini):
    e = gemini.embeddings.create(model="gemini-embedding-001", input=["a cat", "a dog"])
    assert len(e.data) == 2 and len(e.data[0].embedding) > 10
    listed = list(gemini.models.list())
    ids = [m.id for m in listed]
    assert {"models/gemini-2.5-flash", "models/gemma-3-4b-it"} <= set(ids) and "models/gpt-4o" not in ids
    assert all(m.id.startswith("models/") and m.owned_by == "google" for m in listed)
    assert gemini.models.retrieve("models/gemini-2.0-flash").id == "models/gemini-2.0-flash"


def test_gemini_compat_errors_are_openai_errors(gemini):
    with pytest.raises(openai.NotFoundError) as e:
        gemini.chat.completions.create(model="no-such-model-xyz", messages=QUESTION)
    assert e.value.body["param"] == "model"
    with pytest.raises(openai.BadRequestError) as e:
        gemini.chat.completions.create(model="gemini-2.5-flash", messages=QUESTION, temperature=7)
    assert e.value.body["param"] == "temperature"


# -- Groq's x_groq ---------------------------------------------------------------------------
def test_groq_stream_ends_with_x_groq_usage(groq_client):
    chunks = list(groq_client.chat.completions.create(model="llama-3.1-8b-instant", messages=QUESTION,
                                                      stream=True, seed=7, temperature=0))
    first, last = chunks[0], chunks[-1]
    assert first.x_groq.id.startswith("req_") and first.x_groq.usage is None
    assert last.choices[0].finish_reason == "stop" and last.x_groq.id == first.x_groq.id
    u = last.x_groq.usage
    deltas = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert u.completion_tokens == len(deltas) and u.prompt_tokens > 0
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert u.total_time >= u.completion_time > 0 and u.prompt_time >= 0 and last.x_groq.seed == 7
    assert all(c.x_groq is None for c in chunks[1:-1])
    whole = groq_client.chat.completions.create(model="llama-3.1-8b-instant", messages=QUESTION, temperature=0)
    assert u.prompt_tokens == whole.usage.prompt_tokens


def test_x_groq_only_on_groq_route(gateway):
    with httpx.stream("POST", gateway + "/v1/chat/completions", timeout=30,
                      json={"model": "gpt-4o-mini", "messages": QUESTION, "stream": True}) as r:
        body = r.read().decode()
    assert "x_groq" not in body and "[DONE]" in body
