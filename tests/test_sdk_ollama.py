"""The official `ollama` SDK against the gateway's Ollama API (/api/...).

Created models are saved to a data folder: this module's own gateway (the `gateway`
fixture below overrides the session one) keeps them in a temporary one; LLMKIT_DATA_DIR
points there too, for the processes some tests start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import ollama
import pytest

CHAT = [{"role": "user", "content": "What is a token?"}]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("llmkit-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LLMKIT_DATA_DIR", str(d))
        yield d


@pytest.fixture(scope="module")
def gateway(data_dir):
    """A gateway of this module's own, keeping its created models in a temp folder."""
    from llmkit.server.app import Settings
    from llmkit.server.background import Gateway

    gw = Gateway(settings=Settings(data_dir=data_dir)).start()
    yield gw.url
    gw.stop()


@pytest.fixture(scope="module")
def client(gateway):
    return ollama.Client(host=gateway)


def _status(exc_info) -> int:
    return exc_info.value.status_code


# -- inference -------------------------------------------------------------------------
def test_chat_non_streaming(client):
    r = client.chat(model="llama3.1", messages=CHAT, stream=False)
    assert r.message.role == "assistant" and "token" in r.message.content.lower()
    assert r.done and r.done_reason == "stop" and r.model == "llama3.1"
    assert r.prompt_eval_count > 0 and r.eval_count > 0
    assert r.total_duration >= r.eval_duration > 0 and r.load_duration > 0 and r.prompt_eval_duration > 0


def test_chat_streaming(client):
    parts = list(client.chat(model="llama3.1", messages=CHAT, stream=True))
    assert len(parts) > 2 and not any(p.done for p in parts[:-1])
    final = parts[-1]
    assert final.done and final.done_reason == "stop" and final.message.content == ""
    assert final.eval_count > 0 and final.prompt_eval_count > 0
    assert final.total_duration > 0 and final.eval_duration > 0 and final.prompt_eval_duration > 0
    text = "".join(p.message.content for p in parts)
    assert "token" in text.lower() and final.eval_count >= len(parts) - 1


def test_stream_is_ndjson_by_default(gateway):
    """Like the real server, /api/chat streams unless told `stream: false`."""
    with httpx.stream("POST", gateway + "/api/chat", json={"model": "llama3.1", "messages": CHAT}, timeout=30) as r:
        assert r.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(x) for x in r.iter_lines() if x]
    assert len(lines) > 2 and lines[-1]["done"] is True and lines[-1]["done_reason"] == "stop"
    assert all(set(x) >= {"model", "created_at", "message", "done"} for x in lines)


def test_generate_with_system(client):
    plain = client.generate(model="llama3.1", prompt="What is temperature?", options={"seed": 3})
    sys_ = client.generate(model="llama3.1", prompt="What is temperature?", system="Answer in one sentence.",
                           options={"seed": 3})
    assert plain.response and sys_.response and sys_.done_reason == "stop"
    assert sys_.prompt_eval_count > plain.prompt_eval_count  # the system prompt reached the model


def test_generate_context_continues_the_conversation(client):
    first = client.generate(model="llama3.1", prompt="What is temperature?")
    assert first.context and all(isinstance(i, int) for i in first.context)
    follow = client.generate(model="llama3.1", prompt="Tell me more", context=first.context, options={"seed": 5})
    fresh = client.generate(model="llama3.1", prompt="Tell me more", options={"seed": 5})
    assert follow.prompt_eval_count > first.prompt_eval_count + first.eval_count // 2
    assert "temperature" in follow.response.lower() and follow.response != fresh.response
    assert len(follow.context) > len(first.context)


def test_generate_template_and_load(client, gateway):
    templated = client.generate(model="llama3.1", prompt="What is top_p?", system="Be brief.",
                                template="{{ if .System }}{{ .System }}\n{{ end }}Question: {{ .Prompt }}")
    assert templated.response and templated.context
    loaded = client.generate(model="llama3.1")
    assert loaded.done and loaded.done_reason == "load" and loaded.response == ""
    r = httpx.post(gateway + "/api/chat", json={"model": "llama3.1", "messages": [], "keep_alive": 0}).json()
    assert r["done_reason"] == "unload"


