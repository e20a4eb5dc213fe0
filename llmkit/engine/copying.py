"""Copying from the conversation where the network is unsure: a pointer for a small model.

A tool call's arguments come from the user's words ("Paris" in "What's the weather in
Paris?") and the answer after a tool result from the result ("18", "sunny"). A 6M-parameter
network learns the shape of both (the call, "It is _ °C in _.") long before it learns to
copy, so it writes a plausible city or number of its own. Pointer-generator models solve
this with a learned gate between generating and copying; here the gate is the network's own
uncertainty: where its next-token distribution is spread out (a slot to fill, not a template
word), part of the probability moves to the tokens that continue or start a span of the
sources, in proportion to what the network itself gives them. Where it is sure, nothing
changes; a token the network (or the grammar) gives 0 stays 0, so the network still writes
every token and the grammar still holds.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
import numpy as np

STRENGTH = 0.9  # the most probability that moves to copies (at full uncertainty) in a call's arguments
TEXT_STRENGTH = 0.5  # in an answer, where most words are the network's own
ENDED = 0.02  # what is left of a token that would run on into a word copied whole
LOW, HIGH = 0.5, 2.0  # entropy (nats) where copying starts / is at full strength
_CUT = re.compile(r"[\"«»“”„{}\[\],;:?!¿¡\n]|\.(?:\s|$)")  # where a copied phrase ends
_KEY_END = re.compile(r'":\s*$')  # after a key, before its value
_NAME_START = re.compile(r'<tool_call>\n\{"name":\s*"?$')  # the tool's name: the network's choice, not a copy
_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*')  # a key of the JSON written so far
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')  # a whole JSON string (an array's items so far)
_VALUE_START = re.compile(r'":\s*"?$')  # `"city": "` or `"value": ` inside a call's arguments


def _piece(t: str) -> bool:
    """A token that is part of a character split across tokens (a byte of "ï" or "東"): it decodes
    alone to U+FFFD. Such pieces are inside words: "naïve" is 'n' 'a' <byte> <byte> 've'."""
    return "\ufffd" in t


@lru_cache(maxsize=4)
def _alnum(tok) -> np.ndarray:
    return np.array([(lambda t: any(c.isalnum() for c in t) or _piece(t))(tok.decode([i])) for i in range(tok.vocab_size)])


@lru_cache(maxsize=4)
def _quote_punct(tok) -> np.ndarray:
    """Tokens that open a string and go on with punctuation (`"}`, `":`): an argument's value
    starts with a word (a token boundary after the quote, as token healing keeps one)."""
    return np.array([bool(re.match(r'\s*"[^\w"\s]', tok.decode([i]))) for i in range(tok.vocab_size)])


@lru_cache(maxsize=4)
def _closing(tok) -> np.ndarray:
    """Tokens that close a JSON string (begin with a quote)."""
    return np.array([tok.decode([i]).startswith('"') for i in range(tok.vocab_size)])


@lru_cache(maxsize=8)
def quote_then(tok, ch: str) -> np.ndarray:
    """Tokens that close a JSON string and go on with `ch` (`"]`, `",`): how an array's item ends."""
    return np.array([re.match(r'"\s*' + re.escape(ch), tok.decode([i])) is not None for i in range(tok.vocab_size)])


@lru_cache(maxsize=4)
def _point_led(tok) -> np.ndarray:
    """Tokens that begin with a decimal point (they go on a number)."""
    return np.array([tok.decode([i]).startswith(".") for i in range(tok.vocab_size)])


@lru_cache(maxsize=4)
def _glue(tok) -> np.ndarray:
    """Tokens that begin with a letter or digit (or a piece of a character): written right after a
    word, they extend it."""
    return np.array([(lambda t: bool(t) and (t[0].isalnum() or _piece(t[0])))(tok.decode([i]))
                     for i in range(tok.vocab_size)])


# how much/many in Spanish (retrieval's stop words leave them in: "cuánto" can be what a question is
# about); a capitalised question word opening a sentence is never an argument's value
_ASKING = {"cuánto", "cuánta", "cuántos", "cuántas", "cuanto", "cuanta", "cuantos", "cuantas"}

