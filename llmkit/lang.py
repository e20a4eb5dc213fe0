"""The course's language: English, or Spanish in the Spanish edition (notebooks/es, exercises/es,
solutions/es), picked without the learner doing anything.

    from llmkit.lang import t
    raise Incorrect(t("mask({secret!r}) returned {got!r}; expected {want!r}.", secret=s, got=g, want=w))

Which language (`current()`), first match wins:
1. LLMKIT_LANG=es (or en) in the environment: an explicit choice (the CLI, scripts, or to force it);
2. the notebook the kernel runs, when the kernel can tell which: its metadata `"llmkit": {"lang": "es"}`
   (JupyterLab gives the kernel the notebook's path in JPY_SESSION_NAME, VS Code in `__vsc_ipynb_file__`);
3. the kernel's working directory, which Jupyter, VS Code and papermill set to the notebook's folder:
   `<notebooks|exercises|solutions>/es` is the Spanish edition;
4. English.

Messages: `t(english, **fields)` looks the English text up in the language's catalog (the English text is
the key, as gettext's msgid) and formats it with `str.format(**fields)`; an entry that is missing shows
English. The catalogs are Python dicts, one module per part, `llmkit/i18n/<lang>/<part>.py` holding
`MESSAGES = {english: translation}`: plain reviewed text with no build step (stdlib gettext reads only
compiled .mo files, which would have to be committed and rebuilt), and tests/test_spanish_edition.py
extracts every `t("...")` (and each Problem's hint/solution) the way xgettext would and fails when an
entry is missing or its `{fields}` differ.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import pkgutil
import string
import sys
import textwrap
from pathlib import Path

LANGS = ("en", "es")
DEFAULT = "en"
EDITIONS = ("notebooks", "exercises", "solutions")  # the folders whose <lang>/ subfolder is an edition


def _pick(value: object) -> str | None:
    text = str(value or "").strip().lower().replace("-", "_")
    code = text.split("_")[0].split(".")[0]
    return code if code in LANGS else None


@functools.lru_cache(maxsize=32)
def _notebook_file_lang(path: str, mtime: float) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f).get("metadata", {})
    except (OSError, ValueError):
        return None
    return _pick((meta.get("llmkit") or {}).get("lang"))


def _notebook_path() -> str | None:
    """The notebook this kernel runs, where the front end says so."""
    path = os.environ.get("JPY_SESSION_NAME", "")
    if not path:
        ipy = sys.modules.get("IPython")
        shell = ipy.get_ipython() if ipy is not None else None
        path = str((getattr(shell, "user_ns", None) or {}).get("__vsc_ipynb_file__", ""))
    return path if path.endswith(".ipynb") else None


def notebook_lang() -> str | None:
    """The running notebook's language: its metadata, else its edition folder; None outside one."""
    path = _notebook_path()
    if path and os.path.isfile(path):
        found = _notebook_file_lang(path, os.path.getmtime(path))
        if found:
            return found
    try:
        cwd = Path.cwd()
    except OSError:
        return None
    if cwd.parent.name in EDITIONS:
        return _pick(cwd.name)
    return None


def current() -> str:
    """'en' or 'es' (see the module docstring for the order)."""
    return _pick(os.environ.get("LLMKIT_LANG")) or notebook_lang() or DEFAULT


def key(text: str) -> str:
    """A message as its catalog's key: a triple-quoted block (a solution) compares dedented."""
    return textwrap.dedent(text).strip("\n") if "\n" in text else text


@functools.lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    """Every `MESSAGES` of llmkit/i18n/<lang>/*.py in one dict (English text -> translation)."""
    if lang == DEFAULT:
        return {}
    package = importlib.import_module(f"llmkit.i18n.{lang}")
    merged: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        merged.update({key(k): key(v) for k, v in getattr(module, "MESSAGES", {}).items()})
    return merged


def translate(text: str, lang: str | None = None) -> str:
    """`text` in `lang` (default: current()), unformatted; the English itself when there is no entry."""
    lang = lang or current()
    if lang == DEFAULT:
        return text
    found = catalog(lang).get(key(text))
    if found is None:
        return text
    inner = text.strip("\n")  # a message's own leading or trailing line breaks stay where they were
    return text[: text.index(inner)] + found + text[text.index(inner) + len(inner):] if inner else found


def t(text: str, /, _lang: str | None = None, **fields) -> str:
    """The English template `text` in the current language, formatted with `fields` (str.format,
    so `{got!r}` and `{n:,}` work). Without fields the text is returned as it is (braces kept)."""
    out = translate(text, _lang)
    return out.format(**fields) if fields else out


def N_(text: str) -> str:
    """Marks an English text for the catalog where it is defined (a table of labels) and returns it
    unchanged; it is translated where it is shown, with t() (gettext's N_)."""
    return text


def fields(text: str) -> set[str]:
    """The names a template formats (`{got!r}` -> 'got'): a translation must use the same."""
    try:
        return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:  # not a template (code with braces, shown as it is): compared as a whole
        return {text.count("{"), text.count("}")}
