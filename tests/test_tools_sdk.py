"""Tool calling through each official SDK against the gateway: the call's shape as each protocol
sends it (plain and streamed), arguments that follow the tool's schema (checked with jsonschema),
the round trip call -> result -> text reply, and bad tool definitions as the protocol's own 400
naming the field.

Calls are forced (tool_choice required / a named tool / Gemini's ANY): the grammar makes the reply
a call whatever the network prefers, so these tests hold before and after it learns when to call.
A reply may hold several calls, and one cut by max_tokens ends with a call cut short: only the
complete ones are checked against the schema."""

from __future__ import annotations

import json

import anthropic
import groq
import jsonschema
import ollama
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import BaseModel

WEATHER = {"type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Tokyo", "London"]},
                                            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
           "required": ["city", "unit"], "additionalProperties": False}
TIME = {"type": "object", "properties": {"zone": {"type": "string", "enum": ["UTC", "CET", "JST"]}},
        "required": ["zone"], "additionalProperties": False}
SCHEMAS = {"get_weather": WEATHER, "get_time": TIME}
ASK = "What's the weather in Paris?"
MAX = 120  # room for at least one whole call (about 45 tokens each)
OAI_TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
                                               "parameters": WEATHER, "strict": True}},
             {"type": "function", "function": {"name": "get_time", "description": "Current time in a time zone",
                                               "parameters": TIME}}]


def complete(calls: list, ended_by_calls: bool) -> list:
    """The calls that are whole: all of them, unless max_tokens cut the last one."""
    done = calls if ended_by_calls else calls[:-1]
    assert done, "no whole call within max_tokens"
    return done


def check_args(name: str, args) -> dict:
    args = json.loads(args) if isinstance(args, str) else dict(args)
    jsonschema.validate(args, SCHEMAS[name])
    return args


# -- OpenAI chat completions ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def oai(gateway):
    return openai.OpenAI(base_url=gateway + "/v1", api_key="anything", max_retries=0)


def test_openai_required_call_then_result_then_text(oai):
    msgs = [{"role": "user", "content": ASK}]
    r = oai.chat.completions.create(model="gpt-4o-mini", messages=msgs, tools=OAI_TOOLS, tool_choice="required",
                                    temperature=0, max_tokens=MAX)
    choice = r.choices[0]
    assert choice.finish_reason in ("tool_calls", "length") and choice.message.content is None
    calls = choice.message.tool_calls
    assert len({c.id for c in calls}) == len(calls) and all(c.id.startswith("call_") for c in calls)
    for c in complete(calls, choice.finish_reason == "tool_calls"):
        assert c.type == "function" and c.function.name in SCHEMAS
        check_args(c.function.name, c.function.arguments)
    assert r.usage.completion_tokens > 0
    # the round trip: the calls go back as the assistant turn, each answered by a tool message
    msgs.append(choice.message.model_dump(exclude_none=True))
    msgs += [{"role": "tool", "tool_call_id": c.id, "content": json.dumps({"temp_c": 18})} for c in calls]
    r2 = oai.chat.completions.create(model="gpt-4o-mini", messages=msgs, tools=OAI_TOOLS, tool_choice="none",
                                     temperature=0, max_tokens=40)
    assert r2.choices[0].message.tool_calls is None and r2.choices[0].message.content.strip()
    assert r2.choices[0].finish_reason in ("stop", "length")
    assert r2.usage.prompt_tokens > r.usage.prompt_tokens  # the calls and results were read


def test_openai_named_tool(oai):
    r = oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "What time is it?"}],
                                    tools=OAI_TOOLS, tool_choice={"type": "function", "function": {"name": "get_time"}},
                                    seed=4, max_tokens=MAX)
    calls = r.choices[0].message.tool_calls
    assert {c.function.name for c in calls} == {"get_time"}
    for c in complete(calls, r.choices[0].finish_reason == "tool_calls"):
        check_args("get_time", c.function.arguments)


