"""Retrieval's latent half and packed index (engine/lexical.py), and the never-seen-word rule (guide.py).

Checked on small indexes built here; bench/retrieval_dev.py measures them on the corpus.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from llmkit.engine.guide import Guide, _hash, _phrase_hash, content_words
from llmkit.engine.lexical import LexicalIndex
from llmkit.engine.tokenizer import Tokenizer
from llmkit.engine.transformer import HF_DIR

ENTRIES = [  # (answer, phrasings, topic)
    ("Put risky code in try and handle the error in except.",
     ["how do I catch errors", "handle exceptions in python", "what does try except do"], "code"),
    ("A ball game: one player throws, the other one catches.",
     ["how do you catch a ball", "rules of throwing games"], "games"),
    ("Raise an exception with raise ValueError('bad age').",
     ["how do I raise an exception", "throw an error in python"], "code"),
    ("Paris is the capital of France.", ["What is the capital of France?", "capital city of france"], "geo"),
    ("Docker packages an application with everything it needs into a container.",
     ["What is Docker?", "docker explained", "explain docker containers"], "cloud"),
    ("I don't know that. It is outside what I learned.", ["xqzv unknown topic"], "fallback"),
]


def _index() -> LexicalIndex:
    return LexicalIndex.build([(e, q) for e, (_, qs, _) in enumerate(ENTRIES) for q in qs], [a for a, *_ in ENTRIES])


def test_the_latent_half_reads_an_entry_s_phrasings_together():
    index = _index()
    assert index.latent is not None
    # "catch", "exceptions" and "python" are each in a different text of the try/except entry (two
    # phrasings and no answer holds them all): read as one document, the entry is what they are about
    q = "catch exceptions python"
    cos = index.latent_cosines(q)
    assert int(np.argmax(cos)) == 0 and cos[0] > 0.9 > cos[1:].max() + 0.5
    assert index.lexical_scores(q)[0] < 0.7  # no phrasing alone comes close
    assert index.top(q, 1)[0][0] == 0


def test_the_latent_half_finds_nothing_alone():
    index = _index()
    # no lexical score reaches the floor: nothing, however close the latent cosines
    assert index.top("zzzz qqqq", 3, min_lexical=0.25) == []
    assert not index.latent_cosines("zzzz qqqq").any()


def test_the_packed_index_loads_back_as_it_was_saved(tmp_path):
    index = _index()
    index.save(tmp_path / "i.npz")
    back = LexicalIndex.load(tmp_path / "i.npz")
    assert (back.rows == index.rows).all() and (back.colptr == index.colptr).all()
    np.testing.assert_allclose(back.vals, index.vals.astype(np.float32), rtol=0.011)  # 8-bit logarithms
    for q in ("how do you catch exceptions", "what is docker", "capital of france"):
        np.testing.assert_allclose(back.scores(q), index.scores(q), atol=0.02)
        assert [e for e, _ in back.top(q)] == [e for e, _ in index.top(q)]


def test_an_index_without_the_latent_half_scores_by_words_alone(tmp_path):
    index = _index()
    plain = LexicalIndex(index.idf, index.colptr, index.rows, index.vals, index.row_entry, index.row_is_answer,
                         index.n_entries)
    plain.save(tmp_path / "plain.npz")
    z = np.load(tmp_path / "plain.npz")
    assert "rows" in z.files and "latent_basis_q" not in z.files  # the format indexes had before
    back = LexicalIndex.load(tmp_path / "plain.npz")
    assert back.latent is None
    q = "how do you catch exceptions"
    np.testing.assert_allclose(back.scores(q), index.lexical_scores(q), atol=1e-3)


def _guide(path: Path, index: LexicalIndex, counts: dict[str, int] | None = None, **extra) -> Guide:
    """ENTRIES saved with `index` as a guide: each word's entry count (`counts` overrides some), the
    "I don't know" entry, each entry's phrasings' words; `extra`: more of `Guide.save`'s arguments."""
    questions = [(e, q) for e, (_, qs, _) in enumerate(ENTRIES) for q in qs]
    df: dict[str, int] = {}
    for a, qs, _ in ENTRIES:
        for w in {w for t in qs + [a] for w in content_words(t)}:
            df[w] = df.get(w, 0) + 1
    df.update(counts or {})
    unknown = {"en": next(e for e, (*_, topic) in enumerate(ENTRIES) if topic == "fallback")}
    Guide.save(path, index, [a for a, *_ in ENTRIES], df, unknown, [unknown["en"]],
               asked=[{w for q in qs for w in content_words(q)} for _, qs, _ in ENTRIES],
               phrasings=[(e, content_words(q)) for e, q in questions], **extra)
    return Guide.load(path, Tokenizer.load(HF_DIR / "tokenizer.json"))


