"""Checks for day 5 (errors and retries): deciding what to retry, a retry helper with
backoff, jitter and Retry-After, a stream consumer that survives a cut, and a multi-provider
client with fallbacks and a usage log.

Every check makes the offline gateway fail on purpose (llmkit.faults) so the learner's code
meets the official SDKs' real exceptions, and replaces `sleep` with a fake clock that only
records the waits: nothing here waits for real, and attempt counts and waits are exact.
"""

from __future__ import annotations

import io
import statistics
from contextlib import contextmanager, redirect_stdout
from typing import Any, Callable

from ..lang import N_, t
from . import clients
from .core import Incorrect, NotAttempted, Problem, call
from .recording import recording

QUESTION = "What is a rate limit?"


# -- faults and real exceptions -----------------------------------------------------------

_admin: dict = {}


def _admin_client():
    """One HTTP client for /admin/faults per gateway (a new client per call costs more than the call)."""
    url = clients.gateway()
    if url not in _admin:
        _admin[url] = clients.http()
    return _admin[url]


@contextmanager
def _faults(*schedule: tuple):
    """Inject (kind, provider, kwargs) faults into the checks' gateway; cleared afterwards."""
    admin = _admin_client()
    admin.delete("/admin/faults")
    try:
        for kind, provider, kw in schedule:
            body = {"kind": kind, "provider": provider, **kw}
            r = admin.post("/admin/faults", json={k: v for k, v in body.items() if v is not None})
            r.raise_for_status()
        yield
    finally:
        admin.delete("/admin/faults")


_sdk_clients: dict = {}


def _sdk(provider: str):
    """The checks' SDK client for a provider, made once per gateway (and kept: a google-genai
    Client closes itself when collected)."""
    key = (clients.gateway(), provider)
    if key not in _sdk_clients:
        _sdk_clients[key] = getattr(clients, provider)()
    return _sdk_clients[key]


def _openai_call(client=None, **kw):
    client = client or _sdk("openai")
    return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}],
                                          max_tokens=10, **kw)


def _call(provider: str, client=None, **kw):
    """One short request through the provider's SDK (no retries)."""
    msgs = [{"role": "user", "content": QUESTION}]
    if provider == "openai":
        return _openai_call(client, **kw)
    client = client or _sdk(provider)
    if provider == "groq":
        return client.chat.completions.create(model="llama-3.1-8b-instant", messages=msgs, max_tokens=10, **kw)
    if provider == "anthropic":
        return client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=msgs, **kw)
    if provider == "gemini":
        from google.genai import types

        return client.models.generate_content(model=kw.pop("model", "gemini-2.5-flash"), contents=QUESTION,
                                              config=types.GenerateContentConfig(max_output_tokens=10, **kw))
    return client.chat(model="llama3.1", messages=msgs, options={"num_predict": 10, **kw})


def _raised(fn: Callable[[], Any]) -> BaseException:
    try:
        fn()
    except Exception as e:  # what the SDK raised is the point
        return e
    raise RuntimeError("the gateway did not fail as scheduled")  # pragma: no cover


def _fault_error(kind: str, provider: str, **kw) -> BaseException:
    with _faults((kind, provider, kw)):
        return _raised(lambda: _call(provider))


def _timeout_error() -> BaseException:
    from openai import OpenAI

    slow = OpenAI(base_url=clients.gateway() + "/v1", api_key=clients.key(), max_retries=0, timeout=0.2)
    with _faults(("timeout", "openai", {"delay": 1.0})):
        return _raised(lambda: _openai_call(slow))


def _refused_error() -> BaseException:
    from openai import OpenAI

    nowhere = OpenAI(base_url="http://127.0.0.1:9/v1", api_key="unused", max_retries=0, timeout=2)
    return _raised(lambda: _openai_call(nowhere))


