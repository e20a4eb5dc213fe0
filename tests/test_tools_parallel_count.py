"""Two switches real client code uses with tools, through the official SDKs.

- Parallel calls off (OpenAI and Groq `parallel_tool_calls=False`, the Responses API's too,
  Anthropic `tool_choice.disable_parallel_tool_use`): a reply holds at most one call, plain and
  streamed. The call grammar ends after one call (engine/tools.py), so the engine cannot begin a
  second; with the switch on, the same requests still give two calls where the model writes them.
- Counting tokens with tools (Anthropic `messages.count_tokens`, the Responses API's
  `input_tokens.count`, Gemini `countTokens`): the count is what generation bills as the prompt
  for the same request (its `usage`), tools' block and system turn included.

The requests without a seed (Anthropic has none) use questions no other test asks: a prompt's
n-th request in a process gets the n-th draw of its own sequence (sampling.rng_for), so these
replies are the same on every run of the suite."""

from __future__ import annotations

import json

import anthropic
import groq
import httpx
import jsonschema
import openai
import pytest
from google import genai
from google.genai import types

from test_tools_sdk import ANT_TOOLS, OAI_TOOLS, RESP_TOOLS, SCHEMAS

ASK = "What's the weather in Paris?"
ASK_TWO = "What's the weather in Paris and in Tokyo?"  # where a reply may hold two calls
# two calls in one reply come mostly with one-argument tools, as in the training data (with a
# second argument such as a unit the model ends after the first call): the tools of the seeded test
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}
PAR_TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
                                               "parameters": CITY}}, OAI_TOOLS[1]]
SEEDS = range(8)


def valid(name: str, args, schemas=SCHEMAS) -> None:
    jsonschema.validate(json.loads(args) if isinstance(args, str) else dict(args), schemas[name])


# -- parallel calls off --------------------------------------------------------------------------
def _chat_calls(oai, seed: int, tools=OAI_TOOLS, **kw) -> list:
    r = oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": ASK_TWO}], tools=tools,
                                    tool_choice="required", seed=seed, temperature=1, max_tokens=200, **kw)
    assert r.choices[0].finish_reason == "tool_calls"
    return r.choices[0].message.tool_calls


def _streamed_calls(client, seed: int, tools=OAI_TOOLS, **kw) -> dict[int, dict]:
    calls: dict[int, dict] = {}
    for chunk in client.chat.completions.create(
            model=kw.pop("model", "gpt-4o-mini"), messages=[{"role": "user", "content": ASK_TWO}], tools=tools,
            tool_choice="required", seed=seed, temperature=1, max_tokens=200, stream=True, **kw):
        for tc in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            c = calls.setdefault(tc.index, {"name": tc.function.name, "arguments": ""})
            c["arguments"] += tc.function.arguments or ""
    return calls


def test_openai_parallel_tool_calls_false_gives_one_call(oai):
    most = 0
    schemas = {**SCHEMAS, "get_weather": CITY}
    for seed in SEEDS:
        free = _chat_calls(oai, seed, PAR_TOOLS)
        most = max(most, len(free))
        one = _chat_calls(oai, seed, PAR_TOOLS, parallel_tool_calls=False)
        assert len(one) == 1, (seed, one)
        valid(one[0].function.name, one[0].function.arguments, schemas)
        # the grammar only removed the second call: the first is the one the free reply began with
        assert (one[0].function.name, one[0].function.arguments) == (free[0].function.name, free[0].function.arguments)
        streamed = _streamed_calls(oai, seed, PAR_TOOLS, parallel_tool_calls=False)
        assert list(streamed) == [0] and streamed[0]["arguments"] == one[0].function.arguments
    assert most >= 2, "no seed gave parallel calls: the switch was not put to the test"
    # parallel_tool_calls=True is the default: the same as leaving it out
    assert len(_chat_calls(oai, 4, PAR_TOOLS, parallel_tool_calls=True)) == len(_chat_calls(oai, 4, PAR_TOOLS))


def test_groq_parallel_tool_calls_false(gateway):
    client = groq.Groq(base_url=gateway, api_key="anything", max_retries=0)
    for seed in SEEDS:
        r = client.chat.completions.create(model="llama-3.3-70b-versatile", messages=[{"role": "user", "content": ASK_TWO}],
                                           tools=OAI_TOOLS, tool_choice="required", parallel_tool_calls=False,
                                           seed=seed, temperature=1, max_tokens=200)
        assert len(r.choices[0].message.tool_calls) == 1
        assert list(_streamed_calls(client, seed, model="llama-3.3-70b-versatile", parallel_tool_calls=False)) == [0]


