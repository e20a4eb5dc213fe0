"""One call for every provider: `chat`, `stream`, `achat`, `astream` and `batch`.

    import llmkit
    reply = llmkit.chat("What is a token?", model="claude-haiku", max_tokens=200)
    for chunk in (s := llmkit.stream("Explain streaming", model="gemini-flash")):
        print(chunk, end="")
    s.reply.usage

Each call goes through the official SDK of the model's provider (llmkit.providers), to the
real provider or to the offline gateway as llmkit.setup() decided (chat() runs setup()
quietly if nobody has). Around the SDK call: the budget check (before anything is sent),
llmkit's retry policy, the fallback chain, the ledger, and a provider-neutral Reply. All four
calls run one attempt loop (`_Call.core`, a generator that only decides), driven by a sync
or an async runner that does the I/O; the money side of it is `usage.Spend`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Iterator, Sequence

from . import usage
from .errors import AuthenticationError, LLMError, classify, from_sdk
from .providers import Params, StreamState, Target, client_for, is_offline, resolve
from .providers.base import text_of
from .reply import Attempt, Reply, Usage
from .retry import RetryPolicy, log

__all__ = ["chat", "stream", "achat", "astream", "batch", "Stream", "AsyncStream", "BatchResults"]

DEFAULT_TIMEOUT = 120.0  # seconds per request: room for a long non-streamed answer (SDK defaults: 60-600 s)
DEFAULT_MAX_TIME = 300.0  # seconds per model, retries and waits included
_END = object()
_setup_lock = threading.Lock()


def ensure_setup() -> None:
    """Run llmkit.setup() quietly if nobody has, so a bare chat() just works."""
    from .startup import setup, status

    if status() is None:
        with _setup_lock:
            if status() is None:
                setup(quiet=True)


def split_messages(prompt_or_messages: Any, system: str | None) -> tuple[str | None, list[dict]]:
    """(system prompt, turns) from a string or a list of {"role", "content"} dicts (or
    (role, content) pairs); system messages are joined into the system prompt."""
    if isinstance(prompt_or_messages, str):
        items: list = [{"role": "user", "content": prompt_or_messages}]
    elif isinstance(prompt_or_messages, Sequence):
        items = list(prompt_or_messages)
    else:
        raise TypeError(f"expected a prompt (str) or a list of messages, got {type(prompt_or_messages).__name__}")
    systems = [system] if system else []
    turns = []
    for m in items:
        if isinstance(m, (tuple, list)) and len(m) == 2:
            m = {"role": m[0], "content": m[1]}
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise TypeError(f"each message needs 'role' and 'content', got {m!r}")
        if m["role"] in ("system", "developer"):
            systems.append(text_of(m["content"]))
        else:
            turns.append(dict(m))
    if not turns:
        raise ValueError("no user message to answer")
    return ("\n\n".join(systems) or None), turns


def _known_params() -> str:
    return "model, system, max_tokens, temperature, top_p, top_k, stop, seed, timeout, retries, max_time, fallbacks"


@dataclass
class _Call:
    """One chat()/stream() invocation, prepared: what to send, to whom, under which policy."""

    system: str | None
    turns: list[dict]
    targets: list[Target]
    params: Params
    timeout: float | None
    policy: RetryPolicy
    attempts: list[Attempt] = field(default_factory=list)
    t0: float = field(default_factory=time.perf_counter)
    _params: dict = field(default_factory=dict)
    result: Reply | None = None  # the loop's Reply, once it has one

    @classmethod
    def make(cls, prompt_or_messages: Any, model: Any, *, system: str | None = None, max_tokens: int | None = None,
             temperature: float | None = None, top_p: float | None = None, top_k: int | None = None,
             stop: str | Sequence[str] | None = None, seed: int | None = None,
             timeout: float | None = DEFAULT_TIMEOUT, retries: int = 3, max_time: float = DEFAULT_MAX_TIME,
             fallbacks: Sequence[str] | None = None, **extra: Any) -> "_Call":
        ensure_setup()
        sys_prompt, turns = split_messages(prompt_or_messages, system)
        names = [model] + list(fallbacks or [])
        targets = [m if isinstance(m, Target) else resolve(m, stacklevel=5) for m in names]
        native = targets[0].adapter.native
        for name in extra:
            if name not in native:
                raise TypeError(f"unexpected parameter {name!r}: not one of llmkit's ({_known_params()}) nor one "
                                f"that the {targets[0].provider} SDK takes for {targets[0].model}")
        if isinstance(stop, str):
            stop = [stop]
        if retries < 0:
            raise ValueError("retries must be >= 0")
        params = Params(max_tokens=max_tokens, temperature=temperature, top_p=top_p, top_k=top_k,
                        stop=list(stop) if stop else None, seed=seed, extra=extra)
        return cls(sys_prompt, turns, targets, params, timeout, RetryPolicy(retries=retries, max_time=max_time))

    # -- per target ----------------------------------------------------------------------
    def params_for(self, target: Target) -> Params:
        """The parameters for this target: a fallback to another provider leaves out the
        provider-native ones its SDK does not take (and says so)."""
        if target is self.targets[0] or not self.params.extra:
            return self.params
        if id(target) not in self._params:
            native = target.adapter.native
            dropped = [k for k in self.params.extra if k not in native]
            if dropped:
                log.warning("llmkit: fallback %s does not take %s: left out", target.label, ", ".join(dropped))
            self._params[id(target)] = Params(**{**self.params.__dict__,
                                                 "extra": {k: v for k, v in self.params.extra.items() if k in native}})
        return self._params[id(target)]

    def request(self, target: Target, stream: bool) -> dict:
        return target.adapter.request(target.model, self.system, self.turns, self.params_for(target), stream)

    def attempt_timeout(self, target: Target, started: float) -> float | None:
        if target.adapter.timeout_on_client:
            return self.timeout
        left = max(0.5, self.policy.max_time - (time.perf_counter() - started))
        return left if self.timeout is None else min(self.timeout, left)

    def client(self, target: Target, aio: bool = False) -> Any:
        try:
            return client_for(target.adapter, aio=aio, timeout=self.timeout)
        except Exception as e:
            if not (from_sdk(e) or isinstance(e, ValueError)):
                raise
            raise AuthenticationError(f"could not build the {target.provider} client ({e}); set its API key or "
                                      "run llmkit.setup()", provider=target.provider, model=target.model,
                                      original=e) from e

    def failed(self, spend: usage.Spend, exc: BaseException, t: float) -> LLMError:
        """Classify an SDK exception, note it in the attempts and the ledger; returns the error."""
        target = spend.target
        err = classify(exc, target.provider, target.model)
        if err.model is None:
            err.model, err.provider = target.model, target.provider
        lat = time.perf_counter() - t
        self.attempts.append(Attempt(target.provider, target.model, type(err).__name__, err.message,
                                     err.status_code, latency=lat))
        spend.failed(lat, type(err).__name__)
        return err

    def before_sleep(self, target: Target):
        def note(rs: Any) -> None:
            err = rs.outcome.exception()
            wait = rs.next_action.sleep if rs.next_action else 0.0
            if self.attempts:
                self.attempts[-1].wait = wait
            log.warning("llmkit: %s failed with %s%s; retry %d of %d in %.2fs", target.label, type(err).__name__,
                        f" ({err.status_code})" if getattr(err, "status_code", None) not in (None, -1) else "",
                        rs.attempt_number, self.policy.retries, wait)
        return note

    def reply(self, spend: usage.Spend, text: str, st: StreamState | Any, raw: Any, t: float,
              ttft: float | None = None) -> Reply:
        target, now = spend.target, time.perf_counter()
        self.attempts.append(Attempt(target.provider, target.model, latency=now - t))
        cost = spend.answered(st.input_tokens, st.output_tokens, now - t)
        return Reply(text=text, provider=target.provider, model=target.model, finish_reason=st.finish_reason,
                     usage=Usage(st.input_tokens, st.output_tokens), cost=cost, latency=now - self.t0, ttft=ttft,
                     retries=len(self.attempts) - 1, attempts=list(self.attempts), offline=spend.offline,
                     requested=self.targets[0].requested, model_version=st.model_version,
                     finish_raw=st.finish_raw, raw=raw)

    # -- the one attempt loop ------------------------------------------------------------
    # A generator that decides everything (targets in order, retries, fallbacks, budget and
    # ledger, the reply) and leaves the I/O to its runner: it yields an effect, a tuple
    # ("send" | "open" | "next" | "close" | "sleep" | "text", ...), and the runner sends back
    # the outcome or throws in the exception. `run`/`stream` run it with the sync SDK
    # clients, `arun`/`astream` with the async ones.

    def core(self, stream: bool, holder: Any = None):
        last: LLMError | None = None
        for i, target in enumerate(self.targets):
            spend = usage.Spend(target, is_offline(target.provider))
            req = self.request(target, stream)
            messages = ([{"role": "system", "content": self.system}] if self.system else []) + self.turns
            spend.reserve(messages, self.params_for(target).max_tokens)
            try:
                opened = yield from self.retrying(spend, req, stream)
                break
            except LLMError as err:
                spend.settle(0.0)
                last = err
                if i + 1 < len(self.targets):
                    log.warning("llmkit: %s gave up with %s; falling back to %s", target.label,
                                type(err).__name__, self.targets[i + 1].label)
            except BaseException:
                spend.settle(0.0)
                raise
        else:
            if stream and last is not None and last.partial_text is None:
                last.partial_text = ""
            raise self.give_up(last)  # type: ignore[arg-type]
        if not stream:
            raw, res, t = opened
            self.result = self.reply(spend, res.text, res, raw, t)
            return
        yield from self.read(spend, opened, holder)

    def retrying(self, spend: usage.Spend, req: dict, stream: bool):
        """One target's attempts under the retry policy. The first runs outside tenacity (the
        common case costs nothing extra); after a retryable failure tenacity's state machine
        decides each next step (its attempt 1 being that failure), the runner sleeps."""
        started = time.perf_counter()
        try:
            return (yield from self.attempt(spend, req, stream, started))
        except LLMError as e:
            if not e.retryable or self.policy.retries == 0:
                raise
            first: list[BaseException] = [e]
        import tenacity

        retrying = tenacity.Retrying(**self.policy._kwargs(self.before_sleep(spend.target), started))
        retrying.begin()
        rs = tenacity.RetryCallState(retrying, None, (), {})
        while True:
            do = retrying.iter(rs)
            if isinstance(do, tenacity.DoAttempt):
                try:
                    if first:
                        raise first.pop()
                    result = yield from self.attempt(spend, req, stream, started)
                except BaseException as e:  # noqa: B902 - as tenacity's own loop: it decides
                    rs.set_exception((type(e), e, e.__traceback__))
                else:
                    rs.set_result(result)
            elif isinstance(do, tenacity.DoSleep):
                rs.prepare_for_next_attempt()
                yield ("sleep", float(do))
            else:
                return do

    def attempt(self, spend: usage.Spend, req: dict, stream: bool, started: float):
        """One request. Not streamed: (raw, Result, t). Streamed: read up to the first text,
        so a failure before it can still be retried: (sdk stream, iterator, state, first, t)."""
        target = spend.target
        adapter, t, s = target.adapter, time.perf_counter(), None
        timeout = self.attempt_timeout(target, started)
        try:
            if not stream:
                raw = yield ("send", target, req, timeout)
                return raw, adapter.parse(raw), t
            s, it = yield ("open", target, req, timeout)
            st, first = StreamState(), ""
            while not first:
                chunk = yield ("next", it)
                if chunk is _END:
                    break
                first = adapter.feed(chunk, st)
                st.last = chunk  # type: ignore[attr-defined]
            return s, it, st, first, t
        except Exception as e:
            if s is not None:
                yield ("close", target, s)
            if not from_sdk(e):
                raise
            raise self.failed(spend, e, t) from e

    def read(self, spend: usage.Spend, opened: tuple, holder: Any):
        """The rest of an opened stream: each text out as a "text" effect; the Reply at the end.
        The runner throws _Stopped in when the caller stops reading early."""
        s, it, st, text, t = opened
        target, parts = spend.target, []
        ttft = time.perf_counter() - self.t0 if text else None
        try:
            while True:
                if text:
                    if ttft is None:
                        ttft = time.perf_counter() - self.t0
                    parts.append(text)
                    holder.parts.append(text)
                    yield ("text", text)
                chunk = yield ("next", it)
                if chunk is _END:
                    break
                st.last = chunk  # type: ignore[attr-defined]
                text = target.adapter.feed(chunk, st)
        except _Stopped:
            yield ("close", target, s)
            spend.settle(None)  # stopped early: the tokens may have been billed
            raise
        except Exception as e:
            yield ("close", target, s)
            if not from_sdk(e):
                raise
            err = self.failed(spend, e, t)
            err.partial_text = "".join(parts)
            spend.settle(None)
            raise self.give_up(err) from e
        holder.reply = self.result = self.reply(spend, "".join(parts), st, getattr(st, "last", None), t, ttft)

    def give_up(self, err: LLMError) -> LLMError:
        err.attempts = list(self.attempts)
        return err

    # -- the runners: the same loop, sync and async I/O ----------------------------------
    def effect(self, op: tuple) -> Any:
        kind = op[0]
        if kind == "next":
            return next(op[1], _END)
        if kind == "send":
            return op[1].adapter.send(self.client(op[1]), op[2], op[3])
        if kind == "open":
            s = op[1].adapter.open(self.client(op[1]), op[2], op[3])
            return s, iter(s)
        if kind == "close":
            return op[1].adapter.close(op[2])
        time.sleep(op[1])

    async def aeffect(self, op: tuple) -> Any:
        kind = op[0]
        if kind == "next":
            return await anext(op[1], _END)
        if kind == "send":
            return await op[1].adapter.asend(self.client(op[1], aio=True), op[2], op[3])
        if kind == "open":
            s = await op[1].adapter.aopen(self.client(op[1], aio=True), op[2], op[3])
            return s, aiter(s)
        if kind == "close":
            return await _aclose(op[2])
        await asyncio.sleep(op[1])

    def drive(self, gen) -> Iterator[str]:
        """Run the loop with sync I/O; yields the texts of a stream."""
        loop = _Loop(gen)
        for op in loop:
            with loop.outcome():  # a text goes out to the caller; any other effect is done here
                loop.reply = (yield op[1]) if op[0] == "text" else self.effect(op)

    async def adrive(self, gen) -> AsyncIterator[str]:
        """Run the loop with async I/O; yields the texts of a stream."""
        loop = _Loop(gen)
        for op in loop:
            with loop.outcome():  # a text goes out to the caller; any other effect is done here
                loop.reply = (yield op[1]) if op[0] == "text" else await self.aeffect(op)

    def run(self) -> Reply:
        for _ in self.drive(self.core(False)):
            pass
        return self.result

    async def arun(self) -> Reply:
        async for _ in self.adrive(self.core(False)):
            pass
        return self.result

    def stream(self, holder: "Stream") -> Iterator[str]:
        return self.drive(self.core(True, holder))

    def astream(self, holder: "AsyncStream") -> AsyncIterator[str]:
        return self.adrive(self.core(True, holder))


class _Stopped(Exception):
    """Thrown into the loop when the caller stops reading a stream early."""


class _Loop:
    """The runners' side of the loop: the next effect, fed the last outcome or exception."""

    def __init__(self, gen: Any) -> None:
        self.gen, self.reply, self.error = gen, None, None

    def __iter__(self) -> "_Loop":
        return self

    def __next__(self) -> tuple:
        error, self.error = self.error, None
        try:
            return self.gen.throw(error) if error is not None else self.gen.send(self.reply)
        except _Stopped:
            raise StopIteration from None

    @contextlib.contextmanager
    def outcome(self):
        """What happened at a step goes back into the loop, which decides what it means: an
        effect's exception as it is; the caller closing the stream at a text as _Stopped."""
        try:
            yield
        except GeneratorExit:
            self.error = _Stopped()
        except BaseException as e:  # noqa: B902
            self.error = e