def test_openai_streamed_tool_call_deltas(oai):
    chunks = list(oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": ASK}],
                                              tools=OAI_TOOLS, tool_choice="required", stream=True, seed=2,
                                              max_tokens=MAX, stream_options={"include_usage": True}))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant" and deltas[0].content is None
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish in (["tool_calls"], ["length"]) and chunks[-1].usage.completion_tokens > 0
    calls: dict[int, dict] = {}
    for d in deltas:
        for tc in d.tool_calls or []:
            if tc.index not in calls:  # OpenAI's first delta of a call: index, id, type, name, arguments ""
                assert tc.id and tc.type == "function" and tc.function.name and tc.function.arguments == ""
                calls[tc.index] = {"id": tc.id, "name": tc.function.name, "arguments": ""}
            else:  # then fragments of the arguments, index only
                assert tc.id is None and tc.function.name is None and tc.function.arguments
                calls[tc.index]["arguments"] += tc.function.arguments
    assert sorted(calls) == list(range(len(calls)))
    for c in complete([calls[i] for i in sorted(calls)], finish == ["tool_calls"]):
        check_args(c["name"], c["arguments"])


def test_openai_stream_helper_and_parse_with_a_pydantic_tool(oai):
    class GetWeather(BaseModel):
        city: str
        unit: str

    tool = openai.pydantic_function_tool(GetWeather, name="get_weather")
    r = oai.chat.completions.parse(model="gpt-4o-mini", messages=[{"role": "user", "content": ASK}], tools=[tool],
                                   tool_choice="required", parallel_tool_calls=False, temperature=0)
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls" and isinstance(call.function.parsed_arguments, GetWeather)
    with oai.chat.completions.stream(model="gpt-4o-mini", messages=[{"role": "user", "content": ASK}],
                                     tools=OAI_TOOLS, tool_choice="required", temperature=0) as stream:
        done = [e for e in stream if e.type == "tool_calls.function.arguments.done"]
        final = stream.get_final_completion()  # raises if max_tokens cut the reply
    calls = final.choices[0].message.tool_calls
    assert [e.name for e in done] == [c.function.name for c in calls]
    for e, c in zip(done, calls):
        assert e.arguments == c.function.arguments and e.parsed_arguments == json.loads(c.function.arguments)
        check_args(c.function.name, c.function.arguments)


def test_openai_legacy_functions(oai):
    r = oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": ASK}],
                                    functions=[OAI_TOOLS[0]["function"]], function_call={"name": "get_weather"},
                                    temperature=0, max_tokens=MAX)
    choice = r.choices[0]
    assert choice.message.function_call.name == "get_weather" and choice.message.tool_calls is None
    if choice.finish_reason == "function_call":
        check_args("get_weather", choice.message.function_call.arguments)
    else:
        assert choice.finish_reason == "length"
    msgs = [{"role": "user", "content": ASK},
            {"role": "assistant", "content": None, "function_call": {"name": "get_weather",
                                                                    "arguments": '{"city": "Paris"}'}},
            {"role": "function", "name": "get_weather", "content": "18 C"}]
    r2 = oai.chat.completions.create(model="gpt-4o-mini", messages=msgs, max_tokens=20)
    assert r2.choices[0].message.content


BAD_TOOLS = [
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "frog"}}}]},
     "tools[0].function.parameters"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"a": {"type": "frog"}}}}}]}, "tools[0].function.parameters"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": "nope"}}]},
     "tools[0].function.parameters"),
    ({"tools": [{"type": "function", "function": {"parameters": WEATHER}}]}, "tools[0].function.name"),
    ({"tools": [{"type": "function", "function": {"name": "get weather"}}]}, "tools[0].function.name"),
    ({"tools": [OAI_TOOLS[0], OAI_TOOLS[0]]}, "tools[1].function.name"),
    ({"tools": [{"type": "custom", "custom": {"name": "f"}}]}, "tools[0].type"),
    ({"tools": []}, "tools"),
    ({"tools": OAI_TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
    ({"tools": OAI_TOOLS, "tool_choice": "sometimes"}, "tool_choice"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"functions": [{"name": "f", "parameters": {"type": "frog"}}]}, "functions[0].parameters"),
]


@pytest.mark.parametrize("extra, param", BAD_TOOLS)
def test_openai_bad_tools_are_a_400_naming_the_field(oai, extra, param):
    with pytest.raises(openai.BadRequestError) as e:
        oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": ASK}], **extra)
    assert e.value.body["param"] == param


