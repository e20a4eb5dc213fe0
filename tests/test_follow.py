"""Following the request's form (engine/follow.py): sentence counts and the answers' language,
through the real offline model."""

import re

import pytest

from llmkit.engine import follow, transformer
from llmkit.engine.base import SamplingParams
from llmkit.engine.corpus import detect_lang


@pytest.mark.parametrize("text, n", [
    ("Explain recursion in 2 sentences", 2), ("Explica Docker en 3 oraciones.", 3),
    ("In one sentence, what is HTTP?", 1), ("Describe REST en una frase", 1),
    ("Give me a one-sentence summary of JSON", 1), ("Explain it in ten lines", 10),
    ("What is 3.14?", None), ("What is a sentence embedding?", None), ("in 200 sentences", None),
])
def test_sentence_limit_is_read_from_the_words(text, n):
    assert follow.sentence_limit(text) == n


@pytest.mark.parametrize("system, question, lang", [
    ("You are a helpful assistant. Always answer in Spanish.", "What is Docker?", "es"),
    ("Responde siempre en inglés.", "¿Qué es Docker?", "en"),
    ("Eres un asistente que explica programación a principiantes.", "What is Docker?", "es"),
    ("You are a helpful assistant.", "¿Qué es Docker?", None),
    ("Responde en español.", "What is Docker? Answer in English.", "en"),
    (None, "How do you say hello in Spanish?", None),
    (None, "What is Python? Answer only in Spanish.", "es"),
    (None, "What is Docker? Respond in Spanish please", "es"),
])
def test_requested_language(system, question, lang):
    msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": question}]
    assert follow.requested_language(msgs) == lang


def test_counter_ignores_decimals_code_and_abbreviations():
    c = follow.SentenceCounter(2)
    deltas = ["Use", " v3.14", " of", " node.js", ",", " e.g.", " in", " ```x = 1.", "\n```", " now", ".",
              " Then", " stop", ".", " Extra"]
    fed = [c.feed(d) for d in deltas]
    assert fed.index(True) == len(deltas) - 1


@pytest.fixture(scope="module")
def engine():
    return transformer.get("transformer-v3")


def _sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s])


@pytest.mark.parametrize("question, n", [
    ("Explain recursion in 1 sentence.", 1),
    ("What is Docker? Answer in 2 sentences.", 2),
    ("Explica qué es JSON en una frase.", 1),
])
def test_reply_has_at_most_the_sentences_asked(engine, question, n):
    gen = engine.generate([{"role": "user", "content": question}], SamplingParams(temperature=0, max_tokens=200))
    text = gen.text()
    assert text and _sentences(text) <= n, text
    assert gen.finish_reason == "stop"


def test_instruction_words_do_not_change_the_topic(engine):
    plain = engine.generate([{"role": "user", "content": "What is Docker?"}], SamplingParams(temperature=0, max_tokens=30)).text()
    asked = engine.generate([{"role": "user", "content": "What is Docker? Answer in one sentence."}],
                            SamplingParams(temperature=0, max_tokens=30)).text()
    assert "Docker" in plain and "Docker" in asked


@pytest.mark.parametrize("text,left", [
    ('Count to 10. Your response must begin with "1, ". example: 1, 2, 3, ...', "Count to 10. example: 1, 2, 3, ..."),
    ("Start your answer with Yes. Is Python free?", "Is Python free?"),
    ('Cuenta hasta 10. Tu respuesta debe empezar con "1".', "Cuenta hasta 10."),
    ("How do I start my answer with a greeting?", "How do I start my answer with a greeting?"),  # a question about it
])
def test_how_the_reply_opens_is_form_not_topic(text, left):
    assert follow.strip_instructions(text) == left


@pytest.mark.parametrize("text,left", [
    ("Explain what a REST API is to a 10 year old", "Explain what a REST API is"),
    ("Explain recursion like I'm five", "Explain recursion"),
    ("Explain quantum computing in simple terms", "Explain quantum computing"),
    ("Why is the sky blue? Explain it to a child.", "Why is the sky blue? Explain it ."),
    ("Explícale a un niño de 8 años qué es una API", "Explícale qué es una API"),
    ("Explica Docker como si tuviera 5 años", "Explica Docker"),
    ("Is Python good for beginners?", "Is Python good for beginners?"),  # about beginners: no verb of explaining
    ("Write a story for kids", "Write a story for kids"),
    ("What is a child process?", "What is a child process?"),
])
def test_who_the_reply_is_for_is_form_not_topic(text, left):
    assert follow.strip_instructions(text) == left


