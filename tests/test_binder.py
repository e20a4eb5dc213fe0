"""Binder: the configuration in binder/, replayed step by step as repo2docker runs it.

In a fresh virtual environment (python -m venv in a temporary folder), on a copy of this
checkout: `pip install -r binder/requirements.txt` from the repository root, then
`binder/postBuild`, then `binder/start <command>`, where the command checks that the
gateway `start` launched in the background answers on its port.

No network is needed: the new environment sees this one's installed packages through a
.pth file, so pip finds every dependency already satisfied (--no-index) and only builds and
installs the course package from the copy (pip and setuptools are this environment's as
well). LLMKIT_BINDER_TEST_ONLINE=1 does a real,
isolated install from PyPI instead. It takes a minute or so, hence its own timeout.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def test_binder_files_are_what_repo2docker_expects():
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    lines = [ln.strip() for ln in (BINDER / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    assert lines == ["."], "the course package, installed from the repository root"
    for name in ("postBuild", "start"):
        script = BINDER / name
        assert os.access(script, os.X_OK), f"binder/{name} must be executable"
        assert script.read_text().startswith("#!/bin/bash\n")
    assert "set -e" in (BINDER / "postBuild").read_text()
    start = (BINDER / "start").read_text().strip().splitlines()
    assert start[-1] == 'exec "$@"'
    assert any(ln.startswith("llmkit serve --port") and ln.rstrip().endswith("&") for ln in start)


def test_readme_has_a_binder_badge_opening_the_first_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    badge = "[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/"
    assert badge in readme
    line = next(ln for ln in readme.splitlines() if badge in ln)
    assert "/HEAD?urlpath=lab/tree/notebooks/00_setup.ipynb)" in line


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _copy_checkout(dest: Path) -> Path:
    skip = shutil.ignore_patterns(".git", ".venv", ".venv-*", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                  ".ipynb_checkpoints", "artifacts", "node_modules")
    shutil.copytree(ROOT, dest, ignore=skip)
    return dest


@pytest.mark.timeout(900)
def test_binder_steps_build_and_start_the_gateway(tmp_path):
    repo = _copy_checkout(tmp_path / "repo")
    venv = tmp_path / "venv"
    online = os.environ.get("LLMKIT_BINDER_TEST_ONLINE") == "1"
    # offline, pip and setuptools come from this environment too (the .pth below), not from
    # ensurepip's older bundled copies
    subprocess.run([sys.executable, "-m", "venv", str(venv)] + ([] if online else ["--without-pip"]),
                   check=True, timeout=300)
    bin_dir = venv / "bin"
    python = bin_dir / "python"
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    if not online:
        site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              check=True, capture_output=True, text=True).stdout.strip()
        Path(site, "zz-parent-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        pip += ["--no-index", "--no-build-isolation"]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "LLMKIT_GATEWAY_URL")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv), HOME=str(tmp_path),
               TMPDIR=str(tmp_path), PIP_NO_INPUT="1")

    # 1. requirements.txt, from the repository root, as repo2docker does
    r = subprocess.run(pip + ["-r", "binder/requirements.txt"], cwd=repo, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    where = subprocess.run([str(python), "-c", "import llmkit; print(llmkit.__file__)"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
    assert where.returncode == 0 and where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr

    # 2. postBuild
    r = subprocess.run(["bash", "binder/postBuild"], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "offline model:" in r.stdout

    # 3. start, with a command in place of JupyterLab's that waits for the gateway to answer
    port = _free_port()
    probe = ("import json, sys, time, urllib.request\n"
             "deadline = time.time() + 90\n"
             "while True:\n"
             "    try:\n"
             f"        body = json.load(urllib.request.urlopen('http://127.0.0.1:{port}/health', timeout=2))\n"
             "        break\n"
             "    except OSError:\n"
             "        if time.time() > deadline: sys.exit('the gateway never answered')\n"
             "        time.sleep(0.2)\n"
             "print('gateway:', body['status'])\n")
    proc = subprocess.Popen(["bash", "binder/start", str(python), "-c", probe], cwd=repo,
                            env={**env, "LLMKIT_GATEWAY_PORT": str(port)}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=180)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the session start ran in: its background gateway
        except ProcessLookupError:
            pass
    assert proc.returncode == 0 and "gateway: healthy" in out, out[-2000:]