def test_openai_tool_messages_must_answer_calls(oai):
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    with pytest.raises(openai.BadRequestError) as e:  # a tool message with no call before it
        oai.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "user", "content": ASK}, {"role": "tool", "tool_call_id": "call_1", "content": "18"}])
    assert e.value.body["param"] == "messages[1].tool_call_id"
    with pytest.raises(openai.BadRequestError) as e:  # a call never answered
        oai.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "user", "content": ASK}, {"role": "assistant", "tool_calls": [call]},
            {"role": "user", "content": "and?"}])
    assert "call_1" in e.value.message
    with pytest.raises(openai.BadRequestError) as e:
        oai.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "user", "content": ASK},
            {"role": "assistant", "tool_calls": [{**call, "function": {"name": "f", "arguments": "{nope"}}]}])
    assert e.value.body["param"] == "messages[1].tool_calls[0].function.arguments"


def test_groq_tool_calls(gateway):
    client = groq.Groq(base_url=gateway, api_key="anything", max_retries=0)
    r = client.chat.completions.create(model="llama-3.3-70b-versatile", messages=[{"role": "user", "content": ASK}],
                                       tools=OAI_TOOLS, tool_choice="required", temperature=0, max_tokens=MAX)
    calls = r.choices[0].message.tool_calls
    for c in complete(calls, r.choices[0].finish_reason == "tool_calls"):
        check_args(c.function.name, c.function.arguments)
    chunks = list(client.chat.completions.create(
        model="llama-3.3-70b-versatile", messages=[{"role": "user", "content": ASK}], tools=OAI_TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_time"}}, stream=True, max_tokens=MAX))
    first = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []][0]
    assert first.id and first.function.name == "get_time" and chunks[-1].x_groq.usage.completion_tokens > 0


def test_gemini_openai_compat_tool_calls(gateway):
    client = openai.OpenAI(base_url=gateway + "/v1beta/openai/", api_key="anything", max_retries=0)
    r = client.chat.completions.create(model="gemini-2.5-flash", messages=[{"role": "user", "content": ASK}],
                                       tools=OAI_TOOLS, tool_choice="required", temperature=0, max_tokens=MAX)
    for c in complete(r.choices[0].message.tool_calls, r.choices[0].finish_reason == "tool_calls"):
        check_args(c.function.name, c.function.arguments)


# -- OpenAI Responses -----------------------------------------------------------------------------
RESP_TOOLS = [{"type": "function", **t["function"]} for t in OAI_TOOLS]


def test_responses_function_call_round_trip(oai):
    r = oai.responses.create(model="gpt-4o-mini", input=ASK, tools=RESP_TOOLS, tool_choice="required",
                             temperature=0, max_output_tokens=MAX)
    assert r.output and all(o.type == "function_call" for o in r.output)
    assert r.output_text == ""
    assert all(o.status == "completed" for o in r.output[:-1])  # only a last call cut by max_tokens is not
    assert r.output[-1].status == "completed" or r.status == "incomplete"
    for o in complete(r.output, r.status == "completed"):
        assert o.call_id.startswith("call_") and o.id.startswith("fc_")
        check_args(o.name, o.arguments)
    outputs = [{"type": "function_call_output", "call_id": o.call_id, "output": "18 C"} for o in r.output]
    # continued from the stored response
    r2 = oai.responses.create(model="gpt-4o-mini", previous_response_id=r.id, input=outputs, tools=RESP_TOOLS,
                              tool_choice="none", max_output_tokens=30)
    assert r2.output[0].type == "message" and r2.output_text.strip()
    # or with the items sent back whole, nothing stored
    items = [{"role": "user", "content": ASK}] + [o.model_dump(exclude_none=True) for o in r.output] + outputs
    r3 = oai.responses.create(model="gpt-4o-mini", input=items, tools=RESP_TOOLS, tool_choice="none",
                              max_output_tokens=30, store=False)
    assert r3.output_text.strip() and r3.usage.input_tokens > r.usage.input_tokens


def test_responses_streamed_function_call_events(oai):
    events = list(oai.responses.create(model="gpt-4o-mini", input=ASK, tools=RESP_TOOLS,
                                       tool_choice={"type": "function", "name": "get_weather"}, temperature=0,
                                       max_output_tokens=MAX, stream=True))
    kinds = [e.type for e in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds[-1] in ("response.completed", "response.incomplete")
    added = [e for e in events if e.type == "response.output_item.added"]
    assert all(e.item.type == "function_call" and e.item.arguments == "" and e.item.name == "get_weather"
               for e in added)
    final = events[-1].response
    for i, item in enumerate(final.output):
        deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta"
                         and e.output_index == i)
        done = [e for e in events if e.type == "response.function_call_arguments.done" and e.output_index == i]
        assert done[0].arguments == deltas == item.arguments and done[0].item_id == item.id
    for item in complete(final.output, final.status == "completed"):
        check_args("get_weather", item.arguments)


@pytest.mark.parametrize("extra, param", [
    ({"tools": [{"type": "function", "name": "f", "parameters": {"type": "frog"}}]}, "tools[0].parameters"),
    ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"tools": RESP_TOOLS, "tool_choice": {"type": "function", "name": "nope"}}, "tool_choice.name"),
    ({"input": [{"type": "function_call_output", "call_id": "call_nope", "output": "1"}]}, "input"),
])
def test_responses_bad_tools_are_a_400(oai, extra, param):
    with pytest.raises(openai.BadRequestError) as e:
        oai.responses.create(**{"model": "gpt-4o-mini", "input": ASK, **extra})
    assert e.value.body["param"] == param


