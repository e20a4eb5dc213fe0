"""Constrained decoding in the engine: JSON schemas followed token by token (engine/constrain.py)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import jsonschema
import numpy as np
import pytest

from llmkit.engine import EngineInputError, SamplingParams, constrain, get_engine

Q = [{"role": "user", "content": "What is the capital of France?"}]
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer", "minimum": 0, "maximum": 130},
        "score": {"type": "number"},
        "active": {"type": "boolean"},
        "role": {"enum": ["student", "teacher", "admin"]},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        "address": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
                    "required": ["city"], "additionalProperties": False},
        "nickname": {"type": "string"},  # optional
    },
    "required": ["name", "age", "score", "active", "role", "tags", "address"],
    "additionalProperties": False,
}
ANSWER = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"],
          "additionalProperties": False}


@pytest.fixture(scope="module")
def engine():
    return get_engine("transformer-v2")


def test_many_seeds_give_valid_instances(engine):
    """temperature 1 and many seeds: every complete reply is an instance of the schema."""
    validator = jsonschema.Draft202012Validator(PERSON)
    questions = ["What is the capital of France?", "Who wrote this course?", "What is an API key?"]

    def reply(seed: int) -> tuple[str, str]:
        g = engine.generate([{"role": "user", "content": questions[seed % 3]}],
                            SamplingParams(temperature=1.0, seed=seed, max_tokens=400, json_schema=PERSON))
        return g.text(), g.finish_reason

    with ThreadPoolExecutor(8) as pool:  # side by side: the scheduler batches their steps (same replies)
        replies = list(pool.map(reply, range(24)))
    complete = [text for text, finish in replies if finish != "length"]  # "length": a long string ran out
    for text in complete:
        validator.validate(json.loads(text))
    assert len(complete) >= 16


def test_max_tokens_too_small_is_the_cut_prefix(engine):
    full = engine.generate(Q, SamplingParams(temperature=0, json_schema=ANSWER)).text()
    g = engine.generate(Q, SamplingParams(temperature=0, max_tokens=5, json_schema=ANSWER))
    cut = g.text()
    assert g.finish_reason == "length" and g.completion_tokens == 5
    assert full.startswith(cut) and cut != full
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut)


def test_values_are_the_models_own_answer(engine):
    """For a question it knows, the "answer" field holds what it answers in plain text."""
    plain = engine.generate(Q, SamplingParams(temperature=0, max_tokens=60)).text()
    g = engine.generate(Q, SamplingParams(temperature=0, max_tokens=120, json_schema=ANSWER))
    reply = json.loads(g.text())
    assert g.finish_reason == "stop"
    assert reply["answer"] == plain and "Paris" in reply["answer"]


def test_json_object_mode_gives_an_object(engine):
    for seed in range(6):
        g = engine.generate(Q, SamplingParams(temperature=1.0, seed=seed, max_tokens=300, json_object=True))
        text = g.text()
        assert text.startswith("{")
        if g.finish_reason == "stop":
            assert isinstance(json.loads(text), dict)


def test_enum_and_nested_arrays(engine):
    schema = {"type": "object", "properties": {
        "level": {"enum": ["low", "medium", "high"]},
        "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
                   "minItems": 1, "maxItems": 2},
        "ok": {"type": "boolean"}}, "required": ["level", "matrix", "ok"], "additionalProperties": False}
    for seed in range(8):
        g = engine.generate(Q, SamplingParams(temperature=1.0, seed=seed, max_tokens=200, json_schema=schema))
        text = g.text()
        assert g.finish_reason == "stop", text
        jsonschema.validate(json.loads(text), schema)


def test_schema_compiled_once_and_cached(engine):
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    before = dict(constrain.stats)
    first = constrain.compile(schema)
    reordered = json.loads(json.dumps({"required": ["x"], "properties": {"x": {"type": "integer"}}, "type": "object"}))
    assert constrain.compile(reordered) is first  # keyed by the canonical JSON
    for seed in range(3):
        engine.generate(Q, SamplingParams(temperature=1.0, seed=seed, max_tokens=30, json_schema=schema)).text()
    assert constrain.stats["compiled"] == before["compiled"] + 1
    assert constrain.stats["hits"] >= before["hits"] + 4


def test_mask_allows_only_what_the_grammar_allows(engine):
    m = constrain.compile(ANSWER).matcher(engine.tok)
    first = m.forced()
    assert engine.tok.decode([first]).startswith("{")  # nothing else may open the reply
    m.advance(first)
    while (f := m.forced()) is not None and not m.done():
        m.advance(f)
    allowed = m.allowed()
    assert allowed.dtype == bool and allowed.shape == (engine.tok.vocab_size,)
    assert not allowed[engine.tok.end_id]  # not a complete instance: the end is masked
    p = constrain.mask_probs(np.full(engine.tok.vocab_size, 1.0 / engine.tok.vocab_size), allowed)
    assert np.isclose(p.sum(), 1.0) and (p[~allowed] == 0).all()


def test_end_token_only_where_the_grammar_accepts(engine):
    m = constrain.compile(ANSWER).matcher(engine.tok)
    for t in engine.tok.encode('{"answer": "Paris"}'):
        assert m.allowed()[t] or m.forced() == t
        m.advance(t)
    assert m.accepting() and m.done()
    assert m.allowed()[engine.tok.end_id]


@pytest.mark.parametrize("bad, words", [
    ("not a schema", "must be an object"),
    ({"type": "foo"}, "foo"),
    ({"not": {"type": "string"}}, "not"),
    ({"type": "object", "properties": {"a": {"$ref": "#/nowhere"}}}, "nowhere"),
])
def test_bad_schemas_are_refused_with_the_reason(engine, bad, words):
    with pytest.raises(ValueError, match=words):
        constrain.compile(bad)
    with pytest.raises(EngineInputError) as e:
        engine.generate(Q, SamplingParams(json_schema=bad))
    assert e.value.param == "json_schema"


def test_temperature_never_revives_a_masked_token(engine):
    """Masked tokens get -inf, not a tiny floor, so a high temperature cannot sample them."""
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
              "additionalProperties": False}
    for seed in range(10):
        text = engine.generate(Q, SamplingParams(temperature=2.0, seed=seed, max_tokens=20, json_schema=schema)).text()
        assert json.loads(text)["ok"] in (True, False)


def test_ngram_engine_shares_the_loop():
    e = get_engine("ngram-v1")
    for seed in range(4):
        g = e.generate(Q, SamplingParams(temperature=1.0, seed=seed, max_tokens=200, json_schema=PERSON))
        text = g.text()
        if g.finish_reason == "stop":
            jsonschema.validate(json.loads(text), PERSON)


def test_a_grammar_that_refuses_a_token_it_allowed_is_the_schemas_error_not_the_gateways():
    """llguidance can stop at a limit of its own mid-reply (instances grown past what it tracks):
    an EngineInputError naming the field, which the gateway answers as a 400 (or the protocol's
    error event mid-stream), not a 500."""
    class AtItsLimit:  # what llguidance's matcher says there
        def consume_token(self, token):
            return False

        def get_error(self):
            return "parser error: Too many items (limit 50000)"

    with pytest.raises(EngineInputError) as e:
        constrain.Matcher(AtItsLimit(), 16, 0).advance(3)
    assert e.value.param == "response_format" and "Too many items" in str(e.value)
