"""Day 6's checks (local serving): every solution is Correct, untouched exercises are Not
attempted, a differently written right answer is Correct too, and the wrong answers a student
really writes are Incorrect with a message that says what to fix: a Modelfile sent as the old
'modelfile' field, a parser that reads SYSTEM's first line only or keeps one stop, values left
as strings; a gateway client that calls raise_for_status, retries a 401, ignores Retry-After,
sleeps for real or has no timeout; a benchmark with no warm-up, timed on the first chunk, or
not streamed; an OpenAI client made once for the whole notebook, or a model written in the code.

The checks run against a gateway started in this process (llmkit.gateway_url()).
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap

import pytest

from llmkit.checks import ____, clients, day06

PROBLEMS = sorted((n for n in vars(day06) if re.fullmatch(r"q\d+", n)), key=lambda n: int(n[1:]))
PRELUDE = "import json, os, time\nimport httpx, ollama, openai\nfrom openai import OpenAI\n"


@pytest.fixture(autouse=True)
def _not_strict(monkeypatch):
    monkeypatch.delenv("LLMKIT_CHECKS_STRICT", raising=False)


def _evaluate(q: str, source: str):
    problem = getattr(day06, q)
    ns: dict = {}
    # as in a notebook after llmkit.setup(): the OpenAI variables point at the gateway
    with day06._environment(OPENAI_BASE_URL=clients.base("openai"), OPENAI_API_KEY="sk-notebook",
                            LOCAL_MODEL="llama3.1"):
        exec(PRELUDE + textwrap.dedent(source), ns)
    with contextlib.redirect_stdout(io.StringIO()):
        return problem.evaluate(*[ns[n] for n in problem.names])


def test_day06_has_four_problems():
    assert PROBLEMS == ["q1", "q2", "q3", "q4"]


@pytest.mark.parametrize("q", PROBLEMS)
def test_each_solution_is_correct_and_each_placeholder_not_attempted(q):
    problem = getattr(day06, q)
    outcome = _evaluate(q, problem._solution)
    assert outcome.kind == "Correct", outcome
    assert problem.evaluate(*[____ for _ in problem.names]).kind == "Not attempted"


def test_untouched_exercises_are_not_attempted():
    def untouched(*args, **kwargs):
        raise NotImplementedError("your code here")

    class Untouched:
        def __init__(self, *args, **kwargs):
            raise NotImplementedError("your code here")

    assert day06.q1.evaluate("FROM llama3.1\nPARAMETER temperature 0\nPARAMETER num_predict 40\n"
                             "SYSTEM You are a patient tutor for beginners.", untouched).kind == "Not attempted"
    assert day06.q2.evaluate(Untouched, type("LocalModelsError", (Exception,), {})).kind == "Not attempted"
    assert day06.q3.evaluate(untouched).kind == "Not attempted"
    assert day06.q4.evaluate(untouched).kind == "Not attempted"


def test_a_check_never_raises_on_the_learner():
    for q in PROBLEMS:
        problem = getattr(day06, q)
        out = problem.evaluate(*[(lambda *a, **k: 1 / 0) for _ in problem.names])
        assert out.kind == "Incorrect", out
        assert problem.evaluate(*[42 for _ in problem.names]).kind == "Incorrect"


# -- right answers written differently ----------------------------------------------------------

RIGHT = [
    ("q1", '''
    import re

    MODELFILE = """
    # my tutor
    FROM llama3.1
    PARAMETER temperature 0
    PARAMETER num_predict 40
    SYSTEM """ + '"""' + """You explain programming to beginners.
    Use one example.""" + '"""' + """
    """

    COMMAND = re.compile(r'^(\\w+)\\s+(.*)$')

    def create_from_modelfile(client, name, modelfile):
        text = modelfile
        body = {"model": name, "parameters": {}, "stream": False}
        while text:
            line, _, text = text.partition("\\n")
            m = COMMAND.match(line.strip())
            if not m or line.strip().startswith("#"):
                continue
            command, rest = m[1].lower(), m[2]
            if rest.startswith('"""'):
                block = rest[3:] + "\\n" + text
                rest, _, text = block.partition('"""')
                rest = rest.rstrip("\\n") if rest.endswith("\\n") and '"""' not in m[2][3:] else rest
            if command == "parameter":
                key, value = rest.split(None, 1)
                value = json.loads(value) if not value.startswith('"') else value.strip('"')
                if key == "stop":
                    body["parameters"].setdefault("stop", []).append(value)
                else:
                    body["parameters"][key] = value
            elif command in ("from", "system", "template"):
                body[command] = rest.strip('"') if command != "template" else rest
        base = client._client.base_url  # the same server the SDK client talks to
        r = httpx.post(f"{base}/api/create", json=body)
        r.raise_for_status()
    '''),
    ("q2", """
    import httpx

    class LocalModelsError(RuntimeError):
        def __init__(self, status, detail):
            self.status = status
            self.detail = detail
            super().__init__(detail)

    class LocalModels:
        def __init__(self, base_url, api_key=None, timeout=30, max_retries=3, sleep=time.sleep):
            self.base, self.key, self.timeout = base_url.rstrip("/"), api_key, timeout
            self.max_retries, self.sleep = max_retries, sleep

        def _send(self, method, path, payload=None):
            headers = {"Authorization": "Bearer " + self.key} if self.key else {}
            tries = 0
            while True:
                tries += 1
                try:
                    with httpx.Client(timeout=self.timeout) as http:
                        r = http.request(method, self.base + path, json=payload, headers=headers)
                        r.read()
                except httpx.HTTPError as e:
                    if tries > self.max_retries:
                        raise LocalModelsError(None, str(e) or type(e).__name__)
                    self.sleep(0.5 * tries)
                    continue
                if r.is_success:
                    return r.json()
                try:
                    detail = r.json()["detail"]
                except (ValueError, KeyError):
                    detail = r.text
                if (r.status_code == 429 or r.status_code >= 500) and tries <= self.max_retries:
                    self.sleep(float(r.headers.get("Retry-After") or 0.5 * tries))
                    continue
                raise LocalModelsError(r.status_code, detail)

        def health(self):
            return self._send("GET", "/health")

        def models(self):
            return [m["name"] for m in self._send("GET", "/models")["models"]]

        def chat(self, message, model=None, reasoning="medium", max_tokens=200, temperature=0.7):
            payload = {"message": message, "reasoning": reasoning, "max_tokens": max_tokens,
                       "temperature": temperature}
            if model:
                payload["model"] = model
            return self._send("POST", "/chat", payload)
    """),
    ("q3", """
    import statistics

    def benchmark(client, model, prompts, runs=3, max_tokens=32):
        def timed(prompt):
            start = time.monotonic()
            got_first = None
            n = 0
            with client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}],
                                                max_tokens=max_tokens, temperature=0, stream=True,
                                                stream_options={"include_usage": True}) as stream:
                for event in stream:
                    for choice in event.choices:
                        if choice.delta.content and got_first is None:
                            got_first = time.monotonic()
                    if event.usage is not None:
                        n = event.usage.completion_tokens
            end = time.monotonic()
            return got_first - start, n / (end - start)

        for p in prompts:          # warm up on every prompt
            timed(p)
        pairs = [timed(p) for _ in range(runs) for p in prompts]
        return {"ttft_s": [a for a, _ in pairs], "tokens_per_s": [b for _, b in pairs]}
    """),
    ("q4", """
    def ask_local(question, *, max_tokens=40):
        model = os.getenv("LOCAL_MODEL")
        with OpenAI() as client:
            stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}],
                                                    max_tokens=max_tokens, stream=True)
            return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    """),
]


@pytest.mark.parametrize("q,source", RIGHT, ids=[q for q, _ in RIGHT])
def test_right_answers_written_differently_are_correct(q, source):
    outcome = _evaluate(q, source)
    assert outcome.kind == "Correct", outcome


# -- wrong answers a student would write -----------------------------------------------------------

_Q1 = day06.q1._solution


def _shift(text: str) -> str:
    """A fragment written at the solution's indentation in the checks module, as `_solution` holds it (dedented)."""
    return re.sub(r"(?m)^    ", "", text)


def _q1(old: str, new: str) -> str:
    old, new = _shift(old), _shift(new)
    assert old in _Q1, old
    return _Q1.replace(old, new)


_Q2 = day06.q2._solution


def _q2(old: str, new: str) -> str:
    old, new = _shift(old), _shift(new)
    assert old in _Q2, old
    return _Q2.replace(old, new)


_Q3 = day06.q3._solution


def _q3(old: str, new: str) -> str:
    old, new = _shift(old), _shift(new)
    assert old in _Q3, old
    return _Q3.replace(old, new)


# a line-by-line parser as students write it; {system} is how it reads SYSTEM
_STUDENT = '''
MODELFILE = "FROM llama3.1\\nPARAMETER temperature 0\\nPARAMETER num_predict 40\\nSYSTEM You are a kind tutor."