def test_responses_parallel_tool_calls_false(oai):
    kw = dict(model="gpt-4o-mini", input=ASK_TWO, tools=RESP_TOOLS,
              tool_choice="required", temperature=1, max_output_tokens=200, store=False)
    for _ in SEEDS:
        r = oai.responses.create(**kw, parallel_tool_calls=False)
        assert r.status == "completed" and [o.type for o in r.output] == ["function_call"]
        assert r.parallel_tool_calls is False
        valid(r.output[0].name, r.output[0].arguments)
        events = list(oai.responses.create(**kw, parallel_tool_calls=False, stream=True))
        added = [e for e in events if e.type == "response.output_item.added"]
        assert len(added) == 1 and len(events[-1].response.output) == 1
    # (whether the same request without the switch can hold two calls is shown with seeds, which the
    # Responses API and Anthropic lack: test_openai_parallel_tool_calls_false_gives_one_call and
    # tests/test_tools_engine.py; unseeded, the model writes two calls in about 1 reply of 16 here)


def test_anthropic_disable_parallel_tool_use(claude):
    def create(text: str, **choice):
        return claude.messages.create(model="claude-haiku-4-5", max_tokens=200, messages=[{"role": "user", "content": text}],
                                   tools=ANT_TOOLS, tool_choice={"type": "any", **choice},
                                   extra_body={"temperature": 1})

    for _ in SEEDS:
        r = create("One call only: " + ASK_TWO, disable_parallel_tool_use=True)
        assert r.stop_reason == "tool_use" and [b.type for b in r.content] == ["tool_use"]
        valid(r.content[0].name, r.content[0].input)
        with claude.messages.stream(model="claude-haiku-4-5", max_tokens=200, messages=[
                {"role": "user", "content": "One streamed call only: " + ASK_TWO}], tools=ANT_TOOLS,
                tool_choice={"type": "auto", "disable_parallel_tool_use": True},
                extra_body={"temperature": 1}) as stream:
            events = list(stream)
            final = stream.get_final_message()
        starts = [e for e in events if e.type == "content_block_start" and e.content_block.type == "tool_use"]
        assert len(starts) <= 1 and len([b for b in final.content if b.type == "tool_use"]) == len(starts)
    with pytest.raises(anthropic.BadRequestError) as e:
        create(ASK, disable_parallel_tool_use="yes")
    assert "tool_choice.disable_parallel_tool_use" in e.value.message


# -- one call per city the user listed: the OpenAI cookbook's parallel function calling ------------
COOKBOOK_TOOLS = [{"type": "function", "function": {
    "name": "get_current_weather", "description": "Get the current weather in a given location",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["location"]}}}]
COOKBOOK_WEATHER = {"tokyo": ("10", "celsius"), "san francisco": ("72", "fahrenheit"), "paris": ("22", "celsius")}