WORDS, QUOTED, QUOTES = 0, 1, 2  # a phrase of the sources; one the user quoted, without / with its quotes
_QUOTED = re.compile(r'"([^"\n]{2,80})"|“([^”\n]{2,80})”|«([^»\n]{2,80})»|\'([^\'\n]{2,80})\'(?!\w)')


# a list the user wrote ("San Francisco, Tokyo, and Paris", "en Madrid y en Lima"): names joined by commas
# and a conjunction, a preposition repeated or not (not numbers: "10 minus 4 and 6 plus 6" is no list of operands)
_NAME = r"(?:[A-ZÁÉÍÓÚÑÜ][\w'’.-]*(?:\s+(?:(?:de|del|la|las|los|of|the)\s+)?[A-ZÁÉÍÓÚÑÜ][\w'’.-]*)*)"
_PREP = r"(?:(?:in|en|for|para|of|de|at|to|a|the|el|la)\s+)?"
_AND = r"(?:\s*,\s*(?:(?:and|y|e|or|o|&)\s+)?|\s+(?:and|y|e|or|o|&)\s+)"
_LIST = re.compile(rf"(?<![\w'’-]){_NAME}(?:{_AND}{_PREP}{_NAME})+")
_CONJ = re.compile(r"(?:^|\s)(?:and|y|e|or|o|&)\s")
MAX_LISTED = 8  # items of one list: more is pasted text, not a question naming a few places


def listed(text: str) -> list[list[str]]:
    """The lists of names `text` coordinates (at least one conjunction: "Paris, France"
    alone is one place), each as its items."""
    from .guide import _STOP

    out = []
    for m in _LIST.finditer(text[:2000]):
        seps = [bool(_CONJ.search(" " + x.group(0))) for x in re.finditer(_AND, m.group(0))]
        # "A and B", "A, B, and C", "A y B y C": not "Paris, France and Tokyo, Japan" (pairs, not a list)
        if not seps or not seps[-1] or (not all(seps) and any(seps[:-1])):
            continue
        items = re.findall(rf"(?<![\w'’-]){_NAME}", re.sub(rf"{_AND}{_PREP}", " | ", m.group(0)))
        items = [i for i in (x.strip(" .") for x in items) if len(i) > 1 and i.lower() not in _STOP]  # not "I"
        if 2 <= len(items) <= MAX_LISTED and len({i.lower() for i in items}) == len(items):
            out.append(items)
    return out


def _says(value, item: str) -> bool:
    """A call's argument value says `item` (as a whole word, any case)."""
    return re.search(r"(?<!\w)" + re.escape(item.lower()) + r"(?!\w)", str(value).lower()) is not None


def uncovered(lists: list[list[str]], calls: list[tuple[str, dict]]) -> bool:
    """Whether the calls written so far leave an item of a listed group unasked, where each call asked
    for one of its items (the OpenAI cookbook's "San Francisco, Tokyo, and Paris": three calls of one
    tool). A call whose value holds two items ("Paris, France") is not such a group: the model decides."""
    if not calls or len({name for name, _ in calls}) != 1:
        return False
    for items in lists:
        per = [sum(any(_says(v, i) for v in args.values() if isinstance(v, (str, int, float))) for i in items)
               for _, args in calls]
        if all(n == 1 for n in per) and len(calls) < len(items):
            return True
    return False


def json_text(s: str) -> str:
    """`s` as it is written inside a JSON string (quotes, backslashes and control characters
    escaped, other characters as they are: the layout of tools.dumps)."""
    return json.dumps(s, ensure_ascii=False)[1:-1]