def create_from_modelfile(client, name, modelfile):
    fields, params = {}, {}
    for line in modelfile.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        command, _, rest = line.partition(" ")
        command = command.upper()
        if command == "FROM":
            fields["from_"] = rest.strip()
        elif command == "PARAMETER":
            key, value = rest.split(" ", 1)
            value = value.strip('"')
            if key == "stop":
                params.setdefault("stop", []).append(value)
            else:
                params[key] = float(value) if "." in value else int(value)
        elif command == "SYSTEM":
            {system}
        elif command == "TEMPLATE":
            fields["template"] = rest.strip('"')
    client.create(model=name, parameters=params, **fields)
'''

WRONG = [
    # q1: the Modelfile and its creation
    ("q1", _q1("PARAMETER num_predict 40\n", ""), "num_predict"),
    ("q1", _q1("SYSTEM You are a patient tutor for beginners. Answer in two short sentences.\n", ""), "SYSTEM"),
    ("q1", """
    MODELFILE = "FROM llama3.1\\nPARAMETER temperature 0\\nPARAMETER num_predict 40\\nSYSTEM You are a kind tutor."

    def create_from_modelfile(client, name, modelfile):     # the pre-0.5 API: the text as 'modelfile'
        base = client._client.base_url
        httpx.post(f"{base}/api/create", json={"model": name, "modelfile": modelfile, "stream": False})
    """, "'modelfile'"),
    ("q1", _STUDENT.replace("{system}", "fields['system'] = rest.strip('\"')"), "closing"),  # a block's 1st line
    ("q1", _q1('parameters.setdefault("stop", []).append(value)', 'parameters["stop"] = [value]'), "stop"),
    ("q1", _q1("parameters[key] = number(value)", "parameters[key] = value"), "Invalid type"),  # strings
    ("q1", _q1("""command, rest = command.upper(), rest.strip()""", """rest = rest.strip()""").replace(
        """fields[{"FROM": "from_"}.get(command, command.lower())] = rest""",
        """if command in ("FROM", "SYSTEM", "TEMPLATE"):
            fields[{"FROM": "from_"}.get(command, command.lower())] = rest"""), "case-insensitive"),
    ("q1", _q1("\n        return client.create(model=name, parameters=parameters, **fields)",
               "\n        fields.pop('system', None)\n"
               "        return client.create(model=name, parameters=parameters, **fields)"), "system prompt"),
    # q2: the gateway client
    ("q2", _q2("""                if r.status_code < 400:
                    return data""", """                r.raise_for_status()
                return data"""), "HTTPStatusError"),
    ("q2", _q2("if r.status_code not in self.RETRY or last:", "if last:"), "not retried"),  # retries a 401
    ("q2", _q2('self.sleep(float(r.headers.get("retry-after", 1)))', "self.sleep(1)"), "Retry-After"),
    ("q2", _q2('self.sleep(float(r.headers.get("retry-after", 1)))',
               'time.sleep(float(r.headers.get("retry-after", 1)))'), "sleep you were given"),
    ("q2", _q2("headers=headers, timeout=timeout", "headers=headers, timeout=None"), "timeout"),
    ("q2", _q2('headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}', "headers = {}"), "Bearer"),
    ("q2", _q2("""                except (httpx.TransportError, ValueError) as e:  # timeout, refused, cut mid-body
                    if last:
                        raise LocalModelsError(None, f"{type(e).__name__}: {e}") from e
                    self.sleep(1.0)
                    continue""", """                except httpx.TransportError as e:
                    raise LocalModelsError(None, str(e))"""), "cut once"),
    ("q2", _q2("raise LocalModelsError(r.status_code, detail)", "return None"), "instead of raising"),
    # q3: the benchmark
    ("q3", _q3("        one_request(client, model, prompts[0], max_tokens)  # warm-up, not counted\n", ""),
     "warm-up"),
    ("q3", _q3("if first is None and chunk.choices and chunk.choices[0].delta.content:",
               "if first is None:"), "role"),  # the first chunk, not the first token
    ("q3", _q3("""        for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter() - t0
            if chunk.usage:
                tokens = chunk.usage.completion_tokens""", """        first = time.perf_counter() - t0   # create() returned: "the first token"
        for chunk in stream:
            if chunk.usage:
                tokens = chunk.usage.completion_tokens"""), "role"),
    ("q3", _q3("        for _ in range(runs):\n", "        for _ in range(1):\n"), "one per measured request"),
    ("q3", """
    def benchmark(client, model, prompts, runs=3, max_tokens=32):
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=4)
        ttft, speed = [], []
        for _ in range(runs):
            for prompt in prompts:
                t0 = time.perf_counter()
                r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}],
                                                   max_tokens=max_tokens, temperature=0)
                took = time.perf_counter() - t0
                ttft.append(took)           # no stream: the whole reply's time
                speed.append(r.usage.completion_tokens / took)
        return {"ttft_s": ttft, "tokens_per_s": speed}
    """, "streamed"),
    # q4: by environment only
    ("q4", """
    client = OpenAI()          # made once, when the cell runs

    def ask_local(question):
        r = client.chat.completions.create(model=os.environ["LOCAL_MODEL"],
                                           messages=[{"role": "user", "content": question}], max_tokens=32)
        return r.choices[0].message.content
    """, "inside ask_local"),
    ("q4", """
    def ask_local(question):
        client = OpenAI()
        r = client.chat.completions.create(model="llama3.1", messages=[{"role": "user", "content": question}],
                                           max_tokens=32)
        return r.choices[0].message.content
    """, "LOCAL_MODEL"),
    ("q4", """
    def ask_local(question):
        client = OpenAI(base_url="http://localhost:11434/v1", api_key="ollama")
        r = client.chat.completions.create(model=os.environ["LOCAL_MODEL"],
                                           messages=[{"role": "user", "content": question}], max_tokens=32)
        return r.choices[0].message.content
    """, "Connection"),
    ("q4", """
    def ask_local(question):
        client = OpenAI()
        r = client.chat.completions.create(model=os.environ["LOCAL_MODEL"],
                                           messages=[{"role": "user", "content": question}], max_tokens=32)
        return r                    # the whole response object
    """, "choices[0].message.content"),
]


@pytest.mark.parametrize("q,source,words", WRONG, ids=[f"{q}-{i}" for i, (q, _, _) in enumerate(WRONG)])
def test_wrong_answers_are_incorrect_and_say_why(q, source, words):
    outcome = _evaluate(q, source)
    assert outcome.kind == "Incorrect", outcome
    assert words in outcome.message, outcome
