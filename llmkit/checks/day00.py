"""Checks for day 0 (setup): keys without leaking them, .env files, a first call."""

from __future__ import annotations

import io
import os
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

from ..lang import t
from .core import Incorrect, Problem, call
from .recording import recording

DUMMY = "llmkit-offline"  # what setup() puts in a key variable for the offline gateway
_VAR = "LLMKIT_CHECK_DEMO_KEY"
_CANARY = "sk-check.4f1d2c3b5a69e7d8c0b1"


def _with_env(var: str, value: str | None, fn, *args):
    old = os.environ.get(var)
    try:
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
        out = io.StringIO()
        with redirect_stdout(out):
            result = call(fn, *args)
        return result, out.getvalue()
    finally:
        if old is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = old


def _check_key_status(key_status) -> str:
    cases = [(_CANARY, "set"), (None, "not set"), ("", "not set"), (DUMMY, "placeholder")]
    for value, want in cases:
        got, printed = _with_env(_VAR, value, key_status, _VAR)
        if _CANARY in str(got) or _CANARY[:12] in str(got) or _CANARY[:12] in printed:
            raise Incorrect(t("your function showed the key itself (or its beginning): it must only say "
                              "whether the key is there."))
        if got != want:
            shown = t("unset") if value is None else t("set to ''") if value == "" else \
                t("set to the offline placeholder 'llmkit-offline'") if value == DUMMY else t("set to a real-looking key")
            raise Incorrect(t("with {var} {shown}, key_status({var!r}) returned {got!r}; expected {want!r}.",
                              var=_VAR, shown=shown, got=got, want=want))
    return t("it tells 'set', 'placeholder' and 'not set' apart and never shows the value.")


q1 = Problem(
    "q1", "key_status", _check_key_status,
    hint="Read the variable with os.environ.get(name, ''); compare it with '' and with 'llmkit-offline'. "
         "Return one of the three words; never return or print the value.",
    solution='''
    def key_status(name):
        value = os.environ.get(name, "")
        if not value:
            return "not set"
        if value == "llmkit-offline":
            return "placeholder"
        return "set"
    ''')


def _check_mask(mask) -> str:
    cases = {
        "sk-proj.abcdefghijklmnopqrstuvwxyz123456": "sk-...3456",
        "gsk_0123456789.ABCDEFGHIJ": "gsk...GHIJ",
        "AIzaSyA-short1": "AIz...ort1",
        "short-key": "***",
        "": "***",
    }
    for secret, want in cases.items():
        got = call(mask, secret)
        if got != want:
            raise Incorrect(t("mask({secret!r}) returned {got!r}; expected {want!r} ({n} characters: {than} 12).",
                              secret=secret, got=got, want=want, n=len(secret),
                              than=t("at least") if len(secret) >= 12 else t("fewer than")))
    return t("long keys keep 3 characters in front and 4 at the end, short ones are hidden completely.")


q2 = Problem(
    "q2", "mask", _check_mask,
    hint="Check len(secret) < 12 first. Otherwise slice: secret[:3] + '...' + secret[-4:].",
    solution='''
    def mask(secret):
        if len(secret) < 12:
            return "***"
        return secret[:3] + "..." + secret[-4:]
    ''')


_ENV_TEXT = """# keys for the course (never commit this file)
OPENAI_API_KEY=sk-test.not.a.real.key.1234567890
export GROQ_API_KEY="gsk_test_not_real"

ANTHROPIC_API_KEY='sk-ant-test'
EMPTY_ONE=
"""


