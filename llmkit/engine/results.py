"""The answer after a tool result, retrieved as a delexicalised template (task-oriented NLG's way).

The 6M-parameter network learned the shape of an answer after a result ("It is 18 °C in Paris.",
"3 + 1 = 4.") from the generated tool conversations (corpus/tools_gen.py), but not which shape goes
with which result: alone it wrote "It is 11:38 in Madrid." after a weather result, and with copying
"2 3 1 4." after the Ollama SDK's add_two_numbers. Dialogue systems solve this with delexicalised
retrieval: every training answer is stored with its values replaced by the names of the result's keys
or the call's arguments they came from ("It is {temperature} °C in {@city}."); at run time the
template whose slots the live result and call can fill, from the tool and question most like the live
ones, is filled with the live values and offered to the decoder as retrieval offers a corpus answer
(guide.py: the network still writes every token, mixed with it). A result no template fits (keys it
never saw) is answered by the network and the copy step, as before.

A template is kept only if it copies every number it says (no number of the training conversation is
left in its words), and a short categorical value it does not copy ("celsius" behind "°C", "clear"
behind "despejado") must be the same in the live result.
"""

from __future__ import annotations

import json
import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_SLOT = "\x00"
_WORD = re.compile(r"[^\W\d_]{3,}")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:e-?\d+)?$")
_CATEGORICAL = re.compile(r"^(?:[a-z_-]{1,12}|[A-Z]{1,3})$")  # "celsius", "sunny", "sent", "C", "USD"
# what a result that leaves these out is read as (weather APIs answer in °C unless asked otherwise)
_DEFAULTED = {"unit": "celsius", "units": "celsius", "currency": "usd"}
# one unit, several spellings: what a template's "°C" stands for, however the live result writes it
_SAME = {"c": "celsius", "°c": "celsius", "metric": "celsius", "f": "fahrenheit", "°f": "fahrenheit",
         "imperial": "fahrenheit"}
MAX_RESULT, MAX_VALUES = 4_000, 64  # a result's characters and values beyond any template's
FAMILY_GAP = 0.1  # templates of the families whose tools are this close to the most like the live tool's
_COPULA = {"esta"}  # the words (3+ letters, accents off) of "It is " and "Está ": a frame that says only what "it" is
_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety cero uno dos tres cuatro cinco seis "
    "siete ocho nueve diez once doce trece catorce quince dieciseis diecisiete dieciocho diecinueve veinte treinta "
    "cuarenta cincuenta sesenta setenta ochenta noventa".split())  # not "million": "USD per million" is a unit
_lock = threading.Lock()
_store: list["Template"] | None = None


@dataclass(frozen=True)
class Template:
    lang: str
    family: str  # the generator's tool family (weather, add, book_info...)
    parts: tuple[str, ...]  # literal text around the slots: len(slots) + 1 pieces
    slots: tuple[tuple[str, ...], ...]  # each slot's names, in order of preference ("temperature", "@city")
    numeric: tuple[bool, ...]  # each slot's training value was a number
    fixed: tuple[tuple[str, str], ...]  # result keys not copied whose value the words depend on
    keys: frozenset[str]  # the training result's keys
    tool: frozenset[str]  # the tool's name and description words
    asked: frozenset[str]  # the question's words, values taken out


@lru_cache(maxsize=8192)
def _words(text: str) -> frozenset[str]:
    """Lower-case words of 3+ letters, accents off ("área" is the key "area_km2"'s word), snake_case and
    camelCase split."""
    text = unicodedata.normalize("NFKD", _CAMEL.sub(" ", text.replace("_", " ")))
    return frozenset(w.lower() for w in _WORD.findall("".join(c for c in text if not unicodedata.combining(c))))


def _text_of(v) -> str | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return str(v) if isinstance(v, str) else None


