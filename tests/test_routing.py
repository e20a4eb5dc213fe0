"""`llmkit serve --config/--upstream`: model names routed to real backends, for every protocol.

Upstreams, all real HTTP on loopback: a llama.cpp server on the course model (one for the
module), a second llmkit gateway process standing in for the real providers' APIs (it needs
a key, so a reply proves the key went upstream), a server that misbehaves (garbage, a cut
stream, a 429) and a port where nothing listens. Clients are the official SDKs.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from llmkit import engines
from llmkit.server.gateway_config import ConfigError, load

UPKEY = "upstream.not.a.real.key.routing"  # the instructor's key: must reach the upstream and nobody else
Q = [{"role": "user", "content": "What is a REST API?"}]
MAX = 16

pytestmark = pytest.mark.skipif(not engines.installed("llama-cpp"),
                                reason=f"llama-cpp not installed ({engines.ENGINES['llama-cpp'].install})")


class Misbehaving(BaseHTTPRequestHandler):
    """An 'OpenAI-compatible' server that answers garbage, cuts streams and rate-limits."""

    def log_message(self, *a):
        pass

    def do_GET(self):
        self._send(200, b'{"object": "list", "data": [{"id": "bad-model"}]}')

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        model = body["model"]
        if model == "bad-limited":
            return self._send(429, b'{"error": {"message": "slow down", "type": "rate_limit"}}', {"retry-after": "7"})
        if not body.get("stream"):
            return self._send(200, b"<html>502 from a proxy</html>", {"content-type": "text/html"})
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        chunk = {"choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": None}]}
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        if model == "bad-garbage":
            self.wfile.write(b"data: {this is not json\n\n")
        self.wfile.flush()
        self.close_connection = True  # bad-cut: the connection just ends, no finish, no [DONE]

    def _send(self, status, body, headers=None):
        self.send_response(status)
        for k, v in {"content-type": "application/json", **(headers or {})}.items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here: connections are refused
    return port


def start_gateway_process(env: dict, *args: str) -> tuple[subprocess.Popen, str]:
    port = engines.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llmkit", "serve", "--port", str(port), "--log-level", "warning",
                             *args], env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


def wait_up(proc: subprocess.Popen, url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited {proc.returncode}: {proc.stdout.read().decode()[-2000:]}")
        try:
            httpx.get(url + "/health", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"gateway at {url} did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def ups(tmp_path_factory):
    """(llama.cpp server, provider stand-in URL, misbehaving URL), started side by side."""
    data_dir = os.environ.get("LLMKIT_DATA_DIR")  # the GGUF cache goes to a folder of the test run
    os.environ["LLMKIT_DATA_DIR"] = data_dir or str(tmp_path_factory.getbasetemp() / "engines-data")
    proc, provider = start_gateway_process({"LLMKIT_API_KEY": UPKEY, "LLMKIT_ENGINE": "ngram-v1"})
    bad = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    threading.Thread(target=bad.serve_forever, daemon=True).start()
    try:
        with engines.start("llama-cpp") as llama:
            wait_up(proc, provider)
            yield llama, provider, f"http://127.0.0.1:{bad.server_address[1]}"
    finally:
        stop(proc)
        bad.shutdown()
        if data_dir is None:
            os.environ.pop("LLMKIT_DATA_DIR", None)


@pytest.fixture(scope="module")
def gw(ups, tmp_path_factory):
    """A routing gateway (in this process, real HTTP) from a gateway.toml."""
    from llmkit.server.app import Settings
    from llmkit.server.background import Gateway

    llama, provider, bad = ups
    conf = tmp_path_factory.mktemp("routing") / "gateway.toml"
    conf.write_text(f"""
[gateway]
connect_timeout = 2
read_timeout = 20

[upstreams.llama]
url = "openai+{llama.url}/v1"
models = ["{llama.model}", "local-*"]
model = "{llama.model}"

[upstreams.anthropic]   # the second gateway stands in for Anthropic's API (its OpenAI compatibility)
url = "anthropic+{provider}/v1"
models = ["claude-*"]

[upstreams.gemini]
url = "gemini+{provider}/v1beta/openai"
models = ["gemini-*"]

[upstreams.ollama]      # the second gateway speaks Ollama's /api/chat too
url = "ollama+{provider}"
models = ["qwen3*"]
key_env = "LLMKIT_TEST_UPSTREAM_KEY"

[upstreams.bad]
url = "openai+{bad}/v1"
models = ["bad-*"]