def _cut_error() -> BaseException:
    def read():
        with _sdk("anthropic").messages.stream(model="claude-haiku-4-5", max_tokens=40,
                                                 messages=[{"role": "user", "content": QUESTION}]) as s:
            for _ in s.text_stream:
                pass

    with _faults(("cut", "anthropic", {"after": 3})):
        return _raised(read)


_cases: dict[str, list] = {}


def cases() -> list[tuple[str, BaseException, Any]]:
    """(description, real exception, what to do): None = do not retry, a number = retry after
    at least that many seconds (the Retry-After sent), 0 = retry after some backoff.
    Made once per gateway: about 20 requests."""
    url = clients.gateway()
    if url not in _cases:
        _cases[url] = [
            (N_("openai 400 (temperature=5)"), _raised(lambda: _call("openai", temperature=5)), None),
            (N_("openai 400 context length"), _fault_error("context_length", "openai"), None),
            (N_("anthropic 401"), _fault_error("auth", "anthropic"), None),
            (N_("groq 403"), _fault_error("permission", "groq"), None),
            (N_("gemini 404 (unknown model)"), _raised(lambda: _call("gemini", model="not-a-model")), None),
            (N_("ollama 413"), _fault_error("too_large", "ollama"), None),
            (N_("a KeyError from your own code"), KeyError("choices"), None),
            (N_("openai 429 with Retry-After: 7"), _fault_error("rate_limit", "openai", retry_after=7), 7.0),
            (N_("anthropic 429 with Retry-After: 4"), _fault_error("rate_limit", "anthropic", retry_after=4), 4.0),
            (N_("groq 500"), _fault_error("server_error", "groq"), 0),
            (N_("anthropic 529 overloaded"), _fault_error("overloaded", "anthropic"), 0),
            (N_("gemini 503"), _fault_error("overloaded", "gemini"), 0),
            (N_("ollama 500"), _fault_error("server_error", "ollama"), 0),
            (N_("gemini 429"), _fault_error("rate_limit", "gemini"), 0),
            (N_("openai timeout"), _timeout_error(), 0),
            (N_("openai connection refused"), _refused_error(), 0),
            (N_("anthropic stream cut mid-way (httpx2.RemoteProtocolError)"), _cut_error(), 0),
        ]
    return _cases[url]


def _case(description_start: str) -> BaseException:
    return next(e for d, e, _ in cases() if d.startswith(description_start))


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


# -- q1: retry or not -----------------------------------------------------------------------

def _check_retry_decision(retry_decision) -> str:
    for description, exc, want in cases():
        got = call(retry_decision, exc)
        if want is None:
            if got is not None:
                raise Incorrect(t("for {description} ({kind}) retry_decision returned {got!r}: retrying cannot "
                                  "fix it (the same request fails the same way); return None.",
                                  description=t(description), kind=type(exc).__name__, got=got))
            continue
        if got is None:
            raise Incorrect(t("for {description} ({kind}) retry_decision returned None, but this failure is "
                              "transient: return how many seconds to wait before retrying.",
                              description=t(description), kind=type(exc).__name__))
        if not _is_number(got) or got <= 0:
            raise Incorrect(t("for {description} retry_decision returned {got!r}: return a number of seconds > "
                              "0.", description=t(description), got=got))
        if want and got < want:
            raise Incorrect(t("for {description} retry_decision returned {got!r}: the server said to wait "
                              "{want:g} s (e.response.headers['retry-after']); never retry earlier than that.",
                              description=t(description), got=got, want=want))
        if want and got > want * 2 + 1:
            raise Incorrect(t("for {description} retry_decision returned {got!r}: the server said {want:g} s; "
                              "wait that, not much more.",
                              description=t(description), got=got, want=want))
        if not want and got > 60:
            raise Incorrect(t("for {description} retry_decision returned {got!r} s: a first retry after a "
                              "transient error should come within seconds, not minutes.",
                              description=t(description), got=got))
    return (t("{n_x} real exceptions from five SDKs: 4xx and bugs not retried, 429/5xx/timeouts/connection "
              "errors retried, Retry-After honoured.", n_x=len(cases())))


