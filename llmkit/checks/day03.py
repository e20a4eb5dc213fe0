"""Checks for day 3 (many providers): Anthropic's system parameter and content blocks,
Gemini's system_instruction and chats, one function for every client, and Ollama's
OpenAI-compatible endpoint by base URL. The clients handed in point at the gateway."""

from __future__ import annotations

from ..lang import t
from . import clients
from .core import Incorrect, Problem, call
from .recording import recording


def _one(rec, part: str, what: str):
    sent = rec.to(part)
    if not sent:
        raise Incorrect(t("no request reached {part}: {what}", part=part, what=what))
    return sent[-1]


def _anthropic_text(ex) -> str:
    return "".join(b.get("text", "") for b in (ex.response_json or {}).get("content", []) if b.get("type") == "text")


def _gemini_text(ex) -> str:
    data = ex.response_json or {}
    parts = data.get("candidates", [{}])[0].get("content", {}).get("parts", [])
    return "".join(p.get("text", "") for p in parts if not p.get("thought"))


def _check_ask_claude(ask_claude) -> str:
    client = clients.anthropic(split_text=True)  # replies come in two text blocks, as real ones often do
    with recording() as rec:
        got = call(ask_claude, client, "What is a content block?", "Answer briefly.")
    ex = _one(rec, "/v1/messages", t("use client.messages.create(...)."))
    body = ex.json or {}
    if any(m.get("role") == "system" for m in body.get("messages", [])):
        raise Incorrect(t("messages held a 'system' turn: Anthropic takes the system prompt as system=..."))
    if _system_text(body.get("system")) != "Answer briefly.":
        raise Incorrect(t("the system prompt must go in the top-level `system` parameter (a string, or a list of "
                          "text blocks), not in messages."))
    if not isinstance(body.get("max_tokens"), int):
        raise Incorrect(t("max_tokens is required by Anthropic's API."))
    blocks = [b for b in (ex.response_json or {}).get("content", []) if b.get("type") == "text"]
    if len(blocks) > 1 and got == blocks[0].get("text"):
        raise Incorrect(t("this reply came in {n} text blocks and ask_claude() returned only the first: "
                          "Claude's content is a list of blocks (several text blocks with citations or around a "
                          "tool call). Join them: ''.join(block.text for block in response.content "
                          "if block.type == 'text').", n=len(blocks)))
    if got != _anthropic_text(ex):
        raise Incorrect(t("ask_claude() should return the text of the content blocks: "
                          "''.join(block.text for block in response.content if block.type == 'text')."))
    return t("system as a parameter, max_tokens given, and every text block joined.")


def _system_text(system) -> str | None:
    """Anthropic's `system`: a string, or a list of text blocks (how cache_control is attached)."""
    if isinstance(system, list) and all(isinstance(b, dict) and b.get("type") == "text" for b in system):
        return "".join(b.get("text", "") for b in system)
    return system if isinstance(system, str) else None


q1 = Problem(
    "q1", "ask_claude", _check_ask_claude,
    hint="client.messages.create(model='claude-haiku-4-5', max_tokens=300, system=system, "
         "messages=[{'role': 'user', 'content': question}]); response.content is a list of blocks.",
    solution='''
    def ask_claude(client, question, system):
        response = client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=300,
            system=system,
            messages=[{"role": "user", "content": question}],
        )
        return "".join(block.text for block in response.content if block.type == "text")
    ''')


def _check_ask_gemini(ask_gemini) -> str:
    client = clients.gemini()
    with recording() as rec:
        got = call(ask_gemini, client, "What is Gemini?", "Answer in one sentence.")
    ex = _one(rec, ":generateContent", t("use client.models.generate_content(...)."))
    body = ex.json or {}
    si = body.get("systemInstruction") or body.get("system_instruction")
    texts = [p.get("text") for p in (si or {}).get("parts", [])] if isinstance(si, dict) else [si]
    if "Answer in one sentence." not in texts:
        raise Incorrect(t("the system prompt goes in config=types.GenerateContentConfig(system_instruction=...)."))
    cfg = body.get("generationConfig") or {}
    if cfg.get("temperature") != 0:
        raise Incorrect(t("set temperature=0 in the GenerateContentConfig."))
    if got != _gemini_text(ex):
        raise Incorrect(t("ask_gemini() should return response.text."))
    return t("system_instruction and temperature in the config, and response.text returned.")


q2 = Problem(
    "q2", "ask_gemini", _check_ask_gemini,
    hint="from google.genai import types; client.models.generate_content(model='gemini-2.5-flash', "
         "contents=question, config=types.GenerateContentConfig(system_instruction=system, temperature=0)).",
    solution='''
    from google.genai import types

    def ask_gemini(client, question, system):
        response = client.models.generate_content(
            model="gemini-2.5-flash",
            contents=question,
            config=types.GenerateContentConfig(system_instruction=system, temperature=0),
        )
        return response.text
    ''')


