"""Day 7's checks (tokens, costs, scale): every solution is Correct, untouched exercises are
Not attempted, and the wrong answers a student would really write are Incorrect with a
message that says what to fix; a correct answer written differently passes."""

from __future__ import annotations

import re
import textwrap

import pytest

import llmkit
from llmkit.checks import ____, day07

PROBLEMS = sorted((n for n in vars(day07) if re.fullmatch(r"q\d+", n)), key=lambda n: int(n[1:]))


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.delenv("LLMKIT_CHECKS_STRICT", raising=False)
    monkeypatch.setenv("LLMKIT_OFFLINE", "1")
    llmkit.setup(offline=True, quiet=True)


def _evaluate(q: str, source: str):
    problem = getattr(day07, q)
    ns: dict = {}
    exec(textwrap.dedent(source), ns)
    return problem.evaluate(*[ns[n] for n in problem.names])


def test_day07_has_four_problems():
    assert PROBLEMS == ["q1", "q2", "q3", "q4"]


@pytest.mark.parametrize("q", PROBLEMS)
def test_each_solution_is_correct_and_each_placeholder_not_attempted(q):
    problem = getattr(day07, q)
    assert _evaluate(q, problem._solution).kind == "Correct"
    assert problem.evaluate(*[____ for _ in problem.names]).kind == "Not attempted"
    untouched = {"q2": "async def run_batch(prompts, send, *, rpm, tpm, tokens, concurrency):\n"
                       "    raise NotImplementedError('your code here')\n",
                 "q4": "class CostTracker:\n    def __init__(self, budget, alert_at=0.8):\n"
                       "        raise NotImplementedError('your code here')\n"}
    name = problem.names[0]
    source = untouched.get(q, f"def {name}(*args, **kwargs):\n    raise NotImplementedError('your code here')\n")
    assert _evaluate(q, source).kind == "Not attempted"
    out = problem.evaluate(*[(lambda *a, **k: 1 / 0) for _ in problem.names])  # never raises
    assert out.kind == "Incorrect" and "ZeroDivisionError" in out.message


# ---- q1: the cost of a prompt before sending it ------------------------------------------------

Q1_RIGHT_OTHERWISE = """
from llmkit import catalog, count_tokens

def prompt_cost(messages, model, max_tokens):
    m = catalog.find(model)
    per_token_in, per_token_out = m.price_in / 1e6, m.price_out / 1e6
    return count_tokens(messages, model) * per_token_in + max_tokens * per_token_out
"""


@pytest.mark.parametrize("source, said", [
    ("""
import llmkit
def prompt_cost(messages, model, max_tokens):
    e = llmkit.catalog.find(model)
    words = sum(len(m["content"].split()) for m in messages)
    return (words * e.price_in + max_tokens * e.price_out) / 1_000_000
""", "words"),
    ("""
import llmkit
def prompt_cost(messages, model, max_tokens):
    e = llmkit.catalog.find(model)
    chars = len(" ".join(m["content"] for m in messages))
    return (chars / 4 * e.price_in + max_tokens * e.price_out) / 1_000_000
""", "4 characters per token"),
    ("""
import llmkit
def prompt_cost(messages, model, max_tokens):
    e = llmkit.catalog.find(model)
    return (llmkit.count_tokens(messages, model) + max_tokens) * e.price_out / 1_000_000
""", "output price for the input"),
    ("""
import llmkit
def prompt_cost(messages, model, max_tokens):
    e = llmkit.catalog.find(model)
    n = sum(llmkit.count_tokens(m["content"], model) for m in messages)
    return (n * e.price_in + max_tokens * e.price_out) / 1_000_000
""", "framing"),
    ("""
import llmkit
from openai import OpenAI
def prompt_cost(messages, model, max_tokens):
    e = llmkit.catalog.find(model)
    r = OpenAI().chat.completions.create(model=model, messages=messages, max_tokens=1)
    return (r.usage.prompt_tokens * e.price_in + max_tokens * e.price_out) / 1_000_000
""", "sent a request"),
])
def test_q1_wrong_answers(source, said):
    out = _evaluate("q1", source)
    assert out.kind == "Incorrect" and said in out.message, out


def test_q1_right_answer_written_differently():
    assert _evaluate("q1", Q1_RIGHT_OTHERWISE).kind == "Correct"


# ---- q2: the rate-limited batch runner ----------------------------------------------------------

Q2_BASE = """
import asyncio
from aiolimiter import AsyncLimiter
from llmkit.errors import LLMError, RateLimitError
"""
# a student's run_batch up to its per-prompt helper, right so far (limiters, semaphore, a 429 retried): the
# wrong answers below that start with it differ in what a failure becomes and how results are handed back
LIMITED = """
async def run_batch(prompts, send, *, rpm, tpm, tokens, concurrency):
    req, tok, sem = AsyncLimiter(rpm, 60), AsyncLimiter(tpm, 60), asyncio.Semaphore(concurrency)
    async def one(p):
        async with sem:
            while True:
                await req.acquire(); await tok.acquire(tokens(p))
                try:
                    return await send(p)
                except RateLimitError as e:
                    await asyncio.sleep(e.retry_after)"""
