"""Day 5's checks (errors and retries): every solution is Correct, untouched exercises are
Not attempted, a differently written right answer is Correct too, and the wrong answers a
student really writes (retrying a 400, retrying forever, ignoring Retry-After, a fixed one
second sleep, no jitter, the error swallowed into None, only the text after a cut) are
Incorrect with a message that says what to fix.

The checks inject faults into a gateway started in this process (llmkit.gateway_url()).
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap

import pytest

from llmkit.checks import ____, day05

PROBLEMS = sorted((n for n in vars(day05) if re.fullmatch(r"q\d+", n)), key=lambda n: int(n[1:]))
PRELUDE = "import random, time\nimport anthropic, groq, httpx, httpx2, ollama, openai\n"


@pytest.fixture(autouse=True)
def _not_strict(monkeypatch):
    monkeypatch.delenv("LLMKIT_CHECKS_STRICT", raising=False)


def _namespace(source: str, with_q1: bool = True) -> dict:
    ns: dict = {}
    exec(PRELUDE + (textwrap.dedent(day05.q1._solution) + "\n" if with_q1 else "") + textwrap.dedent(source), ns)
    return ns


def _evaluate(q: str, source: str):
    problem = getattr(day05, q)
    ns = _namespace(source)
    with contextlib.redirect_stdout(io.StringIO()):
        return problem.evaluate(*[ns[n] for n in problem.names])


def test_day05_has_four_problems():
    assert PROBLEMS == ["q1", "q2", "q3", "q4"]


@pytest.mark.parametrize("q", PROBLEMS)
def test_each_solution_is_correct_and_each_placeholder_not_attempted(q):
    problem = getattr(day05, q)
    outcome = _evaluate(q, problem._solution)
    assert outcome.kind == "Correct", outcome
    assert problem.evaluate(*[____ for _ in problem.names]).kind == "Not attempted"

    def untouched(*args, **kwargs):
        raise NotImplementedError("your code here")

    assert problem.evaluate(*[untouched for _ in problem.names]).kind == "Not attempted"


def test_a_check_never_raises_on_the_learner():
    for q in PROBLEMS:
        problem = getattr(day05, q)
        out = problem.evaluate(*[(lambda *a, **k: 1 / 0) for _ in problem.names])
        assert out.kind == "Incorrect", out
        assert problem.evaluate(*[42 for _ in problem.names]).kind == "Incorrect"


# -- right answers written differently --------------------------------------------------------

RIGHT = [
    ("q1", """
    from llmkit.errors import classify

    def retry_decision(e):
        err = classify(e)          # llmkit's own classification: status first, then the message
        if not err.retryable:
            return None
        return err.retry_after if err.retry_after else 0.5
    """),
    ("q2", """
    import tenacity

    def call_with_retries(fn, max_attempts=4, base=0.5, max_wait=8.0, sleep=time.sleep):
        def wait(state):
            e = state.outcome.exception()
            asked = e.response.headers.get("retry-after") if getattr(e, "response", None) is not None else None
            if asked is not None:
                return float(asked)
            return tenacity.wait_random_exponential(multiplier=base, max=max_wait)(state)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda e: retry_decision(e) is not None),
            wait=wait, stop=tenacity.stop_after_attempt(max_attempts), sleep=sleep, reraise=True)
        return retrying(fn)
    """),
    ("q3", """
    import sys

    def stream_whole(client, question):
        printed = 0
        tries = 0
        while True:
            tries += 1
            pieces = []
            try:
                for chunk in client.chat.completions.create(
                        model="gpt-4o-mini", messages=[{"role": "user", "content": question}],
                        temperature=0, stream=True):
                    piece = chunk.choices[0].delta.content if chunk.choices else None
                    if not piece:
                        continue
                    pieces.append(piece)
                    text = "".join(pieces)
                    if len(text) > printed:
                        sys.stdout.write(text[printed:])
                        printed = len(text)
                sys.stdout.write("\\n")
                return "".join(pieces)
            except (openai.APIConnectionError, httpx2.TransportError):
                if tries >= 3:
                    raise
    """),
    ("q4", """
    def call_with_retries(fn, max_attempts=4, base=0.5, max_wait=8.0, sleep=time.sleep):
        for attempt in range(1, max_attempts + 1):
            try:
                return fn()
            except Exception as e:
                wait = retry_decision(e)
                if wait is None or attempt == max_attempts:
                    raise
                sleep(wait)

    class FallbackClient:
        def __init__(self, clients, models, max_attempts=3, sleep=time.sleep):
            self.c, self.models, self.n, self.sleep, self.log = clients, models, max_attempts, sleep, []

        def _attempt(self, provider, model, question):
            row = dict(provider=provider, model=model, ok=False, error=None, input_tokens=None, output_tokens=None)
            self.log.append(row)
            try:
                if provider == "gemini":
                    r = self.c[provider].models.generate_content(model=model, contents=question)
                    text, usage = r.text, (r.usage_metadata.prompt_token_count, r.usage_metadata.candidates_token_count)
                elif provider == "anthropic":
                    r = self.c[provider].messages.create(model=model, max_tokens=50,
                                                         messages=[{"role": "user", "content": question}])
                    text, usage = "".join(b.text for b in r.content if b.type == "text"), (r.usage.input_tokens, r.usage.output_tokens)
                else:
                    r = self.c[provider].chat.completions.create(model=model, messages=[{"role": "user", "content": question}])
                    text, usage = r.choices[0].message.content, (r.usage.prompt_tokens, r.usage.completion_tokens)
            except Exception as e:
                row["error"] = type(e).__name__
                raise
            row.update(ok=True, input_tokens=usage[0], output_tokens=usage[1])
            return text

        def ask(self, question):
            error = None
            for provider, model in self.models:
                try:
                    return call_with_retries(lambda: self._attempt(provider, model, question),
                                             max_attempts=self.n, sleep=self.sleep)
                except Exception as e:
                    error = e
            raise error
    """),
]


@pytest.mark.parametrize("q,source", RIGHT, ids=[q for q, _ in RIGHT])
def test_right_answers_written_differently_are_correct(q, source):
    outcome = _evaluate(q, source)
    assert outcome.kind == "Correct", outcome


# -- wrong answers a student would write ----------------------------------------------------------

_Q2_BODY = """
def call_with_retries(fn, max_attempts=4, base=0.5, max_wait=8.0, sleep=time.sleep):
    for attempt in range(1, max_attempts + 1):
        try:
            return fn()
        except Exception as e:
            if retry_decision(e) is None or attempt == max_attempts:
                raise
            {wait}