@pytest.fixture(scope="module")
def guide(tmp_path_factory) -> tuple[Guide, list[str]]:
    path = Path(tmp_path_factory.mktemp("retrieval")) / "retrieval.npz"
    return _guide(path, _index()), [a for a, *_ in ENTRIES]


def test_a_word_never_seen_in_the_place_of_an_entry_s_specific_word_gets_i_dont_know(guide):
    g, answers = guide
    # "capital" is rare and the France entry has it, but every phrasing of it also asks with "France"
    assert [answers[e] for e, _ in g.candidates("What is the capital of Mongolia?")] == [answers[5]]
    assert answers[g.candidates("What is the capital of France?")[0][0]].startswith("Paris")
    # a word never seen beside all that a phrasing asks with ("explain docker"): still answered
    assert answers[g.candidates("explain docker to my grandmother")[0][0]].startswith("Docker")


def test_the_rerank_takes_the_network_s_word_only_on_answers_it_learned(tmp_path):
    """An answer the network never learned (`Guide.learned` False: added to the corpus after training) is
    scored in the rerank as the mean of the learned candidates beside it, so the words decide; the saved
    `answer_fit` figures load back as those flags."""
    path = tmp_path / "retrieval.npz"
    fit = np.array([-0.05, -7.5, -0.1, -0.02, -6.0, -0.3])
    Guide.save(path, _index(), [a for a, *_ in ENTRIES], fit=fit)
    g = Guide.load(path, Tokenizer.load(HF_DIR / "tokenizer.json"))
    assert g.learned == [True, False, True, True, False, True]
    first_logp = np.zeros(g.vocab)
    cands = [(0, 0.50), (1, 0.62), (2, 0.40)]  # the words prefer entry 1, which is not learned

    def rest(lls):  # the network's log-likelihood of each candidate's first tokens after its first
        return lambda seqs: lls[:len(seqs)]

    # the network finds entry 1's first tokens unlikely (-20): not a judgment, it never saw that answer
    w = dict(g.weigh(cands, first_logp, rest([-1.0, -20.0, -3.0])))
    assert w[1] > w[0] > w[2]  # entry 1 scored as the learned ones' mean (-2.0): the words decide
    # beside one learned candidate it takes that one's figure: the words alone decide
    assert dict(g.weigh([(0, 0.50), (1, 0.52)], first_logp, rest([-1.0, -20.0])))[1] > 0.5
    # learned candidates alone keep the network's own figures
    w2 = dict(g.weigh([(0, 0.50), (2, 0.52)], first_logp, rest([-1.0, -3.0])))
    assert w2[0] > w2[2]
    # an index without the figures (built without a network) takes every answer as learned
    Guide.save(path, _index(), [a for a, *_ in ENTRIES])
    g = Guide.load(path, Tokenizer.load(HF_DIR / "tokenizer.json"))
    assert g.learned is None
    w3 = dict(g.weigh(cands, first_logp, rest([-1.0, -20.0, -3.0])))
    assert w3[0] > w3[1]


