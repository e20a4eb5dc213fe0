"""Structured outputs through each official SDK: the reply follows the schema, the values are the
model's own, streams too, and a bad schema is the protocol's 400 naming the field."""

from __future__ import annotations

import json
import re

import anthropic
import groq
import jsonschema
import ollama
import openai
import pytest
from google import genai
from google.genai import types
from pydantic import BaseModel

Q = [{"role": "user", "content": "What is the capital of France?"}]


class Answer(BaseModel):
    answer: str


class City(BaseModel):
    name: str
    country: str
    population: int
    landmarks: list[str]


SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}, "confidence": {"enum": ["low", "high"]}},
          "required": ["answer", "confidence"], "additionalProperties": False}


def test_openai_parse_with_a_pydantic_model(oai):
    r = oai.chat.completions.parse(model="gpt-4o-mini", messages=Q, response_format=Answer, temperature=0)
    parsed = r.choices[0].message.parsed
    assert isinstance(parsed, Answer) and "Paris" in parsed.answer
    r = oai.chat.completions.parse(model="gpt-4o-mini", messages=Q, response_format=City, seed=3)
    assert isinstance(r.choices[0].message.parsed, City)


def test_openai_json_schema_stream_and_json_object(oai):
    fmt = {"type": "json_schema", "json_schema": {"name": "reply", "schema": SCHEMA, "strict": True}}
    text = "".join(c.choices[0].delta.content or "" for c in oai.chat.completions.create(
        model="gpt-4o-mini", messages=Q, response_format=fmt, stream=True, seed=1) if c.choices)
    jsonschema.validate(json.loads(text), SCHEMA)
    r = oai.chat.completions.create(model="gpt-4o-mini", messages=Q, response_format={"type": "json_object"},
                                    temperature=0, max_tokens=300)
    if r.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(r.choices[0].message.content), dict)
    assert r.choices[0].message.content.startswith("{")


def test_openai_parse_too_short_raises_length(oai):
    with pytest.raises(openai.LengthFinishReasonError):
        oai.chat.completions.parse(model="gpt-4o-mini", messages=Q, response_format=Answer, max_tokens=4)


@pytest.mark.parametrize("fmt, param", [
    ({"type": "json_schema", "json_schema": {"name": "x", "schema": "nope"}}, "response_format.json_schema.schema"),
    ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "frog"}}},
     "response_format.json_schema.schema"),
    ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"not": {}}}}, "response_format.json_schema.schema"),
    ({"type": "json_schema", "json_schema": {"schema": SCHEMA}}, "response_format.json_schema.name"),
    ({"type": "json_schema"}, "response_format.json_schema"),
])
def test_openai_bad_schema_is_a_400(oai, fmt, param):
    with pytest.raises(openai.BadRequestError) as e:
        oai.chat.completions.create(model="gpt-4o-mini", messages=Q, response_format=fmt)
    assert e.value.body["param"] == param


