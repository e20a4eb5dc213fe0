"""Checks for day 2 (chat completions with the OpenAI SDK): roles, a multi-turn helper,
finish_reason, JSON mode, usage and cost. Each check hands the learner's function an
OpenAI client on the offline gateway and inspects the requests it sent."""

from __future__ import annotations

import json
import math

from . import clients
from ..lang import t
from .core import Incorrect, Problem, call
from .recording import recording

MODEL = "gpt-4o-mini"


def _completions(rec) -> list:
    sent = rec.to("/chat/completions")
    if not sent:
        raise Incorrect(t("no request reached /chat/completions: use client.chat.completions.create(...) "
                          "on the client passed in."))
    return sent


def _reply(ex) -> str | None:
    return (ex.response_json or {}).get("choices", [{}])[0].get("message", {}).get("content")


def _check_ask(ask) -> str:
    client = clients.openai()
    with recording() as rec:
        got = call(ask, client, "What is a system prompt?", system="Answer in one sentence.")
    ex = _completions(rec)[-1]
    msgs = (ex.json or {}).get("messages", [])
    roles = [m.get("role") for m in msgs]
    if roles not in (["system", "user"], ["developer", "user"]):
        raise Incorrect(t("with a system prompt the messages' roles were {roles}; expected ['system', 'user'] "
                          "(the system message goes first; OpenAI's newer name for it, 'developer', is fine too).",
                          roles=roles))
    if msgs[0].get("content") != "Answer in one sentence." or msgs[1].get("content") != "What is a system prompt?":
        raise Incorrect(t("the system message should hold `system` and the user message `question`."))
    if (ex.json or {}).get("temperature") != 0:
        raise Incorrect(t("temperature was {value!r}; the exercise asks for 0.",
                          value=(ex.json or {}).get('temperature')))
    if got != _reply(ex):
        raise Incorrect(t("ask() should return the reply text: response.choices[0].message.content."))
    with recording() as rec:
        call(ask, client, "What is a token?")
    roles = [m.get("role") for m in (_completions(rec)[-1].json or {}).get("messages", [])]
    if roles != ["user"]:
        raise Incorrect(t("without a system prompt the roles were {roles}; expected only ['user'].", roles=roles))
    return t("system first when given, the question as the user message, and the reply text returned.")


q1 = Problem(
    "q1", "ask", _check_ask,
    hint="Build messages = [] ; if system: messages.append({'role': 'system', 'content': system}); then the "
         "user message; call client.chat.completions.create(model=..., messages=messages, temperature=0).",
    solution='''
    def ask(client, question, system=None):
        messages = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": question})
        response = client.chat.completions.create(model="gpt-4o-mini", messages=messages, temperature=0)
        return response.choices[0].message.content
    ''')


def _field(message, name: str):
    """A message's role or content, whether it is a dict or the SDK's own message object
    (`response.choices[0].message`, which the SDK sends back as it is)."""
    if isinstance(message, dict):
        return message.get(name)
    return getattr(message, name, type(message).__name__)


def _check_chat_turn(chat_turn) -> str:
    client = clients.openai()
    history = [{"role": "system", "content": "You are a patient tutor."}]
    with recording() as rec:
        first = call(chat_turn, client, history, "What is an API?")
        second = call(chat_turn, client, history, "And what is a token?")
    sent = _completions(rec)
    if len(sent) != 2:
        raise Incorrect(t("two turns sent {n} requests; expected one request per turn.", n=len(sent)))
    roles = [_field(h, "role") for h in history]
    want = ["system", "user", "assistant", "user", "assistant"]
    if roles != want:
        raise Incorrect(t("after two turns history's roles were {roles}; expected {want}: append the user message "
                          "before the call and the assistant's reply after it.", roles=roles, want=want))
    if _field(history[2], "content") != first or _field(history[4], "content") != second:
        raise Incorrect(t("the assistant messages in history should hold the replies chat_turn returned."))
    second_roles = [m.get("role") for m in (sent[1].json or {}).get("messages", [])]
    if second_roles != want[:4]:
        raise Incorrect(t("the second request sent roles {roles}; it must send the whole conversation so far "
                          "{want}: the model remembers nothing between calls.", roles=second_roles, want=want[:4]))
    if first != _reply(sent[0]) or second != _reply(sent[1]):
        raise Incorrect(t("chat_turn() should return the reply text of its call."))
    return t("the conversation lives in your list, and every call sends all of it.")


q2 = Problem(
    "q2", "chat_turn", _check_chat_turn,
    hint="history.append({'role': 'user', 'content': text}); call with messages=history; "
         "history.append({'role': 'assistant', 'content': reply}); return reply.",
    solution='''
    def chat_turn(client, history, text):
        history.append({"role": "user", "content": text})
        response = client.chat.completions.create(model="gpt-4o-mini", messages=history, temperature=0)
        reply = response.choices[0].message.content
        history.append({"role": "assistant", "content": reply})
        return reply
    ''')


def _with_finish(response, reason: str, **message):
    """A copy of a real completion with another finish_reason (and message fields): the gateway's
    model never calls tools or trips a content filter, real models do."""
    data = response.model_dump()
    data["choices"][0]["finish_reason"] = reason
    data["choices"][0]["message"].update(message)
    return type(response).model_validate(data)


