"""Retrieval-augmented decoding for the offline model v2 (kNN-LM style, like v1's).

A 6M-parameter network trained for an hour on CPU writes fluent course answers but often
picks the wrong one for a question phrased in a way it never saw. Retrieval fixes that
the way production systems do (RAG), without touching the network:

1. retrieve: the `LEXICAL_TOP` corpus entries whose phrasings best match the question
   (`lexical.py`, training phrasings only; nothing when no lexical score reaches `MIN_SCORE`;
   an index with a latent half ranks by shared words plus LSA similarity, so a paraphrase in
   other words still finds its entry);
2. rerank: the network scores each candidate answer's first `RERANK_TOKENS` tokens
   (log-likelihood after the real prompt, from a fork of the prompt's KV cache); the
   candidates' weights are softmax(lexical score / `LEXICAL_TEMPERATURE` + log-likelihood);
3. decode: every step's distribution is (1 - lambda) x the network's + lambda x a copy
   distribution that continues the weighted candidate answers where the generated text
   matches them (lambda = `MIX`, scaled by the weight of the candidates that match).

Knowing what it does not know (v3): the index also holds the corpus' vocabulary and how many
entries use each word. A candidate whose answer lacks a rare word of the question (one that
fewer than `RARE_DF` entries use: it names a specific thing, like "Australia" in "capital of
Australia" against "Paris is the capital of France"), and whose training phrasings do not ask with it
either ("Introduce yourself in French" is answered in French), is not about the question and is dropped,
unless it is itself an answer that says it cannot know. When no candidate is left, nothing
matches, or more than `UNKNOWN_SHARE` of the question's content words were never seen (up to
one typo), the only candidate is the corpus' "I don't know that" answer in the question's
language: a 6M-parameter model asked about a person, a place or a term it never read would
otherwise copy the nearest answer it knows, confidently and wrongly. An index that keeps each
training phrasing's content words also drops, when the question has a word never seen, an entry
none of whose phrasings has all its content words named by the question ("capital of Mongolia"
against the phrasings "capital of France": the unknown word stands where "France" stood). A question
that asks for a sum keeps only answers that do that sum (`sums`: "1 + 1 = 2." is not about "three
plus one", and a 6M-parameter network does not compute). When candidates come in
both languages (most answers exist in English and Spanish), those in the question's language win.

The network still writes every token, sampling parameters keep their meaning (they act on
the mixed distribution, which is also what `logprobs` report), and with retrieval off
(`TransformerEngine(retrieval=False)`, LLMKIT_V2_RETRIEVAL=0) the engine is the bare
network that the Hugging Face export reproduces.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

from .lexical import LexicalIndex

LEXICAL_TOP = 3
POOL = 12  # entries retrieved before the rare-word rules; LEXICAL_TOP of those left are candidates
MIN_SCORE = 0.25
LEXICAL_TEMPERATURE = 0.1
# 4, not 8 (session 14): on the dev set (bench/retrieval_dev.py --engine 150, training data only) 4 and 6 give
# the same 150 replies, 8 differs in 2 (answered 0.707 against 0.713); each token past the first is one more
# row per candidate in a wave's forward pass, and a class's first wave of 32 questions took 117 -> 97 ms
RERANK_TOKENS = 4
# The rerank takes the network's word only on answers it has learned. An entry added to the corpus after
# the network was trained is indexed (retrieval and copying write it) but its first tokens are unlikely to
# the network whatever the question: scored as they are, a learned neighbour won even where the words
# named the new entry. `answer_fit` measures each answer at build time (the mean log-probability of its
# first FIT_TOKENS tokens after its first training phrasing: learned answers about -0.05, answers never
# trained on below -4); one under LEARNED is scored in the rerank as the mean of the learned candidates
# beside it, so the words decide between them. Chosen on the dev set (bench/retrieval_dev.py: left-out
# phrasings of 264 entries the network never saw, answered 0.350 -> 0.417; those of the learned entries
# 0.707 -> 0.720; out of scope 30/30).
LEARNED = -2.0
# a role's subject word names a corner of the corpus if no more entries mention it (`_narrow`). At 2,983 entries:
# "javascript" 5.2% (the corpus has grown a corner for it: 5% had turned the JavaScript tutor off), "http" 6.0%,
# "json" 7.4% are corners; "llm" 9.0%, "openai" 10%, "api" 16%, "python" 30% are what the whole course is about
SUBJECT_SHARE = 0.08
# where the network has not learned a candidate's answer (LEARNED), the entry classifier's logit joins the weights
# (engine/classifier.py): among answers the network never saw it is the better judge of which one was asked for
CLASSIFIER_WEIGHT = 0.5
COUNTERPART_GAP = 0.1  # a one-way translation link's lead over the next best (`counterparts`)
FIT_TOKENS = 24
MIX = 0.6  # the retrieved answers' share of a step's distribution (the network has the rest)
# ... once the reply follows an answer word for word (after its first token, which chooses among
# the answers), or is back on its words (REJOIN tokens in order): a sampled reply then stays on it
# (and only the answers it follows say what comes next: copy_probs).
# At 0.6, and scaled by the followed answer's weight, the network's share made a sampled reply at
# temperature 1 leave its answer somewhere in most long replies, and off its answer the network alone
# writes made-up words (bench/sampling.py, with min_p: 11 of 90 replies derailed; with this, 2 of 90).
# Greedy replies are the same but where two answers share their first words (2 of 150 dev questions,
# each the other entry's right answer).
MIX_EXACT = 0.9
# ... and at a reply's first token, where the answers (already weighed with the network's odds of their first
# tokens: `weigh`) have it and the network keeps a quarter. At MIX the network's likeliest first token could
# outdraw answers whose weight was split between them and begin none of them ("Put" for "strip newline python
# file", then spliced into another answer's words: 1 greedy reply of 150 on the dev set once the corpus grew);
# at 0.75 that reply begins its answer and the dev set's answers are otherwise the same (2 of 350 changed).
MIX_FIRST = 0.75
# ... and while it follows an answer the conversation wrote ("Your name is Ana" after "My name is Ana":
# `candidates`), which the network never learned: it was taught that it cannot see a user's name, and at
# MIX_EXACT its own words ("I", "a") began or derailed 7 in 20 replies at temperature 1 (min_p 0.1 drops a
# token under a tenth of the top one's: at 0.98 the network's share of any token is under that)
MIX_WRITTEN = 0.98
MATCH_MAX = 6  # longest generated suffix looked up in a candidate answer
REJOIN = 3  # a reply whose last tokens are this many of an answer's, in order, is following it again
GRAM_ENTRIES = 256  # answers whose token pairs are kept indexed (about 10 KB each)
SPELL_DF = 3  # a word in this many entries is one a typo can be corrected to (`Guide.spelled`)
SPELL_RARE = 2  # a question's word in at most this many entries may be a typo of a commoner one
SPELL = True  # `Guide.spelled` on (off: questions read as typed, as before; bench/retrieval_dev.py A/B runs)
LANG_VOTE = True  # `Guide.question_lang` asks the classifier where function words do not tell (off: as before)
LANG_MARGIN = 1  # function words and accents this far apart decide a question's language (`question_lang`)
LANG_SURE = 0.75  # else the classifier's entries in one language this share of its probability do
UNKNOWN_SHARE = 0.5  # more than this share of a question's content words never seen in the corpus: "I don't know"
RARE_SURE = 0.3  # the classifier's probability that vouches for an entry lacking one of a question's rare words
RARE_DF = 12  # a word used by fewer entries than this names something specific: the answer must have it
HONEST_TOPICS = ("unknowable", "no_realtime", "out_of_scope", "fallback")  # answers that say they can't know
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)  # words of 3+ letters
_LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)
# function words and the words questions are made of: they say how something is asked, not what about
_STOP = set("""the and for are was were you your yours this that these those with from what which who whom whose
when where why how does did done can could would should will shall may might must have has had not but about
tell explain give show please some any all its into than then there here they them their our ours she his her
him hers let lets make write say know want need like just also very much many more most one two three four five
six seven eight nine ten simple simply terms words sentences sentence short shortly brief briefly quick quickly
example examples mean means meaning define definition describe difference between vs versus really actually
is it me my we us an of to in on at by or as be if do so up no yes ok okay hey hi hello thanks thank
cant dont doesnt didnt isnt arent wasnt wont wouldnt shouldnt couldnt whats hows wheres thats theres youre
los las del una unos unas por para con sin que qué quien quién quienes cual cuál cuales como cómo cuando cuándo
donde dónde porque por qué sobre entre este esta estos estas ese esa eso esos esas algo alguna alguno mas más
muy pero tambien también dime explica explícame explicame cuenta cuéntame cuentame dame hazme escribe muestra
significa significado define definicion definición describe diferencia frases oraciones palabras breve
corto simple sencillo ejemplo ejemplos favor hola gracias son está están era fue ser hay tiene tienen puedo
puedes quiero necesito sabes saber conoces
detail details detailed depth overview summary summarize summarise beginner beginners newbie basics basic
detalle detalles detallado resumen resume principiante principiantes basico básico""".split())
_STOP_FOLDED = {"".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c)) for w in _STOP}


class _Spell:
    """The corpus' common words (`SPELL_DF`+ entries, 3+ letters), found by their one-letter deletions
    (SymSpell's idea, as `_variants`): a question's rare word one edit from one of them is read as it."""

    def __init__(self, words: list[str], n: np.ndarray, hashes: np.ndarray, entry: np.ndarray,
                 keep: np.ndarray | None = None):
        self.words, self.n = words, n  # most used first, and how many entries use each
        self.hashes, self.entry = hashes, entry  # each word's deletions' hashes, sorted, and whose they are
        self.keep = keep  # sorted hashes of real words one edit from a common one (`spelling_keep`)

    @classmethod
    def of(cls, counts: list[tuple[str, int]], keep: np.ndarray | None = None) -> "_Spell":
        """From (word, entries) pairs, most used first; the table is built here, at index build (built at
        load, its Python temporaries left the process 2.5 MB bigger, the gateway's peak 5 MiB)."""
        keys = sorted((_hash(v), i) for i, (w, _) in enumerate(counts) for v in _deletions(w))
        return cls([w for w, _ in counts], np.array([min(n, 65535) for _, n in counts], dtype=np.uint16),
                   np.array([h for h, _ in keys], dtype=np.uint32), np.array([i for _, i in keys], dtype=np.int32), keep)

    def neighbours(self, word: str) -> list[int]:
        """The common words (indices, most used first) one edit from `word`."""
        keys = np.array([_hash(v) for v in _deletions(word)], dtype=np.uint32)
        lo, hi = np.searchsorted(self.hashes, keys), np.searchsorted(self.hashes, keys, side="right")
        found = sorted({int(i) for a, b in zip(lo, hi) for i in self.entry[a:b]})
        return [i for i in found if self.words[i] != word and _one_edit(word, self.words[i])]

    def correct(self, word: str, n: int) -> str | None:
        """The most used common word one edit from `word` (a letter added, dropped, replaced or two
        swapped) that is used in `SPELL_DF` times as many entries as `word` (`n`); None if none is."""
        if self.keep is not None:  # a real word, rare here: not a typo ("zones", "vocales", "Kenya")
            at = int(np.searchsorted(self.keep, _hash(word)))
            if at < len(self.keep) and self.keep[at] == _hash(word):
                return None
        for i in self.neighbours(word):  # most used first
            if int(self.n[i]) < SPELL_DF * max(n, 1):
                return None
            if _typo(word, self.words[i]):
                return self.words[i]
        return None


def _typo(typed: str, word: str) -> bool:
    """`typed` (one edit from `word`) reads as a slip of the keys, not another form of the word: its first
    letter is right (a slip there is rare), and it is not `word` with another ending ("sirvo" is not
    "sirve", "secuencias" not "secuencia": one of its last two letters replaced, or one added at the end)."""
    if typed[0] != word[0]:
        return False
    if len(typed) == len(word):
        at = next(i for i, (a, b) in enumerate(zip(typed, word)) if a != b)
        return at < len(word) - 2 or typed[at:] == word[at:][::-1]  # a swap at the end is a slip ("tets")
    return not (len(typed) == len(word) + 1 and typed.startswith(word))


def _deletions(word: str) -> list[str]:
    return [word] + [word[:i] + word[i + 1:] for i in range(len(word))]


def _one_edit(a: str, b: str) -> bool:
    """`a` and `b` differ by one inserted, deleted or replaced letter, or two adjacent letters swapped."""
    if abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1:] == b[i + 1:] or (a[i + 2:] == b[i + 2:] and a[i:i + 2] == b[i:i + 2][::-1])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return short[i:] == long_[i + 1:]


class _Exact:
    """`_phrase_hash` of each training phrasing -> the entries it belongs to, as two sorted arrays (a dict of
    sets took 5.9 MB)."""

    def __init__(self, hashes: np.ndarray, entry: np.ndarray):
        order = np.argsort(hashes, kind="stable")
        self.hashes, self.entry = hashes[order], entry[order]

    def __bool__(self) -> bool:
        return len(self.hashes) > 0

    def get(self, h: int, default=()):
        a, b = int(np.searchsorted(self.hashes, h, side="left")), int(np.searchsorted(self.hashes, h, side="right"))
        return set(self.entry[a:b].tolist()) if b > a else default

    def __getitem__(self, h: int) -> set[int]:
        got = self.get(h, None)
        if got is None:
            raise KeyError(h)
        return got


class Guide:
    """The retrieval index plus every entry's answer as token ids."""

    def __init__(self, index: LexicalIndex, answers: list[list[int]], end_id: int, vocab: int,
                 known: np.ndarray | None = None, unknown_entry: dict[str, int] | None = None):
        ids = list(range(vocab))  # one int object per token id, shared by every answer (not one per place: 6 MB)
        self.index, self.end_id, self.vocab = index, end_id, vocab
        self.answers = [tuple(ids[t] if 0 <= t < vocab else t for t in a) for a in answers]
        self.known = known  # sorted hashes of the corpus' words and their one-letter deletions (None: v2)
        self.unknown_entry = unknown_entry or {}  # language -> the "I don't know that" entry
        self.rare: dict[int, int] = {}  # hash of a rare word -> entries using it
        self.honest: set[int] = set()  # entries whose answer says it cannot know
        self.folded: list[str] = []  # each answer folded, to look rare words up in
        self.asked_rare: list[frozenset] = []  # each entry's rare words as its training phrasings ask them (hashes)
        # entry -> each training phrasing's content words (hashes), as tuples (a third of a frozenset's memory)
        self.phrasing_words: dict[int, list[tuple]] = {}
        self._repeats: tuple[int, dict] | None = None
        self.exact: dict[int, set[int]] | _Exact = {}  # `_phrase_hash` of a training phrasing -> its entries
        self.lang: list[str] = []  # each entry's language ("en", "es"): answers come in the question's
        self._grams: dict[int, dict[int, list[int]]] = {}  # entry -> {token pair: where it ends}
        self.tok = None  # the tokenizer (Guide.load): a reply may spell an answer's words in other tokens
        self._spelled: dict[int, tuple[str, dict[int, int]]] = {}  # entry -> (its text, {len(text of a[:k]): k})
        self.learned: list[bool] | None = None  # each answer learned by the network (`answer_fit`; None: all)
        self.df: tuple[np.ndarray, np.ndarray] | None = None  # sorted word hashes, how many entries use each
        self.counterpart: list[int] = []  # each entry's translation in the other language, -1 none (`counterparts`)
        self.spell: _Spell | None = None  # the corpus' common words, to correct a question's typos to
        self._lang_masks: dict[str, np.ndarray] = {}  # each language's entries (`_lang_mask`)

    @classmethod
    def load(cls, path: Path, tok) -> "Guide":
        index = LexicalIndex.load(path)
        z = np.load(path)
        texts = json.loads(bytes(z["answers"]).decode())
        known = z["known"] if "known" in z.files else None
        unknown = json.loads(bytes(z["unknown_entry"]).decode()) if "unknown_entry" in z.files else None
        guide = cls(index, [tok.encode(t) for t in texts], tok.end_id, tok.vocab_size, known, unknown)
        guide.tok = tok
        if "rare_hash" in z.files:
            guide.rare = dict(zip(z["rare_hash"].tolist(), z["rare_df"].tolist()))
            guide.honest = set(z["honest"].tolist())
            guide.folded = [_fold(t) for t in texts]
        if "asked_rare_ptr" in z.files:
            ptr, hashes = z["asked_rare_ptr"].tolist(), z["asked_rare"].tolist()
            guide.asked_rare = [frozenset(hashes[a:b]) for a, b in zip(ptr, ptr[1:])]
        if "phrasing_words_ptr" in z.files:  # built here, not when asked: a class's burst of questions waits on it
            ptr, hashes = z["phrasing_words_ptr"].tolist(), z["phrasing_words"].tolist()
            one: dict[int, int] = {}  # one int object per word hash, shared by the phrasings that use it
            hashes = [one.setdefault(h, h) for h in hashes]
            for e, a, b in zip(z["phrasing_entry"].tolist(), ptr, ptr[1:]):
                guide.phrasing_words.setdefault(e, []).append(tuple(hashes[a:b]))
        if "phrasing_exact" in z.files:
            guide.exact = _Exact(z["phrasing_exact"], z["phrasing_entry"])
        if "entry_lang" in z.files:
            guide.lang = json.loads(bytes(z["entry_lang"]).decode())
        if "answer_fit" in z.files:
            guide.learned = (z["answer_fit"] > LEARNED).tolist()
        if "counterpart" in z.files:
            guide.counterpart = z["counterpart"].tolist()
        if "df_hash" in z.files:
            guide.df = (z["df_hash"], z["df_n"])
        if "spell_words" in z.files:
            guide.spell = _Spell(json.loads(bytes(z["spell_words"]).decode()), z["spell_n"], z["spell_hashes"],
                                 z["spell_entry"], z["spell_keep"])
        return guide

    @staticmethod
    def save(path: Path, index: LexicalIndex, answers: list[str], df: dict[str, int] | None = None,
             unknown_entry: dict[str, int] | None = None, honest: list[int] | None = None,
             lang: list[str] | None = None, asked: list[set[str]] | None = None,
             phrasings: list[tuple[int, list[str]]] | None = None, exact: list[int] | None = None,
             fit: np.ndarray | None = None, counterpart: list[int] | None = None, said: set[str] | None = None) -> None:
        """`df`: each word of the corpus -> how many entries use it (v3's knowing what it doesn't);
        `asked`: each entry's content words in its training phrasings (the rare ones are kept);
        `phrasings`: each training phrasing's entry and content words; `fit`: `answer_fit`'s figures;
        `counterpart`: `counterparts`' links; `said`: the answers' words (`spelling_keep`)."""
        index.save(path)
        z = dict(np.load(path))
        z["answers"] = np.frombuffer(json.dumps(answers, ensure_ascii=False).encode(), dtype=np.uint8)
        if df is not None:
            z["known"] = np.unique(np.array([_hash(v) for w in df for v in _variants(w)], dtype=np.uint32))
            rare = sorted((_hash(w), n) for w, n in df.items() if n < RARE_DF)
            z["rare_hash"] = np.array([h for h, _ in rare], dtype=np.uint32)
            every = sorted({_hash(w): n for w, n in df.items()}.items())  # every word's count (`_narrow`)
            z["df_hash"] = np.array([h for h, _ in every], dtype=np.uint32)
            z["df_n"] = np.array([min(n, 65535) for _, n in every], dtype=np.uint16)
            z["rare_df"] = np.array([n for _, n in rare], dtype=np.uint16)
            common = sorted(((w, n) for w, n in df.items() if n >= SPELL_DF and len(w) >= 3), key=lambda x: (-x[1], x[0]))
            spell = _Spell.of(common)
            z["spell_words"] = np.frombuffer(json.dumps(spell.words, ensure_ascii=False).encode(), dtype=np.uint8)
            z["spell_n"], z["spell_hashes"], z["spell_entry"] = spell.n, spell.hashes, spell.entry
            z["spell_keep"] = spelling_keep(spell, set(said or ()))
            z["honest"] = np.array(sorted(honest or []), dtype=np.int32)
            if asked is not None:
                per = [sorted({_hash(w) for w in ws if df.get(w, RARE_DF) < RARE_DF}) for ws in asked]
                z["asked_rare_ptr"] = np.cumsum([0] + [len(h) for h in per]).astype(np.int32)
                z["asked_rare"] = np.array([h for hs in per for h in hs], dtype=np.uint32)
            if phrasings is not None:
                per = [sorted({_hash(w) for w in ws}) for _, ws in phrasings]
                z["phrasing_entry"] = np.array([e for e, _ in phrasings], dtype=np.int32)
                z["phrasing_words_ptr"] = np.cumsum([0] + [len(h) for h in per]).astype(np.int32)
                z["phrasing_words"] = np.array([h for hs in per for h in hs], dtype=np.uint32)
                if exact is not None:  # each phrasing's `_phrase_hash`, in the same order
                    z["phrasing_exact"] = np.array(exact, dtype=np.uint32)
        if unknown_entry:
            z["unknown_entry"] = np.frombuffer(json.dumps(unknown_entry).encode(), dtype=np.uint8)
        if lang:
            z["entry_lang"] = np.frombuffer(json.dumps(lang).encode(), dtype=np.uint8)
        if fit is not None:
            z["answer_fit"] = np.asarray(fit, dtype=np.float16)
        if counterpart is not None:
            z["counterpart"] = np.asarray(counterpart, dtype=np.int32)
        np.savez_compressed(path, **z)

    def _narrow(self, subject: str) -> str:
        """The words of a role's subject that name a corner of the corpus: those no more than SUBJECT_SHARE
        of the entries use ("javascript", "sql"); "python", "api" and "llm" are what the whole course is
        about, and would pull "Give me an example of one." to any answer that names them."""
        if self.df is None:
            return ""
        words = []
        for w in subject.split():
            n = max(self._df(v) for v in {w, w[:-1] if len(w) > 3 and w.endswith("s") else w})  # "apis" is "api"
            if n <= SUBJECT_SHARE * len(self.answers):
                words.append(w)
        return " ".join(words)

    def _mentions(self, e: int, words: str) -> bool:
        """Whether entry `e`'s answer or one of its training phrasings has one of `words`."""
        text = self.folded[e] if e < len(self.folded) else ""
        if any(re.search(r"(?<!\w)" + re.escape(_fold(w)) + r"(?!\w)", text) for w in words.split()):
            return True
        hashes = {_hash(w) for w in content_words(words)}
        return any(hashes.intersection(p) for p in self.phrasing_words.get(e, ()))

    def _translated(self, found: list[tuple[int, float]], lang: str) -> list[tuple[int, float]]:
        """`found`'s entries as their translations into `lang` (`counterparts`), those that have one,
        if the best one has ("Always answer in Spanish." then "What is Python?" finds only English
        entries by its words); none otherwise (a neighbour's translation is another answer). Only for a
        language asked for in so many words: a question's detected language can be wrong ("contar
        vocales en python" reads as English), its own words' entries are not."""
        out: dict[int, float] = {}
        for e, s in found:
            c = self.counterpart[e] if e < len(self.counterpart) else -1
            if c >= 0 and self.lang[c] == lang:
                out.setdefault(c, s)
            elif not out:
                return []
        return list(out.items())

    def _lang_mask(self, lang: str) -> np.ndarray:
        """Which entries are in `lang` (built once per language)."""
        if lang not in self._lang_masks:
            self._lang_masks[lang] = np.array([x == lang for x in self.lang])
        return self._lang_masks[lang]

    def _in_language(self, queries: list[str], lang: str, like: int | None = None) -> list[tuple[int, float]]:
        """The question looked up among `lang`'s entries alone, under the same honesty rules, where nothing
        found has a translation link ("What is an API?" has two Spanish answers, so neither is its one
        translation): the entries its words reach across the languages (names, code, cognates: "API", "HTTP",
        "recursion"/"recursión") one of whose training phrasings the question names whole; of several, the
        one most like `like`, the entry found in the question's own language. A question whose words are no
        names or cognates ("Why is the sky blue?": "cielo azul") keeps the answer in its own language."""
        # its content words alone: the other language's function words only find what shares them ("What
        # is Python?" found Python's `is` operator)
        words = content_words(queries[0])
        if not words:
            return []
        pool = POOL if self.phrasing_words else LEXICAL_TOP
        found = self._about(queries, self.index.top(" ".join(words), pool, MIN_SCORE, among=self._lang_mask(lang)))
        # and only an entry one of whose training phrasings the question names whole: its words shared across the
        # languages are the whole of what that phrasing asks ("python", "qué es kubernetes", "api significado")
        # and most of what the question asks ("count to five please" is not "count sql", nor "how many users do
        # I need for an a/b test" "test": a word in common is not a question in common)
        named = {_hash(w) for w in words}
        found = [(e, s) for e, s in found if any(2 * len(p) > len(named) and named.issuperset(p)
                                                 for p in self.phrasing_words.get(e, ()))]
        if len(found) > 1 and like is not None and self.folded:
            # several ask it so ("python" alone is a phrasing of the for loop's entry too): the one whose answer is
            # most like the answer found in the question's language (names, code, cognates), alone
            near = self.index.scores(self.folded[like])
            found = [max(found, key=lambda c: near[c[0]])]
        return found[:LEXICAL_TOP]

    def candidates(self, query: str | list[str]) -> list[tuple[int | tuple, float]]:
        """The best entries for the query (for several queries: the one matching best); the
        "I don't know" entry alone when the (last) question is mostly about words never seen. An entry is
        an index into `answers`, or an answer's token ids themselves where the conversation writes it (the
        user's name, asked for: `follow.recalled_name`)."""
        queries = [self.spelled(q) for q in ([query] if isinstance(query, str) else query)]
        typed = list(getattr(query, "typed", None) or [])  # the texts before form instructions were taken out
        written = getattr(query, "written", None)
        if written and self.tok is not None:  # an answer the conversation writes (a tool result: results.py)
            return [(tuple(self.tok.encode(written)), 1.0)]
        name = getattr(query, "name", None)
        if name and self.tok is not None and queries:  # "What's my name?" after "My name is Ana" (follow.py)
            from .follow import recall_answer

            lang = getattr(query, "lang", None) or self.question_lang(self.spelled(typed[0]) if typed else queries[0])
            return [(tuple(self.tok.encode(recall_answer(name, lang))), 1.0)]
        # more than kept (an index built with the per-phrasing words; before, as many): the rare-word rules
        # drop entries that outrank the one about the question, and the answer in the language asked for
        # can rank just below its translation
        pool = POOL if self.phrasing_words else LEXICAL_TOP
        tops = [self.index.top(q, pool, MIN_SCORE) for q in queries]
        best = max(tops, key=lambda t: t[0][1] if t else -1.0, default=[])
        subject = self._narrow(getattr(query, "subject", ""))
        if subject and queries and self.folded:
            # the role's subject ("You are a JavaScript tutor."): the question looked up with it ("How do I write
            # a loop?" alone finds Python's loops), and where answers name the subject and the question's own
            # words, only those ("You are a weather bot." is no reason to answer "What is an API?" with the
            # weather: none of the weather answers names an API, so the question's own answers stay)
            own = " ".join(content_words(queries[0]))
            on: dict[int, float] = {}
            for e, sc in self.index.top(f"{queries[0]} {subject}", pool, MIN_SCORE) + best:
                if e not in on and self._mentions(e, subject) and (not own or self._mentions(e, own)):
                    on[e] = sc
            if on:
                best = list(on.items())
        about = self._about(queries, best)
        found, spare = about[:LEXICAL_TOP], about[LEXICAL_TOP:2 * LEXICAL_TOP]  # translations rank close
        # the language asked for (a system prompt's "answer in Spanish": engine/follow.py), else the question's
        asked = getattr(query, "lang", None)
        # read as typed: "in simple terms" says English, "backpropagation" alone (what is looked up) does not
        lang = asked or (self.question_lang(self.spelled(typed[0]) if typed else queries[0]) if queries else "en")
        if queries and self.unknown_entry and (not found or self.unknown_share(queries[0]) > UNKNOWN_SHARE):
            entry = self.unknown_entry.get(lang, self.unknown_entry.get("en"))
            return [(entry, 1.0)] if entry is not None else found
        if queries and self.lang and found:  # the same answer exists in both languages: that one wins
            # (none in it among the first: the best-scored one just below, as the best one's translation)
            mine = [(e, s) for e, s in found if self.lang[e] == lang]
            near = sorted([(e, s) for e, s in spare if self.lang[e] == lang], key=lambda c: -c[1])[:1]
            if asked:  # the best entry's own translation before a neighbour that happens to be in the language
                # asked for ("What is Kubernetes?": Kubernetes' Spanish entry, not the Spanish one on pods)
                found = (mine or self._translated(found, lang) or near
                         or self._in_language(queries, lang, found[0][0]) or found)
            else:
                found = mine or near or found
            if lang in self.unknown_entry and all(e in self.honest and self.lang[e] != lang for e, _ in found):
                # only another language's "I can't know" ("What is the GIL?" found "edad de Marta Gil"): the
                # question's own "I don't know that"
                return [(self.unknown_entry[lang], 1.0)]
        if queries and len(found) > 1 and self.exact:
            # the question is word for word one of an entry's training phrasings: that entry (or those that
            # share the phrasing), not a neighbour the network finds likelier (an answer it learned by heart
            # outscores one it never saw: "Explain how AI works in a few words" went to the pricing answer)
            # as typed too: "one-sentence" is in the phrasing
            same = set().union(*(self.exact.get(_phrase_hash(t), ()) for t in (typed or queries)[:1] + queries[:1]))
            found = [(e, s) for e, s in found if e in same] or found
        greet = getattr(query, "greet", None)
        if greet and found and self.tok is not None:  # "Hi, my name is Isa": the greeting says the name back
            text = self.tok.decode(list(self.answers[found[0][0]]))
            m = re.match(r"(¡?[^\W\d_]+)!", text)
            if m:
                return [(tuple(self.tok.encode(f"{m[1]}, {greet}!{text[m.end():]}")), 1.0)]
        return found

    def spelled(self, text: str) -> str:
        """The question with each rare word one typo away from a common word of the corpus read as that
        word ("que es un archivo swager", "what is a mime tipe"): the rare-word rules would otherwise ask
        the answers for the typo itself."""
        if not SPELL or self.spell is None or self.df is None or not isinstance(text, str):
            return text

        def fix(m: re.Match) -> str:
            w = _fold(m.group(0))
            if len(w) < 4 or w in _STOP_FOLDED or (m.start() > 0 and not m.group(0).islower()):
                return m.group(0)  # a name or an acronym past the first word ("Mount Kenya", "BERT") as typed
            n = self._df(w)
            return (self.spell.correct(w, n) if n <= SPELL_RARE else None) or m.group(0)

        return _LETTERS.sub(fix, text)

    def _df(self, word: str) -> int:
        """How many entries use `word` (0: none; `df`)."""
        hashes, counts = self.df
        h = _hash(word)
        at = int(np.searchsorted(hashes, h))
        return int(counts[at]) if at < len(hashes) and hashes[at] == h else 0

    def question_lang(self, text: str) -> str:
        """The question's language: its function words and accents (`corpus.lang_cues`) where they are
        clear, else the language of the entries the classifier finds for it ("modelo multimodal ejemplos",
        "explícame range en python"). A question with no word ("429") has no language to find: English."""
        from .corpus import lang_cues

        es, en = lang_cues(text, more=True)
        if (LANG_VOTE and abs(es - en) < LANG_MARGIN and self.index.classifier is not None and self.lang
                and _LETTERS.search(text)):
            p = self.index.classifier.probs(text)
            total = float(p.sum())
            if total > 0:
                share = float(p[self._lang_mask("es")].sum()) / total
                if share >= LANG_SURE:
                    return "es"
                if share <= 1 - LANG_SURE:
                    return "en"
        return "es" if es > en else "en"

    def declines(self, query: str | list[str]) -> bool:
        """Retrieval has no answer to the question: its only candidates say they cannot know."""
        return all(e in self.honest for e, _ in self.candidates(query))

    def _about(self, queries: list[str], found: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """The retrieved entries that are about the (last) question: honesty's rare-word rules."""
        found = [(e, s) for e, s in found if s >= MIN_SCORE]
        if queries and self.rare:
            words = content_words(queries[0])
            rare = [w for w in words if _hash(w) in self.rare]
            kept = [(e, s) for e, s in found if e in self.honest or all(self._covers(e, w) for w in rare)]
            if not kept and len(rare) >= 2 and self.index.classifier is not None:
                # no answer has every rare word: one the classifier is sure of that lacks only one of them
                # ("loss exploding pytorch": the learning-rate answer says neither "exploding" nor "pytorch"
                # in those words, but its phrasings' other words point there)
                p = self.index.classifier.probs(queries[0])
                kept = [(e, s) for e, s in found if p[e] >= RARE_SURE and sum(not self._covers(e, w) for w in rare) == 1]
            found = kept
            if self.phrasing_words and not all(self._known(w) for w in words):
                # a word never seen, likely in the place of what an entry is asked about: the entry
                # stays only when the question names every content word of one of its phrasings
                # ("capital of Mongolia" is neither "capital of France" nor "spanish capital";
                # "explain docker to my grandmother" is still "explain docker")
                named = {_hash(w) for w in words}
                found = [(e, s) for e, s in found if e in self.honest
                         or any(named.issuperset(p) for p in self.phrasing_words.get(e, [()]))]
        if queries and self.phrasing_words and self.folded:
            # about the question at all: a candidate's answer or training phrasings name at least one of
            # its content words ("Tell me about Canada." is not "Tell me a joke", however close the latent
            # half puts them); a question with no content words keeps them all
            words = content_words(queries[0])
            nums = set(_DIGITS.findall(queries[0]))
            if words and not (nums and set(words) <= _ARITHMETIC):
                named = {_hash(w) for w in words}
                found = [(e, s) for e, s in found if e in self.honest or any(w[:5] in self.folded[e] for w in words)
                         or any(not named.isdisjoint(p) for p in self.phrasing_words.get(e, ()))]
            else:  # no content words, or only arithmetic's: its numbers are what it asks about ("What is 20% of
                # 50?", "What is 10 percent of 50?"), and an answer that lacks one of them is not about it ("Half
                # of 50 is 25.", a "15" in a URL, the 10%-of-the-brain myth)
                found = [(e, s) for e, s in found if e in self.honest or nums <= set(_DIGITS.findall(self.folded[e]))]
        asked = sums(queries[0]) if queries and self.folded else set()
        if asked:  # a sum: only an answer that does that sum is about it ("1 + 1 = 2." is not "3 + 1")
            found = [(e, s) for e, s in found if asked <= _commuted(sums(self.folded[e]))]
        elif queries and self.folded:  # an answer that is only a sum ("15 − 7 = 8.") is about that sum
            found = [(e, s) for e, s in found if not _BARE_SUM.fullmatch(self.folded[e])]  # "15% of 80?"
        return found

    def _covers(self, e: int, word: str) -> bool:
        """Entry `e` is about the rare `word`: its answer has it, or its training phrasings ask with it
        ("Introduce yourself in French" is answered in French, without the word "French")."""
        return word[:5] in self.folded[e] or (e < len(self.asked_rare) and _hash(word) in self.asked_rare[e])

    def unknown_share(self, text: str) -> float:
        """The share of the text's content words that the corpus never used (a typo of a known
        word counts as known); 0 when the text has no content words or the index has no vocabulary."""
        if self.known is None:
            return 0.0
        words = content_words(text)
        if not words:
            return 0.0
        unknown = sum(1 for w in words if not self._known(w))
        return unknown / len(words)

    def _known(self, word: str) -> bool:
        keys = np.array([_hash(v) for v in _variants(word)], dtype=np.uint32)
        at = np.searchsorted(self.known, keys)
        at[at >= len(self.known)] = 0
        return bool((self.known[at] == keys).any())

    def weigh(self, cands: list[tuple[int, float]], first_logp: np.ndarray, score_rest,
              query: str | list[str] | None = None) -> list[tuple[int, float]]:
        """Candidates' weights: lexical score and the network's log-likelihood of each answer's
        first tokens (`first_logp`: log-probs after the prompt; `score_rest(seqs)`: for each
        sequence, the log-prob of s[1:] given the prompt and s[0]); where the network has not learned
        one of them, the classifier's word on `query` (the one `candidates` was given) too. One
        candidate weighs 1 whatever the network says (the softmax of one number), so it is not
        scored: no rerank rows for it."""
        if len(cands) == 1:
            return [(cands[0][0], 1.0)]
        firsts = [list(self.answers[e][:RERANK_TOKENS]) for e, _ in cands]
        rest = iter(score_rest(self.rerank_seqs(cands)))
        lls = [float(first_logp[a[0]]) + (next(rest) if len(a) > 1 else 0.0) for a in firsts]
        if self.learned is not None and not all(self.learned[e] for e, _ in cands):  # see LEARNED
            known = [ll for (e, _), ll in zip(cands, lls) if self.learned[e]]
            mean = sum(known) / len(known) if known else 0.0
            lls = [ll if self.learned[e] else mean for (e, _), ll in zip(cands, lls)]
            text = query[0] if isinstance(query, list) and query else query  # the (last) question
            if text and self.index.classifier is not None:
                z = self.index.classifier.logits(self.spelled(text), [e for e, _ in cands])
                lls = [ll + CLASSIFIER_WEIGHT * float(x) for ll, x in zip(lls, z)]
        logits = [s / LEXICAL_TEMPERATURE + ll for (_, s), ll in zip(cands, lls)]
        z = np.exp(np.array(logits) - max(logits))
        z /= z.sum()
        return [(e, float(p)) for (e, _), p in zip(cands, z)]

    def _answer(self, e: int | tuple) -> tuple:
        """An entry's answer as token ids (an answer the conversation wrote is its own ids: `candidates`)."""
        return e if isinstance(e, tuple) else self.answers[e]

    def rerank_seqs(self, cands: list[tuple[int, float]]) -> list[list[int]]:
        """The sequences `weigh` has the network score (its `score_rest`): each candidate answer's first
        tokens, when it has more than one; none for a lone candidate (it weighs 1 unscored)."""
        if len(cands) < 2:
            return []
        return [q for q in (list(self.answers[e][:RERANK_TOKENS]) for e, _ in cands) if len(q) > 1]

    def repeats(self, n: int) -> dict[tuple, int]:
        """The n-grams of token ids that an answer has more than once, and the most times one answer
        has each: repeating them is copying, not looping (`sampling.no_repeat`). Worked out once."""
        if self._repeats is None or self._repeats[0] != n:
            most: dict[tuple, int] = {}
            for a in self.answers:
                counts = Counter(tuple(a[i:i + n]) for i in range(len(a) - n + 1))
                for g, c in counts.items():
                    if c > 1 and c > most.get(g, 1):
                        most[g] = c
            self._repeats = (n, most)
        return self._repeats[1]

    def copy_probs(self, weights: list[tuple[int, float]], out: list[int]) -> tuple[np.ndarray, float, float] | None:
        """Where the candidates' answers say the text goes next, the weight that says so, and how
        much of that weight is answers the text follows word for word (not counting the first token).
        An answer the reply follows is what it goes on with: another answer whose words the reply
        happens to share ("sunlight" in two answers) does not pull it over mid-sentence; those
        matches (`_continuations`) bring a reply that left every answer back onto one."""
        p = np.zeros(self.vocab)
        mass = exact = 0.0
        n = len(out)
        rest = []
        for e, w in weights:
            a = self._answer(e)
            if n <= len(a) and a[:n] == tuple(out):  # following this answer exactly
                p[a[n] if n < len(a) else self.end_id] += w
                mass += w
                # the first token chooses among the answers: not yet following one (but an answer the
                # conversation wrote is no guess: followed from its first token)
                exact += w if n or isinstance(e, tuple) else 0.0
            else:
                rest.append((e, w))
        if mass > 0:
            p /= np.add.reduce(p)
            return p, mass, exact
        text = self.tok.decode(out) if self.tok is not None and rest and n else None
        for e, w in rest:  # an answer's own words so far, in other tokens ("Sun" "light" for "S" "un" "l" "ight")
            k = self._spelled_as(e, text, n) if text else None
            if k is not None:
                a = self._answer(e)
                p[a[k] if k < len(a) else self.end_id] += w
                mass += w
                exact += w
        if mass > 0:
            p /= np.add.reduce(p)
            return p, mass, exact
        for e, w in rest:
            nxt, matched = self._continuations(e, out)
            if nxt:
                for t in nxt:
                    p[t] += 0.5 * w / len(nxt)
                mass += 0.5 * w
                if matched >= REJOIN:  # back on the answer's words after leaving them: following it again
                    exact += 0.5 * w
        if mass <= 0:
            return None
        p /= np.add.reduce(p)
        return p, mass, exact

    def _spelled_as(self, e: int, text: str, n: int) -> int | None:
        """k when the reply's `text` (its `n` tokens) is exactly the text of answer `e`'s first k tokens,
        written in other tokens (the network may pick a longer token than the answer's own)."""
        if n > len(self._answer(e)) + 8:  # far longer in tokens than the answer: not the same words
            return None
        got = self._spelled.get(e)
        if got is None:
            a = self._answer(e)
            got = (self.tok.decode(a), {len(self.tok.decode(a[:k])): k for k in range(1, len(a) + 1)})
            if len(self._spelled) >= GRAM_ENTRIES:
                self._spelled.clear()
            self._spelled[e] = got
        full, ends = got
        k = ends.get(len(text))
        return k if k is not None and full.startswith(text) else None

    def _continuations(self, e: int, out: list[int]) -> tuple[list[int], int]:
        """What follows, in answer `e`, each place where the longest of the text's last 6..2 tokens
        occurs (in order of place; the end of the answer where it ends there), and that length."""
        if len(out) < 2:
            return [], 0
        a = self._answer(e)
        places = self._grams.get(e)
        if places is None:  # built once per entry: a reply's every step looks its candidates up
            places = {}  # (token, next token) as one int -> where the pair ends in the answer
            for j in range(1, len(a)):
                places.setdefault(a[j - 1] << 16 | a[j], []).append(j)
            if len(self._grams) >= GRAM_ENTRIES:
                self._grams.clear()
            self._grams[e] = places
        top = min(MATCH_MAX, len(out))
        best, found = 0, []
        for j in places.get(out[-2] << 16 | out[-1], ()):
            m = 2  # how many of the text's last tokens end at j
            while m < top and m <= j and a[j - m] == out[-1 - m]:
                m += 1
            if m > best:
                best, found = m, [j]
            elif m == best:
                found.append(j)
        return [a[j + 1] if j + 1 < len(a) else self.end_id for j in found], best

    def step(self, p_lm: np.ndarray, weights: list[tuple[int, float]], out: list[int], keep=None) -> np.ndarray:
        """The next token's distribution after the reply so far (`out`): the network's with the weighted
        answers mixed in; `keep` counts only at the first step (a tool call starts there or not at all)."""
        return self.mix(p_lm, self.copy_probs(weights, out), None if out else keep, first=not out,
                        written=any(isinstance(e, tuple) for e, _ in weights))

    @staticmethod
    def mix(p_lm: np.ndarray, copy: tuple[np.ndarray, float, float] | None, keep=None,
            first: bool = False, written: bool = False) -> np.ndarray:
        """The network's distribution with the answers' mixed in. The tokens `keep` (a tool call's
        first tokens) keep the network's own odds and the other tokens share the rest as the mixture
        does; where the network's likeliest token is one of `keep` (or would become the likeliest),
        the network's distribution as it is: a greedy reply decides as the network does. `first`: the
        reply's first token (the answers have MIX_FIRST of it). `written`: the answer is the conversation's
        (MIX_WRITTEN of each step while the reply follows it)."""
        if copy is None:
            return p_lm
        p_copy, mass, exact = copy
        lam = (MIX_WRITTEN if written else MIX_EXACT) if exact > 0 else (MIX_FIRST if first else MIX) * min(mass, 1.0)
        out = np.multiply(p_copy, lam, out=p_copy)  # copy_probs' array is this call's own: no temporary
        out += (1.0 - lam) * p_lm
        if keep is not None and len(keep):
            top = int(p_lm.argmax())
            if p_lm[keep].max() >= p_lm[top]:
                return p_lm
            net = float(p_lm[keep].sum())
            out[keep] = 0.0
            rest = out.sum()
            if rest > 0:
                out *= (1.0 - net) / rest
            out[keep] = p_lm[keep]
            if out[keep].max() >= out.max():
                return p_lm
        return out


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


# a small model cannot compute: for a sum it was not taught, the nearest one it knows ("1 + 1 = 2.")
# would be a confident wrong answer. A sum is two numbers (digits or words) with an operation between
_NUMBER_WORDS = {w: str(i) for words in (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty", "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce "
    "trece catorce quince dieciseis diecisiete dieciocho diecinueve veinte") for i, w in enumerate(words.split())}
_OPERATIONS = {"+": "+ plus mas", "-": "- − minus menos take_away", "*": "* × x times por veces multiplied_by multiplicado_por",
               "/": "/ ÷ divided_by over entre dividido_entre dividido_por", "^": "^"}
_OPERATION = {w.replace("_", " "): op for op, words in _OPERATIONS.items() for w in words.split()}
_NUM = r"(\d+(?:[.,]\d+)?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")"
_SUM = re.compile(rf"(?<!\w){_NUM}\s*(" + "|".join(re.escape(w) for w in sorted(_OPERATION, key=len, reverse=True))
                  + rf")\s*(?={_NUM}(?!\w))")
_NUMBER_RE = re.compile(_NUM)
_DIGITS = re.compile(r"\d+")
# words a question about a calculation has besides its numbers (content_words' forms: folded, 3+ letters)
_ARITHMETIC = {"percent", "percentage", "ciento", "porciento", "porcentaje", "cuanto", "cuantos", "cuanta", "calcula",
               "calculate", "compute", "times", "veces", "plus", "minus", "menos", "divided", "dividido",
               "multiplied", "multiplicado", "half", "mitad", "double", "doble"}
_BARE_SUM = re.compile(r"\s*\d+(?:[.,]\d+)?\s*[-+−×÷*/x^]\s*\d+(?:[.,]\d+)?\s*(?:=|son|es|is|equals)\s*-?\d+(?:[.,]\d+)?\.?\s*")
# the same asked with a verb: "Add 3 and 4", "the sum of 3 and 4", "subtract 4 from 9" (9 - 4),
# "multiply 3 by 4", "divide 12 by 3", and in Spanish ("suma 3 y 4", "resta 4 de 9", "multiplica 3 por 4")
_VERB_SUMS = [(re.compile(rf"(?<!\w)(?:{verbs})\s+{_NUM}\s+(?:{joins})\s+{_NUM}(?!\w)"), op, swap)
              for verbs, joins, op, swap in (
                  (r"add|sum(?: up)?|(?:the )?sum of|(?:the )?total of|suma|sumar|la suma de|anade|agrega", r"and|to|plus|\+|y|a|con|mas", "+", False),
                  (r"subtract|take|resta|restar|quita", r"from|away from|de|a", "-", True),
                  (r"the difference between|la diferencia entre", r"and|y", "-", False),
                  (r"multiply|multiplica|multiplicar|the product of|el producto de", r"by|and|times|por|y", "*", False),
                  (r"divide|divida|dividir|divide a", r"by|entre|por", "/", False))]


def sums(text: str) -> set[tuple[str, str, str]]:
    """The sums a text writes or asks for, as (number, operation, number): "What is three plus 4?",
    "Add 3 and 4" and "3 + 4 = 7" all have ("3", "+", "4")."""
    folded = _fold(text)
    found = {(a, _OPERATION[op], b) for a, op, b in ((m.group(1), m.group(2), _NUMBER_RE.match(folded, m.end()).group(1))
                                                     for m in _SUM.finditer(folded))}
    for pattern, op, swap in _VERB_SUMS:
        for m in pattern.finditer(folded):
            a, b = (m.group(2), m.group(1)) if swap else (m.group(1), m.group(2))
            found.add((a, op, b))
    return {(_NUMBER_WORDS.get(a, a), op, _NUMBER_WORDS.get(b, b)) for a, op, b in found}


def _commuted(found: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """The sums with their operands swapped too where the order does not matter ("3 veces 12" is 12 × 3)."""
    return found | {(b, op, a) for a, op, b in found if op in "+*"}


def content_words(text: str) -> list[str]:
    """The words that say what a question is about: folded (lower case, no accents), 3+ letters,
    no function or question words."""
    return [w for w in _WORD.findall(_fold(text)) if w not in _STOP_FOLDED]


def _variants(word: str) -> list[str]:
    """The word and, for 5+ letters, its one-letter deletions: two words match when they share a
    variant, i.e. they differ by one inserted, deleted, replaced or swapped letter (SymSpell's idea)."""
    return _deletions(word) if len(word) >= 5 else [word]


def _phrase_hash(text: str) -> int:
    """A text's words, folded, in order (punctuation and spacing aside): a question typed as one of
    an entry's training phrasings has that phrasing's hash."""
    return _hash(" ".join(re.findall(r"\w+", _fold(text))))


def _hash(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode())


def build(out_dir: Path, docs: list | None = None, classify: bool = True) -> dict:
    """Write `retrieval.npz` for the current corpus (training phrasings only) into `out_dir`;
    `docs`: other documents than `corpus.load()`'s (bench/retrieval_dev.py leaves phrasings out);
    `classify`: train the entry classifier too (engine/classifier.py; torch, about a minute)."""
    from . import corpus
    from .classifier import Classifier, train

    answers: list[str] = []
    entry: dict[str, int] = {}
    questions = []
    words: dict[int, set[str]] = {}
    asked: dict[int, set[str]] = {}  # entry -> content words of its training phrasings
    unknown: dict[str, int] = {}
    honest: set[int] = set()
    lang: list[str] = []
    for d in corpus.load() if docs is None else docs:
        e = entry.setdefault(d.answer, len(answers))
        if e == len(answers):
            answers.append(d.answer)
            lang.append(d.lang)
        questions += [(e, q) for q in d.questions]
        # training text only: held-out phrasings stay unseen
        asked.setdefault(e, set()).update(w for q in d.questions for w in content_words(q))
        words.setdefault(e, set()).update(asked[e], content_words(d.answer))
        if d.topic == "fallback":
            unknown.setdefault(d.lang, e)
        if d.topic.startswith(HONEST_TOPICS):
            honest.add(e)
    df: dict[str, int] = {}
    for ws in words.values():
        for w in ws:
            df[w] = df.get(w, 0) + 1
    path = Path(out_dir) / "retrieval.npz"
    said: dict[int, list[str]] = {}  # each entry's training phrasings, in order
    for e, q in questions:
        said.setdefault(e, []).append(q)
    first = {e: qs[0] for e, qs in said.items()}
    fit = answer_fit(Path(out_dir), answers, first) if (Path(out_dir) / "hf" / "config.json").exists() else None
    index = LexicalIndex.build(questions, answers)
    if classify:
        index.classifier = Classifier(train(questions, len(answers), answers=answers))
    Guide.save(path, index, answers, df, unknown, sorted(honest), lang,
               [asked.get(e, set()) for e in range(len(answers))], [(e, content_words(q)) for e, q in questions],
               [_phrase_hash(q) for _, q in questions], fit,
               counterparts(index, [" ".join(said.get(e, []) + [a]) for e, a in enumerate(answers)], lang),
               {w for a in answers for w in content_words(a)})
    return {"entries": len(answers), "phrasings": len(questions), "words": len(df), "bytes": path.stat().st_size,
            "learned": None if fit is None else int((fit > LEARNED).sum())}


def spelling_keep(spell: _Spell, said: set[str]) -> np.ndarray:
    """Sorted hashes of the real words one edit from a common word of the corpus: the English and Spanish
    dictionaries' (pyspellchecker's) and the answers' own (`said`: answers are spelled right; "xfail",
    "OpenAPI", "dunder"). Rare here ("during" is not "turing", "zones" not "ones"), `Guide.spelled`
    leaves them as typed. The common words' edits are spelled out and looked up among the real words
    (a few thousand words' edits, not each of 250,000 real words' neighbours: 7.7 s became 2.5 s)."""
    real = _real_words() | said
    letters = sorted({c for w in real for c in w if c.isalpha()})
    near: set[str] = set()
    for c in spell.words:
        near.update(c[:i] + c[i + 1:] for i in range(len(c)))  # a letter dropped
        near.update(c[:i] + c[i + 1] + c[i] + c[i + 2:] for i in range(len(c) - 1))  # two swapped
        near.update(c[:i] + x + c[i + 1:] for i in range(len(c)) for x in letters)  # one replaced
        near.update(c[:i] + x + c[i:] for i in range(len(c) + 1) for x in letters)  # one added
    common = set(spell.words)
    keep = {_hash(w) for w in real & near if len(w) >= 4 and w not in common and w.isalpha()}
    return np.array(sorted(keep), dtype=np.uint32)


@lru_cache(maxsize=1)
def _real_words() -> frozenset[str]:
    """pyspellchecker's English and Spanish words, folded (read once: every index build asks)."""
    from spellchecker import SpellChecker

    return frozenset(w.lower() if w.isascii() else _fold(w)
                     for lang in ("en", "es") for w in SpellChecker(language=lang, distance=1).word_frequency.keys())


def counterparts(index: LexicalIndex, texts: list[str], lang: list[str]) -> list[int]:
    """Each entry's translation (-1: none found): the other language's entry that its phrasings and
    answer together score best (shared names, code and cognates: "Python", "regresión"), kept where
    that entry's own best is this one, or where it leads the next best by COUNTERPART_GAP. On the
    corpus files written as parallel en/es lists, 99% of the mutual links and 95% of the leading
    ones are the written pair."""
    langs = np.array(lang)
    best, gap = np.full(len(texts), -1), np.zeros(len(texts))
    for e, text in enumerate(texts):
        s = np.where(langs != lang[e], index.scores(text), -1.0)
        top = np.argsort(-s)[:2]
        if s[top[0]] > 0:
            best[e], gap[e] = int(top[0]), s[top[0]] - max(0.0, s[top[1]])
    return [int(b) if b >= 0 and (best[b] == e or gap[e] >= COUNTERPART_GAP) else -1 for e, b in enumerate(best)]


def answer_fit(folder: Path, answers: list[str], first: dict[int, str]) -> np.ndarray:
    """How well the network in `folder` has learned each answer (see LEARNED): the mean log-probability
    of its first FIT_TOKENS tokens after its entry's first training phrasing, as a user turn."""
    from .transformer import TransformerEngine, forward

    eng = TransformerEngine(folder, retrieval=False)
    fit = np.zeros(len(answers))
    for e, text in enumerate(answers):
        a = eng.tok.encode(text)[:FIT_TOKENS]
        if not a or e not in first:  # nothing to measure: taken as learned
            continue
        prompt = eng.render_prompt([{"role": "user", "content": first[e]}])
        z = forward(eng.w, prompt + a, None, want="logits")[len(prompt) - 1:-1].astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        fit[e] = float(logp[np.arange(len(a)), a].mean())
    return fit


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="build the v2 retrieval index from the corpus")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "data" / "transformer-v2")
    print(build(ap.parse_args().out))
