"""Which phrase goes under which key in an extraction (engine/extraction.py), through the real offline model:
the openai SDK's README example (CalendarEvent) among others."""

import json

import jsonschema
import pytest

from llmkit.engine import extraction, transformer
from llmkit.engine.base import SamplingParams

EVENT = {"type": "object", "properties": {"name": {"type": "string"}, "date": {"type": "string"},
                                          "participants": {"type": "array", "items": {"type": "string"}}},
         "required": ["name", "date", "participants"], "additionalProperties": False}


@pytest.fixture(scope="module")
def engine():
    return transformer.get("transformer-v3")


@pytest.mark.parametrize("text, want", [
    ("Alice and Bob are going to a science fair on Friday.",
     {"name": "science fair", "date": "Friday", "participants": ["Alice", "Bob"]}),
    ("Alice, Bob and Carol are going to a hackathon on Saturday.",  # three, where the pattern had two
     {"name": "hackathon", "date": "Saturday", "participants": ["Alice", "Bob", "Carol"]}),
    ("Priya and Kenji will attend the robotics workshop on June 2.",  # names and an event never seen
     {"name": "robotics workshop", "date": "June 2", "participants": ["Priya", "Kenji"]}),
    ("Ana y Luis van a la feria de ciencias el viernes. Extrae la información en JSON.",  # an instruction after
     {"name": "feria de ciencias", "date": "viernes", "participants": ["Ana", "Luis"]}),
])
def test_a_sentence_a_training_pattern_matches_gives_each_key_its_phrase(text, want):
    assert extraction.values(text, EVENT) == want


def test_keys_are_read_by_field_and_unknown_keys_get_nothing():
    schema = {"type": "object", "properties": {"title": {"type": "string"}, "when": {"type": "string"},
                                               "mood": {"type": "string"}}}
    assert extraction.values("Alice and Bob are going to a science fair on Friday.", schema) == \
        {"title": "science fair", "when": "Friday"}
    assert extraction.values("What is the capital of France?", EVENT) == {}
    assert extraction.values("", EVENT) == {} and extraction.values("Alice and Bob", {"type": "string"}) == {}


@pytest.mark.parametrize("temperature, seed", [(0, None), (1, 1), (1, 2), (1, 3)])
def test_the_openai_readme_calendar_event_is_extracted(engine, temperature, seed):
    msgs = [{"role": "system", "content": "Extract the event information."},
            {"role": "user", "content": "Alice and Bob are going to a science fair on Friday."}]
    g = engine.generate(msgs, SamplingParams(temperature=temperature, seed=seed, max_tokens=100, json_schema=EVENT))
    got = json.loads(g.text())
    assert got == {"name": "science fair", "date": "Friday", "participants": ["Alice", "Bob"]}


def test_a_key_no_pattern_gives_is_still_the_network_s_and_valid(engine):
    schema = {"type": "object", "properties": {**EVENT["properties"], "location": {"type": "string"}},
              "required": ["name", "date", "participants", "location"], "additionalProperties": False}
    msgs = [{"role": "user", "content": "Alice and Bob are going to a science fair on Friday."}]
    got = json.loads(engine.generate(msgs, SamplingParams(temperature=0, max_tokens=120, json_schema=schema)).text())
    jsonschema.validate(got, schema)
    assert got["name"] == "science fair" and got["participants"] == ["Alice", "Bob"]


def test_a_long_text_is_no_pattern_s_sentence():
    assert extraction.values("Alice and Bob are going to a science fair on Friday. " * 10, EVENT) == {}
    assert extraction.values(" and " * 70 + " are going to a " * 5, EVENT) == {}


# -- an array of records with a name (Ollama's README FriendList) ---------------------------------
FRIEND = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                           "is_available": {"type": "boolean"}},
          "required": ["name", "age", "is_available"]}
FRIENDS = {"type": "object", "properties": {"friends": {"type": "array", "items": FRIEND}}, "required": ["friends"]}
README_FRIENDS = ("I have two friends. The first is Ollama 22 years old busy saving the world, and the second is Alonso "
                  "23 years old and wants to hang out. Return a list of friends in JSON format")