q1 = Problem(
    "q1", "retry_decision", _check_retry_decision,
    hint="Read the status where each SDK keeps it: getattr(e, 'status_code', None) or getattr(e, 'code', None) "
         "(Gemini). 429 and 5xx (500, 502, 503, 504, 529) are transient; other 4xx are not. No status at all: "
         "a timeout or broken connection if it comes from the SDK or httpx/httpx2 (retry), a bug otherwise "
         "(do not). For the wait, read e.response.headers.get('retry-after') when there is a response.",
    solution='''
    import anthropic, groq, httpx, httpx2, ollama, openai
    from google.genai import errors as genai_errors

    NETWORK = (openai.APIConnectionError, anthropic.APIConnectionError, groq.APIConnectionError,
               httpx.TransportError, httpx2.TransportError, ConnectionError, TimeoutError)

    def retry_decision(e):
        status = getattr(e, "status_code", None) or getattr(e, "code", None)
        if isinstance(e, NETWORK):
            return 1.0
        if isinstance(e, (openai.APIStatusError, anthropic.APIStatusError, groq.APIStatusError,
                          genai_errors.APIError, ollama.ResponseError)):
            if status in (408, 409, 429) or (isinstance(status, int) and status >= 500) or status == -1:
                headers = getattr(getattr(e, "response", None), "headers", None) or {}
                try:
                    return float(headers["retry-after"])
                except (KeyError, ValueError):
                    return 1.0
        return None
    ''')


# -- q2: a retry helper with backoff, jitter and Retry-After ------------------------------------

class _Runaway(BaseException):
    """Raised by a check's fn after far too many calls (BaseException: `except Exception` lets it out)."""


class _Fn:
    """A callable that raises the given exceptions in turn, then returns `result`; counts calls."""

    def __init__(self, errors: list, result: Any = "ok", limit: int = 40):
        self.errors, self.result, self.calls, self.limit = list(errors), result, 0, limit

    def __call__(self):
        self.calls += 1
        if self.calls > self.limit:
            raise _Runaway()
        if self.errors:
            e = self.errors.pop(0)
            raise (e() if callable(e) and not isinstance(e, BaseException) else e)
        return self.result() if callable(self.result) else self.result


def _run_retry(helper, fn, **kw):
    """(result or raised exception, waits) of helper(fn, sleep=fake, **kw)."""
    waits: list = []
    try:
        got = helper(fn, sleep=waits.append, **kw)
    except NotImplementedError:
        raise NotAttempted() from None
    except _Runaway:
        raise Incorrect(t("call_with_retries kept calling after {limit} failures: stop after max_attempts.",
                          limit=fn.limit)) \
            from None
    except Exception as e:  # raising is part of the contract; the caller looks at it
        return e, waits
    return got, waits


