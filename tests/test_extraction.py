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
