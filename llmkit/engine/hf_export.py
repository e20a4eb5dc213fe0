"""Write offline model v2 in Hugging Face format (what `LlamaForCausalLM` loads).

`data/transformer-v2/hf/` holds config.json, generation_config.json, model.safetensors
(float16; the output layer is tied to the input embedding, so it is not stored twice),
tokenizer.json (the project's BPE tokenizer) and tokenizer_config.json with a Jinja
chat template that renders exactly what `Tokenizer.render_chat` does. So:

    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")

The numpy engine reads the same files (no torch, no transformers needed); nothing here
imports either, so training needs only torch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .tokenizer import Tokenizer
from .transformer import write_safetensors

CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}<|system|>"
    "{%- elif message['role'] == 'assistant' -%}<|assistant|>"
    "{%- else -%}<|user|>{%- endif -%}"
    "{{ message['content'] if message['content'] is string else '' }}<|end|>"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}<|assistant|>{%- endif -%}"
)


def llama_config(cfg: dict, tok: Tokenizer) -> dict:
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": cfg["vocab_size"],
        "hidden_size": cfg["hidden_size"],
        "intermediate_size": cfg["intermediate_size"],
        "num_hidden_layers": cfg["num_hidden_layers"],
        "num_attention_heads": cfg["num_attention_heads"],
        "num_key_value_heads": cfg["num_key_value_heads"],
        "head_dim": cfg["hidden_size"] // cfg["num_attention_heads"],
        "max_position_embeddings": cfg["max_position_embeddings"],
        "rms_norm_eps": cfg["rms_norm_eps"],
        "rope_theta": cfg["rope_theta"],
        "rope_scaling": None,
        "hidden_act": "silu",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "tie_word_embeddings": True,
        "initializer_range": 0.02,
        "pretraining_tp": 1,
        "use_cache": True,
        "bos_token_id": None,
        "eos_token_id": tok.end_id,
        "pad_token_id": tok.pad_id,
        "torch_dtype": "float32",
    }


def export(out: Path, weights: dict[str, np.ndarray], cfg: dict, tok: Tokenizer,
           embed: dict[str, np.ndarray] | None = None, info: dict | None = None) -> Path:
    """Write the HF folder under out/hf/ and the engine's extras (embed.npz, info.json) in out/."""
    out = Path(out)
    hf = out / "hf"
    hf.mkdir(parents=True, exist_ok=True)
    tensors = {k: np.asarray(v, dtype=np.float32).astype(np.float16) for k, v in weights.items() if k != "lm_head.weight"}
    write_safetensors(hf / "model.safetensors", tensors, {"format": "pt"})
    (hf / "config.json").write_text(json.dumps(llama_config(cfg, tok), indent=2) + "\n")
    (hf / "generation_config.json").write_text(json.dumps(
        {"eos_token_id": tok.end_id, "pad_token_id": tok.pad_id, "do_sample": False}, indent=2) + "\n")
    tok.save(hf / "tokenizer.json")
    specials = {"eos_token": "<|end|>", "pad_token": "<|pad|>",
                "additional_special_tokens": ["<|system|>", "<|user|>", "<|assistant|>"]}
    (hf / "special_tokens_map.json").write_text(json.dumps(specials, indent=2) + "\n")
    (hf / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": cfg["max_position_embeddings"],
        "bos_token": None, "add_bos_token": False, "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        **specials,
        "chat_template": CHAT_TEMPLATE,
    }, indent=2) + "\n")
    if embed is not None:
        np.savez(out / "embed.npz", **embed)
    if info is not None:
        (out / "info.json").write_text(json.dumps(info, indent=1) + "\n")
    return hf
