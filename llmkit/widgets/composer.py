"""The message box: a multi-line text area where Enter sends and Shift+Enter adds a line.

An `anywidget` widget (a few lines of JavaScript, no build step; it works in JupyterLab,
Notebook 7, Voilà, VS Code and Colab). Python side: `value`, `placeholder`, `disabled`,
`rows` like ipywidgets.Textarea, plus `on_submit(callback)` and `submit()` (what Enter
does, for code and tests). It also carries the panel's downloads (`download()`).
"""

from __future__ import annotations

import base64
from typing import Callable

import anywidget
import traitlets

from . import render

_ESM = r"""
function render({ model, el }) {
  const ta = document.createElement("textarea");
  ta.className = "llmkit-input";
  let submitted = null;  // the text last sent with Enter, until the user types again
  const sync = () => {
    const v = model.get("value");
    if (submitted !== null && v === submitted && ta.value === "") {
      // a late echo of the text typed before Enter (sent after the submit message when the
      // kernel was busy) must not bring a sent message back into the emptied box
      model.set("value", "");
      model.save_changes();
    } else if (ta.value !== v) {
      ta.value = v;
    }
    ta.placeholder = model.get("placeholder");
    ta.disabled = model.get("disabled");
    ta.rows = model.get("rows");
  };
  sync();
  model.on("change:value", sync);
  model.on("change:placeholder", sync);
  model.on("change:disabled", sync);
  model.on("change:rows", sync);
  ta.addEventListener("input", () => { submitted = null; model.set("value", ta.value); model.save_changes(); });
  ta.addEventListener("keydown", (e) => {
    // keep JupyterLab's own shortcuts (Shift+Enter runs the cell, A/B/D D, ...) out of the box
    e.stopPropagation();
    if (e.key === "Enter" && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
      e.preventDefault();
      submitted = ta.value;
      model.set("value", ta.value);
      model.save_changes();
      model.send({ event: "submit", value: ta.value });
    }
  });
  model.on("msg:custom", (msg) => {
    if (msg && msg.event === "focus") ta.focus();
    if (msg && msg.event === "clear") {  // a message, not only value="": a sync can lose the race with typing echoes
      ta.value = "";
      model.set("value", "");
      model.save_changes();
    }
    if (msg && msg.event === "download") {
      const bytes = Uint8Array.from(atob(msg.data), (c) => c.charCodeAt(0));
      const url = URL.createObjectURL(new Blob([bytes], { type: msg.mime }));
      const a = document.createElement("a");
      a.href = url; a.download = msg.filename; document.body.appendChild(a); a.click();
      setTimeout(() => { URL.revokeObjectURL(url); a.remove(); }, 1000);
    }
  });
  el.classList.add("llmkit-composer");
  el.appendChild(ta);
}
export default { render };
"""


class Composer(anywidget.AnyWidget):
    """A Textarea whose Enter key sends (Shift+Enter: a new line)."""

    _esm = _ESM
    _css = render.CSS  # anywidget adds it to the page once: the panels' style sheet
    value = traitlets.Unicode("").tag(sync=True)
    placeholder = traitlets.Unicode("").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)
    rows = traitlets.Int(3).tag(sync=True)

    def __init__(self, **kw):
        super().__init__(**kw)
        self._handlers: list[Callable[[str], None]] = []
        self.on_msg(self._on_msg)

    def on_submit(self, callback: Callable[[str], None]) -> None:
        """Call `callback(text)` when the user presses Enter."""
        self._handlers.append(callback)

    def submit(self) -> None:
        """What Enter does: hand the current text to the submit callbacks."""
        for cb in list(self._handlers):
            cb(self.value)

    def focus(self) -> None:
        self.send({"event": "focus"})

    def clear(self) -> None:
        """Empty the box (after a message was taken): in Python and, explicitly, in the browser."""
        self.value = ""
        self.send({"event": "clear"})

    def download(self, filename: str, content: str, mime: str = "text/plain") -> None:
        """Have the browser save `content` as `filename`."""
        self.send({"event": "download", "filename": filename, "mime": mime,
                   "data": base64.b64encode(content.encode("utf-8")).decode("ascii")})

    def _on_msg(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("event") == "submit":
            value = content.get("value")
            if isinstance(value, str):
                self.value = value
            self.submit()
