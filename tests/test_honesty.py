"""The offline model says "I don't know" instead of guessing, and refuses an empty question.

The retrieval guide (engine/guide.py) is tested on a small index built here, so the rules are
checked apart from whatever the shipped corpus happens to contain; the empty-message 400 is
checked through every protocol's official SDK against a real gateway.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from llmkit.engine import EngineInputError, SamplingParams, get_engine
from llmkit.engine.corpus import detect_lang
from llmkit.engine.guide import Guide, LexicalIndex, _phrase_hash, content_words, sums
from llmkit.engine.sampling import no_repeat
from llmkit.engine.tokenizer import Tokenizer
from llmkit.engine.transformer import HF_DIR

ENTRIES = [  # (answer, phrasings, topic, lang)
    ("Paris is the capital of France.", ["What is the capital of France?", "capital of france"], "geo", "en"),
    ("Docker packages an application with everything it needs into a container.",
     ["What is Docker?", "docker explained", "explain docker containers"], "cloud", "en"),
    ("Recursion is when a function calls itself on a smaller part of the problem.",
     ["What is recursion?", "recursion in python", "explain recursion"], "code", "en"),
    ("I don't know that. I have no facts about specific people.",
     ["who is John Carter", "how old is Maria Gonzalez"], "unknowable_people", "en"),
    ("I don't know that. It is outside what I learned.", ["xqzv unknown topic"], "fallback", "en"),
    ("No lo sé. Queda fuera de lo que aprendí.", ["zzqx tema desconocido"], "fallback", "es"),
    ("Australia has hot summers in December.", ["when is summer in australia"], "science", "en"),
    ("Bonjour ! Je suis le petit modèle hors ligne du cours.",
     ["Introduce yourself in French", "present yourself in french"], "small_tasks", "en"),
    ("1 + 1 = 2.", ["What is 1+1?", "what is one plus one", "how much is one plus one"], "small_tasks", "en"),
]


@pytest.fixture(scope="module")
def guide(tmp_path_factory) -> tuple[Guide, list[str]]:
    answers = [a for a, *_ in ENTRIES]
    questions = [(e, q) for e, (_, qs, *_) in enumerate(ENTRIES) for q in qs]
    df: dict[str, int] = {}
    for a, qs, *_ in ENTRIES:
        for w in {w for t in qs + [a] for w in content_words(t)}:
            df[w] = df.get(w, 0) + 1
    path = Path(tmp_path_factory.mktemp("guide")) / "retrieval.npz"
    unknown = {lang: e for e, (_, _, topic, lang) in enumerate(ENTRIES) if topic == "fallback"}
    honest = [e for e, (_, _, topic, _) in enumerate(ENTRIES) if topic.startswith(("unknowable", "fallback"))]
    asked = [{w for q in qs for w in content_words(q)} for _, qs, *_ in ENTRIES]
    Guide.save(path, LexicalIndex.build(questions, answers), answers, df, unknown, honest, asked=asked)
    return Guide.load(path, Tokenizer.load(HF_DIR / "tokenizer.json")), answers


def answer(guide, question: str) -> list[str]:
    g, answers = guide
    return [answers[e] for e, _ in g.candidates(question)]


def test_a_known_question_finds_its_answer(guide):
    assert answer(guide, "what's docker?")[0].startswith("Docker packages")
    assert answer(guide, "explain recursoin")[0].startswith("Recursion")  # one typo is still a known word


def test_a_rare_word_the_answer_lacks_means_the_answer_is_not_about_it(guide):
    # "capital" matches France's entry, but "australia" (a rare word) is not in that answer
    assert answer(guide, "What is the capital of Australia?") == [ENTRIES[4][0]]


def test_a_rare_word_the_phrasings_ask_with_is_enough(guide):
    # "introduce" and "french" are in the entry's training phrasings, not in its (French) answer
    assert answer(guide, "introduce yourself in french, please")[0].startswith("Bonjour")
    # and the rule still drops an entry when a rare word is in neither its answer nor its phrasings
    assert not any(a.startswith("Bonjour") for a in answer(guide, "introduce yourself in australia"))


def test_words_never_seen_get_i_dont_know_in_the_questions_language(guide):
    assert answer(guide, "What is terraform?") == [ENTRIES[4][0]]
    assert answer(guide, "¿Qué es terraform exactamente?") == [ENTRIES[5][0]]
    # half the content words known: retrieval still answers ("grandmother" alone is no reason to give up)
    assert answer(guide, "explain docker to my grandmother")[0].startswith("Docker packages")


def test_an_answer_that_says_it_cannot_know_is_kept_whatever_the_names(guide):
    assert answer(guide, "who is John Carter")[0].startswith("I don't know that. I have no facts")


def test_a_sum_is_answered_only_by_an_answer_that_does_that_sum(guide):
    """A small model cannot compute: "1 + 1 = 2." for "three plus one" would be confidently wrong."""
    assert answer(guide, "What is one plus one?") == ["1 + 1 = 2."]
    assert answer(guide, "What is three plus one?") == [ENTRIES[4][0]]
    assert answer(guide, "¿Cuánto es 3 + 1?") == [ENTRIES[5][0]]
    assert answer(guide, "how much is 1 times 1") == [ENTRIES[4][0]]  # the same numbers, another sum
    assert sums("What is 25 * 4 + 10?") == {("25", "*", "4"), ("4", "+", "10")}
    assert sums("seis menos dos") == sums("6 − 2") == {("6", "-", "2")}
    assert not sums("Explain HTTP 404 and 500") and not sums("Explica Docker en 3 oraciones")
    # asked with a verb ("Add 3 and 4." had been answered "3 + 5 = 8.")
    assert answer(guide, "Add three and one.") == [ENTRIES[4][0]]
    assert sums("Add 3 and 4.") == sums("add three to four") == sums("Suma 3 y 4") == {("3", "+", "4")}
    assert sums("Subtract 4 from 9") == sums("resta 4 de 9") == {("9", "-", "4")}
    assert sums("Multiply 3 by 4") == sums("multiplica 3 por 4") == {("3", "*", "4")}
    assert sums("Divide 12 by 3") == {("12", "/", "3")} and not sums("I added 3 and 4 apples")
    assert sums("15 take away 7") == {("15", "-", "7")} and sums("100 over 4") == {("100", "/", "4")}
    assert sums("total of 3 and 5") == sums("sum of 3 and 5") == {("3", "+", "5")}


@pytest.mark.parametrize("question, start", [
    ("What is 15% of 80?", "I don't know that"), ("What is 7 times 8?", "I don't know that"),
    ("¿Cuánto es el 10 por ciento de 50?", "No lo sé"), ("what is 2+2?", "2 + 2 = 4."),
    ("¿Cuánto son 3 veces 12?", "12 × 3 = 36."),  # an operation whose order does not matter, either way
    # only arithmetic's words beside the numbers: an answer must have the numbers (the corpus's "we only use 10
    # percent of the brain" myth has the 10, not the 50)
    ("What is 10 percent of 50?", "I don't know that"), ("Do we only use 10 percent of our brain?", "No, that's a myth"),
    ("¿Usamos solo el 10 por ciento del cerebro?", "No, es un mito"),
])
def test_an_answer_that_is_only_a_sum_is_about_that_sum_alone(question, start):
    """The shipped model: "What is 15% of 80?" asks no sum the rule reads, and had been answered
    "15 − 7 = 8." (the nearest entry's sum), confidently wrong."""
    text = get_engine().generate([{"role": "user", "content": question}], SamplingParams(temperature=0, max_tokens=12))
    assert text.text().startswith(start)


@pytest.mark.parametrize("question, start", [
    ("What is 20% of 50?", "I don't know that"),  # had been "Half of 50 is 25.": it lacks the 20
    ("What is 15% of 80?", "I don't know that"),  # had been a URL answer with a "15" in it
    ("What does 404 mean?", "Status 404"), ("429", "429 means"),  # numbers the answer has
])
def test_a_question_with_no_content_words_is_about_its_numbers(question, start):
    """The shipped model: a question made only of numbers and function words matches by its numbers alone
    (character pieces), so a candidate must have each of them."""
    text = get_engine().generate([{"role": "user", "content": question}], SamplingParams(temperature=0, max_tokens=12))
    assert text.text().startswith(start)


@pytest.mark.parametrize("question, start", [("What is the GIL?", "I don't know that"),
                                             ("How old is Marta Gil?", "I don't know that"),
                                             ("¿Cuántos años tiene Marta Gil?", "No lo sé")])
def test_i_dont_know_comes_in_the_question_s_language(question, start):
    """"What is the GIL?" found only the Spanish "No lo sé" about people ("edad de Marta Gil" is one of its
    phrasings): an honest answer in the other language is the question's own "I don't know that"."""
    text = get_engine().generate([{"role": "user", "content": question}], SamplingParams(temperature=0, max_tokens=12))
    assert text.text().startswith(start)


@pytest.mark.parametrize("question, start", [
    ("Tell me about Canada.", None), ("What is Canada?", None),
    ("¿Qué es Canadá?", None), ("Tell me about France.", "Paris is the capital of France"),
])
def test_an_answer_that_names_none_of_the_questions_words_is_not_about_it(question, start):
    """The shipped model: "Canada" is in the corpus (so neither never-seen nor rare), and the latent half
    had matched "Tell me about Canada." to a joke and "What is Canada?" to the CSS answer. None: one of the
    corpus' answers that say they do not know (which one depends on the index), in the question's language.
    An answer that names the question's word stays a candidate ("France": the rule keeps it; which
    candidate the reply follows is the rerank's choice)."""
    engine = get_engine()
    g = engine.guide
    if start is not None:
        kept = [engine.tok.decode(list(g.answers[e])) for e, _ in g.candidates(question)]
        assert any(a.startswith(start) for a in kept), kept
        return
    text = engine.generate([{"role": "user", "content": question}], SamplingParams(temperature=0, max_tokens=12)).text()
    declines = [engine.tok.decode(list(g.answers[e])) for e in g.honest if g.lang[e] == detect_lang(question)]
    assert any(d.startswith(text) for d in declines), text


def test_v2_indexes_without_a_vocabulary_behave_as_before(guide):
    g, _ = guide
    bare = Guide(g.index, g.answers, g.end_id, g.vocab)
    assert bare.unknown_share("What is terraform?") == 0.0
    assert all(e != 4 for e, _ in bare.candidates("What is the capital of France?"))


@pytest.mark.parametrize("content", ["", "   ", "\n\t", [{"type": "text", "text": "  "}]])
def test_an_empty_user_message_is_an_input_error(content):
    engine = get_engine()
    with pytest.raises(EngineInputError) as e:
        engine.generate([{"role": "user", "content": content}], SamplingParams(max_tokens=4))
    assert e.value.param == "messages.content"


def test_an_empty_message_is_a_400_in_every_protocol(gateway):
    import anthropic
    import ollama
    import openai
    from google import genai
    from google.genai import errors as genai_errors

    with pytest.raises(openai.BadRequestError) as e:
        openai.OpenAI(base_url=f"{gateway}/v1", api_key="x", max_retries=0).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "  "}])
    assert "empty" in str(e.value)
    with pytest.raises(anthropic.BadRequestError):
        anthropic.Anthropic(base_url=gateway, api_key="x", max_retries=0).messages.create(
            model="claude-haiku-4-5", max_tokens=16, messages=[{"role": "user", "content": " "}])
    client = genai.Client(api_key="x", http_options={"base_url": gateway})  # kept: it closes when collected
    with pytest.raises(genai_errors.ClientError) as g:
        client.models.generate_content(model="gemini-2.5-flash", contents=" ")
    assert g.value.code == 400
    with pytest.raises(ollama.ResponseError) as o:
        ollama.Client(host=gateway).chat(model="llama3.2", messages=[{"role": "user", "content": "\n"}])
    assert o.value.status_code == 400


