"""Following the request: what a system prompt or a question asks of the reply's form.

A 6M-parameter network cannot learn from a few examples to count sentences or to switch
language on an instruction, so the engine reads two requests the way a decoding
controller would, and the network still writes every token:

- **Language.** "Answer in Spanish" / "Responde siempre en inglés" in a system prompt (or a
  system prompt written in Spanish) decides which language's answers retrieval offers;
  without one, the question's language does (guide.py).
- **A role's subject.** "You are a JavaScript tutor." then "How do I write a loop?": the role's
  subject words (`role_subject`) join the question where its own words find an answer about
  something else (guide.py), so the loop comes in JavaScript. How a role talks (a pirate) is
  not followed: the network has no examples of it.
- **Length in sentences.** "in 2 sentences", "in one sentence", "en tres frases": the reply
  ends after that many sentences (`SentenceCounter`, in the decode loop), as a stop sequence would. Code
  blocks and numbers ("3.14", "e.g.") do not end sentences.
"""

from __future__ import annotations

import re

_NUMBERS = {
    "one": 1, "a single": 1, "a": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "una": 1, "un": 1, "una sola": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10,
}
_COUNT = r"(\d{1,2}|" + "|".join(sorted(map(re.escape, _NUMBERS), key=len, reverse=True)) + r")"
_SENTENCES = re.compile(
    r"\b(?:in|using|with|en|con)\s+(?:just\s+|only\s+|exactly\s+|solo\s+|sólo\s+|máximo\s+|at most\s+)?"
    + _COUNT + r"\s+(?:short\s+|simple\s+|cortas?\s+|sencillas?\s+|breves?\s+)?"
    r"(?:sentences?|lines?|oraci[oó]n|oraciones|frases?|l[ií]neas?)\b", re.IGNORECASE)
_ONE_SENTENCE = re.compile(r"\b(?:one-sentence|single-sentence)\b", re.IGNORECASE)

_LANG_WORDS = {
    "es": r"spanish|español|espanol|castellano",
    "en": r"english|inglés|ingles",
}
_ASK_LANG = re.compile(
    r"\b(?:answer|respond|reply|write|speak|talk|always|only|responde|contesta|habla|escribe|"
    r"respuestas?|siempre|solo|sólo)\b[^.!?\n]{0,40}?\b(?:in|en)\s+(" + "|".join(_LANG_WORDS.values()) + r")\b",
    re.IGNORECASE)


_VERB = r"(?:please\s+|por favor,?\s+)?(?:answer|respond|reply|explain it|write it|explícalo|responde|contesta|escríbelo)"
_IN = r"\s+(?:only\s+|solo\s+|sólo\s+|always\s+|siempre\s+)?(?:in|en)\s+"  # "answer (only) in Spanish"
# "Your response must begin with "1, "." (groq's stop-sequence example), "Start your answer with Yes",
# "Tu respuesta debe empezar con ...": how the reply opens, not what it is about
_OPENING = (r"(?:\b(?:your\s+|the\s+|tu\s+|la\s+)?(?:response|answer|reply|respuesta)\s+(?:must|should|has to|needs to|"
            r"debe|tiene que)\s+(?:begin|start|empezar|comenzar)|\b(?:begin|start|empieza|comienza)\s+(?:your\s+|tu\s+)?"
            r"(?:response|answer|reply|respuesta))\s+(?:with|con|por)\s+(?:\"[^\"\n]*\"|'[^'\n]*'|[^.!?\n]*)[.!]?")
