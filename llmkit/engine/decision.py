"""Whether a tool call is due: what the training conversations did with questions and tools like these.

With tool_choice "auto" the first token decides between a call and a text answer (engine/tools.py). The
6M-parameter network learned that decision for the sentence forms it was trained on, but a question asked
another way tips it: the Ollama README's "What is three plus one?" with `add_two_numbers` got P(call) 0.003
(a text answer), where "What is 3 plus 1?" got 0.54. The same remedy as for its answers (guide.py): a
nearest-neighbour prior from the training data, mixed with the network's own probability.

Every decision point of the training tool conversations (corpus/tools_gen.py, held-out question templates
left out) gives one pair per offered tool: the question's words, the tool's words (name, description,
argument names), and whether that tool was called. For a live question and its tools, each live tool's
neighbours are the pairs whose tool is like it (words weighed by how few tools use them: "weather" names
one, "get" most) ranked by question likeness x tool likeness, and the plain course questions answered in
text whatever the tools (ranked by question likeness: "Tell me a joke" is one of them with any tool); its
prior is the share of the `K` nearest that were calls. The call's prior is the largest of the live tools'; none where no training tool is like
any live one (a tool of a kind the data never had: the network alone decides). The first step's
probability of a call becomes (1 - `MIX`) x the network's + `MIX` x the prior (tools.CallWriter.first_step);
the network's distribution among the call's first tokens, and among the text's, is kept. Which tool: while
the name is written, each tool's share of the priors goes to the tokens that spell it, as the network
spreads it among them (tools.CallWriter.name_step), mixed in the same measure.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from .lexical import _fold  # lower case without accents

K = 15  # nearest pairs a live tool's prior is read from
MIN_LIKE = 0.35  # a training tool this like the live one (idf-weighted word overlap) is a neighbour's
FAMILY_GAP = 0.1  # ... and within this of the most like it: "get the local time in a city" is 0.45 like
# "get the current weather in a city", and its questions ("Tell me the time in Paris") are no weather's
# the prior's share of the first step's call probability: retrieval's share at a reply's first token
# (guide.MIX_FIRST), which this decision is; for a question the training data has word for word (numbers
# aside), retrieval's share while it follows an answer word for word (guide.MIX_EXACT): "What is three plus
# one?" is "What is 3 plus 1?", whose call the network gave 0.002 and the data 0.95, and at MIX_FIRST a fresh
# gateway's first sampled reply to the Ollama README still answered in text. Set from the design, not
# measured on the held-out bench.
from .guide import MIX_EXACT, MIX_FIRST as MIX  # noqa: E402
EXACT = 0.99  # a question this like a training question (cosine of their word vectors) is that question
MAX_QUESTION = 2_000  # characters of the question read (a pasted document is not a question form)
FILE = Path(__file__).parent / "data" / "tool_decisions.json"
_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve twenty hundred thousand cero uno una dos "
    "tres cuatro cinco seis siete ocho nueve diez once doce veinte cien mil".split())
_lock = threading.Lock()
_index: "_Index | None" = None


def words(text: str) -> list[str]:
    """A text's words, accents off; a number (digits or a small number's word) is "#": "3 plus 1" and
    "three plus one" are one form."""
    return ["#" if w.isdigit() or w in _NUMBER_WORDS else w for w in re.findall(r"[^\W_]+", _fold(text[:MAX_QUESTION]))]


def tool_words(tool) -> frozenset[str]:
    """A tool's name, description and argument names, as words (a ToolSpec or a neutral dict)."""
    get = (lambda k: getattr(tool, k, None)) if not isinstance(tool, dict) else tool.get
    params = get("parameters") or {}
    props = params.get("properties") if isinstance(params, dict) else None
    text = f"{get('name') or ''} {get('description') or ''} {' '.join(props) if isinstance(props, dict) else ''}"
    return frozenset(words(text.replace("_", " ")))


