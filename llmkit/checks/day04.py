"""Checks for day 4 (streaming): a streaming printer that counts chunks, an SSE parser,
time to first token, Anthropic's text_stream and async streaming. What the learner's
code printed and returned is compared with the events that really came over the wire."""

from __future__ import annotations

import asyncio
import inspect
import io
import threading
import time
from contextlib import redirect_stdout

from .. import faults
from ..lang import t
from . import clients
from .core import Incorrect, NotAttempted, Problem, call, failure
from .recording import recording


class _TimedOutput(io.TextIOBase):
    """stdout for the learner's code that remembers when each piece was printed."""

    def __init__(self) -> None:
        self.writes: list[tuple[float, str]] = []

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.writes.append((time.perf_counter(), text))
        return len(text)

    def getvalue(self) -> str:
        return "".join(text for _, text in self.writes)

    def before(self, moment: float) -> str:
        return "".join(text for at, text in self.writes if at < moment)


def _slow(provider: str, delay: float):
    """The gateway drips the next response of `provider`: every chunk `delay` seconds apart."""
    return faults.injected("slow", provider=provider, delay=delay, url=clients.gateway())


def _printed_as_it_arrived(out: _TimedOutput, pieces: list[tuple[float, str]], name: str) -> None:
    """Incorrect unless the text that arrived before the stream's last read was printed before it:
    code that prints as it reads always does (the SDK reads the next chunk only when the loop asks
    for it); code that collects first and prints at the end prints nothing before then."""
    if not out.getvalue().strip():
        raise Incorrect(t("{name}() printed nothing: print each piece as it arrives (print(piece, end='', "
                          "flush=True)), then return the whole text.", name=name))
    if not pieces:
        return
    last = pieces[-1][0]
    early = "".join(text for at, text in pieces if at < last)
    if len(out.before(last)) < len(early):
        raise Incorrect(t("{name}() printed the text only after the stream had ended (the check made the "
                          "server send one piece at a time, slowly): print each piece inside the loop, as it "
                          "arrives, not the collected text at the end.", name=name))


def _dripped(run, part: str, attempts: int = 3):
    """run() -> (result, recording, output) under a slow stream; again (up to `attempts` times) while
    all the text came in one read, which a busy machine can cause and which proves nothing."""
    for _ in range(attempts):
        got, rec, out = run()
        ex = _stream_of(rec, part)
        pieces = [(at, _text_of(e)) for at, e in ex.timed_sse() if _text_of(e)]
        if len({at for at, _ in pieces}) > 1:
            break
    return got, ex, out, pieces


def _stream_of(rec, part: str):
    sent = rec.to(part)
    if not sent:
        raise Incorrect(t("no request reached {part}.", part=part))
    ex = sent[-1]
    body = ex.json or {}
    if body.get("stream") is not True:
        raise Incorrect(t("the request was not streamed: pass stream=True."))
    return ex


def _openai_deltas(ex) -> list[str]:
    out = []
    for event in ex.sse_data:
        if isinstance(event, dict):
            for choice in event.get("choices", []):
                text = (choice.get("delta") or {}).get("content")
                if text:
                    out.append(text)
    return out


def _check_stream_print(stream_print) -> str:
    def run():
        out = _TimedOutput()
        with _slow("openai", 0.02), recording() as rec, redirect_stdout(out):
            got = call(stream_print, clients.openai(), "What is streaming?")
        return got, rec, out

    got, ex, out, pieces = _dripped(run, "/chat/completions")
    deltas = _openai_deltas(ex)
    if not (isinstance(got, tuple) and len(got) == 2):
        raise Incorrect(t("stream_print() returned {kind}; expected a tuple (text, count).",
                          kind=type(got).__name__))
    text, count = got
    if text != "".join(deltas):
        raise Incorrect(t("the text returned is not the pieces of the stream joined together."))
    if count != len(deltas):
        raise Incorrect(t("the count was {count!r}; the stream carried {n_deltas} chunks with text (count only "
                          "chunks whose delta.content is not empty).",
                          count=count, n_deltas=len(deltas)))
    _printed_as_it_arrived(out, pieces, "stream_print")
    printed = out.getvalue()
    if printed.rstrip("\n") != text:
        raise Incorrect(t("what was printed differs from the text: print each piece with end='' as it arrives."))
    return t("printed as it arrived and counted {count} chunks, one token each offline.", count=count)


