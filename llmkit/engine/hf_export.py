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

# Tools (engine/tools.py's format, as Qwen 2.5 / Hermes lay it out, shortened): `tools` (transformers'
# {"type": "function", "function": {...}} or bare function dicts) become a "# Tools" block of the system
# turn, one signature line each; an assistant's `tool_calls` are <tool_call> blocks of JSON; `tool`
# messages become one user turn of <tool_response> blocks. Argument JSON uses `tojson` (transformers':
# json.dumps' layout; plain Jinja2 sorts keys and escapes HTML characters).
CHAT_TEMPLATE = (
    "{%- macro ty(s) -%}"
    "{%- if s is not mapping -%}any"
    "{%- elif s.enum is defined -%}{%- for v in s.enum -%}{{ v|tojson }}{{ '|' if not loop.last }}{%- endfor -%}"
    "{%- elif s.const is defined -%}{{ s.const|tojson }}"
    "{%- elif s.type is defined and s.type is not string -%}{{ s.type|join('|') }}"
    "{%- elif s.type == 'array' -%}array of {{ ty(s.get('items', {})) }}"
    "{%- elif s.type == 'object' and s.properties -%}{{ '{' }}{{ args(s) }}{{ '}' }}"
    "{%- elif s.anyOf is defined -%}{%- for x in s.anyOf -%}{{ ty(x) }}{{ '|' if not loop.last }}{%- endfor -%}"
    "{%- elif s.oneOf is defined -%}{%- for x in s.oneOf -%}{{ ty(x) }}{{ '|' if not loop.last }}{%- endfor -%}"
    "{%- else -%}{{ s.type if s.type is defined and s.type else 'any' }}{%- endif -%}"
    "{%- endmacro -%}"
    "{%- macro args(p) -%}"
    "{%- set req = p.required if p.required is defined and p.required else [] -%}"
    "{%- for k, v in (p.properties if p.properties is defined and p.properties else {}).items() -%}"
    "{{ k }}{{ '' if k in req else '?' }}: {{ ty(v) }}{{ ', ' if not loop.last }}"
    "{%- endfor -%}"
    "{%- endmacro -%}"
    "{%- set tool_block = namespace(text='') -%}"
    "{%- if tools -%}"
    "{%- set tool_block.text = '# Tools' -%}"
    "{%- for t in tools -%}"
    "{%- set f = t.function if t.function is defined else t -%}"
    "{%- set d = (f.description or '').split()|join(' ') -%}"
    "{%- set tool_block.text = tool_block.text + '\n' + f.name + '(' + args(f.parameters or {}) + ')'"
    " + (': ' + d if d else '') -%}"
    "{%- endfor -%}"
    "{%- set tool_block.text = tool_block.text + '\nTo call a tool, reply <tool_call>{\"name\": ..., "
    "\"arguments\": {...}}</tool_call>' -%}"
    "{%- if messages[0]['role'] != 'system' -%}<|system|>{{ tool_block.text }}<|end|>{%- endif -%}"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'tool' -%}"
    "{%- if loop.first or loop.previtem['role'] != 'tool' -%}<|user|>{%- else -%}{{ '\n' }}{%- endif -%}"
    "<tool_response>\n{{ message['content'] if message['content'] is string else message['content']|tojson }}"
    "\n</tool_response>"
    "{%- if loop.last or loop.nextitem['role'] != 'tool' -%}<|end|>{%- endif -%}"
    "{%- else -%}"
    "{%- if message['role'] == 'system' -%}<|system|>"
    "{%- elif message['role'] == 'assistant' -%}<|assistant|>"
    "{%- else -%}<|user|>{%- endif -%}"
    "{%- set text = message['content'] if message['content'] is string else '' -%}"
    "{%- if message['role'] == 'system' and loop.first and tool_block.text -%}"
    "{%- set text = (text + '\n\n' + tool_block.text) if text|trim else tool_block.text -%}"
    "{%- endif -%}"
    "{%- if message['role'] == 'assistant' and message.tool_calls -%}"
    "{%- if text|trim -%}{{ text|trim }}{{ '\n' }}{%- endif -%}"
    "{%- for c in message.tool_calls -%}"
    "{%- set fn = c.function if c.function is defined else c -%}"
    "<tool_call>\n{\"name\": {{ fn.name|tojson }}, \"arguments\": "
    "{{ fn.arguments if fn.arguments is string else fn.arguments|tojson }}}\n</tool_call>"
    "{{ '\n' if not loop.last }}"
    "{%- endfor -%}"
    "{%- else -%}{{ text }}{%- endif -%}"
    "<|end|>"
    "{%- endif -%}"
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


# The sampling default the model ships in generation_config.json (transformers, vLLM and the
# offline engine apply it when a request does not set min_p): at temperature 1, the defaults of
# OpenAI's, Anthropic's and Gemini's APIs, a 6M-parameter network's long tail of unlikely tokens
# derailed 32 of 90 sampled replies into made-up words; with tokens under a tenth of the likeliest
# one's probability dropped, 11 of 90 (bench/sampling.py; docs/offline-model-v3.md, session 13).
MIN_P = 0.1


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
        {"eos_token_id": tok.end_id, "pad_token_id": tok.pad_id, "do_sample": True, "min_p": MIN_P}, indent=2) + "\n")
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
