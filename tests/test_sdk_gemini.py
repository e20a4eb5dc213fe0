"""The official google-genai SDK against the gateway: replies, chats, streams, JSON mode,
images, token counts, embeddings, models, errors and auth."""

from __future__ import annotations

import json
import re

import httpx
import numpy as np
import pytest
from google import genai
from google.genai import errors, types

MODEL = "gemini-2.5-flash"
EMBED = "gemini-embedding-001"
ASK = "What is an API key?"


def make(base_url: str, key: str = "x", version: str | None = None) -> genai.Client:
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=base_url, api_version=version))


@pytest.fixture(scope="module")
def client(gateway):
    return make(gateway)


@pytest.fixture(scope="module")
def beta(gateway):
    return make(gateway, version="v1beta")


def test_generate_text_and_usage(client):
    # greedy: at Gemini's default temperature 1.0 a seed the gateway draws may take the small model off topic
    r = client.models.generate_content(model=MODEL, contents=ASK, config=types.GenerateContentConfig(temperature=0))
    assert "key" in r.text.lower()
    c = r.candidates[0]
    assert c.finish_reason == types.FinishReason.STOP and c.content.role == "model" and c.index == 0
    u = r.usage_metadata
    assert u.prompt_token_count > 0 and u.candidates_token_count > 0
    assert u.total_token_count == u.prompt_token_count + u.candidates_token_count
    assert r.model_version == MODEL and r.response_id


@pytest.mark.parametrize("version", ["v1", "v1beta"])
def test_both_api_versions(gateway, version):
    c = make(gateway, version=version)  # keep a reference: a Client closes its connection when collected
    r = c.models.generate_content(model=f"models/{MODEL}", contents=ASK, config={"temperature": 0})
    assert r.text and r.candidates[0].finish_reason == types.FinishReason.STOP


def test_system_instruction_counts_as_prompt(client):
    plain = client.models.generate_content(model=MODEL, contents=ASK)
    r = client.models.generate_content(model=MODEL, contents=ASK, config=types.GenerateContentConfig(
        system_instruction="You are a concise teaching assistant for a Python course."))
    assert r.text
    assert r.usage_metadata.prompt_token_count > plain.usage_metadata.prompt_token_count


def test_multi_turn_contents(client):
    first = client.models.generate_content(model=MODEL, contents=ASK, config={"temperature": 0})
    history = [types.Content(role="user", parts=[types.Part(text=ASK)]),
               types.Content(role="model", parts=[types.Part(text=first.text)]),
               types.Content(role="user", parts=[types.Part(text="Where should I keep it?")])]
    second = client.models.generate_content(model=MODEL, contents=history, config={"temperature": 0})
    assert second.text
    assert second.usage_metadata.prompt_token_count > first.usage_metadata.total_token_count


def test_chat_keeps_history(client):
    chat = client.chats.create(model=MODEL, config={"temperature": 0})
    one = chat.send_message(ASK)
    two = chat.send_message("What is a token?")
    assert one.text and "token" in two.text.lower()
    history = chat.get_history()
    assert [h.role for h in history] == ["user", "model", "user", "model"]
    assert history[1].parts[0].text == one.text
    assert two.usage_metadata.prompt_token_count > one.usage_metadata.total_token_count


def test_stream(client):
    chunks = list(client.models.generate_content_stream(model=MODEL, contents=ASK, config={"temperature": 0}))
    assert len(chunks) > 2
    text = "".join(c.text or "" for c in chunks)
    whole = client.models.generate_content(model=MODEL, contents=ASK, config={"temperature": 0})
    assert text and text == whole.text
    assert [c.candidates[0].finish_reason for c in chunks if c.candidates[0].finish_reason] == [types.FinishReason.STOP]
    last = chunks[-1]
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    assert last.usage_metadata.candidates_token_count == whole.usage_metadata.candidates_token_count


def test_chat_stream(client):
    chat = client.chats.create(model=MODEL, config={"temperature": 0})
    text = "".join(c.text or "" for c in chat.send_message_stream(ASK))
    history = chat.get_history()  # the SDK keeps one model Content per streamed chunk
    assert text and "".join(p.text for h in history[1:] for p in h.parts) == text
    nxt = chat.send_message("Where should I keep it?")
    whole = [types.Content(role="user", parts=[types.Part(text=ASK)]),
             types.Content(role="model", parts=[types.Part(text=text)]),
             types.Content(role="user", parts=[types.Part(text="Where should I keep it?")])]
    assert nxt.usage_metadata.prompt_token_count == client.models.count_tokens(model=MODEL, contents=whole).total_tokens


