"""Running the gateway: in the foreground (`llmkit serve`) or in a background thread of
the current process (what `llmkit.setup()` does, once per process, on a free port)."""

from __future__ import annotations

import atexit
import socket
import sys
import threading
import time

_lock = threading.Lock()
_running: "Gateway | None" = None


class Gateway:
    """A gateway serving in a daemon thread; `url` is its base URL."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None, settings=None):
        import uvicorn

        from .app import Settings, create_app

        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = host, self.sock.getsockname()[1]
        settings = settings or Settings(api_key=api_key)
        self.app = create_app(settings=settings)
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="llmkit-gateway", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 20.0) -> "Gateway":
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the llmkit gateway did not start on {self.url}")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()


def ensure_running(api_key: str | None = None) -> Gateway:
    """The process's background gateway, started on first use."""
    global _running
    with _lock:
        if _running is None or not _running.thread.is_alive():
            _running = Gateway(api_key=api_key).start()
            # stopped before the interpreter tears down: a serving daemon thread still running C code
            # (numpy, tokenizers) while modules are finalised can crash the exit (seen as SIGSEGV)
            atexit.register(_running.stop)
        return _running


def current() -> Gateway | None:
    return _running


def serve(host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None, log_level: str = "info",
          admin_key: str | None = None, max_body_bytes: int | None = None, gateway=None) -> None:
    """Serve in the foreground until interrupted."""
    import uvicorn

    from .app import Settings, create_app

    # the engine's scheduler thread and the event loop share the GIL: hand it over every 1 ms, not
    # every 5, so a new request is read and its first token sent while a long batched step runs
    sys.setswitchinterval(0.001)
    settings = Settings(api_key=api_key, gateway=gateway)
    if admin_key:
        settings.admin_key = admin_key
    if max_body_bytes:
        settings.max_body_bytes = max_body_bytes
    app = create_app(settings=settings)
    uvicorn.run(app, host=host, port=port, log_level=log_level, lifespan="on")  # lifespan: upstream pools close
