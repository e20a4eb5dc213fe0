"""Backends the gateway forwards a chat to, in the pipeline's neutral terms.

An `Upstream` takes a `run.ChatRequest` and gives back what the offline engine would: a
`run.Result` (whole reply) or a `run.Stream` of Pieces, so every protocol adapter serves
every backend unchanged. Two wire protocols cover them all:

    openai   an OpenAI-compatible /chat/completions: llama.cpp, vLLM, LM Studio,
             `transformers serve`, and the real OpenAI, Groq, Gemini (its OpenAI
             compatibility) and Anthropic (its OpenAI SDK compatibility) APIs
    ollama   a real Ollama's /api/chat (NDJSON streams)

Failures become `APIError`s the adapters render in the client's own protocol: a refused
connection is a 503 naming the upstream, a timeout a 504, the upstream's 429 a 429 with its
Retry-After, a body that is not what the protocol promises a 502; mid-stream they are raised
from `events()` and `run.guard` turns them into the protocol's error event. The key (read
from the provider's environment variable at each request) is sent upstream only, and wiped
from anything the upstream says back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from typing import AsyncIterator

from ..engine import Token
from .errors import APIError
from .framing import _json

# the real providers: their OpenAI-compatible base URL and the variables their key is read from
PROVIDERS = {
    "openai": ("https://api.openai.com/v1", ("OPENAI_API_KEY",)),
    "groq": ("https://api.groq.com/openai/v1", ("GROQ_API_KEY",)),
    "gemini": ("https://generativelanguage.googleapis.com/v1beta/openai", ("GEMINI_API_KEY", "GOOGLE_API_KEY")),
    "anthropic": ("https://api.anthropic.com/v1", ("ANTHROPIC_API_KEY",)),
}
WIRES = ("openai", "ollama")


class UpstreamError(APIError):
    """A failure of the upstream, said in words that name it (never its key)."""


@dataclass
class Upstream:
    """One backend: `name` (the config's), the `wire` protocol it speaks, its base URL, and
    where its key comes from (`provider`'s variables, or `key_env`)."""

    name: str
    wire: str  # "openai" | "ollama"
    base_url: str
    provider: str | None = None  # a real provider's API: openai | groq | gemini | anthropic
    key_env: tuple[str, ...] = ()
    model: str | None = None  # the name sent upstream, when not the one asked for
    connect_timeout: float = 2.0
    read_timeout: float = 60.0
    retry_after: float = 1.0  # default Retry-After for a 503 (the gateway's own setting)
    # counts a prompt's tokens when a stream reports no usage (llama-cpp-python's server sends none):
    # the gateway's tokenizer, exact for the course's model, an estimate for any other
    count_prompt: object = field(default=None, repr=False)
    _client: object = field(default=None, repr=False)  # aiohttp.ClientSession
    _loop: object = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """How errors name it: its name and its address (no key)."""
        return f"upstream '{self.name}' ({self.base_url})"

    def key(self) -> str | None:
        for var in self.key_env:
            if os.environ.get(var):
                return os.environ[var]
        return None

    def client(self):
        """One pooled aiohttp session per event loop (a pool's connections belong to the loop that
        opened them). aiohttp rather than httpx: a routed request costs the gateway about 1 ms less
        CPU with it (httpx's pool spends ~1.3 ms per request, aiohttp's ~0.3 ms: bench/routing.py)."""
        import aiohttp

        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop or self._client.closed:
            self._loop = loop
            self._client = aiohttp.ClientSession(
                # idle connections are dropped before the upstream's own keep-alive timeout (uvicorn's,
                # behind llama-cpp-python and vLLM, is 5 s): reusing one it is closing fails the request
                connector=aiohttp.TCPConnector(limit=512, keepalive_timeout=2.0),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout,
                                              sock_read=self.read_timeout),
                read_bufsize=1 << 20,  # one streamed line may carry a long tool call
                trust_env=False)  # a proxy variable must not route loopback upstreams elsewhere
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def headers(self) -> dict[str, str]:
        key = self.key()
        return {"authorization": f"Bearer {key}"} if key else {}

    def scrub(self, text: str) -> str:
        """`text` with the key wiped out (an upstream may echo it back in an error)."""
        key = self.key()
        return text.replace(key, "***") if key and len(key) >= 4 else text

    # -- errors -------------------------------------------------------------------------

    def _transport_error(self, e: Exception, streaming: bool = False) -> UpstreamError:
        import aiohttp

        if isinstance(e, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)):
            return UpstreamError(503, f"The {self.label} is down: it refused or did not take the connection "
                                      f"within {self.connect_timeout:g} s ({type(e).__name__}).",
                                 code="upstream_unavailable",
                                 headers={"retry-after": f"{self.retry_after:g}"})
        if isinstance(e, TimeoutError):  # aiohttp's read timeouts are TimeoutErrors too
            return UpstreamError(504, f"The {self.label} sent nothing for {self.read_timeout:g} s "
                                      f"{'mid-stream' if streaming else 'after the request'} ({type(e).__name__}).",
                                 code="upstream_timeout")
        if isinstance(e, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError)):
            what = "cut the stream before it ended" if streaming else "closed the connection without an answer"
            return UpstreamError(502, f"The {self.label} {what} ({type(e).__name__}).", code="upstream_cut")
        return UpstreamError(502, f"The {self.label} failed: {type(e).__name__}: {self.scrub(str(e))}",
                             code="upstream_error")

    @contextlib.contextmanager
    def _errors(self, streaming: bool = False):
        """Transport failures inside the block raised as the UpstreamError that names them."""
        import aiohttp

        try:
            yield
        except (aiohttp.ClientError, TimeoutError) as e:
            raise self._transport_error(e, streaming) from None

    def _status_error(self, status: int, body: bytes, headers) -> UpstreamError:
        """The upstream's error status as the client should see it, with the upstream's words."""
        said = self.scrub(_error_text(body))
        if status == 429:
            return UpstreamError(429, f"The {self.label} is rate limited: {said}", code="rate_limit_exceeded",
                                 headers={"retry-after": headers.get("retry-after") or f"{self.retry_after:g}"})
        if status in (401, 403):  # the gateway's credentials, not the client's: never say which key
            return UpstreamError(502, f"The {self.label} refused the gateway's credentials (status {status}); "
                                      "the gateway's operator must check the key it is configured with.",
                                 code="upstream_auth")
        if status in (503, 529):
            return UpstreamError(503, f"The {self.label} is overloaded or unavailable: {said}",
                                 code="upstream_unavailable",
                                 headers={"retry-after": headers.get("retry-after") or f"{self.retry_after:g}"})
        if status >= 500:
            return UpstreamError(502, f"The {self.label} failed with status {status}: {said}", code="upstream_error")
        if status == 404:
            return UpstreamError(404, f"The {self.label} does not serve this: {said}", param="model",
                                 code="model_not_found")
        return UpstreamError(400 if status in (413, 422) else status, f"The {self.label} refused the request: {said}",
                             code="upstream_rejected")

    def _garbage(self, what: str, raw) -> UpstreamError:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        text = self.scrub(text.strip())
        return UpstreamError(502, f"The {self.label} answered with something that is not {what}: "
                                  f"{text[:120]!r}", code="upstream_garbage")

    # -- requests -----------------------------------------------------------------------

    def upstream_model(self, asked: str) -> str:
        return self.model or asked

    async def _send(self, path: str, body: dict, stream: bool = False):
        """POST `body`; send once more if a kept-alive connection turns out closed before any answer
        (the upstream closed it as we reused it). A whole reply is read before it is returned;
        every failure is raised as an UpstreamError."""
        import aiohttp

        data, headers = _json(body), {"content-type": "application/json", **self.headers()}
        for attempt in (0, 1):
            try:
                r = await self.client().post(self.base_url + path, data=data, headers=headers)
                if not stream:
                    await r.read()
                return r
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as e:
                if attempt or isinstance(e, aiohttp.ClientConnectorError):
                    raise self._transport_error(e) from None
            except (aiohttp.ClientError, TimeoutError) as e:
                raise self._transport_error(e) from None
        raise AssertionError("unreachable")

    async def _post(self, path: str, body: dict) -> dict:
        r = await self._send(path, body)
        content = await r.read()  # already read: the same bytes
        if r.status >= 400:
            raise self._status_error(r.status, content, r.headers)
        try:
            data = json.loads(content)
        except ValueError:
            raise self._garbage("JSON", content) from None
        if not isinstance(data, dict):
            raise self._garbage("a JSON object", content)
        return data

    async def _open_stream(self, path: str, body: dict):
        """The streamed response with its status checked: a refusal is still a plain error."""
        r = await self._send(path, body, stream=True)
        if r.status >= 400:
            try:
                with self._errors():
                    content = await r.read()
            except UpstreamError:
                content = b""
            finally:
                r.release()
            raise self._status_error(r.status, content, r.headers)
        return r

    async def models(self) -> list[str]:
        """The model names the upstream says it serves (raises UpstreamError)."""
        import aiohttp

        path = "/api/tags" if self.wire == "ollama" else "/models"
        with self._errors():
            async with self.client().get(self.base_url + path, headers=self.headers(),
                                         timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout,
                                                                       sock_read=min(self.read_timeout, 3.0))) as r:
                content = await r.read()
        if r.status >= 400:
            raise self._status_error(r.status, content, r.headers)
        try:
            data = json.loads(content)
            items = data["models"] if self.wire == "ollama" else data["data"]
            return [m.get("name") or m.get("model") or m["id"] for m in items]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise self._garbage("a model list", content) from None

    async def complete(self, req) -> "object":
        from . import router
        from .run import Choice, Result

        router.chose(self)

        if self.wire == "ollama":
            gens = []
            for i in range(req.n):
                data = await self._post("/api/chat", ollama_body(self, req, False, i))
                gens.append(_ollama_done(self, data, i))
            return Result([Choice(i, toks, gen) for i, (toks, gen) in enumerate(gens)], req)
        t0 = time.perf_counter_ns()
        data = await self._post("/chat/completions", openai_body(self, req, False))
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices:
            raise self._garbage("an OpenAI chat completion", json.dumps(data))
        usage = data.get("usage") or {}
        out = []
        for c in sorted(choices, key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0):
            msg = c.get("message") if isinstance(c, dict) else None
            if not isinstance(msg, dict):
                raise self._garbage("an OpenAI chat completion", json.dumps(data))
            toks = _logprob_tokens(c) or [Token(msg.get("content") or "", -1)]
            gen = UpstreamGen(_int(usage.get("prompt_tokens")), finish(c.get("finish_reason")))
            gen.completion_tokens = _int(usage.get("completion_tokens")) if len(choices) == 1 else len(toks)
            gen.tool_calls = _openai_tool_calls(msg.get("tool_calls"))
            out.append(Choice(len(out), toks, gen, t0))
        return Result(out, req)

    async def start(self, req) -> "UpstreamStream":
        from . import router

        router.chose(self)
        if self.wire == "ollama":
            opened = [await self._open_stream("/api/chat", ollama_body(self, req, True, i)) for i in range(req.n)]
            return UpstreamStream(self, req, opened)
        return UpstreamStream(self, req, [await self._open_stream("/chat/completions", openai_body(self, req, True))])