def test_an_audience_does_not_change_the_topic(engine):
    """"to a 10 year old": "year" is a rare word no REST answer has, so the question had been declined."""
    text = engine.generate([{"role": "user", "content": "Explain what a REST API is to a 10 year old"}],
                           SamplingParams(temperature=0, max_tokens=30)).text()
    assert "REST" in text and "know" not in text, text


def test_groqs_counting_example_is_answered(engine):
    """groq's examples/chat_completion_stop.py: the opening it asks for is form; the count is the topic."""
    msgs = [{"role": "system", "content": "you are a helpful assistant."},
            {"role": "user", "content": 'Count to 10.  Your response must begin with "1, ".  example: 1, 2, 3, ...'}]
    text = engine.generate(msgs, SamplingParams(temperature=0, max_tokens=40, stop=[", 6"])).text()
    assert "1, 2, 3, 4, 5" in text and "6" not in text


def test_system_prompt_language_is_followed(engine):
    msgs = [{"role": "system", "content": "You are a helpful assistant. Always answer in Spanish."},
            {"role": "user", "content": "What is Docker?"}]
    text = engine.generate(msgs, SamplingParams(temperature=0, max_tokens=40)).text()
    assert detect_lang(text) == "es", text
    msgs = [{"role": "system", "content": "Responde siempre en inglés."}, {"role": "user", "content": "¿Qué es Docker?"}]
    text = engine.generate(msgs, SamplingParams(temperature=0, max_tokens=40)).text()
    assert detect_lang(text) == "en", text



@pytest.mark.parametrize("system, question, lang", [
    ("Responde siempre en español.", "How do arrays work in JavaScript?", "es"),
    ("Always answer in Spanish.", "What is prompt caching?", "es"),
    ("Answer in English only.", "¿Qué es el fine-tuning?", "en"),
])
def test_the_language_asked_for_wins_where_the_question_s_words_find_only_the_other(engine, system, question, lang):
    """The question's words find entries in its own language only; the answer comes from their
    translations (guide.counterparts), not in the language the system prompt did not ask for."""
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": question}]
    text = engine.generate(msgs, SamplingParams(temperature=0, max_tokens=40)).text()
    assert detect_lang(text) == lang, text


def test_a_detected_language_does_not_translate(engine):
    """A Spanish keyword question reads as English to `detect_lang`; with no language asked for, its own
    words' (Spanish) entries answer, not their English translations."""
    text = engine.generate([{"role": "user", "content": "contar vocales en python"}],
                           SamplingParams(temperature=0, max_tokens=40)).text()
    assert detect_lang("contar vocales en python") == "en" and detect_lang(text) == "es", text


@pytest.mark.parametrize("question, lang", [
    ("explícame map en python", "es"),  # "í" and "en": Spanish, though `detect_lang` reads it as English
    ("backpropagation in simple terms", "en"),  # looked up as "backpropagation"; typed, "in" says English
])
def test_the_answer_comes_in_the_language_the_question_is_typed_in(engine, question, lang):
    text = engine.generate([{"role": "user", "content": question}], SamplingParams(temperature=0, max_tokens=40)).text()
    assert detect_lang(text) == lang, text


def test_a_typo_is_read_as_the_word_it_slipped_from(engine):
    """"funsiona" is a word never seen: read as "funciona" (guide.Guide.spelled), the question is about APIs
    (before, the rare-word rules left an answer about the brain's workings)."""
    text = engine.generate([{"role": "user", "content": "como funsiona una api"}],
                           SamplingParams(temperature=0, max_tokens=40)).text()
    assert "API" in text and detect_lang(text) == "es", text


@pytest.mark.parametrize("system, subject", [
    ("You are a JavaScript tutor.", "javascript"),
    ("Eres un experto en SQL.", "sql"),
    ("You are a helpful assistant that answers questions about Docker.", "docker"),
    ("You are a patient tutor for beginners.\nAnswer in two short sentences.", ""),
    ("You are a helpful assistant.", ""),
    ("Classify the support ticket.", ""),
])
def test_a_role_s_subject_is_read_from_the_system_prompt(system, subject):
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": "How do I write a loop?"}]
    assert follow.role_subject(msgs) == subject


