"""The text the offline models learn from: the course's glossary and question/answer sets.

Every file under `corpus/` is JSON Lines. Q/A files hold {"q": [phrasings...], "a": answer,
"topic": ...}; the glossary holds {"term", "definition", "lang"} and becomes questions
("What is X?") answered by the definition. `corpus/phrasings/` adds more ways of asking:
{"id": crc32 of the answer as 8 hex digits, "q": [...]}, merged into the first entry with
that answer after the held-out split (so adding phrasings never changes what is held out). A deterministic split keeps one question
phrasing of some entries out of training so answer quality can be measured on
paraphrases the model never saw.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

CORPUS_DIR = Path(__file__).parent / "corpus"

_GLOSSARY_Q = {
    "en": ["What is {t}?", "What does {t} mean?", "Define {t}.", "Explain {t}"],
    "es": ["¿Qué es {t}?", "¿Qué significa {t}?", "Define {t}.", "Explícame {t}"],
}


@dataclass
class Doc:
    questions: list[str]
    answer: str
    topic: str = ""
    lang: str = "en"
    heldout: list[str] = field(default_factory=list)  # phrasings kept out of training


def _lang_of(path: Path, row: dict) -> str:
    if "lang" in row:
        return row["lang"]
    return "es" if path.stem.endswith("_es") else "en"


def load(corpus_dir: Path = CORPUS_DIR, holdout_every: int = 5) -> list[Doc]:
    """All documents; every `holdout_every`-th Q/A entry (by a stable hash) with 3+ phrasings
    keeps its last phrasing out of `questions` and in `heldout`."""
    docs: list[Doc] = []
    for path in sorted(corpus_dir.glob("*.jsonl")):
        if path.name.startswith(("tools", "extract")):  # generated conversations: load_tools(), load_extract()
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            lang = _lang_of(path, row)
            if "term" in row:
                qs = [q.format(t=row["term"]) for q in _GLOSSARY_Q.get(lang, _GLOSSARY_Q["en"])]
                docs.append(Doc(qs, row["definition"], "glossary", lang))
                continue
            qs = row["q"] if isinstance(row["q"], list) else [row["q"]]
            doc = Doc(list(qs), row["a"], row.get("topic", path.stem), lang)
            if holdout_every and len(qs) >= 3 and zlib.crc32(row["a"].encode()) % holdout_every == 0:
                doc.heldout = [doc.questions.pop()]
            docs.append(doc)
    first: dict[str, Doc] = {}
    for doc in docs:
        first.setdefault(answer_id(doc.answer), doc)
    for path in sorted((corpus_dir / "phrasings").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                doc = first.get(row["id"])
                if doc is None:
                    raise ValueError(f"{path.name}: no corpus entry has the answer id {row['id']!r}")
                known = {_norm(q) for q in doc.questions + doc.heldout}  # never a held-out one again
                doc.questions += [q for q in row["q"] if _norm(q) not in known]
    return docs


_tools_cache: dict = {}  # (folder, varied, records) -> conversations


def load_tools(corpus_dir: Path = CORPUS_DIR, varied: bool = False, records: bool = False) -> list[dict]:
    """The tool-use conversations, generated deterministically by corpus/tools_gen.py: each
    {"id", "case", "family", "lang", "heldout", "template", "tools", "messages"} in the engine's
    neutral message format; `heldout` ones (whole question templates) are kept out of training
    (bench/tools.py measures on them). `varied`: results in other shapes too (v3's stage C);
    `records`: the lookup and quote families too (v3's stage K)."""
    key = (str(corpus_dir), varied, records)
    if key not in _tools_cache:
        import importlib.util

        spec = importlib.util.spec_from_file_location("llmkit_tools_gen", corpus_dir / "tools_gen.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _tools_cache[key] = mod.generate(varied=varied, records=records)
    return [dict(r) for r in _tools_cache[key]]


_extract_cache: dict = {}  # folder -> conversations


def load_extract(corpus_dir: Path = CORPUS_DIR) -> list[dict]:
    """The extraction (structured-output) conversations, generated deterministically by
    corpus/extract_gen.py: load_tools()'s format with "case": "extract", no tools, and the "schema"
    the assistant's JSON reply follows; `heldout` ones (whole user templates) are kept out of
    training (bench/extract.py measures on them)."""
    key = str(corpus_dir)
    if key not in _extract_cache:
        import importlib.util

        spec = importlib.util.spec_from_file_location("llmkit_extract_gen", corpus_dir / "extract_gen.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _extract_cache[key] = mod.generate()
    return [dict(r) for r in _extract_cache[key]]


def _norm(text: str) -> str:
    """A phrasing without case and punctuation: "Are you Gemini?" and "are you gemini" are one."""
    return " ".join(re.findall(r"\w+", text.lower()))


def answer_id(answer: str) -> str:
    """The stable id of an answer (the phrasings files refer to entries by it)."""
    return f"{zlib.crc32(answer.encode()):08x}"


def detect_lang(text: str) -> str:
    """English or Spanish, by common function words and Spanish-only characters."""
    es, en = lang_cues(text)
    return "es" if es > en else "en"


_ES_MORE = (" en ", " o ", " con ", " del ", " al ", " se ", " mi ", " lo ", " sin ", " entre ", " mis ", " tu ", " le ",
            " pero ", " muy ", " hay ", " son ", " esto ", " este ", " esta ", " qué ", " cómo ", "í", "ú", "¡")
_EN_MORE = (" in ", " for ", " with ", " my ", " on ", " it ", " this ", " why ", " your ", " me ", " an ", " be ",
            " not ", " from ", " which ", " when ", " should ", " what's ", " i'm ", " is ", " does ")
_PUNCT = re.compile(r"[?!.,:;()\"]")


def lang_cues(text: str, more: bool = False) -> tuple[int, int]:
    """How many Spanish and English function words and characters the text has (`detect_lang`); `more`:
    and more function words, read past punctuation (guide.Guide.question_lang; `detect_lang` keeps its
    own, which the n-gram model was trained with)."""
    low = f" {text.lower()} "
    es = sum(low.count(w) for w in (" el ", " la ", " los ", " las ", " que ", " es ", " qué ", " cómo ",
                                    " por ", " para ", " una ", " un ", " de ", " y ", " hola", "¿", "ñ", "ó", "á", "é",
                                    " cuenta ", " hasta ", " escribe ", " dime ", " explica ", " cuál ", " cuánto ",
                                    " dame ", " hazme ", " quién ", " dónde ", " cuándo "))
    en = sum(low.count(w) for w in (" the ", " is ", " what ", " how ", " to ", " of ", " and ", " a ",
                                    " are ", " do ", " does ", " can ", " i ", " you ", " hello", " hi "))
    if more:
        low = f" {_PUNCT.sub(' ', text.lower())} "
        es += sum(low.count(w) for w in _ES_MORE)
        en += sum(low.count(w) for w in _EN_MORE)
    return es, en