def test_each_entry_s_phrasings_read_back_from_the_flat_arrays(tmp_path):
    """`Guide.load` reads back each entry's phrasings' words (the same tuples, in the same order, as they were
    saved with) and the phrasings' exact hashes (kept as two sorted arrays)."""
    path = tmp_path / "retrieval.npz"
    questions = [(e, q) for e, (_, qs, _) in enumerate(ENTRIES) for q in qs]
    questions.append((0, "catch errors in code"))  # an entry's phrasings need not be next to each other
    Guide.save(path, _index(), [a for a, *_ in ENTRIES], {"catch": 2},
               phrasings=[(e, content_words(q)) for e, q in questions], exact=[_phrase_hash(q) for _, q in questions])
    g = Guide.load(path, Tokenizer.load(HF_DIR / "tokenizer.json"))
    for e in range(len(ENTRIES)):
        want = [tuple(sorted({_hash(w) for w in content_words(q)})) for f, q in questions if f == e]
        assert g.phrasing_words.get(e) == want == g.phrasing_words[e]
    assert g.phrasing_words.get(len(ENTRIES), "none") == "none"
    assert g.exact[_phrase_hash("how do I catch errors")] == {0}
    assert g.exact.get(_phrase_hash("not a phrasing at all"), "none") == "none"


def test_an_entry_s_translation_is_linked_and_offered_when_only_the_other_language_is_found(tmp_path):
    """`counterparts` links an entry to the other language's entry that its phrasings and answer score
    best (names and cognates carry across), and `Guide._translated` offers those links when the language
    asked for ("Always answer in Spanish.") has no entry among what the question's words found; where the
    best entry has no link, nothing is offered (a neighbour's translation would be another answer)."""
    from llmkit.engine.guide import counterparts

    rows = [("Docker packages an application into a container.", ["What is Docker?", "docker containers"], "en"),
            ("Docker empaqueta una aplicación en un contenedor.", ["¿Qué es Docker?", "contenedores docker"], "es"),
            ("A Python list keeps items in order: [1, 2, 3].", ["What is a Python list?", "python list"], "en"),
            ("Una lista de Python guarda elementos en orden: [1, 2, 3].", ["¿Qué es una lista de Python?"], "es"),
            ("Paris is the capital of France.", ["What is the capital of France?"], "en")]
    index = LexicalIndex.build([(e, q) for e, (_, qs, _) in enumerate(rows) for q in qs], [a for a, *_ in rows])
    lang = [lg for *_, lg in rows]
    links = counterparts(index, [" ".join(qs + [a]) for a, qs, _ in rows], lang)
    assert links[:4] == [1, 0, 3, 2]
    path = tmp_path / "retrieval.npz"
    Guide.save(path, index, [a for a, *_ in rows], lang=lang, counterpart=links[:4] + [-1])
    g = Guide.load(path, Tokenizer.load(HF_DIR / "tokenizer.json"))
    assert g.counterpart == [1, 0, 3, 2, -1]
    assert g._translated([(0, 0.9), (2, 0.4)], "es") == [(1, 0.9), (3, 0.4)]
    assert g._translated([(4, 0.9), (0, 0.4)], "es") == []  # the best one has no translation


def _classified() -> LexicalIndex:
    from llmkit.engine.classifier import Classifier, train

    index = _index()
    questions = [(e, q) for e, (_, qs, _) in enumerate(ENTRIES) for q in qs]
    index.classifier = Classifier(train(questions, len(ENTRIES)))
    return index


def test_the_classifier_learns_each_entry_from_its_phrasings_and_trains_the_same_twice():
    from llmkit.engine.classifier import train

    index = _classified()
    for e, (_, qs, _) in enumerate(ENTRIES):
        for q in qs:
            assert int(np.argmax(index.classifier.probs(q))) == e, q
    p = index.classifier.probs("how can I catch an exception in python")
    assert int(np.argmax(p)) == 0 and p[0] > 3 * p[1]  # "catch" with "exception": try/except, not the ball game
    assert not index.classifier.probs("").any()  # no features: no opinion
    again = train([(e, q) for e, (_, qs, _) in enumerate(ENTRIES) for q in qs], len(ENTRIES))
    assert all((again[k] == index.classifier.arrays[k]).all() for k in again)