def _check_call_with_retries(call_with_retries) -> str:
    if not callable(call_with_retries):
        raise Incorrect(t("call_with_retries should be a function."))
    # 1. two real 429s that ask for 3 s
    openai_client = clients.openai()
    fn = _Fn([], result=lambda: _openai_call(openai_client))
    with _faults(("rate_limit", "openai", {"retry_after": 3, "times": 2})), recording() as rec:
        got, waits = _run_retry(call_with_retries, fn, max_attempts=4)
    sent = len(rec.to("/chat/completions"))
    if isinstance(got, BaseException):
        raise Incorrect(t("two 429s then success, with max_attempts=4: call_with_retries raised {kind}: {got}",
                          kind=type(got).__name__, got=got))
    if got is None or not hasattr(got, "choices"):
        raise Incorrect(t("call_with_retries returned {got!r}: return what fn() returned.", got=got))
    if sent != 3:
        raise Incorrect(t("two 429s then success: {sent} requests were sent, expected 3.", sent=sent))
    if len(waits) != 2 or not all(_is_number(w) for w in waits):
        raise Incorrect(t("two 429s: expected 2 calls to sleep (one before each retry); got {waits!r}.",
                          waits=waits))
    if any(w < 3 for w in waits):
        raise Incorrect(t("the 429s said Retry-After: 3 and the waits were {waits!r}: never retry earlier than "
                          "the server asks.", waits=waits))
    if any(w > 5 for w in waits):
        raise Incorrect(t("the 429s said Retry-After: 3 and the waits were {waits!r}: wait what it says.",
                          waits=waits))
    # 2. not retryable
    fn = _Fn([_case("anthropic 401")])
    got, waits = _run_retry(call_with_retries, fn, max_attempts=4)
    if not isinstance(got, BaseException) or got is not _case("anthropic 401"):
        raise Incorrect(t("on a 401 call_with_retries returned {got!r}: raise the SDK's exception as it is "
                          "(never turn it into None or another value).", got=got))
    if fn.calls != 1 or waits:
        raise Incorrect(t("a 401 was tried {calls} times with waits {waits!r}: a wrong key is not retried.",
                          calls=fn.calls, waits=waits))
    # 3. always failing: stop after max_attempts and raise the last error
    failures = [_case("groq 500")] * 10
    fn = _Fn(failures)
    got, waits = _run_retry(call_with_retries, fn, max_attempts=3, base=0.5, max_wait=8.0)
    if fn.calls != 3:
        raise Incorrect(t("a server that always answers 500, max_attempts=3: fn was called {calls} times.",
                          calls=fn.calls))
    if not isinstance(got, BaseException):
        raise Incorrect(t("after the last attempt failed, call_with_retries returned {got!r}: raise the last "
                          "error.", got=got))
    if len(waits) != 2:
        raise Incorrect(t("3 attempts need 2 waits (none after the last); got {waits!r}.", waits=waits))
    # 4. backoff and jitter, no Retry-After
    firsts, seconds = [], []
    for _ in range(40):
        fn = _Fn([_case("groq 500"), _case("anthropic 529")])
        got, waits = _run_retry(call_with_retries, fn, max_attempts=4, base=0.5, max_wait=8.0)
        if isinstance(got, BaseException) or len(waits) != 2 or not all(_is_number(w) for w in waits):
            raise Incorrect(t("two 5xx then success (max_attempts=4): got {got!r} after waits {waits!r}.",
                              got=got, waits=waits))
        firsts.append(waits[0])
        seconds.append(waits[1])
    if any(not 0 <= w <= 0.5 for w in firsts) or any(not 0 <= w <= 1.0 for w in seconds):
        raise Incorrect(t("with base=0.5 the first wait should be at most 0.5 s and the second at most 1 s; "
                          "saw {v:.2f} and {v2:.2f}.", v=max(firsts), v2=max(seconds)))
    if len(set(firsts)) == 1:
        raise Incorrect(t("the first wait was always {v!r}: add jitter (a random part), or clients that failed "
                          "together retry together.", v=firsts[0]))
    if statistics.mean(seconds) <= statistics.mean(firsts):
        raise Incorrect(t("the waits do not grow: make each step twice the one before (base * 2 ** (attempt - "
                          "1))."))
    # 5. the ceiling
    fn = _Fn([_case("ollama 500")] * 7)
    got, waits = _run_retry(call_with_retries, fn, max_attempts=8, base=0.5, max_wait=1.0)
    if got != "ok" or any(w > 1.0 for w in waits):
        raise Incorrect(t("with max_wait=1.0 no wait may pass 1 s; got {v}.", v=[round(w, 2) for w in waits]))
    return t("retried 429s after their Retry-After, 5xx with growing jittered waits, stopped at max_attempts, "
             "raised what cannot be retried.")


