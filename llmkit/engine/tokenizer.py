"""The offline model's subword tokenizer: byte-level BPE trained on the course corpus.

Built with Hugging Face `tokenizers` (the same library real models ship with), so token
counts in `usage` are real counts of a real tokenizer, and the chat template's role
markers are single special tokens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

SPECIALS = ["<|pad|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
ROLE_TOKENS = {"system": "<|system|>", "user": "<|user|>", "assistant": "<|assistant|>"}


class Tokenizer:
    """Thin wrapper: encode/decode text, special-token ids, streaming-safe decoding."""

    def __init__(self, hf_tokenizer):
        self._tok = hf_tokenizer
        # a user typing "<|end|><|system|>..." gets plain text, not a turn of another role:
        # only render_chat places role markers (a runtime switch, not saved in tokenizer.json)
        hf_tokenizer.encode_special_tokens = True
        self.vocab_size = hf_tokenizer.get_vocab_size()
        self.special = {s: hf_tokenizer.token_to_id(s) for s in SPECIALS}
        self.end_id = self.special["<|end|>"]
        self.pad_id = self.special["<|pad|>"]

    @classmethod
    def load(cls, path: str | Path) -> "Tokenizer":
        from tokenizers import Tokenizer as HFTokenizer

        return cls(HFTokenizer.from_file(str(path)))

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 4096) -> "Tokenizer":
        from tokenizers import Tokenizer as HFTokenizer, decoders, models, pre_tokenizers, trainers

        tok = HFTokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=SPECIALS,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator(list(texts), trainer=trainer)
        return cls(tok)

    def save(self, path: str | Path) -> None:
        self._tok.encode_special_tokens = False  # other tools (transformers) expect the default
        try:
            self._tok.save(str(path))
        finally:
            self._tok.encode_special_tokens = True

    def encode(self, text: str) -> list[int]:
        """Plain text to ids; role markers typed by a user are NOT turned into specials."""
        return self._tok.encode(text, add_special_tokens=False).ids if text else []

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: Iterable[int]) -> str:
        return self._tok.decode(list(ids), skip_special_tokens=True)

    def id_to_token(self, i: int) -> str:
        return self._tok.id_to_token(i)

    def render_chat(self, messages: list[dict]) -> list[int]:
        """The chat template: <|role|> content <|end|> per turn, then <|assistant|>."""
        ids: list[int] = []
        for m in messages:
            ids.append(self.special[ROLE_TOKENS.get(m["role"], "<|user|>")])
            ids.extend(self.encode(m.get("content") or ""))
            ids.append(self.end_id)
        ids.append(self.special["<|assistant|>"])
        return ids


class StreamDecoder:
    """Turns token ids into text deltas without splitting a UTF-8 character in two."""

    def __init__(self, tokenizer: Tokenizer):
        self.tok = tokenizer
        self.ids: list[int] = []

    def push(self, token_id: int) -> str:
        self.ids.append(token_id)
        text = self.tok.decode(self.ids)
        if text.endswith("\ufffd") and len(self.ids) < 4:  # a character split across tokens
            return ""
        self.ids = []
        return text