class UpstreamGen:
    """What the adapters read from an engine's Generation, filled from the upstream's reply."""

    def __init__(self, prompt_tokens: int = 0, finish_reason: str | None = None):
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = 0
        self.finish_reason = finish_reason
        self.stop_sequence = None
        self.tool_calls: list[dict] = []

    def close(self) -> None:  # the HTTP response is closed by the stream itself
        pass


def finish(reason) -> str:
    """The neutral finish reason (the engine's words) for an upstream's."""
    return {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "function_call": "tool_calls",
            "content_filter": "stop", "end_turn": "stop", "max_tokens": "length", "eos": "stop"}.get(reason, "stop")


def _int(v) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else 0


def _error_text(body: bytes) -> str:
    """The message inside an error body of any protocol, else its first characters."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:300] or "(empty body)"
    err = data.get("error", data.get("detail")) if isinstance(data, dict) else None
    if isinstance(err, dict):
        err = err.get("message") or json.dumps(err)
    return str(err if err is not None else data)[:300]


def _logprob_tokens(choice: dict) -> list[Token]:
    content = ((choice.get("logprobs") or {}).get("content")) if isinstance(choice.get("logprobs"), dict) else None
    if not isinstance(content, list) or not content:
        return []
    return [Token(e.get("token", ""), -1, e.get("logprob"),
                  [(t.get("token", ""), t.get("logprob")) for t in e.get("top_logprobs") or []])
            for e in content if isinstance(e, dict)]


def _openai_tool_calls(calls) -> list[dict]:
    out = []
    for c in calls or []:
        fn = c.get("function") or {}
        try:
            args = json.loads(fn.get("arguments") or "{}")
        except ValueError:
            args = {"_raw": fn.get("arguments")}
        out.append({"id": c.get("id") or "", "name": fn.get("name") or "", "arguments": args})
    return out


# -- request bodies -------------------------------------------------------------------------

def _openai_messages(messages: list[dict]) -> list[dict]:
    out = []
    for m in messages:
        role = m.get("role")
        if role == "assistant" and m.get("tool_calls"):
            out.append({"role": "assistant", "content": m.get("content"),
                        "tool_calls": [{"id": c["id"], "type": "function",
                                        "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
                                       for c in m["tool_calls"]]})
        elif role == "tool":
            out.append({"role": "tool", "tool_call_id": m.get("tool_call_id", ""), "content": m.get("content", "")})
        else:
            out.append({"role": role, "content": m.get("content", "")})
    return out


def _tools(params) -> list[dict] | None:
    tools = getattr(params, "tools", None)
    if not tools:
        return None
    return [{"type": "function", "function": {"name": t.name, "description": t.description,
                                              "parameters": t.parameters}} for t in tools]


def openai_body(up: Upstream, req, stream: bool) -> dict:
    """The request as an OpenAI-compatible server takes it."""
    p = req.params
    body = {"model": up.upstream_model(req.model), "messages": _openai_messages(req.messages),
            "temperature": p.temperature, "top_p": p.top_p, "stream": stream}
    if req.n != 1:
        body["n"] = req.n
    if p.max_tokens is not None:
        body["max_completion_tokens" if up.provider == "openai" else "max_tokens"] = p.max_tokens
    if p.seed is not None:
        body["seed"] = p.seed
    if p.stop:
        body["stop"] = list(p.stop)
    if p.json_schema is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "reply", "schema": p.json_schema}}
    elif p.json_object or p.json_mode:
        body["response_format"] = {"type": "json_object"}
    if p.logprobs is not None:
        body["logprobs"] = True
        if p.logprobs:
            body["top_logprobs"] = p.logprobs
    tools = _tools(p)
    if tools:
        body["tools"] = tools
        choice = getattr(p, "tool_choice", "auto")
        body["tool_choice"] = ({"type": "function", "function": {"name": choice["name"]}}
                               if isinstance(choice, dict) else choice)
    if up.provider is None:  # llama.cpp / vLLM / LM Studio take these; the real APIs refuse some
        if p.top_k:
            body["top_k"] = p.top_k
        if p.repeat_penalty != 1.0:
            body["repeat_penalty"] = p.repeat_penalty
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def ollama_body(up: Upstream, req, stream: bool, i: int = 0) -> dict:
    """The request as Ollama's /api/chat takes it (choice i seeded seed + i)."""
    p = req.params
    opts = {"temperature": p.temperature, "top_p": p.top_p}
    if p.top_k:
        opts["top_k"] = p.top_k
    if p.min_p is not None:  # set by the request (None: the upstream model's own default)
        opts["min_p"] = p.min_p
    if p.seed is not None:
        opts["seed"] = p.seed + i
    if p.max_tokens is not None:
        opts["num_predict"] = p.max_tokens
    if p.stop:
        opts["stop"] = list(p.stop)
    if p.repeat_penalty != 1.0:
        opts["repeat_penalty"] = p.repeat_penalty
    msgs = []
    for m in req.messages:
        msg = {"role": m.get("role"), "content": m.get("content") or ""}
        if m.get("tool_calls"):
            msg["tool_calls"] = [{"function": {"name": c["name"], "arguments": c["arguments"]}} for c in m["tool_calls"]]
        msgs.append(msg)
    body = {"model": up.upstream_model(req.model), "messages": msgs, "stream": stream, "options": opts}
    if p.json_schema is not None:
        body["format"] = p.json_schema
    elif p.json_object or p.json_mode:
        body["format"] = "json"
    tools = _tools(p)
    if tools:
        body["tools"] = tools
    return body