async def _aclose(s: Any) -> None:
    for name in ("aclose", "close"):
        fn = getattr(s, name, None)
        if callable(fn):
            try:
                res = fn()
                if asyncio.iscoroutine(res):
                    await res
            except Exception:  # pragma: no cover - best effort
                pass
            return


# ---- public API ------------------------------------------------------------------------

def chat(prompt_or_messages: Any, model: str | None = None, **params: Any) -> Reply:
    """Ask `model` ("provider:model", or a catalog id/alias; None: the default) and wait for
    the whole reply.

    Parameters (all optional): system, max_tokens, temperature, top_p, top_k, stop, seed;
    timeout (seconds per request, default 120), retries (default 3), max_time (seconds per
    model, waits included, default 300), fallbacks (models to try in order when this one
    fails after its retries). Any other keyword must be one the provider's SDK takes
    (e.g. response_format for OpenAI, thinking for Anthropic, num_ctx for Ollama) and is
    passed through unchanged; anything else is a TypeError.
    """
    return _Call.make(prompt_or_messages, model, **params).run()


async def achat(prompt_or_messages: Any, model: str | None = None, **params: Any) -> Reply:
    """chat() for asyncio code (the SDKs' async clients; no thread is blocked)."""
    return await _Call.make(prompt_or_messages, model, **params).arun()


