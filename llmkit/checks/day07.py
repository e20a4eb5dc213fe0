"""Checks for day 7 (tokens, costs and scale): a prompt's cost before it is sent, a
rate-limited asyncio batch runner, a fine-tuning JSONL validator and a cost tracker with a
budget alert. Costs are compared with exact token counts and the catalog's prices; the batch
runner runs on an event loop whose clock jumps ahead instead of waiting (a fake clock), so
minutes of rate limiting take no time and every request's moment is known."""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import math
import threading
import time
from contextlib import redirect_stdout

from ..lang import t
from . import clients
from .core import Incorrect, NotAttempted, Problem, call, failure
from .recording import recording

MODELS = ("gpt-4o-mini", "claude-haiku-4-5", "gemini-2.5-flash")


def _tokens(messages_or_text, model: str) -> int:
    from ..tokens import count_tokens

    return int(count_tokens(messages_or_text, model))


def _prices(model: str) -> tuple[float, float]:
    from .. import catalog

    entry = catalog.find(model)
    return float(entry.price_in), float(entry.price_out)


def _usd(x: float) -> str:
    from ..usage import usd

    return usd(x)


# ---- q1: the cost of one prompt, before it is sent ----------------------------------------

def _prompt_variants(messages: list[dict], model: str, max_tokens: int) -> dict[str, float]:
    """What the usual mistakes compute, to say which one was made."""
    pin, pout = _prices(model)
    text = " ".join(m["content"] for m in messages)
    exact = _tokens(messages, model)
    return {
        t("counted words (len(text.split())), not tokens"): (len(text.split()) * pin + max_tokens * pout) / 1e6,
        t("counted characters, not tokens"): (len(text) * pin + max_tokens * pout) / 1e6,
        t("estimated ~4 characters per token instead of counting"): (len(text) / 4 * pin + max_tokens * pout) / 1e6,
        t("used the output price for the input tokens"): (exact * pout + max_tokens * pout) / 1e6,
        t("used the input price for the output tokens"): (exact * pin + max_tokens * pin) / 1e6,
        t("divided by 1,000: the catalog's prices are per 1M tokens"): (exact * pin + max_tokens * pout) / 1e3,
        t("counted the texts alone, not the messages as the API bills them (each message has framing "
          "tokens)"):
            (sum(_tokens(m["content"], model) for m in messages) * pin + max_tokens * pout) / 1e6,
        t("left out the output tokens (max_tokens is the most the reply can cost)"): exact * pin / 1e6,
    }


def _check_prompt_cost(prompt_cost) -> str:
    cases = [
        ([{"role": "system", "content": "You are a concise teaching assistant."},
          {"role": "user", "content": "Explain what a token is, with an example in English and one in Spanish."}], 300),
        ([{"role": "user", "content": "¿Cuánto cuesta una llamada a la API con un prompt largo?"}], 50),
    ]
    with recording() as rec:
        for messages, max_tokens in cases:
            for model in MODELS:
                got = call(prompt_cost, [dict(m) for m in messages], model, max_tokens)
                pin, pout = _prices(model)
                want = (_tokens(messages, model) * pin + max_tokens * pout) / 1e6
                if isinstance(got, bool) or not isinstance(got, (int, float)):
                    raise Incorrect(t("prompt_cost() returned {got!r}; expected a number of US dollars (a "
                                      "float).", got=got))
                if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-15):
                    why = next((w for w, v in _prompt_variants(messages, model, max_tokens).items()
                                if math.isclose(got, v, rel_tol=1e-9, abs_tol=1e-15)), None)
                    msg = t("for {model} with max_tokens={max_tokens} prompt_cost() gave {got!r}, expected "
                            "{want!r} ({usd})", model=model, max_tokens=max_tokens, got=got, want=want, usd=_usd(want))
                    msg += (t(": it looks like you {why}.", why=why) if why else
                            t(": input tokens = count_tokens(messages, model) (exact offline), times price_in, "
                              "plus max_tokens times price_out, all divided by 1,000,000."))
                    raise Incorrect(msg)
    asked = [e for e in rec.to("/messages") if not e.path.endswith("/count_tokens")]  # counting is not asking
    if rec.to("/chat/completions") or asked or rec.to("generateContent"):
        raise Incorrect(t("prompt_cost() sent a request: a cost before the call is computed from the token "
                          "count and the catalog, without asking the model."))
    return t("exact input tokens at the input price plus max_tokens at the output price, for three models, "
             "nothing sent.")


