"""Draw offline model v2's loss curve from its info.json (written by the trainer).

    python tools/loss_curve.py                      # docs/img/v2-loss.png from the shipped model
    python tools/loss_curve.py /tmp/run/info.json out.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> None:
    src = Path(argv[0]) if argv else ROOT / "llmkit/engine/data/transformer-v2/info.json"
    dst = Path(argv[1]) if len(argv) > 1 else ROOT / "docs/img/v2-loss.png"
    curve = json.loads(src.read_text())["curve"]
    steps = [c["step"] for c in curve]
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=90, layout="constrained")
    ax.plot(steps, [c["train_loss"] for c in curve], label="training loss (assistant tokens, weighted)")
    ax.plot(steps, [c["heldout_loss"] for c in curve], label="held-out phrasings: answer loss")
    ax.plot(steps, [c["heldout_first_nll"] for c in curve], label="held-out: first answer token")
    ax.set_xlabel("step (8 rows x 1,024 tokens)")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    dst.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(dst)
    print(f"wrote {dst}")


if __name__ == "__main__":
    main(sys.argv[1:])
