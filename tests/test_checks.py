"""llmkit.checks: the learntools-style check/hint/solution objects, the recording of HTTP
traffic they rely on, and every day's checks against right, untouched and wrong answers.

The checks run against a gateway started in this process (llmkit.gateway_url()).
"""

from __future__ import annotations

import copy
import importlib
import io
import pickle
import re
from contextlib import redirect_stdout

import pytest

from llmkit.checks import Incorrect, NotAttempted, Problem, ____, recording
from llmkit.checks.core import call

DAYS = ["day00", "day01", "day02", "day03", "day04"]


@pytest.fixture(autouse=True)
def _not_strict(monkeypatch):
    monkeypatch.delenv("LLMKIT_CHECKS_STRICT", raising=False)


@pytest.fixture()
def sdk_env(monkeypatch):
    """The SDKs' variables pointed at this process's gateway, as setup() would (for day 0's
    first_call, which builds OpenAI() itself)."""
    import llmkit

    url = llmkit.gateway_url()
    monkeypatch.setenv("OPENAI_BASE_URL", url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "llmkit-offline")
    return url


def shown(fn, *args) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        fn(*args)
    return out.getvalue()


# -- the placeholder ---------------------------------------------------------------------------

def test_placeholder_is_a_singleton_that_fails_loudly_when_used():
    assert repr(____) == "____"
    assert copy.deepcopy(____) is ____ and pickle.loads(pickle.dumps(____)) is ____
    with pytest.raises(NotImplementedError):
        ____.choices
    with pytest.raises(NotImplementedError):
        ____("x")
    with pytest.raises(AttributeError):
        ____.__array__  # dunder probes (numpy, IPython, copy) get a plain AttributeError
    assert getattr(____, "_repr_html_", None) is None


# -- Problem: check / hint / solution ------------------------------------------------------------

def _problem(checker, names=("answer",)):
    return Problem("q9", names, checker, hint="think about it", solution="answer = 42")


def test_correct_incorrect_and_not_attempted():
    def checker(answer):
        if call(answer) != 42:
            raise Incorrect(f"got {call(answer)!r}")
        return "yes"

    p = _problem(checker)
    assert repr(p.evaluate(lambda: 42)) == "[q9] Correct: yes"
    assert repr(p.evaluate(lambda: 41)) == "[q9] Incorrect: got 41"
    assert p.evaluate(____).kind == "Not attempted"

    def untouched():
        raise NotImplementedError("your code here")

    assert p.evaluate(untouched).kind == "Not attempted"
    assert p.evaluate(lambda: ____).kind == "Not attempted"  # returned the placeholder


def test_a_check_never_raises_on_the_learner():
    def checker(answer):
        return call(answer)["missing"]

    p = _problem(checker)
    out = p.evaluate(lambda: 1 / 0)
    assert out.kind == "Incorrect" and "ZeroDivisionError" in out.message
    out = p.evaluate(lambda: {})  # the checker itself trips: still an outcome, never an exception
    assert out.kind == "Incorrect" and "KeyError" in out.message
    assert shown(p.check, lambda: {}).startswith("[q9] Incorrect:")
    assert p.evaluate(1, 2).kind == "Incorrect"  # wrong number of arguments


def test_strict_mode_raises_after_showing(monkeypatch):
    p = _problem(lambda answer: "fine" if call(answer) == 42 else (_ for _ in ()).throw(Incorrect("no")))
    monkeypatch.setenv("LLMKIT_CHECKS_STRICT", "1")
    assert shown(p.check, lambda: 42).startswith("[q9] Correct")
    out = io.StringIO()
    with redirect_stdout(out), pytest.raises(AssertionError, match="Incorrect"):
        p.check(lambda: 0)
    assert "[q9] Incorrect: no" in out.getvalue()
    with redirect_stdout(io.StringIO()), pytest.raises(AssertionError, match="Not attempted"):
        p.check(____)


answer = ____  # looked up by name by the next test, as a notebook's global


