"""Days 00-04's checks against answers a student would really write: for every check, at
least two wrong ones (each must be Incorrect, and say why) and one right one written
differently from the solution (it must be Correct).

The wrong answers include the ones that used to pass: a key or address written in the code,
`finish_reason != "stop"`, a stream collected and printed once, time to first token stopped
at the role-only chunk or at create(), `content[0].text`, a stream never printed, an
`except httpx.RequestError` that swallows errors; the right ones include the SDK's message
object appended to the history, Anthropic's system as text blocks, the `developer` role.
"""

from __future__ import annotations

import importlib
import textwrap

import pytest

HEADER = """\
import os, sys, json, time
import httpx
import anthropic
from google import genai
from google.genai import types
from groq import Groq
from openai import OpenAI, AsyncOpenAI
"""


@pytest.fixture(autouse=True)
def _not_strict(monkeypatch):
    monkeypatch.delenv("LLMKIT_CHECKS_STRICT", raising=False)


@pytest.fixture()
def sdk_env(monkeypatch):
    """OPENAI_* pointed at this process's gateway, as setup() would (day 0's first_call)."""
    import llmkit

    url = llmkit.gateway_url()
    monkeypatch.setenv("OPENAI_BASE_URL", url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "llmkit-offline")
    return url


def evaluate(day: str, q: str, source: str):
    problem = getattr(importlib.import_module(f"llmkit.checks.{day}"), q)
    ns: dict = {}
    exec(HEADER + textwrap.dedent(source), ns)
    return problem.evaluate(*[ns[n] for n in problem.names])