def _text_of(event) -> str:
    """The text an OpenAI chunk or an Anthropic content_block_delta event carries ('' if none)."""
    if not isinstance(event, dict):
        return ""
    if event.get("type") == "content_block_delta":
        return (event.get("delta") or {}).get("text") or ""
    return "".join((c.get("delta") or {}).get("content") or "" for c in event.get("choices") or [])


q1 = Problem(
    "q1", "stream_print", _check_stream_print,
    hint="for chunk in client.chat.completions.create(..., stream=True): piece = chunk.choices[0].delta.content "
         "(check chunk.choices is not empty and piece is not None); print(piece, end='', flush=True).",
    solution='''
    def stream_print(client, question):
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": question}],
            stream=True,
            temperature=0,
        )
        pieces = []
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                piece = chunk.choices[0].delta.content
                print(piece, end="", flush=True)
                pieces.append(piece)
        print()
        return "".join(pieces), len(pieces)
    ''')


def _raw_lines(path: str, body: dict, headers: dict | None = None) -> list[str]:
    import httpx

    with httpx.Client(base_url=clients.gateway(), timeout=30) as c:
        with c.stream("POST", path, json=body, headers=headers or {"Authorization": f"Bearer {clients.key()}"}) as r:
            return list(r.iter_lines())


def _check_parse_sse(parse_sse) -> str:
    import json

    openai_lines = _raw_lines("/v1/chat/completions", {"model": "gpt-4o-mini", "stream": True, "max_tokens": 5,
                                                       "messages": [{"role": "user", "content": "What is SSE?"}]})
    anthropic_lines = _raw_lines("/v1/messages", {"model": "claude-haiku-4-5", "stream": True, "max_tokens": 5,
                                                  "messages": [{"role": "user", "content": "What is SSE?"}]},
                                 {"x-api-key": clients.key(), "anthropic-version": "2023-06-01"})
    for name, lines in (("OpenAI", openai_lines), ("Anthropic", anthropic_lines)):
        want = []
        for line in lines:
            if line.startswith("data:"):
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                want.append(json.loads(payload))
        try:
            got = call(parse_sse, list(lines + ["data: {\"after\": \"done\"}"] if name == "OpenAI" else lines))
        except Incorrect as e:
            if "[DONE]" in str(getattr(e.error, "doc", "")):
                raise Incorrect(t("parse_sse() passed `data: [DONE]` to json.loads: it is not JSON but the end "
                                  "of OpenAI's stream. Stop there (break) before parsing.")) from None
            raise
        if not isinstance(got, list):
            raise Incorrect(t("parse_sse() returned {kind}; expected a list of dicts.", kind=type(got).__name__))
        if got != want:
            first_bad = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            raise Incorrect(t("for {name}'s stream ({n_want} events) parse_sse returned {n_got} items; the "
                              "first difference is at item {first_bad}. Keep only `data:` lines, parse them "
                              "with json.loads, skip `event:` and blank lines, stop at [DONE].",
                              name=name, n_want=len(want), n_got=len(got), first_bad=first_bad))
    return t("data lines parsed, event and blank lines skipped, [DONE] ends it: for OpenAI's and Anthropic's "
             "streams.")


q2 = Problem(
    "q2", "parse_sse", _check_parse_sse,
    hint="for line in lines: if not line.startswith('data:'): continue; payload = line[len('data:'):].strip(); "
         "if payload == '[DONE]': break; events.append(json.loads(payload)).",
    solution='''
    import json

    def parse_sse(lines):
        events = []
        for line in lines:
            if not line.startswith("data:"):
                continue
            payload = line[len("data:"):].strip()
            if payload == "[DONE]":
                break
            events.append(json.loads(payload))
        return events
    ''')


