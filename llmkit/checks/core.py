"""The check machinery: the `____` placeholder, `Problem` (check / hint / solution) and
how a result is shown. Day modules only declare problems; see the package docstring."""

from __future__ import annotations

import html
import inspect
import os
import sys
import textwrap
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from ..lang import t


class _Placeholder:
    """`____`: what an exercise holds until you replace it. Using it fails loudly."""

    _instance: "_Placeholder | None" = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "____"

    def __getattr__(self, name: str):
        if name.startswith("__") or name.startswith("_repr") or name.startswith("_ipython"):
            raise AttributeError(name)
        raise NotImplementedError(t("replace ____ with your code"))

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(t("replace ____ with your code"))

    def __reduce__(self):
        return "____"


____ = _Placeholder()


class NotAttempted(Exception):
    """The learner has not written this part yet."""


class Incorrect(Exception):
    """The learner's code ran but did something wrong; the message says what. `error` is the
    learner's own exception when that is what went wrong (a check may explain it further)."""

    def __init__(self, message: str = "", error: BaseException | None = None):
        super().__init__(message)
        self.error = error


def strict() -> bool:
    """Whether LLMKIT_CHECKS_STRICT is set: a failed check then raises AssertionError."""
    return os.environ.get("LLMKIT_CHECKS_STRICT", "").strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Outcome:
    """What a check, hint or solution shows: text in a terminal, colour in a notebook."""

    problem: str
    kind: str  # "Correct", "Incorrect", "Not attempted", "Hint", "Solution"
    message: str
    code: str | None = None

    COLOURS = {"Correct": "#1b7f3b", "Incorrect": "#b3261e", "Not attempted": "#8a6d00", "Hint": "#1f5fa8",
               "Solution": "#5b3a9e"}

    @property
    def label(self) -> str:
        """The kind as shown, in the course's language (`kind` itself stays English: code tests it)."""
        return t(self.kind)

    def __repr__(self) -> str:
        text = f"[{self.problem}] {self.label}: {self.message}"
        if self.code:
            text += "\n" + textwrap.indent(self.code.rstrip(), "    ")
        return text

    def _repr_html_(self) -> str:
        colour = self.COLOURS.get(self.kind, "#333")
        body = f"<span style='color:{colour}'><b>{html.escape(self.label)}</b></span> " \
               f"<code>{html.escape(self.problem)}</code>: {html.escape(self.message)}"
        if self.code:
            body += f"<pre>{html.escape(self.code.rstrip())}</pre>"
        return f"<div>{body}</div>"

    @property
    def correct(self) -> bool:
        return self.kind == "Correct"


def _show(outcome: Outcome) -> None:
    ipy = sys.modules.get("IPython")
    shell = ipy.get_ipython() if ipy is not None else None
    if shell is not None:
        from IPython.display import display

        display(outcome)
    else:
        print(repr(outcome))


def _is_placeholder(value: Any) -> bool:
    return value is ____


def _caller_namespace() -> dict:
    """The globals of the first frame outside llmkit.checks: the notebook's namespace."""
    frame = inspect.currentframe()
    try:
        while frame is not None:
            name = frame.f_globals.get("__name__", "")
            if not (name == "llmkit.checks" or name.startswith("llmkit.checks.")):
                return frame.f_globals
            frame = frame.f_back
        return {}
    finally:
        del frame


def call(fn: Callable, *args, **kwargs):
    """Call the learner's function: NotImplementedError or a `____` result means not attempted;
    any other exception becomes Incorrect with the error in it."""
    if _is_placeholder(fn):
        raise NotAttempted()
    name = getattr(fn, "__name__", t("your function"))
    try:
        result = fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted() from None
    except (Incorrect, NotAttempted):
        raise
    except Exception as e:  # the learner's code failed: say how, in one line
        raise Incorrect(failure(name, e), e) from None
    if _is_placeholder(result):
        raise NotAttempted()
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # never awaited: close it so Python does not warn later
        raise Incorrect(t("{name}() returned a coroutine, not a value: it is an `async def` function, or it "
                          "returned an async call without `await`. Here write a plain `def` and call the "
                          "synchronous client (no await needed).", name=name))
    return result


