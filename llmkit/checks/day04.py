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

from . import clients
from .core import Incorrect, NotAttempted, Problem, call
from .recording import recording


def _stream_of(rec, part: str):
    sent = rec.to(part)
    if not sent:
        raise Incorrect(f"no request reached {part}.")
    ex = sent[-1]
    body = ex.json or {}
    if body.get("stream") is not True:
        raise Incorrect("the request was not streamed: pass stream=True.")
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
    client = clients.openai()
    out = io.StringIO()
    with recording() as rec, redirect_stdout(out):
        got = call(stream_print, client, "What is streaming?")
    ex = _stream_of(rec, "/chat/completions")
    deltas = _openai_deltas(ex)
    if not (isinstance(got, tuple) and len(got) == 2):
        raise Incorrect(f"stream_print() returned {type(got).__name__}; expected a tuple (text, count).")
    text, count = got
    if text != "".join(deltas):
        raise Incorrect("the text returned is not the pieces of the stream joined together.")
    if count != len(deltas):
        raise Incorrect(f"the count was {count!r}; the stream carried {len(deltas)} chunks with text "
                        "(count only chunks whose delta.content is not empty).")
    printed = out.getvalue()
    if printed.rstrip("\n") != text:
        raise Incorrect("what was printed differs from the text: print each piece with end='' as it arrives.")
    return f"printed as it arrived and counted {count} chunks, one token each offline."


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
        got = call(parse_sse, list(lines + ["data: {\"after\": \"done\"}"] if name == "OpenAI" else lines))
        if not isinstance(got, list):
            raise Incorrect(f"parse_sse() returned {type(got).__name__}; expected a list of dicts.")
        if got != want:
            first_bad = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            raise Incorrect(f"for {name}'s stream ({len(want)} events) parse_sse returned {len(got)} items; "
                            f"the first difference is at item {first_bad}. Keep only `data:` lines, parse them "
                            "with json.loads, skip `event:` and blank lines, stop at [DONE].")
    return "data lines parsed, event and blank lines skipped, [DONE] ends it: for OpenAI's and Anthropic's streams."


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


def _check_measure(measure) -> str:
    client = clients.openai()
    started = time.perf_counter()
    with recording() as rec, redirect_stdout(io.StringIO()):
        got = call(measure, client, "What is time to first token?")
    elapsed = time.perf_counter() - started
    _stream_of(rec, "/chat/completions")
    if not isinstance(got, dict) or set(got) != {"first_token", "total"}:
        raise Incorrect(f"measure() returned {got!r}; expected a dict with the keys 'first_token' and 'total'.")
    first, total = got["first_token"], got["total"]
    if not all(isinstance(v, float) for v in (first, total)):
        raise Incorrect("both times should be floats, in seconds (time.perf_counter() differences).")
    if not 0 < first <= total <= elapsed + 0.01:
        raise Incorrect(f"the times do not add up: first_token={first:.4f}, total={total:.4f}, but the call took "
                        f"{elapsed:.4f} s. Start the clock before the request; stop it at the first text and at the end.")
    return "time to first token and total time, both measured around one streamed request."


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
    client = clients.anthropic()
    with recording() as rec, redirect_stdout(io.StringIO()):
        got = call(claude_stream, client, "What is a text stream?")
    ex = _stream_of(rec, "/v1/messages")
    want = "".join(e["delta"].get("text", "") for e in ex.sse_data
                   if isinstance(e, dict) and e.get("type") == "content_block_delta")
    if got != want:
        raise Incorrect("claude_stream() should return all the text of the stream joined: "
                        "iterate over stream.text_stream.")
    return "messages.stream(...) as a context manager, and its text_stream joined."


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

    t = threading.Thread(target=runner, name="llmkit-check-async")
    t.start()
    t.join(120)
    if "error" in box:
        e = box["error"]
        if isinstance(e, NotImplementedError):
            raise NotAttempted()
        raise Incorrect(f"awaiting your coroutine raised {type(e).__name__}: {e}")
    return box.get("result")


def _check_astream(astream) -> str:
    if not inspect.iscoroutinefunction(astream):
        if callable(astream):
            try:
                call(astream, None, "")
            except NotAttempted:
                raise
            except Exception:
                pass
        raise Incorrect("astream should be defined with `async def`, so it can `await` the client.")
    question = "What is async streaming?"
    with recording() as rec, redirect_stdout(io.StringIO()):
        got = _run_coroutine_function(astream, clients.async_openai, lambda: question)
    ex = _stream_of(rec, "/chat/completions")
    if got != "".join(_openai_deltas(ex)):
        raise Incorrect("astream() should return the streamed pieces joined: `async for chunk in stream`.")
    return "await the create call, then `async for` over the stream."


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