def test_groq_json_schema(gateway):
    client = groq.Groq(base_url=gateway, api_key="anything", max_retries=0)
    fmt = {"type": "json_schema", "json_schema": {"name": "reply", "schema": SCHEMA}}
    r = client.chat.completions.create(model="llama-3.3-70b-versatile", messages=Q, response_format=fmt, temperature=0)
    reply = json.loads(r.choices[0].message.content)
    jsonschema.validate(reply, SCHEMA)
    assert "Paris" in reply["answer"]
    with pytest.raises(groq.BadRequestError):
        client.chat.completions.create(model="llama-3.3-70b-versatile", messages=Q,
                                       response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": 3}})


def test_anthropic_parse_and_output_config(claude):
    r = claude.messages.parse(model="claude-sonnet-5-5", max_tokens=200, messages=Q, output_format=Answer)
    assert isinstance(r.parsed_output, Answer) and "Paris" in r.parsed_output.answer
    with claude.messages.stream(model="claude-sonnet-5-5", max_tokens=300, messages=Q,
                                output_config={"format": {"type": "json_schema", "schema": SCHEMA}}) as s:
        text = "".join(s.text_stream)
    jsonschema.validate(json.loads(text), SCHEMA)


def test_anthropic_bad_schema_is_a_400(claude):
    with pytest.raises(anthropic.BadRequestError) as e:
        claude.messages.create(model="claude-sonnet-5-5", max_tokens=50, messages=Q,
                               output_config={"format": {"type": "json_schema", "schema": {"type": "frog"}}})
    assert "output_config.format.schema" in e.value.message


@pytest.fixture(scope="module")
def gem(gateway):
    return genai.Client(api_key="anything", http_options=types.HttpOptions(base_url=gateway))


def test_gemini_response_schema_pydantic_and_json_schema(gem):
    r = gem.models.generate_content(model="gemini-2.5-flash", contents="What is the capital of France?",
                                    config=types.GenerateContentConfig(response_mime_type="application/json",
                                                                       response_schema=Answer, temperature=0))
    assert isinstance(r.parsed, Answer) and "Paris" in r.parsed.answer
    schema = types.Schema(type="OBJECT", properties={"answer": types.Schema(type="STRING"),
                                                     "year": types.Schema(type="INTEGER", nullable=True)},
                          required=["answer", "year"], property_ordering=["year", "answer"])
    r = gem.models.generate_content(model="gemini-2.5-flash", contents="What is the capital of France?",
                                    config=types.GenerateContentConfig(response_mime_type="application/json",
                                                                       response_schema=schema, seed=2))
    reply = json.loads(r.text)
    assert list(reply) == ["year", "answer"] and (reply["year"] is None or isinstance(reply["year"], int))
    chunks = gem.models.generate_content_stream(
        model="gemini-2.5-flash", contents="What is the capital of France?",
        config=types.GenerateContentConfig(response_mime_type="application/json", response_json_schema=SCHEMA))
    jsonschema.validate(json.loads("".join(c.text or "" for c in chunks)), SCHEMA)


def test_gemini_bad_schema_is_a_400(gem):
    with pytest.raises(genai.errors.ClientError) as e:
        gem.models.generate_content(model="gemini-2.5-flash", contents="hi", config=types.GenerateContentConfig(
            response_mime_type="application/json", response_json_schema={"type": "frog"}))
    assert e.value.code == 400 and "response_json_schema" in e.value.message


def test_ollama_format_schema_and_json(gateway):
    client = ollama.Client(host=gateway)
    r = client.chat(model="llama3.2", messages=Q, format=City.model_json_schema(), options={"seed": 4})
    City.model_validate_json(r.message.content)
    r = client.chat(model="llama3.2", messages=Q, format=Answer.model_json_schema(), options={"temperature": 0})
    assert "Paris" in Answer.model_validate_json(r.message.content).answer
    text = "".join(p.message.content for p in client.chat(model="llama3.2", messages=Q, format="json", stream=True,
                                                          options={"temperature": 0, "num_predict": 300}))
    assert text.startswith("{")
    with pytest.raises(ollama.ResponseError) as e:
        client.chat(model="llama3.2", messages=Q, format={"type": "frog"})
    assert e.value.status_code == 400 and "format" in e.value.error


class Trip(BaseModel):
    city: str
    tags: set[str]  # pydantic writes "uniqueItems": true, a keyword the grammar cannot follow


def test_ollama_format_ignores_what_its_grammar_cannot_follow(gateway):
    """Ollama turns a schema into a grammar and ignores the keywords it cannot honour, so a
    pydantic model with a set field works there: here too (the other protocols refuse them)."""
    client = ollama.Client(host=gateway)
    assert "uniqueItems" in json.dumps(Trip.model_json_schema())
    r = client.chat(model="llama3.2", messages=Q, format=Trip.model_json_schema(), options={"temperature": 0})
    data = json.loads(r.message.content)
    assert set(data) == {"city", "tags"} and isinstance(data["city"], str) and isinstance(data["tags"], list)
    with pytest.raises(openai.BadRequestError) as e:  # elsewhere it is still a 400 that names the keyword
        openai.OpenAI(base_url=gateway + "/v1", api_key="x", max_retries=0).chat.completions.create(
            model="gpt-4o", messages=Q, response_format={"type": "json_schema", "json_schema": {
                "name": "trip", "schema": Trip.model_json_schema()}})
    assert "uniqueItems" in e.value.body["message"]


# -- values: copied from data the user gave, or the plain answer's own; a number always ends --------

class CalendarEvent(BaseModel):  # the openai SDK README's structured-output example, unchanged
    name: str
    date: str
    participants: list[str]


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def test_openai_readme_parse_example_copies_its_values_from_the_message(oai):
    """Data the model has no answer to ("Alice and Bob are going to a science fair on Friday."):
    every value is a phrase of the message (it was the "I don't know" text, cut by max_tokens)."""
    message = "Alice and Bob are going to a science fair on Friday."
    r = oai.chat.completions.parse(model="gpt-4o-2024-08-06", temperature=0, response_format=CalendarEvent,
                                   messages=[{"role": "system", "content": "Extract the event information."},
                                             {"role": "user", "content": message}])
    assert r.choices[0].finish_reason == "stop"
    event = r.choices[0].message.parsed
    values = [event.name, event.date, *event.participants]
    assert event.participants and all(v.strip() and _words(v) <= _words(message) for v in values), event
    r = oai.chat.completions.parse(model="gpt-4o-mini", temperature=0, response_format=Person,
                                   messages=[{"role": "user", "content": "Extract the name and age: Ana is 41."}])
    assert r.choices[0].message.parsed.age == 41


def test_the_readme_example_at_the_sdks_default_temperature_still_copies_whole_phrases(oai):
    """The README calls parse() without a temperature: 1. Which phrase goes where is sampled, but each
    value is a phrase of the message written whole (a tenth of the mass left elsewhere had derailed
    values into free text)."""
    message = "Alice and Bob are going to a science fair on Friday."
    for seed in range(4):
        r = oai.chat.completions.parse(model="gpt-4o-2024-08-06", response_format=CalendarEvent, seed=seed,
                                       messages=[{"role": "system", "content": "Extract the event information."},
                                                 {"role": "user", "content": message}])
        event = r.choices[0].message.parsed
        values = [event.name, event.date, *event.participants]
        assert all(v.strip() and v.strip(" .") in message for v in values), (seed, event)


class Person(BaseModel):
    name: str
    age: int


def test_a_number_field_holds_the_number_of_the_plain_answer(oai):
    schema = {"type": "object", "properties": {"value": {"type": "number"}}, "required": ["value"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "n", "schema": schema}}
    for q in ["What is 3 + 5?", "How many days are in a week?"]:
        msgs = [{"role": "user", "content": q}]
        plain = oai.chat.completions.create(model="gpt-4o-mini", messages=msgs, temperature=0).choices[0].message.content
        r = oai.chat.completions.create(model="gpt-4o-mini", messages=msgs, temperature=0, response_format=fmt)
        value = json.loads(r.choices[0].message.content)["value"]
        assert value in [float(x) for x in re.findall(r"\d+(?:\.\d+)?", plain)], (plain, value)


def test_a_number_the_model_has_no_value_for_still_ends(oai):
    """Digits stop at a double's precision, so max_tokens never cuts the JSON mid-number."""
    schema = {"type": "object", "properties": {"year": {"type": "integer"}, "count": {"type": "number"}},
              "required": ["year", "count"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "n", "schema": schema}}
    for q in ["What is Docker?", "Describe a REST API."]:
        r = oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": q}], temperature=0,
                                        max_tokens=80, response_format=fmt)
        assert r.choices[0].finish_reason == "stop", r.choices[0].message.content
        data = json.loads(r.choices[0].message.content)
        assert all(len(re.sub(r"\D", "", str(v))) <= 17 for v in data.values()), data


