"""The one request pipeline (server/run.py) seen through every protocol: a failure after the
first token is an error in that protocol's own format (the official SDK raises it), a client
that leaves stops the engine's work, n seeded choices are seed, seed+1, ..., and a model
created through Ollama's /api/create is applied on the course API too.
"""

from __future__ import annotations

import time

import anthropic
import httpx
import ollama
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors

CHAT = [{"role": "user", "content": "What is a token?"}]


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    """A gateway of this module's own (its data folder is a temp one: models get created)."""
    from llmkit.server.app import Settings
    from llmkit.server.background import Gateway

    gw = Gateway(settings=Settings(data_dir=tmp_path_factory.mktemp("llmkit-data"))).start()
    yield gw
    gw.stop()


class Watched:
    """The real engine, whose generations can fail after their first token and say when closed."""

    def __init__(self, real, fail: bool):
        self.real, self.fail, self.closed = real, fail, []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def generate(self, messages, params):
        from llmkit.engine import Generation

        gen = self.real.generate(messages, params)

        def tokens():
            try:
                for i, t in enumerate(gen):
                    if self.fail and i == 1:
                        raise RuntimeError("the engine failed mid-stream")
                    yield t
            finally:
                self.closed.append(True)

        return Generation(tokens(), gen.prompt_tokens)


@pytest.fixture()
def engine(gw):
    real = gw.app.state.engine

    def swap(fail: bool) -> Watched:
        gw.app.state.engine = Watched(real, fail)
        return gw.app.state.engine

    yield swap
    gw.app.state.engine = real


def test_openai_mid_stream_error_is_an_error_event(gw, engine):
    engine(fail=True)
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=CHAT, stream=True)
    with pytest.raises(openai.APIError, match="engine failed mid-stream"):
        list(stream)


def test_responses_mid_stream_error_fails_the_response(gw, engine):
    engine(fail=True)
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0)
    events = list(client.responses.create(model="gpt-4o-mini", input="What is a token?", stream=True))
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and "response.output_text.delta" in kinds
    assert kinds[-2:] == ["error", "response.failed"] and "engine failed mid-stream" in events[-2].message
    assert events[-1].response.status == "failed"


def test_anthropic_mid_stream_error_is_an_error_event(gw, engine):
    engine(fail=True)
    client = anthropic.Anthropic(base_url=gw.url, api_key="x", max_retries=0)
    with pytest.raises(anthropic.APIStatusError, match="engine failed mid-stream"):
        with client.messages.stream(model="claude-haiku-4-5", max_tokens=64, messages=CHAT) as stream:
            list(stream.text_stream)


@pytest.mark.parametrize("alt_sse", [True, False])
def test_gemini_mid_stream_error_ends_the_stream(gw, engine, alt_sse):
    engine(fail=True)
    if alt_sse:  # what google-genai sends
        client = genai.Client(api_key="x", http_options={"base_url": gw.url, "api_version": "v1beta"})
        with pytest.raises(genai_errors.APIError, match="engine failed mid-stream"):
            list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="What is a token?"))
        return
    # without alt=sse the API streams one JSON array: it stays well-formed, the error its last element
    r = httpx.post(f"{gw.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent",
                   json={"contents": [{"parts": [{"text": "What is a token?"}]}]}, timeout=60)
    items = r.json()
    assert items[0]["candidates"][0]["content"]["parts"][0]["text"]
    assert items[-1]["error"]["status"] == "INTERNAL" and "engine failed mid-stream" in items[-1]["error"]["message"]


def test_ollama_and_course_mid_stream_errors(gw, engine):
    engine(fail=True)
    with pytest.raises(ollama.ResponseError, match="engine failed mid-stream"):
        list(ollama.Client(host=gw.url).chat(model="llama3.1", messages=CHAT, stream=True))
    r = httpx.post(f"{gw.url}/chat", json={"message": "What is a token?", "stream": True}, timeout=60)
    events = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert '"response"' in events[0] and "engine failed mid-stream" in events[-1]
    assert "[DONE]" not in events  # a failed stream does not claim to be done