class _Table:
    """The token sequences of the sources' phrases, written one way: as text (an answer) or
    inside a JSON string (a call's arguments, where `"` is `\\"` and `\\` is `\\\\`)."""

    def __init__(self, tok, phrases: dict[str, tuple[str, bool]], words: list[str], escape: bool):
        w = json_text if escape else (lambda x: x)
        seqs: dict[tuple, tuple[str, bool, int]] = {}
        for text, (first, kind) in phrases.items():
            seqs.setdefault(tuple(tok.encode(" " + w(text))), (first, True, kind))
            seqs.setdefault(tuple(tok.encode(w(text))), (first, False, kind))
        self.seqs = [(seq, first, spaced, kind) for seq, (first, spaced, kind) in seqs.items() if seq]
        # whole copied words (and whole quoted phrases, their closing quote written)
        whole = [x.rstrip(".") for x in words] + [t for t, (_, k) in phrases.items() if k == QUOTES]
        self.ends = {tuple(tok.encode(w(x))) for x in whole if x} | {tuple(tok.encode(" " + w(x))) for x in whole if x}
        self.ends.discard(())
        # a quoted phrase written whole, closing quote included: nothing of it goes on (its end, `\\"`,
        # is also how it begins)
        self.closed = {tuple(tok.encode(w(t))) for t, (_, k) in phrases.items() if k == QUOTES}


