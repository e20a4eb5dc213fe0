"""The Spanish edition (notebooks/es, exercises/es, solutions/es) cannot drift from the English one,
and its checks speak Spanish.

Structure: every English notebook has a Spanish twin, and the twins have the same code cells in the
same order, identical apart from the natural language: string literals (f-strings keep their
expressions, compared), comments, docstrings and line breaks are masked by comparing the cells' ASTs
with every string constant blanked. IPython lines (`!pip ...`, `%env ...`) must be identical.
So a change to an English code cell without the same change in its Spanish twin fails here.

Messages: every message the course shows through llmkit.lang.t (and each Problem's hint and
solution) has a Spanish entry in llmkit/i18n/es with the same {fields}, for every checks module
whose day has a Spanish solution notebook and every other module that uses t(); a translated
checks module shows no message that bypasses t() (a bare f-string in Incorrect(...) or in a
check's success message). Behaviour: the Spanish exercises show Spanish hints and results when
checked with wrong answers; the English ones stay English.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from llmkit import lang

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("notebooks", "exercises", "solutions")
LANG = "es"
ENGLISH = [p for k in KINDS for p in sorted((ROOT / k).glob("*.ipynb"))]
SPANISH = [p for k in KINDS for p in sorted((ROOT / k / LANG).glob("*.ipynb"))]


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def twin(spanish: Path) -> Path:
    return spanish.parent.parent / spanish.name


# -- code cells compared with natural language masked --------------------------------------------

class _Mask(ast.NodeTransformer):
    """Blank every str constant; an f-string keeps only its expressions, sorted (a translation may
    put them in another order), each with its conversion (!r) but not its format spec."""

    def visit_Constant(self, node):
        return ast.Constant("") if isinstance(node.value, str) else node

    def visit_JoinedStr(self, node):
        parts = [ast.Tuple([self.visit(v.value), ast.Constant(v.conversion)], ast.Load())
                 for v in node.values if isinstance(v, ast.FormattedValue)]
        kept = sorted(((ast.dump(p), p) for p in parts), key=lambda x: x[0])
        return ast.Tuple([p for _, p in kept], ast.Load())


def masked(source: str) -> str:
    """A code cell as compared: its AST with natural language blanked, and its IPython lines."""
    magics, python = [], []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("!", "%")):
            magics.append(stripped)
            python.append(line[: len(line) - len(stripped)] + "pass")
        else:
            python.append(line)
    tree = compile("\n".join(python), "<cell>", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    return ast.dump(_Mask().visit(tree)) + "\n" + "\n".join(magics)


def code_cells(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_masking_ignores_language_and_sees_code():
    en = 'x = ask(client, "What is a token?")  # one call\nprint(f"Reply: {x!r} ({n:,} tokens)")'
    es = ('x = ask(client,\n        "¿Qué es un token?")  # una llamada\n'
          'print(f"Tokens: {n:.0f}, respuesta: {x!r}")')
    assert masked(en) == masked(es)
    assert masked('"""Doc."""\nf(1)') == masked('"""Documento."""\nf(1)')
    assert masked('s = "a" "b"') == masked('s = "ab"')
    for changed in ('x = ask(client, "¿Qué?", system="s")\nprint(f"Reply: {x!r} ({n:,} tokens)")',
                    'x = ask(client, "¿Qué?")\nprint(f"Reply: {x} ({n:,} tokens)")',
                    'x = ask(client, "¿Qué?")\nprint(f"Reply: {y!r} ({n:,} tokens)")',
                    'x = ask(client, "¿Qué?")\nprint(f"Reply: {x!r} ({n:,} tokens)")\nx = 1'):
        assert masked(en) != masked(changed), changed
    assert masked("!pip list\nx = 1") != masked("!pip freeze\nx = 1")
    assert masked("await f()") == masked("await f()  # espera")


def test_every_english_notebook_has_a_spanish_twin():
    missing = [rel(p) for p in ENGLISH if not (p.parent / LANG / p.name).exists()]
    assert not missing, f"no Spanish twin (put it in <folder>/{LANG}/ with the same name): {missing}"
    orphans = [rel(p) for p in SPANISH if not twin(p).exists()]
    assert not orphans, f"Spanish notebooks with no English twin: {orphans}"


@pytest.mark.parametrize("path", SPANISH, ids=[rel(p) for p in SPANISH])
def test_spanish_twin_has_the_same_code(path):
    nb, en = nbformat.read(path, as_version=4), nbformat.read(twin(path), as_version=4)
    assert nb.metadata.get("llmkit", {}).get("lang") == LANG, \
        'a Spanish notebook says so in its metadata: "llmkit": {"lang": "es"}'
    assert en.metadata.get("llmkit", {}).get("lang") in (None, "en")
    ours, theirs = code_cells(nb), code_cells(en)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert masked(a) == masked(b), (
            f"code cell {i + 1} of {rel(path)} differs from {rel(twin(path))} in more than its natural "
            f"language:\n--- English ---\n{b}\n--- Spanish ---\n{a}")
    assert len(ours) == len(theirs), f"{rel(path)} has {len(ours)} code cells, its English twin {len(theirs)}"
    tags = [c.metadata.get("tags", []) for c in nb.cells if c.cell_type == "code"]
    assert tags == [c.metadata.get("tags", []) for c in en.cells if c.cell_type == "code"], "same cell tags"


# -- every message has its Spanish entry ----------------------------------------------------------

def _uses_t(tree: ast.AST) -> bool:
    return any(isinstance(n, ast.ImportFrom) and n.module and n.module.endswith("lang")
               and any(a.name in ("t", "N_") for a in n.names) for n in ast.walk(tree))


def _spanish_days() -> set[str]:
    return {p.name[:2] for p in (ROOT / "solutions" / LANG).glob("*.ipynb")}


def translated_modules() -> list[Path]:
    """Modules whose messages must all be in Spanish: a checks module whose day has a Spanish
    solution notebook, and any module that uses llmkit.lang.t."""
    out = []
    days = _spanish_days()
    for path in sorted((ROOT / "llmkit").rglob("*.py")):
        if "i18n" in path.parts or path.name == "lang.py":
            continue
        text = path.read_text(encoding="utf-8")
        m = re.fullmatch(r"day(\d\d)\.py", path.name)
        if (m and path.parent.name == "checks" and m[1] in days) or ("lang import" in text and _uses_t(ast.parse(text))):
            out.append(path)
    return out


def messages(path: Path) -> list[tuple[int, str]]:
    """(line, English text) for each t("...") or N_("...") and each Problem's hint=, solution=, not_attempted=."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", None))
        if name in ("t", "N_") and node.args and isinstance(node.args[0], ast.Constant):
            found.append((node.lineno, node.args[0].value))
        if name == "Problem":
            found += [(k.value.lineno, k.value.value) for k in node.keywords
                      if k.arg in ("hint", "solution", "not_attempted") and isinstance(k.value, ast.Constant)]
    return found