@pytest.mark.parametrize("question, start", [
    ("Explain how AI works in a few words", "AI (artificial intelligence) is"),  # the google-genai README's
    ("Hello, Claude", "Hello! I'm not Claude"),  # the anthropic README's
    ("Write a one-sentence bedtime story about a unicorn.", "Under a sky full of sleepy"),  # the openai README's
])
def test_a_question_typed_as_a_training_phrasing_gets_that_entry(question, start):
    """The shipped model: each is word for word a phrasing of an entry, and the rerank had handed both to
    answers the network learned by heart (the pricing answer, the anthropic install line); retrieval
    now keeps the entry whose phrasing the question is, and the network weighs only among those."""
    engine = get_engine()
    g = engine.guide
    assert {e for e, _ in g.candidates(question)} <= g.exact[_phrase_hash(question)]
    text = engine.generate([{"role": "user", "content": question}], SamplingParams(temperature=0, max_tokens=12)).text()
    assert text.startswith(start), text


@pytest.mark.parametrize("question", ["Write a one-sentence bedtime story about a dragon.", "Tell me a story in 300 words.",
                                      "Cuéntame una historia de 300 palabras."])
def test_a_story_it_has_not_got_is_declined(question):
    """The unicorn story is the corpus' (the openai README asks for it, word for word: "one-sentence" is a form
    instruction, taken out of what retrieval looks up, yet the phrasing as typed still names its entry); any
    other story gets one of the corpus' honest answers, in the question's language."""
    engine = get_engine()
    text = engine.generate([{"role": "user", "content": question}], SamplingParams(temperature=0, max_tokens=12)).text()
    g = engine.guide
    declines = [engine.tok.decode(list(g.answers[e])) for e in g.honest if g.lang[e] == detect_lang(question)]
    assert any(d.startswith(text) for d in declines), text