class Copier:
    """`copier(probs, out, so_far, in_call)`: the next-token distribution with copies of the
    sources mixed in (see the module docstring). Copying works on tokens, as a pointer
    network's does: every span of the sources (from each word to the end of its phrase, and a
    phrase the user put in quotes, whole, with and without its quotes) is tokenized as it would
    be written, with and without a space before it: as text in an answer, JSON-escaped in a
    call's arguments (a quote the user typed is written `\\"`, never a bare `"` that would end
    the string). A copy begins with a span's first token where a value begins (in a call) or
    where the network is unsure (in an answer); once begun it is carried on token by token
    while the network allows it; a word is begun no more often than the sources say it. `out` is the
    reply's token ids so far, `so_far` the end of its text."""

    def __init__(self, tok, sources: list[str], after_result: bool = False, known: set[str] | None = None,
                 json_reply: bool = False, preferred: dict | None = None):
        self.after_result = after_result  # copy into a text answer too (it follows a tool result)
        self.json_reply = json_reply  # the whole reply is JSON values (structured output): copy as into a call's arguments
        # words a copy never starts with: function words, and the tools' own words ("weather" in
        # "What's the weather in Quito?" names the tool; "Quito" is what the question adds)
        from .guide import _NUMBER_WORDS, _STOP

        skip = _STOP | _ASKING | {w.lower() for w in (known or set())}
        spans = [p.split() for src in sources for p in _CUT.split(src)]
        phrases: dict[str, tuple[str, int]] = {}  # text -> (its first word, WORDS | QUOTED | QUOTES)
        for words in spans:
            words = [w for w in words if w]
            for k in range(len(words)):
                if words[k].lower().strip(".'’") in skip or words[k].lower().split("'")[0] in skip:
                    continue
                # a phrase goes on only through names and numbers ("New York", "10 kg"): not into the rest of the sentence
                end = k + 1
                while end < len(words) and (words[end][:1].isupper() or words[end][:1].isdigit()
                                            or words[end - 1][:1].isdigit()):
                    end += 1
                text = " ".join(words[k:end]).rstrip(".")
                if len(text) > 1 or text.isdigit():
                    phrases.setdefault(text, (words[k], WORDS))
        for src in sources:  # what the user quoted is one phrase, whatever its words
            for m in _QUOTED.finditer(src):
                inner = " ".join(next(g for g in m.groups() if g is not None).split())
                if len(inner) > 1 and any(c.isalnum() for c in inner):
                    phrases[inner] = (inner.split()[0], QUOTED)
                    phrases.setdefault(f'"{inner}"', (inner.split()[0], QUOTES))
        # the phrase each key's value is (engine/extraction.py): copied whole, as a quoted phrase is
        self.preferred = preferred or {}
        for v in self.preferred.values():
            for item in v if isinstance(v, list) else [v]:
                for x in item.values() if isinstance(item, dict) else [item]:  # a record's values (extraction.records)
                    if len(x) > 1 or x.isdigit():
                        phrases[x] = (x.split()[0], QUOTED)
        words = [w for ws in spans for w in ws if w]
        # quoted phrases are values of a call; an answer copies words and names, as it did
        plain = {t: v for t, v in phrases.items() if v[1] == WORDS}
        # a number said in words is a number in a call's arguments ("Add seven and nine": 7 and 9)
        numerals = [_NUMBER_WORDS[w.lower().strip(".,;:!?¿¡")] for w in words
                    if w.lower().strip(".,;:!?¿¡") in _NUMBER_WORDS]
        for n in numerals:
            phrases.setdefault(n, (n, WORDS))
        self.times = Counter(words + numerals)  # how often the sources say each word: a copy begins that often at most
        self.tables = {False: _Table(tok, plain, words, escape=False), True: _Table(tok, phrases, words + numerals, escape=True)}
        self.seqs = self.tables[True].seqs
        self.glue = _glue(tok)  # tokens that would run on into the word before them
        self.point = _point_led(tok)
        # the lists the user's words hold, for calls of one tool per item (`uncovered`)
        self.lists = [] if after_result or json_reply else [x for src in sources for x in listed(src)]
        self.decode = tok.decode
        self.alnum = _alnum(tok)  # a copy is a word's token, never bare whitespace or punctuation

    def state(self, out: list[int], in_call: bool = True) -> set[int]:
        """The tokens that carry on a copy the reply is in the middle of (empty if none)."""
        return self._state(out, in_call)[0]

    def _state(self, out: list[int], in_call: bool, opened: bool = False) -> tuple[set[int], set[int], set[int]]:
        """(next tokens of the longest copy in progress, those of them that go on a phrase the user
        quoted (carried on whole, not only while the network is unsure), and those that go on one
        written with its quotes: its quotes and punctuation are copied too). A phrase with its quotes
        is under way from its second token on, or from its first (the escape) where it `opened` the
        value: a backslash elsewhere is the network's own escape."""
        best, nexts, named, quoted = 0, set(), set(), set()
        for seq, _, _, kind in self.tables[in_call].seqs:
            for j in range(min(len(seq) - 1, len(out)), best - 1 if best else 0, -1):
                if kind == QUOTES and j < 2 and not opened:
                    break
                if tuple(out[-j:]) == seq[:j]:
                    if j < len(out) and self.glue[out[-j]] and self.decode(out[-j - 1:-j])[-1:].isalnum():
                        continue  # it would begin inside a word already written ("22" -> "222...")
                    if j > best:
                        best, nexts, named, quoted = j, set(), set(), set()
                    nexts.add(seq[j])
                    if kind != WORDS:
                        named.add(seq[j])
                    if kind == QUOTES:
                        quoted.add(seq[j])
                    break
        return nexts, named, quoted

    def starts(self, out: list[int], so_far: str, in_call: bool = True) -> set[int]:
        """First tokens of the spans a copy may begin with: with a space before them, or without
        one right after a quote or the like; not a word the reply has as often as the sources."""
        return self._starts(out, so_far, in_call)

    def _starts(self, out: list[int], so_far: str, in_call: bool) -> set[int]:
        """The first tokens; in a call, what the user put in quotes is the value when there is such
        a phrase: it alone may begin one. A copy begins with the phrase's words, as most values are
        written; its quotes are the network's to write (then the copy carries the phrase on)."""
        written = self.decode(out)
        bare = not so_far or so_far[-1] in "\"'([{\n\t "  # right after a quote, a bracket or a space
        got, named = set(), set()
        for seq, first, spaced, kind in self.tables[in_call].seqs:
            if kind == QUOTES or spaced == bare or bool(self.glue[seq[0]]) == spaced:
                continue
            said = len(re.findall(r"(?<!\w)" + re.escape(first) + r"(?!\w)", written))
            if said >= self.times.get(first, 1) or seq[0] in out[-3:]:
                continue  # a word the reply has as often as the sources ("10 + 10": twice), or a start it
                # just wrote ("0 0 0 0" where "0.15" was meant)
            got.add(seq[0])
            if kind != WORDS:
                named.add(seq[0])
        return named if in_call and named else got

    def _record_here(self, text: str) -> tuple[list[dict], int, str] | None:
        """Inside an array that `preferred` gives records for (extraction.records): (the records, the index of
        the record being written or -1 between two, that record's text so far); None elsewhere."""
        for key, want in self.preferred.items():
            if not (isinstance(want, list) and want and isinstance(want[0], dict)):
                continue
            opened = None
            for opened in re.finditer(r'"' + re.escape(json_text(key)) + r'"\s*:\s*\[', text):
                pass
            if opened is None:
                continue
            after = text[opened.end():]
            depth, index, start, in_str, esc = 0, -1, 0, False, False
            for j, ch in enumerate(after):
                if in_str:
                    esc, in_str = (False, True) if esc else (ch == "\\", ch != '"')
                elif ch == '"':
                    in_str = True
                elif ch in "{[":
                    depth += 1
                    if depth == 1 and ch == "{":
                        index, start = index + 1, j
                elif ch in "}]":
                    depth -= 1
                    if depth < 0:  # the array is closed
                        break
            else:
                return (want, index, after[start:]) if depth >= 1 else (want, -1, "")
        return None

    def _preferred_here(self, out: list[int]) -> tuple[str | list[str] | None, str]:
        """What `preferred` gives the key whose value the JSON so far is writing, and the text after that key."""
        text = self.decode(out)
        record = self._record_here(text)
        if record is not None:  # a key of one record: its value, if the record has one
            want, index, text = record
            if not 0 <= index < len(want):
                return None, ""
            keys = list(_KEY.finditer(text))
            return (want[index].get(json.loads(f'"{keys[-1][1]}"')), text[keys[-1].end():]) if keys else (None, "")
        keys = list(_KEY.finditer(text))
        if not keys:
            return None, ""
        try:
            return self.preferred.get(json.loads(f'"{keys[-1][1]}"')), text[keys[-1].end():]
        except ValueError:
            return None, ""

    def items_wanted(self, out: list[int]) -> int | None:
        """How many items `preferred` gives the array being written, or None."""
        if not self.preferred:
            return None
        record = self._record_here(self.decode(out))
        if record is not None:  # between two records (or before the first): as many as the text names
            return len(record[0]) if record[1] < 0 else None
        want, after = self._preferred_here(out)
        return len(want) if isinstance(want, list) and after.startswith("[") else None

    def _preferred_starts(self, out: list[int]) -> set[int]:
        """The first tokens of the phrase `preferred` gives for the value beginning here (in an array, its
        next item), or an empty set."""
        want, after = self._preferred_here(out)
        if want is None:
            return set()
        if isinstance(want, list):
            if not after.startswith("["):
                return set()
            done = len(_STRING.findall(after))
            if done >= len(want):
                return set()
            want = want[done]
        elif after not in ("", '"'):
            return set()
        # a number right after `:` comes with its space (`"age": 22`); a string's words right after its quote
        space = not after and self.decode(out[-1:]).endswith((":", ","))
        return {seq[0] for seq, first, spaced, kind in self.tables[True].seqs
                if kind == QUOTED and spaced == space and self.decode(list(seq)).strip() == json_text(want)}

    def _preferred_done(self, out: list[int]) -> bool:
        """The string value being written is the whole phrase `preferred` gives its key: it closes here
        ("Ollama", not "Ollama 22 years", where the user's phrase goes on)."""
        if not self.preferred:
            return False
        want, after = self._preferred_here(out)
        return isinstance(want, str) and after == '"' + json_text(want)

    def _preferred_next(self, out: list[int]) -> set[int]:
        """The next token of the phrase `preferred` gives the value being written, once begun: "22", not
        "23", after a " 2" both begin with; an empty set where none is under way."""
        want, after = self._preferred_here(out)
        if not isinstance(want, str) or not after.strip(' "'):
            return set()
        got = set()
        for seq, first, spaced, kind in self.tables[True].seqs:
            if kind != QUOTED or self.decode(list(seq)).strip() != json_text(want):
                continue
            for j in range(min(len(seq) - 1, len(out)), 0, -1):
                if tuple(out[-j:]) == seq[:j]:
                    got.add(seq[j])
                    break
        return got

    def word_ended(self, out: list[int], in_call: bool = True) -> bool:
        """The reply ends with a whole word copied from the sources."""
        return any(tuple(out[-len(e):]) == e for e in self.tables[in_call].ends if len(e) <= len(out))

    def __call__(self, probs: np.ndarray, out: list[int], so_far: str, in_call: bool = False,
                 value_start: bool | None = None) -> np.ndarray:
        """`value_start`: whether a JSON value begins here, where the caller follows the JSON (a
        structured reply: an array's items too); else read from the text (`"key": `)."""
        in_call = in_call or self.json_reply
        if not self.seqs or not (in_call or self.after_result):
            return probs
        opened = bool(in_call and so_far.endswith("\\") and _VALUE_START.search(so_far[:-1])
                      and not _NAME_START.search(so_far[:-1]))  # `"query": "\\`
        nexts, named, quoted = self._state(out, in_call, opened)
        if in_call and quoted and self.decode(out[-1:]) == "\\":
            # an escape that opens the value, or closes the quoted phrase copied, is its quote (not \\n)
            keep = np.zeros(len(probs), dtype=bool)
            keep[list(quoted)] = True
            if (probs[keep] > 0).any():
                probs = np.where(keep, probs, 0.0)
                probs /= probs.sum()
        if self.word_ended(out, in_call):  # the source's word ends here: nothing runs on into it
            probs = probs.copy()
            if in_call:  # an argument copied whole: its phrase goes on, or the string closes
                keep = _closing(self.decode.__self__).copy()
                if not (probs[keep] > 0).any():  # a bare value (a number, "31"): it ends, no digit or decimals run on
                    keep = ~(self.glue | self.point)
                if not any(tuple(out[-len(e):]) == e for e in self.tables[True].closed if len(e) <= len(out)) \
                        and not self._preferred_done(out):
                    keep[list(nexts)] = True
                if (probs[keep] > 0).any():
                    probs[~keep] = 0.0
            else:
                probs[self.glue] *= ENDED
            probs /= probs.sum()
        opens = _KEY_END.search(so_far) if value_start is None else value_start and not so_far.endswith('"')
        if in_call and opens:  # a string value opens: its quote comes alone (or with a
            bad = _quote_punct(self.decode.__self__)  # word), never fused with punctuation: `"}`, `":`
            if (probs[~bad] > 0).any() and (probs[bad] > 0).any():
                probs = np.where(bad, 0.0, probs)
                probs /= probs.sum()
        support = probs > 0  # what the grammar allows
        p = probs[probs > 1e-12]
        entropy = float(-(p * np.log(p)).sum())
        uncertain = min(1.0, max(0.0, (entropy - LOW) / (HIGH - LOW)))
        # the rest of a word (or a quoted phrase, or a number's decimals: "2" ".5") begun: carry it on
        after_digit = bool(out) and self.decode(out[-1:])[-1:].isdigit()
        hits = {i for i in nexts if self.glue[i] or (self.point[i] and after_digit)} | named
        going = self._preferred_next(out) if self.preferred else None
        if going:  # the phrase this key's value is, under way: its own next token
            hits = going
        # a structured reply's values are the user's phrases while one is left (extraction): which one is
        # the network's choice, sampled at the request's temperature, but a value begins with one and a
        # word begun is written whole (at temperature 1 a tenth of the mass elsewhere derailed values
        # into the network's free text: "date": " by tr knowledge from 809; ...")
        decisive = 1.0 if self.json_reply else STRENGTH
        if hits:  # in a call, a word begun is written whole too ("San Fran" was closed there at temperature 1)
            gate = 1.0 if in_call and any(self.glue[i] for i in hits) else decisive
        elif in_call and (_VALUE_START.search(so_far) if value_start is None else value_start) \
                and not _NAME_START.search(so_far):  # an argument's value begins
            gate, hits = decisive, self._starts(out, so_far, in_call)
            mine = self._preferred_starts(out) if self.preferred else None
            if mine:  # the phrase this key's value is: it alone begins it
                hits = mine
        elif in_call and nexts and self.word_ended(out, in_call):  # a name goes on ("San" -> "San Francisco")
            gate, hits = STRENGTH, nexts
        else:  # the next word of a phrase, or a new one in an answer: where the network is unsure
            gate = (STRENGTH if in_call else TEXT_STRENGTH) * uncertain
            hits = (nexts | (set() if in_call else self._starts(out, so_far, in_call))) if gate > 0 else set()
        # a copy is a word's token, except a quoted phrase's own quotes, spaces and punctuation
        hits = [i for i in hits if support[i] and (self.alnum[i] or i in quoted or self.point[i])]
        if gate <= 0.0 or not hits:
            return probs
        copy = np.zeros_like(probs)
        copy[hits] = probs[hits]
        copy /= copy.sum()
        return (1.0 - gate) * probs + gate * copy


