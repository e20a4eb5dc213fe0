"""Ollama's Modelfile: its PARAMETER names (the options every Ollama request may set, with
their types and ranges; `options` reads them from a request), reading one (FROM, SYSTEM,
TEMPLATE, LICENSE, PARAMETER, MESSAGE) for /api/create, and writing one for /api/show.
"""

from __future__ import annotations

import json
import re

from .errors import APIError
from .validate import field, stop_list

OPTION_KINDS = {"temperature": (float, 0, 2), "top_p": (float, 0, 1), "top_k": (int, 0, None),
                "seed": (int, None, None), "num_predict": (int, -2, None), "repeat_penalty": (float, 0, None),
                "num_ctx": (int, 1, None), "num_keep": (int, None, None), "repeat_last_n": (int, -1, None),
                "min_p": (float, 0, 1), "typical_p": (float, 0, 1), "presence_penalty": (float, None, None),
                "frequency_penalty": (float, None, None), "mirostat": (int, 0, 2), "mirostat_tau": (float, None, None),
                "mirostat_eta": (float, None, None), "penalize_newline": (bool, None, None),
                "num_batch": (int, 1, None), "num_gpu": (int, None, None), "main_gpu": (int, None, None),
                "num_thread": (int, 0, None), "use_mmap": (bool, None, None), "use_mlock": (bool, None, None),
                "numa": (bool, None, None), "low_vram": (bool, None, None), "f16_kv": (bool, None, None),
                "vocab_only": (bool, None, None), "logits_all": (bool, None, None), "tfs_z": (float, None, None),
                "embedding_only": (bool, None, None)}


def options(body: dict, label: str = "options") -> dict:
    """A request's Ollama options (`options`, or /api/create's `parameters`), validated: only those
    given, by Ollama's names."""
    opts = field(body, label, dict, None) or {}
    out = {}
    for key, value in opts.items():
        if key == "stop":
            out["stop"] = stop_list(value, f"{label}.stop", limit=64)
        elif key in OPTION_KINDS and value is not None:
            kind, lo, hi = OPTION_KINDS[key]
            out[key] = field(opts, key, kind, minimum=lo, maximum=hi, label=f"{label}.{key}")
    return out


_MODELFILE_CMD = re.compile(r'^\s*(FROM|SYSTEM|PARAMETER|TEMPLATE|MESSAGE|LICENSE|ADAPTER|REQUIRES)\b[ \t]*(.*)$', re.I)


def parse_modelfile(text: str) -> dict:
    """A Modelfile's FROM, SYSTEM, TEMPLATE, LICENSE, PARAMETER and MESSAGE lines ("…" and \"\"\"…\"\"\" quoting)."""
    out: dict = {"parameters": {}, "messages": []}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _MODELFILE_CMD.match(line)
        if not m:
            raise APIError(400, f"Invalid 'modelfile': command must be one of \"from\", \"license\", \"template\", "
                                f"\"system\", \"adapter\", \"parameter\", or \"message\" (line {i}: {line.strip()!r}).",
                           param="modelfile", code="invalid_value")
        cmd, rest = m.group(1).upper(), m.group(2)
        head = ""
        if cmd in ("PARAMETER", "MESSAGE"):
            head, _, rest = rest.partition(" ")
            rest = rest.strip()
        if rest.startswith('"""'):
            rest = rest[3:]
            while '"""' not in rest and i < len(lines):
                rest += "\n" + lines[i]
                i += 1
            if '"""' not in rest:
                raise APIError(400, f"Invalid 'modelfile': unterminated \"\"\" in {cmd}.", param="modelfile")
            rest = rest[:rest.index('"""')]
        elif len(rest) >= 2 and rest[0] == rest[-1] == '"':
            rest = rest[1:-1]
        if cmd == "PARAMETER":
            value = param_value(head, rest)
            if head == "stop":
                out["parameters"].setdefault("stop", []).append(value)
            else:
                out["parameters"][head] = value
        elif cmd == "MESSAGE":
            out["messages"].append({"role": head, "content": rest})
        else:
            out[cmd.lower()] = rest.strip() if cmd == "FROM" else rest
    return out


def param_value(key: str, text: str):
    if key == "stop":
        return text
    if key not in OPTION_KINDS:
        raise APIError(400, f"unknown parameter '{key}'", param=f"parameters.{key}", code="invalid_value")
    kind = OPTION_KINDS[key][0]
    try:
        if kind is bool:
            if text.lower() not in ("true", "false"):
                raise ValueError
            return text.lower() == "true"
        return kind(text)
    except ValueError:
        raise APIError(400, f"Invalid 'parameters.{key}': {text!r} is not {'an integer' if kind is int else 'a ' + kind.__name__}.",
                       param=f"parameters.{key}", code="invalid_value") from None


def template(d: dict) -> str:
    return d.get("template") or "{{ range .Messages }}<|{{ .Role }}|>{{ .Content }}<|end|>{{ end }}<|assistant|>"


def parameters_text(params: dict) -> str:
    lines = []
    for k, v in params.items():
        for item in (v if isinstance(v, list) else [v]):
            lines.append(f"{k:<30} {json.dumps(item, ensure_ascii=False)}")
    return "\n".join(lines)


def render(display_name: str, d: dict, engine) -> str:
    """The Modelfile /api/show prints for a model (created or built in)."""
    q = '"""'
    out = ['# Modelfile generated by "ollama show"', "# To build a new Modelfile based on this, replace FROM with:",
           f"# FROM {display_name}", "", f"FROM {d.get('from') or engine.files[-1]}",
           f"TEMPLATE {q}{template(d)}{q}"]
    if d.get("system"):
        out.append(f"SYSTEM {q}{d['system']}{q}")
    for k, v in (d.get("parameters") or {}).items():
        out += [f"PARAMETER {k} {json.dumps(x, ensure_ascii=False) if isinstance(x, str) else x}"
                for x in (v if isinstance(v, list) else [v])]
    for m in d.get("messages") or []:
        out.append(f"MESSAGE {m['role']} {q}{m['content']}{q}")
    if d.get("license"):
        out.append(f"LICENSE {q}{d['license']}{q}")
    return "\n".join(out) + "\n"