class Stream:
    """Iterate for text chunks. When the stream ends, `.reply` is the final Reply (usage,
    cost, ttft); `get_final_reply()` reads whatever is left and returns it. A stream that
    breaks after text arrived raises ConnectionError (or what the provider said) with the
    text so far in `.partial_text`. Use it in a `with` block, or call close(), to stop early."""

    def __init__(self, call: _Call) -> None:
        self.parts: list[str] = []
        self.reply: Reply | None = None
        self._gen = call.stream(self)
        # open it now, up to the first text: errors (and the budget check) surface at the
        # call, as with the SDKs' own stream=True, and retries happen before anything is shown
        self._pending: Any = next(self._gen, _END)

    def __iter__(self) -> "Stream":
        return self

    def __next__(self) -> str:
        if self._pending is not _END:
            chunk, self._pending = self._pending, _END
            return chunk
        return next(self._gen)

    @property
    def text(self) -> str:
        """The text received so far."""
        return "".join(self.parts)

    def get_final_reply(self) -> Reply:
        for _ in self:
            pass
        if self.reply is None:
            raise RuntimeError("the stream was closed before it finished")
        return self.reply

    def close(self) -> None:
        self._gen.close()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "done" if self.reply is not None else f"{len(self.parts)} chunks so far"
        return f"<llmkit.Stream {state}>"