def _ollama_done(up: Upstream, data: dict, i: int) -> tuple[list[Token], UpstreamGen]:
    msg = data.get("message")
    if not isinstance(msg, dict):
        raise up._garbage("an Ollama chat reply", json.dumps(data))
    gen = UpstreamGen(_int(data.get("prompt_eval_count")), finish(data.get("done_reason") or "stop"))
    gen.completion_tokens = _int(data.get("eval_count"))
    gen.tool_calls = [{"id": f"call_{i}_{j}", "name": (c.get("function") or {}).get("name", ""),
                       "arguments": (c.get("function") or {}).get("arguments") or {}}
                      for j, c in enumerate(msg.get("tool_calls") or [])]
    if gen.tool_calls:
        gen.finish_reason = "tool_calls"
    return [Token(msg.get("content") or "", -1)], gen


def _call_token(gen: UpstreamGen, call: dict) -> Token:
    """A streamed tool-call delta as the engine's Token: `tool_call` = the call's index, `tool_name`
    on its first piece, text = a fragment of its arguments JSON; the call is kept on `gen`."""
    j = call.get("index", len(gen.tool_calls)) if isinstance(call, dict) else 0
    fn = (call.get("function") or {}) if isinstance(call, dict) else {}
    while len(gen.tool_calls) <= j:
        gen.tool_calls.append({"id": "", "name": "", "arguments": "", "_new": True})
    entry = gen.tool_calls[j]
    first = entry.pop("_new", False)
    entry["id"] = call.get("id") or entry["id"]
    entry["name"] = fn.get("name") or entry["name"]
    entry["arguments"] += fn.get("arguments") or ""
    return Token(fn.get("arguments") or "", -1, tool_call=j, tool_name=entry["name"] if first else None)