def test_num_predict_gives_length(client):
    r = client.generate(model="llama3.1", prompt="What is a token?", options={"num_predict": 3})
    assert r.done_reason == "length" and r.eval_count == 3


def test_stop_sequence(client):
    full = client.generate(model="llama3.1", prompt="What is a token?", options={"seed": 11}).response
    stop = next(w for w in full.split()[3:] if len(w) > 3)
    cut = client.generate(model="llama3.1", prompt="What is a token?", options={"seed": 11, "stop": [stop]})
    assert cut.response == full[: full.index(stop)] and cut.done_reason == "stop"


def test_seed_reproducibility(client):
    opts = {"seed": 42, "temperature": 1.0}
    a = client.chat(model="llama3.1", messages=CHAT, options=opts).message.content
    b = client.chat(model="llama3.1", messages=CHAT, options=opts).message.content
    assert a and a == b


def test_min_p_option_is_ollamas(client):
    """options.min_p (Ollama's own option) reaches the sampler: unset is the model's default (its
    generation_config.json's min_p); 0 turns it off; out of range is Ollama's 400."""
    q = [{"role": "user", "content": "Explain the importance of low latency LLMs"}]

    def reply(**opts):
        return client.chat(model="llama3.1", messages=q, options={"seed": 1, "temperature": 1.5, "top_p": 1.0,
                                                                  "top_k": 0, "num_predict": 40, **opts}).message.content

    assert reply() == reply(min_p=0.1)
    assert any(reply(seed=s) != reply(seed=s, min_p=0.0) for s in range(6))
    with pytest.raises(ollama.ResponseError) as e:
        reply(min_p=1.5)
    assert e.value.status_code == 400 and "min_p" in str(e.value)


def test_format_json(client):
    r = client.chat(model="llama3.1", messages=[{"role": "user", "content": "What is JSON? Reply in JSON."}],
                    format="json")
    assert isinstance(json.loads(r.message.content), dict)
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    g = client.generate(model="llama3.1", prompt="What is an API?", format=schema)
    assert isinstance(json.loads(g.response), dict)


def test_images_are_noted(client):
    plain = client.chat(model="gemma3", messages=[{"role": "user", "content": "Describe this."}])
    seen = client.chat(model="gemma3", messages=[{"role": "user", "content": "Describe this.", "images": [b"\x89PNG"]}])
    assert seen.prompt_eval_count > plain.prompt_eval_count


def test_mid_stream_error_is_an_error_line():
    """An engine failure after the first token reaches the SDK as ResponseError (Ollama's error line)."""
    from llmkit.engine import Generation
    from llmkit.server.background import Gateway

    gw = Gateway().start()
    real = gw.app.state.engine

    class Failing:
        def __getattr__(self, name):
            return getattr(real, name)

        def generate(self, messages, params):
            gen = real.generate(messages, params)

            def broken():
                yield next(iter(gen))
                raise RuntimeError("the engine failed mid-stream")

            return Generation(broken(), gen.prompt_tokens)

    gw.app.state.engine = Failing()
    try:
        stream = ollama.Client(host=gw.url).chat(model="llama3.1", messages=CHAT, stream=True)
        first = next(stream)
        assert first.message.content and not first.done
        with pytest.raises(ollama.ResponseError, match="engine failed mid-stream"):
            list(stream)
    finally:
        gw.stop()


# -- embeddings and model information --------------------------------------------------
def test_embed_and_embeddings(client):
    r = client.embed(model="nomic-embed-text", input=["a cat", "a dog"])
    assert len(r.embeddings) == 2 and len(r.embeddings[0]) > 16 and r.prompt_eval_count > 0
    assert r.total_duration > 0 and r.model == "nomic-embed-text"
    one = client.embed(model="nomic-embed-text", input="a cat", dimensions=8, truncate=True)
    assert len(one.embeddings) == 1 and len(one.embeddings[0]) == 8
    legacy = client.embeddings(model="nomic-embed-text", prompt="a cat")
    assert legacy.embedding == pytest.approx(r.embeddings[0], abs=1e-5)