q1 = Problem(
    "q1", "prompt_cost", _check_prompt_cost,
    hint="n = llmkit.count_tokens(messages, model) (the whole prompt, exact offline); entry = "
         "llmkit.catalog.find(model); (n * entry.price_in + max_tokens * entry.price_out) / 1_000_000.",
    solution='''
    import llmkit

    def prompt_cost(messages, model, max_tokens):
        entry = llmkit.catalog.find(model)
        input_tokens = llmkit.count_tokens(messages, model)
        return (input_tokens * entry.price_in + max_tokens * entry.price_out) / 1_000_000
    ''')


# ---- q2: a rate-limited batch runner, on a fake clock --------------------------------------

class _JumpingClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer instead of waiting for it:
    `await asyncio.sleep(60)` returns at once, and loop.time() is 60 s later. Everything
    scheduled on the loop (asyncio.sleep, limiters that use loop.time()) sees the fake time;
    time.sleep() blocks the thread and moves nothing."""

    def __init__(self) -> None:
        super().__init__()
        self._now = 0.0
        select = self._selector.select

        def jump(timeout=None):
            if timeout is None:  # nothing scheduled: only another thread can wake the loop
                return select(None)
            # every turn moves the clock at least a microsecond, so a timer set a rounding
            # error ahead (as limiters compute them) is reached, as it would be in real time
            self._now += max(timeout, 1e-6)
            return select(0)

        self._selector.select = jump  # type: ignore[method-assign]

    def time(self) -> float:
        return self._now


RPM, TPM, CONCURRENCY, RETRY_AFTER = 4, 300, 3, 20.0
PROMPTS = [f"question {i}: " + "tokens " * (10 + (i * 37) % 60) for i in range(10)]
RATE_LIMITED = {2, 5}  # their first request gets a 429 with Retry-After
BROKEN = 7  # always a 400: report it, do not retry


def _ptokens(prompt: str) -> int:
    return len(prompt.split())  # the weight each request takes from the tokens-per-minute budget


class _FakeAPI:
    def __init__(self) -> None:
        from ..errors import BadRequestError, RateLimitError

        self.Bad, self.Limited = BadRequestError, RateLimitError
        self.sent: list[tuple[float, int]] = []  # (loop time, prompt index)
        self.limited_at: dict[int, float] = {}
        self.inflight = self.max_inflight = 0
        self.broken_error = None

    async def send(self, prompt: str) -> str:
        loop = asyncio.get_running_loop()
        i = PROMPTS.index(prompt) if prompt in PROMPTS else -1
        self.sent.append((loop.time(), i))
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            await asyncio.sleep(1.0 + (i * 7) % 5)  # different durations: they finish out of order
            if i in RATE_LIMITED and i not in self.limited_at:
                self.limited_at[i] = loop.time()
                raise self.Limited("Rate limit reached for requests (429): retry after 20 s", status_code=429,
                                   retry_after=RETRY_AFTER, provider="openai")
            if i == BROKEN:
                self.broken_error = self.Bad("Invalid 'messages': the prompt is malformed (400)", status_code=400,
                                             provider="openai")
                raise self.broken_error
            return f"answer to {prompt.split(':')[0]}"
        finally:
            self.inflight -= 1


def _run_on_fake_clock(run_batch, api: _FakeAPI):
    box: dict = {}

    def runner():
        loop = _JumpingClockLoop()
        try:
            coro = run_batch(list(PROMPTS), api.send, rpm=RPM, tpm=TPM, tokens=_ptokens, concurrency=CONCURRENCY)
            box["result"] = loop.run_until_complete(asyncio.wait_for(coro, 3600))
        except BaseException as e:
            box["error"] = e
        finally:
            loop.close()

    started = time.perf_counter()
    thread = threading.Thread(target=runner, name="llmkit-check-batch", daemon=True)
    thread.start()
    thread.join(60)
    real = time.perf_counter() - started
    if thread.is_alive():
        raise Incorrect(t("run_batch() did not finish in 60 s of real time: time.sleep() blocks the event loop "
                          "(use `await asyncio.sleep(...)` or a limiter such as aiolimiter's AsyncLimiter)."))
    if "error" in box:
        e = box["error"]
        if isinstance(e, NotImplementedError):
            raise NotAttempted()
        if isinstance(e, asyncio.TimeoutError):
            raise Incorrect(t("run_batch() was still running after an hour of (fake) time: does it wait "
                              "forever?"))
        raise Incorrect(failure("run_batch", e), e)
    return box.get("result"), real


def _check_run_batch(run_batch) -> str:
    if not inspect.iscoroutinefunction(run_batch):
        call(run_batch, [], None, rpm=RPM, tpm=TPM, tokens=_ptokens, concurrency=CONCURRENCY)  # not attempted?
        raise Incorrect(t("run_batch should be an `async def` function: it awaits send() and the limiters."))
    api = _FakeAPI()
    got, real = _run_on_fake_clock(run_batch, api)
    if real > 5:
        raise Incorrect(t("run_batch() took {real:.0f} s of real time: time.sleep() blocks the whole event "
                          "loop. Wait with `await asyncio.sleep(...)` or a limiter.",
                          real=real))
    if not isinstance(got, list):
        raise Incorrect(t("run_batch() returned {kind}; expected a list with one item per prompt.",
                          kind=type(got).__name__))
    if len(got) != len(PROMPTS):
        raise Incorrect(t("run_batch() returned {n_got} items for {n_PROMPTS} prompts: keep every item, a "
                          "failure in its place as the exception (nothing dropped, nothing added).",
                          n_got=len(got), n_PROMPTS=len(PROMPTS)))
    # every answer there, only not in its place: the order is what is wrong, wherever the failure landed
    # (asyncio.as_completed hands results back in an order that can differ from run to run)
    permuted = {x for x in got if isinstance(x, str)} == {f"answer to question {i}" for i in range(len(PROMPTS))
                                                            if i != BROKEN}
    for i, item in enumerate(got):
        if i == BROKEN:
            continue
        want = f"answer to question {i}"
        if item != want:
            if permuted or (isinstance(item, str) and item.startswith("answer to question")):
                raise Incorrect(t("item {i} is {item!r}, expected {want!r}: the results are out of order. Keep "
                                  "input order (asyncio.gather does; as_completed and appending do not).",
                                  i=i, item=item, want=want))
            if i in RATE_LIMITED:
                raise Incorrect(t("prompt {i} got a 429 (RateLimitError, retry_after={RETRY_AFTER:g}) and "
                                  "ended as {item!r}: a 429 is retried after its Retry-After, so nothing is "
                                  "lost.", i=i, RETRY_AFTER=RETRY_AFTER, item=item))
            raise Incorrect(t("item {i} is {item!r}, expected {want!r}.", i=i, item=item, want=want))
    bad = got[BROKEN]
    if not isinstance(bad, BaseException):
        raise Incorrect(t("prompt {BROKEN} failed with a 400 (BadRequestError), but its item is {bad!r}: "
                          "report the failure in its place (the exception itself), not None or a silent gap.",
                          BROKEN=BROKEN, bad=bad))
    if sum(1 for _, i in api.sent if i == BROKEN) > 1:
        raise Incorrect(t("prompt {BROKEN} got a 400 and was sent again: a bad request fails the same way "
                          "every time; retry only 429s (and 5xx), report the rest.",
                          BROKEN=BROKEN))
    for i, at in api.limited_at.items():
        again = [t for t, j in api.sent if j == i and t > at - 1e-9]
        if again and again[0] < at + RETRY_AFTER - 1e-6:
            raise Incorrect(t("prompt {i} got a 429 with Retry-After {RETRY_AFTER:g} s and was sent again "
                              "after {v:.1f} s: wait at least retry_after before retrying.",
                              i=i, RETRY_AFTER=RETRY_AFTER, v=again[0] - at))
    if api.max_inflight > CONCURRENCY:
        raise Incorrect(t("{max_inflight} requests were in flight at once, with concurrency={CONCURRENCY}: "
                          "hold an asyncio.Semaphore(concurrency) around each request.",
                          max_inflight=api.max_inflight, CONCURRENCY=CONCURRENCY))
    times = sorted(api.sent)
    for a in range(len(times)):
        for b in range(a, len(times)):
            span = times[b][0] - times[a][0]
            n = b - a + 1
            weight = sum(_ptokens(PROMPTS[j]) for _, j in times[a:b + 1])
            if n > RPM * (1 + span / 60) + 1e-6:
                raise Incorrect(t("{n} requests were sent within {span:.1f} s, with rpm={RPM}: that is faster "
                                  "than {RPM} per minute (a fixed sleep does not follow the limit). Take one "
                                  "unit from a requests-per-minute limiter (aiolimiter.AsyncLimiter(rpm, 60)) "
                                  "before each request, retries included.",
                                  n=n, span=span, RPM=RPM))
            if weight > TPM * (1 + span / 60) + 1e-6:
                raise Incorrect(t("{weight} tokens were sent within {span:.1f} s, with tpm={TPM}: take "
                                  "tokens(prompt) from a tokens-per-minute limiter before each request (await "
                                  "limiter.acquire(n)).",
                                  weight=weight, span=span, TPM=TPM))
    end = max(t for t, _ in api.sent)
    return (t("{n_sent} requests over {end:.0f} s of fake time: at most {RPM}/min and {TPM} tokens/min, at "
              "most {CONCURRENCY} at once, 429s retried after Retry-After, the 400 reported, results in order.",
              n_sent=len(api.sent), end=end, RPM=RPM, TPM=TPM, CONCURRENCY=CONCURRENCY))


q2 = Problem(
    "q2", "run_batch", _check_run_batch,
    hint="Two AsyncLimiters (rpm, 60) and (tpm, 60) and an asyncio.Semaphore(concurrency). In one(prompt): async with "
         "the semaphore; loop: await requests.acquire(); await token_limiter.acquire(tokens(prompt)); try: return "
         "await send(prompt) except RateLimitError as e: await asyncio.sleep(e.retry_after) except LLMError as e: "
         "return e. Then asyncio.gather(*(one(p) for p in prompts)) keeps the order.",
    solution='''
    import asyncio

    from aiolimiter import AsyncLimiter
    from llmkit.errors import LLMError, RateLimitError

    async def run_batch(prompts, send, *, rpm, tpm, tokens, concurrency, attempts=4):
        requests = AsyncLimiter(rpm, 60)
        token_budget = AsyncLimiter(tpm, 60)
        slots = asyncio.Semaphore(concurrency)

        async def one(prompt):
            async with slots:
                for attempt in range(attempts):
                    await requests.acquire()
                    await token_budget.acquire(tokens(prompt))
                    try:
                        return await send(prompt)
                    except RateLimitError as e:
                        if attempt == attempts - 1:
                            return e
                        await asyncio.sleep(e.retry_after or 2 ** attempt)
                    except LLMError as e:
                        return e

        return await asyncio.gather(*(one(p) for p in prompts))
    ''')


# ---- q3: a fine-tuning JSONL validator -------------------------------------------------------

def _jsonl_case(model: str):
    """(JSONL text, token limit, line numbers of the good examples, line numbers of the bad ones)."""
    def ex(*turns):
        return json.dumps({"messages": [{"role": r, "content": c} for r, c in turns]}, ensure_ascii=False)

    long_answer = ("A token is a piece of text the model reads and writes. Prices, context windows and "
                   "rate limits are all counted in tokens, so count them before you send a request.")
    lines = [
        ex(("user", "What is a token?"), ("assistant", "A piece of text: a word or part of one.")),  # 1 good
        ex(("system", "Answer in Spanish."), ("user", "What is a token?"),
           ("assistant", "Un trozo de texto: una palabra o parte de ella.")),  # 2 good
        '{"messages": [{"role": "user", "content": "Unfinished line"}',  # 3 not JSON
        ex(("user", "Hi"), ("bot", "Hello!")),  # 4 unknown role
        ex(("user", "What is a budget?"), ("assistant", "")),  # 5 empty assistant turn
        "",  # 6 blank: skipped
        ex(("user", "What is a ledger?")),  # 7 no assistant answer
        ex(("user", "Why count tokens?"), ("assistant", long_answer)),  # 8 good, the longest allowed
        ex(("user", "Spell it"), ("assistant", "🙂🎉🚀 数据 東京 " * 5)),  # 9 few words and characters, many tokens
        json.dumps({"prompt": "What is JSONL?", "completion": "One JSON object per line."}),  # 10 old format
        ex(("user", "Ok?"), ("assistant", "   \n")),  # 11 blank assistant turn
        ex(("system", "Be brief."), ("user", "Is the API stateless?"), ("assistant", "Yes."),
           ("user", "So what do I send?"), ("assistant", "The whole conversation, every time.")),  # 12 good
    ]
    text = "\n".join(lines) + "\n"
    limit = _tokens(json.loads(lines[7])["messages"], model)
    return text, limit, [1, 2, 8, 12], [3, 4, 5, 7, 9, 10, 11]


def _check_validate_jsonl(validate_jsonl) -> str:
    model = "gpt-4o-mini"
    text, limit, good, bad = _jsonl_case(model)
    got = call(validate_jsonl, text, model, limit)
    if not (isinstance(got, tuple) and len(got) == 2 and isinstance(got[0], list) and isinstance(got[1], list)):
        raise Incorrect(t("validate_jsonl() returned {kind}; expected a tuple (valid, errors) of two lists.",
                          kind=type(got).__name__))
    valid, errors = got
    lines = text.splitlines()
    want_valid = [json.loads(lines[n - 1]) for n in good]
    try:
        reasons = {int(e[0]): str(e[1]) if len(e) > 1 else "" for e in errors}
    except Exception:
        raise Incorrect(t("errors should be (line number, reason) pairs; got {v!r}.", v=errors[:2])) from None
    explain = {3: t("line 3 is not valid JSON: catch json.JSONDecodeError and report it"),
               4: t("line 4 has the role 'bot': allowed roles are system, user and assistant"),
               5: t("line 5's assistant turn is empty: an empty answer teaches the model to say nothing"),
               7: t("line 7 has no assistant turn: the last message must be the assistant's answer"),
               9: t("line 9 is {n} tokens, over the limit of {limit}: count tokens with "
                    "llmkit.count_tokens(messages, model), not words or characters",
                    n=_tokens(json.loads(lines[8])['messages'], model), limit=limit),
               10: t("line 10 has no 'messages' list (it is the old prompt/completion format)"),
               11: t("line 11's assistant turn is only whitespace: strip() before testing for empty")}
    for n in bad:
        if n not in reasons:
            raise Incorrect(t("no error for {v}.", v=explain[n]))
    for n in good:
        if n in reasons:
            n_tokens = _tokens(json.loads(lines[n - 1])["messages"], model)
            why = t(" (it is {n_tokens} tokens, within the limit of {limit}, but {n_chars} characters: "
                    "count tokens with llmkit.count_tokens(messages, model), not characters)",
                    n_tokens=n_tokens, limit=limit, n_chars=len(lines[n - 1]))
            raise Incorrect(t("line {n} is a good example but was reported: {v!r}{why}.",
                              n=n, v=reasons[n], why=why))
    if 6 in reasons:
        raise Incorrect(t("line 6 is blank: skip blank lines rather than report them."))
    if any(not reasons[n].strip() for n in bad):
        raise Incorrect(t("each error needs a reason a person can act on, e.g. (5, 'empty assistant turn')."))
    if valid != want_valid:
        raise Incorrect(t("valid should hold the parsed examples of lines {good}, in order; got {n_valid} "
                          "items.", good=good, n_valid=len(valid)))
    return t("{n_valid} good examples kept, {n_bad} bad lines reported with their line numbers, limit {limit} "
             "tokens.", n_valid=len(valid), n_bad=len(bad), limit=limit)


q3 = Problem(
    "q3", "validate_jsonl", _check_validate_jsonl,
    hint="for n, line in enumerate(text.splitlines(), 1): skip blank lines; json.loads in try/except; check "
         "isinstance(example.get('messages'), list); each role in {'system','user','assistant'}; each content a str "
         "with content.strip(); the last role is 'assistant'; llmkit.count_tokens(messages, model) <= max_tokens.",
    solution='''
    import json

    import llmkit

    ROLES = {"system", "user", "assistant"}

    def problems_in(example, model, max_tokens):
        messages = example.get("messages") if isinstance(example, dict) else None
        if not isinstance(messages, list) or not messages:
            return "no 'messages' list"
        for m in messages:
            if not isinstance(m, dict) or m.get("role") not in ROLES:
                return f"unknown role {m.get('role') if isinstance(m, dict) else m!r}"
            if not isinstance(m.get("content"), str) or not m["content"].strip():
                return f"empty {m['role']} turn"
        if messages[-1]["role"] != "assistant":
            return "the last message is not the assistant's answer"
        n = llmkit.count_tokens(messages, model)
        if n > max_tokens:
            return f"{n} tokens, over the limit of {max_tokens}"
        return None

    def validate_jsonl(text, model, max_tokens):
        valid, errors = [], []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                example = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append((number, f"not JSON: {e.msg}"))
                continue
            problem = problems_in(example, model, max_tokens)
            if problem:
                errors.append((number, problem))
            else:
                valid.append(example)
        return valid, errors
    ''')


# ---- q4: a cost tracker with a budget alert --------------------------------------------------

def _usage_cost(ex, model: str) -> float:
    u = (ex.response_json or {}).get("usage") or {}
    pin, pout = _prices(model)
    return (u.get("prompt_tokens", 0) * pin + u.get("completion_tokens", 0) * pout) / 1e6


def _check_cost_tracker(CostTracker) -> str:  # noqa: N803 (the learner's class)
    model = "gpt-4o-mini"
    messages = [{"role": "user", "content": "Explain tokens, prices and budgets in detail."}]
    max_tokens = 20
    pin, pout = _prices(model)
    estimate = (_tokens(messages, model) * pin + max_tokens * pout) / 1e6
    budget, alert_at = estimate * 3.5, 0.5
    tracker = call(CostTracker, budget, alert_at=alert_at)
    got = call(tracker.estimate, model, [dict(m) for m in messages], max_tokens)
    if not isinstance(got, (int, float)) or not math.isclose(got, estimate, rel_tol=1e-9):
        raise Incorrect(t("estimate() gave {got!r}, expected {estimate!r}: exact input tokens of the messages "
                          "at price_in, plus max_tokens at price_out, per 1,000,000.",
                          got=got, estimate=estimate))
    client = clients.openai()
    spent, alerts_seen, refused = 0.0, [], False
    for n in range(1, 31):
        before = float(getattr(tracker, "spent", 0.0))
        with recording() as rec, redirect_stdout(io.StringIO()) as out:
            try:
                tracker.ask(client, model, [dict(m) for m in messages], max_tokens)
                error = None
            except NotImplementedError:
                raise NotAttempted() from None
            except Exception as e:
                error = e
        sent = rec.to("/chat/completions")
        if error is not None:
            if sent:
                raise Incorrect(t("call {n} raised {kind} ({error}) after its request was sent. If that is the "
                                  "budget refusal, check the budget before the request, with the estimate, so "
                                  "an expensive call is never made.",
                                  n=n, kind=type(error).__name__, error=error))
            if before + estimate <= budget + 1e-15:
                raise Incorrect(t("call {n} was refused ({kind}: {error}), but spent {v} + estimate {v2} fits "
                                  "in the {v3} budget.",
                                  n=n, kind=type(error).__name__, error=error, v=_usd(before), v2=_usd(estimate), v3=_usd(budget)))
            refused = True
            break
        if not sent:
            raise Incorrect(t("ask() returned without sending a request on call {n}.", n=n))
        if before + estimate > budget + 1e-15:
            raise Incorrect(t("call {n} was sent with {v} spent and an estimate of {v2}, over the {v3} budget: "
                              "refuse it (raise) before sending.",
                              n=n, v=_usd(before), v2=_usd(estimate), v3=_usd(budget)))
        spent += _usage_cost(sent[-1], model)
        now = float(getattr(tracker, "spent", float("nan")))
        if not math.isclose(now, spent, rel_tol=1e-9, abs_tol=1e-15):
            in_out = sum((sent[-1].response_json or {}).get("usage", {}).get(k, 0)
                         for k in ("prompt_tokens", "completion_tokens")) * pout / 1e6
            hint = (t(" It looks like the output price was used for the input tokens too.")
                    if math.isclose(now - before, in_out, rel_tol=1e-9) else "")
            raise Incorrect(t("after call {n} tracker.spent is {now!r}, expected {spent!r}: add the cost of "
                              "response.usage (prompt_tokens at price_in, completion_tokens at "
                              "price_out).{hint}",
                              n=n, now=now, spent=spent, hint=hint))
        alerts = list(getattr(tracker, "alerts", []))
        crossed = before < alert_at * budget <= spent
        new = alerts[len(alerts_seen):]
        if crossed and len(new) != 1:
            raise Incorrect(t("spent passed {alert_at:.0%} of the budget on call {n}: tracker.alerts should "
                              "get one message then (it got {n_new}).",
                              alert_at=alert_at, n=n, n_new=len(new)))
        if not crossed and new:
            why = (t("it already alerted once: alert only when crossing") if alerts_seen
                   else t("spent {spent} is under {alert_at:.0%} of {budget}", spent=_usd(spent), alert_at=alert_at,
                          budget=_usd(budget)))
            raise Incorrect(t("call {n} added an alert {v!r}, but {why}.", n=n, v=new[0], why=why))
        if crossed and not out.getvalue().strip():
            raise Incorrect(t("print the alert when it happens, as well as keeping it in tracker.alerts."))
        alerts_seen = alerts
    if not refused:
        raise Incorrect(t("30 calls went through a budget with room for about 3: ask() never refuses a call."))
    if len(alerts_seen) != 1:
        raise Incorrect(t("expected exactly one alert before the budget ran out; got {n_alerts_seen}.",
                          n_alerts_seen=len(alerts_seen)))
    return (t("spent {v} of {v2}, one alert at {alert_at:.0%}, and the call that could pass the budget refused "
              "before it was sent.", v=_usd(spent), v2=_usd(budget), alert_at=alert_at))


q4 = Problem(
    "q4", "CostTracker", _check_cost_tracker,
    hint="estimate(): (count_tokens(messages, model) * price_in + max_tokens * price_out) / 1e6. ask(): if self.spent "
         "+ estimate > self.budget: raise BudgetExceededError-like error (before create!); after it, add the "
         "response.usage cost; if not alerted yet and spent >= alert_at * budget: append and print an alert.",
    solution='''
    import llmkit

    class CostTracker:
        def __init__(self, budget, alert_at=0.8):
            self.budget, self.alert_at = budget, alert_at
            self.spent = 0.0
            self.alerts = []

        def estimate(self, model, messages, max_tokens):
            entry = llmkit.catalog.find(model)
            return (llmkit.count_tokens(messages, model) * entry.price_in + max_tokens * entry.price_out) / 1e6

        def ask(self, client, model, messages, max_tokens):
            estimate = self.estimate(model, messages, max_tokens)
            if self.spent + estimate > self.budget:
                raise RuntimeError(f"refused: {self.spent:.6f} spent + {estimate:.6f} would pass {self.budget:.6f}")
            response = client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens)
            entry = llmkit.catalog.find(model)
            usage = response.usage
            before = self.spent
            self.spent += (usage.prompt_tokens * entry.price_in + usage.completion_tokens * entry.price_out) / 1e6
            if before < self.alert_at * self.budget <= self.spent:
                self.alerts.append(f"alert: {self.spent / self.budget:.0%} of the budget spent")
                print(self.alerts[-1])
            return response.choices[0].message.content
    ''')