def _check_env_names(env_names) -> str:
    before = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ".env"
        path.write_text(_ENV_TEXT, encoding="utf-8")
        try:
            got = call(env_names, str(path))
        finally:
            changed = {k for k in set(os.environ) | set(before) if os.environ.get(k) != before.get(k)}
            for k in changed:  # undo whatever the learner's function put in the environment
                if k in before:
                    os.environ[k] = before[k]
                else:
                    os.environ.pop(k, None)
    if changed:
        raise Incorrect(t("your function changed the environment ({names}): read the file with dotenv_values(), "
                          "which returns a dict and touches nothing.", names=", ".join(sorted(changed))))
    want = ["ANTHROPIC_API_KEY", "EMPTY_ONE", "GROQ_API_KEY", "OPENAI_API_KEY"]
    if not isinstance(got, list):
        raise Incorrect(t("env_names() returned {kind}; expected a list of names.", kind=type(got).__name__))
    if got != want:
        raise Incorrect(t("for a .env with comments, `export` and quotes, env_names() returned {got!r}; "
                          "expected the sorted names {want!r}.", got=got, want=want))
    return t("it lists the names in a .env file without loading (or showing) the values.")


q3 = Problem(
    "q3", "env_names", _check_env_names,
    hint="from dotenv import dotenv_values; dotenv_values(path) is a dict of name -> value. "
         "Return sorted(...) of its keys.",
    solution='''
    from dotenv import dotenv_values

    def env_names(path):
        return sorted(dotenv_values(path))
    ''')


def _check_first_call(first_call) -> str:
    """Runs first_call with OPENAI_API_KEY and OPENAI_BASE_URL changed to values the learner has
    never seen (a fresh key; the gateway's OpenAI-compatible route under /openai/v1): a client
    built with OpenAI() follows them, a key or address written in the code cannot."""
    import secrets

    from . import clients

    question = "What is an API key?"
    key = os.environ.get("LLMKIT_API_KEY") or f"llmkit-check-{secrets.token_hex(8)}"
    base = clients.gateway() + "/openai/v1"
    env = {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": base}
    old = {k: os.environ.get(k) for k in env}
    out = io.StringIO()
    try:
        os.environ.update(env)
        with recording() as rec, redirect_stdout(out):
            got = call(first_call, question)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if key in out.getvalue() or key[-10:] in out.getvalue():
        raise Incorrect(t("first_call() printed the API key: never print a key, not even while testing."))
    calls = rec.to("/chat/completions")
    if not calls:
        raise Incorrect(t("first_call() sent no request to /chat/completions: use "
                          "client.chat.completions.create(...)."))
    ex = calls[-1]
    body = ex.json or {}
    if not ex.url.startswith(base + "/"):
        raise Incorrect(t("the request did not go to the address in OPENAI_BASE_URL (the check changed it, and "
                          "the request still went to {url}): the address is fixed in your code, or the client was "
                          "made before first_call ran. Create the client inside first_call as OpenAI(), with no "
                          "base_url.", url=ex.url.rsplit('/chat', 1)[0]))
    if ex.headers.get("authorization") != f"Bearer {key}":
        raise Incorrect(t("the request did not carry the key in OPENAI_API_KEY (the check changed it, and the "
                          "request still sent another one): the key is written in your code, or the client was "
                          "made before first_call ran. Create the client inside first_call as OpenAI(), and let "
                          "it read the key from the environment; never write a key in code."))
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    if not users or users[-1].get("content") != question:
        raise Incorrect(t("the question was not sent as the user message: "
                          "messages=[{'role': 'user', 'content': question}]."))
    if body.get("temperature") != 0:
        raise Incorrect(t("temperature was {value!r}; the exercise asks for temperature=0.",
                          value=body.get('temperature')))
    reply = (ex.response_json or {}).get("choices", [{}])[0].get("message", {}).get("content")
    if got != reply:
        raise Incorrect(t("first_call() returned {got!r}; expected the reply text, "
                          "response.choices[0].message.content.", got=str(got)[:60]))
    return t("one call with OpenAI() as in production: the key and address came from the environment.")


q4 = Problem(
    "q4", "first_call", _check_first_call,
    hint="client = OpenAI(); response = client.chat.completions.create(model='gpt-4o-mini', "
         "messages=[...], temperature=0); the text is response.choices[0].message.content.",
    solution='''
    from openai import OpenAI

    def first_call(question):
        client = OpenAI()
        response = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": question}],
            temperature=0,
        )
        return response.choices[0].message.content
    ''')