def _build() -> dict:
    """The training pairs: distinct questions and distinct tools (their words, space-separated), per pair
    (question, tool, called) three numbers in a row, and the plain questions (answered in text whatever the
    tools)."""
    from .corpus import load_tools

    questions: dict[tuple, int] = {}
    tools_: dict[frozenset, int] = {}
    pairs, plain = set(), set()
    for row in load_tools(varied=True, records=True):
        if row.get("heldout"):
            continue
        msgs = row["messages"]
        last = max(i for i, m in enumerate(msgs) if m.get("role") == "user")
        for i, m in enumerate(msgs):
            # a decision on a user turn (the turn after a result is the result's answer: results.py)
            if m.get("role") != "assistant" or i == 0 or msgs[i - 1].get("role") != "user":
                continue
            q = tuple(words(msgs[i - 1]["content"]))
            called = {c["name"] for c in m.get("tool_calls") or []}
            qi = questions.setdefault(q, len(questions))
            if not called and (row["case"] == "no_tool" or i - 1 < last):
                plain.add(qi)  # a course question answered in text whatever the tools ("Tell me a joke")
            for t in row["tools"]:
                ti = tools_.setdefault(tool_words(t), len(tools_))
                pairs.add((qi, ti, int(t["name"] in called)))
    # flat and as strings: a server loads it in about 3 MB (nested lists of words took 11 at their peak)
    return {"questions": [" ".join(q) for q in questions], "tools": [" ".join(sorted(t)) for t in tools_],
            "pairs": [x for p in sorted(pairs) for x in p], "plain": sorted(plain)}


