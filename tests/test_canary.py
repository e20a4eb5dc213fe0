"""No API key ever reaches a notebook's output.

Every lesson, exercise and solution notebook is executed with recognisable fake keys in the
environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, GOOGLE_API_KEY,
GROQ_API_KEY, LLMKIT_API_KEY: random per session, see test_notebooks.CANARY_KEYS) and
LLMKIT_OFFLINE=1, so the SDKs carry those keys to the local gateway exactly as they would
carry real ones to a provider. Then no key, and no 12 consecutive characters of one, may
appear in any output of the executed notebook (the whole saved file is searched: outputs,
tracebacks, metadata), nor in what the kernel and the gateway serving it printed. The
executions are the ones test_notebooks.py makes, shared.
"""

from __future__ import annotations

import pytest

from test_notebooks import CANARY_KEYS, NOTEBOOKS, ROOT, notebook_runs  # noqa: F401 (fixture)

WINDOW = 12


def leaks(text: str) -> list[str]:
    """Names of the canary keys of which some 12 consecutive characters occur in `text`."""
    found = []
    for name, key in CANARY_KEYS.items():
        if any(key[i:i + WINDOW] in text for i in range(len(key) - WINDOW + 1)):
            found.append(name)
    return found


def test_the_canaries_are_recognisable():
    assert len(set(CANARY_KEYS.values())) == len(CANARY_KEYS)
    assert all(len(k) >= 30 for k in CANARY_KEYS.values())
    assert leaks("header: Bearer " + CANARY_KEYS["GROQ_API_KEY"][3:18]) == ["GROQ_API_KEY"]
    assert leaks("sk-proj-...abcd " + CANARY_KEYS["OPENAI_API_KEY"][:10]) == []  # a masked key is fine


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_no_key_in_any_output(path, notebook_runs):  # noqa: F811
    run = notebook_runs.get(path)
    assert run["nb"] is not None, run["log"][-2000:]
    saved = run["out"].read_text(encoding="utf-8")
    assert not leaks(saved), f"{path.name}: a key (or part of one) is in the executed notebook"
    assert not leaks(run["log"]), f"{path.name}: a key (or part of one) is in what its kernel or gateway printed"
    # the keys really were there to leak: the notebook ran with them (its setup() kept them, and its
    # table says why offline was forced, in code words a translation keeps)
    assert any(s in saved for s in ("offline forced", "LLMKIT_OFFLINE=1", "setup(offline=True)"))
