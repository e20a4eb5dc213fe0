"""What llmkit.chat adds over the bare official SDK call, per provider, against a gateway
running in its own process (so the server does not share this process's CPU).

    python bench/client_overhead.py [--calls 200] [--max-tokens 16] [--providers openai,anthropic]

Each round makes one bare SDK call and one llmkit.chat call with the same request (order
alternating), so drift hits both alike. Prints the median of each, the median of the
paired differences, and that difference as a share of the bare call. Target: <= 5%.
Then llmkit's own work alone: llmkit.chat with the SDK call replaced by a response it
returned before (no network), so the figure is free of network and server noise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _util import start_gateway, table  # noqa: E402

Q = "What is a token?"
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "gemini": "gemini-2.5-flash",
          "groq": "llama-3.1-8b-instant", "ollama": "llama3.1"}


def bare_caller(provider: str, max_tokens: int):
    """The same request through the SDK alone, built as a lesson would (environment-driven)."""
    model, msgs = MODELS[provider], [{"role": "user", "content": Q}]
    if provider in ("openai", "groq"):
        import groq
        import openai

        c = openai.OpenAI(max_retries=0) if provider == "openai" else groq.Groq(max_retries=0)
        return lambda: c.chat.completions.create(model=model, messages=msgs, max_completion_tokens=max_tokens,
                                                 temperature=0, timeout=60).choices[0].message.content
    if provider == "anthropic":
        import anthropic

        c = anthropic.Anthropic(max_retries=0)
        return lambda: c.messages.create(model=model, messages=msgs, max_tokens=max_tokens,
                                         extra_body={"temperature": 0}, timeout=60).content[0].text
    if provider == "gemini":
        from google import genai
        from google.genai import types

        c = genai.Client(http_options=types.HttpOptions(retry_options=types.HttpRetryOptions(attempts=1)))
        contents = [{"role": "user", "parts": [{"text": Q}]}]
        return lambda: c.models.generate_content(model=model, contents=contents, config={
            "max_output_tokens": max_tokens, "temperature": 0, "http_options": {"timeout": 60000}}).text
    import ollama

    c = ollama.Client(timeout=60)
    options = {"num_predict": max_tokens, "temperature": 0}
    return lambda: c.chat(model=model, messages=msgs, options=options).message.content


def own_time(provider: str, max_tokens: int, n: int = 2000) -> float:
    """Median seconds llmkit.chat spends around the SDK call (which returns a canned reply)."""
    import llmkit
    from llmkit.providers import ADAPTERS

    adapter = ADAPTERS[provider]
    model = f"{provider}:{MODELS[provider]}"
    raw = llmkit.chat(Q, model=model, max_tokens=max_tokens, temperature=0).raw
    adapter.send = lambda client, req, timeout: raw  # instance attribute: shadows the method
    try:
        times = []
        for _ in range(n):
            t = time.perf_counter()
            llmkit.chat(Q, model=model, max_tokens=max_tokens, temperature=0)
            times.append(time.perf_counter() - t)
    finally:
        del adapter.send
    llmkit.ledger().reset()
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--max-tokens", type=int, default=16)
    p.add_argument("--providers", default=",".join(MODELS))
    args = p.parse_args()

    proc, url, _ = start_gateway()
    try:
        os.environ["LLMKIT_GATEWAY_URL"] = url
        import llmkit

        llmkit.setup(offline=True, quiet=True)
        rows = []
        for provider in args.providers.split(","):
            bare = bare_caller(provider, args.max_tokens)

            def kit(provider=provider):
                return llmkit.chat(Q, model=f"{provider}:{MODELS[provider]}", max_tokens=args.max_tokens,
                                   temperature=0).text

            assert bare() == kit(), "the two calls must ask for the same thing"
            for _ in range(10):  # warm both paths (imports, connections, first-call caches)
                bare(), kit()
            tb, tk, diff = [], [], []
            for i in range(args.calls):
                pair = []
                for fn, out in ((bare, tb), (kit, tk)) if i % 2 == 0 else ((kit, tk), (bare, tb)):
                    t = time.perf_counter()
                    fn()
                    out.append(time.perf_counter() - t)
                diff.append(tk[-1] - tb[-1])
            mb, mk, md = statistics.median(tb), statistics.median(tk), statistics.median(diff)
            own = own_time(provider, args.max_tokens)
            rows.append((provider, f"{mb * 1000:.2f} ms", f"{mk * 1000:.2f} ms", f"{md * 1e6:+.0f} us",
                         f"{md / mb * 100:+.1f}%", f"{own * 1e6:.0f} us", f"{own / mb * 100:.1f}%"))
        print(f"llmkit.chat vs the bare SDK call, {args.calls} calls each, max_tokens={args.max_tokens}, "
              f"gateway in its own process ({url})")
        print(table(rows, ("provider", "bare SDK (median)", "llmkit.chat (median)", "paired diff (median)",
                           "overhead", "llmkit's own work", "of the bare call")))
        print("target: llmkit.chat <= 5% over the bare SDK call")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
