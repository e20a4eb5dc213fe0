"""Issue #13 audited with the SDKs' own examples: what failed there, now over real HTTP.

- anthropic's `client.beta.messages.tool_runner` and `client.beta.messages.thread()` send a
  `thread` field and then only the new messages (`continue`); the gateway holds the conversation.
- google-genai's README answers a function call with `types.Content(role='tool', ...)`.
- google-genai's README enum example (`response_mime_type='text/x.enum'`) gets a bare enum value.
- A `$ref` chain that loops (A -> B -> A) is a 400 naming the field in every protocol (the grammar
  compiler took it as a grammar that matches nothing, and the reply was an empty string).
- `response_format.json_schema.name` follows OpenAI's pattern.
"""

from __future__ import annotations

import json
from enum import Enum

import anthropic
import jsonschema
import ollama
import openai
import pytest
from anthropic import beta_tool
from google.genai import errors as genai_errors
from google.genai import types

CLAUDE = "claude-sonnet-4-20250514"
LOOP = {"$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"}
ENDLESS = {"$defs": {"A": {"type": "object", "properties": {"x": {"$ref": "#/$defs/A"}}, "required": ["x"]}},
           "$ref": "#/$defs/A"}  # every instance holds another: none is finite
TREE = {"$defs": {"Node": {"type": "object", "properties": {"v": {"type": "integer"},
                                                             "next": {"anyOf": [{"$ref": "#/$defs/Node"},
                                                                                {"type": "null"}]}},
                           "required": ["v", "next"], "additionalProperties": False}},
        "$ref": "#/$defs/Node"}


# -- anthropic message threads -----------------------------------------------------------------
calls_made: list[str] = []


@beta_tool
def get_weather(location: str) -> str:
    """Lookup the weather for a given city

    Args:
        location: The city and state, e.g. San Francisco, CA
    """
    calls_made.append(location)
    return json.dumps({"location": location, "temperature": "18°C", "condition": "Sunny"})


@pytest.mark.parametrize("stream", [False, True])
def test_tool_runner_runs_the_tool_over_a_continued_thread(claude, stream):
    calls_made.clear()
    runner = claude.beta.messages.tool_runner(model=CLAUDE, max_tokens=200, tools=[get_weather], stream=stream,
                                              tool_choice={"type": "any"}, max_iterations=2,
                                              messages=[{"role": "user", "content": "What is the weather in Paris?"}])
    replies = [s.get_final_message() for s in runner] if stream else list(runner)
    # the second turn is a `continue` carrying only the tool_result: the gateway found its tool_use
    assert len(replies) == 2 and calls_made and all(r.stop_reason == "tool_use" for r in replies)
    assert json.loads(json.dumps(replies[0].content[0].input))["location"] == calls_made[0]


def test_thread_send_continues_the_held_conversation(claude):
    thread = claude.beta.messages.thread(model=CLAUDE, max_tokens=60, system="Be brief.")
    first = thread.send({"role": "user", "content": "What is a token?"})
    second = thread.send({"role": "user", "content": "And what is a context window?"})
    assert first.content[0].text and second.content[0].text
    # a continue carrying a tool_result for a tool_use the held reply does not have is refused
    with pytest.raises(anthropic.BadRequestError) as e:
        claude.beta.messages.create(model=CLAUDE, max_tokens=10, thread={"type": "continue",
                                                                         "previous_message_id": second.id},
                                    messages=[{"role": "user", "content": [
                                        {"type": "tool_result", "tool_use_id": "toolu_x", "content": "18"}]}])
    assert "tool_use_id" in e.value.body["error"]["message"]


def test_thread_unknown_id_is_404_that_the_sdk_replays_on(claude):
    with pytest.raises(anthropic.NotFoundError) as e:
        claude.beta.messages.create(model=CLAUDE, max_tokens=10, messages=[{"role": "user", "content": "hi"}],
                                    thread={"type": "continue", "previous_message_id": "msg_gone"})
    err = e.value.body["error"]
    assert err["details"] == {"error_code": "thread_not_found"} and "previous_message_id" in err["message"]


@pytest.mark.parametrize("thread, field", [("yes", "thread"), ({"type": "fork"}, "thread.type"),
                                           ({"type": "continue"}, "thread.previous_message_id")])
def test_bad_thread_is_400_naming_the_field(claude, thread, field):
    with pytest.raises(anthropic.BadRequestError) as e:
        claude.beta.messages.create(model=CLAUDE, max_tokens=10, messages=[{"role": "user", "content": "hi"}],
                                    thread=thread)
    assert field in e.value.body["error"]["message"]


# -- google-genai README -----------------------------------------------------------------------
def test_function_response_in_a_tool_role_content(gemini):
    fn = types.FunctionDeclaration(name="get_current_weather",
                                   description="Get the current weather in a given location",
                                   parameters_json_schema={"type": "object", "properties": {"location": {
                                       "type": "string", "description": "The city and state, e.g. San Francisco, CA"}},
                                       "required": ["location"]})
    tool = types.Tool(function_declarations=[fn])
    config = types.GenerateContentConfig(tools=[tool], tool_config=types.ToolConfig(
        function_calling_config=types.FunctionCallingConfig(mode="ANY")))
    user = types.Content(role="user", parts=[types.Part.from_text(text="What is the weather like in Boston?")])
    response = gemini.models.generate_content(model="gemini-2.5-flash", contents=user, config=config)
    call = response.function_calls[0]
    answer = types.Part.from_function_response(name=call.name, response={"result": "sunny in Boston"})
    final = gemini.models.generate_content(model="gemini-2.5-flash", config=types.GenerateContentConfig(tools=[tool]),
                                           contents=[user, response.candidates[0].content,
                                                     types.Content(role="tool", parts=[answer])])
    assert final.text