# "to a 10 year old", "like I'm five", "in simple terms", "a un niño de 8 años", "para principiantes": who the
# reply is for, not what it is about ("year" or "child" would otherwise be the question's rare word, and
# the sky-is-blue answer, asked "explain ... to a child" in training, its topic). "To a child" and the like
# only beside a verb of explaining: "Is Python good for beginners?" is about beginners.
_AGE = r"(?:\d{1,2}|five|six|seven|eight|nine|ten|eleven|twelve)"
_AUDIENCE = re.compile(
    r"\b(?:to|for)\s+(?:a|an|my)\s+" + _AGE + r"[- ]years?[- ]old(?:\s+(?:child|kid|boy|girl))?\b"
    r"|\blike\s+(?:i'?m|i\s+am|you'?re\s+talking\s+to)\s+(?:a\s+)?(?:" + _AGE + r"|(?:small\s+|little\s+)?(?:child|kid))\b"
    r"|\bin\s+(?:very\s+)?(?:simple|plain|easy|layman'?s)\s+(?:terms|words|english|language)\b"
    r"|\beli5\b"
    r"|\bcomo\s+si\s+(?:tuviera|tuviese)\s+\d{1,2}\s+años\b"
    r"|\bcomo\s+si\s+(?:fuera|fuese)\s+(?:un|una)\s+(?:niñ[oa]|principiante)\b"
    r"|\b(?:en|con)\s+(?:términos|terminos|palabras)\s+(?:sencill[oa]s|simples|fáciles|faciles)\b"
    r"|\bde\s+(?:forma|manera)\s+(?:sencilla|simple|fácil|facil)\b",
    re.IGNORECASE)
_EXPLAIN = re.compile(r"\b(?:explain|describe|teach|define|summari[sz]e|expl[ií]ca(?:me|le|lo|selo)?|expl[ií]queme|"
                      r"ens[eé][ñn]a(?:le|me)?|resume)\b", re.IGNORECASE)  # "describe", "define": both languages
_FOR_WHOM = re.compile(
    r"\b(?:to|for)\s+(?:a\s+|an\s+|my\s+|the\s+|complete\s+|total\s+|absolute\s+)*(?:little\s+|small\s+|young\s+)?"
    r"(?:child|kid|kids|children|beginners?|newbies?|non-programmers?|layman|layperson|grand(?:mother|father|ma|pa)|"
    r"mom|mum|dad|mother|father)\b"
    r"|\b(?:a|para)\s+(?:un\s+|una\s+|mi\s+|los\s+|las\s+)?(?:niñ[oa]s?|chic[oa]s?|principiantes?|abuel[oa]s?|madre|padre)"
    r"(?:\s+de\s+\d{1,2}\s+años)?\b",
    re.IGNORECASE)
# "My name is Ana", "I'm Tom", "me llamo Lucía", "soy Carlos": the name a user gives is who they are, not what they
# ask about (a name never seen made "My name is Ana." an "I don't know that"); after "I'm" and "soy" only a
# capitalised word is a name ("I'm learning Python", "soy nuevo")
_NAME = r"[^\W\d_][\w'-]*"
_CAP = r"[A-ZÁÉÍÓÚÑ][\w'-]*"
_NAMING_EN, _NAMING_ES = r"my\s+name\s+is|my\s+name's|call\s+me", r"me\s+llamo|mi\s+nombre\s+es|ll[aá]mame"
_INTRODUCED = re.compile(
    r"\b(?i:" + _NAMING_EN + "|" + _NAMING_ES + r")\s+(" + _NAME
    + r"(?:\s+" + _CAP + r")?)"
    r"|\b(?i:i'm|i\s+am|soy)\s+(?!I\b)(" + _CAP + r"(?:\s+" + _CAP + r")?)")
# what is left of a turn that only introduces its writer ("Hi, I'm Ana.", "Me llamo Lucía, encantada"): a greeting,
# looked up as one (the corpus greets; it has no entry for each name)
# (a Spanish word in it: group 1, 2 or 3)
_INTRO_ONLY = re.compile(
    r"^\W*(?:(?:hi|hello|hey|(hola|buenas|buenos\s+d[ií]as))\W+)?"
    r"(?:" + _NAMING_EN + r"|i'm|i\s+am|(" + _NAMING_ES + r"|soy))"
    r"\W*(?:and\s+)?(?:(?:it's\s+)?(?:nice|pleased|glad)\s+to\s+meet\s+you|(encantad[oa]|un\s+placer|mucho\s+gusto))?\W*$",
    re.IGNORECASE)
