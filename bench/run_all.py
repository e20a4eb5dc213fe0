"""Run every benchmark and print its figures (never fails on a figure)."""

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
for script in ("import_time.py", "gateway.py", "client_overhead.py", "notebooks.py", "memory.py", "litellm_import.py",
               "model.py", "wave.py", "sampling.py", "quality.py"):
    print(f"\n== {script}")
    subprocess.run([sys.executable, str(here / script)], cwd=here)