def _timed_measure(measure, fault: str, **kw) -> tuple[dict, object, float, float]:
    """Run measure() under a gateway fault; its result, the exchange, and when the call began/ended."""
    client = clients.openai()
    with faults.injected(fault, provider="openai", url=clients.gateway(), **kw), recording() as rec, \
            redirect_stdout(io.StringIO()):
        began = time.perf_counter()
        got = call(measure, client, "What is time to first token?")
        ended = time.perf_counter()
    ex = _stream_of(rec, "/chat/completions")
    if not isinstance(got, dict) or set(got) != {"first_token", "total"}:
        raise Incorrect(t("measure() returned {got!r}; expected a dict with the keys 'first_token' and 'total'.",
                          got=got))
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in got.values()):
        raise Incorrect(t("both times should be floats, in seconds (time.perf_counter() differences)."))
    return got, ex, began, ended


def _check_measure(measure) -> str:
    """Two streams the check can time: one that drips (each chunk 0.05 s after the last, the
    role-only chunk first), one whose headers come 0.3 s late. The learner's clock must start
    before the request is sent and stop when the first chunk with text is read: so first_token is
    at least (first text read - request sent) and less than (next chunk read - call began)."""
    hang = 0.3
    # on a busy machine the role-only chunk and the first text may be read together, and then nothing tells them
    # apart: again, with the chunks further apart each time
    for drip in (0.05, 0.1, 0.15):
        got, ex, began, ended = _timed_measure(measure, "slow", delay=drip)
        events = [(at, e) for at, e in ex.timed_sse() if isinstance(e, dict)]
        texts = [at for at, e in events if _text_of(e)]
        if not texts:
            raise Incorrect(t("the stream carried no text; try again."))
        if events[0][0] < texts[0]:
            break
    late, ex_late, _, _ = _timed_measure(measure, "timeout", delay=hang)
    first, total = got["first_token"], got["total"]
    t_text, t_role = texts[0], events[0][0]
    t_next = next((at for at, _ in events if at > t_text), ex.times[-1])
    late_text = [at for at, e in ex_late.timed_sse() if _text_of(e)]
    # a clock started after the request: first_token leaves out the wait for the headers (it is about the time
    # from the headers to the text); a clock stopped when create() returned is about the wait for the headers
    # (on a busy machine the text can follow them by more than hang / 2: that is no late start)
    head = ex_late.headers_at - ex_late.sent_at if ex_late.headers_at else hang
    if late_text and late["first_token"] < late_text[0] - ex_late.sent_at - hang / 2 and \
            abs(late["first_token"] - (late_text[0] - ex_late.sent_at - head)) < abs(late["first_token"] - head):
        raise Incorrect(t("the server took {hang} s to answer and measure() reported first_token={v:.3f} s: "
                          "the clock started after the request was sent. Start it (start = "
                          "time.perf_counter()) before calling create(...).",
                          hang=hang, v=late['first_token']))
    if first < t_text - ex.sent_at:
        stopped = ex.sent_at + first
        where = (t("when create() returned: with stream=True, create() returns as soon as the response headers "
                   "arrive, before any text") if stopped < t_role - drip / 2 else
                 t("at the first chunk, which carries only the role ('assistant') and no text"))
        raise Incorrect(t("first_token was {first:.3f} s but the first text arrived {v:.3f} s after the "
                          "request: the clock stopped {where}. Stop it in the loop, at the first chunk whose "
                          "choices[0].delta.content is not empty.",
                          first=first, v=t_text - ex.sent_at, where=where))
    if late_text and late["first_token"] < late_text[0] - ex_late.sent_at:
        raise Incorrect(t("first_token came out shorter than the wait for the first text: start the clock just "
                          "before create(...), and stop it at the first chunk with text."))
    if first > t_next - began:
        raise Incorrect(t("first_token was {first:.3f} s, later than the second chunk with text ({v:.3f} s): "
                          "keep the time of the first chunk with text only (if first is None: first = ...).",
                          first=first, v=t_next - began))
    if not texts[-1] - ex.sent_at <= total <= ended - began + 0.01:
        raise Incorrect(t("total was {total:.3f} s, but the stream ended {v:.3f} s after the request and the "
                          "call took {v2:.3f} s: stop the clock after the loop.",
                          total=total, v=ex.times[-1] - ex.sent_at, v2=ended - began))
    if first > total:
        raise Incorrect(t("first_token ({first:.3f} s) is larger than total ({total:.3f} s).",
                          first=first, total=total))
    return (t("first text after {first:.2f} s of a slow stream (the role-only chunk came before it), "
              "{total:.2f} s in all: the clock started before the request.", first=first, total=total))