def test_stream_without_sse_is_a_json_array(http):
    r = http.post(f"/v1beta/models/{MODEL}:streamGenerateContent", json={"contents": [{"parts": [{"text": ASK}]}]})
    assert r.status_code == 200
    chunks = r.json()
    assert isinstance(chunks, list) and chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert "usageMetadata" in chunks[-1]


def test_max_output_tokens(client):
    r = client.models.generate_content(model=MODEL, contents=ASK, config={"max_output_tokens": 4, "temperature": 0})
    assert r.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert r.usage_metadata.candidates_token_count == 4 and r.text


def test_stop_sequences(client):
    full = client.models.generate_content(model=MODEL, contents=ASK, config={"temperature": 0}).text
    word = full.split()[3]
    r = client.models.generate_content(model=MODEL, contents=ASK, config={"temperature": 0, "stop_sequences": [word]})
    assert r.text == full[:full.index(word)]
    assert r.candidates[0].finish_reason == types.FinishReason.STOP


def test_candidate_count(client):
    r = client.models.generate_content(model=MODEL, contents=ASK, config={"candidate_count": 2, "seed": 3,
                                                                          "max_output_tokens": 20})
    assert [c.index for c in r.candidates] == [0, 1]
    assert all(c.content.parts[0].text for c in r.candidates)


def test_seed_reproducible(client):
    cfg = {"seed": 42, "temperature": 1.0, "max_output_tokens": 30}
    a = client.models.generate_content(model=MODEL, contents=ASK, config=cfg)
    b = client.models.generate_content(model=MODEL, contents=ASK, config=cfg)
    assert a.text and a.text == b.text


def test_json_mode(client):
    r = client.models.generate_content(model=MODEL, contents=ASK, config=types.GenerateContentConfig(
        response_mime_type="application/json", response_schema={"type": "OBJECT",
                                                                 "properties": {"answer": {"type": "STRING"}}}))
    data = json.loads(r.text)
    assert isinstance(data, dict) and data
    assert r.parsed == data


def test_image_part_is_accepted(client):
    png = types.Part.from_bytes(data=b"\x89PNG\r\n\x1a\n" + bytes(32), mime_type="image/png")
    r = client.models.generate_content(model=MODEL, contents=[png, "What is in this picture?"])
    assert r.text and r.usage_metadata.prompt_token_count > 5
    assert r.candidates[0].finish_reason == types.FinishReason.STOP


def test_an_image_is_answered_in_the_language_of_its_question(client):
    """The text-only model reads an attached part as the question it raises, in the turn's language
    (lesson 8 sends a drawing with "Describe esta imagen en una frase."); the count is the usage's."""
    png = types.Part.from_bytes(data=b"\x89PNG\r\n\x1a\n" + bytes(32), mime_type="image/png")
    config = types.GenerateContentConfig(temperature=0)
    spanish = {"texto", "imagen", "imágenes", "puedo", "solo", "sólo", "veo"}
    for question, es in (("Describe esta imagen en una frase.", True), ("Describe this image in one sentence.", False)):
        r = client.models.generate_content(model=MODEL, contents=[png, question], config=config)
        assert bool(spanish & set(re.findall(r"\w+", r.text.lower()))) == es, r.text
        assert client.models.count_tokens(model=MODEL, contents=[png, question]).total_tokens \
            == r.usage_metadata.prompt_token_count


def test_count_tokens_matches_usage(client):
    n = client.models.count_tokens(model=MODEL, contents=ASK).total_tokens
    r = client.models.generate_content(model=MODEL, contents=ASK)
    assert n > 0 and n == r.usage_metadata.prompt_token_count
    longer = client.models.count_tokens(model=MODEL, contents=ASK + " Explain it in detail, please.")
    assert longer.total_tokens > n