def values(result: str, args: dict | None) -> dict[str, str]:
    """A result's values by key (nested keys joined with "."; a plain-text result under ""), and the
    call's arguments under "@name"."""
    out: dict[str, str] = {}

    def walk(x, key):
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(x, list):
            for i, v in enumerate(x):
                walk(v, f"{key}[{i}]")
        else:
            t = _text_of(x)
            if t is not None and t.strip():
                out[key] = t.strip()

    try:
        x = json.loads(result)
        # one key around an object says nothing: google-genai sends a function's dict as {"result": {...}}
        while isinstance(x, dict) and len(x) == 1 and isinstance(next(iter(x.values())), dict):
            x = next(iter(x.values()))
        walk(x, "")
    except (ValueError, TypeError):
        if result.strip():
            out[""] = result.strip()
    for k, v in (args or {}).items():
        t = _text_of(v)
        if t is not None and t.strip():
            out["@" + str(k)] = t.strip()
    return out


def _tool_words(spec) -> frozenset[str]:
    if spec is None:
        return frozenset()
    get = (lambda k: spec.get(k)) if isinstance(spec, dict) else (lambda k: getattr(spec, k, None))
    return frozenset(_words(f"{get('name') or ''} {get('description') or ''}"))


def _asked(question: str, vals: dict[str, str]) -> frozenset[str]:
    """The question's words, without the values' (what it asks, not about what)."""
    texts = sorted({v for v in vals.values() if len(v) > 1}, key=len, reverse=True)
    if texts:
        question = re.sub(r"(?<!\w)(?:" + "|".join(map(re.escape, texts)) + r")(?!\w)", " ", question)
    return frozenset(_words(question))


def delexicalise(answer: str, vals: dict[str, str], lang: str, tool=None, question: str = "",
                 family: str = "") -> Template | None:
    """The answer as a template over `vals` (see the module docstring), or None where it cannot be one.
    A one-letter value is not copied ("C" is the unit behind "°C", not a word of it)."""
    by_text: dict[str, list[str]] = {}
    for k, v in vals.items():
        if len(v) > 1 or v.isdigit():
            by_text.setdefault(v, []).append(k)
    for names in by_text.values():
        if sum(not n.startswith("@") for n in names) > 1 or sum(n.startswith("@") for n in names) > 1:
            return None  # two result keys (or two arguments) with one value: which one the words copy is unknown
        names.sort(key=lambda n: n.startswith("@"))  # the result's key first
    texts = sorted(by_text, key=len, reverse=True)
    if not texts:
        return None
    pat = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, texts)) + r")(?![\w])")
    parts, slots, numeric, at = [], [], [], 0
    for m in pat.finditer(answer):
        parts.append(answer[at:m.start()])
        slots.append(tuple(by_text[m[1]]))
        numeric.append(bool(_NUMBER.match(m[1])))
        at = m.end()
    parts.append(answer[at:])
    if not any(not n.startswith("@") for s in slots for n in s) or any(c.isdigit() for p in parts for c in p) \
            or _words(" ".join(parts)) & _NUMBER_WORDS:
        return None  # copies nothing of the result, or says a number it did not copy ("Sixteen times six is")
    used = {n for s in slots for n in s}
    fixed = tuple(sorted((k, v.casefold()) for k, v in vals.items()
                         if not k.startswith("@") and k not in used and _CATEGORICAL.match(v)))
    return Template(lang, family, tuple(parts), tuple(slots), tuple(numeric), fixed,
                    frozenset(k for k in vals if not k.startswith("@")), _tool_words(tool), _asked(question, vals))


def _build() -> list[Template]:
    """Every training answer after a single result, as templates (held-out question templates left
    out: bench/tools.py measures on those)."""
    from .corpus import load_tools

    seen: dict[Template, None] = {}
    for row in load_tools(varied=True, records=True):
        if row["case"] not in ("result", "error") or row.get("heldout"):
            continue
        msgs = row["messages"]
        if len(msgs) < 4 or msgs[-1].get("role") != "assistant" or msgs[-2].get("role") != "tool":
            continue
        calls = msgs[-3].get("tool_calls") or []
        if len(calls) != 1:
            continue
        question = next((m["content"] for m in reversed(msgs) if m.get("role") == "user"), "")
        tool = next((t for t in row["tools"] if t["name"] == calls[0]["name"]), None)
        t = delexicalise(msgs[-1]["content"], values(msgs[-2]["content"], calls[0].get("arguments")),
                         row["lang"], tool, question, row["family"])
        if t is not None:
            seen.setdefault(t, None)
    return list(seen)


