"""llmkit.setup(): live where keys exist, offline elsewhere; lazy import; no key ever shown.

Each case runs in a fresh interpreter, as a notebook kernel would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

FAKE = "sk-test-" + "a1b2c3d4e5f6" * 3


def run(code: str, env: dict | None = None, cwd: str | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.endswith("_API_KEY") and k not in ("LLMKIT_OFFLINE", "OLLAMA_HOST", "OPENAI_BASE_URL")}
    return subprocess.run([sys.executable, "-c", code], env={**clean, **(env or {})}, cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_import_llmkit_imports_no_sdk_and_no_server():
    r = run("import sys, llmkit; print(sorted(m for m in ('openai', 'anthropic', 'google.genai', 'groq', "
            "'ollama', 'fastapi', 'uvicorn', 'numpy', 'tokenizers') if m in sys.modules))")
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


def test_no_keys_everything_offline_and_the_sdk_works(tmp_path):
    code = ("import os, llmkit; s = llmkit.setup(); "
            "from openai import OpenAI; r = OpenAI().chat.completions.create(model='gpt-4o-mini', "
            "messages=[{'role': 'user', 'content': 'What is JSON?'}]); "
            "print(s.offline, os.environ['OPENAI_BASE_URL'] == llmkit.gateway_url() + '/v1', bool(r.choices[0].message.content))")
    r = run(code, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "['openai', 'anthropic', 'gemini', 'groq', 'ollama'] True True" in r.stdout
    assert "gateway: http://127.0.0.1:" in r.stdout  # the table, printed outside IPython


def test_a_key_makes_that_provider_live_and_is_never_shown(tmp_path):
    code = ("import os, llmkit; s = llmkit.setup(); print(repr(s)); print(s._repr_html_()); "
            "print('KEPT' if os.environ['OPENAI_API_KEY'] == " + repr(FAKE) + " else 'CHANGED'); "
            "print('BASE' if 'OPENAI_BASE_URL' in os.environ else 'NOBASE')")
    r = run(code, env={"OPENAI_API_KEY": FAKE}, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    shown = r.stdout + r.stderr
    assert "openai     live" in r.stdout and "OPENAI_API_KEY is set" in r.stdout, shown.replace(FAKE, "<key>")
    assert "KEPT" in r.stdout and "NOBASE" in r.stdout, shown.replace(FAKE, "<key>")
    assert FAKE not in r.stdout + r.stderr


def test_offline_forced_by_env_and_argument(tmp_path):
    for env, code in (({"LLMKIT_OFFLINE": "1", "OPENAI_API_KEY": FAKE}, "import llmkit; s = llmkit.setup()"),
                      ({"OPENAI_API_KEY": FAKE}, "import llmkit; s = llmkit.setup(offline=True)")):
        r = run(code + "; print(s.offline)", env=env, cwd=str(tmp_path))
        assert "['openai', 'anthropic', 'gemini', 'groq', 'ollama']" in r.stdout, r.stderr
        assert FAKE not in r.stdout + r.stderr


def test_dotenv_is_loaded_without_overriding(tmp_path):
    (tmp_path / ".env").write_text(f"ANTHROPIC_API_KEY={FAKE}\nGROQ_API_KEY=from-dotenv\n")
    r = run("import os, llmkit; s = llmkit.setup(quiet=True); "
            "print(s.live('anthropic'), s.live('groq'), os.environ['GROQ_API_KEY'])",
            env={"GROQ_API_KEY": "from-env"}, cwd=str(tmp_path))
    assert r.stdout.split() == ["True", "True", "from-env"], r.stderr


def test_setup_twice_restores_what_it_changed(tmp_path):
    code = ("import os, llmkit; llmkit.setup(offline=True, quiet=True); a = os.environ.get('OPENAI_API_KEY'); "
            "os.environ['OPENAI_API_KEY'] = " + repr(FAKE) + "; s = llmkit.setup(quiet=True); "
            "print(a, s.live('openai'), 'OPENAI_BASE_URL' in os.environ)")
    r = run(code, cwd=str(tmp_path))
    assert r.stdout.split() == ["llmkit-offline", "True", "False"], r.stdout + r.stderr


def test_gateway_started_once_per_process(tmp_path):
    r = run("import llmkit; a = llmkit.setup(quiet=True).gateway_url; b = llmkit.setup(quiet=True).gateway_url; "
            "print(a == b == llmkit.gateway_url(), a.startswith('http://127.0.0.1:'))", cwd=str(tmp_path))
    assert r.stdout.split() == ["True", "True"], r.stderr


def test_every_sdk_variable_setup_sets_comes_from_the_provider_table(tmp_path):
    """setup() sets, per offline provider, exactly the table's redirect for its gateway, and
    each base URL read back gives that gateway (the shape undone)."""
    code = ("import json, os, llmkit; from llmkit.endpoints import ENDPOINTS; s = llmkit.setup(offline=True, quiet=True); "
            "print(json.dumps([[p, {v: os.environ.get(v) for v in e.redirect(s.gateway_url)} == e.redirect(s.gateway_url),"
            " e.gateway_of(os.environ[e.base_var]) == s.gateway_url] for p, e in ENDPOINTS.items()]))")
    r = run(code, env={"LLMKIT_GATEWAY_URL": "http://127.0.0.1:9"}, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got == [[p, True, True] for p in ("openai", "anthropic", "gemini", "groq", "ollama")]