def test_an_answer_that_repeats_a_phrase_is_copied_whole():
    """The shipped model: the pricing answer says "/ 1,000,000" twice, and the loop guard (no 6-gram
    twice) had cut the second one off: "output_tokens / 1, is a generyul parameter". The n-grams an
    answer repeats may come as often as it has them, no more."""
    engine = get_engine()
    for question, tail in [("How is API usage priced?", "output_tokens / 1,000,000 x output price."),
                           ("¿Cuánto cuesta usar una API?", "tokens_salida / 1e6 x precio_salida.")]:
        text = engine.generate([{"role": "user", "content": question}], SamplingParams(temperature=0, max_tokens=90)).text()
        assert tail in text, text



def _fed(penalize, seq: list[int]):
    """What the guard leaves after `seq` (the decode loop calls it once a step, with the reply so far)."""
    for i in range(len(seq)):
        probs = penalize(np.full(5, 0.2), seq[:i + 1])
    return probs


def test_the_loop_guard_allows_a_known_repeat_as_often_as_its_text_has_it():
    allowed = {(1, 2, 3): 2}  # a text that has "1 2 3" twice
    assert _fed(no_repeat(3, allowed), [1, 2, 3, 4, 1, 2])[3] > 0  # the second "1 2 3"
    assert _fed(no_repeat(3, allowed), [1, 2, 3, 4, 1, 2, 3, 4, 1, 2])[3] == 0  # not a third
    assert _fed(no_repeat(3), [1, 2, 3, 4, 1, 2])[3] == 0  # any other n-gram: once