@pytest.mark.parametrize("system, question, has, lacks", [
    ("You are a JavaScript tutor.", "How do I write a loop?", "let i = 0", "```python"),
    ("Eres un tutor de JavaScript.", "¿Cómo hago un bucle?", "let i = 0", "```python"),
    ("You are a Python tutor.", "How do I write a loop?", "```python", "let i = 0"),
    ("You are a SQL tutor.", "How do I join two tables?", "JOIN", "append"),
    ("You are a Docker expert.", "How do I list what is running?", "docker", "ollama"),
    # the subject must be what the answer is about *and* the question's words must be in it too
    ("You are a weather bot.", "What is an API?", "Application Programming Interface", "weather"),
])
def test_the_role_s_subject_picks_among_the_question_s_answers(engine, system, question, has, lacks):
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": question}]
    text = engine.generate(msgs, SamplingParams(temperature=0, max_tokens=50)).text()
    assert has in text and lacks not in text, text


def test_a_subject_the_whole_corpus_is_about_is_no_subject(engine):
    """"LLM API" names what the whole course is about (guide._narrow): lesson 08's panel ("You are a tutor for
    an LLM API course.") asks "Give me an example of one." after "What is a system prompt?", and gets an
    example of a system prompt, not whichever answer names an API."""
    assert engine.guide._narrow("llm api apis python") == "" and engine.guide._narrow("javascript sql") == "javascript sql"
    msgs = [{"role": "system", "content": "You are a tutor for an LLM API course. Answer in two sentences."},
            {"role": "user", "content": "What is a system prompt?"},
            {"role": "assistant", "content": "A system prompt is the first message, with the role system."},
            {"role": "user", "content": "Give me an example of one."}]
    text = engine.generate(msgs, SamplingParams(temperature=0, max_tokens=40)).text()
    assert "You are" in text, text


@pytest.mark.parametrize("system, question, must", [
    ("Answer in Spanish.", "What is Python?", "Python es un lenguaje"),
    ("You are a helpful assistant. Respond in Spanish.", "What is an API?", "API"),
    ("Always answer in Spanish.", "What is Kubernetes?", "Kubernetes (o k8s)"),  # its own entry, not the one on pods
    (None, "What is Python? Answer in Spanish.", "Python es un lenguaje"),
    (None, "What is Docker? Respond in Spanish please", "Docker es"),  # "please" is not what it is about
])
def test_an_entry_with_no_one_translation_is_looked_up_in_the_language_asked(engine, system, question, must):
    """Entries with two answers in the other language have no translation link (guide.counterparts keeps
    only a clear one), so "What is Python?" with "Answer in Spanish." had got the English answer: the
    question is looked up among the Spanish entries too, by its names and cognates (guide._in_language)."""
    msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": question}]
    text = engine.generate(msgs, SamplingParams(temperature=0, max_tokens=40)).text()
    assert detect_lang(text) == "es" and must in text, text


def test_a_word_in_common_is_not_a_translation(engine):
    """"neural network" reaches the Spanish answer on the browser's Network tab by one word; "red neuronal"
    shares none with it. The English answer stays: the right one in the other language, not a wrong one."""
    msgs = [{"role": "system", "content": "Answer in Spanish."}, {"role": "user", "content": "What is a neural network?"}]
    text = engine.generate(msgs, SamplingParams(temperature=0, max_tokens=40)).text()
    assert "F12" not in text and ("neural network" in text or "neuronal" in text), text


@pytest.mark.parametrize("text,left", [
    ("What is Docker? Respond in Spanish please", "What is Docker?"),
    ("What is Python? Answer only in Spanish.", "What is Python?"),
    ("Explain JSON. Responde en español, por favor.", "Explain JSON."),
])
def test_a_language_instruction_is_taken_out_whole(text, left):
    assert follow.strip_instructions(text) == left