def test_tags_ps_show_version(client, gateway):
    names = [m.model for m in client.list().models]
    assert "llama3.1:latest" in names and all(m.size > 0 and m.digest for m in client.list().models)
    client.chat(model="llama3.2", messages=CHAT, keep_alive="10m")
    running = {m.model: m for m in client.ps().models}
    assert "llama3.2:latest" in running and running["llama3.2:latest"].size_vram == 0
    assert running["llama3.2:latest"].expires_at is not None
    info = client.show("llama3.1")
    assert info.capabilities == ["completion", "tools"] and info.modelinfo["general.parameter_count"] > 0
    assert info.details.family and info.template and info.modelfile.startswith("# Modelfile")
    assert client.show("nomic-embed-text").capabilities == ["embedding"]
    assert httpx.get(gateway + "/api/version").json()["version"].count(".") == 2


# -- model management ------------------------------------------------------------------
def test_create_list_show_chat_copy_delete(client, data_dir):
    system = "You are a patient teacher who explains LLM APIs."
    progress = list(client.create(model="teacher", from_="llama3.1", system=system,
                                  parameters={"temperature": 0.2, "num_predict": 40}, stream=True))
    assert [p.status for p in progress][-2:] == ["writing manifest", "success"]
    assert "creating system layer" in [p.status for p in progress]
    assert "teacher:latest" in [m.model for m in client.list().models]
    shown = client.show("teacher")
    assert system in shown.modelfile and "temperature" in shown.parameters and "num_predict" in shown.parameters
    assert shown.details.parent_model == "llama3.1"
    with_sys = client.chat(model="teacher", messages=CHAT)
    without = client.chat(model="llama3.1", messages=CHAT, options={"num_predict": 40})
    assert with_sys.prompt_eval_count > without.prompt_eval_count  # the saved system prompt went first
    assert with_sys.eval_count <= 40  # the saved num_predict applies
    assert client.copy("teacher", "teacher-copy").status == "success"
    assert client.show("teacher-copy").modelfile.count(system) == 1
    assert client.delete("teacher-copy").status == "success"
    with pytest.raises(ollama.ResponseError) as e:
        client.chat(model="teacher-copy", messages=CHAT)
    assert _status(e) == 404 and e.value.error == "model 'teacher-copy' not found"
    saved = json.loads((data_dir / "ollama-models.json").read_text())["models"]
    assert saved["teacher"]["system"] == system and "teacher-copy" not in saved


def test_create_from_modelfile_text(gateway, client):
    modelfile = ('FROM llama3.1\nSYSTEM """You are Mario\nfrom Super Mario Bros."""\n'
                 'PARAMETER temperature 0.3\nPARAMETER stop "END"\nPARAMETER stop "STOP"\n')
    r = httpx.post(gateway + "/api/create", json={"model": "mario", "modelfile": modelfile, "stream": False})
    assert r.status_code == 200 and r.json() == {"status": "success"}
    shown = client.show("mario:latest")
    assert "You are Mario\nfrom Super Mario Bros." in shown.modelfile
    assert shown.parameters.count("stop") == 2 and "0.3" in shown.parameters


