"""One thinking policy in every protocol: the offline model has no thinking phase and no
fill-in-the-middle, /api/show says so, and every protocol refuses an explicit request for
them with its own 400 (Ollama's wording), while requests that turn thinking off pass."""

from __future__ import annotations

import anthropic
import ollama
import openai
import pytest
from google.genai import errors as genai_errors
from google.genai import types

HI = [{"role": "user", "content": "What is a token?"}]


@pytest.fixture(scope="module")
def ollama_client(gateway):
    return ollama.Client(host=gateway)


# -- Ollama ------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["llama3.1", "qwen3", "deepseek-r1", "gpt-oss:20b"])
def test_show_lists_no_thinking_or_insert(ollama_client, model):
    caps = ollama_client.show(model).capabilities
    assert caps == ["completion", "tools"]


@pytest.mark.parametrize("think", [True, "high", "low"])
def test_ollama_think_is_refused_as_ollama_does(ollama_client, think):
    for call in (lambda: ollama_client.chat(model="qwen3", messages=HI, think=think),
                 lambda: ollama_client.generate(model="qwen3", prompt="What is a token?", think=think)):
        with pytest.raises(ollama.ResponseError) as e:
            call()
        assert e.value.status_code == 400 and e.value.error == '"qwen3" does not support thinking'


def test_ollama_think_false_is_answered(ollama_client):
    r = ollama_client.chat(model="qwen3", messages=HI, think=False, options={"num_predict": 8})
    assert r.message.content and not r.message.thinking
    r = ollama_client.generate(model="qwen3", prompt="What is a token?", think=False, options={"num_predict": 8})
    assert r.response and not r.thinking


def test_ollama_suffix_is_refused_with_ollamas_message(ollama_client):
    with pytest.raises(ollama.ResponseError) as e:
        ollama_client.generate(model="codellama", prompt="def add(a, b):\n    ", suffix="\n    return c")
    assert e.value.status_code == 400 and e.value.error == '"codellama" does not support insert'
    assert ollama_client.generate(model="codellama", prompt="def add(a, b):", suffix="",
                                  options={"num_predict": 4}).response


# -- Anthropic ------------------------------------------------------------------------------------
def test_anthropic_enabled_thinking_is_refused(claude):
    with pytest.raises(anthropic.BadRequestError) as e:
        claude.messages.create(model="claude-sonnet-4-20250514", max_tokens=4096, messages=HI,
                               thinking={"type": "enabled", "budget_tokens": 2048})
    err = e.value.body["error"]
    assert err["type"] == "invalid_request_error" and "thinking" in err["message"]
    assert "claude-sonnet-4-20250514" in err["message"]


@pytest.mark.parametrize("thinking", [{"type": "disabled"}, {"type": "adaptive"}])
def test_anthropic_thinking_off_or_adaptive_is_answered(claude, thinking):
    r = claude.messages.create(model="claude-sonnet-4-20250514", max_tokens=16, messages=HI, thinking=thinking)
    assert [b.type for b in r.content] == ["text"] and r.content[0].text


@pytest.mark.parametrize("thinking, field", [({"type": "enabled", "budget_tokens": 10}, "thinking.budget_tokens"),
                                             ({"type": "sometimes"}, "thinking.type"),
                                             ({"budget_tokens": 2048}, "thinking.type")])
def test_anthropic_bad_thinking_names_the_field(claude, thinking, field):
    with pytest.raises(anthropic.BadRequestError) as e:
        claude.messages.create(model="claude-sonnet-4-20250514", max_tokens=4096, messages=HI, thinking=thinking)
    assert field in e.value.body["error"]["message"]


# -- Gemini -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("config, field", [(types.ThinkingConfig(include_thoughts=True), "include_thoughts"),
                                           (types.ThinkingConfig(thinking_budget=1024), "thinking_budget"),
                                           (types.ThinkingConfig(thinking_level="HIGH"), "thinking_level")])
def test_gemini_thinking_is_refused_naming_the_field(gemini, config, field):
    with pytest.raises(genai_errors.ClientError) as e:
        gemini.models.generate_content(model="gemini-2.5-flash", contents="What is a token?",
                                       config=types.GenerateContentConfig(thinking_config=config))
    assert e.value.code == 400 and e.value.status == "INVALID_ARGUMENT"
    assert f"thinking_config.{field}" in e.value.message and "gemini-2.5-flash" in e.value.message


@pytest.mark.parametrize("budget", [0, -1])
def test_gemini_no_thinking_or_dynamic_is_answered(gemini, budget):
    r = gemini.models.generate_content(model="gemini-2.5-flash", contents="What is a token?",
                                       config=types.GenerateContentConfig(
                                           thinking_config=types.ThinkingConfig(thinking_budget=budget),
                                           max_output_tokens=8))
    assert r.text and not any(getattr(p, "thought", None) for p in r.candidates[0].content.parts)


# -- OpenAI ----------------------------------------------------------------------------------------
def test_openai_reasoning_effort(gateway):
    client = openai.OpenAI(base_url=gateway + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="gpt-5", messages=HI, reasoning_effort="high")
    assert e.value.body["param"] == "reasoning_effort"
    r = client.chat.completions.create(model="gpt-5", messages=HI, reasoning_effort="none", max_tokens=8)
    assert r.choices[0].message.content and r.usage.completion_tokens_details.reasoning_tokens == 0
