"""One exception hierarchy for every provider, so a lesson catches `RateLimitError` once
instead of five SDKs' classes. `classify(exc, provider)` turns an SDK's exception into
one of these: HTTP status first, then the message (a 400 that means "context too long"
or a 429 that means "out of credit" is not what its status alone says).

    LLMError                     anything that went wrong calling a model (.provider, .model,
     │                           .status_code, .message, .original, .retry_after, .retryable)
     ├── AuthenticationError     401: key missing, wrong or revoked
     ├── PermissionDeniedError   403: valid key, not allowed (model, region, organisation)
     ├── NotFoundError           404: no such model or endpoint
     ├── BadRequestError         400/409/413/422: the request itself is wrong
     │    └── ContextLengthError     the prompt (+ max_tokens) does not fit the context window
     ├── RateLimitError          429: too many requests or tokens; retried after .retry_after
     │    └── QuotaExceededError     out of credit (insufficient_quota, billing): not retried
     ├── OverloadedError         503 / Anthropic 529: the provider is busy; retried
     ├── ServerError             500, 502 and other 5xx; retried
     ├── TimeoutError            no answer within `timeout` (also a builtins.TimeoutError); retried
     ├── ConnectionError         could not connect, or the connection broke mid-answer (also a
     │                           builtins.ConnectionError; .partial_text holds what had arrived); retried
     └── BudgetExceededError     refused before sending: the call could exceed llmkit.budget()

`PermissionDeniedError` is named as in the openai and anthropic SDKs, so it never hides
the builtin `PermissionError`. `TimeoutError` and `ConnectionError` subclass the builtins
of the same name, so `except TimeoutError:` catches them whichever one is in scope.
"""

from __future__ import annotations

import builtins
import email.utils
import re
import time
from typing import Any

__all__ = ["LLMError", "AuthenticationError", "PermissionDeniedError", "NotFoundError", "BadRequestError",
           "ContextLengthError", "RateLimitError", "QuotaExceededError", "OverloadedError", "ServerError",
           "TimeoutError", "ConnectionError", "BudgetExceededError", "classify"]


class LLMError(Exception):
    """Base class. `original` (also `__cause__`) is the SDK's own exception."""

    retryable = False

    def __init__(self, message: str, *, provider: str | None = None, model: str | None = None,
                 status_code: int | None = None, original: BaseException | None = None,
                 retry_after: float | None = None, partial_text: str | None = None):
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.model = model
        self.status_code = status_code
        self.original = original
        self.retry_after = retry_after
        self.partial_text = partial_text
        self.attempts: list = []  # filled by llmkit.chat when it gives up: every try, in order
        if original is not None:
            self.__cause__ = original

    def __str__(self) -> str:
        where = ":".join(p for p in (self.provider, self.model) if p)
        status = f" {self.status_code}" if self.status_code not in (None, -1) else ""
        head = f"[{where}{status}] " if where or status else ""
        tail = f" (retry after {self.retry_after:g}s)" if self.retry_after is not None else ""
        return f"{head}{self.message}{tail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class AuthenticationError(LLMError):
    pass


class PermissionDeniedError(LLMError):
    pass


class NotFoundError(LLMError):
    pass


class BadRequestError(LLMError):
    pass


class ContextLengthError(BadRequestError):
    pass


class RateLimitError(LLMError):
    retryable = True


class QuotaExceededError(RateLimitError):
    retryable = False  # waiting does not add credit


class OverloadedError(LLMError):
    retryable = True


class ServerError(LLMError):
    retryable = True


class TimeoutError(LLMError, builtins.TimeoutError):
    retryable = True


class ConnectionError(LLMError, builtins.ConnectionError):
    retryable = True


class BudgetExceededError(LLMError):
    """The call was not sent: spent + this call's estimate would pass the budget."""

    def __init__(self, message: str, *, spent: float, limit: float, estimate: float | None, **kw: Any):
        super().__init__(message, **kw)
        self.spent, self.limit, self.estimate = spent, limit, estimate


# ---- classification -------------------------------------------------------------------

_CONTEXT = re.compile(r"context.length|context_length|context window|maximum context|prompt is too long|"
                      r"too many tokens|exceeds the maximum number of tokens|input length exceeds|"
                      r"reduce the length|input token count", re.I)
_RATE = re.compile(r"rate.limit|too many requests|resource.exhausted|resource has been exhausted|"
                   r"requests per (minute|day)|tokens per (minute|day)", re.I)
_QUOTA = re.compile(r"insufficient_quota|exceeded your current quota|billing|credit balance is too low", re.I)
_NO_CREDIT = re.compile(r"insufficient_quota|credit balance is too low", re.I)  # never a matter of waiting
_BAD_KEY = re.compile(r"api.key not valid|api_key_invalid|invalid api.key|incorrect api key", re.I)  # Gemini: 400
_CONNECTION = re.compile(r"connection|disconnect|cut|eof|broken pipe|reset by peer", re.I)
_WAIT_IN_TEXT = re.compile(r"(?:try again|retry|retrying) (?:in|after) ([\d.]+)\s*(ms|milliseconds?|s|sec|seconds?)?\b",
                           re.I)

_SDK_MODULES = ("openai", "anthropic", "google", "groq", "ollama", "httpx", "httpx2", "httpcore", "h11", "anyio")


