"""The one table of providers: which variables hold their keys and base URLs, how a
gateway address is spelled for each SDK, and which module is the SDK.

setup() redirects with it, config reads keys with it, providers build clients and
decide "offline" with it, checks hand out gateway clients with it, the widgets list
providers in its order. Default model ids live in the catalog's data file
(`catalog.default_for`). Imports nothing heavy: `import llmkit` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

DUMMY_KEY = "llmkit-offline"  # what setup() puts in a key variable for the offline gateway
OLLAMA_DEFAULT = ("127.0.0.1", 11434)  # where a real Ollama listens


@dataclass(frozen=True)
class Endpoint:
    """One provider as its official SDK sees the environment."""

    provider: str
    sdk: str  # the import name of its official SDK
    key_vars: tuple[str, ...]  # variables the SDK reads its key from, preferred first ('' for none)
    base_var: str  # the variable the SDK reads its base URL (or host) from
    shape: str  # the base URL for a gateway at {url} (http://127.0.0.1:P) or {host_port} (127.0.0.1:P)
    more_vars: tuple[str, ...] = ()  # other variables that change where or how the SDK calls
    package: str = ""  # its distribution on PyPI, when not the import name (for `llmkit doctor`'s versions)
    token_var: str = ""  # no key variable: where the SDK reads a bearer token (a shared gateway's token)

    @property
    def distribution(self) -> str:
        return self.package or self.sdk

    @property
    def env(self) -> tuple[str, ...]:
        """Every variable whose change means a cached client must be rebuilt."""
        return self.key_vars + (self.base_var,) + self.more_vars + ((self.token_var,) if self.token_var else ())

    def base_url(self, url: str) -> str:
        """This SDK's base URL (or host) for the gateway at `url`."""
        url = url.rstrip("/")
        return self.shape.format(url=url, host_port=url.split("://", 1)[-1])

    def gateway_of(self, value: str) -> str:
        """The gateway's root URL from a value of this SDK's base-URL variable (base_url undone)."""
        value = value.strip().rstrip("/")
        value = value if "://" in value else "http://" + value
        suffix = self.shape.rsplit("}", 1)[1]  # "/v1" for OpenAI, "" for the others
        return value[:-len(suffix)] if suffix and value.endswith(suffix) else value

    def redirect(self, url: str) -> dict[str, str]:
        """The variables setup() sets so that the SDK, built with no arguments, calls the gateway."""
        out = {self.base_var: self.base_url(url)}
        if self.key_vars:
            out[self.key_vars[0]] = DUMMY_KEY
        return out


ENDPOINTS: dict[str, Endpoint] = {e.provider: e for e in (
    Endpoint("openai", "openai", ("OPENAI_API_KEY",), "OPENAI_BASE_URL", "{url}/v1",
             ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID")),
    Endpoint("anthropic", "anthropic", ("ANTHROPIC_API_KEY",), "ANTHROPIC_BASE_URL", "{url}",
             ("ANTHROPIC_AUTH_TOKEN",)),
    Endpoint("gemini", "google.genai", ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "GOOGLE_GEMINI_BASE_URL", "{url}",
             ("GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION",
              "GOOGLE_GENAI_API_VERSION"), "google-genai"),
    Endpoint("groq", "groq", ("GROQ_API_KEY",), "GROQ_BASE_URL", "{url}"),
    Endpoint("ollama", "ollama", (), "OLLAMA_HOST", "{host_port}", token_var="OLLAMA_API_KEY"),
)}
PROVIDERS = tuple(ENDPOINTS)  # the order setup() shows them and the default model is picked in


def endpoint(provider: str) -> Endpoint:
    """The table's row for a provider (KeyError names the known ones)."""
    try:
        return ENDPOINTS[provider]
    except KeyError:
        raise KeyError(f"unknown provider {provider!r} (known: {', '.join(PROVIDERS)})") from None