FILE = Path(__file__).parent / "data" / "result_templates.json"


def _dump(ts: list[Template]) -> str:
    rows = [[t.lang, t.family, list(t.parts), [list(x) for x in t.slots], list(t.numeric), [list(x) for x in t.fixed],
             sorted(t.keys), sorted(t.tool), sorted(t.asked)] for t in ts]
    return "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n"


def _load(text: str) -> list[Template]:
    return [Template(lang, fam, tuple(parts), tuple(tuple(x) for x in slots), tuple(num), tuple(tuple(x) for x in fixed),
                     frozenset(keys), frozenset(tool), frozenset(asked))
            for lang, fam, parts, slots, num, fixed, keys, tool, asked in json.loads(text)]


def templates() -> list[Template]:
    """The templates: the committed file (`python -m llmkit.engine.results` writes it from the
    generator, about 3 s; tests/test_results.py checks that it is current), else built here."""
    global _store
    with _lock:
        if _store is None:
            _store = _load(FILE.read_text(encoding="utf-8")) if FILE.exists() else _build()
        return _store


def _fill(t: Template, live: dict[str, str]) -> tuple[str, set[str]] | None:
    """The template filled from `live`, and the keys it used; None where a slot has no value. A slot
    only an argument filled, under a name the live call does not have ("@ciudad"), takes the live
    call's next unused argument of its kind (a number or not): tools name their arguments freely."""
    chosen: list[str | None] = []
    for names, num in zip(t.slots, t.numeric):
        name = next((n for n in names if n in live and bool(_NUMBER.match(live[n])) == num), None)
        if name is None:  # the same words in another order or case: "input_usd_per_1m" for "usd_per_1m_input"
            same = [k for k in live if not k.startswith("@") and bool(_NUMBER.match(live[k])) == num
                    and any(not n.startswith("@") and _words(n) and _words(n) == _words(k) for n in names)]
            name = same[0] if len(same) == 1 else None
        if name is None and not any(n.startswith("@") for n in names):
            return None
        chosen.append(name)
    spare = [k for k in live if k.startswith("@") and k not in chosen]
    for i, (name, num) in enumerate(zip(chosen, t.numeric)):
        if name is None:
            kind = [k for k in spare if bool(_NUMBER.match(live[k])) == num]
            if len(kind) > 1:  # which number is which: by the names' words ("discount" for "discount_percent")
                mine = set().union(*(_words(n[1:]) for n in t.slots[i]))
                kind = [k for k in kind if _words(k[1:]) & mine]
                if len(kind) != 1:
                    return None  # not told apart: a swapped number would be said as a fact
            if not kind:
                return None
            spare.remove(kind[0])
            chosen[i] = kind[0]
    out, used = [t.parts[0]], set(chosen)
    for name, part in zip(chosen, t.parts[1:]):
        out += [live[name], part]
    said = {live[n] for n in chosen}
    used |= {k for k, v in live.items() if v in said}  # an argument the result repeats: said too
    for k, v in t.fixed:
        if k not in live and _DEFAULTED.get(k) == _SAME.get(v, v):  # a result that leaves its unit out
            continue
        got = live.get(k, "").casefold()
        if _SAME.get(got, got) != _SAME.get(v, v) and not (got and len(got) <= 40 and re.search(
                r"(?<!\w)" + re.escape(got) + r"(?!\w)", "\x00".join(t.parts).casefold())):
            return None  # neither the training value nor the word the template says ("soleado" in "y está soleado")
        used.add(k)
    return "".join(out), used


def _by_lang() -> dict[str, list[Template]]:
    global _langs
    if _langs is None:
        got: dict[str, list[Template]] = {}
        for t in templates():
            got.setdefault(t.lang, []).append(t)
        _langs = got
    return _langs


def _tools_by_lang() -> dict[str, list[tuple[frozenset, str]]]:
    """Each language's distinct (tool words, family) pairs: what the live tool is compared with."""
    global _tools
    if _tools is None:
        _tools = {lang: list(dict.fromkeys((t.tool, t.family) for t in ts)) for lang, ts in _by_lang().items()}
    return _tools