# -- Anthropic ------------------------------------------------------------------------------------
ANT_TOOLS = [{"name": t["function"]["name"], "description": t["function"]["description"],
              "input_schema": t["function"]["parameters"]} for t in OAI_TOOLS]


@pytest.fixture(scope="module")
def ant(gateway):
    return anthropic.Anthropic(base_url=gateway, api_key="anything", max_retries=0)


def test_anthropic_tool_use_then_tool_result_then_text(ant):
    msgs = [{"role": "user", "content": ASK}]
    r = ant.messages.create(model="claude-haiku-4-5", max_tokens=MAX, messages=msgs, tools=ANT_TOOLS,
                            tool_choice={"type": "tool", "name": "get_weather"}, extra_body={"temperature": 0})
    assert r.stop_reason in ("tool_use", "max_tokens") and all(b.type == "tool_use" for b in r.content)
    assert len({b.id for b in r.content}) == len(r.content) and all(b.id.startswith("toolu_") for b in r.content)
    for b in complete(r.content, r.stop_reason == "tool_use"):
        assert b.name == "get_weather"
        check_args(b.name, b.input)
    msgs.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in r.content]})
    results = [{"type": "tool_result", "tool_use_id": b.id, "content": "18 C"} for b in r.content]
    results[0] = {**results[0], "content": [{"type": "text", "text": "18 C"}]}  # list content too
    if len(results) > 1:
        results[-1] = {**results[-1], "content": "the service is down", "is_error": True}
    msgs.append({"role": "user", "content": results})
    r2 = ant.messages.create(model="claude-haiku-4-5", max_tokens=30, messages=msgs, tools=ANT_TOOLS,
                             tool_choice={"type": "none"})
    assert r2.content[0].type == "text" and r2.content[0].text.strip()
    assert r2.stop_reason in ("end_turn", "max_tokens") and r2.usage.input_tokens > r.usage.input_tokens


def test_anthropic_streamed_tool_use(ant):
    with ant.messages.stream(model="claude-haiku-4-5", max_tokens=MAX, messages=[{"role": "user", "content": ASK}],
                             tools=ANT_TOOLS, tool_choice={"type": "any"}, extra_body={"temperature": 0}) as stream:
        events = list(stream)
        final = stream.get_final_message()
    starts = [e for e in events if e.type == "content_block_start"]
    assert starts and all(e.content_block.type == "tool_use" and e.content_block.input == {} for e in starts)
    assert [e.index for e in starts] == list(range(len(starts)))
    partial = "".join(e.delta.partial_json for e in events
                      if e.type == "content_block_delta" and e.index == 0)
    assert partial.startswith("{") and partial.replace(" ", "").startswith('{"')
    assert final.stop_reason in ("tool_use", "max_tokens") and len(final.content) == len(starts)
    for b in complete(final.content, final.stop_reason == "tool_use"):
        check_args(b.name, b.input)