def failure(name: str, e: BaseException) -> str:
    """One line on the learner's exception, with what to do for the mistakes that have a
    known cause (a missing await, text that is not JSON)."""
    text = t("calling {name}() raised {error}: {e}{where}", name=name, error=type(e).__name__, e=e,
             where=_last_frame(e))
    if "coroutine" in str(e) and isinstance(e, (TypeError, AttributeError)):
        text += t(". A coroutine is what an async method returns when it is not awaited: write "
                  "`await client....create(...)` inside an `async def` function.")
    elif type(e).__name__ == "JSONDecodeError":
        doc = getattr(e, "doc", "")
        text += t(". json.loads was given text that is not JSON ({doc!r}): print what you parse, and "
                  "parse only JSON text (a reply you asked to be JSON, a `data:` payload).", doc=doc[:60])
    return text


def _last_frame(exc: BaseException) -> str:
    """' (line N of your cell)' for the innermost frame that is the learner's code."""
    import sysconfig

    stdlib = sysconfig.get_paths()["stdlib"]
    tb = traceback.extract_tb(exc.__traceback__)
    for fr in reversed(tb):
        if "site-packages" in fr.filename or "/llmkit/" in fr.filename.replace("\\", "/") \
                or fr.filename.startswith(stdlib):
            continue
        return t(" (at line {n}: {line})", n=fr.lineno, line=fr.line.strip()) if fr.line else ""
    return ""


class Problem:
    """One exercise: `check()`, `hint()`, `solution()`.

    names:   the objects the check looks at, found in the caller's globals (or passed)
    checker: called with those objects; returns the success message, raises Incorrect(why)
             or NotAttempted; its calls into learner code should go through `call()`
    """

    def __init__(self, name: str, names: tuple[str, ...] | str, checker: Callable[..., str], *,
                 hint: str, solution: str, not_attempted: str | None = None):
        self.name = name
        self.names = (names,) if isinstance(names, str) else tuple(names)
        self._checker = checker
        self._hint = hint  # English, as written; shown through llmkit.lang.t in the course's language
        self._solution = textwrap.dedent(solution).strip("\n")
        self._not_attempted = not_attempted

    @property
    def not_attempted(self) -> str:
        if self._not_attempted:
            return t(self._not_attempted)
        shown = ", ".join(f"`{n}`" for n in self.names)
        return t("write {shown} (in place of `raise NotImplementedError(...)` or `____`), run its cell, then run "
                 "this check again.", shown=shown)

    def __repr__(self) -> str:
        return f"<exercise {self.name}: looks at {', '.join(self.names)}; try .check(), .hint(), .solution()>"

    def _values(self, given: tuple) -> list:
        if given:
            if len(given) != len(self.names):
                raise Incorrect(t("check() takes {n} argument(s): {names}; got {got}.", n=len(self.names),
                                  names=", ".join(self.names), got=len(given)))
            return list(given)
        ns = _caller_namespace()
        missing = [n for n in self.names if n not in ns]
        if missing:
            raise NotAttempted(t("`{name}` is not defined yet: run the cell that defines it, then run this one "
                                 "again.", name=missing[0]))
        return [ns[n] for n in self.names]

    def evaluate(self, *given) -> Outcome:
        """The outcome without showing it (what check() shows)."""
        try:
            values = self._values(given)
            if any(_is_placeholder(v) for v in values):
                raise NotAttempted()
            message = self._checker(*values)
            return Outcome(self.name, "Correct", message or t("well done."))
        except NotAttempted as e:
            return Outcome(self.name, "Not attempted", str(e) or self.not_attempted)
        except Incorrect as e:
            return Outcome(self.name, "Incorrect", str(e))
        except Exception as e:  # a check never raises on the learner
            return Outcome(self.name, "Incorrect", t("the check could not run your code: {error}: {e}",
                                                     error=type(e).__name__, e=e))

    def check(self, *given) -> None:
        """Show Correct, Incorrect (with why) or Not attempted. Never raises (unless
        LLMKIT_CHECKS_STRICT=1 and the answer is not correct)."""
        outcome = self.evaluate(*given)
        _show(outcome)
        if strict() and not outcome.correct:
            raise AssertionError(repr(outcome))

    def hint(self) -> None:
        _show(Outcome(self.name, "Hint", t(self._hint)))

    def solution(self) -> None:
        _show(Outcome(self.name, "Solution", t("one way to write it:"), t(self._solution)))