def test_the_classifier_learns_an_entry_from_its_answer_s_words_too():
    """Each answer is one more training row of its entry: a question in the answer's words, none of
    them in the entry's phrasings, points to it."""
    from llmkit.engine.classifier import Classifier, train

    questions = [(e, q) for e, (_, qs, _) in enumerate(ENTRIES) for q in qs]
    answers = [a for a, *_ in ENTRIES]
    q = "packages an application into a container"  # the Docker answer's words ("containers" is a phrasing's)
    alone = Classifier(train(questions, len(ENTRIES))).probs(q)
    clf = Classifier(train(questions, len(ENTRIES), answers=answers))
    both = clf.probs(q)
    assert int(np.argmax(both)) == 4 and both[4] > 0.5 and both[4] > alone[4]
    assert all(int(np.argmax(clf.probs(q))) == e for e, q in questions)  # each phrasing still finds its entry


def test_the_classifier_reorders_what_words_found_and_finds_nothing_alone(tmp_path):
    index = _classified()
    assert index.top("zzzz qqqq", 3, min_lexical=0.25) == []
    q = "catch an exception"
    clf, index.classifier = index.classifier, None
    assert [e for e, _ in index.top(q, 2)] == [2, 1]  # by words: raising one, then the ball game ("catch")
    index.classifier = clf
    assert [e for e, _ in index.top(q, 2)] == [2, 0]  # it knows "catch" with "exception" is try/except
    index.save(tmp_path / "i.npz")
    back = LexicalIndex.load(tmp_path / "i.npz")
    np.testing.assert_allclose(back.classifier.probs(q), index.classifier.probs(q), atol=1e-6)  # packed as saved
    assert [e for e, _ in back.top(q, 3)] == [e for e, _ in index.top(q, 3)]


def test_where_the_network_has_not_learned_a_candidate_the_classifier_weighs_in(tmp_path):
    """`Guide.weigh` with the query: among candidates with an answer the network never learned, the
    classifier's logits join the weights; among learned ones the network's figures stand alone."""
    path = tmp_path / "retrieval.npz"
    index = _classified()
    fit = np.array([-0.05, -7.5, -7.5, -0.02, -6.0, -0.3])  # entries 1 and 2 never learned
    Guide.save(path, index, [a for a, *_ in ENTRIES], fit=fit)
    g = Guide.load(path, Tokenizer.load(HF_DIR / "tokenizer.json"))
    assert g.index.classifier is not None
    first_logp = np.zeros(g.vocab)
    q = "how do I raise an exception"  # the words and the classifier: entry 2, not the ball game

    def rest(seqs):
        return [0.0] * len(seqs)

    cands = [(1, 0.45), (2, 0.45)]  # the same lexical score, neither learned
    assert dict(g.weigh(cands, first_logp, rest)) == pytest.approx({1: 0.5, 2: 0.5})
    w = dict(g.weigh(cands, first_logp, rest, q))
    assert w[2] > 0.6
    assert dict(g.weigh(cands, first_logp, rest, [q, "an earlier turn"])) == pytest.approx(w)  # the last question
    learned = [(0, 0.45), (3, 0.45)]  # both learned: the classifier stays out
    assert dict(g.weigh(learned, first_logp, rest, "capital of france")) == pytest.approx({0: 0.5, 3: 0.5})


