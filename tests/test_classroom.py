"""Classroom mode: students use tokens instead of the instructor's key, within daily quotas.

The classroom gateway runs as a real `llmkit serve --config` process (it is killed with
SIGKILL to show the usage survives); its upstream is another llmkit gateway standing in for
Groq's API, which needs the instructor's key (so an answer proves the key went upstream).
Clients are the official SDKs; the CLI is `llmkit.cli.main`.
"""

from __future__ import annotations

import os
import signal
import sqlite3

import httpx
import pytest

from llmkit import classroom, cli
from llmkit.server.gateway_config import load
from test_routing import start_gateway_process, wait_up

UPKEY = "instructor.not.a.real.key.classroom"
ADMIN = "admin-key-for-the-instructor"
PRICED = "llama-3.1-8b-instant"  # a Groq model with a list price in the catalog
Q = [{"role": "user", "content": "What is an API key?"}]


@pytest.fixture(scope="module")
def upstream():
    from llmkit.server.background import Gateway

    g = Gateway(api_key=UPKEY).start()  # the 'real' provider: refuses anyone without the key
    yield g.url
    g.stop()


def write_config(folder, upstream: str, quota: str) -> str:
    f = folder / "gateway.toml"
    f.write_text(f'[upstreams.groq]\nurl = "groq+{upstream}/openai/v1"\nmodels = ["{PRICED}"]\n\n'
                 f'[classroom]\ndb = "class.sqlite"\n{quota}\n')
    return str(f)


def run_cli(capsys, *args) -> tuple[int, str, str]:
    rc = cli.main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture(scope="module")
def room(upstream, tmp_path_factory):
    """(gateway process, its URL, config path, the process's log file)."""
    folder = tmp_path_factory.mktemp("classroom")
    conf = write_config(folder, upstream, "requests_per_day = 3")
    proc, url = start_gateway_process({"GROQ_API_KEY": UPKEY, "LLMKIT_ADMIN_KEY": ADMIN, "LLMKIT_ENGINE": "ngram-v1"},
                                      "--config", conf, "--log-level", "info")
    wait_up(proc, url)
    yield proc, url, conf
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def test_cli_adds_lists_and_removes_students_keeping_only_hashes(room, capsys):
    conf = room[2]
    rc, token, _ = run_cli(capsys, "classroom", "--config", conf, "add", "alice")
    assert rc == 0 and token.strip().startswith(classroom.TOKEN_PREFIX)
    rc, _, err = run_cli(capsys, "classroom", "--config", conf, "add", "alice")
    assert rc == 2 and "already exists" in err
    assert run_cli(capsys, "classroom", "--config", conf, "add", "bob")[0] == 0
    rc, listing, _ = run_cli(capsys, "classroom", "--config", conf, "list")
    assert [ln.split("\t")[0] for ln in listing.splitlines()] == ["alice", "bob"]
    db = load(conf).classroom.db
    assert token.strip() not in listing and token.strip().encode() not in db.read_bytes()
    rc, _, err = run_cli(capsys, "classroom", "--config", conf, "remove", "nobody")
    assert rc == 2 and "no student named 'nobody'" in err
    os.environ["LLMKIT_TEST_ALICE"] = token.strip()


def test_students_use_tokens_within_quota_in_their_own_protocol(room, capsys):
    import anthropic
    import ollama
    from openai import AuthenticationError, OpenAI, RateLimitError

    proc, url, conf = room
    alice = os.environ["LLMKIT_TEST_ALICE"]
    with pytest.raises(AuthenticationError, match="classroom mode"):
        OpenAI(base_url=url + "/v1", api_key="sk-guess", max_retries=0).models.list()
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=url, api_key="none", max_retries=0).messages.create(
            model=PRICED, max_tokens=5, messages=Q)
    student = OpenAI(base_url=url + "/v1", api_key=alice, max_retries=0)
    for _ in range(3):
        r = student.chat.completions.create(model=PRICED, messages=Q, max_tokens=8)
        assert r.usage.completion_tokens > 0
    with pytest.raises(RateLimitError) as e:
        student.chat.completions.create(model=PRICED, messages=Q, max_tokens=8)
    assert "Classroom quota reached for 'alice': 3 requests per day" in str(e.value)
    assert int(e.value.response.headers["retry-after"]) > 0
    with pytest.raises(anthropic.RateLimitError, match="quota reached"):
        anthropic.Anthropic(base_url=url, api_key=alice, max_retries=0).messages.create(
            model=PRICED, max_tokens=5, messages=Q)
    with pytest.raises(ollama.ResponseError) as e:
        ollama.Client(host=url, headers={"authorization": f"Bearer {alice}"}).chat(model=PRICED, messages=Q)
    assert e.value.status_code == 429
    rc, report, _ = run_cli(capsys, "classroom", "--config", conf, "report")
    line = next(ln for ln in report.splitlines() if " alice " in ln)
    day, name, requests, tin, tout, errors, cost = line.split()
    assert requests == "3" and int(tin) > 0 and int(tout) > 0 and errors == "0" and cost != "$0.00"