q2 = Problem(
    "q2", "call_with_retries", _check_call_with_retries,
    hint="for attempt in range(1, max_attempts + 1): try: return fn() / except Exception as e: wait = "
         "retry_decision(e); if wait is None or attempt == max_attempts: raise. Without a Retry-After header, "
         "wait random.uniform(0, min(max_wait, base * 2 ** (attempt - 1))); then sleep(wait).",
    solution='''
    import random
    import time

    def call_with_retries(fn, max_attempts=4, base=0.5, max_wait=8.0, sleep=time.sleep):
        for attempt in range(1, max_attempts + 1):
            try:
                return fn()
            except Exception as e:
                if retry_decision(e) is None or attempt == max_attempts:
                    raise
                headers = getattr(getattr(e, "response", None), "headers", None) or {}
                if "retry-after" in headers:
                    wait = float(headers["retry-after"])
                else:
                    wait = random.uniform(0, min(max_wait, base * 2 ** (attempt - 1)))
                sleep(wait)
    ''')


# -- q3: a stream that survives a cut ------------------------------------------------------------

def _openai_deltas(ex) -> str:
    out = []
    for event in ex.sse_data:
        if isinstance(event, dict):
            for choice in event.get("choices", []):
                out.append((choice.get("delta") or {}).get("content") or "")
    return "".join(out)


def _check_stream_whole(stream_whole) -> str:
    for cuts in (1, 2):
        printed = io.StringIO()
        with _faults(("cut", "openai", {"after": 6, "times": cuts})), recording() as rec, redirect_stdout(printed):
            got = call(stream_whole, clients.openai(), QUESTION)
        sent = rec.to("/chat/completions")
        if len(sent) < cuts + 1:
            raise Incorrect(t("the stream was cut {cuts} time(s) but only {n_sent} request(s) were sent: catch "
                              "the error and stream again.",
                              cuts=cuts, n_sent=len(sent)))
        if any((ex.json or {}).get("stream") is not True for ex in sent):
            raise Incorrect(t("stream the reply (stream=True)."))
        whole = _openai_deltas(sent[-1])
        if not isinstance(got, str):
            raise Incorrect(t("stream_whole returned {kind}; return the whole text (a str).",
                              kind=type(got).__name__))
        seen = _openai_deltas(sent[0])
        if got != whole:
            if whole.endswith(got) and got != whole:
                raise Incorrect(t("stream_whole returned only the text after the cut: return the whole answer."))
            if got == seen:
                raise Incorrect(t("stream_whole returned what arrived before the cut: retry and return the "
                                  "whole answer."))
            raise Incorrect(t("stream_whole returned {v!r}…, not the answer that arrived ({v2!r}…); use "
                              "temperature=0 so a retry gives the same text.",
                              v=got[:60], v2=whole[:60]))
        shown = printed.getvalue().rstrip("\n")
        if shown != whole:
            if shown.startswith(seen) and shown[len(seen):].startswith(seen) and seen:
                raise Incorrect(t("after the cut the beginning was printed a second time: print only what goes "
                                  "beyond what was already shown."))
            raise Incorrect(t("what was printed ({v!r}…) is not the answer, printed once ({v2!r}…): print each "
                              "new piece as it arrives, and after a retry only the part the user has not seen.",
                              v=shown[:60], v2=whole[:60]))
    return t("cut once and twice: retried, the whole text returned, every character printed exactly once.")


q3 = Problem(
    "q3", "stream_whole", _check_stream_whole,
    hint="Keep `shown` (what was printed so far) outside the retry loop. On each attempt build `text` from the "
         "chunks; when len(text) > len(shown), print(text[len(shown):], end='') and set shown = text. Catch "
         "openai.APIConnectionError around the whole `for chunk in stream` loop.",
    solution='''
    import openai

    def stream_whole(client, question, max_attempts=3):
        shown = ""
        for attempt in range(1, max_attempts + 1):
            text = ""
            try:
                stream = client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": question}],
                    temperature=0, stream=True,
                )
                for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        text += chunk.choices[0].delta.content
                        if len(text) > len(shown):
                            print(text[len(shown):], end="", flush=True)
                            shown = text
                print()
                return text
            except openai.APIConnectionError:
                if attempt == max_attempts:
                    raise
    ''')


