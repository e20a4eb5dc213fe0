"""Shared fixtures: a real gateway on loopback, started in the test process.

The suite is hermetic whatever shell starts it: at import, before any test module, the
environment loses the shell's provider keys, base URLs, Ollama and LLMKIT_* settings
(tools/hermetic.py, also what `make test` wraps each pytest pass in), offline is forced,
and created Ollama models go to a throw-away data folder, never the learner's. Every
process the session starts carries LLMKIT_TEST_RUN; any still alive when the session ends
is stopped (SIGTERM, then SIGKILL) and reported as an error.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import hermetic  # noqa: E402

_clean = hermetic.clean(os.environ)
os.environ.clear()
os.environ.update(_clean)
os.environ["LLMKIT_OFFLINE"] = "1"  # tests never reach a real provider
DATA_DIR = tempfile.mkdtemp(prefix="llmkit-test-data-")
os.environ["LLMKIT_DATA_DIR"] = DATA_DIR
os.environ.setdefault(hermetic.MARKER, uuid.uuid4().hex)


def _uses_notebook_runs(item) -> bool:
    return "notebook_runs" in getattr(item, "fixturenames", ())


def pytest_addoption(parser):
    parser.addoption("--notebook-kinds", default="notebooks,exercises,solutions",
                     help="which notebooks this session executes (the folders, comma-separated): `make test` "
                          "runs the solutions in the nbval pass, which ends first, the rest in the main pass")


def pytest_collection_modifyitems(session, config, items):
    """The tests that read notebook executions go last: the executions (tests/test_notebooks.py)
    run in the background meanwhile, on the core the rest of the suite leaves idle. Those of
    notebooks of other kinds than --notebook-kinds are deselected."""
    runs = [i for i in items if _uses_notebook_runs(i)]
    if runs:
        import test_notebooks

        kinds = set(config.getoption("notebook_kinds").split(","))
        other = [i for i in runs if test_notebooks.kind(i.callspec.params["path"]) not in kinds]
        if other:
            config.hook.pytest_deselected(items=other)
            runs = [i for i in runs if i not in other]
    items[:] = [i for i in items if not _uses_notebook_runs(i)] + runs


def pytest_collection_finish(session):
    """Start the notebook executions the collected tests will read, now (in background threads)."""
    if not session.config.option.collectonly and any(_uses_notebook_runs(i) for i in session.items):
        import test_notebooks

        test_notebooks.runs().start(test_notebooks.wanted(session.items))


@pytest.fixture(scope="session", autouse=True)
def no_process_outlives_the_suite():
    """Torn down last: every process the session started must be gone by then."""
    yield
    import psutil

    if "test_notebooks" in sys.modules:  # the notebook executions and their gateways stop first
        sys.modules["test_notebooks"].close_runs()

    children = [p for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]
    described = hermetic.stop_all(hermetic.survivors(os.environ[hermetic.MARKER], extra=children))
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    assert not described, "processes started by the tests were still running (now stopped):\n" + "\n".join(described)


@pytest.fixture(scope="session")
def gateway():
    """Base URL (http://127.0.0.1:PORT) of a gateway with no API key required."""
    from llmkit.server.background import Gateway

    gw = Gateway().start()
    yield gw.url
    gw.stop()


@pytest.fixture(scope="session")
def oai(gateway):
    """The openai SDK on the gateway (no retries: a test sees the first answer)."""
    import openai

    return openai.OpenAI(base_url=gateway + "/v1", api_key="x", max_retries=0)


@pytest.fixture(scope="session")
def claude(gateway):
    """The anthropic SDK on the gateway."""
    import anthropic

    return anthropic.Anthropic(base_url=gateway, api_key="x", max_retries=0)


@pytest.fixture(scope="session")
def gemini(gateway):
    """The google-genai SDK on the gateway."""
    from google import genai
    from google.genai import types

    return genai.Client(api_key="x", http_options=types.HttpOptions(base_url=gateway))


@pytest.fixture(scope="session")
def secured_gateway():
    """Base URL of a gateway that requires the key "test-secret"."""
    from llmkit.server.background import Gateway

    gw = Gateway(api_key="test-secret").start()
    yield gw.url
    gw.stop()


@pytest.fixture()
def http(gateway):
    import httpx

    with httpx.Client(base_url=gateway, timeout=30) as client:
        yield client


def pytest_terminal_summary(terminalreporter):
    """Each notebook execution's wall and CPU time, slowest first (the 20 s rule is on CPU)."""
    lines = getattr(sys.modules.get("test_notebooks"), "last_report", None)
    if lines:
        terminalreporter.write_sep("=", f"notebook executions ({len(lines)}): wall, CPU (kernel + gateway)")
        for line in lines:
            terminalreporter.write_line(line)
