"""The answer after a tool result (engine/results.py): delexicalised training answers, filled with the live
result's values, through the real offline model. The shapes are those of the SDKs' own examples."""

import json

import pytest

from llmkit.engine import results, transformer
from llmkit.engine.base import SamplingParams, ToolSpec


@pytest.fixture(scope="module")
def engine():
    return transformer.get("transformer-v3")

S, I = {"type": "string"}, {"type": "integer"}


def spec(name, desc, props):
    return ToolSpec(name=name, description=desc, parameters={"type": "object", "properties": props,
                                                            "required": list(props)})


def round_trip(question, tool, args, result):
    return [{"role": "user", "content": question},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "name": tool.name,
                                                                 "arguments": json.dumps(args)}]},
            {"role": "tool", "tool_call_id": "c1", "name": tool.name, "content": result}]


def test_the_committed_templates_are_the_generator_s():
    """`python -m llmkit.engine.results` writes the file from corpus/tools_gen.py: run it after changing either."""
    assert results._load(results.FILE.read_text(encoding="utf-8")) == results._build()


def test_a_template_copies_every_number_it_says():
    assert all(not any(c.isdigit() for p in t.parts for c in p) for t in results.templates())
    # a number the training answer says that its result does not: no template
    assert results.delexicalise("It is 18 °C in Paris.", {"temperature": "20", "@city": "Paris"}, "en") is None
    t = results.delexicalise("It is 18 °C in Paris.", {"temperature": "18", "unit": "celsius", "@city": "Paris"}, "en")
    assert t.parts == ("It is ", " °C in ", ".") and t.fixed == (("unit", "celsius"),)


W = ({"name": "get_weather", "description": "Get the current weather in a city."}, {"city": "Paris"})


@pytest.mark.parametrize("tool, args, result, question, lang, want", [
    # the Ollama SDK's README: add_two_numbers, its result sent as str()
    ({"name": "add_two_numbers", "description": "Add two numbers"}, {"a": 3, "b": 1}, "4", "What is three plus one?",
     "en", "3 + 1 = 4."),
    ({"name": "calculate", "description": "Evaluate a mathematical expression"}, {"expression": "25 * 4 + 10"},
     json.dumps({"result": 110}), "What is 25 * 4 + 10?", "en", "25 * 4 + 10 = 110."),  # Groq's docs
    (*W, json.dumps({"temperature": 18, "unit": "celsius"}), "What's the weather in Paris?", "en", "It is 18 °C in Paris."),
    (*W, json.dumps({"city": "Paris", "temperature": 18, "unit": "°C", "condition": "sunny"}),
     "What's the weather in Paris?", "en", "It is 18 °C and sunny in Paris."),
    # OpenAI's cookbook: location, temperature as a string, Fahrenheit
    ({"name": "get_current_weather", "description": "Get the current weather in a given location"},
     {"location": "San Francisco, CA"}, json.dumps({"location": "San Francisco", "temperature": "72", "unit": "fahrenheit"}),
     "What's the weather like in San Francisco?", "en", "It is 72 °F in San Francisco."),
    (*W, json.dumps({"temperature": 25, "condition": "sunny"}), "¿Qué tiempo hace en París?", "es",
     "En Paris hace 25 °C y está soleado."),
    ({"name": "get_book", "description": "Look up a book"}, {"title": "Don Quixote"},
     json.dumps({"title": "Don Quixote", "author": "Miguel de Cervantes", "year": 1605}), "Who wrote Don Quixote?", "en",
     "Don Quixote was written by Miguel de Cervantes."),
    (*W, json.dumps({"error": "unknown city: Atlantis"}), "What's the weather in Atlantis?", "en",
     "Sorry, I couldn't get the weather for Paris: the service said \"unknown city: Atlantis\"."),
])
def test_a_result_is_said_with_its_own_values(tool, args, result, question, lang, want):
    assert results.answer(result, args, tool, question, lang) == want


@pytest.mark.parametrize("result", [
    json.dumps({"temperature": 18, "unit": "kelvin"}),  # a unit no answer says: not "°C"
    json.dumps({"humidity": 80, "wind_kph": 12}),  # keys no weather answer has
    json.dumps({"sky": "sunny", "wind": "strong"}),  # two words no answer has
])
def test_a_result_no_template_fits_is_left_to_the_network(result):
    assert results.answer(result, *W[::-1], "What's the weather in Paris?", "en") is None


def test_a_weather_result_is_never_said_as_a_time():
    """A plain-text time ("14:30") and a weather string share a template's shape; the tool says which family."""
    got = results.answer("14:30", {"city": "Paris"}, {"name": "get_time", "description": "Current local time in a city"},
                         "What time is it in Paris?", "en")
    assert got == "It is 14:30 in Paris."
    # said as what "it" is, not as a time in Paris
    assert results.answer("22 degrees, partly cloudy", *W[::-1], "What's the weather in Paris?", "en") \
        == "It is 22 degrees, partly cloudy."


@pytest.mark.parametrize("result, lang, want", [
    (json.dumps({"result": "sunny"}), "en", "It is sunny."),  # google-genai's README: get_current_weather -> "sunny"
    ("soleado", "es", "Está soleado."),
])
def test_one_short_value_no_template_has_is_said_as_what_it_is(result, lang, want):
    tool = {"name": "get_current_weather", "description": "Returns the current weather."}
    assert results.answer(result, {"location": "Boston"}, tool, "What is the weather like in Boston?", lang) == want


@pytest.mark.parametrize("temperature", [0, 1])
def test_the_engine_answers_after_a_result_with_the_template(engine, temperature):
    tool = spec("add_two_numbers", "Add two numbers", {"a": I, "b": I})
    for _ in range(3 if temperature else 1):
        g = engine.generate(round_trip("What is three plus one?", tool, {"a": 3, "b": 1}, "4"),
                            SamplingParams(temperature=temperature, max_tokens=30, tools=[tool]))
        assert g.text() == "3 + 1 = 4." and not g.tool_calls


def test_a_required_call_after_a_result_is_still_a_call(engine):
    tool = spec("get_weather", "Get the current weather in a city.", {"city": S})
    msgs = round_trip("What's the weather in Paris?", tool, {"city": "Paris"}, json.dumps({"temperature": 18}))
    g = engine.generate(msgs, SamplingParams(temperature=0, max_tokens=40, tools=[tool], tool_choice="required"))
    g.text()
    assert g.tool_calls and g.tool_calls[0]["name"] == "get_weather"


def test_a_huge_result_fits_no_template():
    """No training result has thousands of characters or dozens of values: nothing to fill, nothing to say."""
    assert results.answer(json.dumps({"result": "y" * 5000}), {"city": "Paris"}, W[0], "Weather?", "en") is None
    assert results.answer(json.dumps({f"k{i}": i for i in range(100)}), {"city": "Paris"}, W[0], "Weather?", "en") is None
    assert results.answer(json.dumps({"result": "y" * 200}), {"city": "Paris"}, W[0], "Weather?", "en") is None


def test_a_template_says_no_number_in_words():
    """"What is sixteen times six?" was answered "Sixteen times six is 96.": delexicalised, a template that said
    the question's numbers as words, which a result of 4 for another question had filled ("Sixteen times six is 4.")."""
    assert not any(results._words(" ".join(t.parts)) & results._NUMBER_WORDS for t in results.templates())
    assert results.answer("4", None, {"name": "f"}, "hi", "en") == "The result is 4."