LIMITED_ONE = LIMITED + """
                except LLMError as e:
                    return e"""


@pytest.mark.parametrize("body, said", [
    # a fixed one-second pause instead of a limiter
    ("""
async def run_batch(prompts, send, *, rpm, tpm, tokens, concurrency):
    results = []
    for p in prompts:
        while True:
            try:
                results.append(await send(p)); break
            except RateLimitError as e:
                await asyncio.sleep(e.retry_after)
            except LLMError as e:
                results.append(e); break
        await asyncio.sleep(1)
    return results
""", "faster than 4 per minute"),
    # results in completion order
    (LIMITED_ONE + """
    out = []
    for f in asyncio.as_completed([one(p) for p in prompts]):
        out.append(await f)
    return out
""", "out of order"),
    # failures reported first, then the answers (in order): every item there, the failure out of its place
    (LIMITED_ONE + """
    results = await asyncio.gather(*(one(p) for p in prompts))
    return [r for r in results if isinstance(r, Exception)] + [r for r in results if not isinstance(r, Exception)]
""", "out of order"),
    # failures dropped silently
    (LIMITED + """
    results = await asyncio.gather(*(one(p) for p in prompts), return_exceptions=True)
    return [r for r in results if not isinstance(r, Exception)]
""", "nothing dropped"),
    # failures turned into None
    (LIMITED + """
                except LLMError:
                    return None
    return await asyncio.gather(*(one(p) for p in prompts))
""", "report the failure"),
    # a 429 is given up on, not retried
    ("""
async def run_batch(prompts, send, *, rpm, tpm, tokens, concurrency):
    req, tok, sem = AsyncLimiter(rpm, 60), AsyncLimiter(tpm, 60), asyncio.Semaphore(concurrency)
    async def one(p):
        async with sem:
            await req.acquire(); await tok.acquire(tokens(p))
            return await send(p)
    return await asyncio.gather(*(one(p) for p in prompts), return_exceptions=True)
""", "retried after its Retry-After"),
    # requests per minute only: the tokens-per-minute limit is ignored
    ("""
async def run_batch(prompts, send, *, rpm, tpm, tokens, concurrency):
    req, sem = AsyncLimiter(rpm * 3, 60), asyncio.Semaphore(concurrency)
    async def one(p):
        async with sem:
            while True:
                await req.acquire()
                try:
                    return await send(p)
                except RateLimitError as e:
                    await asyncio.sleep(e.retry_after)
                except LLMError as e:
                    return e
    return await asyncio.gather(*(one(p) for p in prompts))
""", "per minute"),
    # no semaphore: every request in flight at once
    ("""
async def run_batch(prompts, send, *, rpm, tpm, tokens, concurrency):
    async def one(p):
        while True:
            try:
                return await send(p)
            except RateLimitError as e:
                await asyncio.sleep(e.retry_after)
            except LLMError as e:
                return e
    return await asyncio.gather(*(one(p) for p in prompts))
""", "in flight at once"),
    # a plain def
    ("""
def run_batch(prompts, send, *, rpm, tpm, tokens, concurrency):
    return [None for _ in prompts]
""", "async def"),
])
def test_q2_wrong_answers(body, said):
    out = _evaluate("q2", Q2_BASE + body)
    assert out.kind == "Incorrect" and said in out.message, out


def test_q2_right_answer_written_differently():
    """A sliding window by hand on the loop's clock, a worker pool instead of a semaphore,
    results put in place by index."""
    source = Q2_BASE + """
from collections import deque

class Window:
    def __init__(self, limit, period=60.0):
        self.limit, self.period, self.used = limit, period, deque()
    async def take(self, n=1):
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            while self.used and self.used[0][0] <= now - self.period:
                self.used.popleft()
            if sum(w for _, w in self.used) + n <= self.limit:
                self.used.append((now, n)); return
            await asyncio.sleep(self.used[0][0] + self.period - now)

async def run_batch(prompts, send, *, rpm, tpm, tokens, concurrency):
    requests, toks = Window(rpm), Window(tpm)
    results = [None] * len(prompts)
    queue = asyncio.Queue()
    for i, p in enumerate(prompts):
        queue.put_nowait((i, p))
    async def worker():
        while not queue.empty():
            i, p = queue.get_nowait()
            for attempt in range(5):
                await requests.take(); await toks.take(tokens(p))
                try:
                    results[i] = await send(p); break
                except RateLimitError as e:
                    results[i] = e
                    await asyncio.sleep(e.retry_after)
                except LLMError as e:
                    results[i] = e; break
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results
"""
    assert _evaluate("q2", source).kind == "Correct"


# ---- q3: the fine-tuning JSONL validator --------------------------------------------------------

