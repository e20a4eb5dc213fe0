"""The chat widgets driven from Python (no browser) against the offline gateway:
streaming, Stop, errors and Retry, Undo / Regenerate / Clear, export, the comparison
panel's figures, and the batching of display updates."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

import llmkit
from llmkit import faults

pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget")


def until(cond, timeout: float = 20.0, every: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture()
def offline():
    llmkit.setup(offline=True, quiet=True)
    faults.clear()
    yield
    faults.clear()


@pytest.fixture()
def panel(offline):
    from llmkit.widgets import ChatPanel

    p = ChatPanel(model="llmkit-offline", system="Answer briefly.", seed=7)
    yield p
    p.stop()
    p.close()


def test_import_llmkit_widgets_imports_no_ipywidgets():
    code = ("import sys, llmkit, llmkit.widgets; "
            "print([m for m in ('ipywidgets', 'anywidget', 'openai', 'markdown', 'mistune') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_streaming_fills_the_view(panel):
    assert panel.messages == [{"role": "system", "content": "Answer briefly."}]
    panel.send("What is a token?", wait=True, timeout=30)
    user, reply = panel.entries
    assert (user.role, user.content) == ("user", "What is a token?")
    assert reply.role == "assistant" and reply.state == "done" and "token" in reply.content.lower()
    assert reply.content.split()[0] in reply.html.value  # the text is on screen, rendered
    assert 'data-state="done"' in reply.html.value
    f = panel.last_figures
    assert f["tokens_in"] > 0 and f["tokens_out"] > 0 and f["free"] is True
    assert 0 <= f["ttft"] <= f["latency"]
    assert "tokens in" in reply.figs.value and "first token" in reply.figs.value and "free/offline" in reply.figs.value
    assert panel.messages == [{"role": "system", "content": "Answer briefly."},
                              {"role": "user", "content": "What is a token?"},
                              {"role": "assistant", "content": reply.content}]
    assert "session:" in panel.totals.value and "call" in panel.totals.value
    assert not panel.busy and not panel.send_button.disabled and panel.stop_button.disabled


def test_enter_in_the_message_box_sends_and_clears_it(panel):
    panel.input.value = "What is temperature?"
    panel.input._on_msg(panel.input, {"event": "submit", "value": "What is temperature?"}, [])  # what Enter sends
    assert panel.input.value == ""
    panel.wait(30)
    assert panel.messages[1] == {"role": "user", "content": "What is temperature?"}
    assert panel.last_reply
    # the Send button does the same
    panel.input.value = "And top_p?"
    panel.send_button.click()
    panel.wait(30)
    assert [m["role"] for m in panel.messages] == ["system", "user", "assistant", "user", "assistant"]
    # an empty box sends nothing
    panel.input.value = "   \n"
    panel.send_button.click()
    assert len(panel.entries) == 4


def test_parameters_and_model_picker(panel):
    labels = dict((v, k) for k, v in panel.model_picker.options)
    assert labels["llmkit-offline"].endswith("offline")
    assert all(lab.endswith(("live", "offline")) for lab in labels.values())
    assert "gpt-4o-mini" in labels
    panel.temperature.value = 0.0
    panel.max_tokens.value = 5
    panel.model = "gpt-4o-mini"
    panel.send("Explain what an API is in detail.", wait=True, timeout=30)
    f = panel.last_figures
    assert f["model"] == "gpt-4o-mini" and f["tokens_out"] <= 5 and f["finish_reason"] == "length"
    assert "cut at max tokens" in panel.entries[-1].figs.value
    assert f["would_cost"] and f["would_cost"] > 0  # offline: free, with the live list price shown
    assert "free/offline (live: $" in panel.entries[-1].figs.value


def test_model_picker_marks_live_models(offline, monkeypatch):
    from llmkit.widgets import backend

    st = llmkit.status()
    monkeypatch.setattr(type(st), "live", lambda self, p: p == "openai")
    labels = dict((v, k) for k, v in backend.chat_models())
    assert labels["gpt-4o-mini"].endswith("live") and labels["claude-haiku-4-5"].endswith("offline")
    assert labels["llmkit-offline"].endswith("offline")
    assert backend.chat_models()[0][0].endswith("live")  # live ones first


def test_stop_mid_stream_keeps_the_partial_reply(panel):
    faults.inject("slow", times=1, delay=0.15)
    t = time.perf_counter()
    panel.send("What is a token?")
    assert time.perf_counter() - t < 0.5  # send() returns at once: the reply streams in a thread
    reply = panel.entries[-1]
    assert panel.busy and panel.stop_button.disabled is False and panel.send_button.disabled is True
    until(lambda: reply.content)  # some text streamed in
    t = time.perf_counter()
    panel.stop()
    assert time.perf_counter() - t < 0.25  # at once, whatever the network does (next chunk: 0.15 s away)
    assert reply.state == "stopped" and not panel.busy
    partial = reply.content
    assert partial and 'data-state="stopped"' in reply.html.value and "stopped" in reply.figs.value
    until(lambda: "≈" in reply.figs.value)  # no usage from the provider: tokens counted here
    assert reply.figures.tokens_out > 0 and reply.figures.counted
    time.sleep(0.5)  # the worker sees the stop at its next chunk and lets go
    assert reply.content == partial
    assert panel.messages[-1] == {"role": "assistant", "content": partial}
    # the conversation goes on from there
    panel.send("Thanks. What is a prompt?", wait=True, timeout=30)
    assert [m["role"] for m in panel.messages] == ["system", "user", "assistant", "user", "assistant"]
    assert panel.messages[2]["content"] == partial


def test_stop_before_any_text(panel):
    faults.inject("timeout", times=1, delay=3)
    panel.send("What is a token?")
    time.sleep(0.1)
    panel.stop()
    assert panel.entries[-1].state == "stopped" and panel.entries[-1].content == ""
    assert panel.messages[-1] == {"role": "user", "content": "What is a token?"}  # no empty reply in history
    faults.clear()


@pytest.mark.parametrize("kind, words", [("rate_limit", "Rate limited (429"),
                                         ("auth", "Authentication failed (401"),
                                         ("cut", "Connection lost")])
def test_errors_show_a_message_and_keep_the_history(panel, kind, words):
    panel.send("What is a token?", wait=True, timeout=30)
    before = panel.messages
    faults.inject(kind, times=20, retry_after=0 if kind == "rate_limit" else None)
    panel.send("What is a model?", wait=True, timeout=60)
    err = panel.entries[-1]
    assert err.role == "error" and err.state == "error"
    assert words in err.content, err.content
    assert "Traceback" not in err.content
    assert 'data-role="error"' in err.html.value
    assert err.retry is not None and err.retry.layout.display != "none"
    assert panel.messages == before + [{"role": "user", "content": "What is a model?"}]
    if kind == "cut":
        assert err.partial and "broke off" in err.content  # what arrived is shown, not kept as a reply
    faults.clear()
    err.retry.click()  # Retry: the same history, asked again
    panel.wait(30)
    assert panel.entries[-1].role == "assistant" and panel.entries[-1].state == "done"
    assert panel.messages[:-1] == before + [{"role": "user", "content": "What is a model?"}]
    assert all(e.role != "error" for e in panel.entries)


def test_timeout_error(offline):
    from llmkit.widgets import ChatPanel

    p = ChatPanel(model="llmkit-offline", timeout=0.5, retries=0)
    faults.inject("timeout", times=20, delay=5)
    p.send("What is a token?", wait=True, timeout=60)
    assert p.entries[-1].role == "error" and "Timed out" in p.entries[-1].content
    assert p.messages == [{"role": "user", "content": "What is a token?"}]
    faults.clear()


def test_undo_regenerate_clear(panel):
    panel.send("What is a token?", wait=True, timeout=30)
    panel.send("What is temperature?", wait=True, timeout=30)
    assert len(panel.messages) == 5
    panel.temperature.value = 1.5
    first = panel.entries[-1]
    panel.regenerate()
    panel.wait(30)
    assert len(panel.entries) == 4 and panel.entries[-1] is not first and panel.entries[-1].state == "done"
    assert panel.messages[3] == {"role": "user", "content": "What is temperature?"}
    panel.undo()
    assert panel.messages == [{"role": "system", "content": "Answer briefly."},
                              {"role": "user", "content": "What is a token?"},
                              {"role": "assistant", "content": panel.entries[1].content}]
    assert panel.input.value == "What is temperature?"  # back in the box, to edit and resend
    # undo while streaming stops the reply first
    faults.inject("slow", times=1, delay=0.2)
    panel.input.value = ""
    panel.send("What is a prompt?")
    panel.undo()
    assert not panel.busy and len(panel.messages) == 3
    panel.clear()
    assert panel.entries == [] and panel.messages == [{"role": "system", "content": "Answer briefly."}]
    assert panel.undo_button.disabled and panel.regenerate_button.disabled


def test_send_while_streaming(panel):
    faults.inject("slow", times=1, delay=0.2)
    panel.send("What is a token?")
    with pytest.raises(RuntimeError, match="still streaming"):
        panel.send("again")
    panel.input.value = "typed meanwhile"
    panel.send_button.click()  # ignored, and the text stays in the box
    assert panel.input.value == "typed meanwhile" and "still streaming" in panel.status.value
    panel.stop()


def test_export_and_load(panel, tmp_path):
    panel.send("What is a token?", wait=True, timeout=30)
    md = panel.export("markdown", path=tmp_path / "chat.md")
    assert md.startswith("# Chat with llmkit-offline") and "## You\n\nWhat is a token?" in md
    assert "tokens in" in md and (tmp_path / "chat.md").read_text() == md
    data = json.loads(panel.export("json"))
    assert data["messages"] == panel.messages and data["params"]["max_tokens"] == 1024
    assert data["entries"][1]["figures"]["tokens_out"] > 0
    other = type(panel)(model="llmkit-offline")
    other.load(panel.messages)
    assert other.messages == panel.messages and other.system.value == "Answer briefly."
    sent = []
    other.input.download = lambda name, content, mime: sent.append((name, mime, content))
    other.export_md_button.click()
    other.export_json_button.click()
    assert sent[0][0].endswith(".md") and sent[1][1] == "application/json" and json.loads(sent[1][2])


def test_markdown_is_rendered_and_html_escaped():
    from llmkit.widgets import render

    out = render.markdown("Use **bold**.\n\n```python\nprint('hi')\n```\n\n<script>alert(1)</script> "
                          "[x](javascript:alert) <img src=x onerror=alert(1)>")
    assert "<strong>bold</strong>" in out and "<pre><code" in out and "print" in out
    assert "<script>" not in out and "&lt;script&gt;" in out and 'href="javascript' not in out
    assert "<img" not in out
    user = render.bubble("user", "<b>hi</b>\nthere")
    assert "&lt;b&gt;hi&lt;/b&gt;<br>there" in user
    streaming = render.bubble("assistant", "```py\nx = 1", state="streaming")  # an unclosed fence mid-stream
    assert "<pre><code" in streaming and "llmkit-cursor" in streaming


def test_updates_are_batched(panel):
    """A reply streamed in many small chunks gives at most ~20 redraws per second."""
    faults.inject("slow", times=1, delay=0.01)
    panel.max_tokens.value = 400
    changes = []
    panel.send("Explain tokens, temperature and streaming in detail.")
    reply = panel.entries[-1]
    reply.html.observe(lambda ch: changes.append(time.monotonic()), "value")
    t0 = time.monotonic()
    panel.wait(30)
    elapsed = time.monotonic() - t0
    chunks = panel.last_figures["tokens_out"]
    assert chunks >= 25 and elapsed > 0.25, (chunks, elapsed)  # however long the model's answer, many chunks
    assert len(changes) <= elapsed * 20 + 3, (len(changes), elapsed)
    assert len(changes) < chunks / 2  # many chunks per redraw
    gaps = sorted(b - a for a, b in zip(changes, changes[1:-1]))  # the last one is the final state
    assert gaps and gaps[len(gaps) // 2] >= 0.045, gaps


def test_compare_panel(offline):
    from llmkit.widgets import ComparePanel

    cp = ComparePanel(models=["llmkit-offline", "gpt-4o-mini", "claude-haiku-4-5"], system="Be brief.")
    assert [c.model for c in cp.columns] == cp.models
    assert all("offline" in c.head.value for c in cp.columns)
    faults.inject("slow", times=3, delay=0.02)
    t = time.monotonic()
    cp.send("What is a token?")
    until(lambda: all(c.job.text for c in cp.columns))  # all three stream at once
    cp.wait(30)
    elapsed = time.monotonic() - t
    res = cp.results
    assert cp.messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is a token?"}]
    assert "What is a token?" in cp.shown_prompt.value
    assert set(res) == set(cp.models)
    lat = []
    for model, r in res.items():
        assert r["state"] == "done" and r["text"], (model, r)
        f = r["figures"]
        assert f["model"] == model and f["tokens_in"] > 0 and f["tokens_out"] > 0 and f["free"]
        lat.append(f["latency"])
    assert elapsed < sum(lat)  # side by side, not one after the other
    for c in cp.columns:
        assert "tokens in" in c.figs.value and "first token" in c.figs.value and "free/offline" in c.figs.value
    assert res["gpt-4o-mini"]["figures"]["would_cost"] > 0
    # one model failing does not spoil the others
    faults.inject("auth", times=1, provider="anthropic")
    cp.send("What is temperature?", wait=True, timeout=30)
    res = cp.results
    assert res["claude-haiku-4-5"]["state"] in ("done", "error")
    assert res["llmkit-offline"]["state"] == "done"
    faults.clear()
    # Stop stops every column
    faults.inject("slow", times=3, delay=0.2)
    cp.send("What is a prompt?")
    until(lambda: any(c.job.text for c in cp.columns))
    cp.stop()
    assert {r["state"] for r in cp.results.values()} == {"stopped"} and not cp.busy
    cp.close()


def test_standalone_page_code(tmp_path):
    from llmkit.widgets import standalone

    code = standalone.panel_code("gpt-4o-mini", "Be brief.", cwd=str(tmp_path))
    assert "ChatPanel(model='gpt-4o-mini', system='Be brief.')" in code and "llmkit.setup(quiet=True)" in code
    nb = standalone.write_notebook(tmp_path, code)
    assert json.loads(nb.read_text())["cells"][0]["source"] == code
    cmd = standalone.voila_command(nb, "127.0.0.1", 8866, False)
    assert "--no-browser" in cmd and "--strip_sources=True" in cmd
    out = subprocess.run([sys.executable, "-m", "llmkit", "ui", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--compare" in out.stdout


def test_panel_totals_and_errors_through_llmkit_client(offline):
    """The panel's reply, session totals (llmkit's ledger) and an SDK error, all through llmkit.client."""
    from llmkit.widgets import ChatPanel

    p = ChatPanel(model="llmkit-offline", retries=0)
    p.send("What is a token?", wait=True, timeout=30)
    assert p.entries[-1].state == "done" and p.last_figures["tokens_out"] > 0
    assert "session: " in p.totals.value and " call" in p.totals.value
    faults.inject("auth", times=5)
    p.send("What is a model?", wait=True, timeout=30)
    assert "Authentication failed (401" in p.last_error
    faults.clear()
    p.close()
