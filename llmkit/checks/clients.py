"""SDK clients pointed at the offline gateway, for checks to hand to the learner's code.

Checks always use the gateway (never a real provider, even when keys are set), so they
cost nothing, need no network and give the same answer every time.
"""

from __future__ import annotations

import os


def gateway() -> str:
    """Base URL of the offline gateway (started if it is not running yet)."""
    from ..startup import gateway_url

    return gateway_url()


def key() -> str:
    """What the checks send as an API key: the gateway's own key if it needs one."""
    return os.environ.get("LLMKIT_API_KEY") or "llmkit-checks"


def host_port() -> str:
    """The gateway as OLLAMA_HOST spells an address: 127.0.0.1:PORT."""
    return gateway().split("://", 1)[-1]


def openai():
    from openai import OpenAI

    return OpenAI(base_url=gateway() + "/v1", api_key=key(), max_retries=0)


def async_openai():
    from openai import AsyncOpenAI

    return AsyncOpenAI(base_url=gateway() + "/v1", api_key=key(), max_retries=0)


def anthropic():
    from anthropic import Anthropic

    return Anthropic(base_url=gateway(), api_key=key(), max_retries=0)


def gemini():
    from google import genai
    from google.genai import types

    return genai.Client(api_key=key(), http_options=types.HttpOptions(base_url=gateway()))


def groq():
    from groq import Groq

    return Groq(base_url=gateway(), api_key=key(), max_retries=0)


def ollama():
    from ollama import Client

    return Client(host=gateway())


def http():
    import httpx

    return httpx.Client(base_url=gateway(), headers={"Authorization": f"Bearer {key()}"}, timeout=30)