def bypasses(path: Path) -> list[str]:
    """Messages a translated checks module shows without t(): Incorrect/NotAttempted given literal
    text, and a _check_ function's success message returned as literal text."""
    def bare(node) -> bool:  # text written here that no t() call wraps ("" aside)
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str) and node.value != ""
        if isinstance(node, ast.JoinedStr):
            return True
        if isinstance(node, ast.BinOp):
            return bare(node.left) or bare(node.right)
        if isinstance(node, ast.IfExp):
            return bare(node.body) or bare(node.orelse)
        return False

    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("Incorrect", "NotAttempted") \
                and node.args and bare(node.args[0]):
            out.append(f"line {node.lineno}: {ast.unparse(node)[:90]}")
        if isinstance(node, ast.FunctionDef) and node.name.startswith("_check"):
            for r in ast.walk(node):
                if isinstance(r, ast.Return) and r.value is not None and bare(r.value):
                    out.append(f"line {r.lineno}: {ast.unparse(r)[:90]}")
    return out


MODULES = translated_modules()


@pytest.mark.parametrize("path", MODULES, ids=[rel(p) for p in MODULES])
def test_every_message_has_its_spanish_entry(path):
    catalog = lang.catalog(LANG)
    missing, wrong = [], []
    for line, text in messages(path):
        es = catalog.get(lang.key(text))
        if es is None:
            missing.append(f"line {line}: {text[:100]!r}")
        elif lang.fields(text) != lang.fields(es):
            wrong.append(f"line {line}: {sorted(lang.fields(text))} vs {sorted(lang.fields(es))}: {es[:80]!r}")
    assert not missing, f"no Spanish in llmkit/i18n/{LANG}/ for:\n" + "\n".join(missing)
    assert not wrong, "the Spanish uses other {fields}:\n" + "\n".join(wrong)
    if path.parent.name == "checks":
        assert not bypasses(path), "shown without t(), so never in Spanish:\n" + "\n".join(bypasses(path))