def _leaves(x) -> list[str]:
    """A JSON value's leaves, not its keys."""
    if isinstance(x, dict):
        return [v for item in x.values() for v in _leaves(item)]
    if isinstance(x, list):
        return [v for item in x for v in _leaves(item)]
    return [] if x is None or isinstance(x, bool) else [str(x)]


def _values(text: str) -> list[str]:
    """A tool result's values (a JSON result's leaves), or its text."""
    try:
        return _leaves(json.loads(text))
    except ValueError:
        return [text]


def _call_values(m: dict) -> list[str]:
    """The argument values of an assistant turn's tool calls (a result may leave out what was asked
    for: "18 °C" says nothing of Paris, the call's {"city": "Paris"} does)."""
    out: list[str] = []
    for c in m.get("tool_calls") or []:
        args = c.get("arguments") if isinstance(c, dict) else None
        out += _values(args) if isinstance(args, str) else _leaves(args or {})
    return out


def sources(messages: list[dict]) -> list[str]:
    """What is copied: after a tool result, the results' values (what the answer reports) and the
    calls' arguments; otherwise the last user turn (where a call's arguments come from)."""
    def text(m):
        c = m.get("content") or ""
        return c if isinstance(c, str) else " ".join(p.get("text", "") for p in c if isinstance(p, dict))
    last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    if last < 0:
        return []
    results = [v for m in messages[last + 1:] if m.get("role") == "tool" for v in _values(text(m))]
    asked = [v for m in messages[last + 1:] if m.get("role") == "assistant" for v in _call_values(m)]
    return results + [v for v in asked if v not in results] if messages[-1].get("role") == "tool" \
        else [text(messages[last])]