"""

_Q3_HEAD = """
def stream_whole(client, question, max_attempts=3):
    shown = ""
    for attempt in range(1, max_attempts + 1):
        text = ""
        try:
            stream = client.chat.completions.create(model="gpt-4o-mini", temperature=0, stream=True,
                                                    messages=[{"role": "user", "content": question}])
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    text += chunk.choices[0].delta.content
                    {show}
            print()
            return {result}
        except openai.APIConnectionError:
            {on_cut}
"""


def _q3(show="print(chunk.choices[0].delta.content, end='')", result="text", on_cut="shown = text"):
    return _Q3_HEAD.replace("{show}", show).replace("{result}", result).replace("{on_cut}", on_cut)


_Q4 = day05.q4._solution


WRONG = [
    # q1: retry or not
    ("q1", """
    def retry_decision(e):
        return 1.0          # retry everything
    """, "retrying cannot fix it"),
    ("q1", """
    def retry_decision(e):
        status = getattr(e, "status_code", None) or getattr(e, "code", None)
        return 1.0 if status is None or status >= 400 else None     # every HTTP error, 401 included
    """, "retrying cannot fix it"),
    ("q1", """
    def retry_decision(e):
        if isinstance(e, openai.APIStatusError) and e.status_code in (429, 500, 503):
            asked = e.response.headers.get("retry-after")   # only OpenAI's classes: misses the other SDKs
            return float(asked) if asked else 1.0
        return None
    """, "this failure is transient"),
    ("q1", """
    def retry_decision(e):
        status = getattr(e, "status_code", None) or getattr(e, "code", None)
        if isinstance(e, (openai.APIConnectionError, anthropic.APIConnectionError, groq.APIConnectionError,
                          httpx.TransportError, httpx2.TransportError, ConnectionError)):
            return 1.0
        if status in (429, 500, 503, 529, -1):
            return 1.0      # ignores Retry-After
        return None
    """, "never retry earlier"),
    ("q1", """
    def retry_decision(e):
        status = getattr(e, "status_code", None) or getattr(e, "code", None)
        if status is None:
            return 2.0      # anything without a status: a KeyError in our own code too
        if status in (429, 500, 503, 529, -1):
            asked = e.response.headers.get("retry-after") if hasattr(e, "response") else None
            return float(asked) if asked else 2.0
        return None
    """, "KeyError"),
    # q2: a retry helper
    ("q2", _Q2_BODY.format(wait="sleep(1)"), "never retry earlier than the server asks"),
    ("q2", _Q2_BODY.format(wait="sleep(min(max_wait, base * 2 ** (attempt - 1)) * random.random())"),
     "never retry earlier than the server asks"),
    ("q2", """
    def call_with_retries(fn, max_attempts=4, base=0.5, max_wait=8.0, sleep=time.sleep):
        for attempt in range(1, max_attempts + 1):
            try:
                return fn()
            except Exception as e:
                asked = e.response.headers.get("retry-after") if getattr(e, "response", None) is not None else None
                sleep(float(asked) if asked else base * 2 ** (attempt - 1))   # retries a 401 too
        return None
    """, "raise the SDK's exception"),
    ("q2", """
    def call_with_retries(fn, max_attempts=4, base=0.5, max_wait=8.0, sleep=time.sleep):
        for attempt in range(1, max_attempts + 1):
            try:
                return fn()
            except Exception as e:
                if retry_decision(e) is None:
                    return None      # swallowed
                asked = e.response.headers.get("retry-after") if getattr(e, "response", None) is not None else None
                sleep(float(asked) if asked else random.uniform(0, base * 2 ** (attempt - 1)))
    """, "raise the SDK's exception"),
    ("q2", """
    def call_with_retries(fn, max_attempts=4, base=0.5, max_wait=8.0, sleep=time.sleep):
        attempt = 0
        while True:          # retries forever
            attempt += 1
            try:
                return fn()
            except Exception as e:
                wait = retry_decision(e)
                if wait is None:
                    raise
                sleep(random.uniform(0, min(max_wait, base * 2 ** (attempt - 1))) if wait == 1.0 else wait)
    """, "always answers 500"),
    ("q2", _Q2_BODY.format(wait="""asked = e.response.headers.get("retry-after") if getattr(e, "response", None) is not None else None
            sleep(float(asked) if asked else min(max_wait, base * 2 ** (attempt - 1)))   # no jitter"""),
     "add jitter"),
    ("q2", _Q2_BODY.format(wait="""asked = e.response.headers.get("retry-after") if getattr(e, "response", None) is not None else None
            sleep(float(asked) if asked else random.uniform(0, base * 2 ** (attempt - 1)))   # no ceiling"""),
     "max_wait=1.0"),
    # q3: a stream that survives a cut
    ("q3", _q3(result="text[len(shown):]", show="""if len(text) > len(shown):
                        print(text[len(shown):], end='')"""), "only the text after the cut"),
    ("q3", _q3(show="print(chunk.choices[0].delta.content, end='')", on_cut="pass"), "printed a second time"),
    ("q3", _q3(on_cut="return text"), "stream again"),
    ("q3", """
    def stream_whole(client, question):
        text = ""
        for chunk in client.chat.completions.create(model="gpt-4o-mini", temperature=0, stream=True,
                                                    messages=[{"role": "user", "content": question}]):
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
                print(chunk.choices[0].delta.content, end="")
        return text
    """, "APIConnectionError"),
    # q4: the project
    ("q4", _Q4.replace("if wait is None or attempt == self.max_attempts:", "if True:"), "429/5xx retried"),
    ("q4", _Q4.replace("if wait is None or attempt == self.max_attempts:", "if attempt == self.max_attempts:")
     .replace("self.sleep(wait)", "self.sleep(wait or 1)"), "401 not retried"),
    ("q4", _Q4.replace("raise last", "return None"), "should raise the last error"),
    ("q4", _Q4.replace("self.sleep(wait)", "self.sleep(0.01)"), "at least that long"),
    ("q4", re.sub(r'( *)entry\["ok"\] = True\n', r'\g<0>\1self.log = [entry]  # only the last attempt\n', _Q4),
     "the attempts logged were"),
]


@pytest.mark.parametrize("q,source,why", WRONG, ids=[f"{q}-{i}" for i, (q, _, _) in enumerate(WRONG)])
def test_wrong_answers_are_incorrect_and_say_why(q, source, why):
    outcome = _evaluate(q, source)
    assert outcome.kind == "Incorrect", outcome
    assert why in outcome.message, outcome.message


def test_strict_mode_raises_on_a_wrong_answer(monkeypatch):
    monkeypatch.setenv("LLMKIT_CHECKS_STRICT", "1")
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(AssertionError, match="Incorrect"):
        day05.q1.check(lambda e: 1.0)