def test_count_tokens_with_generate_content_request(http):
    body = {"contents": [{"role": "user", "parts": [{"text": ASK}]}]}
    direct = http.post(f"/v1beta/models/{MODEL}:countTokens", json=body).json()["totalTokens"]
    wrapped = http.post(f"/v1beta/models/{MODEL}:countTokens", json={"generateContentRequest": {
        "model": f"models/{MODEL}", **body, "systemInstruction": {"parts": [{"text": "Be brief."}]}}})
    assert wrapped.status_code == 200 and wrapped.json()["totalTokens"] > direct


def _cos(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_embed_content(client):
    one = client.models.embed_content(model=EMBED, contents="Where do I keep my API key?")
    assert len(one.embeddings) == 1 and len(one.embeddings[0].values) > 8
    r = client.models.embed_content(model=EMBED, contents=["How do I keep my API key secret?",
                                                           "Where should I store an API key safely?",
                                                           "Paris is the capital of France."])
    v = [e.values for e in r.embeddings]
    assert len(v) == 3 and _cos(v[0], v[1]) > _cos(v[0], v[2])
    small = client.models.embed_content(model=EMBED, contents=["a", "b"], config={"output_dimensionality": 16})
    assert [len(e.values) for e in small.embeddings] == [16, 16]


def test_embed_content_raw(http):
    r = http.post(f"/v1beta/models/{EMBED}:embedContent",
                  json={"content": {"parts": [{"text": "hello"}]}, "outputDimensionality": 8})
    assert r.status_code == 200 and len(r.json()["embedding"]["values"]) == 8


def test_models_list_and_get(client, http):
    names = [m.name for m in client.models.list()]
    assert f"models/{MODEL}" in names and f"models/{EMBED}" in names
    paged = [m.name for m in client.models.list(config={"page_size": 2})]
    assert paged == names  # the pager followed nextPageToken
    first = http.get("/v1beta/models", params={"pageSize": 2}).json()
    assert len(first["models"]) == 2 and first["nextPageToken"]
    m = client.models.get(model=MODEL)
    assert m.name == f"models/{MODEL}" and m.input_token_limit > 0 and m.output_token_limit > 0
    assert "generateContent" in m.supported_actions and m.display_name == "Gemini 2.5 Flash"
    assert "embedContent" in client.models.get(model=EMBED).supported_actions


def test_model_created_with_ollama_api(client, http):  # saved in the suite's throw-away data folder
    made = http.post("/api/create", json={"model": "gem-tutor", "from": MODEL, "system": "Answer briefly.",
                                          "parameters": {"num_predict": 3}, "stream": False})
    assert made.status_code == 200, made.text
    try:
        r = client.models.generate_content(model="gem-tutor", contents=ASK)
        assert r.usage_metadata.candidates_token_count == 3
        assert r.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
        more = client.models.generate_content(model="gem-tutor", contents=ASK, config={"max_output_tokens": 5})
        assert more.usage_metadata.candidates_token_count == 5  # the request's value wins
        plain = client.models.count_tokens(model=MODEL, contents=ASK).total_tokens
        assert client.models.count_tokens(model="gem-tutor", contents=ASK).total_tokens > plain  # its system prompt
    finally:
        http.request("DELETE", "/api/delete", json={"model": "gem-tutor"})


def test_openai_still_owns_v1_models_without_gemini_headers(http):
    r = http.get("/v1/models")
    assert r.status_code == 200 and r.json()["object"] == "list"


# -- errors -----------------------------------------------------------------------------
def _client_error(call) -> errors.ClientError:
    with pytest.raises(errors.ClientError) as info:
        call()
    return info.value


@pytest.mark.parametrize("config, field", [
    ({"temperature": 3}, "temperature"),
    ({"temperature": -0.5}, "temperature"),
    ({"max_output_tokens": -5}, "max_output_tokens"),
    ({"top_p": 1.5}, "top_p"),
    ({"candidate_count": 0}, "candidate_count"),
    ({"response_mime_type": "text/html"}, "response_mime_type"),
])
def test_bad_config_is_400(client, config, field):
    e = _client_error(lambda: client.models.generate_content(model=MODEL, contents=ASK, config=config))
    assert e.code == 400 and e.status == "INVALID_ARGUMENT" and field in e.message


def test_unknown_role_is_400(client):
    bad = [types.Content(role="assistant", parts=[types.Part(text="hi")])]
    e = _client_error(lambda: client.models.generate_content(model=MODEL, contents=bad))
    assert e.code == 400 and "role" in e.message


def test_unknown_model_is_404(client, beta):
    for c in (client, beta):
        e = _client_error(lambda: c.models.generate_content(model="no-such-model", contents=ASK))
        assert e.code == 404 and e.status == "NOT_FOUND" and "no-such-model" in e.message
    e = _client_error(lambda: client.models.get(model="no-such-model"))
    assert e.code == 404
    e = _client_error(lambda: beta.models.get(model="no-such-model"))
    assert e.code == 404


def test_method_the_model_does_not_serve_is_404(client):
    e = _client_error(lambda: client.models.generate_content(model=EMBED, contents=ASK))
    assert e.code == 404 and "generateContent" in e.message
    e = _client_error(lambda: client.models.embed_content(model=MODEL, contents="hi"))
    assert e.code == 404 and "batchEmbedContents" in e.message


@pytest.mark.parametrize("path, body, status, field", [
    (f"/v1beta/models/{MODEL}:generateContent", b"{not json", 400, "JSON"),
    (f"/v1beta/models/{MODEL}:generateContent", b"[1, 2]", 400, "object"),
    (f"/v1beta/models/{MODEL}:generateContent", {}, 400, "contents"),
    (f"/v1beta/models/{MODEL}:generateContent", {"contents": []}, 400, "contents"),
    (f"/v1beta/models/{MODEL}:generateContent", {"contents": "hi"}, 400, "contents"),
    (f"/v1beta/models/{MODEL}:generateContent", {"contents": [{"role": "user", "parts": []}]}, 400, "parts"),
    (f"/v1beta/models/{MODEL}:generateContent", {"contents": [{"parts": [{"text": 5}]}]}, 400, "text"),
    (f"/v1beta/models/{MODEL}:generateContent", {"contents": [{"parts": [{"blob": 1}]}]}, 400, "parts[0]"),
    (f"/v1beta/models/{MODEL}:generateContent",
     {"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"temperature": "hot"}}, 400, "temperature"),
    (f"/v1beta/models/{MODEL}:generateContent",
     {"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": []}, 400, "generation_config"),
    (f"/v1/models/{MODEL}:streamGenerateContent?alt=sse",
     {"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": -1}}, 400,
     "max_output_tokens"),
    (f"/v1beta/models/{EMBED}:batchEmbedContents", {"requests": []}, 400, "requests"),
    (f"/v1beta/models/{EMBED}:embedContent", {"content": {"parts": [{"text": "hi"}]}, "outputDimensionality": 0},
     400, "output_dimensionality"),
    (f"/v1beta/models/{MODEL}:fly", {}, 404, "fly"),
    ("/v1beta/tunedModels/my-tuned:generateContent", {"contents": [{"parts": [{"text": "hi"}]}]}, 404, "tunedModels"),
])
def test_bad_requests_in_gemini_format(http, path, body, status, field):
    kw = {"content": body} if isinstance(body, bytes) else {"json": body}
    r = http.post(path, headers={"x-goog-api-key": "x", "content-type": "application/json"}, **kw)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == status and err["status"] == ("INVALID_ARGUMENT" if status == 400 else "NOT_FOUND")
    assert field in err["message"]


def test_bad_page_token_is_400(http):
    r = http.get("/v1beta/models", params={"pageToken": "!!"})
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    r = http.get(f"/v1beta/models/{MODEL}:generateContent")
    assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"


def test_auth(secured_gateway):
    wrong = make(secured_gateway, key="wrong")
    e = _client_error(lambda: wrong.models.generate_content(model=MODEL, contents=ASK))
    assert e.code == 401 and "API key" in e.message
    e = _client_error(lambda: wrong.models.list())
    assert e.code == 401
    ok = make(secured_gateway, key="test-secret")
    assert ok.models.generate_content(model=MODEL, contents=ASK).text
    assert any(m.name == f"models/{MODEL}" for m in ok.models.list())


def test_server_keeps_serving_after_errors(client, http):
    http.post(f"/v1beta/models/{MODEL}:generateContent", content=b"\xff\xfe garbage")
    http.post(f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse", json={"contents": [{"role": "x"}]})
    assert client.models.generate_content(model=MODEL, contents=ASK).text