def test_created_model_persists_across_restart(client, data_dir):
    client.create(model="pirate", from_="llama3.1", system="You talk like a pirate.")
    code = ("import ollama; from llmkit.server.background import Gateway; gw = Gateway().start(); "
            "c = ollama.Client(host=gw.url); print([m.model for m in c.list().models]); "
            "print(repr(c.show('pirate').modelfile)); gw.stop()")
    env = {**os.environ, "LLMKIT_DATA_DIR": str(data_dir), "LLMKIT_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pirate:latest" in out.stdout and "You talk like a pirate." in out.stdout


def test_each_gateway_keeps_the_models_of_its_own_data_folder(tmp_path):
    """Two gateways in one process: a model created on one is unknown to the other (another data
    folder), and a third started on the first one's folder has it."""
    from llmkit.server.app import Settings
    from llmkit.server.background import Gateway

    first, other = (Gateway(settings=Settings(data_dir=tmp_path / d)).start() for d in ("a", "b"))
    try:
        ollama.Client(host=first.url).create(model="only-in-a", from_="llama3.1", system="Be brief.")
        assert "only-in-a:latest" in [m.model for m in ollama.Client(host=first.url).list().models]
        assert "only-in-a:latest" not in [m.model for m in ollama.Client(host=other.url).list().models]
        r = httpx.post(other.url + "/v1/chat/completions", json={"model": "only-in-a", "messages": CHAT})
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
        again = Gateway(settings=Settings(data_dir=tmp_path / "a")).start()
        try:
            assert "Be brief." in ollama.Client(host=again.url).show("only-in-a").modelfile
        finally:
            again.stop()
    finally:
        first.stop()
        other.stop()


def test_two_gateways_on_one_data_folder_keep_each_others_models(tmp_path):
    """`make course`'s gateway and a notebook's own can share a data folder: each saves only what
    it changed, so neither drops a model the other created or a name the other deleted."""
    from llmkit.server.app import Settings
    from llmkit.server.background import Gateway

    a, b = (Gateway(settings=Settings(data_dir=tmp_path)).start() for _ in range(2))
    try:
        ollama.Client(host=a.url).create(model="made-on-a", from_="llama3.1", system="A.")
        ollama.Client(host=b.url).create(model="made-on-b", from_="llama3.1", system="B.")
        ollama.Client(host=b.url).delete("gemma3")
        ollama.Client(host=a.url).delete("made-on-a")  # a's own change only: b's model and deletion stay
        ollama.Client(host=a.url).create(model="made-on-a2", from_="llama3.1")
        c = Gateway(settings=Settings(data_dir=tmp_path)).start()
        try:
            listed = [m.model for m in ollama.Client(host=c.url).list().models]
        finally:
            c.stop()
        assert "made-on-b:latest" in listed and "made-on-a2:latest" in listed
        assert "made-on-a:latest" not in listed and "gemma3:latest" not in listed
    finally:
        a.stop()
        b.stop()


def test_store_writes_atomically_and_survives_a_bad_file(data_dir):
    from llmkit.server import store

    path = store.save({"x": {"from": "llama3.1", "system": "s", "parameters": {}}})
    assert path.parent == data_dir and store.load()["x"]["system"] == "s"
    assert not [p for p in data_dir.iterdir() if p.name.endswith(".tmp")]
    path.write_text("{ not json")
    assert store.load() == {}


def test_create_errors(client, gateway):
    with pytest.raises(ollama.ResponseError) as e:
        client.create(model="ghost", from_="no-such-model-xyz")
    assert _status(e) == 404 and "file does not exist" in e.value.error
    r = httpx.post(gateway + "/api/create", json={"model": "ghost", "stream": False})
    assert r.status_code == 400 and r.json()["error"] == "neither 'from' or 'files' was specified"
    with pytest.raises(ollama.ResponseError) as e:
        client.create(model="ghost", from_="llama3.1", parameters={"warp_speed": 9})
    assert _status(e) == 400 and "warp_speed" in e.value.error
    with pytest.raises(ollama.ResponseError) as e:
        client.delete("no-such-model-xyz")
    assert _status(e) == 404 and e.value.error == "model 'no-such-model-xyz' not found"
    with pytest.raises(ollama.ResponseError) as e:
        client.copy("no-such-model-xyz", "other")
    assert _status(e) == 404


def test_pull_known_and_unknown(client):
    statuses = list(client.pull("llama3.2", stream=True))
    names = [s.status for s in statuses]
    assert names[0] == "pulling manifest" and names[-1] == "success" and "verifying sha256 digest" in names
    layers = [s for s in statuses if s.digest]
    assert layers and all(s.total == s.completed > 0 and s.digest.startswith("sha256:") for s in layers)
    assert any("offline model" in s for s in names)
    assert client.pull("llama3.2").status == "success"
    with pytest.raises(ollama.ResponseError) as e:
        client.pull("no-such-model-xyz")
    assert _status(e) == 404 and "pull model manifest: file does not exist" in e.value.error
    with pytest.raises(ollama.ResponseError, match="file does not exist"):
        list(client.pull("no-such-model-xyz", stream=True))
    with pytest.raises(ollama.ResponseError) as e:
        client.push("llama3.1")
    assert 400 <= _status(e) < 500 and "offline" in e.value.error


# -- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, status, words", [
    ({"model": "no-such-model-xyz"}, 404, "model 'no-such-model-xyz' not found"),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, 400, "messages[0].role"),
    ({"options": {"temperature": 3}}, 400, "options.temperature"),
    ({"options": {"temperature": "hot"}}, 400, "options.temperature"),
    ({"options": {"num_predict": -5}}, 400, "options.num_predict"),
])
def test_bad_chat_input(client, kwargs, status, words):
    args = {"model": "llama3.1", "messages": CHAT, **kwargs}
    with pytest.raises(ollama.ResponseError) as e:
        client.chat(**args)
    assert _status(e) == status and words in e.value.error