# -- q4: a multi-provider client with fallbacks and a usage log -----------------------------------

MODELS = [("openai", "gpt-4o-mini"), ("anthropic", "claude-haiku-4-5"), ("gemini", "gemini-2.5-flash")]
PATHS = {"openai": "/chat/completions", "anthropic": "/v1/messages", "gemini": ":generateContent"}


def _usage(provider: str, ex) -> tuple[int, int] | None:
    body = ex.response_json if ex.status == 200 else None
    if not isinstance(body, dict):
        return None
    if provider == "openai":
        u = body.get("usage") or {}
        return u.get("prompt_tokens"), u.get("completion_tokens")
    if provider == "anthropic":
        u = body.get("usage") or {}
        return u.get("input_tokens"), u.get("output_tokens")
    u = body.get("usageMetadata") or {}
    return u.get("promptTokenCount"), u.get("candidatesTokenCount")


def _check_fallback_client(FallbackClient) -> str:
    sdk_clients = {"openai": clients.openai(), "anthropic": clients.anthropic(), "gemini": clients.gemini()}
    ok_ = {"provider", "model", "ok", "error", "input_tokens", "output_tokens"}
    schedules = [
        (N_("no fault"), [], [("openai", True)]),
        (N_("one 429 from OpenAI (Retry-After: 2)"), [("rate_limit", "openai", {"retry_after": 2})],
         [("openai", False), ("openai", True)]),
        (N_("OpenAI refuses the key"), [("auth", "openai", {})], [("openai", False), ("anthropic", True)]),
        (N_("OpenAI 500 x3, Anthropic 529 x3"), [("server_error", "openai", {"times": 3}),
                                              ("overloaded", "anthropic", {"times": 3})],
         [("openai", False)] * 3 + [("anthropic", False)] * 3 + [("gemini", True)]),
        (N_("every key refused"), [("auth", None, {"times": 3})],
         [("openai", False), ("anthropic", False), ("gemini", False)]),
    ]
    for name, faults, want in schedules:
        waits: list = []
        try:
            fc = FallbackClient(sdk_clients, MODELS, max_attempts=3, sleep=waits.append)
        except NotImplementedError:
            raise NotAttempted() from None
        except Exception as e:
            raise Incorrect(t("FallbackClient(clients, models, max_attempts=3, sleep=...) raised {kind}: {e}",
                              kind=type(e).__name__, e=e)) from None
        with _faults(*faults), recording() as rec, redirect_stdout(io.StringIO()):
            try:
                answer = fc.ask(QUESTION)
                raised = None
            except NotImplementedError:
                raise NotAttempted() from None
            except Exception as e:  # the last schedule must raise
                answer, raised = None, e
        log = getattr(fc, "log", None)
        if not isinstance(log, list) or not all(isinstance(r, dict) for r in log):
            raise Incorrect(t("[{name}] .log should be a list of dicts, one per attempt; got {log!r}.",
                              name=t(name), log=log))
        for row in log:
            if set(row) != ok_:
                raise Incorrect(t("[{name}] each log entry needs exactly the keys {v}; got {v2}.",
                                  name=t(name), v=sorted(ok_), v2=sorted(row)))
        seen = [(r["provider"], bool(r["ok"])) for r in log]
        if seen != want:
            raise Incorrect(t("[{name}] the attempts logged were {seen}, expected {want} (429/5xx retried up "
                              "to max_attempts on the same model, 401 not retried, then the next model).",
                              name=t(name), seen=seen, want=want))
        for provider in PATHS:
            n = len([ex for ex in rec if PATHS[provider] in ex.path])
            if n != sum(1 for p, _ in want if p == provider):
                raise Incorrect(t("[{name}] {n} request(s) went to {provider}, but the log says {v}: log every "
                                  "attempt.",
                                  name=t(name), n=n, provider=provider, v=sum((1 for p, _ in seen if p == provider))))
        for row, (provider, ok) in zip(log, want):
            if ok and row["error"] is not None:
                raise Incorrect(t("[{name}] a successful attempt should have error None; got {v!r}.",
                                  name=t(name), v=row['error']))
            if not ok and not (isinstance(row["error"], str) and row["error"]):
                raise Incorrect(t("[{name}] a failed attempt should name its error (e.g. the exception's class "
                                  "name); got {v!r}.", name=t(name), v=row['error']))
        if want[-1][1]:
            last = [ex for ex in rec if PATHS[want[-1][0]] in ex.path][-1]
            usage = _usage(want[-1][0], last)
            row = log[-1]
            if (row["input_tokens"], row["output_tokens"]) != usage:
                raise Incorrect(t("[{name}] the log says {v}+{v2} tokens, the response's usage said {v3}+{v4}.",
                                  name=t(name), v=row['input_tokens'], v2=row['output_tokens'], v3=usage[0], v4=usage[1]))
            if row["model"] != dict(MODELS)[want[-1][0]]:
                raise Incorrect(t("[{name}] log 'model' should be the model id; got {v!r}.",
                                  name=t(name), v=row['model']))
            if raised is not None or not isinstance(answer, str) or not answer:
                what = f"{type(raised).__name__}: {raised}" if raised is not None else repr(answer)  # no words
                raise Incorrect(t("[{name}] ask() should return the answer's text; got {what}.",
                                  name=t(name), what=what))
            if "one 429" in name and not (waits and waits[0] >= 2):
                raise Incorrect(t("[{name}] the 429 said Retry-After: 2 and the client slept {waits!r}: sleep "
                                  "(with the sleep you were given) at least that long.",
                                  name=t(name), waits=waits))
        else:
            if raised is None:
                raise Incorrect(t("[{name}] when every model fails, ask() should raise the last error; it "
                                  "returned {answer!r}.", name=t(name), answer=answer))
    return t("retries, fallbacks and a log of every attempt with its tokens, under five fault schedules.")