def test_a_typo_of_a_common_word_reads_as_that_word_and_a_real_word_stays_as_typed():
    """`_Spell`: a question's rare word one slip from a word many entries use is read as it; a real word
    (the English and Spanish dictionaries, or one an answer uses) is not, however close, and neither is
    another form of the word (its ending changed) nor a change of its first letter."""
    from llmkit.engine.guide import _Spell, spelling_keep

    spell = _Spell.of([("python", 40), ("docker", 12), ("test", 9), ("ones", 6), ("sirve", 6), ("memory", 5),
                       ("reduce", 4)])
    spell.keep = spelling_keep(spell, {"dockers"})
    assert spell.correct("pyhton", 0) == "python"  # two letters swapped
    assert spell.correct("dokcer", 1) == "docker"
    assert spell.correct("memmory", 0) == "memory"  # one letter too many
    assert spell.correct("dockre", 0) == "docker"  # swapped at the end: a slip, not an ending
    assert spell.correct("zones", 0) is None  # a real word, not "ones"
    assert spell.correct("dockers", 0) is None  # an answer uses it
    assert spell.correct("sirvo", 0) is None  # another form of "sirve" (a Spanish verb the dictionary lacks)
    assert spell.correct("seduce", 0) is None  # a real word; and the first letter is not where slips are
    assert spell.correct("pythn", 20) is None  # as common as a typo can be here: not one
    assert spell.correct("qwerty", 0) is None  # nothing near


def test_a_question_s_typo_finds_its_entry_and_a_name_stays_as_typed(tmp_path):
    """`Guide.spelled` before the rare-word rules: "dokcer" would otherwise be a word never seen, and the
    question "I don't know"; a capitalised word past the first is a name ("Mount Dokcer") and stays."""
    answers = [a for a, *_ in ENTRIES]
    g = _guide(tmp_path / "retrieval.npz", _index(), {"docker": 5}, said={"docker"})  # as if five entries used it
    assert g.spelled("explain dokcer containers") == "explain docker containers"
    assert g.spelled("Where is Mount Dokcer?") == "Where is Mount Dokcer?"
    assert answers[g.candidates("explain dokcer containers")[0][0]].startswith("Docker")


def test_a_question_s_language_comes_from_its_words_or_else_from_the_entries_it_finds(tmp_path):
    """`Guide.question_lang`: function words and accents where they say ("explícame range en python" has
    "í" and "en"); a question of names and keywords alone ("contenedores docker") takes the language of
    the entries the classifier finds for it."""
    from llmkit.engine.classifier import Classifier, train

    rows = [("Docker packages an application into a container.", ["What is Docker?", "docker containers"], "en"),
            ("Docker empaqueta una aplicación en un contenedor.", ["¿Qué es Docker?", "contenedores docker"], "es"),
            ("A Python list keeps items in order.", ["What is a Python list?", "python list"], "en"),
            ("Una lista de Python guarda elementos en orden.", ["¿Qué es una lista de Python?", "lista python"], "es")]
    questions = [(e, q) for e, (_, qs, _) in enumerate(rows) for q in qs]
    index = LexicalIndex.build(questions, [a for a, *_ in rows])
    index.classifier = Classifier(train(questions, len(rows)))
    Guide.save(tmp_path / "retrieval.npz", index, [a for a, *_ in rows], lang=[lg for *_, lg in rows])
    g = Guide.load(tmp_path / "retrieval.npz", Tokenizer.load(HF_DIR / "tokenizer.json"))
    assert g.question_lang("explícame range en python") == "es"
    assert g.question_lang("what is a list in python") == "en"
    assert g.question_lang("contenedores docker") == "es"  # no function word: the entries it finds are Spanish
    assert g.question_lang("docker containers") == "en"


def test_the_classifier_vouches_for_an_entry_that_lacks_one_of_the_question_s_rare_words(tmp_path):
    """The rare-word rule wants every rare word of the question in an entry's answer or phrasings; where no
    entry has them all, one the classifier is sure of (`RARE_SURE`) that lacks only one of them answers.
    Two missing stays "I don't know"."""
    found = {}
    for name, index in (("words", _index()), ("classifier", _classified())):
        g = _guide(tmp_path / f"{name}.npz", index)
        found[name] = {q: [e for e, _ in g.candidates(q)] for q in ("throw and catch exceptions",
                                                                     "catch exceptions capital france")}
    # "throw" is raising's word, "catch" try/except's: no entry has both
    assert found["words"]["throw and catch exceptions"] == [5]
    assert found["classifier"]["throw and catch exceptions"] == [0]
    assert found["classifier"]["catch exceptions capital france"] == [5]
