"""Shared fixtures: a real gateway on loopback, started in the test process."""

from __future__ import annotations

import os

import pytest

import tempfile

os.environ.setdefault("LLMKIT_OFFLINE", "1")  # tests never reach a real provider
# created Ollama models go to a throw-away folder, never the user's real data folder
os.environ.setdefault("LLMKIT_DATA_DIR", tempfile.mkdtemp(prefix="llmkit-test-data-"))


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