[upstreams.down]
url = "ollama+http://127.0.0.1:{_closed_port()}"
models = ["down-*"]
""")
    old = {k: os.environ.get(k) for k in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")}
    os.environ["ANTHROPIC_API_KEY"] = os.environ["GEMINI_API_KEY"] = os.environ["LLMKIT_TEST_UPSTREAM_KEY"] = UPKEY
    os.environ.pop("GOOGLE_API_KEY", None)
    g = Gateway(settings=Settings(gateway=load(conf))).start()
    yield g.url
    g.stop()
    for k, v in old.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    os.environ.pop("LLMKIT_TEST_UPSTREAM_KEY", None)


def direct(llama, stream=False):
    """The same greedy request sent straight to llama.cpp: what the routed reply must say."""
    from openai import OpenAI

    c = OpenAI(base_url=llama.url + "/v1", api_key="none", max_retries=0)
    r = c.chat.completions.create(model=llama.model, messages=Q, temperature=0, max_tokens=MAX)
    return r.choices[0].message.content, r.usage


def test_anthropic_sdk_streams_from_llama_cpp(gw, ups):
    import anthropic

    text, usage = direct(ups[0])
    client = anthropic.Anthropic(base_url=gw, api_key="x", max_retries=0)
    with client.messages.stream(model="local-course", max_tokens=MAX, messages=Q,
                                extra_body={"temperature": 0}) as s:  # anthropic 2.x has no temperature argument
        parts = list(s.text_stream)
        final = s.get_final_message()
    assert "".join(parts) == text and len(parts) > 3  # token by token, the upstream's greedy text
    assert final.stop_reason == "max_tokens" and final.usage.output_tokens == usage.completion_tokens == MAX
    assert final.usage.input_tokens == usage.prompt_tokens


def test_ollama_sdk_and_course_chat_over_llama_cpp(gw, ups):
    import ollama

    text, usage = direct(ups[0])
    client = ollama.Client(host=gw)
    r = client.chat(model="local-course", messages=Q, options={"temperature": 0, "num_predict": MAX})
    assert r.message.content == text and r.done_reason == "length" and r.eval_count == MAX
    parts = [c.message.content for c in client.chat(model="local-course", messages=Q, stream=True,
                                                     options={"temperature": 0, "num_predict": MAX})]
    assert "".join(parts) == text
    r = httpx.post(gw + "/chat/local-course", json={"message": "hi", "max_tokens": 5, "temperature": 0}, timeout=30)
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 5
    assert json.loads(r.headers["backend"]) == {"engine_type": "upstream", "engine": "llama", "wire": "openai"}
    assert len(r.headers.get_list("backend")) == 1  # the upstream's name replaces the offline engine's


def test_provider_key_goes_upstream_and_nowhere_else(gw, ups, caplog):
    from openai import OpenAI

    caplog.set_level(logging.DEBUG)
    provider = ups[1]
    # the stand-in refuses a request without the key: a reply proves the gateway sent it
    assert httpx.post(provider + "/v1/chat/completions", json={"model": "gpt-4o", "messages": Q}).status_code == 401
    c = OpenAI(base_url=gw + "/v1", api_key="student-has-no-key", max_retries=0)
    stream = c.chat.completions.create(model="gemini-2.5-flash", messages=Q, max_tokens=MAX, stream=True,
                                       stream_options={"include_usage": True})
    chunks = list(stream)
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert chunks[-1].usage.completion_tokens > 0 and chunks[-1].usage.prompt_tokens > 0
    r = httpx.post(gw + "/chat", json={"model": "claude-haiku-4-5", "message": "What is a token?", "max_tokens": 8})
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] > 0, r.text
    assert UPKEY not in r.text and UPKEY not in str(r.headers)
    # a wrong key upstream: the student hears the gateway's credentials were refused, never the key
    os.environ["ANTHROPIC_API_KEY"] = "sk-wrong-" + UPKEY[::-1]
    try:
        r = httpx.post(gw + "/v1/messages", headers={"anthropic-version": "2023-06-01"},
                       json={"model": "claude-haiku-4-5", "max_tokens": 5, "messages": Q})
    finally:
        os.environ["ANTHROPIC_API_KEY"] = UPKEY
    assert r.status_code == 502 and r.json()["type"] == "error", r.text
    assert "refused the gateway's credentials" in r.json()["error"]["message"]
    assert "sk-wrong" not in r.text and UPKEY[::-1] not in r.text
    health = httpx.get(gw + "/health").text
    assert UPKEY not in health and UPKEY not in caplog.text


def test_openai_and_anthropic_sdks_over_an_ollama_upstream(gw):
    import anthropic
    from openai import OpenAI

    c = OpenAI(base_url=gw + "/v1", api_key="x", max_retries=0)
    r = c.chat.completions.create(model="qwen3", messages=Q, max_tokens=6, seed=1)
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 6 and r.usage.prompt_tokens > 0
    parts = [ch.choices[0].delta.content or "" for ch in c.chat.completions.create(
        model="qwen3", messages=Q, max_tokens=6, seed=1, stream=True) if ch.choices]
    assert "".join(parts) == r.choices[0].message.content  # NDJSON lines become SSE chunks
    m = anthropic.Anthropic(base_url=gw, api_key="x", max_retries=0).messages.create(
        model="qwen3", max_tokens=6, messages=Q)
    assert m.stop_reason == "max_tokens" and m.usage.output_tokens == 6


def test_upstream_down_is_a_quick_503_naming_it(gw):
    import anthropic
    from openai import InternalServerError, OpenAI

    t0 = time.monotonic()
    with pytest.raises(InternalServerError) as e:
        OpenAI(base_url=gw + "/v1", api_key="x", max_retries=0).chat.completions.create(model="down-llama", messages=Q)
    assert e.value.status_code == 503 and "upstream 'down'" in str(e.value) and "down" in str(e.value)
    with pytest.raises(anthropic.APIStatusError) as e:
        anthropic.Anthropic(base_url=gw, api_key="x", max_retries=0).messages.create(
            model="down-llama", max_tokens=5, messages=Q, stream=True)
    assert e.value.status_code == 503 and e.value.response.headers["retry-after"]
    assert time.monotonic() - t0 < 5  # refused at once, never a hang


def test_upstream_429_garbage_and_cut_streams_in_the_clients_protocol(gw):
    import ollama
    from openai import APIError, APIStatusError, OpenAI, RateLimitError

    c = OpenAI(base_url=gw + "/v1", api_key="x", max_retries=0)
    with pytest.raises(RateLimitError) as e:
        c.chat.completions.create(model="bad-limited", messages=Q)
    assert e.value.response.headers["retry-after"] == "7" and "slow down" in str(e.value)
    with pytest.raises(APIStatusError) as e:
        c.chat.completions.create(model="bad-garbage", messages=Q)
    assert e.value.status_code == 502 and "not JSON" in str(e.value) and "upstream 'bad'" in str(e.value)
    for model, words in (("bad-garbage", "not an OpenAI stream event"), ("bad-cut", "cut the stream")):
        with pytest.raises(APIError, match=words):
            list(c.chat.completions.create(model=model, messages=Q, stream=True))
    with pytest.raises(ollama.ResponseError, match="cut the stream"):
        list(ollama.Client(host=gw).chat(model="bad-cut", messages=Q, stream=True))
    r = httpx.post(gw + "/v1beta/models/bad-garbage:streamGenerateContent?alt=sse",
                   json={"contents": [{"parts": [{"text": "hi"}]}]})
    assert r.status_code == 200 and '"error"' in r.text and "not an OpenAI stream event" in r.text


def test_unknown_model_health_and_listings(gw, ups):
    from openai import NotFoundError, OpenAI

    llama = ups[0]
    c = OpenAI(base_url=gw + "/v1", api_key="x", max_retries=0)
    with pytest.raises(NotFoundError, match="does not exist"):
        c.chat.completions.create(model="no such model!", messages=Q)
    health = httpx.get(gw + "/health").json()
    status = {u["name"]: u["status"] for u in health["upstreams"]}
    assert status == {"llama": "up", "anthropic": "up", "gemini": "up", "ollama": "up", "bad": "up", "down": "down"}
    assert health["ollama_service"] == "up"  # one of the two Ollama upstreams answers
    assert llama.model in [m.id for m in c.models.list().data]
    assert llama.model in [m["name"] for m in httpx.get(gw + "/api/tags").json()["models"]]
    assert "bad-model" in [m["name"] for m in httpx.get(gw + "/models").json()["models"]]
    # and after every failure above, the gateway still answers, offline names included
    r = c.chat.completions.create(model="gpt-4o-mini", messages=Q, max_tokens=4)
    assert r.choices[0].finish_reason == "length"


# -- the config ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, where, words", [
    ('[upstreams.a]\nurl = "openai+http://x/v1"\nmodels = ["a*"\n', 3, "not valid TOML"),
    ('[upstreams.a]\nurl = openai\nmodels = ["a*"]\n', 2, "not valid TOML"),
    ('[gateway]\noffline = true\n\n[upstreams.a]\nurl = "ftp://x"\nmodels = ["a"]\n', 5, "ftp://x"),
    ('[upstreams.a]\nurl = "openai+http://x/v1"\nmodel = 3\nmodels = ["a"]\n', 3, "must be a string"),
    ('[upstreams.a]\nurl = "openai+http://x/v1"\nmodels = ["a"]\ntimeout = 3\n', 4, "no setting 'timeout'"),
    ('[upstreams.a]\nmodels = ["a"]\n', 1, "needs 'url'"),
    ('[classroom]\nusd_per_day = "lots"\n', 2, "must be a number"),
    ('[gatway]\n', 1, "unknown section 'gatway'"),
])
def test_a_malformed_config_names_the_line(tmp_path, text, where, words):
    f = tmp_path / "gateway.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        load(f)
    assert str(e.value).startswith(f"{f}:{where}:") and words in str(e.value), str(e.value)


def test_llmkit_serve_refuses_a_bad_config_or_flag(tmp_path):
    f = tmp_path / "gateway.toml"
    f.write_text('[upstreams.a]\nurl = "mystery+http://x"\nmodels = ["a"]\n')
    said = []
    for args in (["--config", str(f)], ["--upstream", "llama*"]):
        out = subprocess.run([sys.executable, "-m", "llmkit", "serve", "--port", "1", *args],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and "Traceback" not in out.stderr
        said.append(out.stderr)
    assert f"{f}:2:" in said[0] and "'mystery+http://x'" in said[0]
    assert "expected NAME=URL" in said[1]
