"""Write the course model (the Hugging Face folder of transformer-v2/v3) as one GGUF file.

GGUF is what llama.cpp (and Ollama, LM Studio, llama-cpp-python) load. llama.cpp's own
converter refuses this tokenizer ("BPE pre-tokenizer was not recognized": it fingerprints
known models), but the tokenizer is plain byte-level BPE with GPT-2's pre-tokenization
(`use_regex`, no prefix space), so it is written here as tokenizer model "gpt2" with
pre-tokenizer "gpt-2", with the PyPI `gguf` package (llama.cpp's own writer):

- weights under llama.cpp's names (gguf's `TensorNameMap`), the output layer left out
  (tied: llama.cpp reuses token_embd), and the query/key rows permuted as llama.cpp's
  converter does (Hugging Face rotates the two halves of a head, llama.cpp adjacent pairs);
- the vocabulary, merges and token types: the five specials (<|pad|>, the role markers,
  <|end|>) are CONTROL tokens, so text typed by a user cannot become one by accident of
  decoding, and <|end|> is the end of a turn (eos) for llama.cpp's generation loop;
- the chat template (`tokenizer.chat_template`), so llama.cpp's server renders a chat exactly
  as `Tokenizer.render_chat` does; no BOS token (the model was trained without one).

`--type f32` stores the float16 weights widened (exact: llama.cpp then computes what numpy
computes); f16 halves the file, q8_0 quarters it, each at a small cost in agreement.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

TYPES = ("f32", "f16", "q8_0")
EXPORT_VERSION = "1"  # part of the cache key: bump when the file written here changes


def hf_dir(model: str | None = None) -> Path:
    """The Hugging Face folder of engine `model` (default: the engine llmkit serves)."""
    from . import DEFAULT
    from .transformer import DATA_DIRS

    model = model or DEFAULT
    if model not in DATA_DIRS:
        raise ValueError(f"unknown model {model!r}: choose one of {sorted(DATA_DIRS)}")
    folder = DATA_DIRS[model] / "hf"
    if not (folder / "model.safetensors").exists():
        raise FileNotFoundError(f"model files missing in {folder}: run `llmkit train {model}`")
    return folder


def fingerprint(folder: Path) -> str:
    """What the export depends on: the weights, tokenizer and config (and this writer's version)."""
    h = hashlib.sha256(EXPORT_VERSION.encode())
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"):
        h.update((folder / name).read_bytes())
    return h.hexdigest()[:12]


def cache_path(model: str | None = None, type_: str = "f32") -> Path:
    """Where `llmkit engines start llama-cpp` keeps its export: the data folder, keyed by content."""
    from llmkit.server.store import data_dir

    from . import DEFAULT

    model = model or DEFAULT
    return data_dir() / "gguf" / f"llmkit-{model}-{type_}-{fingerprint(hf_dir(model))}.gguf"


def cached(model: str | None = None, type_: str = "f32") -> Path:
    """The cached export, written first if missing (or stale: the key changes with the weights)."""
    path = cache_path(model, type_)
    if not path.exists():
        export(path, model=model, type_=type_)
    return path


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """Hugging Face's rotate-half query/key rows to llama.cpp's interleaved RoPE order."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def export(out: str | Path, model: str | None = None, type_: str = "f32") -> Path:
    """Write engine `model`'s network and tokenizer to `out` as GGUF; returns the path."""
    import gguf

    from .transformer import read_safetensors

    if type_ not in TYPES:
        raise ValueError(f"unknown type {type_!r}: choose one of {', '.join(TYPES)}")
    from . import DEFAULT

    model = model or DEFAULT
    folder = hf_dir(model)
    cfg = json.loads((folder / "config.json").read_text())
    tok_cfg = json.loads((folder / "tokenizer_config.json").read_text())
    tok = json.loads((folder / "tokenizer.json").read_text())
    if tok["model"]["type"] != "BPE" or (tok.get("pre_tokenizer") or {}).get("type") != "ByteLevel":
        raise ValueError("only a byte-level BPE tokenizer (GPT-2 style) can be written as 'gpt2'")
    if tok["pre_tokenizer"].get("add_prefix_space") or not tok["pre_tokenizer"].get("use_regex", True):
        raise ValueError("the tokenizer's pre-tokenization is not GPT-2's (prefix space or no regex)")

    arch = gguf.MODEL_ARCH.LLAMA
    n_head = cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads") or n_head
    n_layers = cfg["num_hidden_layers"]
    qtype = {"f32": gguf.GGMLQuantizationType.F32, "f16": gguf.GGMLQuantizationType.F16,
             "q8_0": gguf.GGMLQuantizationType.Q8_0}[type_]
    ftype = {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
             "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[type_]

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")  # never a half-written file at `out`
    w = gguf.GGUFWriter(tmp, gguf.MODEL_ARCH_NAMES[arch])

    # -- the network ----------------------------------------------------------------------
    w.add_name(f"llmkit-{model}")
    w.add_description("The llmkit course's offline model (a small Llama-style network trained on the course)")
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(n_layers)
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_rope_dimension_count(cfg.get("head_dim") or cfg["hidden_size"] // n_head)
    w.add_rope_freq_base(float(cfg.get("rope_theta", 10000.0)))
    w.add_layer_norm_rms_eps(float(cfg["rms_norm_eps"]))
    w.add_vocab_size(cfg["vocab_size"])
    w.add_file_type(ftype)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    names = gguf.get_tensor_name_map(arch, n_layers)
    for name, data in read_safetensors(folder / "model.safetensors").items():
        if name == "lm_head.weight" and cfg.get("tie_word_embeddings"):
            continue
        new = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise ValueError(f"tensor {name!r} has no llama.cpp name")
        data = np.asarray(data, dtype=np.float32)
        if name.endswith("q_proj.weight"):
            data = _permute(data, n_head)
        elif name.endswith("k_proj.weight"):
            data = _permute(data, n_kv)
        if data.ndim == 1 or qtype == gguf.GGMLQuantizationType.F32:  # norms stay f32, as llama.cpp's converter keeps them
            w.add_tensor(new, data)
        else:
            w.add_tensor(new, gguf.quants.quantize(data, qtype), raw_dtype=qtype)

    # -- the tokenizer ----------------------------------------------------------------------
    vocab = tok["model"]["vocab"]
    added = {t["id"]: t for t in tok.get("added_tokens", [])}
    by_id = {i: s for s, i in vocab.items()}
    by_id.update({i: t["content"] for i, t in added.items()})
    size = cfg["vocab_size"]
    tokens, types = [], []
    for i in range(size):
        if i in by_id:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.CONTROL if added.get(i, {}).get("special") else gguf.TokenType.NORMAL)
        else:  # a padded vocabulary: an unused slot
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    ids = {t["content"]: i for i, t in added.items()}

    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    eos = ids[tok_cfg["eos_token"]]
    w.add_eos_token_id(eos)
    w.add_eot_token_id(eos)  # the end of a turn: llama.cpp stops generating there
    if tok_cfg.get("pad_token") in ids:
        w.add_pad_token_id(ids[tok_cfg["pad_token"]])
    if tok_cfg.get("bos_token") in ids:
        w.add_bos_token_id(ids[tok_cfg["bos_token"]])
    w.add_add_bos_token(bool(tok_cfg.get("add_bos_token")))
    w.add_add_eos_token(bool(tok_cfg.get("add_eos_token")))
    w.add_chat_template(tok_cfg["chat_template"])

    try:
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out