q4 = Problem(
    "q4", "FallbackClient", _check_fallback_client,
    hint="ask(): for provider, model in self.models: for attempt in 1..max_attempts: try the call; on success "
         "log ok=True with the usage and return the text; on an exception log ok=False, error=type(e).__name__; "
         "wait = retry_decision(e); if wait is None or attempt == max_attempts: break to the next model; else "
         "self.sleep(wait). After the last model, raise the last error.",
    solution='''
    import time

    class FallbackClient:
        def __init__(self, clients, models, max_attempts=3, sleep=time.sleep):
            self.clients, self.models = clients, models
            self.max_attempts, self.sleep = max_attempts, sleep
            self.log = []

        def _once(self, provider, model, question):
            client = self.clients[provider]
            messages = [{"role": "user", "content": question}]
            if provider == "openai":
                r = client.chat.completions.create(model=model, messages=messages, max_tokens=60)
                return r.choices[0].message.content, r.usage.prompt_tokens, r.usage.completion_tokens
            if provider == "anthropic":
                r = client.messages.create(model=model, max_tokens=60, messages=messages)
                return r.content[0].text, r.usage.input_tokens, r.usage.output_tokens
            r = client.models.generate_content(model=model, contents=question)
            return r.text, r.usage_metadata.prompt_token_count, r.usage_metadata.candidates_token_count

        def ask(self, question):
            last = None
            for provider, model in self.models:
                for attempt in range(1, self.max_attempts + 1):
                    entry = {"provider": provider, "model": model, "ok": False, "error": None,
                             "input_tokens": None, "output_tokens": None}
                    self.log.append(entry)
                    try:
                        text, entry["input_tokens"], entry["output_tokens"] = self._once(provider, model, question)
                        entry["ok"] = True
                        return text
                    except Exception as e:
                        entry["error"], last = type(e).__name__, e
                        wait = retry_decision(e)
                        if wait is None or attempt == self.max_attempts:
                            break
                        self.sleep(wait)
            raise last
    ''')