# "What's my name?" after "My name is Ana": the conversation says, so the reply says it (the corpus' answer to the
# question alone is that it cannot see a user's name). Every chat course shows this turn: the model "remembers"
# only because the client sends the history again.
_ASKS_NAME = re.compile(
    r"\bwhat(?:'s|\s+is|\s+was|\s+did\s+i\s+(?:say|tell\s+you)(?:\s+that)?)\s+my\s+name(?:\s+(?:is|was))?\b"
    r"|\b(?:do|did)\s+you\s+(?:still\s+)?(?:know|remember|recall)\s+(?:what\s+)?my\s+name\b"
    r"|\b(?:say|tell\s+me|remind\s+me(?:\s+of)?|repeat)\s+my\s+name\b|\bwho\s+am\s+i\b"
    r"|\bc[oó]mo\s+me\s+llamo\b|\bcu[aá]l\s+(?:es|era)\s+mi\s+nombre\b|\bqui[eé]n\s+soy\b"
    r"|\b(?:sabes|recuerdas|te\s+acuerdas\s+de|dime|rep[ií]teme|recu[eé]rdame)\s+(?:cu[aá]l\s+es\s+)?mi\s+nombre\b",
    re.IGNORECASE)
# a word after "my name is" that is not a name ("My name is not important", "me llamo como mi abuelo")
_NOT_A_NAME = set("not no a an the secret private irrelevant unimportant none nothing your what como igual "
                  "secreto nada".split())
_RECALL = {"en": "Your name is {}: you told me earlier in this conversation.",
           "es": "Te llamas {}: me lo dijiste antes en esta conversación."}


def said_name(messages: list[dict]) -> str | None:
    """The name the user last introduced themself with in this conversation ("My name is Ana",
    "I'm Tom Lee", "me llamo Lucía"), or None."""
    name = None
    for m in messages:
        if m.get("role") != "user":
            continue
        for found in _INTRODUCED.finditer(_text(m)):
            got = found[found.lastindex]
            if got.split()[0].lower() not in _NOT_A_NAME and len(got) <= 40:  # a name, not a pasted text
                name = got
    return name


def recalled_name(messages: list[dict]) -> str | None:
    """The name the last user turn asks for ("What's my name?", "¿Cómo me llamo?") where the conversation
    has it, else None."""
    users = [m for m in messages if m.get("role") == "user"]
    return said_name(messages) if users and _ASKS_NAME.search(_text(users[-1])) else None


def recall_answer(name: str, lang: str) -> str:
    """What the reply to "What's my name?" follows once the conversation has said it."""
    return _RECALL.get(lang, _RECALL["en"]).format(name)


_INSTRUCTION = re.compile(
    r"(?:\b" + _VERB + r"\s*)?(?:" + _SENTENCES.pattern + r")[.!]?"
    r"|\b" + _VERB + _IN + r"(?:" + "|".join(_LANG_WORDS.values()) + r")\b(?:,?\s+(?:please|por favor))?[.!]?"
    r"|" + _OPENING,
    re.IGNORECASE)


def strip_instructions(text: str) -> str:
    """The question without its form instructions ("Answer in one sentence.", "en 3 frases",
    "in Spanish", "Your response must begin with ...", "to a 10 year old", "en términos sencillos") and the
    name a user introduces themself with ("My name is Ana"):
    what the reply is about is what retrieval should look up."""
    out = _INSTRUCTION.sub(" ", text)
    out = _INTRODUCED.sub(lambda m: m[0][:m.start(m.lastindex) - m.start()], out)
    intro = _INTRO_ONLY.match(out)
    if intro:
        return "hola" if any(intro.groups()) else "hello"
    out = _ONE_SENTENCE.sub(" ", out)
    out = _AUDIENCE.sub(" ", out)
    if _EXPLAIN.search(out):
        out = _FOR_WHOM.sub(" ", out)
    return " ".join(out.split()) or text


def greeted_name(messages: list[dict]) -> str | None:
    """The name of a last turn that only introduces its writer ("Hi, my name is Isa", "Me llamo Lucía"):
    the greeting it gets says it back, as people (and real models) do. None for any other turn."""
    users = [m for m in messages if m.get("role") == "user"]
    if not users:
        return None
    text = _text(users[-1])
    if strip_instructions(text) not in ("hello", "hola"):
        return None
    return said_name(users[-1:])


def _text(m: dict) -> str:
    c = m.get("content") or ""
    return c if isinstance(c, str) else " ".join(p.get("text", "") for p in c if isinstance(p, dict))


def sentence_limit(text: str) -> int | None:
    """How many sentences the request asks for (1-10), or None."""
    m = _SENTENCES.search(text or "")
    if m:
        word = m.group(1).lower()
        n = int(word) if word.isdigit() else _NUMBERS.get(word)
        return n if n and 1 <= n <= 10 else None
    return 1 if _ONE_SENTENCE.search(text or "") else None


