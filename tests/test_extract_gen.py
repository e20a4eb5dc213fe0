"""The extraction conversations (corpus/extract_gen.py, corpus.load_extract()): training data for
structured outputs. Each reply must be what the engine's grammar could write for its schema (the
`json.dumps` layout, keys in the schema's order), an instance of that schema, with every string value
a phrase of the user's text (what the copier can copy) or one of the schema's enum values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from llmkit.engine import corpus

ROOT = Path(__file__).resolve().parent.parent
GEN = ROOT / "llmkit" / "engine" / "corpus" / "extract_gen.py"


@pytest.fixture(scope="module")
def rows():
    return corpus.load_extract()


def _gen_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("extract_gen_under_test", GEN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_same_bytes_in_two_processes(tmp_path):
    outs = []
    for seed in ("1", "2"):  # a different hash seed: no set or dict order may leak into the data
        out = tmp_path / f"x{seed}.jsonl"
        subprocess.run([sys.executable, str(GEN), "--out", str(out)], check=True, capture_output=True,
                       env={**os.environ, "PYTHONHASHSEED": seed})
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] == _gen_module().dump(corpus.load_extract()).encode()


def test_format_and_counts(rows):
    assert 1500 <= len(rows) <= 2500
    assert len({r["id"] for r in rows}) == len(rows)
    langs = Counter(r["lang"] for r in rows)
    assert set(langs) == {"en", "es"} and min(langs.values()) > 0.4 * len(rows)
    fams = Counter(r["family"] for r in rows)
    assert len(fams) >= 10 and min(fams.values()) >= 100
    for r in rows:
        assert r["case"] == "extract" and r["tools"] == []
        roles = [m["role"] for m in r["messages"]]
        assert roles in (["user", "assistant"], ["system", "user", "assistant"])
    systems = Counter(r["messages"][0]["content"] for r in rows if r["messages"][0]["role"] == "system")
    assert "Extract the event information." in systems and "Extrae los datos." in systems
    assert sum(r["messages"][0]["role"] == "user" for r in rows) > 0.2 * len(rows)  # no system prompt


def _walk(schema: dict, value, strings: list, enums: list):
    """Collect the string values of an instance, split into free strings and enum values."""
    if "anyOf" in schema:
        if value is None:
            return
        schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
    t = schema.get("type")
    if t == "object":
        assert list(value) == list(schema["properties"])  # every declared key, in the schema's order
        for k, v in value.items():
            _walk(schema["properties"][k], v, strings, enums)
    elif t == "array":
        for v in value:
            _walk(schema["items"], v, strings, enums)
    elif t == "string":
        (enums if "enum" in schema else strings).append(value)


def test_replies_are_instances_the_engine_would_write(rows):
    nulls = 0
    validators: dict[str, jsonschema.Draft202012Validator] = {}  # one per schema: checking it each time is slow
    for r in rows:
        reply = r["messages"][-1]["content"]
        value = json.loads(reply)
        key = json.dumps(r["schema"], sort_keys=True)
        if key not in validators:
            jsonschema.Draft202012Validator.check_schema(r["schema"])
            validators[key] = jsonschema.Draft202012Validator(r["schema"])
        validators[key].validate(value)
        # the grammar's layout (constrain.JSON_STYLE): ", " and ": ", no other spacing, characters as they are
        assert reply == json.dumps(value, ensure_ascii=False)
        user = r["messages"][-2]["content"]
        strings, enums = [], []
        _walk(r["schema"], value, strings, enums)
        for s in strings:
            assert s and s in user, (r["id"], s, user)
        nulls += reply.count(": null")
    assert nulls > 0.05 * len(rows)  # optional fields the text does not state


def test_heldout_split_is_by_template_and_stable(rows):
    gen = _gen_module()
    for r in rows:
        assert r["heldout"] == gen.heldout_template(r["template"])
    # the split depends on the template alone: a shorter draw holds out the same templates
    short = {r["template"]: r["heldout"] for r in gen.generate(n=300)}
    full = {r["template"]: r["heldout"] for r in rows}
    assert all(full[t] == h for t, h in short.items())
    # every family and language has templates on both sides, so the bench measures each one
    sides = {(r["family"], r["lang"], r["heldout"]) for r in rows}
    for fam in {r["family"] for r in rows}:
        for lang in ("en", "es"):
            assert (fam, lang, True) in sides and (fam, lang, False) in sides, (fam, lang)
    held = sum(r["heldout"] for r in rows)
    assert 0.1 * len(rows) < held < 0.35 * len(rows)


def test_key_names_and_orders_vary(rows):
    def keys(schema):
        props = schema.get("properties") or {}
        return tuple(props) + tuple(k for v in props.values() for k in keys(v.get("items") or {}))

    by_family = {}
    for r in rows:
        by_family.setdefault(r["family"], set()).add(keys(r["schema"]))
    assert all(len(v) >= 5 for v in by_family.values()), {k: len(v) for k, v in by_family.items()}