def test_not_found_everywhere(client):
    for call in (lambda: client.generate(model="nope-1", prompt="hi"), lambda: client.show("nope-1"),
                 lambda: client.embed(model="nope-1", input="hi")):
        with pytest.raises(ollama.ResponseError) as e:
            call()
        assert _status(e) == 404 and e.value.error == "model 'nope-1' not found"


@pytest.mark.parametrize("path, body, words", [
    ("/api/chat", b"{not json", "not valid JSON"),
    ("/api/chat", b'{"messages": []}', "'model'"),
    ("/api/chat", b'{"model": "llama3.1", "messages": "hi"}', "'messages'"),
    ("/api/generate", b'{"model": "llama3.1", "prompt": 5}', "'prompt'"),
    ("/api/generate", b'{"model": "llama3.1", "prompt": "hi", "context": ["a"]}', "'context'"),
    ("/api/embed", b'{"model": "nomic-embed-text", "input": [1, 2]}', "'input'"),
    ("/api/chat", b'{"model": "llama3.1", "messages": [], "keep_alive": "soon"}', "keep_alive"),
    ("/api/chat", b'{"model": "llama3.1", "messages": [], "format": "yaml"}', "'format'"),  # the SDK refuses it itself
])
def test_bad_raw_input(gateway, client, path, body, words):
    r = httpx.post(gateway + path, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400 and words in r.json()["error"]
    assert client.chat(model="llama3.1", messages=CHAT, options={"num_predict": 2}).done  # still serving


# -- the same created model through other doors ----------------------------------------
def test_openai_sdk_uses_created_model(client, gateway):
    from openai import OpenAI

    client.create(model="brief-teacher", from_="llama3.1", system="You are a brief teacher of LLM APIs.",
                  parameters={"num_predict": 5})
    oa = OpenAI(base_url=gateway + "/v1", api_key="unused")
    made = oa.chat.completions.create(model="brief-teacher", messages=CHAT)
    base = oa.chat.completions.create(model="llama3.1", messages=CHAT)
    assert made.usage.prompt_tokens > base.usage.prompt_tokens  # its system prompt was added
    assert made.choices[0].finish_reason == "length" and made.usage.completion_tokens <= 5  # its num_predict
    longer = oa.chat.completions.create(model="brief-teacher", messages=CHAT, max_tokens=20)
    assert longer.usage.completion_tokens > 5  # the request's own max_tokens wins


def test_module_level_functions_after_setup(tmp_path):
    """ollama.chat() reads OLLAMA_HOST at import: setup() first, as the notebooks do."""
    code = ("import llmkit; llmkit.setup(offline=True); import ollama; "
            "r = ollama.chat(model='llama3.1', messages=[{'role': 'user', 'content': 'What is a token?'}]); "
            "print('ANSWER:', r.message.content)")
    env = {k: v for k, v in os.environ.items() if k != "OLLAMA_HOST"}
    env.update(LLMKIT_OFFLINE="1", LLMKIT_DATA_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    answer = out.stdout.split("ANSWER:", 1)[1].strip()
    assert len(answer.split()) > 3 and "token" in answer.lower()


def test_secured_gateway_needs_the_key(secured_gateway):
    with pytest.raises(ollama.ResponseError) as e:
        ollama.Client(host=secured_gateway).list()
    assert _status(e) == 401 and "key" in e.value.error.lower()
    keyed = ollama.Client(host=secured_gateway, headers={"Authorization": "Bearer test-secret"})
    assert keyed.chat(model="llama3.1", messages=CHAT).message.content