# (day, question, a wrong answer, words the Incorrect message must contain)
WRONG = [
    # -- day 00 --
    ("day00", "q1", """
     def key_status(name):
         return "set" if name in os.environ else "not set"
     """, "expected"),
    ("day00", "q1", """
     def key_status(name):
         value = os.environ.get(name, "")
         print("checking", name, value)
         return "set" if value else "not set"
     """, "showed the key"),
    ("day00", "q2", """
     def mask(secret):
         return secret[:3] + "..." + secret[-4:]
     """, "expected '***'"),
    ("day00", "q2", """
     def mask(secret):
         return "***" if len(secret) < 12 else secret[:4] + "..." + secret[-4:]
     """, "expected 'sk-...3456'"),
    ("day00", "q3", """
     from dotenv import load_dotenv
     def env_names(path):
         load_dotenv(path)
         return sorted(k for k in os.environ if k.endswith("_KEY") or k == "EMPTY_ONE")
     """, "changed the environment"),
    ("day00", "q3", """
     def env_names(path):
         return sorted(line.split("=")[0] for line in open(path) if "=" in line and not line.startswith("#"))
     """, "export"),
    ("day00", "q4", """
     def first_call(question):
         client = OpenAI(api_key="llmkit-offline")      # the key copied into the code
         r = client.chat.completions.create(model="gpt-4o-mini", temperature=0,
                                            messages=[{"role": "user", "content": question}])
         return r.choices[0].message.content
     """, "never write a key in code"),
    ("day00", "q4", """
     BASE = os.environ["OPENAI_BASE_URL"]               # read once, then fixed in the code
     def first_call(question):
         client = OpenAI(base_url=BASE)
         r = client.chat.completions.create(model="gpt-4o-mini", temperature=0,
                                            messages=[{"role": "user", "content": question}])
         return r.choices[0].message.content
     """, "address is fixed in your code"),
    ("day00", "q4", """
     async def first_call(question):
         client = AsyncOpenAI()
         r = await client.chat.completions.create(model="gpt-4o-mini", temperature=0,
                                                  messages=[{"role": "user", "content": question}])
         return r.choices[0].message.content
     """, "returned a coroutine"),
    # -- day 01 --
    ("day01", "q1", """
     def explain_status(code):
         return {2: "success", 3: "redirection", 4: "client error", 5: "server error"}[code // 100]
     """, "KeyError"),
    ("day01", "q1", """
     def explain_status(code):
         if code < 300: return "success"
         if code < 400: return "redirection"
         if code < 500: return "client error"
         return "server error"
     """, "'unknown'"),
    ("day01", "q2", """
     def get_json(base_url, path):
         try:
             response = httpx.get(base_url + path)
             response.raise_for_status()
             return response.json()
         except httpx.RequestError as e:          # meant for the 404: it never catches it
             print("request failed:", e)
             return None
     """, "except httpx.RequestError"),
    ("day01", "q2", """
     def get_json(base_url, path):
         try:
             response = httpx.get(base_url + path)
             response.raise_for_status()
         except httpx.HTTPError:
             return None
         return response.json()
     """, "instead of raising"),
    ("day01", "q3", """
     def chat(base_url, message, api_key):
         r = httpx.post(base_url + "/chat", data=json.dumps({"message": message, "temperature": 0}),
                        headers={"Authorization": f"Bearer {api_key}"})
         return r.json()["response"]
     """, "as JSON"),
    ("day01", "q3", """
     def chat(base_url, message, api_key):
         r = httpx.post(base_url + "/chat", json={"message": message, "temperature": 0},
                        headers={"Authorization": api_key})
         return r.json()["response"]
     """, "Bearer"),
    ("day01", "q4", """
     def retry_after(response):
         if response.status_code in (429, 503):
             return int(response.headers.get("retry-after", 0))
     """, "expected 2.0"),
    ("day01", "q4", """
     def retry_after(response):
         value = response.headers.get("retry-after")
         return float(value) if value else None
     """, "expected None"),
    ("day01", "q5", """
     def complete(base_url, api_key, question):
         r = httpx.post(base_url + "/chat/completions", headers={"Authorization": f"Bearer {api_key}"},
                        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]})
         return r.json()["choices"][0]["message"]
     """, "['content']"),
    ("day01", "q5", """
     def complete(base_url, api_key, question):
         r = httpx.post(base_url + "/chat/completions", headers={"Authorization": f"Bearer {api_key}"},
                        json={"model": "gpt-4o-mini", "prompt": question})
         return r.json()["choices"][0]["text"]
     """, "messages"),
    # -- day 02 --
    ("day02", "q1", """
     def ask(client, question, system=None):
         messages = [{"role": "system", "content": system or ""}, {"role": "user", "content": question}]
         return client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                               temperature=0).choices[0].message.content
     """, "without a system prompt"),
    ("day02", "q1", """
     def ask(client, question, system=None):
         content = (system + " " if system else "") + question
         return client.chat.completions.create(model="gpt-4o-mini", temperature=0,
             messages=[{"role": "user", "content": content}]).choices[0].message.content
     """, "expected ['system', 'user']"),
    ("day02", "q1", """
     async def ask(client, question, system=None):
         return client.chat.completions.create(model="gpt-4o-mini", temperature=0,
             messages=[{"role": "user", "content": question}])
     """, "returned a coroutine"),
    ("day02", "q2", """
     def chat_turn(client, history, text):
         history.append({"role": "user", "content": text})
         r = client.chat.completions.create(model="gpt-4o-mini", messages=history, temperature=0)
         return r.choices[0].message.content
     """, "expected ['system', 'user', 'assistant', 'user', 'assistant']"),
    ("day02", "q2", """
     def chat_turn(client, history, text):
         r = client.chat.completions.create(model="gpt-4o-mini", temperature=0,
                                            messages=[{"role": "user", "content": text}])
         history += [{"role": "user", "content": text}, {"role": "assistant", "content": r.choices[0].message.content}]
         return r.choices[0].message.content
     """, "whole conversation"),
    ("day02", "q3", """
     def was_cut_off(response):
         return response.choices[0].finish_reason != "stop"
     """, "finish_reason='tool_calls'"),
    ("day02", "q3", """
     def was_cut_off(response):
         return response.choices[0].finish_reason in ("length", "content_filter")
     """, "finish_reason='content_filter'"),
    ("day02", "q3", """
     def was_cut_off(response):
         return response.choices[0].finish_reason
     """, "expected True"),
    ("day02", "q4", """
     def ask_json(client, question):
         r = client.chat.completions.create(model="gpt-4o-mini", temperature=0, messages=[
             {"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": question}])
         return json.loads(r.choices[0].message.content)
     """, "response_format"),
    ("day02", "q4", """
     def ask_json(client, question):
         r = client.chat.completions.create(model="gpt-4o-mini", response_format={"type": "json_object"},
             messages=[{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": question}])
         return r.choices[0].message.content
     """, "expected the dict"),
    ("day02", "q5", """
     def cost(response, price_in, price_out):
         return response.usage.total_tokens * (price_in + price_out) / 1_000_000
     """, "expected"),
    ("day02", "q5", """
     def cost(response, price_in, price_out):
         u = response.usage
         return (u.prompt_tokens * price_in + u.completion_tokens * price_out) / 1000
     """, "expected"),
    # -- day 03 --
    ("day03", "q1", """
     def ask_claude(client, question, system):
         r = client.messages.create(model="claude-haiku-4-5", max_tokens=300, system=system,
                                    messages=[{"role": "user", "content": question}])
         return r.content[0].text
     """, "returned only the first"),
    ("day03", "q1", """
     def ask_claude(client, question, system):
         r = client.messages.create(model="claude-haiku-4-5", max_tokens=300, messages=[
             {"role": "system", "content": system}, {"role": "user", "content": question}])
         return "".join(b.text for b in r.content if b.type == "text")
     """, "system"),
    ("day03", "q1", """
     def ask_claude(client, question, system):
         r = client.messages.create(model="claude-haiku-4-5", system=system,
                                    messages=[{"role": "user", "content": question}])
         return "".join(b.text for b in r.content if b.type == "text")
     """, "max_tokens"),
    ("day03", "q2", """
     def ask_gemini(client, question, system):
         return client.models.generate_content(model="gemini-2.5-flash", contents=[system, question],
             config=types.GenerateContentConfig(temperature=0)).text
     """, "system_instruction"),
    ("day03", "q2", """
     def ask_gemini(client, question, system):
         return client.models.generate_content(model="gemini-2.5-flash", contents=question,
             config=types.GenerateContentConfig(system_instruction=system)).text
     """, "temperature=0"),
    ("day03", "q3", """
     def ask_any(client, question):
         r = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
         return r.choices[0].message.content
     """, "Anthropic"),
    ("day03", "q3", """
     def ask_any(client, question):
         if isinstance(client, anthropic.Anthropic):
             r = client.messages.create(model="claude-haiku-4-5", max_tokens=300,
                                        messages=[{"role": "user", "content": question}])
             return r.content[0].text
         if isinstance(client, genai.Client):
             return client.models.generate_content(model="gemini-2.5-flash", contents=question).text
         r = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
         return r.choices[0].message.content
     """, "with Anthropic's client"),
    ("day03", "q4", """
     def ollama_openai(host):
         return OpenAI(base_url=f"http://{host}", api_key="ollama")
     """, "failed"),
    ("day03", "q4", """
     import ollama
     def ollama_openai(host):
         return ollama.Client(host=host)
     """, "expected an openai.OpenAI client"),
    ("day03", "q5", """
     def gemini_chat(client, messages):
         return [client.chats.create(model="gemini-2.5-flash").send_message(m).text for m in messages]
     """, "one chat"),
    ("day03", "q5", """
     def gemini_chat(client, messages):
         chat = client.chats.create(model="gemini-2.5-flash")
         return [chat.send_message(m) for m in messages]
     """, "list of reply texts"),
    # -- day 04 --
    ("day04", "q1", """
     def stream_print(client, question):
         stream = client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                 messages=[{"role": "user", "content": question}])
         pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
         text = "".join(pieces)
         print(text)                                  # all at once, after the stream ended
         return text, len(pieces)
     """, "only after the stream had ended"),
    ("day04", "q1", """
     def stream_print(client, question):
         stream = client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                 messages=[{"role": "user", "content": question}])
         text, count = "", 0
         for chunk in stream:
             count += 1                               # every chunk, the role-only and final ones too
             if chunk.choices and chunk.choices[0].delta.content:
                 print(chunk.choices[0].delta.content, end="", flush=True)
                 text += chunk.choices[0].delta.content
         print()
         return text, count
     """, "the count was"),
    ("day04", "q1", """
     def stream_print(client, question):
         r = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
         print(r.choices[0].message.content)
         return r.choices[0].message.content, 1
     """, "stream=True"),
    ("day04", "q2", """
     def parse_sse(lines):
         return [json.loads(l[len("data:"):]) for l in lines if l.startswith("data:")]
     """, "not JSON but the end"),
    ("day04", "q2", """
     def parse_sse(lines):
         events = []
         for line in lines:
             if line.startswith("data:") and "[DONE]" not in line:
                 events.append(json.loads(line[5:]))
         return events
     """, "stop at [DONE]"),
    ("day04", "q3", """
     def measure(client, question):                  # stops at the first chunk: the role-only one
         start = time.perf_counter()
         first = None
         for chunk in client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                     messages=[{"role": "user", "content": question}]):
             if first is None:
                 first = time.perf_counter() - start
         return {"first_token": first, "total": time.perf_counter() - start}
     """, "only the role"),
    ("day04", "q3", """
     def measure(client, question):                  # stops when create() returns
         start = time.perf_counter()
         stream = client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                 messages=[{"role": "user", "content": question}])
         first = time.perf_counter() - start
         for chunk in stream:
             pass
         return {"first_token": first, "total": time.perf_counter() - start}
     """, "when create() returned"),
    ("day04", "q3", """
     def measure(client, question):                  # starts the clock after the request
         stream = client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                 messages=[{"role": "user", "content": question}])
         start = time.perf_counter()
         first = None
         for chunk in stream:
             if first is None and chunk.choices and chunk.choices[0].delta.content:
                 first = time.perf_counter() - start
         return {"first_token": first, "total": time.perf_counter() - start}
     """, "the clock started after the request"),
    ("day04", "q3", """
     def measure(client, question):                  # keeps the last text chunk's time
         start = time.perf_counter()
         first = None
         for chunk in client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                     messages=[{"role": "user", "content": question}]):
             if chunk.choices and chunk.choices[0].delta.content:
                 first = time.perf_counter() - start
         return {"first_token": first, "total": time.perf_counter() - start}
     """, "first chunk with text only"),
    ("day04", "q4", """
     def claude_stream(client, question):            # never prints
         with client.messages.stream(model="claude-haiku-4-5", max_tokens=300,
                                     messages=[{"role": "user", "content": question}]) as stream:
             return "".join(stream.text_stream)
     """, "printed nothing"),
    ("day04", "q4", """
     def claude_stream(client, question):
         with client.messages.stream(model="claude-haiku-4-5", max_tokens=300,
                                     messages=[{"role": "user", "content": question}]) as stream:
             text = "".join(stream.text_stream)
         print(text)
         return text
     """, "only after the stream had ended"),
    ("day04", "q5", """
     async def astream(client, question):            # the await is missing
         stream = client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                 messages=[{"role": "user", "content": question}])
         text = ""
         async for chunk in stream:
             text += chunk.choices[0].delta.content or ""
         return text
     """, "await client"),
    ("day04", "q5", """
     async def astream(client, question):            # hands back the call instead of awaiting it
         return client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                               messages=[{"role": "user", "content": question}])
     """, "was not awaited"),
    ("day04", "q5", """
     async def astream(client, question):
         stream = await client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                       messages=[{"role": "user", "content": question}])
         return [chunk async for chunk in stream]
     """, "joined"),
]


