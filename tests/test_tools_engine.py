"""Tool calling in the offline engine (engine/tools.py): the grammar masks, the network writes.

Engine level, no HTTP: "required" and a named tool give arguments valid for the tool's schema
every time (many seeds, temperature 1), "none" gives text, bad tool definitions are
EngineInputErrors naming the field, a call's tokens concatenate to its arguments JSON, and the
scheduler's batched path behaves as the plain one. Whether "auto" decides well depends on
training: bench/tools.py measures that.
"""

from __future__ import annotations

import json
import random
import re

import jsonschema
import numpy as np
import pytest

from llmkit.engine import EngineInputError, SamplingParams, ToolSpec, corpus, get_engine, scheduler, tools

WEATHER = ToolSpec("get_weather", "Get the current weather in a city.",
                   {"type": "object", "properties": {"city": {"type": "string"},
                                                     "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                    "required": ["city"]})
CURRENCY = ToolSpec("convert_currency", "Convert an amount of money from one currency to another.",
                    {"type": "object", "properties": {"amount": {"type": "number", "minimum": 0},
                                                      "from_currency": {"type": "string", "maxLength": 3},
                                                      "to_currency": {"type": "string", "maxLength": 3}},
                     "required": ["amount", "from_currency", "to_currency"]})
ORDER = ToolSpec("place_order", "Order items from the shop.",
                 {"type": "object", "properties": {
                     "items": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
                     "quantity": {"type": "integer", "minimum": 1, "maximum": 10},
                     "express": {"type": "boolean"},
                     "address": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
                  "required": ["items", "quantity"]})
TOOLS = [WEATHER, CURRENCY, ORDER]
SCHEMAS = {t.name: t.parameters for t in TOOLS}
ASK = [{"role": "user", "content": "What's the weather like in Paris?"}]


@pytest.fixture(scope="module")
def engine():
    return get_engine()


@pytest.fixture(params=["plain", "scheduler"])
def path(request, monkeypatch):
    """Both ways a generation runs: alone (LLMKIT_SCHEDULER=0) and batched by the scheduler."""
    monkeypatch.setenv("LLMKIT_SCHEDULER", "0" if request.param == "plain" else "1")
    assert scheduler.enabled() == (request.param == "scheduler")
    return request.param


def run(engine, messages, **kw):
    gen = engine.generate(messages, SamplingParams(**kw))
    toks = list(gen)
    return gen, toks


def check_call_reply(gen, toks, allowed: set[str]):
    """A reply that called tools: finish reason, ids, names, schema-valid arguments, and the
    tokens telling the same story (name on each call's first token, texts = the arguments JSON)."""
    assert gen.finish_reason == "tool_calls", (gen.finish_reason, toks)
    assert gen.tool_calls, toks
    assert all(t.tool_call is not None for t in toks), "a reply is either text or calls"
    ids = [c["id"] for c in gen.tool_calls]
    assert len(set(ids)) == len(ids) and all(i.startswith("call_") and len(i) == 29 for i in ids)
    for i, call in enumerate(gen.tool_calls):
        assert call["name"] in allowed
        jsonschema.validate(call["arguments"], SCHEMAS[call["name"]])
        mine = [t for t in toks if t.tool_call == i]
        assert mine[0].tool_name == call["name"] and all(t.tool_name is None for t in mine[1:])
        text = "".join(t.text for t in mine)
        assert json.loads(text) == call["arguments"]
        assert text == tools.dumps(call["arguments"])  # the layout the model writes: json.dumps'
    assert {t.tool_call for t in toks} == set(range(len(gen.tool_calls)))


@pytest.mark.parametrize("choice", ["required", {"name": "place_order"}, {"name": "convert_currency"}])
def test_required_and_named_give_schema_valid_arguments_for_every_seed(engine, path, choice):
    allowed = {t.name for t in TOOLS} if choice == "required" else {choice["name"]}
    for seed in range(6):
        gen, toks = run(engine, ASK, tools=TOOLS, tool_choice=choice, seed=seed, temperature=1.0)
        check_call_reply(gen, toks, allowed)


def test_auto_gives_either_text_or_valid_calls(engine, path):
    for seed in range(4):
        gen, toks = run(engine, ASK, tools=TOOLS, tool_choice="auto", seed=seed, max_tokens=80)
        if gen.tool_calls:
            check_call_reply(gen, toks, {t.name for t in TOOLS})
        else:
            assert gen.finish_reason in ("stop", "length")
            assert all(t.tool_call is None for t in toks) and "".join(t.text for t in toks).strip()


def test_none_gives_text(engine, path):
    for seed in range(4):
        gen, toks = run(engine, ASK, tools=TOOLS, tool_choice="none", seed=seed, max_tokens=40)
        assert gen.tool_calls == [] and gen.finish_reason in ("stop", "length")
        assert all(t.tool_call is None and t.tool_name is None for t in toks)
        assert not "".join(t.text for t in toks).startswith("<")


def test_without_tools_no_reply_writes_the_call_marker(engine):
    """A model that learned calls still has no tool to call when none is given: sampled at
    temperature 1, about 4 replies in 100 to such questions had written `<tool_call>` as text."""
    for ask in (ASK, [{"role": "user", "content": "Add 3 and 4."}]):
        for seed in range(25):
            text = engine.generate(ask, SamplingParams(temperature=1.0, max_tokens=12, seed=seed)).text()
            assert "<tool" not in text, (seed, text)


def test_the_same_seed_gives_the_same_call_on_both_paths(engine, monkeypatch):
    got = []
    for flag in ("0", "1"):
        monkeypatch.setenv("LLMKIT_SCHEDULER", flag)
        gen, toks = run(engine, ASK, tools=TOOLS, tool_choice="required", seed=7)
        got.append([(c["name"], c["arguments"]) for c in gen.tool_calls])
    assert got[0] == got[1]


def test_a_cut_call_is_length_with_no_call(engine, path):
    gen, toks = run(engine, ASK, tools=TOOLS, tool_choice={"name": "place_order"}, seed=0, max_tokens=12)
    assert gen.finish_reason == "length" and gen.tool_calls == []


@pytest.mark.parametrize("tools_, choice, param", [
    ([{"name": "x", "parameters": {"type": "object", "properties": {"a": {"type": "strin"}}}}], "auto", "tools[0].parameters"),
    ([WEATHER, {"name": "y", "parameters": {"type": "array"}}], "auto", "tools[1].parameters"),
    ([WEATHER, {"name": "y", "parameters": "not a schema"}], "auto", "tools[1].parameters"),
    ([{"name": "bad name!", "parameters": {"type": "object"}}], "auto", "tools[0].name"),
    ([WEATHER, WEATHER], "auto", "tools[1].name"),
    ([WEATHER], {"name": "nope"}, "tool_choice"),
    ([WEATHER], "sometimes", "tool_choice"),
    ([], "required", "tool_choice"),
    ([{"name": "z", "parameters": {"type": "object", "properties": {"p": {"type": "string", "pattern": "("}}}}],
     "auto", "tools[0].parameters"),
])
def test_bad_tools_are_input_errors_naming_the_field(engine, tools_, choice, param):
    with pytest.raises(EngineInputError) as e:
        tools.check_tools(tools_, choice)
    assert e.value.param == param
    if tools_:  # the engine checks before generating
        with pytest.raises(EngineInputError) as e2:
            engine.generate(ASK, SamplingParams(tools=tools_, tool_choice=choice))
        assert e2.value.param == param


def test_calls_and_results_render_as_text_in_the_prompt(engine):
    msgs = ASK + [{"role": "assistant", "content": None,
                   "tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
                  {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": '{"temperature": 18}'}]
    plain = tools.to_plain(msgs, [WEATHER])
    assert [m["role"] for m in plain] == ["system", "user", "assistant", "user"]
    assert "get_weather(city: string, unit?: \"celsius\"|\"fahrenheit\"): Get the current weather" in plain[0]["content"]
    assert plain[2]["content"] == '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    assert plain[3]["content"] == '<tool_response>\n{"temperature": 18}\n</tool_response>'
    ids = engine.render_prompt(msgs)  # without tools: the history still renders
    assert engine.decode(ids).count("tool_call") == 2
    # no new special tokens: the markers are plain text
    assert not any(s in engine.special_tokens for s in ("<tool_call>", "<tool_response>"))
    gen = engine.generate(msgs, SamplingParams(tools=[WEATHER], max_tokens=5, seed=0))
    assert gen.prompt_tokens == len(engine.tok.render_chat(plain))


def test_parse_calls_follows_partial_text():
    t = tools.call_text("f", {"a": "x}\"y", "b": [1, {"c": 2}]})
    two = t + tools.CALL_SEP + tools.call_text("g", {})
    assert tools.parse_calls(two) == [("f", '{"a": "x}\\"y", "b": [1, {"c": 2}]}', True), ("g", "{}", True)]
    assert tools.parse_calls(t[:45]) == [("f", '{"a": ', False)]
    assert tools.parse_calls(t[:12]) == [(None, "", False)]


# -- the training data ------------------------------------------------------------------------
def test_tool_conversations_are_deterministic_and_well_formed():
    rows = corpus.load_tools()
    assert len(rows) > 3000
    cases = {r["case"] for r in rows}
    assert cases == {"call", "result", "error", "parallel", "no_tool", "not_offered"}
    assert {r["lang"] for r in rows} == {"en", "es"}
    held = [r for r in rows if r["heldout"]]
    assert 0.1 < len(held) / len(rows) < 0.3
    # whole question templates are held out (two-call questions have two templates: a fifth of them)
    train_templates = {r["template"] for r in rows if not r["heldout"] and r["template"] and r["case"] != "parallel"}
    assert not any(r["template"] in train_templates for r in held if r["template"] and r["case"] != "parallel")
    for r in random.Random(0).sample(rows, 400):
        specs = {t.name: t for t in tools.check_tools(r["tools"], "auto")}
        for m in r["messages"]:
            for c in m.get("tool_calls") or []:
                jsonschema.validate(c["arguments"], specs[c["name"]].parameters)
        last = r["messages"][-1]
        assert last["role"] == "assistant"
        if r["case"] == "call":
            assert last["tool_calls"]
        else:
            assert last["content"] and not last.get("tool_calls")
        if r["case"] in ("result", "parallel") and "status" not in r["messages"][-2]["content"]:
            result = json.loads(r["messages"][-2]["content"])
            assert any(str(v) in last["content"] for v in result.values())  # the answer uses the result
    import importlib.util

    spec = importlib.util.spec_from_file_location("g", corpus.CORPUS_DIR / "tools_gen.py")
    g = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(g)
    assert g.dump(g.generate(300)) == g.dump(g.generate(300))


@pytest.mark.parametrize("script,kept", [
    ("Done.\n</tool_call>", None), ("Try <tool_call> now", None), ("Use </div> to close it", "</div>")])
def test_a_text_reply_never_writes_a_call_marker_but_keeps_html(engine, script, kept):
    """A network that has learned calls can write a marker as text ("...</tool_call>" after an answer, seen
    from a retrained stage): with tools offered and the reply begun as text, the marker's tokens are masked,
    the opening one and the closing one, while an answer's HTML ("</div>") is written."""
    from llmkit.engine import sampling

    tok = engine.tok
    want = tok.encode(script) + [tok.end_id]
    prompt = tok.render_chat([{"role": "user", "content": "hi"}])
    specs = tools.check_tools([{"name": "get_weather", "description": "Weather in a city.",
                                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}], "auto")

    def next_probs(ids):  # the script's next token at 0.9 (whatever was written), the rest spread out
        n = len(ids) - len(prompt)
        p = np.full(tok.vocab_size, 0.1 / tok.vocab_size)
        p[want[min(n, len(want) - 1)]] += 0.9
        return p

    gen = sampling.decode(tok, prompt, next_probs, SamplingParams(tools=specs, tool_choice="auto", temperature=0,
                                                                  max_tokens=len(want) + 4), 1024)
    text = "".join(t.text for t in gen if t.tool_call is None)
    assert "<tool_call" not in text and "</tool_call" not in text and "tool_call>" not in text.replace(" ", ""), text
    if kept:
        assert kept in text, text


def test_the_lookup_and_quote_families_bind_arguments_by_role_and_answer_the_field_asked():
    """tools_gen --records (v3's stage K): the old families' draw is unchanged without it; with it, a
    quote's two numbers go to the arguments their words name, whatever their order in the question,
    and a lookup's answer says the asked field's value, not another field's."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("g", corpus.CORPUS_DIR / "tools_gen.py")
    g = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(g)
    old, rows = g.generate(400, varied=True), g.generate(varied=True, records=True)
    assert not {r["family"] for r in old} & set(g.RECORD_VARIANTS)
    new = [r for r in rows if r["family"] in g.RECORD_VARIANTS]
    assert {r["family"] for r in new} == set(g.RECORD_VARIANTS) and {r["lang"] for r in new} == {"en", "es"}
    swapped = 0
    for r in new:
        calls = [c for m in r["messages"] for c in m.get("tool_calls") or []]
        if not calls:
            continue
        question = [m["content"] for m in r["messages"] if m["role"] == "user"][-1]
        args = list(calls[0]["arguments"].values())
        assert str(args[0]) in question  # the name, as the question says it
        if r["family"] in g.QUOTES:
            a, b = (g._fmt(x) if isinstance(x, float) else str(x) for x in args[1:])
            assert re.search(rf"(?<![\d.]){re.escape(a)}(?![\d.])", question) and re.search(rf"(?<![\d.]){re.escape(b)}(?![\d.])", question)
            swapped += question.index(b) < question.index(a)  # the second argument named first
        elif r["case"] == "result":
            result = json.loads(r["messages"][-2]["content"])
            field = next(f for f, (_, q_en, q_es, *_) in g.LOOKUPS[r["family"]]["fields"].items()
                         if r["template"] in q_en + q_es)
            keys = g.LOOKUPS[r["family"]]["fields"][field][0]
            value = next(v for k, v in result.items() if k in keys)
            if field != "status":  # a status is said in the question's language
                assert (g._fmt(value) if isinstance(value, float) else str(value)) in r["messages"][-1]["content"]
    assert swapped > 100


def test_the_hf_chat_template_renders_tools_calls_and_results_as_the_engine_does(engine):
    """transformers' apply_chat_template(tools=...) with the exported template gives the engine's ids."""
    from transformers import PreTrainedTokenizerFast

    from llmkit.engine.hf_export import CHAT_TEMPLATE

    hf = PreTrainedTokenizerFast(tokenizer_object=engine.tok._tok, eos_token="<|end|>", pad_token="<|pad|>",
                                 additional_special_tokens=["<|system|>", "<|user|>", "<|assistant|>"])
    hf.chat_template = CHAT_TEMPLATE
    fns = [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in TOOLS]
    oa = [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "París", "unit": "celsius"}}},
          {"id": "c2", "type": "function", "function": {"name": "place_order", "arguments": {
              "items": ["mug"], "quantity": 2, "express": False, "address": {"city": "Lima"}}}}]
    convs = [ASK,
             [{"role": "system", "content": "Be brief."}, *ASK, {"role": "assistant", "content": None, "tool_calls": oa},
              {"role": "tool", "tool_call_id": "c1", "content": '{"temperature": 18}'},
              {"role": "tool", "tool_call_id": "c2", "content": '{"status": "ordered"}'},
              {"role": "assistant", "content": "It is 18 °C."}, {"role": "user", "content": "gracias"}]]
    for tl in ([{"type": "function", "function": f} for f in fns], None):
        for msgs in convs:
            neutral = [{"role": "assistant", "content": m["content"], "tool_calls": [
                {"id": c["id"], "name": c["function"]["name"], "arguments": c["function"]["arguments"]}
                for c in m["tool_calls"]]} if m.get("tool_calls") else m for m in msgs]
            want = engine.tok.render_chat(tools.to_plain(neutral, fns if tl else None))
            got = hf.apply_chat_template(msgs, tools=tl, add_generation_prompt=True, tokenize=True)
            got = got["input_ids"] if hasattr(got, "keys") else got
            assert got == want, hf.apply_chat_template(msgs, tools=tl, add_generation_prompt=True, tokenize=False)


# -- parallel_tool_calls: false (OpenAI, Groq, Responses) / disable_parallel_tool_use (Anthropic) ----
def test_without_parallel_calls_the_grammar_allows_only_the_end_after_one_call(engine):
    """After a whole call the grammar lets a second one begin (the separator) only when parallel
    calls are allowed; without them the end of the turn is the only token left."""
    text = tools.call_text("get_weather", {"city": "Paris", "unit": "celsius"})
    for parallel in (True, False):
        writer = tools.CallWriter(tools.check_tools(TOOLS, "required"), "required", engine.tok, parallel)
        m = writer.matcher()
        for t in engine.tok.encode(text):
            m.advance(t)
        allowed = set(np.flatnonzero(m.allowed()).tolist())
        assert engine.tok.end_id in allowed
        seconds = {i for i in allowed if engine.tok.decode([i]).startswith(tools.CALL_SEP)}
        assert bool(seconds) == parallel, (parallel, [engine.tok.decode([i]) for i in allowed][:10])
        if not parallel:
            assert allowed == {engine.tok.end_id}


ASK_TWO = [{"role": "user", "content": "What's the weather in Paris and in Tokyo?"}]
# two calls in one reply come mostly with one-argument tools, as in the training data (a second
# argument such as a unit makes the model end after the first call): the case the switch guards
PAIR = [ToolSpec("get_weather", "Current weather in a city", {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
            "additionalProperties": False}),
        ToolSpec("get_time", "Current time in a time zone", {
            "type": "object", "properties": {"zone": {"type": "string", "enum": ["UTC", "CET", "JST"]}},
            "required": ["zone"], "additionalProperties": False})]


@pytest.mark.parametrize("choice", ["required", "auto"])
def test_parallel_off_gives_at_most_one_call_the_same_first_call(engine, path, choice):
    """The same seeds with and without parallel calls: some replies hold two calls with them; without
    them every reply holds at most one, the very call the parallel reply began with."""
    most = 0
    for seed in range(8):
        free, _ = run(engine, ASK_TWO, tools=PAIR, tool_choice=choice, seed=seed, temperature=1.0, max_tokens=200)
        one, toks = run(engine, ASK_TWO, tools=PAIR, tool_choice=choice, seed=seed, temperature=1.0, max_tokens=200,
                        parallel_tool_calls=False)
        most = max(most, len(free.tool_calls or []))
        assert len(one.tool_calls or []) <= 1 and {t.tool_call for t in toks} <= {0, None}
        if free.tool_calls:
            assert one.finish_reason == "tool_calls"
            call = one.tool_calls[0]
            jsonschema.validate(call["arguments"], {t.name: t.parameters for t in PAIR}[call["name"]])
            assert "".join(t.text for t in toks) == tools.dumps(call["arguments"])
            assert [(c["name"], c["arguments"]) for c in one.tool_calls] == \
                [(c["name"], c["arguments"]) for c in free.tool_calls[:1]]
    assert most >= 2, "no seed gave parallel calls: the case the switch guards was not exercised"


ADD = ToolSpec("add_two_numbers", "Add two numbers", {"type": "object", "required": ["a", "b"], "properties": {
    "a": {"type": "integer", "description": "The first number"}, "b": {"type": "integer", "description": "The second number"}}})


def test_a_text_reply_beside_tools_is_retrievals_and_stays_honest(engine, path):
    """With tools offered ("auto"), the model decides between calling and answering (the network with the
    training data's prior: engine/decision.py); when it answers, retrieval writes the text as it does without
    tools, its honesty included: ollama's examples/tools.py ("What is three plus one?" with calculator tools)
    got "1 + 1 = 2." from the network alone. That question now gets its call; with "none", the honest text."""
    q = [{"role": "user", "content": "What is three plus one?"}]
    gen, toks = run(engine, q, temperature=0, max_tokens=80, tools=[ADD])
    assert gen.finish_reason == "tool_calls" and sorted(gen.tool_calls[0]["arguments"].values()) == [1, 3], toks
    gen, toks = run(engine, q, temperature=0, max_tokens=40, tools=[ADD], tool_choice="none")
    text = "".join(t.text for t in toks)
    assert text.startswith("I don't know"), text
    plain = engine.generate([{"role": "user", "content": "What is an API key?"}],
                            SamplingParams(temperature=0, max_tokens=30)).text()
    with_tools = engine.generate([{"role": "user", "content": "What is an API key?"}],
                                 SamplingParams(temperature=0, max_tokens=30, tools=[WEATHER])).text()
    assert with_tools == plain


def test_the_call_or_text_odds_stay_the_networks():
    """Guide.mix with `keep`: the call's first tokens keep the network's probabilities (so a sampled
    reply calls as often as the network would), the other tokens share the rest as retrieval mixes
    them, and where the network's likeliest token starts a call, its distribution is left as it is."""
    from llmkit.engine.guide import Guide

    g = Guide(index=None, answers=[[5, 6, 7]], end_id=1, vocab=10)
    keep = np.array([2, 3])
    net = np.array([0.0, 0.0, 0.1, 0.05, 0.3, 0.05, 0.2, 0.1, 0.1, 0.1])
    out = Guide.mix(net, g.copy_probs([(0, 1.0)], []), keep)
    assert out.sum() == pytest.approx(1.0) and out[2] == 0.1 and out[3] == 0.05
    assert out.argmax() == 5  # retrieval's answer leads the text
    calling = np.array([0.0, 0.0, 0.4, 0.05, 0.3, 0.05, 0.1, 0.05, 0.05, 0.0])
    assert Guide.mix(calling, g.copy_probs([(0, 1.0)], []), keep) is calling