def from_sdk(exc: BaseException) -> bool:
    """Whether `exc` comes from an SDK or the HTTP stack (and so is worth classifying),
    rather than from a bug in the calling code."""
    if isinstance(exc, (LLMError, OSError, builtins.TimeoutError)):
        return True
    return any(c.__module__.split(".")[0] in _SDK_MODULES for c in type(exc).__mro__)


def _status(exc: BaseException) -> int | None:
    for attr in ("status_code", "code", "status"):
        v = getattr(exc, attr, None)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    resp = getattr(exc, "response", None)
    v = getattr(resp, "status_code", None)
    return v if isinstance(v, int) else None


def _message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return err["message"]
        if isinstance(body.get("message"), str):
            return body["message"]
    for attr in ("error", "message"):  # ollama .error, google-genai .message
        v = getattr(exc, attr, None)
        if isinstance(v, str) and v:
            return v
    return str(exc) or type(exc).__name__


def _hints(exc: BaseException) -> str:
    """Machine-readable words an SDK keeps next to the message (code, type, status)."""
    parts = [str(getattr(exc, a, "") or "") for a in ("code", "type", "status")]
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            parts += [str(err.get(k, "") or "") for k in ("type", "code", "status")]
    return " ".join(p for p in parts if p)


def _headers(exc: BaseException):
    resp = getattr(exc, "response", None)
    return getattr(resp, "headers", None) or {}


def parse_retry_after(exc: BaseException, message: str = "") -> float | None:
    """Seconds to wait, from retry-after-ms / Retry-After (seconds or an HTTP date), a
    Gemini RetryInfo detail ("30s"), or the message ("try again in 1.5s")."""
    headers = _headers(exc)
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000)
        ra = headers.get("retry-after")
        if ra is not None:
            try:
                return max(0.0, float(ra))
            except ValueError:
                when = email.utils.parsedate_to_datetime(ra)
                return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        pass
    details = getattr(exc, "details", None)
    if isinstance(details, dict):
        details = (details.get("error") or {}).get("details")
    for d in details if isinstance(details, list) else ():
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("RetryInfo"):
            m = re.fullmatch(r"([\d.]+)s", str(d.get("retryDelay", "")))
            if m:
                return float(m.group(1))
    m = _WAIT_IN_TEXT.search(message or "")
    if m:
        value = float(m.group(1))
        return value / 1000 if (m.group(2) or "s").lower().startswith("m") else value
    return None


def _by_type(exc: BaseException) -> type[LLMError] | None:
    names = [c.__name__ for c in type(exc).__mro__]
    if isinstance(exc, builtins.TimeoutError) or any("Timeout" in n for n in names):
        return TimeoutError
    if isinstance(exc, (builtins.ConnectionError, OSError)) or any(
            n in ("APIConnectionError", "TransportError", "NetworkError", "RemoteProtocolError",
                  "ProtocolError", "ConnectError", "ReadError", "WriteError") for n in names):
        return ConnectionError
    return None


def classify(exc: BaseException, provider: str | None = None, model: str | None = None) -> LLMError:
    """The llmkit error for an SDK (or transport) exception. Never raises; an unknown
    exception becomes a plain LLMError that keeps it as `.original`."""
    if isinstance(exc, LLMError):
        return exc
    status = _status(exc)
    message = _message(exc)
    words = f"{message} {_hints(exc)}"
    cls: type[LLMError] | None
    if status == -1 or status is None:  # Ollama's mid-stream error line, or no HTTP answer at all
        cls = _by_type(exc)
        if cls is None and status == -1:
            cls = (RateLimitError if _RATE.search(words) else ContextLengthError if _CONTEXT.search(words)
                   else ConnectionError if _CONNECTION.search(words) else ServerError)
    elif status == 401:
        cls = AuthenticationError
    elif status == 403:
        cls = QuotaExceededError if _QUOTA.search(words) else PermissionDeniedError
    elif status == 404:
        cls = NotFoundError
    elif status == 408:
        cls = TimeoutError
    elif status == 429:  # a quota message with a retry hint (Gemini's free tier) is a rate limit
        quota = _NO_CREDIT.search(words) or (_QUOTA.search(words) and parse_retry_after(exc, message) is None)
        cls = QuotaExceededError if quota else RateLimitError
    elif status == 402:
        cls = QuotaExceededError
    elif status in (503, 529):
        cls = OverloadedError
    elif status >= 500:
        cls = OverloadedError if "overloaded" in words.lower() else ServerError
    elif 400 <= status < 500:
        if _BAD_KEY.search(words):
            cls = AuthenticationError
        elif _CONTEXT.search(words):
            cls = ContextLengthError
        elif _QUOTA.search(words):
            cls = QuotaExceededError
        elif _RATE.search(words):
            cls = RateLimitError
        elif "overloaded" in words.lower():
            cls = OverloadedError
        else:
            cls = BadRequestError
    else:
        cls = None
    if cls is None:
        cls = LLMError
    retry_after = parse_retry_after(exc, message) if cls.retryable or issubclass(cls, RateLimitError) else None
    return cls(message, provider=provider, model=model, status_code=status, original=exc, retry_after=retry_after)