def test_a_client_that_leaves_stops_the_generation(gw, engine):
    watched = engine(fail=False)
    with httpx.stream("POST", f"{gw.url}/v1/chat/completions", timeout=60,
                      json={"model": "gpt-4o-mini", "messages": CHAT, "stream": True, "max_tokens": 500}) as r:
        next(r.iter_lines())  # the stream has begun; now leave
    deadline = time.monotonic() + 10
    while not watched.closed and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watched.closed, "the engine kept generating for a client that had left"


def test_n_choices_are_seed_seed_plus_one(gw):
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0)
    ask = dict(model="gpt-4o-mini", messages=CHAT, max_tokens=12, temperature=1.0)
    both = client.chat.completions.create(n=2, seed=7, **ask)
    second = client.chat.completions.create(seed=8, **ask)
    assert both.choices[1].message.content == second.choices[0].message.content
    g = genai.Client(api_key="x", http_options={"base_url": gw.url, "api_version": "v1beta"})
    cfg = {"candidate_count": 2, "seed": 7, "max_output_tokens": 12, "temperature": 1.0}
    cands = g.models.generate_content(model="gemini-2.5-flash", contents="What is a token?", config=cfg).candidates
    assert cands[1].content.parts[0].text == second.choices[0].message.content


def test_created_model_applies_on_the_course_api(gw):
    client = ollama.Client(host=gw.url)
    client.create(model="terse-course", from_="llama3.1", parameters={"num_predict": 3})
    r = httpx.post(f"{gw.url}/chat/terse-course", json={"message": "What is a token?"}, timeout=60).json()
    assert r["usage"]["completion_tokens"] == 3 and r["finish_reason"] == "length" and r["model"] == "terse-course"
    asked = httpx.post(f"{gw.url}/chat", json={"message": "What is a token?", "model": "terse-course",
                                               "max_tokens": 5}, timeout=60).json()
    assert asked["usage"]["completion_tokens"] == 5  # what the request sets wins over the model's parameter


def test_every_count_endpoint_counts_a_created_models_system_prompt_as_generation_bills_it(gw):
    """Anthropic's count_tokens, Gemini's countTokens and the Responses input_tokens count see the
    conversation as the run step sends it: the created model's system prompt first."""
    ollama.Client(host=gw.url).create(model="pirate-count", from_="llama3.1",
                                      system="You are a pirate. Answer every question in one short sentence.")
    q = "What is a token?"
    ant = anthropic.Anthropic(base_url=gw.url, api_key="x", max_retries=0)
    oai = openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0)
    gem = genai.Client(api_key="x", http_options={"base_url": gw.url})
    billed = {}
    for model in ("pirate-count", "llama3.1"):
        billed[model] = oai.chat.completions.create(model=model, messages=[{"role": "user", "content": q}],
                                                    max_tokens=1).usage.prompt_tokens
        assert ant.messages.count_tokens(model=model, messages=[{"role": "user", "content": q}]).input_tokens \
            == billed[model]
        assert gem.models.count_tokens(model=model, contents=q).total_tokens == billed[model]
        assert oai.responses.input_tokens.count(model=model, input=q).input_tokens == billed[model]
    assert billed["pirate-count"] > billed["llama3.1"] + 10  # the system prompt is in the count


def test_framing_writes_what_json_dumps_writes_even_past_64_bit_integers():
    """Streamed chunks are encoded by orjson; a tool call's arguments may hold any number the model
    wrote (lesson 8 has one of 24 digits): those fall back to json.dumps, never an error mid-stream."""
    import json

    from llmkit.server.framing import ndjson, sse

    chunk = {"id": "x", "choices": [{"delta": {"content": "¡Hola! 18 °C"}, "index": 0}], "usage": None, "p": 0.25}
    assert sse(chunk) == b"data: " + json.dumps(chunk, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"
    big = {"message": {"tool_calls": [{"function": {"arguments": {"output_tokens": 500200950315031111611124}}}]}}
    assert json.loads(ndjson(big)) == big
    assert sse(big, event="message_delta").startswith(b"event: message_delta\ndata: {")
