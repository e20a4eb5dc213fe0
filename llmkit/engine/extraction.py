"""Which phrase of the user's data goes under which key, read the way a delexicalised parser reads it.

In a structured-output request that gives data ("Extract the event information." / "Alice and Bob are
going to a science fair on Friday.", the openai SDK's README), the grammar forces the keys and the copy
step (copying.py) offers the user's phrases for the values, but which phrase goes under which key was the
network's guess, and a 6M-parameter network guessed "going" for the name and "Bob" for the date. The
training conversations (corpus/extract_gen.py) say how such sentences carry their fields: each one's text,
with the values of its JSON answer replaced by slots, is a pattern ("{participants#0} and {participants#1}
are going to a {name} on {date}."). A live text that one matches whole gives each slot's phrase, and its key
is the live schema's key for the same field (the generator's key synonyms: "name", "title", "event"...).
The copy step then begins each value with its phrase and carries it on whole; the network still writes the
JSON around it and every value no pattern gives.
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading

from .lexical import _fold  # lower case without accents

# the patterns are sentences of data: a longer text is not one of them (and lazy groups on a long text could
# take long to fail), and an instruction after the data is a sentence or two
MAX_TEXT, MAX_CUTS = 400, 3
_SENTENCE = re.compile(r"\w{2,}[.!?]\s+[A-ZÁÉÍÓÚÑ¿¡]")  # "viernes. Extrae": not "J. R. R. Tolkien"
_ITEMS = re.compile(r",\s*(?:and\s+|y\s+)?|\s+(?:and|y)\s+")
_lock = threading.Lock()
_store: tuple[list[tuple], dict] | None = None


def _generator():
    from .corpus import CORPUS_DIR

    spec = importlib.util.spec_from_file_location("llmkit_extract_gen", CORPUS_DIR / "extract_gen.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _build():
    """Every training conversation's text as a pattern, with its slots' keys and each key's field."""
    from . import corpus

    gen = _generator()
    fields_of: dict[str, set[str]] = {}  # a folded key name -> the fields it may name
    for field, (en, es) in gen.KEYS.items():
        for k in en + es:
            fields_of.setdefault(_fold(k), set()).add(field)
    instructions = sorted({s for pair in list(gen.SYSTEMS.values()) + [gen.GENERIC_SYSTEMS] for side in pair
                           for s in side}, key=len, reverse=True)
    family_fields: dict[str, set[str]] = {}
    rows = [r for r in corpus.load_extract() if not r.get("heldout")]
    corpus._extract_cache.clear()  # 2,000 conversations a server need not keep: the patterns are what it reads
    for r in rows:  # a family's fields: those its unambiguous key names name
        for k in r["schema"].get("properties", {}):
            f = fields_of.get(_fold(k), set())
            if len(f) == 1:
                family_fields.setdefault(r["family"], set()).update(f)
    out, seen = [], set()
    for r in rows:
        text = next((m["content"] for m in r["messages"] if m["role"] == "user"), "")
        for ins in instructions:  # the instruction some rows append to the data
            if text.endswith(" " + ins):
                text = text[: -len(ins) - 1]
                break
        try:
            answer = json.loads(r["messages"][-1]["content"])
        except ValueError:
            continue
        fam = family_fields.get(r["family"], set())
        slots: dict[str, tuple[str, int | None]] = {}  # value text -> (key, list index)
        key_field: dict[str, str] = {}
        ok = True
        for k, v in answer.items():
            f = [x for x in fields_of.get(_fold(k), ()) if x in fam]
            if len(f) != 1:
                ok = False
                break
            key_field[k] = f[0]
            items = v if isinstance(v, list) else [v]
            for i, item in enumerate(items):
                if isinstance(item, str) and item:
                    if item in slots or item not in text:
                        ok = False
                        break
                    slots[item] = (k, i if isinstance(v, list) else None)
        if not ok or not slots:
            continue
        order = sorted(slots, key=len, reverse=True)
        pat = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, order)) + r")(?!\w)")
        pieces, names, at = [], [], 0
        for m in pat.finditer(text):
            pieces.append(re.escape(text[at:m.start()]))
            pieces.append(r"(.+?)")
            names.append(slots[m[1]])
            at = m.end()
        pieces.append(re.escape(text[at:]))
        if len(names) != len(slots):  # a value said twice: which one is which is not told
            continue
        source = "".join(pieces)
        key = (r["lang"], source, tuple(names))
        if key in seen:
            continue
        seen.add(key)
        literals = tuple(x.lower() for x in pat.split(text)[::2] if x.strip())  # what a text must contain
        out.append((r["family"], r["lang"], re.compile(source, re.IGNORECASE | re.DOTALL), names, key_field, literals))
    return out, fields_of


def _patterns():
    global _store
    with _lock:
        if _store is None:
            _store = _build()
        return _store


def _tries(text: str) -> list[str]:
    """The text, and the text without its last sentences (an instruction after the data)."""
    text = " ".join(text.split())
    cuts = [m.end() for m in re.finditer(r"[.!?](?=\s)", text)]
    return [text] + [text[:c] for c in reversed(cuts)][:MAX_CUTS]


