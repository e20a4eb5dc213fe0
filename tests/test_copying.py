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


CONTACT = ToolSpec("save_contact", "Save a contact.",
                   {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                    "required": ["name", "age"]})


@pytest.mark.parametrize("age", [31, 7, 250])
def test_a_number_copied_whole_ends_where_the_users_number_ends(engine, age):
    """A bare value has no closing quote: once the user's number is copied whole, no digit of the
    network's own runs on into it ("31" had become 3196924250)."""
    g = engine.generate([{"role": "user", "content": f"Save Sofia Perez, she is {age} and lives in Lima."}],
                        SamplingParams(temperature=0, max_tokens=80, tools=[CONTACT], tool_choice="required"))
    g.text()
    assert g.tool_calls
    assert g.tool_calls[0]["arguments"]["age"] == age


ADD = ToolSpec("add_two_numbers", "Add two numbers",
               {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"]})


@pytest.mark.parametrize("question, n", [("What is 10 + 10?", 10), ("¿Cuánto es 8 + 8?", 8)])
def test_a_word_the_sources_say_twice_can_be_copied_twice(engine, question, n):
    """A copy does not begin again with a word the reply already has ("0 0 0 0"), unless the
    sources say it that often: 10 + 10 is add(10, 10)."""
    g = engine.generate([{"role": "user", "content": question}],
                        SamplingParams(temperature=0, max_tokens=80, tools=[ADD], tool_choice="required"))
    g.text()
    assert g.tool_calls and g.tool_calls[0]["arguments"] == {"a": n, "b": n}


@pytest.mark.parametrize("question, numbers", [("Add seven and nine", [7, 9]), ("¿Cuánto es tres más cinco?", [3, 5])])
def test_a_number_said_in_words_is_copied_as_a_number(engine, question, numbers):
    """An integer argument is written in digits: "seven" in the question is a 7 to copy."""
    g = engine.generate([{"role": "user", "content": question}],
                        SamplingParams(temperature=0, max_tokens=80, tools=[ADD], tool_choice="required"))
    g.text()
    assert g.tool_calls and sorted(g.tool_calls[0]["arguments"].values()) == numbers


# -- hostile values: quotes, backslashes, newlines, unicode in what the user asks -----------------
SEARCH = ToolSpec("search", "Search the web for a phrase",
                  {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]})
HOSTILE = ['Search for the phrase "hello world"',
           'Search for "Tom \\"the cat\\" Jones" and C:\\temp\\new.txt',
           'Search for line one\nline two\t"quoted"\r\nend \\n not a newline',
           'Search for «café» and 東京 and "naïve" 🙂',
           'Search for \\"escaped\\" and \\\\ back\\',
           'Search for }"]} and {"query": "x"} then \\u0022 and \\ud800']


def test_a_call_copies_json_escaped_never_raw():
    """Inside a call's string a copy is the JSON text of the source (a quote `\\"`, a backslash
    `\\\\`); in an answer it is the text itself."""
    from llmkit.engine import get_engine

    tok = get_engine().tok
    c = copying.Copier(tok, ['Find "Tom \\ Jones" now'])
    texts = {tok.decode(list(seq)) for seq, *_ in c.tables[True].seqs}
    assert '\\"Tom \\\\ Jones\\"' in texts and "Tom \\\\ Jones" in texts
    assert not any('"' in t.replace('\\"', "") for t in texts)  # never a bare quote that would end the string
    raw = {tok.decode(list(seq)) for seq, *_ in c.tables[False].seqs}
    assert "Tom" in raw and "Jones" in raw and not any('"' in t for t in raw)  # an answer copies words and names
    assert copying.json_text('a"b\\c\n\té') == 'a\\"b\\\\c\\n\\té'


def test_an_escaped_quote_can_be_written_and_a_copied_escape_is_the_quote(engine):
    """A value begins with the quoted phrase's words, and the network may still open it with an
    escaped quote (the grammar and the copy leave it its probability): an escape so begun is
    finished as the quote (not `\\n`, the escape the network knows best) and the phrase is carried
    on, its closing quote too."""
    tok = engine.tok
    c = copying.Copier(tok, ['Search for the phrase "hello world"'])
    probs = np.full(tok.vocab_size, 1.0 / tok.vocab_size)
    slash, quote, hello = tok.encode("\\")[0], tok.encode('"')[0], tok.encode("hello")[0]
    out = c(probs, [], '{"query": "', in_call=True)
    assert out[hello] > 0.5 and out[slash] > 0
    after = c(probs, [slash], '{"query": "\\', in_call=True)
    assert after[quote] == pytest.approx(1.0)
    ids = tok.encode('\\"hello world')
    nxt = c(probs, ids, '{"query": "\\"hello world', in_call=True)
    assert nxt[slash] > 0.5  # the closing escaped quote
    ids = tok.encode('\\"hello world\\"')
    end = c(probs, ids, '{"query": "\\"hello world\\"', in_call=True)
    assert end[~copying._closing(tok)].sum() == 0  # then the string closes: the phrase is not begun again


@pytest.mark.parametrize("question", HOSTILE)
def test_hostile_values_give_valid_json_arguments(engine, question):
    """Whatever the user's words hold, every call's arguments are valid JSON for the schema, the
    streamed tokens are that JSON, and the value is text the model wrote or copied whole."""
    runs = [dict(temperature=0)] + [dict(temperature=1.0, seed=s) for s in range(4)]
    for choice in ("required", {"name": "search"}):
        for kw in runs:
            g = engine.generate([{"role": "user", "content": question}],
                                SamplingParams(max_tokens=80, tools=[SEARCH, WEATHER], tool_choice=choice, **kw))
            toks = list(g)
            assert g.finish_reason in ("tool_calls", "length")
            for i, call in enumerate(g.tool_calls):
                text = "".join(t.text for t in toks if t.tool_call == i)
                assert json.loads(text) == call["arguments"]
                jsonschema.validate(call["arguments"], {"search": SEARCH, "get_weather": WEATHER}[call["name"]].parameters)
                assert not any(ord(ch) < 32 and ch not in "\n\t\r" for v in call["arguments"].values() for ch in v)


def test_a_quoted_phrase_is_copied_whole(engine):
    """What the user put in quotes is the value: whole (its words past the first too), with or
    without its quotes; unicode copied through characters split across tokens."""
    for question, want in [('Search for the phrase "hello world"', "hello world"),
                           ('Search for the word "naïve" please', "naïve"),
                           ('Busca «Valparaíso de noche» en la web', "Valparaíso de noche")]:
        g = engine.generate([{"role": "user", "content": question}],
                            SamplingParams(temperature=0, max_tokens=60, tools=[SEARCH], tool_choice="required"))
        g.text()
        assert g.tool_calls and g.tool_calls[0]["arguments"]["query"] in (want, f'"{want}"'), g.tool_calls


# -- one call per item the user listed ----------------------------------------------------------
@pytest.mark.parametrize("text, want", [
    ("What's the weather like in San Francisco, Tokyo, and Paris?", [["San Francisco", "Tokyo", "Paris"]]),
    ("What's the weather in Paris and in Tokyo?", [["Paris", "Tokyo"]]),
    ("¿Qué tiempo hace en Madrid, Quito y en Lima?", [["Madrid", "Quito", "Lima"]]),
    ("Is it warmer in Lima or in La Paz?", [["Lima", "La Paz"]]),
    ("Tell me about Rio de Janeiro and Ciudad de México", [["Rio de Janeiro", "Ciudad de México"]]),
    ("What's the weather in San Francisco, CA?", []),  # a place and its state: no conjunction, no list
    ("Weather in Paris, France and Tokyo, Japan", []),  # pairs, not one list: the model decides
    ("What is 10 minus 4 and 6 plus 6?", []),  # numbers are operands, not items
    ("I like Paris and I love Tokyo", []),  # "I" is no item
])
def test_listed_finds_what_the_user_coordinated(text, want):
    assert copying.listed(text) == want


def test_uncovered_wants_one_call_per_item_and_only_then():
    lists = [["San Francisco", "Tokyo", "Paris"]]
    one = ("get_weather", {"city": "Paris", "unit": "celsius"})
    assert copying.uncovered(lists, [one])
    assert copying.uncovered(lists, [one, ("get_weather", {"city": "tokyo"})])
    assert not copying.uncovered(lists, [one, ("get_weather", {"city": "Tokyo"}), ("get_weather", {"city": "San Francisco, CA"})])
    assert not copying.uncovered(lists, [("get_weather", {"city": "Paris and Tokyo"})])  # one call asked for two
    assert not copying.uncovered(lists, [one, ("search", {"query": "Tokyo"})])  # two tools: the model's plan
    assert not copying.uncovered(lists, [("get_weather", {"city": "Berlin"})])  # not the list's
    assert not copying.uncovered([], [one])


UNIT_WEATHER = ToolSpec("get_current_weather", "Get the current weather in a given location", {
    "type": "object", "properties": {"location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                                     "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["location"]})


@pytest.mark.parametrize("question, places", [
    ("What's the weather like in San Francisco, Tokyo, and Paris?", {"San Francisco", "Tokyo", "Paris"}),  # OpenAI cookbook
    ("¿Qué tiempo hace en Madrid, Quito y Lima?", {"Madrid", "Quito", "Lima"}),
])
def test_a_listed_item_each_gets_its_call(engine, question, places):
    """The network wrote a second call for two cities (training's parallel case) and ended after one for
    three, or with a second argument; a call per city the user listed, each city once, at any temperature,
    the streamed tokens being the calls' JSON. Without parallel calls, still one."""
    for kw in [dict(temperature=0)] + [dict(temperature=1.0, seed=s) for s in range(4)]:
        g = engine.generate([{"role": "user", "content": question}],
                            SamplingParams(max_tokens=300, tools=[UNIT_WEATHER], tool_choice="required", **kw))
        toks = list(g)
        assert g.finish_reason == "tool_calls"
        assert sorted(c["arguments"]["location"] for c in g.tool_calls) == sorted(places), (kw, g.tool_calls)
        for i, call in enumerate(g.tool_calls):
            jsonschema.validate(call["arguments"], UNIT_WEATHER.parameters)
            assert json.loads("".join(t.text for t in toks if t.tool_call == i)) == call["arguments"]
    g = engine.generate([{"role": "user", "content": question}],
                        SamplingParams(temperature=0, max_tokens=300, tools=[UNIT_WEATHER], tool_choice="required",
                                       parallel_tool_calls=False))
    g.text()
    assert len(g.tool_calls) == 1 and g.tool_calls[0]["arguments"]["location"] in places
