"""`ChatPanel`: a chat with any catalog model, inside a notebook.

    from llmkit.widgets import ChatPanel
    panel = ChatPanel(model="gpt-4o-mini", system="Answer briefly.", temperature=0.3)
    panel                                   # last expression of the cell: shows it
    panel.send("What is a token?", wait=True)
    panel.messages                          # [{"role": "system", ...}, {"role": "user", ...}, ...]

Replies stream in a worker thread (the kernel stays free; Stop works at once), redraws
are batched to 20 per second, errors become a message with a Retry button, and the
history (`messages`) only ever holds complete turns the SDKs accept.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as W

from ..lang import N_, t
from . import backend, render
from .composer import Composer
from .streaming import Job, Throttle

_HINT = N_("Enter sends · Shift+Enter adds a line")


@dataclass
class Entry:
    """One item of the conversation as shown: a user message, a reply, or an error."""

    role: str  # user | assistant | error
    content: str
    state: str = "done"  # streaming | done | stopped | error
    model: str | None = None
    figures: backend.Figures | None = None
    error: BaseException | None = None
    partial: str = ""  # an error's reply text that arrived before it
    widget: Any = field(default=None, repr=False)
    html: Any = field(default=None, repr=False)
    figs: Any = field(default=None, repr=False)
    retry: Any = field(default=None, repr=False)

    def as_dict(self) -> dict:
        d = {"role": self.role, "content": self.content, "state": self.state}
        if self.model:
            d["model"] = self.model
        if self.figures is not None:
            d["figures"] = self.figures.as_dict()
        if self.partial:
            d["partial"] = self.partial
        return d


class ChatPanel(W.VBox):
    """A chat panel: model picker, system prompt, temperature, max tokens, the conversation
    (Markdown), a message box (Enter sends), Send / Stop, Clear / Undo / Regenerate, export,
    per-reply figures and the session's totals."""

    def __init__(self, model: str | None = None, system: str | None = None, *,
                 temperature: float = 0.7, max_tokens: int = 1024, height: str = "420px", **params: Any):
        backend.ensure_setup()
        self.params = {k: v for k, v in params.items()}
        self.entries: list[Entry] = []
        self._job: Job | None = None
        self._lock = threading.RLock()
        self._throttle = Throttle(self._redraw)
        self.redraws = 0  # batched redraws of streaming text (for tests and the curious)

        model = model or backend.default_model()
        options = backend.chat_models()
        if model not in [v for _, v in options]:
            options.insert(0, (backend.label(model), model))
        self.model_picker = W.Dropdown(options=options, value=model, description=t("Model"),
                                       style={"description_width": "initial"}, layout=W.Layout(width="340px"))
        self.temperature = W.FloatSlider(value=temperature, min=0.0, max=2.0, step=0.1, description=t("Temperature"),
                                         readout_format=".1f", style={"description_width": "initial"},
                                         layout=W.Layout(width="260px"))
        self.max_tokens = W.BoundedIntText(value=max_tokens, min=1, max=1_000_000, description=t("Max tokens"),
                                           style={"description_width": "initial"}, layout=W.Layout(width="170px"))
        self.system = W.Textarea(value=system or "", placeholder=t("System prompt (optional)"), rows=2,
                                 layout=W.Layout(width="auto"))
        self._empty = W.HTML('<div class="llmkit-empty">' + t("Ask the model something.") + " " + t(_HINT) + ".</div>")
        self._list = W.VBox([self._empty], layout=W.Layout(width="100%", flex="0 0 auto"))
        self._list.add_class("llmkit-list")
        # column-reverse keeps the scroll position at the bottom while replies grow
        self.view = W.Box([self._list], layout=W.Layout(display="flex", flex_flow="column-reverse",
                                                        overflow="auto", max_height=height, min_height="90px"))
        self.view.add_class("llmkit-scroll")
        self.input = Composer(placeholder=t("Message…") + " (" + t(_HINT) + ")", rows=3, layout=W.Layout(flex="1 1 auto"))
        self.send_button = W.Button(description=t("Send"), button_style="primary", icon="paper-plane",
                                    tooltip=t("Send (Enter)"), layout=W.Layout(width="90px"))
        self.stop_button = W.Button(description=t("Stop"), icon="stop", disabled=True, tooltip=t("Stop the reply"),
                                    layout=W.Layout(width="90px"))
        self.clear_button = W.Button(description=t("Clear"), icon="trash", tooltip=t("Start over"),
                                     layout=W.Layout(width="auto"))
        self.undo_button = W.Button(description=t("Undo"), icon="undo", tooltip=t("Remove the last turn"),
                                    layout=W.Layout(width="auto"))
        self.regenerate_button = W.Button(description=t("Regenerate"), icon="refresh", tooltip=t("Ask for the last reply again"),
                                          layout=W.Layout(width="auto"))
        self.export_md_button = W.Button(description="Markdown", icon="download", tooltip=t("Save the chat as Markdown"),
                                         layout=W.Layout(width="auto"))
        self.export_json_button = W.Button(description="JSON", icon="download", tooltip=t("Save the chat as JSON"),
                                           layout=W.Layout(width="auto"))
        self.status = W.HTML(f'<div class="llmkit-footer">{t(_HINT)}</div>')
        self.totals = W.HTML("")

        self.input.on_submit(self._on_submit)
        self.send_button.on_click(lambda _b: self._on_submit(self.input.value))
        self.stop_button.on_click(lambda _b: self.stop())
        self.clear_button.on_click(lambda _b: self.clear())
        self.undo_button.on_click(lambda _b: self.undo())
        self.regenerate_button.on_click(lambda _b: self.regenerate())
        self.export_md_button.on_click(lambda _b: self.input.download(self._filename("md"), self.export("markdown"),
                                                                      "text/markdown"))
        self.export_json_button.on_click(lambda _b: self.input.download(self._filename("json"), self.export("json"),
                                                                        "application/json"))

        bar = W.HBox([self.model_picker, self.temperature, self.max_tokens])
        bar.add_class("llmkit-bar")
        row = W.HBox([self.input, W.VBox([self.send_button, self.stop_button])], layout=W.Layout(width="100%"))
        row.add_class("llmkit-bar")
        actions = W.HBox([self.clear_button, self.undo_button, self.regenerate_button,
                          W.HTML('<span class="llmkit-footer">' + t("export:") + '</span>'),
                          self.export_md_button, self.export_json_button])
        actions.add_class("llmkit-bar")
        super().__init__([bar, self.system, self.view, row, actions, W.HBox([self.status, self.totals],
                          layout=W.Layout(justify_content="space-between"))])
        self.add_class("llmkit-chat")
        self._show_totals()

    # ---- what code and lessons use ---------------------------------------------------------

    @property
    def model(self) -> str:
        return self.model_picker.value

    @model.setter
    def model(self, value: str) -> None:
        if value not in [v for _, v in self.model_picker.options]:
            self.model_picker.options = [(backend.label(value), value), *self.model_picker.options]
        self.model_picker.value = value

    @property
    def messages(self) -> list[dict]:
        """The history as the SDKs take it: system (if any), then complete user/assistant
        turns. Errors are never in it; a stopped reply is, as far as it got."""
        with self._lock:
            out = [{"role": "system", "content": self.system.value}] if self.system.value.strip() else []
            for e in self.entries:
                if e.role == "user" or (e.role == "assistant" and e.state in ("done", "stopped") and e.content):
                    out.append({"role": e.role, "content": e.content})
            return out

    @property
    def busy(self) -> bool:
        """Whether a reply is streaming now."""
        job = self._job
        return job is not None and job.running

    @property
    def last_reply(self) -> str | None:
        """The text of the last reply (complete or stopped), or None."""
        for e in reversed(self.entries):
            if e.role == "assistant":
                return e.content
        return None

    @property
    def last_error(self) -> str | None:
        for e in reversed(self.entries):
            if e.role == "error":
                return e.content
        return None

    @property
    def last_figures(self) -> dict | None:
        for e in reversed(self.entries):
            if e.figures is not None:
                return e.figures.as_dict()
        return None

    def send(self, text: str, wait: bool = False, timeout: float | None = None) -> None:
        """Send a user message (as if typed and sent). wait=True blocks until the reply ends."""
        text = (text or "").strip()
        if not text:
            return
        with self._lock:
            if self.busy:
                raise RuntimeError("a reply is still streaming: call stop() or wait() first")
            self._hide_retry()
            self._add(Entry("user", text))
            self._start()
        if wait:
            self.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the current reply ends (True) or `timeout` seconds pass (False)."""
        job = self._job
        return True if job is None else job.done.wait(timeout)

    async def wait_async(self, poll: float = 0.02) -> None:
        """`await panel.wait_async()`: the same, without blocking the event loop."""
        import asyncio

        job = self._job
        while job is not None and not job.done.is_set():
            await asyncio.sleep(poll)

    def stop(self) -> None:
        """End the streaming reply now, keeping what arrived (marked as stopped)."""
        job = self._job
        if job is not None:
            job.cancel()

    def clear(self) -> None:
        """Stop, and forget the whole conversation."""
        with self._lock:
            self.stop()
            self.entries.clear()
            self._sync_list()

    def undo(self) -> None:
        """Stop, and remove the last turn: the last user message and everything after it.
        Its text goes back into the message box (if that is empty)."""
        with self._lock:
            self.stop()
            idx = max((i for i, e in enumerate(self.entries) if e.role == "user"), default=None)
            if idx is None:
                return
            text = self.entries[idx].content
            del self.entries[idx:]
            if not self.input.value.strip():
                self.input.value = text
            self._sync_list()

    def regenerate(self) -> None:
        """Stop, drop the last reply (or error) and ask again for the same history."""
        with self._lock:
            self.stop()
            while self.entries and self.entries[-1].role != "user":
                self.entries.pop()
            self._sync_list()
            if self.entries:
                self._start()

    retry = regenerate

    def close(self) -> None:
        """Stop any reply, then close the panel's widgets."""
        self.stop()
        for e in self.entries:
            _close(e.widget)
        super().close()

    def load(self, messages: list[dict]) -> None:
        """Replace the conversation by `messages` (role/content dicts; a system message
        fills the system prompt)."""
        with self._lock:
            self.stop()
            self.entries.clear()
            for m in messages:
                role, content = m.get("role"), m.get("content") or ""
                if role == "system":
                    self.system.value = content
                elif role in ("user", "assistant"):
                    self._add(Entry(role, content, model=m.get("model")), sync=False)
            self._sync_list()

    def export(self, fmt: str = "markdown", path: str | None = None) -> str:
        """The conversation as Markdown or JSON (with the model, settings and per-reply
        figures); also written to `path` if given."""
        with self._lock:
            if fmt in ("json", "JSON"):
                out = json.dumps({"model": self.model, "system": self.system.value,
                                  "params": self._params(), "messages": self.messages,
                                  "entries": [e.as_dict() for e in self.entries]}, indent=2, ensure_ascii=False)
            elif fmt in ("markdown", "md"):
                lines = [f"# Chat with {self.model}", ""]
                if self.system.value.strip():
                    lines += ["**System:** " + self.system.value.strip(), ""]
                for e in self.entries:
                    head = {"user": "## You", "assistant": "## Assistant", "error": "## Error"}[e.role]
                    if e.role == "assistant" and e.state == "stopped":
                        head += " (stopped)"
                    lines += [head, "", e.content, ""]
                    if e.figures is not None:
                        f = e.figures
                        lines += [f"*{f.model}: {f.tokens_in} tokens in, {f.tokens_out} out, first token "
                                  f"{render.seconds(f.ttft)}, total {render.seconds(f.latency)}, "
                                  f"{render.money(f.cost, f.free)}*", ""]
                out = "\n".join(lines).rstrip() + "\n"
            else:
                raise ValueError("fmt is 'markdown' or 'json'")
        if path:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(out)
        return out

    # ---- inside --------------------------------------------------------------------------

    def _params(self) -> dict:
        p = dict(self.params)
        p["temperature"] = round(float(self.temperature.value), 3)
        p["max_tokens"] = int(self.max_tokens.value)
        return p

    def _filename(self, ext: str) -> str:
        return f"chat-{render.slug(self.model)}-{time.strftime('%Y%m%d-%H%M%S')}.{ext}"

    def _on_submit(self, text: str) -> None:
        if not (text or "").strip():
            return
        if self.busy:
            self._set_status(t("A reply is still streaming: wait for it, or press Stop."))
            return
        self.input.clear()
        self.send(text)

    def _entry_widget(self, e: Entry) -> None:
        e.html = W.HTML(layout=W.Layout(width="100%", flex="0 0 auto"))
        e.figs = W.HTML(layout=W.Layout(flex="0 0 auto"))
        children = [e.html, e.figs]
        if e.role == "error":
            e.retry = W.Button(description=t("Retry"), icon="refresh", button_style="warning", tooltip=t("Ask again"),
                               layout=W.Layout(width="96px", align_self="flex-start", margin="0 10px 6px 10px"))
            e.retry.on_click(lambda _b, e=e: self._retry(e))
            children.append(e.retry)
        e.widget = W.VBox(children, layout=W.Layout(width="100%", flex="0 0 auto"))  # never squeezed
        self._draw(e)

    def _draw(self, e: Entry) -> None:
        label = t("Assistant") if e.role != "assistant" or not e.model else f"{t('Assistant')} · {e.model}"
        body = render.bubble(e.role, e.content, state=e.state, label=label if e.role == "assistant" else None,
                             partial=e.partial)
        if e.html.value != body:
            e.html.value = body
        figs = render.figures(e.figures.as_dict() if e.figures else None, e.state)
        if e.figs.value != figs:
            e.figs.value = figs

    def _add(self, e: Entry, sync: bool = True) -> None:
        self._entry_widget(e)
        self.entries.append(e)
        if sync:
            self._sync_list()

    def _sync_list(self) -> None:
        keep = [e.widget for e in self.entries]
        for old in self._list.children:
            if old is not self._empty and old not in keep:
                _close(old)  # an entry that was removed: free its widgets in the front end
        self._list.children = keep or [self._empty]
        self._buttons()

    def _hide_retry(self) -> None:
        for e in self.entries:
            if e.retry is not None:
                e.retry.layout.display = "none"

    def _buttons(self) -> None:
        busy = self.busy
        self.send_button.disabled = busy
        self.stop_button.disabled = not busy
        has_user = any(e.role == "user" for e in self.entries)
        self.undo_button.disabled = not has_user
        self.regenerate_button.disabled = not has_user
        self.clear_button.disabled = not self.entries

    def _set_status(self, text: str) -> None:
        self.status.value = f'<div class="llmkit-footer">{render.plain(text)}</div>'

    def _show_totals(self) -> None:
        self.totals.value = render.session_line(backend.session_totals())

    def _start(self) -> None:
        """Stream a reply to the current history into a new assistant entry."""
        model = self.model
        entry = Entry("assistant", "", state="streaming", model=model)
        self._add(entry)
        job = Job(self.messages, model, self._params(), on_text=lambda j: self._throttle.touch(),
                  on_end=lambda j, entry=entry: self._finish(j, entry))
        job.entry = entry
        self._job = job
        self._buttons()
        self._set_status(t("{model} is answering… (Stop ends it)", model=model))
        job.start()

    def _redraw(self) -> None:
        """A batched redraw of the streaming reply (at most 20 per second)."""
        with self._lock:
            job = self._job
            if job is None or not job.running:
                return
            e = job.entry
            if e.content != job.text:
                e.content = job.text
                self._draw(e)
                self.redraws += 1

    def _finish(self, job: Job, e: Entry) -> None:
        with self._lock:
            self._throttle.discard()
            if job.state == "error":
                e.role, e.state = "error", "error"
                e.partial = job.text
                e.error = job.error
                e.content = render.describe_error(job.error, job.text)
                old = e.widget
                self._entry_widget(e)  # an error entry: same place, now with a Retry button
                if e in self.entries:
                    self._sync_list()
                _close(old)
                self._set_status(t("The call failed: the conversation is kept; press Retry to ask again."))
            else:
                e.state = job.state
                e.content = job.text
                e.figures = job.figures
                self._draw(e)
                self._set_status(t("Stopped: the partial reply is kept.") if job.state == "stopped" else t(_HINT))
                if job.state == "stopped" and job.figures is not None:
                    threading.Thread(target=self._count_stopped, args=(e, job), daemon=True).start()
            if self._job is job:
                self._job = None
            self._buttons()
            self._show_totals()

    def _count_stopped(self, e: Entry, job: Job) -> None:
        """A stopped reply has no usage from the provider: count its tokens here (off the
        kernel's thread: the first count may load a tokenizer)."""
        fig = backend.count_stopped(job.figures, job.messages, job.text)
        with self._lock:
            if e.figures is fig and e in self.entries:
                self._draw(e)

    def _retry(self, e: Entry) -> None:
        with self._lock:
            if self.busy or not self.entries or self.entries[-1] is not e:
                return
            self.regenerate()


def _close(widget) -> None:
    for child in getattr(widget, "children", ()):
        _close(child)
    try:
        widget.close()
    except Exception:
        pass
