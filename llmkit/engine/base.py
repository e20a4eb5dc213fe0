"""The engine interface every offline model implements, and what a generation yields.

The gateway's protocol adapters only ever see this: `engine.generate(messages, params)`
returns a `Generation` to iterate for text deltas; when it is exhausted it carries the
finish reason and token counts. Engines know nothing of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Protocol

import numpy as np


class EngineInputError(ValueError):
    """A request the engine cannot serve as given (e.g. prompt longer than the context)."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.param = param
        self.code = code


@dataclass
class ToolSpec:
    """A tool the model may call (engine/tools.py): its name, what it does, and a JSON schema
    for its arguments object."""

    name: str
    description: str = ""
    parameters: dict = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass
class SamplingParams:
    max_tokens: int | None = None  # None: until the model ends its turn (or the context fills)
    temperature: float = 1.0  # 0 = greedy
    top_p: float = 1.0
    top_k: int = 0  # 0 = off
    # tokens less likely than min_p x the likeliest one are dropped (after temperature); None: the
    # model's own default from its generation_config.json, as transformers and vLLM read it
    min_p: float | None = None
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    json_mode: bool = False  # legacy: the reply wrapped as {"answer": "..."}
    # structured outputs (engine/constrain.py): the reply follows this JSON schema token by token,
    # or (json_object) is any JSON object; checked with constrain.compile() before generating
    json_schema: dict | None = None
    json_object: bool = False
    logprobs: int | None = None  # None: none; k >= 0: the chosen token's and k alternatives
    repeat_penalty: float = 1.0  # Ollama's option; 1.0 = off
    # set by the engine from the request's words ("in 2 sentences", engine/follow.py): the
    # reply ends after that many sentences; no protocol field sets it
    sentences: int | None = None
    # tool calling (engine/tools.py): the tools the model may call, and whether it must:
    # "auto" (the model decides) | "none" | "required" | {"name": "<tool>"}
    tools: list[ToolSpec] | None = None
    tool_choice: str | dict = "auto"
    # False: a reply holds at most one call (OpenAI/Groq `parallel_tool_calls: false`, Anthropic
    # `disable_parallel_tool_use`): the call grammar ends after one call, no second one can begin
    parallel_tool_calls: bool = True
    # set by the engine (engine/decision.py): the training data's probability of a call of each tool for
    # this question, mixed into the first step's with tool_choice "auto" and into which tool a call names;
    # no protocol field sets it
    call_prior: dict[str, float] | None = None


@dataclass
class Token:
    """One generated token: its text delta and, when asked for, its log-probability."""

    text: str
    id: int
    logprob: float | None = None
    top: list[tuple[str, float]] | None = None
    # tool calls: the index of the call (in this reply) whose arguments JSON this token's text
    # continues; `tool_name` is set on each call's first token (whose text may be "")
    tool_call: int | None = None
    tool_name: str | None = None


class Generation:
    """Iterate for `Token`s; afterwards `finish_reason`, `prompt_tokens`, `completion_tokens`."""

    def __init__(self, tokens: Iterator[Token], prompt_tokens: int):
        self._tokens = tokens
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = 0
        self.finish_reason: str | None = None  # "stop" | "length" | "tool_calls"
        self.stop_sequence: str | None = None  # which stop string ended it, if any
        # after iteration: [{"id": "call_<24 hex>", "name": str, "arguments": dict}] when the
        # reply called tools (a reply is either text or one or more calls)
        self.tool_calls: list[dict] = []

    def __iter__(self) -> Iterator[Token]:
        return self._tokens

    def text(self) -> str:
        return "".join(t.text for t in self)

    def close(self) -> None:
        """Stop generating (the client left): the engine's work for this reply ends here."""
        close = getattr(self._tokens, "close", None)
        if close is not None:
            try:
                close()
            except ValueError:  # running in another thread right now: it stops at its next token
                pass


class Engine(Protocol):
    name: str  # e.g. "llmkit-ngram-v1": goes into the `backend` header
    context_length: int
    parameters: int  # how many numbers the model is made of
    files: list  # the files it loads (their size and digest identify it)
    vocab: int  # how many token ids there are

    def count_tokens(self, text: str) -> int: ...

    def count_chat_tokens(self, messages: list[dict], tools: list | None = None) -> int: ...

    def decode(self, ids: list[int]) -> str: ...

    def encode(self, text: str) -> list[int]: ...

    def render_prompt(self, messages: list[dict], tools: list | None = None) -> list[int]: ...

    special_tokens: dict[str, int]  # role markers and <|end|> by name ("<|user|>": id)
    end_token: int  # the id that ends a turn

    def generate(self, messages: list[dict], params: SamplingParams) -> Generation: ...

    def embed(self, texts: list[str], dimensions: int | None = None) -> np.ndarray: ...


def require_text(messages: list[dict]) -> None:
    """A user turn with no text (empty or only white space) is a client error, not a question:
    answering it would only be a guess. Parts other than text (images, tool results) count as content."""
    for m in messages:
        if m.get("role") != "user":
            continue
        c = m.get("content")
        if isinstance(c, list):
            if any(not isinstance(p, dict) or p.get("type", "text") != "text" for p in c):
                continue
            c = "".join(str(p.get("text") or "") for p in c)
        if not isinstance(c, str) or not c.strip():
            raise EngineInputError("A user message is empty: its content must contain some text.",
                                   param="messages.content", code="empty_message")


class TokenCounting:
    """The Engine methods every engine with a `tok` (Tokenizer) and `vocab` shares."""

    def count_tokens(self, text: str) -> int:
        return len(self.tok.encode(text))

    def count_chat_tokens(self, messages: list[dict], tools: list | None = None) -> int:
        """The prompt tokens a generation with these messages and tools is billed for (the tools'
        block is part of the system turn: engine/tools.py)."""
        return len(self.render_prompt(messages, tools))

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text)

    def render_prompt(self, messages: list[dict], tools: list | None = None, json_schema: dict | None = None) -> list[int]:
        """The conversation as the model reads it: role markers, turns, and the assistant's cue
        (the tools offered, tool calls and results, a structured-output request's keys, as text:
        engine/tools.py)."""
        from .tools import to_plain

        return self.tok.render_chat(to_plain(self.as_read(messages), tools or None, json_schema=json_schema))

    def as_read(self, messages: list[dict]) -> list[dict]:
        """The conversation as this model reads it (the transformer asks what an attached part's note
        raises: engine/transformer.py); generation and token counts both render this."""
        return messages

    @property
    def special_tokens(self) -> dict[str, int]:
        return dict(self.tok.special)

    @property
    def end_token(self) -> int:
        return self.tok.end_id

    def decode(self, ids: list[int]) -> str:
        if any(i < 0 or i >= self.vocab for i in ids):
            raise ValueError(f"token ids must be in 0..{self.vocab - 1}")
        return self.tok.decode(ids)
