"""Errors as each provider sends them, so every official SDK raises its own class.

`APIError` is raised anywhere in the gateway; `render(protocol, err)` turns it into the
status, headers and body that protocol's real server would send:

    openai / groq   {"error": {"message", "type", "param", "code"}}
    anthropic       {"type": "error", "error": {"type", "message"}}
    gemini          {"error": {"code", "message", "status"}}
    ollama          {"error": "..."}
    course          {"detail": "..."}

`protocol_of(path, headers, query)` tells which protocol a request speaks (paths are shared:
GET /v1/models is OpenAI's, Anthropic's and Gemini's, told apart by their headers and by
Gemini's `?key=`).
"""

from __future__ import annotations

import json
from typing import Mapping

OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "permission_error",
                404: "invalid_request_error", 408: "timeout", 409: "conflict", 413: "invalid_request_error",
                422: "invalid_request_error", 429: "rate_limit_exceeded", 500: "server_error",
                503: "service_unavailable", 504: "timeout"}
ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                   404: "not_found_error", 413: "request_too_large", 422: "invalid_request_error",
                   429: "rate_limit_error", 500: "api_error", 503: "overloaded_error", 504: "timeout_error",
                   529: "overloaded_error"}
GEMINI_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 408: "DEADLINE_EXCEEDED", 409: "ABORTED", 413: "INVALID_ARGUMENT", 422: "INVALID_ARGUMENT",
                 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}


GEMINI_METHODS = {"generateContent", "streamGenerateContent", "countTokens", "embedContent", "batchEmbedContents"}


class APIError(Exception):
    """An error to send to the client: status, a message that says what was wrong, and the
    field (`param`) it was about. `code`/`type` override the protocol's defaults."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 type: str | None = None, headers: Mapping[str, str] | None = None,
                 details: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type
        self.headers = dict(headers or {})
        self.details = details  # Anthropic's `error.details` (what the SDK's thread recovery reads)


def render(protocol: str, err: APIError) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) for this error in this protocol's own format."""
    s = err.status
    if protocol == "anthropic":
        body = {"type": "error", "error": {"type": err.type or ANTHROPIC_TYPES.get(s, "api_error"),
                                           "message": err.message}}
        if err.details:
            body["error"]["details"] = err.details
    elif protocol == "gemini":
        body = {"error": {"code": s, "message": err.message, "status": err.type or GEMINI_STATUS.get(s, "UNKNOWN")}}
    elif protocol == "ollama":
        body = {"error": err.message}
    elif protocol == "course":
        body = {"detail": err.message}
    else:  # openai, groq
        body = {"error": {"message": err.message, "type": err.type or OPENAI_TYPES.get(s, "api_error"),
                          "param": err.param, "code": err.code}}
    headers = {"content-type": "application/json", **err.headers}
    return s, headers, json.dumps(body).encode()


def protocol_of(path: str, headers: Mapping[str, str], query: str = "") -> str:
    """Which provider protocol a request speaks, from its path and headers."""
    if path.startswith("/api/"):
        return "ollama"
    if path.startswith("/openai/") or path.startswith("/v1beta/openai/"):  # Groq; Gemini's OpenAI compatibility
        return "openai"
    if path.startswith("/v1beta") or path.rsplit(":", 1)[-1] in GEMINI_METHODS:
        return "gemini"
    if path.startswith("/v1/"):
        if path.startswith("/v1/messages") or "anthropic-version" in headers:
            return "anthropic"
        if "x-goog-api-key" in headers or "x-goog-api-client" in headers:
            return "gemini"
        if (path == "/v1/models" or path.startswith("/v1/models/")) and "key" in query_names(query):
            return "gemini"  # Gemini's ?key=; only a parameter named exactly that, on its paths
        return "openai"
    return "course"


def query_names(query: str) -> set[str]:
    """The parameter names in a query string (`monkey=1` is not `key`)."""
    from urllib.parse import parse_qsl

    return {k for k, _ in parse_qsl(query, keep_blank_values=True)}