class AsyncStream:
    """Stream for asyncio: `async for chunk in llmkit.astream(...)`; then `.reply`, or
    `await s.get_final_reply()`."""

    def __init__(self, call: _Call) -> None:
        self.parts: list[str] = []
        self.reply: Reply | None = None
        self._gen = call.astream(self)

    def __aiter__(self) -> "AsyncStream":
        return self

    async def __anext__(self) -> str:
        return await self._gen.__anext__()

    @property
    def text(self) -> str:
        return "".join(self.parts)

    async def get_final_reply(self) -> Reply:
        async for _ in self:
            pass
        if self.reply is None:
            raise RuntimeError("the stream was closed before it finished")
        return self.reply

    async def aclose(self) -> None:
        await self._gen.aclose()

    async def __aenter__(self) -> "AsyncStream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


def stream(prompt_or_messages: Any, model: str | None = None, **params: Any) -> Stream:
    """Like chat(), but yields the text as it arrives; see `Stream`. The request is sent at
    once (errors are raised here, as with the SDKs); retries and fallbacks apply only until
    the first text chunk: after that, an error is raised, not hidden."""
    return Stream(_Call.make(prompt_or_messages, model, **params))


def astream(prompt_or_messages: Any, model: str | None = None, **params: Any) -> AsyncStream:
    """stream() for asyncio: `async for chunk in llmkit.astream(...)`."""
    return AsyncStream(_Call.make(prompt_or_messages, model, **params))