def test_admin_routes_take_the_admin_key_and_no_student_token(room):
    url = room[1]
    alice = os.environ["LLMKIT_TEST_ALICE"]
    r = httpx.get(url + "/admin/classroom/students", headers={"authorization": f"Bearer {alice}"})
    assert r.status_code == 401 and "admin key" in r.text
    admin = {"authorization": f"Bearer {ADMIN}"}
    r = httpx.post(url + "/admin/classroom/students", headers=admin, json={"name": "carol"})
    assert r.status_code == 201
    carol = r.json()["token"]
    r = httpx.post(url + "/v1/chat/completions", headers={"authorization": f"Bearer {carol}"},
                   json={"model": "gpt-4o-mini", "messages": Q, "max_tokens": 4})  # the offline model: $0
    assert r.status_code == 200
    report = httpx.get(url + "/admin/classroom/report", headers=admin).json()["rows"]
    assert {r["student"]: r["requests"] for r in report} == {"alice": 3, "carol": 1}
    assert [r["usd"] for r in report if r["student"] == "carol"] == [0.0]
    assert httpx.delete(url + "/admin/classroom/students/carol", headers=admin).status_code == 200
    assert httpx.post(url + "/v1/chat/completions", headers={"authorization": f"Bearer {carol}"},
                      json={"model": "gpt-4o-mini", "messages": Q}).status_code == 401


def test_a_students_notebook_uses_the_gateway_url_and_the_token(room, capsys):
    import subprocess
    import sys

    url, conf = room[1], room[2]
    token = run_cli(capsys, "classroom", "--config", conf, "add", "erin")[1].strip()
    code = ("import llmkit; llmkit.setup(quiet=True)\n"
            "from openai import OpenAI; import ollama\n"
            f"r = OpenAI(max_retries=0).chat.completions.create(model={PRICED!r}, max_tokens=4, "
            "messages=[{'role': 'user', 'content': 'hi'}])\n"
            "o = ollama.Client().chat(model='gpt-4o-mini', messages=[{'role': 'user', 'content': 'hi'}], "
            "options={'num_predict': 3})\n"
            "print(r.usage.completion_tokens, o.eval_count)")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k not in ("OLLAMA_HOST",)}
    out = subprocess.run([sys.executable, "-c", code], env={**env, "LLMKIT_GATEWAY_URL": url, "LLMKIT_API_KEY": token},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert [int(n) > 0 for n in out.stdout.split()] == [True, True]
    report = {r["student"]: r for r in classroom.Store(load(conf).classroom.db).report()}
    assert report["erin"]["requests"] == 2 and report["erin"]["usd"] > 0


def test_usage_survives_kill_9_and_the_key_never_leaks(room, capsys):
    from llmkit.server.app import Settings
    from llmkit.server.background import Gateway
    from openai import OpenAI, RateLimitError

    proc, url, conf = room
    bob = run_cli(capsys, "classroom", "--config", conf, "add", "bob2")[1].strip()
    r = httpx.post(url + "/v1/chat/completions", headers={"authorization": f"Bearer {bob}"},
                   json={"model": PRICED, "messages": Q, "max_tokens": 6})
    assert r.status_code == 200 and UPKEY not in r.text
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    log = proc.stdout.read().decode()
    assert "POST /v1/chat/completions" in log and UPKEY not in log  # the access log went out, no key in it
    db = load(conf).classroom.db
    assert UPKEY.encode() not in db.read_bytes()
    rows = sqlite3.connect(db).execute("SELECT student, COUNT(*) FROM usage GROUP BY student").fetchall()
    assert dict(rows) == {"alice": 3, "bob2": 1, "carol": 1, "erin": 2}
    # a new gateway on the same database still holds alice to today's quota
    os.environ["GROQ_API_KEY"] = UPKEY
    g = Gateway(settings=Settings(admin_key=ADMIN, gateway=load(conf))).start()
    try:
        with pytest.raises(RateLimitError):
            OpenAI(base_url=g.url + "/v1", api_key=os.environ["LLMKIT_TEST_ALICE"], max_retries=0) \
                .chat.completions.create(model=PRICED, messages=Q)
    finally:
        g.stop()
        os.environ.pop("GROQ_API_KEY")


def test_a_usd_quota_counts_list_prices(upstream, tmp_path):
    from llmkit.server.app import Settings
    from llmkit.server.background import Gateway
    from openai import BadRequestError, OpenAI, RateLimitError

    conf = write_config(tmp_path, upstream, "usd_per_day = 0.00001\ntokens_per_day = 100000")
    long = [{"role": "user", "content": "Explain what an HTTP API is and how keys work. " * 30}]
    token = classroom.Store(load(conf).classroom.db).add("dana")
    os.environ["GROQ_API_KEY"] = UPKEY
    g = Gateway(settings=Settings(admin_key=ADMIN, gateway=load(conf))).start()
    try:
        c = OpenAI(base_url=g.url + "/v1", api_key=token, max_retries=0)
        with pytest.raises(BadRequestError, match="classroom token"):  # its usage would escape the quota
            c.responses.create(model=PRICED, input="hi", background=True)
        c.chat.completions.create(model="gpt-4o-mini", messages=Q, max_tokens=4)  # offline: free, still allowed
        c.chat.completions.create(model=PRICED, messages=long, max_tokens=4)  # billed at Groq's list price
        with pytest.raises(RateLimitError, match=r"\$0.00001 per day \(used \$0.0000"):
            c.chat.completions.create(model=PRICED, messages=Q, max_tokens=4)
    finally:
        g.stop()
        os.environ.pop("GROQ_API_KEY")
