"""The official openai SDK against the gateway: replies, streams, embeddings, models, errors."""

from __future__ import annotations

import base64
import json

import httpx
import numpy as np
import openai
import pytest

MODEL = "gpt-4o-mini"
HELLO = [{"role": "user", "content": "What is an HTTP status code?"}]


@pytest.fixture(scope="module")
def client(gateway):
    return openai.OpenAI(base_url=gateway + "/v1", api_key="anything", max_retries=0)


def test_plain_call(client):
    r = client.chat.completions.create(model=MODEL, messages=HELLO, temperature=0)
    assert r.object == "chat.completion" and r.model == MODEL
    msg = r.choices[0].message
    assert msg.role == "assistant" and "status" in msg.content.lower()
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert r.id.startswith("chatcmpl-") and r._request_id


def test_multi_turn_keeps_the_conversation(client):
    history = [{"role": "system", "content": "You are a helpful course assistant."},
               {"role": "user", "content": "What is an API key?"}]
    first = client.chat.completions.create(model=MODEL, messages=history, temperature=0)
    history += [{"role": "assistant", "content": first.choices[0].message.content},
                {"role": "user", "content": "Where should I keep it?"}]
    second = client.chat.completions.create(model=MODEL, messages=history, temperature=0)
    assert second.usage.prompt_tokens > first.usage.prompt_tokens + first.usage.completion_tokens
    assert second.choices[0].message.content


def test_developer_role_and_content_parts(client):
    r = client.chat.completions.create(model=MODEL, messages=[
        {"role": "developer", "content": "Answer briefly."},
        {"role": "user", "content": [{"type": "text", "text": "What is JSON?"}]}], temperature=0)
    assert "json" in r.choices[0].message.content.lower()


def test_streaming_with_usage(client):
    stream = client.chat.completions.create(model=MODEL, messages=HELLO, stream=True,
                                            stream_options={"include_usage": True}, temperature=0)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    whole = client.chat.completions.create(model=MODEL, messages=HELLO, temperature=0)
    assert text == whole.choices[0].message.content
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_stream_helper(client):
    with client.chat.completions.stream(model=MODEL, messages=HELLO) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.content


def test_n_seed_and_max_tokens(client):
    r = client.chat.completions.create(model=MODEL, messages=HELLO, n=3, seed=11, temperature=1.3, max_tokens=12)
    assert [c.index for c in r.choices] == [0, 1, 2]
    assert all(c.finish_reason in ("length", "stop") for c in r.choices)
    again = client.chat.completions.create(model=MODEL, messages=HELLO, n=3, seed=11, temperature=1.3, max_tokens=12)
    assert [c.message.content for c in r.choices] == [c.message.content for c in again.choices]
    short = client.chat.completions.create(model=MODEL, messages=HELLO, max_completion_tokens=4, temperature=0)
    assert short.choices[0].finish_reason == "length" and short.usage.completion_tokens == 4


def test_stop(client):
    full = client.chat.completions.create(model=MODEL, messages=HELLO, temperature=0).choices[0].message.content
    word = full.split()[2]
    r = client.chat.completions.create(model=MODEL, messages=HELLO, temperature=0, stop=[word, "zzzz"])
    assert word not in r.choices[0].message.content
    assert full.startswith(r.choices[0].message.content)
    assert r.choices[0].finish_reason == "stop"


def test_json_object_response_format(client):
    r = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Describe JSON mode as JSON."}],
                                       response_format={"type": "json_object"}, temperature=0.9, seed=3)
    assert isinstance(json.loads(r.choices[0].message.content), dict)


def test_logprobs(client):
    r = client.chat.completions.create(model=MODEL, messages=HELLO, logprobs=True, top_logprobs=2, max_tokens=5)
    content = r.choices[0].logprobs.content
    assert len(content) >= 1 and all(t.logprob <= 0 and len(t.top_logprobs) == 2 for t in content)