def _check_was_cut_off(was_cut_off) -> str:
    client = clients.openai()
    q = [{"role": "user", "content": "What is an LLM?"}]
    short = client.chat.completions.create(model=MODEL, messages=q, max_tokens=3, temperature=0)
    full = client.chat.completions.create(model=MODEL, messages=q, temperature=0)
    stopped = client.chat.completions.create(model=MODEL, messages=q, stop=["."], temperature=0)
    tool = _with_finish(full, "tool_calls", content=None, tool_calls=[{
        "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Lima"}'}}])
    filtered = _with_finish(full, "content_filter", content="")
    cases = [(short, t("max_tokens ran out")), (full, t("the reply ended")), (stopped, t("a stop sequence was hit")),
             (tool, t("the model asked to call a tool")), (filtered, t("the provider's content filter stopped it"))]
    for response, why in cases:
        reason = response.choices[0].finish_reason
        want = reason == "length"
        got = call(was_cut_off, response)
        if got is not want:
            raise Incorrect(t("for a response with finish_reason={reason!r} ({why}), was_cut_off returned "
                              "{got!r}; expected {want}.", reason=reason, why=why, got=got, want=want)
                            + ("" if want else t(" Only 'length' means max_tokens cut the reply: test for it, "
                                                 "not for `!= 'stop'`.")))
    return t("only finish_reason 'length' means max_tokens cut the reply; 'stop', 'tool_calls' and "
             "'content_filter' are other endings.")


q3 = Problem(
    "q3", "was_cut_off", _check_was_cut_off,
    hint="Look at response.choices[0].finish_reason and return a bool: only 'length' means max_tokens cut it "
         "('stop', 'tool_calls' and 'content_filter' are other endings).",
    solution='''
    def was_cut_off(response):
        return response.choices[0].finish_reason == "length"
    ''')


def _check_ask_json(ask_json) -> str:
    client = clients.openai()
    with recording() as rec:
        try:
            got = call(ask_json, client, "Describe the HTTP status code 404.")
        except Incorrect as e:
            if type(e.error).__name__ != "JSONDecodeError" or not rec.to("/chat/completions"):
                raise
            fmt = (_completions(rec)[-1].json or {}).get("response_format") or {}
            raise Incorrect(t("json.loads failed on the reply ({error}), so the model answered in prose: ",
                              error=e.error)
                            + (t("ask for JSON mode with response_format={'type': 'json_object'}, and say 'JSON' "
                                 "in a message.") if fmt.get("type") != "json_object" else
                               t("parse response.choices[0].message.content, the reply's text."))) from None
    ex = _completions(rec)[-1]
    body = ex.json or {}
    fmt = body.get("response_format") or {}
    if fmt.get("type") != "json_object":
        raise Incorrect(t("the request had no response_format={'type': 'json_object'}."))
    if not any("json" in str(m.get("content", "")).lower() for m in body.get("messages", [])):
        raise Incorrect(t("none of the messages mentions JSON: OpenAI rejects JSON mode unless a message asks for "
                          "JSON (add it to the system prompt)."))
    if not isinstance(got, dict):
        raise Incorrect(t("ask_json() returned {kind}; expected the dict from json.loads(content).",
                          kind=type(got).__name__))
    if got != json.loads(_reply(ex)):
        raise Incorrect(t("ask_json() should return json.loads(response.choices[0].message.content)."))
    return t("JSON mode on, JSON asked for in a message, and the reply parsed into a dict.")


q4 = Problem(
    "q4", "ask_json", _check_ask_json,
    hint="Add response_format={'type': 'json_object'} and a system message that says 'Answer in JSON'; "
         "then json.loads(...) the content.",
    solution='''
    import json

    def ask_json(client, question):
        response = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Answer with a JSON object."},
                {"role": "user", "content": question},
            ],
            response_format={"type": "json_object"},
            temperature=0,
        )
        return json.loads(response.choices[0].message.content)
    ''')


def _check_cost(cost) -> str:
    client = clients.openai()
    prices = [(0.15, 0.60), (2.5, 10.0), (0.0, 0.0)]
    for question, (p_in, p_out) in zip(("What is a token?", "What is an embedding?", "What is Ollama?"), prices):
        response = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}],
                                                  temperature=0)
        u = response.usage
        want = (u.prompt_tokens * p_in + u.completion_tokens * p_out) / 1_000_000
        got = call(cost, response, p_in, p_out)
        if not isinstance(got, (int, float)) or not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-15):
            raise Incorrect(t("with {n_in} tokens in, {n_out} out at ${p_in}/${p_out} per 1M, cost returned {got!r}; "
                              "expected {want:.10f}.", n_in=u.prompt_tokens, n_out=u.completion_tokens, p_in=p_in,
                              p_out=p_out, got=got, want=want))
    return t("usage.prompt_tokens and usage.completion_tokens, each at its own price per million.")


q5 = Problem(
    "q5", "cost", _check_cost,
    hint="Prices are per 1,000,000 tokens, and input and output have different prices: "
         "(prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000.",
    solution='''
    def cost(response, price_in, price_out):
        usage = response.usage
        return (usage.prompt_tokens * price_in + usage.completion_tokens * price_out) / 1_000_000
    ''')