q3 = Problem(
    "q3", "measure", _check_measure,
    hint="start = time.perf_counter() before create(...); at the first chunk with text, "
         "first = time.perf_counter() - start; after the loop, total = time.perf_counter() - start.",
    solution='''
    import time

    def measure(client, question):
        start = time.perf_counter()
        first = None
        stream = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": question}], stream=True
        )
        for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter() - start
        total = time.perf_counter() - start
        return {"first_token": first if first is not None else total, "total": total}
    ''')


def _check_claude_stream(claude_stream) -> str:
    def run():
        out = _TimedOutput()
        with _slow("anthropic", 0.02), recording() as rec, redirect_stdout(out):
            got = call(claude_stream, clients.anthropic(), "What is a text stream?")
        return got, rec, out

    got, ex, out, pieces = _dripped(run, "/v1/messages")
    want = "".join(e["delta"].get("text", "") for e in ex.sse_data
                   if isinstance(e, dict) and e.get("type") == "content_block_delta")
    if got != want:
        raise Incorrect(t("claude_stream() should return all the text of the stream joined: iterate over "
                          "stream.text_stream."))
    _printed_as_it_arrived(out, pieces, "claude_stream")
    if out.getvalue().strip() != want.strip():
        raise Incorrect(t("what was printed differs from the text: print each piece of text_stream with end=''."))
    return t("messages.stream(...) as a context manager, its text printed as it came and returned joined.")


q4 = Problem(
    "q4", "claude_stream", _check_claude_stream,
    hint="with client.messages.stream(model=..., max_tokens=..., messages=[...]) as stream: "
         "for text in stream.text_stream: ...",
    solution='''
    def claude_stream(client, question):
        pieces = []
        with client.messages.stream(
            model="claude-haiku-4-5", max_tokens=300, messages=[{"role": "user", "content": question}]
        ) as stream:
            for text in stream.text_stream:
                print(text, end="", flush=True)
                pieces.append(text)
        print()
        return "".join(pieces)
    ''')


def _run_coroutine_function(fn, *args_factory):
    """Run `await fn(*args)` on a fresh event loop in another thread (the notebook's loop is
    already running); args are built inside that loop. Exceptions come back as in call()."""
    box: dict = {}

    def runner():
        async def main():
            args = [f() for f in args_factory]
            return await fn(*args)

        try:
            box["result"] = asyncio.run(main())
        except BaseException as e:  # handed back to the caller's thread
            box["error"] = e

    thread = threading.Thread(target=runner, name="llmkit-check-async")
    thread.start()
    thread.join(120)
    if "error" in box:
        e = box["error"]
        if isinstance(e, NotImplementedError):
            raise NotAttempted()
        why = failure(getattr(fn, "__name__", t("your coroutine")), e)
        raise Incorrect(t("awaiting {why}", why=why.removeprefix("calling ").removeprefix("al llamar a ")))
    result = box.get("result")
    if inspect.iscoroutine(result):
        result.close()
        raise Incorrect(t("{v}() returned a coroutine: an async call inside it was not awaited. Write `await` "
                          "before it (stream = await client...create(...)).",
                          v=getattr(fn, '__name__', t('your function'))))
    return result


def _check_astream(astream) -> str:
    if not inspect.iscoroutinefunction(astream):
        if callable(astream):
            try:
                call(astream, None, "")
            except NotAttempted:
                raise
            except Exception:
                pass
        raise Incorrect(t("astream should be defined with `async def`, so it can `await` the client."))
    question = "What is async streaming?"
    with recording() as rec, redirect_stdout(io.StringIO()):
        got = _run_coroutine_function(astream, clients.async_openai, lambda: question)
    ex = _stream_of(rec, "/chat/completions")
    if got != "".join(_openai_deltas(ex)):
        raise Incorrect(t("astream() should return the streamed pieces joined: `async for chunk in stream`."))
    return t("await the create call, then `async for` over the stream.")


q5 = Problem(
    "q5", "astream", _check_astream,
    hint="stream = await client.chat.completions.create(..., stream=True); async for chunk in stream: ...",
    solution='''
    async def astream(client, question):
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": question}], stream=True, temperature=0
        )
        pieces = []
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
        return "".join(pieces)
    ''')