Q3_RIGHT = day07.q3._solution


@pytest.mark.parametrize("change, said", [
    # accepts an empty assistant turn
    (("not m[\"content\"].strip()", "m[\"content\"] is None"), "empty"),
    # counts words instead of tokens
    (("n = llmkit.count_tokens(messages, model)", "n = sum(len(m['content'].split()) for m in messages)"),
     "not words or characters"),
    # counts characters instead of tokens
    (("n = llmkit.count_tokens(messages, model)", "n = sum(len(m['content']) for m in messages)"),
     "count tokens"),
    # forgets to check the last turn
    (("if messages[-1][\"role\"] != \"assistant\":", "if False:"), "no assistant turn"),
    # lets a bad JSON line stop everything
    (("except json.JSONDecodeError as e:", "except KeyError as e:"), "JSONDecodeError"),
])
def test_q3_wrong_answers(change, said):
    old, new = change
    source = textwrap.dedent(Q3_RIGHT)
    assert old in source, old
    out = _evaluate("q3", source.replace(old, new))
    assert out.kind == "Incorrect" and said in out.message, out


def test_q3_right_answer_written_differently():
    source = """
import json
from llmkit import count_tokens

def validate_jsonl(text, model, max_tokens):
    valid, errors = [], []
    for number, line in enumerate(text.split("\\n"), start=1):
        if line.strip() == "":
            continue
        try:
            data = json.loads(line)
        except ValueError:
            errors.append((number, "invalid JSON")); continue
        msgs = data.get("messages") if isinstance(data, dict) else None
        why = []
        if not msgs:
            why.append("missing messages")
        else:
            why += [f"bad role {m.get('role')}" for m in msgs if m.get("role") not in ("system", "user", "assistant")]
            why += ["blank turn" for m in msgs if not str(m.get("content") or "").strip()]
            if msgs[-1].get("role") != "assistant":
                why.append("ends without an assistant reply")
            if not why and count_tokens(msgs, model) > max_tokens:
                why.append("too many tokens")
        if why:
            errors.extend((number, w) for w in why)
        else:
            valid.append(data)
    return valid, errors
"""
    assert _evaluate("q3", source).kind == "Correct"


# ---- q4: the cost tracker ------------------------------------------------------------------------

Q4_RIGHT = textwrap.dedent(day07.q4._solution)


@pytest.mark.parametrize("change, said", [
    # the output price for everything
    (("usage.prompt_tokens * entry.price_in", "usage.prompt_tokens * entry.price_out"), "output price"),
    # the budget checked after the call was made
    (("""        if self.spent + estimate > self.budget:
            raise RuntimeError(f"refused: {self.spent:.6f} spent + {estimate:.6f} would pass {self.budget:.6f}")
        response = client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens)""",
      """        response = client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens)
        if self.spent + estimate > self.budget:
            raise RuntimeError("over budget")"""), "after its request was sent"),
    # an alert on every call past the threshold
    (("if before < self.alert_at * self.budget <= self.spent:", "if self.spent >= self.alert_at * self.budget:"),
     "alert only when crossing"),
    # never refuses
    (("if self.spent + estimate > self.budget:", "if False:"), "refuse it (raise) before sending"),
    # the estimate counts characters
    (("return (llmkit.count_tokens(messages, model) * entry.price_in",
      "return (len(str(messages)) * entry.price_in"), "estimate()"),
])
def test_q4_wrong_answers(change, said):
    old, new = change
    assert old in Q4_RIGHT, old
    out = _evaluate("q4", Q4_RIGHT.replace(old, new))
    assert out.kind == "Incorrect" and said in out.message, out


def test_q4_right_answer_written_differently():
    source = """
from llmkit import catalog, count_tokens
from llmkit.errors import BudgetExceededError

def price(model, n_in, n_out):
    m = catalog.find(model)
    return n_in * m.price_in / 1e6 + n_out * m.price_out / 1e6

class CostTracker:
    def __init__(self, budget, alert_at=0.8):
        self.budget = budget
        self.alert_at = alert_at
        self.spent = 0
        self.alerts = []
        self._alerted = False

    def estimate(self, model, messages, max_tokens):
        return price(model, count_tokens(messages, model), max_tokens)

    def ask(self, client, model, messages, max_tokens):
        worst = self.estimate(model, messages, max_tokens)
        if worst + self.spent > self.budget:
            raise BudgetExceededError("no", spent=self.spent, limit=self.budget, estimate=worst)
        r = client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens, temperature=0)
        self.spent += price(model, r.usage.prompt_tokens, r.usage.completion_tokens)
        if not self._alerted and self.spent >= self.alert_at * self.budget:
            self._alerted = True
            msg = f"{self.spent:.6f} of {self.budget:.6f} spent"
            self.alerts.append(msg)
            print("ALERT", msg)
        return r.choices[0].message.content
"""
    assert _evaluate("q4", source).kind == "Correct"