def test_anthropic_bad_tools_are_a_400(ant):
    def refused(**kw) -> str:
        with pytest.raises(anthropic.BadRequestError) as e:
            ant.messages.create(**{"model": "claude-haiku-4-5", "max_tokens": 10,
                                   "messages": [{"role": "user", "content": ASK}], **kw})
        return e.value.message

    assert "tools.0.input_schema" in refused(tools=[{"name": "f", "input_schema": {"type": "frog"}}])
    assert "tools.0.input_schema" in refused(tools=[{"name": "f", "input_schema": {
        "type": "object", "properties": {"a": {"type": "frog"}}}}])
    assert "tools.0.input_schema: Field required" in refused(tools=[{"name": "f"}])
    assert "tools.0.type" in refused(tools=[{"type": "web_search_20250305", "name": "web_search"}])
    assert "tool_choice.name" in refused(tools=ANT_TOOLS, tool_choice={"type": "tool", "name": "nope"})
    assert "tool_choice" in refused(tool_choice={"type": "any"})
    use = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
    msg = refused(messages=[{"role": "user", "content": ASK}, {"role": "assistant", "content": [use]},
                            {"role": "user", "content": "and?"}])
    assert "toolu_1" in msg and "tool_result" in msg


# -- Gemini ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gem(gateway):
    return genai.Client(api_key="anything", http_options=types.HttpOptions(base_url=gateway))


DECLS = [types.FunctionDeclaration(name=t["function"]["name"], description=t["function"]["description"],
                                   parameters_json_schema=t["function"]["parameters"]) for t in OAI_TOOLS]


def _any(*names: str, max_tokens: int = MAX, **extra) -> types.GenerateContentConfig:
    mode = types.FunctionCallingConfig(mode="ANY", allowed_function_names=list(names) or None)
    return types.GenerateContentConfig(tools=[types.Tool(function_declarations=DECLS)], temperature=0,
                                       max_output_tokens=max_tokens, tool_config=types.ToolConfig(
                                           function_calling_config=mode), **extra)


def test_gemini_function_call_then_response_then_text(gem):
    r = gem.models.generate_content(model="gemini-2.5-flash", contents=ASK, config=_any("get_weather"))
    calls = r.function_calls
    assert calls and all(c.name == "get_weather" and c.id for c in calls)
    for c in calls:  # a call cut by max_tokens is not sent: each one is whole
        check_args(c.name, c.args)
    assert r.candidates[0].finish_reason in ("STOP", "MAX_TOKENS")
    contents = [types.Content(role="user", parts=[types.Part(text=ASK)]), r.candidates[0].content,
                types.Content(role="user", parts=[types.Part(function_response=types.FunctionResponse(
                    id=c.id, name=c.name, response={"temp_c": 18})) for c in calls])]
    none = types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="NONE"))
    r2 = gem.models.generate_content(model="gemini-2.5-flash", contents=contents, config=types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=DECLS)], tool_config=none, max_output_tokens=30))
    assert r2.text.strip() and not r2.function_calls
    assert r2.usage_metadata.prompt_token_count > r.usage_metadata.prompt_token_count


def test_gemini_streamed_calls_come_whole(gem):
    chunks = list(gem.models.generate_content_stream(model="gemini-2.5-flash", contents=ASK, config=_any()))
    calls = [c for ch in chunks for c in ch.function_calls or []]
    assert calls and chunks[-1].candidates[0].finish_reason in ("STOP", "MAX_TOKENS")
    for c in calls:
        check_args(c.name, c.args)


