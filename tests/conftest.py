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


@pytest.fixture(scope="session", autouse=True)
def no_process_outlives_the_suite():
    """Torn down last: every process the session started must be gone by then."""
    yield
    import psutil

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
