"""Whether a tool call is due (engine/decision.py): the training conversations' neighbours, mixed with the
network's own probability at the first step, through the real offline model and the Ollama SDK's README."""

import json

import pytest

from llmkit.engine import decision, transformer
from llmkit.engine.base import SamplingParams, ToolSpec

TWO = {"type": "object", "required": ["a", "b"],
       "properties": {"a": {"type": "integer", "description": "The first number"},
                      "b": {"type": "integer", "description": "The second number"}}}
# as the ollama SDK builds it from the README's Python function: its whole docstring is the description
ADD = ToolSpec("add_two_numbers", "Add two numbers\n\nArgs:\n  a (int): The first number\n  b (int): The second number\n\n"
               "Returns:\n  int: The sum of the two numbers", TWO)
SUBTRACT = ToolSpec("subtract_two_numbers", "Subtract two numbers", TWO)
WEATHER = ToolSpec("get_weather", "Get the current weather in a city",
                   {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})


@pytest.fixture(scope="module")
def engine():
    return transformer.get("transformer-v3")


def test_the_committed_pairs_are_the_generator_s():
    """`python -m llmkit.engine.decision` writes the file from corpus/tools_gen.py: run it after changing either."""
    assert json.loads(decision.FILE.read_text(encoding="utf-8")) == json.loads(decision._dump(decision._build()))


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.mark.parametrize("question, tools", [
    ("What is three plus one?", [ADD, SUBTRACT]),  # the Ollama README: the network alone gave a call 0.002
    ("¿Cuánto es siete más dos?", [ADD]),
    ("What's the weather like in Reykjavik?", [WEATHER]),
    ("¿Qué tiempo hace en Lima?", [WEATHER, ADD]),
])
def test_a_question_a_tool_answers_has_a_high_prior(question, tools):
    assert decision.call_prior(ask(question), tools) > 0.6


@pytest.mark.parametrize("question, tools", [
    ("Tell me a joke", [WEATHER]),  # a course question: text whatever the tools
    ("What is Docker?", [WEATHER, ADD]),
    ("Explica qué es una API", [ADD]),
    ("What's the weather in Paris?", [ADD, SUBTRACT]),  # the tool for it is not offered
])
def test_a_question_no_offered_tool_answers_has_a_low_prior(question, tools):
    assert decision.call_prior(ask(question), tools) < 0.3


def test_no_prior_where_the_data_has_nothing_to_say():
    rocket = ToolSpec("launch_rocket", "Launch the rocket to orbit", {"type": "object", "properties": {"stage": {"type": "integer"}}})
    assert decision.call_prior(ask("Launch it now"), [rocket]) is None  # no training tool is like it
    assert decision.call_prior(ask("What is 3 plus 1?"), []) is None
    assert decision.call_prior(ask("   "), [ADD]) is None
    # the turn after a result is the result's answer (results.py), not this decision
    assert decision.call_prior([*ask("What is 3 plus 1?"), {"role": "tool", "content": "4"}], [ADD]) is None


def test_the_ollama_readme_question_gets_its_call(engine):
    """The README's "What is three plus one?" calls add_two_numbers with 3 and 1 (in either order: a sum), at
    temperature 0 and sampled."""
    for kw in [dict(temperature=0)] + [dict(temperature=0.8, seed=s) for s in range(4)]:
        g = engine.generate(ask("What is three plus one?"),
                            SamplingParams(max_tokens=60, tools=[ADD, SUBTRACT], tool_choice="auto", **kw))
        g.text()
        assert [(c["name"], sorted(c["arguments"].values())) for c in g.tool_calls] == [("add_two_numbers", [1, 3])], kw


def test_a_course_question_with_tools_offered_is_answered_in_text(engine):
    for question in ["Tell me a joke", "What is Docker?"]:
        for kw in [dict(temperature=0)] + [dict(temperature=1.0, seed=s) for s in range(4)]:
            g = engine.generate(ask(question), SamplingParams(max_tokens=40, tools=[WEATHER, ADD], tool_choice="auto", **kw))
            assert g.text().strip() and not g.tool_calls, (question, kw)


def test_the_prior_only_mixes_with_auto(engine):
    """"none" never calls and "required" always does, whatever the prior."""
    g = engine.generate(ask("What is three plus one?"), SamplingParams(temperature=0, max_tokens=30, tools=[ADD],
                                                                        tool_choice="none"))
    assert g.text().strip() and not g.tool_calls
    g = engine.generate(ask("Tell me a joke"), SamplingParams(temperature=0, max_tokens=60, tools=[WEATHER],
                                                               tool_choice="required"))
    g.text()
    assert g.tool_calls and g.tool_calls[0]["name"] == "get_weather"


@pytest.mark.parametrize("question, want", [("What is 10 minus 4?", "subtract_two_numbers"),
                                            ("¿Cuánto es 9 menos 3?", "subtract_two_numbers"),
                                            ("Add 12 and 30", "add_two_numbers")])
def test_the_call_names_the_tool_the_question_asks_for(engine, question, want):
    """Each tool's prior goes to the tokens that spell its name (tools.CallWriter.name_step), whichever order
    the tools come in, with "auto" and "required"."""
    priors = decision.tool_priors(ask(question), [ADD, SUBTRACT])
    assert max(priors, key=priors.get) == want
    for offered in ([ADD, SUBTRACT], [SUBTRACT, ADD]):
        for choice in ("auto", "required"):
            g = engine.generate(ask(question), SamplingParams(temperature=0, max_tokens=80, tools=offered, tool_choice=choice))
            g.text()
            assert [c["name"] for c in g.tool_calls] == [want], (offered[0].name, choice, g.tool_calls)