def test_the_catalog_has_no_entry_that_nothing_shows():
    from llmkit.checks.core import Outcome

    used = {lang.key(text) for p in MODULES for _, text in messages(p)} | set(Outcome.COLOURS)
    stale = [k[:100] for k in lang.catalog(LANG) if k not in used]
    assert not stale, "Spanish entries whose English text no module shows (changed or removed?):\n" + \
        "\n".join(stale)


# -- which language, and the checks in it ------------------------------------------------------------

def test_language_comes_from_the_environment_then_the_notebook(monkeypatch, tmp_path):
    monkeypatch.delenv("LLMKIT_LANG", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert lang.current() == "en"
    for kind in KINDS:
        (tmp_path / kind / LANG).mkdir(parents=True)
        monkeypatch.chdir(tmp_path / kind / LANG)
        assert lang.current() == "es"
    monkeypatch.chdir(tmp_path / "notebooks")
    assert lang.current() == "en"
    nb = tmp_path / "copied.ipynb"  # a Spanish notebook moved out of its folder, opened in JupyterLab
    nb.write_text(json.dumps({"cells": [], "metadata": {"llmkit": {"lang": "es"}}, "nbformat": 4,
                              "nbformat_minor": 5}))
    monkeypatch.setenv("JPY_SESSION_NAME", str(nb))
    assert lang.current() == "es"
    monkeypatch.setenv("LLMKIT_LANG", "en")
    assert lang.current() == "en"
    monkeypatch.setenv("LLMKIT_LANG", "es_ES.UTF-8")
    monkeypatch.delenv("JPY_SESSION_NAME")
    assert lang.current() == "es"


def test_t_formats_the_translation_and_falls_back_to_english(monkeypatch):
    monkeypatch.setenv("LLMKIT_LANG", "es")
    assert lang.t("check() takes {n} argument(s): {names}; got {got}.", n=1, names="ask", got=2) == \
        "check() recibe 1 argumento(s): ask; recibió 2."
    assert lang.t("a text with no entry {x!r}", x="y") == "a text with no entry 'y'"
    monkeypatch.setenv("LLMKIT_LANG", "en")
    assert lang.t("well done.") == "well done."


EXERCISE_DAYS = sorted(p.name for p in (ROOT / "exercises" / LANG).glob("*.ipynb"))
_PROBE = r'''
import importlib, json, sys
from llmkit.checks import ____
from llmkit.checks.core import Outcome
from llmkit.lang import t
check = importlib.import_module("llmkit.checks." + sys.argv[1])
out = {}
for q in sorted((n for n in vars(check) if n[0] == "q" and n[1:].isdigit()), key=lambda n: int(n[1:])):
    p = getattr(check, q)
    out[q] = [repr(p.evaluate(*[____] * len(p.names))),
              repr(Outcome(q, "Hint", t(p._hint))), t(p._solution)]
print(json.dumps(out))
'''


@pytest.mark.parametrize("name", EXERCISE_DAYS)
def test_spanish_exercise_folder_shows_spanish_and_english_folder_english(name, gateway):
    """The checks run where the exercise notebooks run (the kernel's folder), nothing set by the
    learner: in exercises/es every problem's 'not attempted', hint and shown solution are Spanish; in
    exercises/ the same calls are English. (Wrong answers, which run the checks against the gateway:
    test_a_wrong_answer_is_explained_in_the_notebooks_language and tests/test_checks_es.py.)"""
    import os

    day = f"day{name[:2]}"
    env = {k: v for k, v in os.environ.items() if k not in ("LLMKIT_LANG", "JPY_SESSION_NAME")}
    env["LLMKIT_GATEWAY_URL"] = gateway
    shown = {}
    for folder in (ROOT / "exercises" / LANG, ROOT / "exercises"):
        proc = subprocess.run([sys.executable, "-c", _PROBE, day], cwd=folder, env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        shown[folder.name] = json.loads(proc.stdout.strip().splitlines()[-1])
    for q, (not_attempted, hint, solution) in shown[LANG].items():
        assert not_attempted.startswith(f"[{q}] Sin intentar: "), not_attempted
        assert hint.startswith(f"[{q}] Pista: "), hint
        en_not, en_hint, en_solution = shown["exercises"][q]
        assert en_not.startswith(f"[{q}] Not attempted: ") and en_hint.startswith(f"[{q}] Hint: ")
        for es, en in ((not_attempted, en_not), (hint, en_hint), (solution, en_solution)):
            assert es != en, f"{day} {q}: the Spanish shows the English text: {es[:120]}"


WRONG = [  # (day, problem, a wrong answer a learner writes, what the Spanish says, what the English says)
    ("day00", "q1", "def key_status(name):\n    return os.environ.get(name)",
     "tu función mostró la propia clave", "your function showed the key itself"),
    ("day00", "q2", "def mask(secret):\n    return secret[:3] + '...' + secret[-4:]",
     "caracteres: menos de 12", "characters: fewer than 12"),
    ("day01", "q2", "def get_json(base_url, path):\n    return httpx.get(base_url + path).json()",
     "en vez de lanzar un error", "instead of raising"),
    ("day02", "q3", "def was_cut_off(response):\n    return response.choices[0].finish_reason != 'stop'",
     "Solo 'length' significa que max_tokens cortó la respuesta", "Only 'length' means max_tokens cut the reply"),
    ("day02", "q5", "def cost(response, price_in, price_out):\n"
                    "    return response.usage.prompt_tokens * price_in + response.usage.completion_tokens * price_out",
     "por millón, cost devolvió", "per 1M, cost returned"),
]


@pytest.mark.parametrize("day,q,source,es,en", WRONG, ids=[f"{d}.{q}" for d, q, *_ in WRONG])
def test_a_wrong_answer_is_explained_in_the_notebooks_language(day, q, source, es, en, gateway, monkeypatch):
    """In-process, as in a kernel: the language comes from the working directory alone (the exercise's
    folder), the behaviour is the same in both, only the words differ."""
    import os

    import httpx  # noqa: F401  (the answers use it)

    monkeypatch.delenv("LLMKIT_LANG", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv("LLMKIT_CHECKS_STRICT", raising=False)
    monkeypatch.setenv("LLMKIT_GATEWAY_URL", gateway)
    problem = getattr(importlib.import_module(f"llmkit.checks.{day}"), q)
    ns: dict = {"os": os, "httpx": httpx}
    exec(source, ns)
    shown = {}
    for folder in (ROOT / "exercises" / LANG, ROOT / "exercises"):
        monkeypatch.chdir(folder)
        shown[folder.name] = repr(problem.evaluate(*[ns[n] for n in problem.names]))
    assert shown[LANG].startswith(f"[{q}] Incorrecto: ") and es in shown[LANG], shown[LANG]
    assert shown["exercises"].startswith(f"[{q}] Incorrect: ") and en in shown["exercises"], shown["exercises"]


def test_setup_table_doctor_and_chat_panels_follow_the_language(monkeypatch, tmp_path):
    """The same setting (here LLMKIT_LANG; in a notebook its folder or metadata) drives setup()'s table,
    `llmkit doctor` and the chat panels; with nothing set they stay English."""
    from llmkit import config, startup
    from llmkit.widgets import ChatPanel, render

    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    env = {"GROQ_API_KEY": "pretend"}
    for code, words in (("en", ["provider", "offline", "live", "GROQ_API_KEY is set", "Send", "tokens in"]),
                        ("es", ["proveedor", "sin conexión", "en vivo", "GROQ_API_KEY está definida", "Enviar",
                                "tokens de entrada"])):
        monkeypatch.setenv("LLMKIT_LANG", code)
        table = repr(startup.Status(config.decide(env=env, probe_ollama=False), "http://127.0.0.1:1", "m"))
        panel = ChatPanel(model="gpt-4o-mini")
        try:
            shown = table + panel.send_button.description + render.figures({"tokens_in": 3, "tokens_out": 4})
        finally:
            panel.close()
        assert all(w in shown for w in words), (code, shown)
    doctor = {}
    for code in ("en", "es"):
        proc = subprocess.run([sys.executable, "-m", "llmkit", "doctor", "--offline"], capture_output=True, text=True,
                              env={**__import__("os").environ, "LLMKIT_LANG": code}, timeout=300)
        doctor[code] = proc.stdout
    assert "offline model:" in doctor["en"] and "modelo sin conexión:" in doctor["es"]
    assert "falta OPENAI_API_KEY" in doctor["es"] and "no OPENAI_API_KEY" in doctor["en"]


# -- how a learner reaches the Spanish edition --------------------------------------------------------

def test_readmes_link_both_editions_on_binder_and_give_the_same_two_commands():
    badge = "[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/OWNER/REPO/HEAD?urlpath=lab/tree/"
    es = (ROOT / "README.es.md").read_text(encoding="utf-8")
    en = (ROOT / "README.md").read_text(encoding="utf-8")
    assert badge + "notebooks/es/00_setup.ipynb)" in es.splitlines()[2]
    assert badge + "notebooks/es/00_setup.ipynb)" in en and "README.es.md" in en
    assert (ROOT / "notebooks" / LANG / "00_setup.ipynb").exists()
    block = re.search(r"```bash\n(.*?)```", es, re.S)[1]
    assert [ln.split("#")[0].strip() for ln in block.splitlines()] == ["make course-es", "make test"]


def test_make_course_opens_the_spanish_edition():
    out = subprocess.run(["make", "-n", "course-es"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "course COURSE_LANG=es" in out
    out = subprocess.run(["make", "-n", "-o", ".venv/.installed", "course", "COURSE_LANG=es"], cwd=ROOT,
                         capture_output=True, text=True).stdout
    assert "llmkit course --lang es" in out
    from llmkit import cli

    class Launched(Exception):
        pass

    def spawn(cmd, env, **kw):  # the commands `llmkit course` would start, without starting them
        launched.append(cmd)
        if len(launched) == 2:
            raise Launched
        return subprocess.Popen([sys.executable, "-c", "pass"])  # stands for the gateway, already gone

    for lang_args, first in (([], "notebooks/00_setup.ipynb"), (["--lang", "es"], "notebooks/es/00_setup.ipynb")):
        launched = []
        real = cli._spawn
        cli._spawn = spawn
        try:
            with pytest.raises(Launched):
                cli.main(["course", "--no-browser", "--port", "0", *lang_args])
        finally:
            cli._spawn = real
        assert f"--LabApp.default_url=/lab/tree/{first}" in launched[1]