def _check_ask_any(ask_any) -> str:
    question = "What is an SDK?"
    cases = [("OpenAI", clients.openai(), "/v1/chat/completions"),
             ("Groq", clients.groq(), "/openai/v1/chat/completions"),
             ("Anthropic", clients.anthropic(split_text=True), "/v1/messages"),
             ("Gemini", clients.gemini(), ":generateContent")]
    for name, client, path in cases:
        with recording() as rec:
            got = call(ask_any, client, question)
        sent = [e for e in rec if e.path.endswith(path)]
        if not sent:
            others = sorted({e.path for e in rec})
            why = t("with {name}'s client ask_any sent nothing to {path}", name=name, path=path)
            why += (t(" (it sent {others})", others=others) if others else "") + "."
            raise Incorrect(why)
        ex = sent[-1]
        want = (_anthropic_text(ex) if name == "Anthropic" else _gemini_text(ex) if name == "Gemini"
                else ex.response_json["choices"][0]["message"]["content"])
        if got != want:
            raise Incorrect(t("with {name}'s client ask_any returned {got!r}; expected the reply text.",
                              name=name, got=str(got)[:60]))
        if not isinstance(got, str):
            raise Incorrect(t("with {name}'s client ask_any returned {kind}; expected str.", name=name,
                              kind=type(got).__name__))
    return t("one function, four SDKs: each called its own way, each answer as plain text.")


q3 = Problem(
    "q3", "ask_any", _check_ask_any,
    hint="isinstance(client, anthropic.Anthropic) -> messages.create; isinstance(client, genai.Client) -> "
         "models.generate_content; otherwise (OpenAI, Groq: same shape) -> chat.completions.create.",
    solution='''
    import anthropic
    from google import genai
    from groq import Groq

    def ask_any(client, question):
        if isinstance(client, anthropic.Anthropic):
            response = client.messages.create(
                model="claude-haiku-4-5", max_tokens=300, messages=[{"role": "user", "content": question}]
            )
            return "".join(block.text for block in response.content if block.type == "text")
        if isinstance(client, genai.Client):
            return client.models.generate_content(model="gemini-2.5-flash", contents=question).text
        model = "llama-3.1-8b-instant" if isinstance(client, Groq) else "gpt-4o-mini"  # same API shape
        response = client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}])
        return response.choices[0].message.content
    ''')


def _check_ollama_openai(ollama_openai) -> str:
    host = clients.host_port()
    client = call(ollama_openai, host)
    if type(client).__name__ != "OpenAI":
        raise Incorrect(t("ollama_openai() returned {kind}; expected an openai.OpenAI client.",
                          kind=type(client).__name__))
    with recording() as rec:
        try:
            client.chat.completions.create(model="llama3.1", messages=[{"role": "user", "content": "hi"}],
                                           max_tokens=5)
        except Exception as e:
            went = t(" (it went to {url}; expected http://{host}/v1/chat/completions)", url=rec.last.url,
                     host=host) if rec.last else ""
            raise Incorrect(t("a call with the client you built failed: {error}: {e}{went}", error=type(e).__name__,
                              e=e, went=went)) from None
    ex = _one(rec, "/chat/completions", "")
    if ex.url != f"http://{host}/v1/chat/completions":
        raise Incorrect(t("the call went to {url}; expected http://{host}/v1/chat/completions: "
                          "base_url=f'http://{{host}}/v1'.", url=ex.url, host=host))
    if not ex.headers.get("authorization", "").removeprefix("Bearer ").strip():
        raise Incorrect(t("pass some api_key (Ollama ignores it, but the SDK requires one): api_key='ollama'."))
    return t("the OpenAI SDK speaks to any OpenAI-compatible server once you give it the base URL.")


q4 = Problem(
    "q4", "ollama_openai", _check_ollama_openai,
    hint="OpenAI(base_url=f'http://{host}/v1', api_key='ollama')",
    solution='''
    from openai import OpenAI

    def ollama_openai(host):
        return OpenAI(base_url=f"http://{host}/v1", api_key="ollama")
    ''')


def _check_gemini_chat(gemini_chat) -> str:
    client = clients.gemini()
    turns = ["What is Gemini?", "What is a token?", "What is streaming?"]
    with recording() as rec:
        got = call(gemini_chat, client, turns)
    sent = rec.to(":generateContent")
    if len(sent) != len(turns):
        raise Incorrect(t("{n} messages sent {sent} generateContent requests; expected one each "
                          "(chat.send_message(...) per message).", n=len(turns), sent=len(sent)))
    for i, ex in enumerate(sent):
        n = len((ex.json or {}).get("contents", []))
        if n != 2 * i + 1:
            raise Incorrect(t("request {i} carried {n} contents; expected {want}: use one chat from "
                              "client.chats.create(...) for every message, so it sends the history.",
                              i=i + 1, n=n, want=2 * i + 1))
    want = [_gemini_text(ex) for ex in sent]
    if got != want:
        raise Incorrect(t("gemini_chat() should return the list of reply texts, one per message, in order."))
    return t("one chat object keeps the history; every message sends the conversation so far.")


q5 = Problem(
    "q5", "gemini_chat", _check_gemini_chat,
    hint="chat = client.chats.create(model='gemini-2.5-flash'); then for each text: "
         "replies.append(chat.send_message(text).text).",
    solution='''
    def gemini_chat(client, messages):
        chat = client.chats.create(model="gemini-2.5-flash")
        return [chat.send_message(text).text for text in messages]
    ''')
