"""Day 8's checks (building apps): every solution is Correct, untouched exercises are Not
attempted, a differently written right answer is Correct too, and the wrong answers a student
really writes (returning the tool's result instead of the answer, arguments not parsed, JSON mode
instead of a schema, a dict instead of the model, an unvalidated object, the least similar
documents, the right ones in the wrong order, every document stuffed into the prompt, sources
that were never sent) are Incorrect with a message that says what to fix.

The checks call the learner's functions with clients on a gateway started in this process
(llmkit.gateway_url()).
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap

import pytest

from llmkit.checks import ____, day08

PROBLEMS = sorted((n for n in vars(day08) if re.fullmatch(r"q\d+", n)), key=lambda n: int(n[1:]))
PRELUDE = '''
import json, heapq, math
from typing import Literal
import numpy as np
from pydantic import BaseModel, Field
from llmkit import catalog

def model_price(model: str) -> dict:
    entry = catalog.find(model)
    if entry is None:
        raise ValueError(f"no model called {model!r} in the catalog")
    return {"model": entry.id, "input_usd_per_1m": entry.price_in, "output_usd_per_1m": entry.price_out,
            "context_window": entry.context_length}

PRICE_TOOL = {"type": "function", "function": {
    "name": "model_price", "description": "List price of a model, and its context window.",
    "parameters": {"type": "object", "properties": {"model": {"type": "string"}}, "required": ["model"],
                   "additionalProperties": False}, "strict": True}}

class Ticket(BaseModel):
    category: Literal["billing", "bug", "account", "question"]
    urgent: bool
    summary: str = Field(description="the request in one short sentence")
'''


@pytest.fixture(autouse=True)
def _not_strict(monkeypatch):
    monkeypatch.delenv("LLMKIT_CHECKS_STRICT", raising=False)


def _namespace(source: str) -> dict:
    ns: dict = {}
    source = PRELUDE + textwrap.dedent(day08.q3._solution) + "\n" + textwrap.dedent(source)
    exec(compile(source, "<answer>", "exec", dont_inherit=True), ns)  # no `annotations` future: pydantic reads them
    return ns


def _evaluate(q: str, source: str):
    problem = getattr(day08, q)
    ns = _namespace(source)
    with contextlib.redirect_stdout(io.StringIO()):
        return problem.evaluate(*[ns[n] for n in problem.names])


def test_day08_has_four_problems():
    assert PROBLEMS == ["q1", "q2", "q3", "q4"]


@pytest.mark.parametrize("q", PROBLEMS)
def test_each_solution_is_correct_and_each_placeholder_not_attempted(q):
    problem = getattr(day08, q)
    outcome = _evaluate(q, problem._solution)
    assert outcome.kind == "Correct", outcome
    assert problem.evaluate(*[____ for _ in problem.names]).kind == "Not attempted"

    def untouched(*args, **kwargs):
        raise NotImplementedError("your code here")

    assert problem.evaluate(*[untouched for _ in problem.names]).kind == "Not attempted"


def test_a_check_never_raises_on_the_learner():
    for q in PROBLEMS:
        problem = getattr(day08, q)
        out = problem.evaluate(*[(lambda *a, **k: 1 / 0) for _ in problem.names])
        assert out.kind == "Incorrect", out
        assert problem.evaluate(*[42 for _ in problem.names]).kind == "Incorrect"


# -- right answers written differently --------------------------------------------------------

RIGHT = [
    ("q1", """
    def answer_with_tool(client, question):
        messages = [{"role": "user", "content": question}]
        forced = {"type": "function", "function": {"name": "model_price"}}   # a named tool, then auto
        response = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[PRICE_TOOL],
                                                  tool_choice=forced)
        while response.choices[0].finish_reason == "tool_calls":
            message = response.choices[0].message
            messages.append(message.model_dump(exclude_none=True))
            for tc in message.tool_calls:
                args = json.loads(tc.function.arguments)
                try:
                    content = str(model_price(args["model"]))     # a Python repr, not JSON: still the result
                except (ValueError, KeyError, TypeError) as e:
                    content = f"error: {e}"
                messages.append({"role": "tool", "tool_call_id": tc.id, "content": content})
            response = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[PRICE_TOOL])
        return response.choices[0].message.content
    """),
    ("q2", """
    from pydantic import ValidationError

    def extract_ticket(client, text):
        fmt = {"type": "json_schema", "json_schema": {"name": "ticket", "schema": Ticket.model_json_schema()}}
        response = client.chat.completions.create(
            model="gpt-4o-mini", response_format=fmt,
            messages=[{"role": "user", "content": "Turn this support message into a ticket:\\n" + text}])
        if response.choices[0].finish_reason != "stop":
            return None                                   # cut short: nothing trustworthy
        try:
            return Ticket.model_validate_json(response.choices[0].message.content)
        except ValidationError:
            return None
    """),
    ("q3", """
    def top_k(client, query, docs, k=3):
        embed = lambda text: client.embeddings.create(model="text-embedding-3-small", input=text).data[0].embedding
        q = embed(query)
        def cos(a, b):
            return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
        scored = [(cos(embed(d), q), d) for d in docs]     # one request per document: slower, same ranking
        return [d for _, d in heapq.nlargest(k, scored, key=lambda pair: pair[0])]
    """),
    ("q4", """
    def answer_with_sources(client, question, docs, k=3):
        data = client.embeddings.create(model="text-embedding-3-small",
                                        input=[question] + [d["text"] for d in docs]).data
        q, rest = np.array(data[0].embedding), np.array([x.embedding for x in data[1:]])
        sims = rest @ q / np.linalg.norm(rest, axis=1) / np.linalg.norm(q)
        picked = [docs[i] for i in sorted(range(len(docs)), key=lambda i: -sims[i])[:k]]
        sources = "\\n\\n".join(f"[{d['id']}]: {d['text']}" for d in picked)
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "user", "content": f"Use these sources and cite them by id.\\n\\n{sources}\\n\\nQ: {question}"}])
        return {"sources": [d["id"] for d in picked], "answer": reply.choices[0].message.content}
    """),
]


@pytest.mark.parametrize("q,source", RIGHT, ids=[q for q, _ in RIGHT])
def test_right_answers_written_differently_are_correct(q, source):
    outcome = _evaluate(q, source)
    assert outcome.kind == "Correct", outcome


# -- wrong answers a student would write ----------------------------------------------------------

_Q1 = day08.q1._solution
_Q2 = day08.q2._solution
_Q3 = day08.q3._solution
_Q4 = day08.q4._solution

WRONG = [
    # q1: the tool's result returned as the answer (the model never sees it)
    ("q1", """
    def answer_with_tool(client, question):
        response = client.chat.completions.create(model="gpt-4o-mini", tools=[PRICE_TOOL], tool_choice="required",
                                                  messages=[{"role": "user", "content": question}])
        call = response.choices[0].message.tool_calls[0]
        try:
            return json.dumps(model_price(**json.loads(call.function.arguments)))
        except ValueError as e:
            return str(e)
    """, "sent nothing back"),
    # q1: the arguments passed as the JSON string, not parsed
    ("q1", _Q1.replace("model_price(**json.loads(call.function.arguments))", "model_price(call.function.arguments)"),
     "json.loads(call.function.arguments)"),
    # q1: tool_choice="required" on every request: the model can never answer
    ("q1", _Q1.replace('choice = "auto"', 'pass'), "could never answer"),
    # q1: the tool messages sent without the assistant's message that made the calls
    ("q1", re.sub(r"\n *messages\.append\(message\)\n", "\n", _Q1), "assistant's message"),
    # q1: the results sent under another id than the call's
    ("q1", _Q1.replace('"tool_call_id": call.id', '"tool_call_id": "call_1"'), "no tool message answers the call"),
    # q1: the loop runs, but what comes back is the tool's result, not the model's answer
    ("q1", _Q1.replace("return message.content", "return messages[-1]['content']"), "not the tool's result"),
    # q1: no tool offered at all
    ("q1", """
    def answer_with_tool(client, question):
        r = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
        return r.choices[0].message.content
    """, "no tool named model_price"),
    # q2: JSON mode, no schema
    ("q2", """
    def extract_ticket(client, text):
        r = client.chat.completions.create(model="gpt-4o-mini", response_format={"type": "json_object"},
                                           messages=[{"role": "user", "content": "Reply in JSON: " + text}])
        return Ticket.model_validate_json(r.choices[0].message.content)
    """, "send the schema"),
    # q2: a dict, not the model
    ("q2", _Q2.replace("return response.choices[0].message.parsed",
                       "return json.loads(response.choices[0].message.content)"), "return a Ticket"),
    # q2: something returned whatever came back
    ("q2", """
    def extract_ticket(client, text):
        fmt = {"type": "json_schema", "json_schema": {"name": "ticket", "schema": Ticket.model_json_schema()}}
        r = client.chat.completions.create(model="gpt-4o-mini", response_format=fmt,
                                           messages=[{"role": "user", "content": text}])
        try:
            return Ticket.model_validate_json(r.choices[0].message.content)
        except Exception:
            return Ticket(category="question", urgent=False, summary=text)   # a default 'to be safe'
    """, "must raise"),
    ("q2", """
    def extract_ticket(client, text):
        fmt = {"type": "json_schema", "json_schema": {"name": "ticket", "schema": Ticket.model_json_schema()}}
        r = client.chat.completions.create(model="gpt-4o-mini", response_format=fmt,
                                           messages=[{"role": "user", "content": text}])
        return Ticket.model_construct(**json.loads(r.choices[0].message.content))   # no validation
    """, "does not fit the schema"),
    # q3: ascending order (the least similar)
    ("q3", _Q3.replace("np.argsort(-scores)[:k]", "np.argsort(scores)[:k]"), "least"),
    # q3: the top k, but in ascending order
    ("q3", _Q3.replace("return [docs[i] for i in np.argsort(-scores)[:k]]",
                       "return [docs[i] for i in sorted(range(len(docs)), key=lambda i: scores[i])[-k:]]"),
     "wrong order"),
    # q3: indices instead of documents
    ("q3", _Q3.replace("return [docs[i] for i in np.argsort(-scores)[:k]]", "return list(np.argsort(-scores)[:k])"),
     "documents themselves"),
    # q3: k ignored
    ("q3", _Q3.replace("np.argsort(-scores)[:k]", "np.argsort(-scores)[:3]"), "return exactly k"),
    # q4: every document in the prompt
    ("q4", _Q4.replace("for d in chosen)", "for d in docs)"), "stuffing"),
    # q4: sources claimed that were not sent (every id)
    ("q4", _Q4.replace('"sources": [d["id"] for d in chosen]', '"sources": [d["id"] for d in docs]'),
     "was not in the prompt"),
    # q4: texts sent without their ids
    ("q4", _Q4.replace("f\"[{d['id']}] {d['text']}\"", "d['text']"), "without its label"),
    # q4: keyword overlap instead of embeddings
    ("q4", """
    def answer_with_sources(client, question, docs, k=3):
        words = set(question.lower().split())
        chosen = sorted(docs, key=lambda d: -len(words & set(d["text"].lower().split())))[:k]
        context = "\\n".join(f"[{d['id']}] {d['text']}" for d in chosen)
        r = client.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "user", "content": f"Sources:\\n{context}\\n\\nQuestion: {question}"}])
        return {"answer": r.choices[0].message.content, "sources": [d["id"] for d in chosen]}
    """, "no request to /embeddings"),
]


@pytest.mark.parametrize("q,source,why", WRONG, ids=[f"{q}-{i}" for i, (q, _, _) in enumerate(WRONG)])
def test_wrong_answers_are_incorrect_and_say_why(q, source, why):
    outcome = _evaluate(q, source)
    assert outcome.kind == "Incorrect", outcome
    assert why in outcome.message, outcome.message


def test_strict_mode_raises_on_a_wrong_answer(monkeypatch):
    monkeypatch.setenv("LLMKIT_CHECKS_STRICT", "1")
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(AssertionError, match="Incorrect"):
        day08.q3.check(lambda client, query, docs, k=3: docs[:k])
