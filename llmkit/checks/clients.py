"""SDK clients pointed at the offline gateway, for checks to hand to the learner's code.

Checks always use the gateway (never a real provider, even when keys are set), so they
cost nothing, need no network and give the same answer every time.
"""

from __future__ import annotations

import functools
import os

from ..endpoints import ENDPOINTS


def gateway() -> str:
    """Base URL of the offline gateway (started if it is not running yet)."""
    from ..startup import gateway_url

    return gateway_url()


def key() -> str:
    """What the checks send as an API key: the gateway's own key if it needs one."""
    return os.environ.get("LLMKIT_API_KEY") or "llmkit-checks"


def host_port() -> str:
    """The gateway as OLLAMA_HOST spells an address: 127.0.0.1:PORT."""
    return base("ollama")


def base(provider: str) -> str:
    """The gateway's address as this provider's SDK takes it (the provider table's shape)."""
    return ENDPOINTS[provider].base_url(gateway())


@functools.cache
def tls():
    """One TLS context for every client the checks build. Each SDK client otherwise loads the CA
    bundle into a context of its own (~40 ms of CPU; a Gemini client three), for a gateway that is
    plain HTTP on loopback: a check builds several, and the test suite thousands."""
    import ssl

    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def openai():
    from openai import DefaultHttpxClient, OpenAI

    return OpenAI(base_url=base("openai"), api_key=key(), max_retries=0, http_client=DefaultHttpxClient(verify=tls()))


def async_openai():
    from openai import AsyncOpenAI, DefaultAsyncHttpxClient

    return AsyncOpenAI(base_url=base("openai"), api_key=key(), max_retries=0,
                       http_client=DefaultAsyncHttpxClient(verify=tls()))


def anthropic(*, split_text: bool = False):
    """An Anthropic client on the gateway. With split_text, a reply's text comes in two text
    blocks, as real replies often do (citations, text around a tool call), so a check can tell
    code that reads every block from code that reads `content[0]` only."""
    from anthropic import Anthropic, DefaultHttpxClient

    http_client = DefaultHttpxClient(transport=_SplitTextBlocks()) if split_text else DefaultHttpxClient(verify=tls())
    return Anthropic(base_url=base("anthropic"), api_key=key(), max_retries=0, http_client=http_client)


def _split(text: str) -> list[str]:
    """Two pieces, cut after the first sentence (or at the middle word boundary)."""
    cut = text.find(". ") + 2 if 0 < text.find(". ") < len(text) - 2 else text.rfind(" ", 0, len(text) // 2 + 1)
    return [text[:cut], text[cut:]] if 0 < cut < len(text) else [text]


def _SplitTextBlocks():
    import json

    import httpx2

    class SplitTextBlocks(httpx2.HTTPTransport):
        """Rewrites a non-streamed Messages reply: one text block becomes two, same text."""

        def handle_request(self, request):
            response = super().handle_request(request)
            if not request.url.path.endswith("/v1/messages") or response.status_code != 200:
                return response
            response.read()
            try:
                data = json.loads(response.content)
            except ValueError:
                return response
            blocks = []
            for block in data.get("content") or []:
                if block.get("type") == "text" and len(_split(block.get("text", ""))) == 2:
                    blocks += [{**block, "text": piece} for piece in _split(block["text"])]
                else:
                    blocks.append(block)
            data["content"] = blocks
            headers = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-length",
                                                                                       "content-encoding")]
            return httpx2.Response(response.status_code, headers=headers, content=json.dumps(data).encode(),
                                   request=request, extensions=response.extensions)

    return SplitTextBlocks(verify=tls())


def gemini():
    from google import genai
    from google.genai import types

    return genai.Client(api_key=key(), http_options=types.HttpOptions(
        base_url=base("gemini"), client_args={"verify": tls()}, async_client_args={"verify": tls(), "ssl": tls()}))


def groq():
    from groq import DefaultHttpxClient, Groq

    return Groq(base_url=base("groq"), api_key=key(), max_retries=0, http_client=DefaultHttpxClient(verify=tls()))


def ollama():
    from ollama import Client

    return Client(host=base("ollama"), verify=tls())


def http():
    import httpx

    return httpx.Client(base_url=gateway(), headers={"Authorization": f"Bearer {key()}"}, timeout=30, verify=tls())