class BatchResults(list):
    """batch()'s results in input order: a Reply, or the LLMError that item ended with."""

    @property
    def errors(self) -> list[tuple[int, LLMError]]:
        return [(i, r) for i, r in enumerate(self) if isinstance(r, BaseException)]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def texts(self) -> list[str | None]:
        return [None if isinstance(r, BaseException) else r.text for r in self]


def batch(prompts: Sequence[Any], model: str | None = None, *, concurrency: int = 4, progress: bool = True,
          **params: Any) -> BatchResults:
    """chat() for many prompts, `concurrency` at a time (threads), with a progress bar
    (tqdm.auto: a widget in notebooks, text in terminals). Results keep the input order; a
    failed item holds its LLMError instead of a Reply, and the others are kept. A mistake
    in the parameters (TypeError/ValueError) is raised at once, before anything is sent."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from tqdm.auto import tqdm

    prompts = list(prompts)
    if not prompts:
        return BatchResults()
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    first = _Call.make(prompts[0], model, **params)  # checks model and parameters once
    targets = first.targets
    fallbacks = targets[1:]
    results: list[Any] = [None] * len(prompts)
    failures = 0
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="llmkit-batch") as pool, \
            tqdm(total=len(prompts), disable=not progress, desc=f"llmkit {targets[0].label}", unit="call") as bar:
        futures = {pool.submit(chat, p, targets[0], **{**params, "fallbacks": fallbacks}): i
                   for i, p in enumerate(prompts)}
        try:
            for f in as_completed(futures):
                i = futures[f]
                try:
                    results[i] = f.result()
                except LLMError as e:
                    results[i] = e
                    failures += 1
                    bar.set_postfix(failed=failures)
                bar.update(1)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return BatchResults(results)