def _parsed_calls(gen: UpstreamGen) -> None:
    for c in gen.tool_calls:
        if isinstance(c.get("arguments"), str):
            try:
                c["arguments"] = json.loads(c["arguments"] or "{}")
            except ValueError:
                c["arguments"] = {"_raw": c["arguments"]}


# -- streams --------------------------------------------------------------------------------

class UpstreamStream:
    """A `run.Stream` whose Pieces come from the upstream's SSE or NDJSON stream. "end"
    Pieces wait for the stream's end, where the usage arrives."""

    def __init__(self, up: Upstream, req, responses: list):  # aiohttp.ClientResponse, headers read
        self.up = up
        self.req = req
        self.responses = responses
        self.gens = [UpstreamGen() for _ in range(req.n)]

    @property
    def prompt_tokens(self) -> int:
        return self.gens[0].prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return sum(g.completion_tokens for g in self.gens)

    async def events(self) -> AsyncIterator:
        from .run import Piece

        try:
            if self.up.wire == "ollama":
                for i, r in enumerate(self.responses):
                    async for p in self._ollama(i, r):
                        yield p
                return
            started: set[int] = set()
            ended: list[int] = []
            counted = [0] * len(self.gens)
            async for i, delta, reason, usage in self._openai(self.responses[0]):
                if i is not None and i not in started:
                    started.add(i)
                    yield Piece("start", i, self.gens[i])
                if isinstance(delta, Token):
                    yield Piece("token", i, self.gens[i], delta)
                elif delta:
                    counted[i] += 1
                    yield Piece("token", i, self.gens[i], Token(delta, -1))
                if reason is not None and i not in ended:
                    self.gens[i].finish_reason = finish(reason)
                    ended.append(i)
                if usage:
                    self.gens[0].prompt_tokens = _int(usage.get("prompt_tokens"))
                    for g in self.gens[1:]:
                        g.prompt_tokens = self.gens[0].prompt_tokens
                    if len(self.gens) == 1:
                        counted[0] = max(_int(usage.get("completion_tokens")), 0) or counted[0]
            if len(ended) < len(self.gens) and not all(g.finish_reason for g in self.gens):
                raise UpstreamError(502, f"The {self.up.label} ended the stream before every reply finished.",
                                    code="upstream_cut")
            if not self.gens[0].prompt_tokens and self.up.count_prompt is not None:
                from .common import off_loop

                n = await off_loop(self.up.count_prompt, self.req.messages)
                for g in self.gens:
                    g.prompt_tokens = n
            for g in self.gens:
                _parsed_calls(g)
            for i in sorted(set(range(len(self.gens)))):
                if i not in started:
                    yield Piece("start", i, self.gens[i])
                self.gens[i].completion_tokens = counted[i]
                yield Piece("end", i, self.gens[i])
        finally:
            for r in self.responses:
                r.release()  # back to the pool when read to the end, else closed (the upstream stops)
            from . import router

            router.note(self.req.model, self.prompt_tokens, self.completion_tokens)

    async def _openai(self, r):
        """(choice index, text delta, finish reason, usage) per SSE event, until [DONE]."""
        from httpx_sse._decoders import SSEDecoder  # httpx-sse's own field parser (pinned <0.5), over aiohttp's lines

        if "text/event-stream" not in r.headers.get("content-type", ""):
            with self.up._errors(streaming=True):
                head = await r.content.read(120)
            raise self.up._garbage("an event stream (text/event-stream)", head)
        done = False
        decoder = SSEDecoder()
        with self.up._errors(streaming=True):
            async for line in r.content:
                ev = decoder.decode(line.decode("utf-8", "replace").rstrip("\r\n"))
                if ev is None:
                    continue
                if ev.data.strip() == "[DONE]":
                    done = True
                    break
                if not ev.data.strip():
                    continue
                try:
                    data = json.loads(ev.data)
                except ValueError:
                    raise self.up._garbage("an OpenAI stream event", ev.data) from None
                if not isinstance(data, dict):
                    raise self.up._garbage("an OpenAI stream event", ev.data)
                if data.get("error") is not None:
                    raise UpstreamError(502, f"The {self.up.label} failed mid-stream: "
                                             f"{self.up.scrub(_error_text(ev.data.encode()))}", code="upstream_error")
                choices = data.get("choices")
                if not isinstance(choices, list):
                    raise self.up._garbage("an OpenAI stream event", ev.data)
                usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
                for c in choices:
                    i = c.get("index", 0) if isinstance(c, dict) else None
                    if not isinstance(i, int) or not 0 <= i < len(self.gens):
                        raise self.up._garbage("an OpenAI stream event", ev.data)
                    delta = c.get("delta") or {}
                    for call in delta.get("tool_calls") or []:  # streamed tool calls, as Tokens (tools contract)
                        yield i, _call_token(self.gens[i], call), None, None
                    yield i, delta.get("content") or "", c.get("finish_reason"), None
                if usage:
                    yield None, "", None, usage
        if not done and not all(g.finish_reason for g in self.gens):
            raise UpstreamError(502, f"The {self.up.label} cut the stream before it ended.", code="upstream_cut")

    async def _ollama(self, i: int, r):
        from .run import Piece

        gen = self.gens[i]
        yield Piece("start", i, gen)
        with self.up._errors(streaming=True):
            async for raw in r.content:
                line = raw.decode("utf-8", "replace")
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except ValueError:
                    raise self.up._garbage("an Ollama stream line", line) from None
                if not isinstance(data, dict):
                    raise self.up._garbage("an Ollama stream line", line)
                if data.get("error") is not None:
                    raise UpstreamError(502, f"The {self.up.label} failed mid-stream: "
                                             f"{self.up.scrub(str(data['error']))}", code="upstream_error")
                text = (data.get("message") or {}).get("content") or ""
                if text:
                    gen.completion_tokens += 1
                    yield Piece("token", i, gen, Token(text, -1))
                if data.get("done"):
                    _, done = _ollama_done(self.up, {**data, "message": data.get("message") or {}}, i)
                    gen.prompt_tokens, gen.finish_reason = done.prompt_tokens, done.finish_reason
                    gen.completion_tokens = done.completion_tokens or gen.completion_tokens
                    gen.tool_calls = done.tool_calls
                    yield Piece("end", i, gen)
                    return
        raise UpstreamError(502, f"The {self.up.label} cut the stream before it ended.", code="upstream_cut")