def test_openai_cookbook_three_cities_three_calls_and_one_answer(oai):
    """The cookbook's request, streamed as it is there: three calls (indices 0, 1, 2), one per city; its
    three results back give the answer with each city's temperature."""
    messages = [{"role": "user", "content": "What's the weather like in San Francisco, Tokyo, and Paris?"}]
    calls: dict[int, dict] = {}
    for chunk in oai.chat.completions.create(model="gpt-4o", messages=messages, tools=COOKBOOK_TOOLS,
                                             tool_choice="auto", stream=True, seed=3):
        for tc in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            c = calls.setdefault(tc.index, {"id": tc.id, "name": tc.function.name, "arguments": ""})
            c["arguments"] += tc.function.arguments or ""
    assert sorted(calls) == [0, 1, 2]
    cities = [json.loads(c["arguments"])["location"] for c in calls.values()]
    assert sorted(x.lower() for x in cities) == sorted(COOKBOOK_WEATHER), cities
    messages.append({"role": "assistant", "tool_calls": [
        {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
        for c in calls.values()]})
    for c, city in zip(calls.values(), cities):
        temp, unit = COOKBOOK_WEATHER[city.lower()]
        messages.append({"role": "tool", "tool_call_id": c["id"],
                         "content": json.dumps({"location": city, "temperature": temp, "unit": unit})})
    answer = oai.chat.completions.create(model="gpt-4o", messages=messages, seed=3).choices[0].message.content
    for city, (temp, _) in COOKBOOK_WEATHER.items():
        assert temp in answer and city in answer.lower(), answer


# -- counting tokens with tools ------------------------------------------------------------------
SYSTEM = "You are a weather assistant. Answer in one sentence."


def test_anthropic_count_tokens_counts_tools_as_generation_bills_them(claude):
    msgs = [{"role": "user", "content": ASK}]
    for extra in ({}, {"tools": ANT_TOOLS}, {"tools": ANT_TOOLS, "system": SYSTEM},
                  {"tools": ANT_TOOLS[:1], "system": SYSTEM, "tool_choice": {"type": "tool", "name": "get_weather"}},
                  {"tools": ANT_TOOLS, "tool_choice": {"type": "none"}}):
        counted = claude.messages.count_tokens(model="claude-haiku-4-5", messages=msgs, **extra).input_tokens
        billed = claude.messages.create(model="claude-haiku-4-5", max_tokens=1, messages=msgs, **extra).usage.input_tokens
        assert counted == billed, extra
    bare = claude.messages.count_tokens(model="claude-haiku-4-5", messages=msgs).input_tokens
    one = claude.messages.count_tokens(model="claude-haiku-4-5", messages=msgs, tools=ANT_TOOLS[:1]).input_tokens
    two = claude.messages.count_tokens(model="claude-haiku-4-5", messages=msgs, tools=ANT_TOOLS).input_tokens
    assert bare < one < two
    with pytest.raises(anthropic.BadRequestError) as e:  # a bad tool: the 400 messages.create gives
        claude.messages.count_tokens(model="claude-haiku-4-5", messages=msgs, tools=[{"name": "f", "input_schema": {
            "type": "frog"}}])
    assert "tools.0.input_schema" in e.value.message


def test_responses_input_tokens_count_counts_tools(oai):
    kw = dict(model="gpt-4o-mini", input=ASK, instructions=SYSTEM, tools=RESP_TOOLS)
    counted = oai.responses.input_tokens.count(**kw)
    assert counted.object == "response.input_tokens"
    billed = oai.responses.create(**kw, max_output_tokens=16, store=False).usage.input_tokens
    assert counted.input_tokens == billed
    assert oai.responses.input_tokens.count(model="gpt-4o-mini", input=ASK).input_tokens < counted.input_tokens
    # allowed_tools narrows what the model reads, in both
    choice = {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_time"}]}
    narrowed = oai.responses.input_tokens.count(**kw, tool_choice=choice).input_tokens
    assert narrowed < counted.input_tokens
    assert narrowed == oai.responses.create(**kw, tool_choice=choice, max_output_tokens=16,
                                            store=False).usage.input_tokens
    with pytest.raises(openai.BadRequestError) as e:
        oai.responses.input_tokens.count(model="gpt-4o-mini", input=ASK, tools=[
            {"type": "function", "name": "f", "parameters": {"type": "frog"}}])
    assert e.value.body["param"] == "tools[0].parameters"
    with pytest.raises(openai.BadRequestError) as e:
        oai.responses.input_tokens.count(model="gpt-4o-mini")
    assert e.value.body["param"] == "input"


def test_gemini_count_tokens_counts_tools_as_generation_bills_them(gateway):
    gem = genai.Client(api_key="anything", http_options=types.HttpOptions(base_url=gateway))
    decls = [types.FunctionDeclaration(name=t["function"]["name"], description=t["function"]["description"],
                                       parameters_json_schema=t["function"]["parameters"]) for t in OAI_TOOLS]
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=decls)], system_instruction=SYSTEM,
                                         max_output_tokens=1)
    billed = gem.models.generate_content(model="gemini-2.5-flash", contents=ASK, config=config)
    billed = billed.usage_metadata.prompt_token_count
    # the SDK's count_tokens sends only contents to the Gemini API (tools and system_instruction in its
    # config are Vertex-only, refused before sending): with tools the request goes as the REST API
    # documents it, the whole GenerateContentRequest under generateContentRequest
    plain = gem.models.count_tokens(model="gemini-2.5-flash", contents=ASK).total_tokens
    bare = gem.models.generate_content(model="gemini-2.5-flash", contents=ASK,
                                       config=types.GenerateContentConfig(max_output_tokens=1))
    assert plain == bare.usage_metadata.prompt_token_count
    with pytest.raises(ValueError):
        gem.models.count_tokens(model="gemini-2.5-flash", contents=ASK, config=types.CountTokensConfig(
            tools=[types.Tool(function_declarations=decls)]))
    inner = {"model": "models/gemini-2.5-flash", "contents": [{"role": "user", "parts": [{"text": ASK}]}],
             "systemInstruction": {"parts": [{"text": SYSTEM}]},
             "tools": [{"functionDeclarations": [{"name": t["function"]["name"],
                                                  "description": t["function"]["description"],
                                                  "parametersJsonSchema": t["function"]["parameters"]}
                                                 for t in OAI_TOOLS]}],
             "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}}
    url = f"{gateway}/v1beta/models/gemini-2.5-flash:countTokens"
    r = httpx.post(url, json={"generateContentRequest": inner}, headers={"x-goog-api-key": "anything"}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["totalTokens"] == billed > plain
    # the Vertex form (tools and systemInstruction beside contents) counts the same
    top = {k: v for k, v in inner.items() if k != "model"}
    r = httpx.post(url, json=top, headers={"x-goog-api-key": "anything"}, timeout=60)
    assert r.json()["totalTokens"] == billed
    bad = {**inner, "tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": {"type": "frog"}}]}]}
    r = httpx.post(url, json={"generateContentRequest": bad}, headers={"x-goog-api-key": "anything"}, timeout=60)
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