def requested_limit(messages: list[dict]) -> int | None:
    """The sentence limit of the last user turn, else of the system prompt."""
    users = [m for m in messages if m.get("role") == "user"]
    for m in users[-1:] + [m for m in messages if m.get("role") == "system"]:
        n = sentence_limit(_text(m))
        if n:
            return n
    return None


def requested_language(messages: list[dict]) -> str | None:
    """The language a system prompt (or the question, in so many words: "answer in Spanish")
    asks answers in ("es"/"en"), or None for the question's. A system prompt written in
    Spanish asks for Spanish unless it names another language."""
    from .corpus import detect_lang

    users = [m for m in messages if m.get("role") == "user"]
    for m in users[-1:] + [m for m in messages if m.get("role") == "system"]:  # the question's own ask first
        text = _text(m)
        if m.get("role") == "user":  # a question asks only in so many words: "answer in Spanish"
            ask = re.search(r"\b" + _VERB + _IN + r"(" + "|".join(_LANG_WORDS.values()) + r")\b", text, re.I)
            if ask:
                word = ask.group(1).lower()
                return next(lang for lang, pat in _LANG_WORDS.items() if re.fullmatch(pat, word))
            continue
        ask = _ASK_LANG.search(text)
        if ask:
            word = ask.group(1).lower()
            return next(lang for lang, pat in _LANG_WORDS.items() if re.fullmatch(pat, word))
        if len(text.split()) >= 4 and detect_lang(text) == "es":
            return "es"
    return None


_ROLE = re.compile(r"\b(?:you\s+are|you're|act\s+as|eres|act[uú]a\s+como|sos)\s+(?:an?\s+|the\s+|una?\s+|el\s+|la\s+)?"
                   r"([^.!?\n]{1,80})", re.IGNORECASE)
# what a role is, not what it is about: "a patient tutor for beginners", "un asistente útil" (folded; function
# words and "beginners" are already out of `content_words`)
_ROLE_WORDS = set("""
tutor tutors teacher teachers expert experts assistant assistants helper helpful friendly patient concise kind
senior junior professional developer developers engineer engineers programmer programmers student students course
mentor coach specialist guide bot chatbot model language answers answer questions question knows speaks great good
best clear careful polite experienced world class always only
profesor profesora profesores experto experta expertos asistente util amable paciente conciso concisa
desarrolladores desarrollador programador programadora estudiantes estudiante curso servicial mentor guia buen buena
claro clara siempre
""".split())


def role_subject(messages: list[dict]) -> str:
    """The subject words of a system prompt's role ("You are a JavaScript tutor." -> "javascript",
    "Eres un experto en SQL" -> "sql"), lower case, those the last question does not already have;
    "" for none."""
    from .guide import content_words  # folded, without function words ("about", "sobre")

    users = [m for m in messages if m.get("role") == "user"]
    asked = set(content_words(_text(users[-1]))) if users else set()
    words: list[str] = []
    for m in messages:
        if m.get("role") != "system":
            continue
        for role in _ROLE.finditer(_text(m)):
            for w in content_words(role.group(1)):
                if w not in _ROLE_WORDS and w not in asked and not w.isdigit() and w not in words:
                    words.append(w)
                    if len(words) == 4:  # enough to look up with (and a huge system prompt stays cheap)
                        return " ".join(words)
    return " ".join(words)


_END = re.compile(r"(?<!\b[A-Z])(?<!\be\.g)(?<!\bi\.e)[.!?][\"')\]]*$")


class SentenceCounter:
    """Feed a reply's text deltas; `feed` says True when the delta would begin sentence n + 1.
    A sentence ends at . ! ? after a word (not inside ``` code, not "e.g." or an initial) once
    the next delta starts with whitespace: so "3.14" and "node.js" never end one."""

    def __init__(self, n: int):
        self.n, self.done, self.text, self.pending = n, 0, "", False

    def feed(self, delta: str) -> bool:
        if self.pending and delta[:1].isspace():
            self.done += 1
            if self.done >= self.n:
                return True
        self.text = (self.text + delta)[-4000:]
        in_code = self.text.count("```") % 2 == 1
        self.pending = bool(delta) and not in_code and not delta[-1:].isspace() and bool(_END.search(self.text[-12:]))
        return False
