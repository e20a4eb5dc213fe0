"""The model names the course's sources use are served offline on every route; an unknown
name gets the same status on every route of a protocol; deleting a built-in Ollama model
works as in Ollama (gone from /api/tags, in this data folder, until /api/pull)."""

from __future__ import annotations

import os
import subprocess
import sys

import anthropic
import httpx
import ollama
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from llmkit import catalog

SOURCES = {  # name as the sources write it -> the protocol they use it with
    "gpt-oss:20b": "ollama", "qwen3:30b": "ollama", "devstral": "ollama", "gemma3": "ollama",
    "gemma3:latest": "ollama", "llama3.1": "ollama", "llama2": "ollama", "codellama": "ollama",
    "mistral": "ollama", "granite3.3:8b": "ollama", "phi3": "ollama", "deepseek-r1": "ollama",
    "gemini-2.0-flash": "gemini", "gemma-3-4b-it": "gemini", "claude-sonnet-4-20250514": "anthropic",
    "gpt-4o": "openai", "gpt-3.5-turbo": "openai", "openai/gpt-oss-120b": "groq",
}
HI = [{"role": "user", "content": "What is a token?"}]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("llmkit-names-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LLMKIT_DATA_DIR", str(d))
        yield d


@pytest.fixture(scope="module")
def gateway(data_dir):
    """A gateway of this module's own (its deletions go to a temp data folder, its own)."""
    from llmkit.server.app import Settings
    from llmkit.server.background import Gateway

    gw = Gateway(settings=Settings(data_dir=data_dir)).start()
    yield gw.url
    gw.stop()


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_source_names_are_in_the_catalog_saying_what_they_stand_for(name):
    m = catalog.find(name)
    assert m is not None and m.stands_for and m.context_length > 0 and "text" in m.capabilities
    assert m.as_of or catalog.prices_as_of()


@pytest.mark.parametrize("name, protocol", sorted(SOURCES.items()))
def test_source_names_are_served(gateway, name, protocol):
    if protocol == "ollama":
        r = ollama.Client(host=gateway).chat(model=name, messages=HI, options={"num_predict": 8})
        assert r.model == name and r.message.content
    elif protocol == "anthropic":
        r = anthropic.Anthropic(base_url=gateway, api_key="x").messages.create(model=name, max_tokens=8, messages=HI)
        assert r.model == name and r.content[0].text
    elif protocol == "gemini":
        g = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=gateway))
        r = g.models.generate_content(model=name, contents="What is a token?",
                                      config=types.GenerateContentConfig(max_output_tokens=8))
        assert r.text and r.model_version == name
    else:
        base = gateway + ("/openai/v1" if protocol == "groq" else "/v1")
        r = openai.OpenAI(base_url=base, api_key="x").chat.completions.create(model=name, messages=HI, max_tokens=8)
        assert r.model == name and r.choices[0].message.content


def test_ollama_tags_list_the_local_names(gateway):
    names = {m.model for m in ollama.Client(host=gateway).list().models}
    assert {"devstral:latest", "codellama:latest", "granite3.3:latest", "qwen3:30b", "llama2:latest"} <= names


UNKNOWN = "no-such-model-xyz"


def test_unknown_name_same_status_on_every_route(gateway):
    """One status per protocol for the same unknown name, wherever the name is given."""
    course = [httpx.post(gateway + "/chat", json={"message": "hi", "model": UNKNOWN}, timeout=30),
              httpx.post(gateway + f"/chat/{UNKNOWN}", json={"message": "hi"}, timeout=30)]
    assert [r.status_code for r in course] == [404, 404] and all(UNKNOWN in r.json()["detail"] for r in course)
    client = openai.OpenAI(base_url=gateway + "/v1", api_key="x", max_retries=0)
    calls = [lambda: client.chat.completions.create(model=UNKNOWN, messages=HI),
             lambda: client.completions.create(model=UNKNOWN, prompt="hi"),
             lambda: client.embeddings.create(model=UNKNOWN, input="hi"),
             lambda: client.models.retrieve(UNKNOWN),
             lambda: client.responses.create(model=UNKNOWN, input="hi")]
    for call in calls:
        with pytest.raises(openai.NotFoundError):
            call()
    o = ollama.Client(host=gateway)
    for call in (lambda: o.chat(model=UNKNOWN, messages=HI), lambda: o.generate(model=UNKNOWN, prompt="hi"),
                 lambda: o.embed(model=UNKNOWN, input="hi"), lambda: o.show(UNKNOWN),
                 lambda: o.delete(UNKNOWN)):
        with pytest.raises(ollama.ResponseError) as e:
            call()
        assert e.value.status_code == 404 and e.value.error == f"model '{UNKNOWN}' not found"
    a = anthropic.Anthropic(base_url=gateway, api_key="x", max_retries=0)
    for call in (lambda: a.messages.create(model=UNKNOWN, max_tokens=8, messages=HI),
                 lambda: a.messages.count_tokens(model=UNKNOWN, messages=HI), lambda: a.models.retrieve(UNKNOWN)):
        with pytest.raises(anthropic.NotFoundError):
            call()
    g = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=gateway))
    for call in (lambda: g.models.generate_content(model=UNKNOWN, contents="hi"),
                 lambda: g.models.count_tokens(model=UNKNOWN, contents="hi"), lambda: g.models.get(model=UNKNOWN)):
        with pytest.raises(genai_errors.ClientError) as e:
            call()
        assert e.value.code == 404


def test_delete_a_built_in_model_until_pulled(gateway, data_dir):
    from llmkit.server import store

    o = ollama.Client(host=gateway)
    assert "gemma3:latest" in [m.model for m in o.list().models]
    assert o.delete("gemma3:latest").status == "success"
    try:
        assert "gemma3:latest" not in [m.model for m in o.list().models]
        assert "llama3.1:latest" in [m.model for m in o.list().models]  # only that one went
        with pytest.raises(ollama.ResponseError) as e:
            o.chat(model="gemma3", messages=HI)
        assert e.value.status_code == 404 and e.value.error == "model 'gemma3' not found"
        with pytest.raises(ollama.ResponseError) as e:
            o.delete("gemma3")
        assert e.value.status_code == 404
        assert "gemma3" in store.load_removed(data_dir)  # kept in the data folder, with created models
        code = ("import ollama; from llmkit.server.background import Gateway; gw = Gateway().start(); "
                "print([m.model for m in ollama.Client(host=gw.url).list().models]); gw.stop()")
        env = {**os.environ, "LLMKIT_DATA_DIR": str(data_dir), "LLMKIT_OFFLINE": "1"}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "gemma3:latest" not in out.stdout and "llama3.1:latest" in out.stdout
    finally:
        assert o.pull("gemma3").status == "success"
    assert "gemma3:latest" in [m.model for m in o.list().models] and "gemma3" not in store.load_removed(data_dir)
    assert o.chat(model="gemma3", messages=HI, options={"num_predict": 4}).message.content


def test_delete_names_only_what_tags_list(gateway):
    o = ollama.Client(host=gateway)
    for name in ("gpt-4o", "no-such-model-xyz"):  # served, but not an Ollama model here; unknown
        with pytest.raises(ollama.ResponseError) as e:
            o.delete(name)
        assert e.value.status_code == 404 and e.value.error == f"model '{name}' not found"
