"""llmkit's one retry policy: exponential backoff with jitter (tenacity), honouring
Retry-After, only for errors worth retrying, capped in attempts and in total time.

The SDKs' own retries are switched off when llmkit builds their clients, so the count in
`reply.retries` is every retry that happened. Each retry is logged on the "llmkit" logger
(WARNING: visible in a notebook without any logging setup).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TypeVar

from .errors import LLMError

log = logging.getLogger("llmkit")
T = TypeVar("T")


def retryable(exc: BaseException) -> bool:
    return isinstance(exc, LLMError) and exc.retryable


@dataclass(frozen=True)
class RetryPolicy:
    """retries: how many times to try again after the first attempt (0 = never).
    max_time: seconds a call may take in all, waits included; no retry starts after it.
    initial / max_wait: the backoff's first step and ceiling, in seconds; each wait is
    half fixed, half random ("equal jitter"), so clients that failed together spread out.
    A Retry-After from the provider is a floor: llmkit never retries earlier than asked."""

    retries: int = 3
    max_time: float = 300.0
    initial: float = 0.5
    max_wait: float = 20.0

    def wait(self, attempt: int, exc: BaseException | None) -> float:
        asked = getattr(exc, "retry_after", None)
        if asked is not None:
            return asked + random.uniform(0, min(1.0, 0.1 * asked))
        step = min(self.max_wait, self.initial * 2 ** (attempt - 1))
        return step / 2 + random.uniform(0, step / 2)

    def _kwargs(self, before_sleep: Callable[[Any], None], started: float) -> dict:
        import tenacity

        policy = self

        class stop_before_max_time(tenacity.stop.stop_base):
            """No retry that would start after max_time, counted from the first attempt."""

            def __call__(self, rs: Any) -> bool:
                return time.perf_counter() - started + (rs.upcoming_sleep or 0.0) >= policy.max_time

        return {"stop": tenacity.stop_after_attempt(self.retries + 1) | stop_before_max_time(),
                "wait": lambda rs: self.wait(rs.attempt_number, rs.outcome.exception()),
                "retry": tenacity.retry_if_exception(retryable),
                "before_sleep": before_sleep, "reraise": True}

    def call(self, fn: Callable[[], T], before_sleep: Callable[[Any], None], started: float) -> T:
        """fn() under this policy. The first attempt runs outside tenacity (the common case
        costs nothing extra); if it fails with a retryable error, tenacity takes over from
        attempt 2, its attempt 1 being that failure."""
        try:
            return fn()
        except LLMError as e:
            if not e.retryable or self.retries == 0:
                raise
            first: list[BaseException] = [e]

        def again() -> T:
            if first:
                raise first.pop()
            return fn()

        import tenacity

        return tenacity.Retrying(**self._kwargs(before_sleep, started))(again)

    async def acall(self, fn: Callable[[], Awaitable[T]], before_sleep: Callable[[Any], None], started: float) -> T:
        try:
            return await fn()
        except LLMError as e:
            if not e.retryable or self.retries == 0:
                raise
            first: list[BaseException] = [e]

        async def again() -> T:
            if first:
                raise first.pop()
            return await fn()

        import tenacity

        return await tenacity.AsyncRetrying(**self._kwargs(before_sleep, started))(again)
