"""The official SDKs' own examples (tests/sdk_examples/, copied unchanged from their repositories)
run against the gateway as their authors wrote them: each a process of its own, as `python example.py`
runs it (forked from one that imported the SDKs once: tests/forkrun.py), whose SDK finds the gateway
through the environment variables a learner sets. Each must exit 0 and print what it
means to print; the thinking examples must end in the 400 the real service gives a model that
cannot think."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest
from forkrun import ForkRunner

EXAMPLES = Path(__file__).parent / "sdk_examples"
REFUSED = {"anthropic/thinking.py": "does not support thinking", "ollama/thinking.py": "does not support thinking"}
# what the output must contain (one of), where an example prints a fact the offline model knows or a field
# it shows; the Ollama examples sample (Ollama's defaults: temperature 0.8), so any of the sky's answers
SKY = ("blue", "sky")
EXPECT = {
    "groq/chat_completion_stop.py": ("1, 2, 3, 4, 5",),  # and nothing after: the stop sequence ", 6" cut it
    "ollama/chat.py": SKY, "ollama/generate.py": SKY, "ollama/async-chat.py": SKY, "ollama/chat-stream.py": SKY,
    "ollama/create.py": ("success",), "ollama/pull.py": ("success",), "ollama/list.py": ("Name:",),
    "ollama/tools.py": ("Prompt: What is three plus one?",), "openai/responses_input_tokens.py": ("input tokens:",),
    "openai/demo.py": ("custom response headers test",),
}
CASES = sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*.py") if p.name != "__init__.py")


@pytest.fixture(scope="module")
def env(gateway):
    url = urlparse(gateway)
    return {**os.environ, "OPENAI_BASE_URL": gateway + "/v1", "OPENAI_API_KEY": "sk-example",
            "ANTHROPIC_BASE_URL": gateway, "ANTHROPIC_API_KEY": "sk-ant-example",
            "GROQ_BASE_URL": gateway, "GROQ_API_KEY": "gsk-example", "OLLAMA_HOST": url.netloc,
            "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def runner(env):
    with ForkRunner(env) as r:
        yield r


def test_the_examples_are_there():
    assert len(CASES) >= 35 and all(c.split("/")[0] in ("openai", "anthropic", "groq", "ollama") for c in CASES)


@pytest.mark.parametrize("example", CASES)
def test_sdk_example_runs_unchanged(example, runner, tmp_path):
    returncode, stdout, stderr = runner.run(EXAMPLES / example, tmp_path, timeout=120)
    out = stdout + stderr
    if example in REFUSED:
        assert returncode == 1 and "400" in out and REFUSED[example] in out, out[-2000:]
        return
    assert returncode == 0, out[-3000:]
    assert stdout.strip(), out[-2000:]
    if example in EXPECT:
        assert any(e in stdout for e in EXPECT[example]), stdout[-2000:]
    if example == "groq/chat_completion_stop.py":
        assert ", 6" not in stdout