@pytest.mark.parametrize("text, want", [
    (README_FRIENDS, [{"name": "Ollama", "age": "22"}, {"name": "Alonso", "age": "23"}]),
    ("My team: Priya, 31, on call; Ana María, 7, on holiday; and Kenji who is 45.",  # a form no training row has
     [{"name": "Priya", "age": "31"}, {"name": "Ana María", "age": "7"}, {"name": "Kenji", "age": "45"}]),
    ("Tengo dos amigos: Pedro de 53 años y Marta de 34 años.", [{"name": "Pedro", "age": "53"}, {"name": "Marta", "age": "34"}]),
    ("Tom and Ana are friends, Tom is 30 years and 2 months.", []),  # a name twice: which record is which is not told
    ("Return a list of friends in JSON format.", []),  # no name: the sentence's first word and JSON are none
])
def test_records_one_per_name_with_the_numbers_after_it(text, want):
    assert extraction.records(text, FRIENDS["properties"]["friends"]) == want


def test_records_need_a_name_key_and_an_array_of_objects():
    assert extraction.records(README_FRIENDS, {"type": "array", "items": {"type": "string"}}) == []
    assert extraction.records(README_FRIENDS, {"type": "array", "items": {
        "type": "object", "properties": {"age": {"type": "integer"}}}}) == []
    # a number key the segment does not hold as many numbers for is left to the network
    spec = {"type": "array", "items": {"type": "object", "properties": {
        "nombre": {"type": "string"}, "edad": {"type": "integer"}, "altura": {"type": "number"}}}}
    assert extraction.records("Mis amigos: Pedro de 53 años; Marta de 34 años y 1.62 m.", spec) == \
        [{"nombre": "Pedro"}, {"nombre": "Marta", "edad": "34", "altura": "1.62"}]


# as pydantic writes FriendList.model_json_schema(), which the README passes: the items a `$ref`
PYDANTIC_FRIENDS = {"$defs": {"FriendInfo": {**FRIEND, "title": "FriendInfo"}}, "title": "FriendList", "type": "object",
                    "properties": {"friends": {"items": {"$ref": "#/$defs/FriendInfo"}, "title": "Friends", "type": "array"}},
                    "required": ["friends"]}


@pytest.mark.parametrize("schema", [FRIENDS, PYDANTIC_FRIENDS], ids=["inline", "pydantic"])
@pytest.mark.parametrize("temperature, seed", [(0, None), (1, 1), (1, 2), (1, 3)])
def test_the_ollama_readme_friend_list_is_extracted(engine, schema, temperature, seed):
    """Ollama's README structured output: two records, each with its own name and age (whether each friend is
    available stays the network's reading)."""
    g = engine.generate([{"role": "user", "content": README_FRIENDS}],
                        SamplingParams(temperature=temperature, seed=seed, max_tokens=200, json_schema=schema))
    got = json.loads(g.text())
    jsonschema.validate(got, schema)
    assert [(f["name"], f["age"]) for f in got["friends"]] == [("Ollama", 22), ("Alonso", 23)]


# the openai SDK's examples/parsing.py: MathResponse, as pydantic writes it
MATH = {"$defs": {"Step": {"properties": {"explanation": {"title": "Explanation", "type": "string"},
                                          "output": {"title": "Output", "type": "string"}},
                           "required": ["explanation", "output"], "title": "Step", "type": "object"}},
        "properties": {"steps": {"items": {"$ref": "#/$defs/Step"}, "title": "Steps", "type": "array"},
                       "final_answer": {"title": "Final Answer", "type": "string"}},
        "required": ["steps", "final_answer"], "title": "MathResponse", "type": "object"}


def test_a_request_for_the_model_s_own_work_is_not_data_to_copy(engine):
    """"solve 8x + 31 = 2" asks for the model's work: its values are the model's answer (a 6M-parameter model's
    honest "I don't know that"), not phrases copied from the request ("final_answer": "8x" had been)."""
    from llmkit.engine import copying

    for text in ["solve 8x + 31 = 2", "Please explain recursion", "Resuelve 2x = 4", "Write a haiku about rain"]:
        assert copying.asks([{"role": "user", "content": text}]), text
    for text in ["Alice and Bob are going to a science fair on Friday.", README_FRIENDS, "Solveig, 31, lives in Oslo."]:
        assert not copying.asks([{"role": "user", "content": text}]), text
    msgs = [{"role": "system", "content": "You are a helpful math tutor."}, {"role": "user", "content": "solve 8x + 31 = 2"}]
    got = json.loads(engine.generate(msgs, SamplingParams(temperature=0, max_tokens=200, json_schema=MATH)).text())
    jsonschema.validate(got, MATH)
    assert "8x" not in got["final_answer"] and "know" in got["final_answer"], got