# -- addresses ------------------------------------------------------------------------------

def parse_url(spec: str, name: str, key_env: str | list | None = None, **kw) -> Upstream:
    """An Upstream from a URL with a kind: `openai+http://host:8080/v1` (an OpenAI-compatible
    server), `ollama+http://host:11434`, a real provider by name (`openai`, `anthropic`,
    `gemini`, `groq`: its public API, key from its variable) or at another base URL
    (`groq+http://127.0.0.1:9000/openai/v1`). A bare http(s) URL is OpenAI-compatible.
    Raises ValueError saying what is accepted."""
    spec = (spec or "").strip()
    kind, _, url = spec.partition("+") if "+" in spec.split("://", 1)[0] else ("", "", spec)
    if not kind and spec in PROVIDERS:
        kind, url = spec, ""
    if not kind and spec.startswith(("http://", "https://")):
        kind = "openai-compatible"
    accepted = ("'openai+http://HOST:PORT/v1' (llama.cpp, vLLM, LM Studio, transformers serve), "
                "'ollama+http://HOST:11434', or a provider: " + ", ".join(f"'{p}'" for p in PROVIDERS)
                + " (optionally '<provider>+https://BASE')")
    if kind not in PROVIDERS and kind not in ("ollama", "openai-compatible"):
        raise ValueError(f"upstream {name!r}: cannot read {spec!r}: expected {accepted}")
    if url and not url.startswith(("http://", "https://")):
        raise ValueError(f"upstream {name!r}: {url!r} is not an http:// or https:// URL (expected {accepted})")
    envs = tuple([key_env] if isinstance(key_env, str) else key_env or ())
    if kind == "ollama":
        if not url:
            raise ValueError(f"upstream {name!r}: 'ollama+' needs a URL, e.g. 'ollama+http://127.0.0.1:11434'")
        return Upstream(name, "ollama", url.rstrip("/"), None, envs, **kw)
    if kind == "openai" and url:  # an OpenAI-compatible server at this address: no key unless named
        return Upstream(name, "openai", url.rstrip("/"), None, envs, **kw)
    if kind == "openai-compatible":
        return Upstream(name, "openai", url.rstrip("/"), None, envs, **kw)
    default, variables = PROVIDERS[kind]
    return Upstream(name, "openai", (url or default).rstrip("/"), kind, envs or variables, **kw)