def test_an_open_ended_list_sampled_at_temperature_1_still_closes(oai):
    """No maxItems: after 16 items only the list's end may follow (it ran on to max_tokens, cut mid-JSON)."""
    schema = {"type": "object", "properties": {"scores": {"type": "array", "items": {"type": "number"}}},
              "required": ["scores"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "scores", "schema": schema}}
    for q, seed in [("What is 2 + 2?", 2), ("Tell me about Canada.", 1), ("Tell me about Canada.", 2)]:
        r = oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": q}],
                                        temperature=1.0, seed=seed, max_tokens=200, response_format=fmt)
        assert r.choices[0].finish_reason == "stop", r.choices[0].message.content
        jsonschema.validate(json.loads(r.choices[0].message.content), schema)


def test_a_model_trained_with_the_json_marker_is_told_the_schemas_keys(tmp_path):
    """A model whose info.json has "json_marker" (train_transformer --json-marker) reads a structured-output
    request's keys in its system turn, as its extraction training rows had them (tools.json_block); the
    shipped model, trained without, reads the request as it is."""
    from llmkit.engine import SamplingParams, tools
    from llmkit.engine.transformer import DATA_DIRS, TransformerEngine

    src = DATA_DIRS["transformer-v3"]
    marked = tmp_path / "marked"
    marked.mkdir()
    for name in ("hf", "embed.npz", "retrieval.npz"):
        (marked / name).symlink_to(src / name)
    info = json.loads((src / "info.json").read_text(encoding="utf-8"))
    assert "json_marker" not in info  # the shipped one
    (marked / "info.json").write_text(json.dumps({**info, "json_marker": True}), encoding="utf-8")
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "city": {"type": "string"}},
              "required": ["name", "city"]}
    msgs = [{"role": "system", "content": "Extract the data."},
            {"role": "user", "content": "Maria Lopez lives in Madrid."}]
    plain, with_marker = TransformerEngine(src), TransformerEngine(marked)
    assert not plain.json_marker and with_marker.json_marker
    block = tools.json_block(schema)
    assert block == "Reply with a JSON object with the keys name, city."
    p = SamplingParams(temperature=0, max_tokens=24, json_schema=schema)
    a, b = plain.generate(msgs, p), with_marker.generate(msgs, p)
    want = len(plain.tok.render_chat(tools.to_plain(msgs, None, json_schema=schema)))
    assert b.prompt_tokens == want > a.prompt_tokens == len(plain.tok.render_chat(msgs))
    for g in (a, b):
        jsonschema.validate(json.loads(g.text()), schema)
    # without a schema nothing is added, marker or not
    q = [{"role": "user", "content": "What is a token?"}]
    assert with_marker.generate(q, SamplingParams(max_tokens=4)).prompt_tokens == len(plain.tok.render_chat(q))
