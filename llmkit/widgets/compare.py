"""`ComparePanel`: one prompt, several models at once, replies streaming side by side.

    from llmkit.widgets import ComparePanel
    ComparePanel(models=["gpt-4o-mini", "claude-haiku-4-5", "llmkit-offline"])

Each column shows its model (live or offline), the reply as it streams, then its tokens,
time to first token, total time and cost. `panel.results` has the same as data.
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as W

from ..lang import t
from . import backend, render
from .composer import Composer
from .streaming import Job, Throttle


class _Column:
    def __init__(self, model: str):
        self.model = model
        mode = backend.label(model)[len(model) + 3:]  # "openai · live", "offline", ...
        self.head = W.HTML(f'<div class="llmkit-colhead">{html.escape(model)} '
                           f'<span class="llmkit-mode">{html.escape(mode)}</span></div>')
        self.body = W.HTML('<div class="llmkit-msg llmkit-assistant"><div class="llmkit-empty">'
                           + t('waiting for a prompt') + '</div></div>')
        self.figs = W.HTML("")
        self.widget = W.VBox([self.head, self.body, self.figs],
                             layout=W.Layout(flex="1 1 0", min_width="220px", margin="2px"))
        self.widget.add_class("llmkit-col")
        self.job: Job | None = None
        self.state = "idle"
        self.text = ""
        self.figures: backend.Figures | None = None
        self.error: BaseException | None = None
        self.error_text: str | None = None

    def draw(self) -> None:
        if self.state == "error":
            body = render.bubble("error", self.error_text or "", state="error", partial=self.text)
        else:
            body = render.bubble("assistant", self.text, state=self.state, label="Reply")
        if self.body.value != body:
            self.body.value = body
        figs = render.figures(self.figures.as_dict() if self.figures else None, self.state)
        if self.figs.value != figs:
            self.figs.value = figs

    def result(self) -> dict:
        return {"text": self.text, "state": self.state,
                "figures": self.figures.as_dict() if self.figures else None, "error": self.error_text}


class ComparePanel(W.VBox):
    """Send one prompt to several models at once and watch the replies side by side."""

    def __init__(self, models: list[str] | None = None, system: str | None = None, *,
                 temperature: float = 0.7, max_tokens: int = 512, **params: Any):
        backend.ensure_setup()
        models = list(models or _default_models())
        if not models:
            raise ValueError("ComparePanel needs at least one model")
        self.params = dict(params)
        self._lock = threading.RLock()
        self._throttle = Throttle(self._redraw)
        self.redraws = 0
        self.columns = [_Column(m) for m in models]
        self.prompt = ""
        self.system = W.Textarea(value=system or "", placeholder=t("System prompt (optional, for every model)"),
                                 rows=1, layout=W.Layout(width="auto"))
        self.temperature = W.FloatSlider(value=temperature, min=0.0, max=2.0, step=0.1, description=t("Temperature"),
                                         readout_format=".1f", style={"description_width": "initial"},
                                         layout=W.Layout(width="260px"))
        self.max_tokens = W.BoundedIntText(value=max_tokens, min=1, max=1_000_000, description=t("Max tokens"),
                                           style={"description_width": "initial"}, layout=W.Layout(width="170px"))
        self.input = Composer(placeholder=t("One prompt for every model…") + " (" + t("Enter sends · Shift+Enter adds a line") + ")",
                              rows=2, layout=W.Layout(flex="1 1 auto"))
        self.send_button = W.Button(description=t("Send"), button_style="primary", icon="paper-plane",
                                    layout=W.Layout(width="90px"))
        self.stop_button = W.Button(description=t("Stop"), icon="stop", disabled=True, layout=W.Layout(width="90px"))
        self.totals = W.HTML("")
        self.shown_prompt = W.HTML("")
        self.shown_prompt.add_class("llmkit-prompt")
        self.input.on_submit(self._on_submit)
        self.send_button.on_click(lambda _b: self._on_submit(self.input.value))
        self.stop_button.on_click(lambda _b: self.stop())
        bar = W.HBox([self.temperature, self.max_tokens])
        bar.add_class("llmkit-bar")
        row = W.HBox([self.input, W.VBox([self.send_button, self.stop_button])], layout=W.Layout(width="100%"))
        row.add_class("llmkit-bar")
        grid = W.HBox([c.widget for c in self.columns], layout=W.Layout(flex_flow="row wrap", width="100%"))
        super().__init__([bar, self.system, row, self.shown_prompt, grid, self.totals])
        self.add_class("llmkit-chat")
        self.add_class("llmkit-compare")
        self._show_totals()

    @property
    def models(self) -> list[str]:
        return [c.model for c in self.columns]

    @property
    def busy(self) -> bool:
        return any(c.job is not None and c.job.running for c in self.columns)

    @property
    def results(self) -> dict[str, dict]:
        """model -> {"text", "state", "figures", "error"} for the last prompt."""
        with self._lock:
            return {c.model: c.result() for c in self.columns}

    @property
    def messages(self) -> list[dict]:
        """What the last prompt sent to every model (role/content dicts)."""
        return self._messages(self.prompt) if self.prompt else []

    def _messages(self, prompt: str) -> list[dict]:
        sys = [{"role": "system", "content": self.system.value}] if self.system.value.strip() else []
        return sys + [{"role": "user", "content": prompt}]

    def send(self, prompt: str, wait: bool = False, timeout: float | None = None) -> None:
        """Send `prompt` to every model at once; wait=True blocks until all have finished."""
        prompt = (prompt or "").strip()
        if not prompt:
            return
        with self._lock:
            if self.busy:
                raise RuntimeError("replies are still streaming: call stop() or wait() first")
            self.prompt = prompt
            self.shown_prompt.value = render.bubble("user", prompt, label=t("Prompt"))
            params = dict(self.params, temperature=round(float(self.temperature.value), 3),
                          max_tokens=int(self.max_tokens.value))
            for c in self.columns:
                c.state, c.text, c.figures, c.error, c.error_text = "streaming", "", None, None, None
                c.draw()
                c.job = Job(self._messages(prompt), c.model, params, on_text=lambda j: self._throttle.touch(),
                            on_end=lambda j, c=c: self._finish(c, j))
            self._buttons()
            for c in self.columns:
                c.job.start()
        if wait:
            self.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every reply has ended (True), or `timeout` seconds pass (False)."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        for c in self.columns:
            job = c.job
            if job is None:
                continue
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not job.done.wait(left):
                return False
        return True

    def stop(self) -> None:
        """Stop every reply still streaming, keeping what arrived."""
        for c in self.columns:
            if c.job is not None:
                c.job.cancel()

    def close(self) -> None:
        """Stop every reply, then close the panel's widgets."""
        self.stop()
        super().close()

    def _on_submit(self, text: str) -> None:
        if not (text or "").strip() or self.busy:
            return
        self.input.clear()
        self.send(text)

    def _buttons(self) -> None:
        busy = self.busy
        self.send_button.disabled = busy
        self.stop_button.disabled = not busy

    def _show_totals(self) -> None:
        self.totals.value = render.session_line(backend.session_totals())

    def _redraw(self) -> None:
        with self._lock:
            for c in self.columns:
                if c.job is not None and c.job.running and c.text != c.job.text:
                    c.text = c.job.text
                    c.draw()
                    self.redraws += 1

    def _count_stopped(self, c: _Column, job: Job) -> None:
        fig = backend.count_stopped(job.figures, job.messages, job.text)
        with self._lock:
            if c.job is job:
                c.figures = fig
                c.draw()

    def _finish(self, c: _Column, job: Job) -> None:
        with self._lock:
            if c.job is not job:
                return
            c.state, c.text, c.figures = job.state, job.text, job.figures
            if job.state == "error":
                c.error = job.error
                c.error_text = render.describe_error(job.error)
            c.draw()
            if job.state == "stopped" and job.figures is not None:
                threading.Thread(target=self._count_stopped, args=(c, job), daemon=True).start()
            self._buttons()
            self._show_totals()


def _default_models() -> list[str]:
    from .. import catalog

    picks = [catalog.default_for(p) for p in ("openai", "anthropic", "gemini")]
    return [m for m in picks if catalog.find(m)] or [catalog.default_for("offline")]