@pytest.mark.parametrize("text,left", [
    ("My name is Ana.", "hello"), ("Hi, I'm Bartholomew, nice to meet you", "hello"), ("Me llamo Ana.", "hola"),
    ("Hola, soy María José, encantada", "hola"),
    ("Hello, my name is Tom and I'm learning Python.", "Hello, my name is and I'm learning Python."),
    ("I'm learning Python", "I'm learning Python"), ("soy nuevo", "soy nuevo"),  # no name: a lower-case word
])
def test_a_name_the_user_gives_is_who_they_are_not_the_topic(text, left):
    assert follow.strip_instructions(text) == left


@pytest.mark.parametrize("text, lang", [("My name is Ana.", "en"), ("Hi, I'm Priyanka!", "en"), ("Me llamo Lucía.", "es"),
                                        ("Hola, soy Xabier.", "es")])
def test_an_introduction_is_greeted_not_declined(engine, text, lang):
    """A name it never read had made "My name is Ana." an "I don't know that" (the name a rare word, and "my name"
    the words of "What's my name?", which it cannot know)."""
    reply = engine.generate([{"role": "user", "content": text}], SamplingParams(temperature=0, max_tokens=30)).text()
    assert detect_lang(reply) == lang and "know" not in reply and "No lo sé" not in reply, reply


@pytest.mark.parametrize("turns, name", [
    (["Hi, my name is Isa", "Yes, can you remind me, What is my name?"], "Isa"),  # a popular course's chatbot cell
    (["I'm Tom Lee.", "What's my name?"], "Tom Lee"),
    (["My name is ana", "do you remember my name?"], "ana"),
    (["Me llamo Lucía.", "¿Cómo me llamo?"], "Lucía"),
    (["Hola, soy Xabier", "¿Sabes mi nombre?"], "Xabier"),
    (["My name is Ana.", "Actually, call me Bea.", "What is my name?"], "Bea"),  # the latest one
    (["My name is not important.", "What's my name?"], None), (["I'm learning Python", "Who am I?"], None),
    (["My name is Ana.", "What is Python?"], None),  # not asked
])
def test_the_name_asked_for_is_the_one_the_conversation_gave(turns, name):
    msgs = [{"role": "user", "content": t} for t in turns]
    assert follow.recalled_name(msgs) == name


@pytest.mark.parametrize("intro, reply, ask, name, lang", [
    ("Hi, my name is Isa", "Hi Isa! It's nice to meet you. Is there anything I can help you with today?",
     "Yes, can you remind me, What is my name?", "Isa", "en"),
    ("I'm Priyanka.", "Hello! Nice to have you here.", "what's my name", "Priyanka", "en"),
    ("Me llamo María José.", "¡Hola! ¿En qué te ayudo?", "¿Cómo me llamo?", "María José", "es"),
])
def test_what_s_my_name_is_answered_from_the_conversation(engine, intro, reply, ask, name, lang):
    """Every chat course shows that the model remembers a name only because the history is sent again; the
    question alone is still answered that it cannot see names (the corpus' honest entry)."""
    msgs = [{"role": "system", "content": "You are a friendly chatbot."}, {"role": "user", "content": intro},
            {"role": "assistant", "content": reply}, {"role": "user", "content": ask}]
    text = engine.generate(msgs, SamplingParams(temperature=0, max_tokens=40)).text()
    assert name in text and detect_lang(text) == lang, text
    alone = engine.generate(msgs[-1:], SamplingParams(temperature=0, max_tokens=40)).text()
    assert name not in alone and ("know" in alone or "No lo sé" in alone), alone


@pytest.mark.parametrize("text, opening", [("Hi, my name is Isa", "Hello, Isa!"), ("Me llamo María José, encantada",
                                                                                   "¡Hola, María José!")])
def test_an_introduction_s_greeting_says_the_name_back(engine, text, opening):
    """At temperature 1 the network's own "I" (it learned that it cannot know a user's name) had begun 3 greetings
    in 20 with "I don't know that."; the greeting the corpus has, with the name, is followed as written."""
    msgs = [{"role": "user", "content": text}]
    for t in (0, 1, 1, 1):
        reply = engine.generate(msgs, SamplingParams(temperature=t, max_tokens=20)).text()
        assert reply.startswith(opening), reply
    assert follow.greeted_name([{"role": "user", "content": "I'm Tom. What is Python?"}]) is None