@pytest.mark.parametrize("day,q,source,why", WRONG, ids=[f"{d}.{q}-{i}" for i, (d, q, _, _) in enumerate(WRONG)])
def test_wrong_answers_are_incorrect_and_say_why(day, q, source, why, sdk_env):
    outcome = evaluate(day, q, source)
    assert outcome.kind == "Incorrect", outcome
    assert why in outcome.message, outcome.message


# (day, question, a right answer written differently from the solution)
RIGHT = [
    ("day00", "q1", """
     def key_status(name):
         value = os.getenv(name)
         if value in (None, ""):
             return "not set"
         return "placeholder" if value == "llmkit-offline" else "set"
     """),
    ("day00", "q2", """
     def mask(secret):
         return "***" if len(secret) < 12 else f"{secret[:3]}...{secret[-4:]}"
     """),
    ("day00", "q3", """
     import dotenv
     def env_names(path):
         names = list(dotenv.dotenv_values(dotenv_path=path))
         names.sort()
         return names
     """),
    ("day00", "q4", """
     from openai import OpenAI as Client
     def first_call(question):
         with Client() as client:
             reply = client.chat.completions.create(messages=[{"role": "user", "content": question}],
                                                    model="gpt-4o-mini", temperature=0.0)
         return reply.choices[0].message.content
     """),
    ("day01", "q1", """
     def explain_status(code):
         if 200 <= code < 300: return "success"
         elif 300 <= code < 400: return "redirection"
         elif 400 <= code < 500: return "client error"
         elif 500 <= code < 600: return "server error"
         return "unknown"
     """),
    ("day01", "q2", """
     def get_json(base_url, path):
         try:
             with httpx.Client(base_url=base_url) as c:
                 r = c.get(path)
                 r.raise_for_status()
                 return r.json()
         except httpx.RequestError as e:              # logs a transport failure, and lets it go on
             print("could not reach", base_url, type(e).__name__)
             raise
     """),
    ("day01", "q3", """
     def chat(base_url, message, api_key):
         with httpx.Client(base_url=base_url, headers={"authorization": "Bearer " + api_key}) as c:
             return c.post("/chat", json=dict(message=message, temperature=0)).json()["response"]
     """),
    ("day01", "q4", """
     def retry_after(response):
         if response.status_code in {429, 503} and "Retry-After" in response.headers:
             return float(response.headers["Retry-After"])
         return None
     """),
    ("day01", "q5", """
     def complete(base_url, api_key, question):
         with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}) as c:
             data = c.post("chat/completions", json={"model": "gpt-4o-mini",
                           "messages": [{"role": "user", "content": question}]}).raise_for_status().json()
         return data["choices"][0]["message"]["content"]
     """),
    ("day02", "q1", """
     def ask(client, question, system=None):           # OpenAI's newer name for the system role
         messages = ([{"role": "developer", "content": system}] if system else []) + [
             {"role": "user", "content": question}]
         return client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                               temperature=0).choices[0].message.content
     """),
    ("day02", "q2", """
     def chat_turn(client, history, text):              # the SDK's message object goes in the history
         history.append({"role": "user", "content": text})
         message = client.chat.completions.create(model="gpt-4o-mini", messages=history,
                                                  temperature=0).choices[0].message
         history.append(message)
         return message.content
     """),
    ("day02", "q3", """
     def was_cut_off(response):
         match response.choices[0].finish_reason:
             case "length":
                 return True
             case _:
                 return False
     """),
    ("day02", "q4", """
     def ask_json(client, question):
         r = client.chat.completions.create(model="gpt-4o-mini", response_format={"type": "json_object"},
             messages=[{"role": "user", "content": "Reply with JSON. " + question}])
         data = json.loads(r.choices[0].message.content)
         return dict(data)
     """),
    ("day02", "q5", """
     def cost(response, price_in, price_out):
         per_token_in, per_token_out = price_in / 1e6, price_out / 1e6
         return response.usage.prompt_tokens * per_token_in + response.usage.completion_tokens * per_token_out
     """),
    ("day03", "q1", """
     def ask_claude(client, question, system):           # system as text blocks (how caching is marked)
         r = client.messages.create(model="claude-haiku-4-5", max_tokens=512,
                                    system=[{"type": "text", "text": system}],
                                    messages=[{"role": "user", "content": question}])
         return "".join(getattr(block, "text", "") for block in r.content)
     """),
    ("day03", "q2", """
     def ask_gemini(client, question, system):
         r = client.models.generate_content(model="gemini-2.5-flash", contents=question,
                                            config={"system_instruction": system, "temperature": 0.0})
         return r.text
     """),
    ("day03", "q3", """
     def ask_any(client, question):
         msgs = [{"role": "user", "content": question}]
         if hasattr(client, "chat"):                      # OpenAI and Groq
             model = "llama-3.1-8b-instant" if type(client).__name__ == "Groq" else "gpt-4o-mini"
             return client.chat.completions.create(model=model, messages=msgs).choices[0].message.content
         if hasattr(client, "messages"):                  # Anthropic
             r = client.messages.create(model="claude-haiku-4-5", max_tokens=300, messages=msgs)
             return "".join(b.text for b in r.content if b.type == "text")
         return client.models.generate_content(model="gemini-2.5-flash", contents=question).text
     """),
    ("day03", "q4", """
     def ollama_openai(host):
         return OpenAI(base_url="http://" + host + "/v1/", api_key="unused")
     """),
    ("day03", "q5", """
     def gemini_chat(client, messages):
         chat = client.chats.create(model="gemini-2.5-flash")
         replies = []
         for m in messages:
             replies.append(chat.send_message(message=m).text)
         return replies
     """),
    ("day04", "q1", """
     def stream_print(client, question):
         text, n = "", 0
         with client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                             messages=[{"role": "user", "content": question}]) as stream:
             for chunk in stream:
                 piece = chunk.choices[0].delta.content if chunk.choices else None
                 if piece:
                     sys.stdout.write(piece)
                     sys.stdout.flush()
                     text, n = text + piece, n + 1
         print()
         return text, n
     """),
    ("day04", "q2", """
     import re
     def parse_sse(lines):
         out = []
         for line in lines:
             m = re.match(r"data:\\s*(.*)", line)
             if m and m.group(1) == "[DONE]":
                 return out
             if m:
                 out.append(json.loads(m.group(1)))
         return out
     """),
    ("day04", "q3", """
     def measure(client, question):
         t0 = time.monotonic()
         stream = client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                 messages=[{"role": "user", "content": question}])
         times = [time.monotonic() - t0 for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
         total = time.monotonic() - t0
         return {"first_token": times[0] if times else total, "total": total}
     """),
    ("day04", "q4", """
     def claude_stream(client, question):
         with client.messages.stream(model="claude-haiku-4-5", max_tokens=300,
                                     messages=[{"role": "user", "content": question}]) as stream:
             for event in stream:
                 if event.type == "content_block_delta" and event.delta.type == "text_delta":
                     print(event.delta.text, end="", flush=True)
             text = stream.get_final_text()
         print()
         return text
     """),
    ("day04", "q5", """
     async def astream(client, question):
         text = ""
         async for chunk in await client.chat.completions.create(
                 model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": question}]):
             if chunk.choices:
                 text += chunk.choices[0].delta.content or ""
         return text
     """),
]