class Instrument(Enum):
    PERCUSSION = "Percussion"
    STRING = "String"
    WOODWIND = "Woodwind"
    BRASS = "Brass"
    KEYBOARD = "Keyboard"


@pytest.mark.parametrize("stream", [False, True])
def test_enum_mime_type_gives_a_bare_value(gemini, stream):
    cfg = {"response_mime_type": "text/x.enum", "response_schema": Instrument}
    ask = "What instrument plays multiple notes at once?"
    if stream:
        text = "".join(c.text or "" for c in gemini.models.generate_content_stream(
            model="gemini-2.5-flash", contents=ask, config=cfg))
    else:
        response = gemini.models.generate_content(model="gemini-2.5-flash", contents=ask, config=cfg)
        text = response.text
        assert response.parsed in list(Instrument)
    assert text in [i.value for i in Instrument]


def test_enum_mime_type_without_an_enum_is_400(gemini):
    with pytest.raises(genai_errors.ClientError) as e:
        gemini.models.generate_content(model="gemini-2.5-flash", contents="hi", config={
            "response_mime_type": "text/x.enum", "response_schema": {"type": "STRING"}})
    assert e.value.code == 400 and "response_schema" in e.value.message


# -- schemas -----------------------------------------------------------------------------------
def test_looping_ref_is_400_in_every_protocol(gateway, oai, claude, gemini):
    with pytest.raises(openai.BadRequestError) as e:
        oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                    response_format={"type": "json_schema",
                                                     "json_schema": {"name": "x", "schema": LOOP}})
    assert e.value.body["param"] == "response_format.json_schema.schema" and "circular" in e.value.body["message"]
    with pytest.raises(openai.BadRequestError) as e:
        oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                    tools=[{"type": "function", "function": {"name": "f", "parameters": {
                                        "type": "object", "properties": {"a": {"$ref": "#/properties/a"}}}}}])
    assert "tools[0].function.parameters" in e.value.body["message"]
    with pytest.raises(anthropic.BadRequestError) as e:
        claude.messages.create(model=CLAUDE, max_tokens=10, messages=[{"role": "user", "content": "hi"}],
                               output_config={"format": {"type": "json_schema", "schema": LOOP}})
    assert "output_config.format.schema" in e.value.body["error"]["message"]
    with pytest.raises(genai_errors.ClientError) as e:
        gemini.models.generate_content(model="gemini-2.5-flash", contents="hi", config={
            "response_mime_type": "application/json", "response_json_schema": {"$ref": "#"}})
    assert e.value.code == 400 and "response_json_schema" in e.value.message
    with pytest.raises(ollama.ResponseError) as e:
        ollama.Client(host=gateway).chat(model="llama3.1", messages=[{"role": "user", "content": "hi"}], format=LOOP)
    assert e.value.status_code == 400 and "'format'" in e.value.error


def test_recursive_tree_schema_still_answers_valid_instances(oai):
    """A recursive schema that can end is accepted. The small model rarely ends a linked list
    (it nests until max_tokens), so a cut reply is checked as what it is: closed at its last
    `"next": ` with null, it is an instance."""
    r = oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "A linked list, please."}],
                                    max_tokens=200, response_format={"type": "json_schema", "json_schema": {
                                        "name": "node", "strict": True, "schema": TREE}})
    text, finish = r.choices[0].message.content, r.choices[0].finish_reason
    if finish == "length":
        head = text[:text.rindex('"next": ') + len('"next": ')]
        text = head + "null" + "}" * head.count("{")
    assert finish in ("stop", "length")
    jsonschema.validate(json.loads(text), TREE)


@pytest.mark.parametrize("name", ["a b", "calendar/event", "x" * 65, ""])
def test_response_format_name_follows_openais_pattern(oai, name):
    with pytest.raises(openai.BadRequestError) as e:
        oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                    response_format={"type": "json_schema", "json_schema": {
                                        "name": name, "schema": {"type": "object"}}})
    assert e.value.body["param"] == "response_format.json_schema.name"


def test_schema_with_no_finite_instance_is_400_not_a_500_mid_reply(oai, claude):
    with pytest.raises(openai.BadRequestError) as e:
        oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                    response_format={"type": "json_schema",
                                                     "json_schema": {"name": "x", "schema": ENDLESS}})
    assert e.value.body["param"] == "response_format.json_schema.schema" and "finite" in e.value.body["message"]
    with pytest.raises(anthropic.BadRequestError) as e:
        claude.messages.create(model=CLAUDE, max_tokens=10, messages=[{"role": "user", "content": "hi"}],
                               tools=[{"name": "f", "input_schema": {"type": "object", "properties": {
                                   "kids": {"type": "array", "minItems": 1, "items": {"$ref": "#"}}},
                                   "required": ["kids"]}}])
    assert "tools.0.input_schema" in e.value.body["error"]["message"]
