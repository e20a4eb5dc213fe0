"""HTML for the chat widgets: Markdown made safe, message bubbles, figures, the style sheet.

Markdown is rendered by mistune (it ships with Jupyter, through nbconvert) with raw HTML
escaped and harmful link schemes dropped; code blocks are highlighted by Pygments (it
ships with IPython). If mistune is missing, text is shown escaped in a <pre>. Nothing a
user or a model writes ever reaches the page as HTML.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from ..lang import N_, t

CSS = """
.llmkit-chat { font-family: var(--jp-ui-font-family, system-ui, sans-serif); font-size: 13px;
  border: 1px solid var(--jp-border-color1, #d0d0d0); border-radius: 8px; padding: 8px;
  background: var(--jp-layout-color0, #fff); max-width: 980px; }
.llmkit-chat .llmkit-bar { gap: 8px; align-items: center; flex-wrap: wrap; }
.llmkit-chat .llmkit-scroll { border: 1px solid var(--jp-border-color2, #e0e0e0); border-radius: 6px;
  background: var(--jp-layout-color1, #fafafa); }
.llmkit-chat .llmkit-empty { color: var(--jp-ui-font-color2, #888); font-style: italic; padding: 12px; }
.llmkit-msg { padding: 6px 10px; margin: 4px 6px; border-radius: 8px; max-width: 88%; width: fit-content;
  line-height: 1.45; overflow-wrap: anywhere; box-sizing: border-box; }
.llmkit-msg.llmkit-assistant, .llmkit-msg.llmkit-error { min-width: 40%; }
.llmkit-list .widget-html, .llmkit-list .widget-html-content { height: auto; }
.llmkit-msg p { margin: 0.3em 0; }
.llmkit-msg pre { background: var(--jp-layout-color2, #f0f0f0); padding: 6px 8px; border-radius: 4px;
  overflow-x: auto; font-size: 12px; margin: 0.4em 0; }
.llmkit-msg code { font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.llmkit-msg :not(pre) > code { background: var(--jp-layout-color2, #f0f0f0); padding: 0 3px; border-radius: 3px; }
.llmkit-msg table { border-collapse: collapse; } .llmkit-msg td, .llmkit-msg th { border: 1px solid #ccc; padding: 2px 6px; }
.llmkit-role { font-size: 11px; font-weight: 600; color: var(--jp-ui-font-color2, #777); margin-bottom: 2px; }
.llmkit-user { background: #dbeafe; margin-left: auto; color: #0b1f3a; }
.llmkit-assistant { background: var(--jp-layout-color0, #fff); border: 1px solid var(--jp-border-color2, #e3e3e3); }
.llmkit-error { background: #fdecea; border: 1px solid #f5b5ae; color: #7a1c12; }
.llmkit-partial { opacity: 0.6; border-bottom: 1px dashed #f5b5ae; margin-bottom: 4px; color: #333; }
.llmkit-stopped { border-left: 3px solid #e0a100; }
.llmkit-cursor::after { content: "\\258D"; animation: llmkit-blink 1s steps(1) infinite; color: #888; }
@keyframes llmkit-blink { 50% { opacity: 0; } }
.llmkit-figures { line-height: 1.4; font-size: 11px; color: var(--jp-ui-font-color2, #777); margin: 0 10px 4px 10px; }
.llmkit-figures .llmkit-flag { color: #a15c00; font-weight: 600; }
.llmkit-footer { line-height: 1.4; font-size: 11px; color: var(--jp-ui-font-color2, #666); }
.llmkit-input { width: 100%; box-sizing: border-box; resize: vertical; min-height: 3.2em;
  font-family: var(--jp-ui-font-family, system-ui, sans-serif); font-size: 13px; padding: 6px 8px;
  border: 1px solid var(--jp-border-color1, #bbb); border-radius: 6px;
  background: var(--jp-layout-color0, #fff); color: var(--jp-ui-font-color0, #111); }
.llmkit-input:focus { outline: 2px solid #5b9bd5; outline-offset: -1px; }
.llmkit-col .llmkit-msg { max-width: none; width: auto; min-width: 0; }
.llmkit-prompt { padding: 2px 4px; line-height: 1.4; }
.llmkit-prompt .llmkit-msg { margin: 2px 0; }
.llmkit-col { border: 1px solid var(--jp-border-color2, #e0e0e0); border-radius: 6px; padding: 4px;
  background: var(--jp-layout-color1, #fafafa); }
.llmkit-colhead { font-weight: 600; padding: 2px 6px; }
.llmkit-colhead .llmkit-mode { font-weight: normal; font-size: 11px; color: var(--jp-ui-font-color2, #777); }
"""


def style_tag() -> str:
    return f"<style>{CSS}</style>"


@lru_cache(maxsize=1)
def _markdown():
    try:
        import mistune
    except ImportError:  # pragma: no cover - mistune comes with Jupyter (nbconvert)
        return None

    class Renderer(mistune.HTMLRenderer):
        def block_code(self, code: str, info: str | None = None) -> str:
            lang = (info or "").split(None, 1)[0] if info else ""
            return highlight(code, lang)

        def image(self, text: str, url: str, title: str | None = None) -> str:
            # never load remote images into the course page: show them as a link
            return f'<a href="{self.safe_url(url)}" target="_blank" rel="noopener">{text or "image"}</a>'

        def link(self, text: str, url: str, title: str | None = None) -> str:
            return f'<a href="{self.safe_url(url)}" target="_blank" rel="noopener noreferrer">{text}</a>'

    return mistune.create_markdown(renderer=Renderer(escape=True), plugins=["strikethrough", "table"])


def highlight(code: str, lang: str = "") -> str:
    """A code block, highlighted with inline styles when Pygments knows the language."""
    try:
        from pygments import highlight as _hl
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import get_lexer_by_name

        lexer = get_lexer_by_name(lang) if lang else None
    except Exception:
        lexer = None
    if lexer is None:
        return f'<pre><code>{html.escape(code)}</code></pre>'
    body = _hl(code, lexer, HtmlFormatter(nowrap=True, noclasses=True, style="default"))
    return f'<pre><code class="language-{html.escape(lang)}">{body}</code></pre>'


def markdown(text: str) -> str:
    """Safe HTML for Markdown text (raw HTML escaped, javascript: links removed)."""
    md = _markdown()
    if md is None:
        return f"<pre>{html.escape(text)}</pre>"
    return md(text)


def plain(text: str) -> str:
    """Text exactly as typed (the user's messages), escaped, line breaks kept."""
    return html.escape(text).replace("\n", "<br>")


def bubble(role: str, text: str, *, state: str = "done", label: str | None = None, partial: str = "") -> str:
    """One message. role: user | assistant | error; state: streaming | done | stopped | error.
    An error may show the `partial` reply that arrived before it."""
    who = label or {"user": t("You"), "assistant": t("Assistant"), "error": t("Error")}.get(role, role)
    if role == "user":
        body = plain(text)
    elif role == "error":
        body = (f'<div class="llmkit-partial">{markdown(partial)}</div>' if partial else "") + \
            f'<div class="llmkit-errtext">{plain(text)}</div>'
    else:
        body = markdown(text) if text else ""
        if state == "streaming":
            body = (body or "") + '<span class="llmkit-cursor"></span>'
    classes = f"llmkit-msg llmkit-{role}" + (" llmkit-stopped" if state == "stopped" else "")
    return (f'<div class="{classes}" data-role="{role}" data-state="{state}">'
            f'<div class="llmkit-role">{html.escape(who)}</div><div class="llmkit-body">{body}</div></div>')


def _num(n) -> str:
    return "?" if n is None else f"{n:,}"


def _usd(x: float) -> str:
    return f"${x:.6f}" if x < 0.01 else f"${x:.4f}"


def money(cost: float | None, free: bool, would: float | None = None) -> str:
    if free:
        return t("free/offline") + (t(" (live: {cost})", cost=_usd(would)) if would else "")
    if cost is None:
        return t("cost unknown")
    if cost == 0:
        return "$0"
    return _usd(cost)


def seconds(s: float | None) -> str:
    if s is None:
        return "–"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def figures(fig: dict | None, state: str = "done") -> str:
    """The line under a reply: tokens in/out, time to first token, total time, cost."""
    if state == "streaming":
        return '<div class="llmkit-figures">' + t("streaming…") + '</div>'
    if not fig:
        return ""
    about = "≈" if fig.get("counted") else ""
    parts = [t("{a}{n_in} tokens in · {a}{n_out} out", a=about, n_in=_num(fig.get('tokens_in')),
               n_out=_num(fig.get('tokens_out'))),
             t("first token {s}", s=seconds(fig.get('ttft'))), t("total {s}", s=seconds(fig.get('latency'))),
             money(fig.get("cost"), bool(fig.get("free")), fig.get("would_cost"))]
    if fig.get("model"):
        parts.insert(0, html.escape(str(fig["model"])))
    flag = ""
    if state == "stopped":
        flag = ' <span class="llmkit-flag">■ ' + t("stopped") + '</span>'
    elif fig.get("finish_reason") == "length":
        flag = ' <span class="llmkit-flag">' + t("cut at max tokens") + '</span>'
    return f'<div class="llmkit-figures">{" · ".join(parts)}{flag}</div>'


def session_line(totals: dict) -> str:
    calls = totals.get("calls", 0)
    cost = totals.get("cost")
    would = totals.get("would_cost")
    money_s = (t("{cost} spent", cost=_usd(cost)) if cost else t("nothing spent")) if cost is not None \
        else t("cost unknown")
    if would:
        money_s += t(" (offline calls would cost {cost} live)", cost=_usd(would))
    calls_s = t("{n} call", n=calls) if calls == 1 else t("{n} calls", n=calls)
    line = t("session: {calls} · {n_in} tokens in · {n_out} out · {money}", calls=calls_s,
             n_in=_num(totals.get("tokens_in", 0)), n_out=_num(totals.get("tokens_out", 0)), money=money_s)
    return f'<div class="llmkit-footer">{line}</div>'


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:40] or "chat"


_TITLES = {
    "AuthenticationError": N_("Authentication failed"),
    "PermissionDeniedError": N_("Permission denied"),
    "NotFoundError": N_("Not found"),
    "ContextLengthError": N_("The conversation is too long for this model"),
    "BadRequestError": N_("Bad request"),
    "QuotaExceededError": N_("Out of quota"),
    "RateLimitError": N_("Rate limited"),
    "OverloadedError": N_("The provider is overloaded"),
    "ServerError": N_("Server error"),
    "TimeoutError": N_("Timed out"),
    "ConnectionError": N_("Connection lost"),
    "BudgetExceededError": N_("Budget reached"),
}


def describe_error(exc: BaseException, partial: str = "") -> str:
    """A readable one-paragraph account of a failed call (never a traceback)."""
    from .. import errors

    err = exc
    if not isinstance(exc, errors.LLMError) and errors.from_sdk(exc):
        err = errors.classify(exc)
    if isinstance(err, errors.LLMError):
        title = t(next((_TITLES[c.__name__] for c in type(err).__mro__ if c.__name__ in _TITLES), N_("The call failed")))
        where = ", ".join(str(p) for p in (err.status_code if err.status_code not in (None, -1) else None,
                                           err.provider) if p)
        text = f"{title}{f' ({where})' if where else ''}: {err.message}"
        if getattr(err, "retry_after", None) is not None:
            text += t(" The provider asks to wait {s:g} s.", s=err.retry_after)
    else:
        text = t("The call failed: {error}: {e}", error=type(exc).__name__, e=exc)
    if partial:
        text += t("\n(the reply broke off after {n:,} characters; press Retry to ask again)", n=len(partial))
    return text