def test_gemini_automatic_function_calling_round_trip(gem):
    seen = []

    def get_weather(city: str, unit: str) -> dict:
        """Current weather in a city.

        Args:
          city: the city
          unit: celsius or fahrenheit
        """
        seen.append({"city": city, "unit": unit})
        return {"city": city, "temp": 18, "unit": unit}

    # ANY forces a call each turn, so the SDK runs the function, sends its result back, and (its
    # two remote calls spent) returns the second reply's call to the caller
    config = types.GenerateContentConfig(
        tools=[get_weather], temperature=0, max_output_tokens=200,
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(maximum_remote_calls=2))
    r = gem.models.generate_content(model="gemini-2.5-flash", contents=ASK, config=config)
    assert seen and all(isinstance(s["city"], str) and isinstance(s["unit"], str) for s in seen)
    history = r.automatic_function_calling_history
    assert [h.role for h in history] == ["user", "model", "user"]
    assert history[1].parts[0].function_call.name == "get_weather"
    assert history[2].parts[0].function_response.response["result"]["temp"] == 18
    assert r.function_calls and r.function_calls[0].name == "get_weather"
    # AUTO: the model decides; whatever it does, the SDK's loop ends with its text
    config = types.GenerateContentConfig(tools=[get_weather], temperature=0, max_output_tokens=60)
    r = gem.models.generate_content(model="gemini-2.5-flash", contents=ASK, config=config)
    assert r.text and r.text.strip() and not r.function_calls


def test_gemini_bad_tools_are_a_400(gem):
    def refused(config) -> str:
        with pytest.raises(genai_errors.ClientError) as e:
            gem.models.generate_content(model="gemini-2.5-flash", contents=ASK, config=config)
        assert e.value.code == 400
        return e.value.message

    bad = types.FunctionDeclaration(name="f", parameters_json_schema={"type": "object",
                                                                      "properties": {"a": {"type": "frog"}}})
    assert "tools[0].function_declarations[0].parameters_json_schema" in refused(
        types.GenerateContentConfig(tools=[types.Tool(function_declarations=[bad])]))
    assert "tools[0].google_search" in refused(types.GenerateContentConfig(tools=[types.Tool(
        google_search=types.GoogleSearch())]))
    assert "allowed_function_names[0]" in refused(_any("nope"))
    auto = types.FunctionCallingConfig(mode="AUTO", allowed_function_names=["get_weather"])
    assert "allowed_function_names" in refused(types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=DECLS)], tool_config=types.ToolConfig(function_calling_config=auto)))


# -- Ollama ---------------------------------------------------------------------------------------
def get_weather(city: str, unit: str) -> str:
    """Current weather in a city.

    Args:
      city: the city
      unit: celsius or fahrenheit
    """
    return "18 C"


@pytest.fixture(scope="module")
def oll(gateway):
    return ollama.Client(host=gateway)


def test_ollama_tool_result_round_trip(oll):
    history = [{"role": "user", "content": ASK},
               {"role": "assistant", "content": "",
                "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}]},
               {"role": "tool", "content": "18 C", "tool_name": "get_weather"}]
    r = oll.chat(model="llama3.2", messages=history, tools=[get_weather], options={"num_predict": 30, "temperature": 0})
    assert r.message.content.strip() and not r.message.tool_calls and r.done_reason in ("stop", "length")
    bare = oll.chat(model="llama3.2", messages=history[:1], options={"num_predict": 1, "temperature": 0})
    assert r.prompt_eval_count > bare.prompt_eval_count  # the tools, the call and its result were read


def test_ollama_the_model_decides(oll):
    """Ollama has no tool_choice: the reply is text or calls, as the network prefers; either way
    it is well formed, and calls follow the schema."""
    for stream in (False, True):
        parts = oll.chat(model="llama3.2", messages=[{"role": "user", "content": ASK}], tools=[get_weather],
                         stream=stream, options={"num_predict": MAX, "seed": 1})
        parts = list(parts) if stream else [parts]
        calls = [c for p in parts for c in p.message.tool_calls or []]
        text = "".join(p.message.content for p in parts)
        assert parts[-1].done and parts[-1].done_reason in ("stop", "length")
        assert calls or text.strip()
        for c in calls:
            jsonschema.validate(dict(c.function.arguments), {"type": "object", "properties": {
                "city": {"type": "string"}, "unit": {"type": "string"}}, "required": ["city", "unit"]})
    assert "tools" in oll.show("llama3.2").capabilities


def test_ollama_bad_tool_is_a_400(oll):
    bad = {"type": "function", "function": {"name": "f", "parameters": {"type": "object",
                                                                        "properties": {"a": {"type": "frog"}}}}}
    with pytest.raises(ollama.ResponseError) as e:
        oll.chat(model="llama3.2", messages=[{"role": "user", "content": ASK}], tools=[bad])
    assert e.value.status_code == 400 and "tools[0].function.parameters" in e.value.error