def schema_words(schema) -> set[str]:
    """The words of a JSON schema's property names, titles and descriptions (a structured reply's
    values never start with "name" because the schema has a field called so)."""
    out: set[str] = set()

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k == "properties" and isinstance(v, dict):
                    for name in v:
                        out.update(re.findall(r"[^\W_]+", str(name).lower()))
                elif k in ("title", "description") and isinstance(v, str):
                    out.update(re.findall(r"[^\W_]+", v.lower()))
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(schema)
    return out


# a request for the model's own work ("solve 8x + 31 = 2", the openai SDK's parse example), not data to copy from
_TASK = re.compile(r"\s*(?:please\s+|por favor,?\s+)?(?:solve|calculate|compute|simplify|evaluate|explain|describe|write|"
                   r"tell me|give me|resuelve|calcula|simplifica|explica|describe|escribe|dime|dame)\b", re.IGNORECASE)


def asks(messages: list[dict]) -> bool:
    """The last user turn is a question (it ends with a question mark) or asks for the model's own work
    ("Solve ...", "Explica ..."), not data to work on."""
    text = sources([m for m in messages if m.get("role") != "tool"])
    return bool(text) and (text[-1].rstrip().rstrip(")\"'»”").endswith("?") or _TASK.match(text[-1]) is not None)


def tool_words(tools) -> set[str]:
    """The words of the tools' names, descriptions and argument names."""
    out: set[str] = set()
    for t in tools or []:
        name = getattr(t, "name", None) or (t.get("name") if isinstance(t, dict) else "") or ""
        desc = getattr(t, "description", None) or (t.get("description") if isinstance(t, dict) else "") or ""
        params = getattr(t, "parameters", None) or (t.get("parameters") if isinstance(t, dict) else {}) or {}
        props = list((params.get("properties") or {}).keys()) if isinstance(params, dict) else []
        for text in [name, desc, *props]:
            out |= set(re.findall(r"[^\W_]+", str(text).lower()))
    return out
