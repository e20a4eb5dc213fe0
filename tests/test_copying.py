"""Copying from the conversation (engine/copying.py): a call's arguments take the user's words,
the answer after a result takes the result's values; the grammar still holds."""

import json

import jsonschema
import numpy as np
import pytest

from llmkit.engine import copying, transformer
from llmkit.engine.base import SamplingParams, ToolSpec

WEATHER = ToolSpec("get_weather", "Get the current weather for a city",
                   {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})


@pytest.fixture(scope="module")
def engine():
    return transformer.get("transformer-v3")


def test_sources_are_the_question_or_the_results_values():
    msgs = [{"role": "user", "content": "Weather in Quito?"}]
    assert copying.sources(msgs) == ["Weather in Quito?"]
    msgs += [{"role": "assistant", "content": None, "tool_calls": [{"id": "c", "name": "w", "arguments": {}}]},
             {"role": "tool", "tool_call_id": "c", "name": "w", "content": json.dumps({"city": "Quito", "temp": 13})}]
    assert copying.sources(msgs) == ["Quito", "13"]  # values, not keys


def test_copy_only_moves_probability_the_network_and_grammar_allow(engine):
    c = copying.Copier(engine.tok, ["What's the weather in Reykjavik?"])
    rng = np.random.default_rng(0)
    probs = rng.random(engine.tok.vocab_size)
    probs[::3] = 0.0  # masked by a grammar
    probs /= probs.sum()
    out = c(probs, [], ' "arguments": {"city": "', in_call=True)
    assert np.all(out[probs == 0] == 0) and out.sum() == pytest.approx(1.0)
    first = engine.tok.encode("Reykjavik")[0]
    if probs[first] > 0:
        assert out[first] > probs[first]
    assert np.array_equal(c(probs, [], "It is", in_call=False), probs)  # a plain answer: nothing copied


@pytest.mark.parametrize("city", ["Reykjavik", "Valparaíso", "Lima"])
def test_call_arguments_copy_a_city_from_the_question(engine, city):
    q = f"What's the weather in {city}?" if city != "Valparaíso" else f"¿Qué tiempo hace en {city}?"
    g = engine.generate([{"role": "user", "content": q}],
                        SamplingParams(temperature=0, max_tokens=40, tools=[WEATHER], tool_choice="required"))
    g.text()
    assert g.tool_calls and g.tool_calls[0]["arguments"] == {"city": city}
    jsonschema.validate(g.tool_calls[0]["arguments"], WEATHER.parameters)