def values(text: str, schema: dict) -> dict[str, str | list]:
    """The phrase (or phrases, for an array of strings) of `text` for each of the schema's top-level keys
    that a training pattern matching the text gives; {} where none matches. An array of records with a
    name (Ollama's README FriendList) that no pattern gives: `records`."""
    got = _matched(text, schema)
    props = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(props, dict) and text and len(text) <= MAX_TEXT:
        for live, spec in props.items():
            if live not in got and isinstance(spec, dict):
                found = records(text, spec, schema)
                if found:
                    got[live] = found
    return got


def _matched(text: str, schema: dict) -> dict[str, str | list[str]]:
    """What a training pattern matching `text` gives each top-level key of `schema`."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict) or not text or not text.strip() or len(text) > MAX_TEXT:
        return {}
    patterns, fields_of = _patterns()
    best: dict[str, str | list[str]] = {}
    for candidate in _tries(text):
        low = candidate.lower()
        for family, _lang, rx, names, key_field, literals in patterns:
            if not all(x in low for x in literals):  # most patterns, without running them
                continue
            m = rx.fullmatch(candidate)
            if m is None or any(_SENTENCE.search(g) for g in m.groups()):  # a phrase runs into the next sentence
                continue
            by_field: dict[str, list[tuple[int | None, str]]] = {}
            for (k, i), g in zip(names, m.groups()):
                by_field.setdefault(key_field[k], []).append((i, g.strip()))
            got: dict[str, str | list[str]] = {}
            for live, spec in props.items():
                fields = [f for f in fields_of.get(_fold(live), ()) if f in by_field]
                if len(fields) != 1 or not isinstance(spec, dict):
                    continue
                found = by_field[fields[0]]
                kind = spec.get("type")
                if kind == "array" and (spec.get("items") or {}).get("type", "string") == "string":
                    # "Alice, Bob" in one slot of a two-item pattern is two items
                    got[live] = [x for _, g in sorted(found, key=lambda x: x[0] or 0) for x in _ITEMS.split(g) if x]
                elif kind in ("string", None) and len(found) == 1 and found[0][0] is None:
                    got[live] = found[0][1]
            if len(got) > len(best):
                best = got
        if best:
            return best
    return best


# a name in running text: capitalised words ("Ollama", "Ana María"), not an acronym ("JSON") and not a sentence's
# first word ("The first is ...", "Return a list ...")
_NAMED = re.compile(r"(?<![\w'’-])[A-ZÁÉÍÓÚÑÜ][a-záéíóúñüç'’-]+(?:\s+[A-ZÁÉÍÓÚÑÜ][a-záéíóúñüç'’-]+)*")
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)?(?![\w])")
_NAME_KEY = "name"  # the generator's field whose key synonyms name a record's person (name, nombre, full_name...)
MAX_RECORDS = 8


def _resolved(node, root: dict | None, depth: int = 0):
    """`node` with a local `$ref` ("#/$defs/FriendInfo", as pydantic writes a nested model) followed."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/") and depth < 8:
        target = root
        for part in node["$ref"][2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
        node, depth = target, depth + 1
    return node


def records(text: str, spec: dict, root: dict | None = None) -> list[dict[str, str]]:
    """An array of records whose items have a name key ("I have two friends. The first is Ollama 22 years old
    busy saving the world, and the second is Alonso 23 years old and wants to hang out."): one record per name
    the text gives, in order, and each record's number keys the numbers said after its name, before the next
    (in order, where they are as many as the keys); [] where the schema or the text is not such a list. The
    training data's friend lists are sentence forms of their own ("Tengo tres amigos: ..."); this reads any
    form that names each item and follows it with its numbers. Other keys (a boolean "is_available") stay the
    network's. `root`: the whole schema, where the items are a `$ref` into it."""
    items = _resolved(spec.get("items"), root) if spec.get("type") == "array" else None
    props = items.get("properties") if isinstance(items, dict) and items.get("type", "object") == "object" else None
    if not isinstance(props, dict) or not text:
        return []
    _, fields_of = _patterns()
    name_keys = [k for k, v in props.items() if isinstance(v, dict) and v.get("type", "string") == "string"
                 and _NAME_KEY in fields_of.get(_fold(k), ())]
    number_keys = [k for k, v in props.items() if isinstance(v, dict) and v.get("type") in ("integer", "number")]
    if len(name_keys) != 1:
        return []
    from .guide import _STOP

    names, said = [], []
    for m in _NAMED.finditer(text):
        said.append(m.group(0))
        before = text[:m.start()].rstrip()
        if not before or before[-1] in ".!?¿¡\"«“" or m.group(0).lower() in _STOP:
            continue
        names.append(m)
    # a name said twice (a sentence's first word included): which record is which is not told
    if not names or len(names) > MAX_RECORDS or any(said.count(m.group(0)) > 1 for m in names):
        return []
    out = []
    for i, m in enumerate(names):
        record = {name_keys[0]: m.group(0)}
        segment = text[m.end(): names[i + 1].start() if i + 1 < len(names) else len(text)]
        said = _NUMBER.findall(segment)
        if number_keys and len(said) == len(number_keys):
            for k, n in zip(number_keys, said):
                if props[k].get("type") == "integer" and not n.isdigit():
                    break
                record[k] = n.replace(",", ".")
        out.append(record)
    return out
