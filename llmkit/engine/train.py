"""Train offline model v1 from the shipped corpus: `python -m llmkit.engine.train`.

Deterministic (the same corpus gives the same model) and takes a few seconds; the result is
committed under llmkit/engine/data/ngram-v1/ so nothing is trained at run time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from . import corpus, embed
from .ngram import DATA_DIR, count_ngrams
from .tokenizer import Tokenizer


def training_sequences(tok: Tokenizer, docs: list[corpus.Doc]) -> list[list[int]]:
    user, asst = tok.special["<|user|>"], tok.special["<|assistant|>"]
    seqs = []
    for d in docs:
        ans = tok.encode(d.answer) + [tok.end_id]
        for q in d.questions:
            seqs.append([user] + tok.encode(q) + [tok.end_id, asst] + ans)
    return seqs


def train(out_dir: Path = DATA_DIR, vocab_size: int = 4096) -> dict:
    t0 = time.perf_counter()
    docs = corpus.load()
    texts = [q for d in docs for q in d.questions] + [d.answer for d in docs]
    tok = Tokenizer.train(texts, vocab_size=vocab_size)
    seqs = training_sequences(tok, docs)
    arrays = count_ngrams(seqs, tok.vocab_size)

    emb_fit = embed.fit(texts)
    embedder = embed.Embedder(emb_fit["idf"], emb_fit["basis"], emb_fit["mean"])
    q_texts = [q for d in docs for q in d.questions]
    q_doc = np.array([i for i, d in enumerate(docs) for _ in d.questions], dtype=np.int32)
    q_emb = embedder.embed(q_texts).astype(np.float16)

    answers = [tok.encode(d.answer) for d in docs]
    offsets = np.cumsum([0] + [len(a) for a in answers]).astype(np.int32)
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(out_dir / "tokenizer.json")
    np.savez_compressed(
        out_dir / "model.npz",
        vocab=np.int32(tok.vocab_size),
        idf=emb_fit["idf"], basis=emb_fit["basis"], mean=emb_fit["mean"],
        q_emb=q_emb, q_doc=q_doc,
        ans_ids=np.concatenate([np.array(a, dtype=np.int32) for a in answers]),
        ans_offsets=offsets,
        doc_lang=np.array([1 if d.lang == "es" else 0 for d in docs], dtype=np.int8),
        doc_fallback=np.array([d.topic == "fallback" for d in docs], dtype=np.int8),
        **arrays,
    )
    info = {
        "documents": len(docs),
        "question_phrasings": len(q_texts),
        "heldout_phrasings": sum(len(d.heldout) for d in docs),
        "training_tokens": int(sum(len(s) for s in seqs)),
        "vocab_size": tok.vocab_size,
        "ngram_contexts": {n: int(len(arrays[f"keys{n}"])) for n in range(1, 5)},
    }
    (out_dir / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    return {**info, "seconds": round(time.perf_counter() - t0, 2)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, default=DATA_DIR)
    p.add_argument("--vocab-size", type=int, default=4096)
    args = p.parse_args(argv)
    print(json.dumps(train(args.out, args.vocab_size), indent=2))


if __name__ == "__main__":
    main()