def test_objects_are_found_in_the_callers_globals():
    global answer
    p = _problem(lambda a: "found" if a == 7 else "other")
    assert shown(p.check).startswith("[q9] Not attempted")
    answer = 7
    try:
        assert shown(p.check) == "[q9] Correct: found\n"
    finally:
        answer = ____
    missing = _problem(lambda a: "x", names=("no_such_name_here",))
    out = shown(missing.check)
    assert out.startswith("[q9] Not attempted") and "no_such_name_here" in out


def test_hint_and_solution_show_text_and_code():
    p = _problem(lambda a: "x")
    assert shown(p.hint) == "[q9] Hint: think about it\n"
    assert shown(p.solution) == "[q9] Solution: one way to write it:\n    answer = 42\n"
    html = p.evaluate(____)._repr_html_()
    assert "Not attempted" in html and "<b>" in html


# -- recording ----------------------------------------------------------------------------------

def test_recording_sees_httpx_and_sdk_traffic_and_keeps_streams_intact():
    import httpx

    from llmkit.checks import clients

    import httpx2

    base = clients.gateway()
    client = clients.openai()
    originals = (httpx.Client.send, httpx.AsyncClient.send, httpx2.Client.send, httpx2.AsyncClient.send)
    with recording() as rec:
        httpx.get(base + "/health")
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                               max_tokens=5, temperature=0)
        pieces = [c.choices[0].delta.content or "" for c in client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=5, temperature=0,
            stream=True) if c.choices]
    assert [e.path for e in rec] == ["/health", "/v1/chat/completions", "/v1/chat/completions"]
    health, plain, streamed = rec.exchanges
    assert health.method == "GET" and health.status == 200 and health.response_json["status"] == "healthy"
    assert plain.json["max_tokens"] == 5 and plain.headers["authorization"].startswith("Bearer ")
    assert plain.response_json["choices"][0]["message"]["content"] == reply.choices[0].message.content
    assert streamed.streamed and streamed.sse_data[-1] == "[DONE]"
    wire = "".join(e["choices"][0]["delta"].get("content") or "" for e in streamed.sse_data
                   if isinstance(e, dict) and e["choices"])
    assert wire == "".join(pieces) and wire
    with recording() as rec2:
        pass
    assert len(rec2) == 0
    assert (httpx.Client.send, httpx.AsyncClient.send, httpx2.Client.send, httpx2.AsyncClient.send) == originals


# -- every day's checks ---------------------------------------------------------------------------

def _solution_namespace(problem) -> dict:
    ns: dict = {}
    exec("import os, json, time\nimport httpx\n" + problem._solution, ns)
    return ns


def _problems():
    out = []
    for day in DAYS:
        mod = importlib.import_module(f"llmkit.checks.{day}")
        for name in sorted((n for n in vars(mod) if re.fullmatch(r"q\d+", n)), key=lambda n: int(n[1:])):
            out.append(pytest.param(getattr(mod, name), id=f"{day}.{name}"))
    return out


@pytest.mark.parametrize("problem", _problems())
def test_each_solution_is_correct_and_each_placeholder_not_attempted(problem, sdk_env):
    ns = _solution_namespace(problem)
    values = [ns[n] for n in problem.names]
    outcome = problem.evaluate(*values)
    assert outcome.kind == "Correct", outcome
    assert problem.evaluate(*[____ for _ in problem.names]).kind == "Not attempted"

    def untouched(*args, **kwargs):
        raise NotImplementedError("your code here")

    async def untouched_async(*args, **kwargs):
        raise NotImplementedError("your code here")

    stubs = [untouched_async if n == "astream" else untouched for n in problem.names]
    assert problem.evaluate(*stubs).kind == "Not attempted"
    assert problem.evaluate(*[(lambda *a, **k: None) for _ in problem.names]).kind == "Incorrect"


def _wrong(day: str, q: str, source: str):
    mod = importlib.import_module(f"llmkit.checks.{day}")
    problem = getattr(mod, q)
    ns: dict = {}
    exec("import os, json, time\nimport httpx\n" + source, ns)
    return problem.evaluate(*[ns[n] for n in problem.names])