def test_legacy_completions(client):
    r = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="What is a token?", max_tokens=10)
    assert r.choices[0].text and r.usage.completion_tokens <= 10
    chunks = list(client.completions.create(model="gpt-3.5-turbo-instruct", prompt="What is a token?",
                                            max_tokens=10, stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices)


def test_embeddings_float_base64_dimensions(client, gateway):
    r = client.embeddings.create(model="text-embedding-3-small",
                                 input=["How do I stream a reply?", "Streaming a response token by token",
                                        "The capital of France is Paris"])
    v = np.array([d.embedding for d in r.data])
    assert v.shape[0] == 3 and r.usage.prompt_tokens > 0
    assert v[0] @ v[1] > v[0] @ v[2]
    one = client.embeddings.create(model="text-embedding-3-small", input="hello", dimensions=64)
    assert len(one.data[0].embedding) == 64
    raw = httpx.post(gateway + "/v1/embeddings", json={"model": "text-embedding-3-small", "input": "hello",
                                                       "encoding_format": "base64"}).json()
    decoded = np.frombuffer(base64.b64decode(raw["data"][0]["embedding"]), dtype="<f4")
    floats = httpx.post(gateway + "/v1/embeddings", json={"model": "text-embedding-3-small", "input": "hello",
                                                          "encoding_format": "float"}).json()
    assert np.allclose(decoded, floats["data"][0]["embedding"])


def test_models(client, gateway):
    ids = [m.id for m in client.models.list()]
    assert "gpt-4o-mini" in ids and "claude-haiku-4-5" in ids
    raw = httpx.get(gateway + "/v1/models").json()["data"]
    entry = next(m for m in raw if m["id"] == "gpt-4o-mini")
    assert entry["max_model_len"] > 0 and "gpt-mini" in entry["aliases"]
    assert client.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_headers_name_the_engine(gateway):
    r = httpx.get(gateway + "/v1/models")
    assert r.headers["id"]
    backend = json.loads(r.headers["backend"])
    assert backend["engine_type"] == "llmkit-offline" and backend["machine_name"]


@pytest.mark.parametrize("kwargs, param", [
    (dict(messages=[]), "messages"),
    (dict(messages=[{"role": "wizard", "content": "hi"}]), "messages[0].role"),
    (dict(messages=HELLO, temperature=2.5), "temperature"),
    (dict(messages=HELLO, temperature=-0.1), "temperature"),
    (dict(messages=HELLO, max_tokens=-5), "max_tokens"),
    (dict(messages=HELLO, top_p=1.5), "top_p"),
    (dict(messages=HELLO, n=0), "n"),
    (dict(messages=HELLO, extra_body={"temperature": "hot"}), "temperature"),
    (dict(messages=[{"role": "user", "content": 42}]), "messages[0].content"),
    (dict(messages=[{"role": "user"}]), "messages[0].content"),
])
def test_bad_input_is_a_400_naming_the_field(client, kwargs, param):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL, **kwargs)
    assert err.value.status_code == 400
    assert err.value.body["param"] == param and param.split("[")[0] in err.value.message


def test_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="no-such-model", messages=HELLO)
    assert "no-such-model" in err.value.message


def test_invalid_json_and_wrong_body_types(gateway):
    for body in (b"{not json", b"[1, 2]", b""):
        r = httpx.post(gateway + "/v1/chat/completions", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = httpx.post(gateway + "/v1/embeddings", json={"model": "text-embedding-3-small", "input": []})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"
    r = httpx.post(gateway + "/v1/embeddings", json={"model": "text-embedding-3-small", "input": "x", "dimensions": 100000})
    assert r.status_code == 400 and r.json()["error"]["param"] == "dimensions"


def test_the_server_keeps_serving_after_errors(client):
    for _ in range(3):
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model=MODEL, messages=[])
    assert client.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=3).choices[0].message.content


def test_bearer_auth(secured_gateway):
    bad = openai.OpenAI(base_url=secured_gateway + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        bad.chat.completions.create(model=MODEL, messages=HELLO)
    assert "wrong" not in err.value.message
    good = openai.OpenAI(base_url=secured_gateway + "/v1", api_key="test-secret", max_retries=0)
    assert good.chat.completions.create(model=MODEL, messages=HELLO, max_tokens=3).choices
    assert httpx.get(secured_gateway + "/health").status_code == 200  # health stays open
    assert httpx.get(secured_gateway + "/models").status_code == 401


def test_groq_path_is_openai_protocol(gateway):
    import groq

    client = groq.Groq(base_url=gateway, api_key="x", max_retries=0)
    r = client.chat.completions.create(model="llama-3.1-8b-instant", messages=HELLO, max_tokens=8)
    assert r.choices[0].message.content and r.model == "llama-3.1-8b-instant"
    chunks = list(client.chat.completions.create(model="llama-3.1-8b-instant", messages=HELLO, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "llama-3.1-8b-instant" in [m.id for m in client.models.list().data]
    with pytest.raises(groq.BadRequestError):
        client.chat.completions.create(model="llama-3.1-8b-instant", messages=[])


def test_groq_auth_error(secured_gateway):
    import groq

    with pytest.raises(groq.AuthenticationError):
        groq.Groq(base_url=secured_gateway, api_key="nope", max_retries=0).chat.completions.create(
            model="llama-3.1-8b-instant", messages=HELLO)