_langs: dict | None = None
_tools: dict | None = None


def _jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


_idf: dict[str, float] = {}


def _tool_like(a: frozenset, b: frozenset) -> float:
    """How alike two tools' words are, each word weighed by how few families' tools use it ("get",
    "current" and "the" are in most; "weather" and "stock" name one)."""
    if not _idf:
        fams: dict[str, set[str]] = {}
        for t in templates():
            fams.setdefault(t.family, set()).update(t.tool)
        n = len(fams)
        df: dict[str, int] = {}
        for words in fams.values():
            for w in words:
                df[w] = df.get(w, 0) + 1
        _idf.update({w: math.log((n + 1) / (c + 0.5)) for w, c in df.items()})
        _idf[""] = math.log(n + 1)  # a word no family's tool has
    w = lambda words: sum(_idf.get(x, _idf[""]) for x in words)
    union = w(a | b)
    return w(a & b) / union if union else 0.0


def answer(result: str, args: dict | None, tool, question: str, lang: str) -> str | None:
    """The answer to `question` after the tool's `result` (to a call with `args`) that the best-fitting
    template writes, in `lang`; None where no template fits. Only the families whose tools are most like
    the live one's are looked at (a weather result is never said as a time); a tool like none of them
    only by templates over the same keys."""
    if len(result) > MAX_RESULT:
        return None
    live = values(result, args)
    keys = frozenset(k for k in live if not k.startswith("@"))
    if not keys or len(live) > MAX_VALUES:  # no training result is that big: nothing fits
        return None
    tool_w, asked = _tool_words(tool), _asked(question, live)
    mine = _by_lang().get(lang, [])
    like: dict[frozenset, float] = {}  # a few dozen distinct tools among the templates
    near: dict[str, float] = {}
    for tools, fam in _tools_by_lang().get(lang, ()):
        like[tools] = _tool_like(tool_w, tools)
        near[fam] = max(near.get(fam, 0.0), like[tools])
    top = max(near.values(), default=0.0)
    cands = [t for t in mine if ((near[t.family] >= top - FAMILY_GAP) if top > 0 else t.keys == keys)]
    # how well an answer's form fits the question: the best of the questions it answered in training (one
    # form comes with many key names and phrasings, each row with one of each)
    fits: dict[tuple, float] = {}
    for t in cands:
        form = (t.family, t.parts, t.fixed)
        fits[form] = max(fits.get(form, 0.0), _jaccard(asked, t.asked))
    best, score = None, 0.0
    for t in cands:
        got = _fill(t, live)
        if got is None:
            continue
        text, used = got
        said = len(used & keys)
        if said == 0:  # it says nothing of the result
            continue
        # a field the question names ("area" for area_km2, "author"): the answer that says it
        said_words = set().union(*(_words(k) for k in used if not k.startswith("@")))
        named = 2.0 * len(asked & said_words) / len(said_words) if said_words else 0.0
        s = 8.0 * said / len(keys) + 3.0 * like[t.tool] + 3.0 * fits[(t.family, t.parts, t.fixed)] \
            + _jaccard(keys, t.keys) + named
        if best is None or s > score:
            best, score = text, s
    if best is None and len(keys) == 1 and not _NUMBER.match(live[next(iter(keys))]) \
            and len(live[next(iter(keys))].split()) <= 4 and len(live[next(iter(keys))]) <= 60:
        # one short word or phrase ("sunny": google-genai's README weather function): said as what "it" is,
        # the frame the flight status's answers use ("It is delayed.", "Está retrasado.")
        value = live[next(iter(keys))]
        for t in mine:
            if len(t.slots) == 1 and not t.numeric[0] and not t.fixed and set(_words(" ".join(t.parts))) <= _COPULA \
                    and not any(n.startswith("@") for n in t.slots[0]):
                return t.parts[0] + value + t.parts[1]
    return best


if __name__ == "__main__":
    FILE.write_text(_dump(_build()), encoding="utf-8")
    print(f"{FILE}: {len(_load(FILE.read_text(encoding='utf-8')))} templates")