@pytest.mark.parametrize("day,q,source", RIGHT, ids=[f"{d}.{q}" for d, q, _ in RIGHT])
def test_right_answers_written_differently_are_correct(day, q, source, sdk_env):
    outcome = evaluate(day, q, source)
    assert outcome.kind == "Correct", outcome


def test_recording_times_each_chunk_of_a_slowed_stream():
    """What the day-4 checks build on: when each event of a stream was read, and when the request left."""
    from llmkit import faults
    from llmkit.checks import clients, recording

    client = clients.openai()
    with faults.injected("slow", provider="openai", delay=0.05, url=clients.gateway()), recording() as rec:
        stream = client.chat.completions.create(model="gpt-4o-mini", max_tokens=4, stream=True,
                                                messages=[{"role": "user", "content": "What is SSE?"}])
        chunks = list(stream)
    ex, = rec.to("/chat/completions")
    timed = ex.timed_sse()
    assert [e for _, e in timed] == ex.sse_data and len(timed) == len(chunks) + 1  # + [DONE]
    times = [at for at, _ in timed]
    assert ex.sent_at <= ex.headers_at <= times[0] and times == sorted(times)
    assert times[-1] - ex.sent_at >= 0.05 * (len(timed) - 1)  # each event waited 0.05 s before it was sent


def test_every_check_has_two_wrong_answers_and_a_right_one():
    import re

    for day in ("day00", "day01", "day02", "day03", "day04"):
        mod = importlib.import_module(f"llmkit.checks.{day}")
        for q in (n for n in vars(mod) if re.fullmatch(r"q\d+", n)):
            assert sum(1 for d, qq, _, _ in WRONG if (d, qq) == (day, q)) >= 2, (day, q)
            assert any((d, qq) == (day, q) for d, qq, _ in RIGHT), (day, q)