WRONG = [
    ("day00", "q1", "def key_status(name):\n    return os.environ.get(name) or 'not set'", "showed the key"),
    ("day00", "q4", "from openai import OpenAI\ndef first_call(q):\n"
                    "    c = OpenAI(api_key='sk-hard.coded.in.the.code')\n"
                    "    return c.chat.completions.create(model='gpt-4o-mini', temperature=0,"
                    " messages=[{'role': 'user', 'content': q}]).choices[0].message.content", "OPENAI_API_KEY"),
    ("day01", "q1", "def explain_status(code):\n    return 'success' if code < 400 else 'client error' if code < 500"
                    " else 'server error'", "redirection"),
    ("day01", "q2", "def get_json(base_url, path):\n    return httpx.get(base_url + path).json()", "raise"),
    ("day01", "q3", "def chat(base_url, message, api_key):\n    return httpx.post(base_url + '/chat', "
                    "json={'message': message, 'temperature': 0}).json()['response']", "Authorization"),
    ("day01", "q4", "def retry_after(response):\n    v = response.headers.get('retry-after')\n"
                    "    return v and float(v)", "None"),
    ("day02", "q1", "def ask(client, question, system=None):\n    msgs = [{'role': 'user', 'content': question}]\n"
                    "    if system: msgs.append({'role': 'system', 'content': system})\n"
                    "    return client.chat.completions.create(model='gpt-4o-mini', messages=msgs, temperature=0)"
                    ".choices[0].message.content", "system message goes first"),
    ("day02", "q2", "def chat_turn(client, history, text):\n    history.append({'role': 'user', 'content': text})\n"
                    "    r = client.chat.completions.create(model='gpt-4o-mini', messages=[history[-1]])\n"
                    "    history.append({'role': 'assistant', 'content': r.choices[0].message.content})\n"
                    "    return r.choices[0].message.content", "whole conversation"),
    ("day02", "q4", "def ask_json(client, question):\n    r = client.chat.completions.create(model='gpt-4o-mini', "
                    "messages=[{'role': 'user', 'content': question}], response_format={'type': 'json_object'})\n"
                    "    return json.loads(r.choices[0].message.content)", "mentions JSON"),
    ("day02", "q5", "def cost(response, price_in, price_out):\n    u = response.usage\n"
                    "    return u.total_tokens * price_in / 1e6", "expected"),
    ("day03", "q1", "def ask_claude(client, question, system):\n    r = client.messages.create(model='claude-haiku-4-5',"
                    " max_tokens=100, messages=[{'role': 'system', 'content': system},"
                    " {'role': 'user', 'content': question}])\n    return r.content[0].text", "system"),
    ("day03", "q5", "def gemini_chat(client, messages):\n    return [client.models.generate_content("
                    "model='gemini-2.5-flash', contents=m).text for m in messages]", "history"),
    ("day04", "q1", "def stream_print(client, question):\n    r = client.chat.completions.create(model='gpt-4o-mini',"
                    " messages=[{'role': 'user', 'content': question}])\n    print(r.choices[0].message.content)\n"
                    "    return r.choices[0].message.content, 1", "stream=True"),
    ("day04", "q2", "def parse_sse(lines):\n    return [json.loads(l[5:]) for l in lines if l.startswith('data:')"
                    " and '[DONE]' not in l]", "stop at [DONE]"),
    ("day04", "q5", "def astream(client, question):\n    return 'not async'", "async def"),
]


@pytest.mark.parametrize("day,q,source,why", WRONG, ids=[f"{d}.{q}" for d, q, _, _ in WRONG])
def test_wrong_answers_are_incorrect_and_say_why(day, q, source, why, sdk_env):
    outcome = _wrong(day, q, source)
    assert outcome.kind == "Incorrect", outcome
    assert why in outcome.message, outcome.message


def test_not_attempted_and_incorrect_are_distinct_from_errors_in_the_check():
    with pytest.raises(NotAttempted):
        call(____)
    with pytest.raises(Incorrect, match="ValueError: bad"):
        call(lambda: (_ for _ in ()).throw(ValueError("bad")))
