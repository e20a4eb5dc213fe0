"""Streaming a reply in a worker thread, and batching what it shows.

`Job` reads one reply in a daemon thread, so the kernel stays free to handle clicks (Stop)
while text arrives; `cancel()` ends it at once from any thread, whatever the network is
doing, and the worker lets go of the connection at its next chunk. `Throttle` turns many
"something changed" calls into at most one redraw per `interval` (20 per second by
default), well under Jupyter's message rate limit however fast tokens come.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from . import backend

UPDATES_PER_SECOND = 20


class Throttle:
    """Call `fn` soon after `touch()`, but never more often than once per `interval`."""

    def __init__(self, fn: Callable[[], None], interval: float = 1 / UPDATES_PER_SECOND):
        self._fn = fn
        self.interval = interval
        self._cv = threading.Condition()
        self._dirty = False
        self._last = 0.0
        self._thread: threading.Thread | None = None

    def touch(self) -> None:
        with self._cv:
            self._dirty = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="llmkit-widget-redraw", daemon=True)
                self._thread.start()
            self._cv.notify()

    def _loop(self) -> None:
        while True:
            with self._cv:
                if not self._dirty and not self._cv.wait_for(lambda: self._dirty, timeout=1.0):
                    self._thread = None  # idle: the next touch() starts a new thread
                    return
                wait = self._last + self.interval - time.monotonic()
                if wait > 0:
                    self._cv.wait(timeout=wait)
                    continue
                self._dirty = False
                self._last = time.monotonic()
            try:
                self._fn()
            except Exception:  # a redraw must never kill the loop
                pass

    def discard(self) -> None:
        """Forget a pending redraw (the caller is about to draw the final state itself)."""
        with self._cv:
            self._dirty = False
            self._last = time.monotonic()


class Job:
    """One streamed reply. States: streaming -> done | stopped | error.

    on_text(job) is called for every chunk (from the worker thread); on_end(job) exactly
    once, from the worker (done, error) or from the thread that called cancel() (stopped).
    """

    def __init__(self, messages: list[dict], model: str, params: dict,
                 on_text: Callable[["Job"], None], on_end: Callable[["Job"], None]):
        self.messages = messages
        self.model = model
        self.params = dict(params)
        self.on_text, self.on_end = on_text, on_end
        self.state = "streaming"
        self.text = ""
        self.figures: backend.Figures | None = None
        self.error: BaseException | None = None
        self.stream: backend.Stream | None = None
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._t0 = time.perf_counter()
        self.thread = threading.Thread(target=self._work, name=f"llmkit-stream-{model}", daemon=True)

    def start(self) -> "Job":
        self.thread.start()
        return self

    def _end(self, state: str, **kw) -> bool:
        with self._lock:
            if self.state != "streaming":
                return False
            for k, v in kw.items():
                setattr(self, k, v)
            self.state = state
        try:
            self.on_end(self)
        finally:
            self.done.set()
        return True

    def cancel(self) -> bool:
        """Stop now, keeping the text so far. False if the job had already ended."""
        stream = self.stream
        if stream is not None:
            figures = stream.stopped_figures()
        else:
            figures = backend.Figures(model=self.model, provider=backend.provider_of(self.model),
                                      latency=time.perf_counter() - self._t0, finish_reason="stopped")
            figures.cost, figures.free, _ = backend.price(self.model, None, None)
        return self._end("stopped", figures=figures)

    @property
    def running(self) -> bool:
        return self.state == "streaming"

    def _work(self) -> None:
        stream = None
        try:
            stream = backend.open_stream(self.messages, self.model, self.params)
            self.stream = stream
            for _piece in stream:
                if self.state != "streaming":
                    break
                with self._lock:
                    if self.state != "streaming":
                        break
                    self.text = stream.text
                self.on_text(self)
            if self.state == "streaming":
                self._end("done", text=stream.text, figures=stream.figures)
        except BaseException as e:  # noqa: BLE001 - whatever happens ends up on screen
            if self.state == "streaming":
                partial = stream.text if stream is not None else ""
                self._end("error", error=e, text=partial)
        finally:
            if stream is not None:
                stream.close()  # let go of the connection here, never in the kernel's thread