def _dump(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class _Index:
    """The pairs as arrays: the questions' TF-IDF vectors by word (a CSR matrix, word -> questions, weights),
    each tool's pairs; about 3 MB."""

    def __init__(self, data: dict):
        self.tools = [frozenset(t.split()) for t in data["tools"]]
        vocab: dict[str, int] = {}
        q_of, w_of = [], []
        for qi, q in enumerate(data["questions"]):
            for w in q.split():
                q_of.append(qi)
                w_of.append(vocab.setdefault(w, len(vocab)))
        self.n = n = len(data["questions"])
        keys, tf = np.unique(np.array(q_of, dtype=np.int64) * len(vocab) + np.array(w_of, dtype=np.int64),
                             return_counts=True)  # (question, word) and how often the question has it
        qs, ws = (keys // len(vocab)).astype(np.int32), (keys % len(vocab)).astype(np.int32)
        idf = np.log((n + 1) / (np.bincount(ws, minlength=len(vocab)) + 0.5))
        self.idf = {w: float(idf[i]) for w, i in vocab.items()}
        self.unseen = math.log(n + 1)
        x = (1 + np.log(tf)) * idf[ws]
        x /= np.sqrt(np.bincount(qs, weights=x * x, minlength=n))[qs]
        order = np.argsort(ws, kind="stable")
        self.vocab, self.at, self.weight = vocab, qs[order], x[order].astype(np.float32)
        self.ptr = np.concatenate([[0], np.cumsum(np.bincount(ws, minlength=len(vocab)))])
        pairs = np.array(data["pairs"], dtype=np.int32).reshape(-1, 3)
        self.pairs_of_tool = {int(t): (pairs[pairs[:, 1] == t, 0], pairs[pairs[:, 1] == t, 2])
                              for t in np.unique(pairs[:, 1])}  # tool -> (questions, called)
        self.plain = np.array(data["plain"], dtype=np.int32)
        tdf = Counter(w for t in self.tools for w in t)
        self.tidf = {w: math.log((len(self.tools) + 1) / (c + 0.5)) for w, c in tdf.items()}
        self.tunseen = math.log(len(self.tools) + 1)

    def _vector(self, q: Counter) -> dict[str, float]:
        v = {w: (1 + math.log(c)) * self.idf.get(w, self.unseen) for w, c in q.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        return {w: x / norm for w, x in v.items()}

    def tool_like(self, a: frozenset, b: frozenset) -> float:
        """The weighted share of the smaller tool's words that the other has: a docstring's "Args: a (int):
        The first number ... Returns: int: The sum" (the Ollama README's add_two_numbers) does not make a
        tool less like "add two numbers"."""
        weigh = lambda s: sum(self.tidf.get(x, self.tunseen) for x in s)
        least = min(weigh(a), weigh(b))
        return weigh(a & b) / least if least else 0.0

    def prior(self, question: str, tools) -> float | None:
        """The call's prior: the largest of the tools'."""
        got = [p for p in self.priors(question, tools) if p is not None]
        return max(got) if got else None

    def priors(self, question: str, tools) -> list[float | None]:
        """Each tool's prior (None: no training tool like it)."""
        return self._priors(question, tools)[0]

    def _priors(self, question: str, tools) -> tuple[list[float | None], float]:
        """Each tool's prior, and how like the question its most like training question is."""
        sims = np.zeros(self.n, dtype=np.float64)
        for w, x in self._vector(Counter(words(question))).items():
            if w in self.vocab:
                a, b = self.ptr[self.vocab[w]], self.ptr[self.vocab[w] + 1]
                sims[self.at[a:b]] += x * self.weight[a:b]
        out: list[float | None] = []
        for t in tools:
            live = tool_words(t)
            likes = [self.tool_like(live, known) for known in self.tools]
            out.append(None)
            if max(likes, default=0.0) < MIN_LIKE:  # a kind of tool the data never had: no opinion on it
                continue
            floor = max(MIN_LIKE, max(likes) - FAMILY_GAP)  # the tools most like it (as results.py)
            # a plain question's neighbours say "text" for any tool
            score = [sims[self.plain] ** 2 * MIN_LIKE]
            called = [np.zeros(len(self.plain), dtype=np.int32)]
            for ti, like in enumerate(likes):
                if like >= floor and ti in self.pairs_of_tool:
                    qi, y = self.pairs_of_tool[ti]
                    score.append(sims[qi] ** 2 * like)
                    called.append(y)
            s, y = np.concatenate(score), np.concatenate(called)
            keep = s > 0
            s, y = s[keep], y[keep]
            top = np.lexsort((-y, -s))[:K]  # the nearest first (a call first among equals)
            weight = float(s[top].sum())
            if weight > 0:
                out[-1] = float((s[top] * y[top]).sum()) / weight
        return out, float(sims.max(initial=0.0))


def index() -> _Index:
    """The pairs' index: the committed file (`python -m llmkit.engine.decision` writes it from the generator;
    tests/test_decision.py checks that it is current), else built here."""
    global _index
    with _lock:
        if _index is None:
            _index = _Index(json.loads(FILE.read_text(encoding="utf-8")) if FILE.exists() else _build())
        return _index


def tool_priors(messages: list[dict], tools) -> dict[str, float] | None:
    """The training data's probability that the last user turn, with these tools, gets a call of each tool
    (the tools no training tool is like left out); None where the last turn is not the user's or no tool has one."""
    if not tools or not messages or messages[-1].get("role") != "user":
        return None
    c = messages[-1].get("content")
    text = c if isinstance(c, str) else " ".join(p.get("text", "") for p in c or [] if isinstance(p, dict))
    if not text.strip():
        return None
    found, like = index()._priors(text, tools)
    got = Priors({getattr(t, "name", None) or t.get("name"): p for t, p in zip(tools, found) if p is not None})
    got.share = MIX_EXACT if like >= EXACT else MIX
    return got or None


class Priors(dict):
    """Each tool's prior, and `share`: how much of a step they take (MIX, or MIX_EXACT for a training question)."""

    share: float = MIX


def call_prior(messages: list[dict], tools) -> float | None:
    """The probability of a call: the largest of `tool_priors`."""
    got = tool_priors(messages, tools)
    return max(got.values()) if got else None


if __name__ == "__main__":
    FILE.write_text(_dump(_build()), encoding="utf-8")
    d = json.loads(FILE.read_text(encoding="utf-8"))
    print(f"{FILE}: {len(d['questions'])} questions, {len(d['tools'])} tools, {len(d['pairs']) // 3} pairs")
