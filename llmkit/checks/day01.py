"""Checks for day 1 (APIs and HTTP): status codes, GET and POST with httpx, headers,
bearer auth, the OpenAI wire format by hand. Status codes and bodies come from the
gateway itself, so the answers are the server's, not a table in this file."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

from .. import faults
from . import clients
from ..lang import t
from .core import Incorrect, NotAttempted, Problem, call
from .recording import recording

WORDS = {2: "success", 3: "redirection", 4: "client error", 5: "server error"}


def _live_codes() -> list[int]:
    """Real status codes from the gateway: 200, 307, 400, 404, 405, 401, 429, 500, 503."""
    import httpx

    base = clients.gateway()
    codes = []
    with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {clients.key()}"}) as c:
        codes.append(c.get("/health").status_code)
        codes.append(c.get("/health/").status_code)  # trailing slash: the server redirects
        codes.append(c.post("/chat", json={}).status_code)
        codes.append(c.get("/no/such/path").status_code)
        codes.append(c.get("/chat").status_code)
        for kind in ("auth", "rate_limit", "server_error", "overloaded"):
            with faults.injected(kind, url=base):
                codes.append(c.post("/chat", json={"message": "hi", "max_tokens": 1}).status_code)
    return codes


def _check_explain_status(explain_status) -> str:
    codes = _live_codes() + [201, 204, 301, 302, 422, 502, 504]
    for code in codes:
        want = WORDS[code // 100]
        got = call(explain_status, code)
        if got != want:
            raise Incorrect(t("explain_status({code}) returned {got!r}; expected {want!r}.", code=code, got=got,
                              want=want))
    for code in (99, 100, 600, 1000):
        got = call(explain_status, code)
        if got != "unknown":
            raise Incorrect(t("explain_status({code}) returned {got!r}; expected 'unknown' (outside 200-599).",
                              code=code, got=got))
    return t("right for the gateway's own answers ({codes}) and more.",
             codes=", ".join(map(str, sorted(set(codes[:9])))))


q1 = Problem(
    "q1", "explain_status", _check_explain_status,
    hint="The first digit decides: code // 100 is 2, 3, 4 or 5. Anything else is 'unknown'.",
    solution='''
    def explain_status(code):
        return {2: "success", 3: "redirection", 4: "client error", 5: "server error"}.get(code // 100, "unknown")
    ''')


def _check_get_json(get_json) -> str:
    base = clients.gateway()
    for path in ("/health", "/models"):
        with recording() as rec:
            got = call(get_json, base, path)
        sent = [e for e in rec if e.path == path]
        if not sent:
            raise Incorrect(t("get_json(base_url, {path!r}) sent no request to {path}: use httpx.get(base_url + path).",
                              path=path))
        if sent[-1].method != "GET":
            raise Incorrect(t("the request used {method}; reading a resource is a GET.", method=sent[-1].method))
        if got != sent[-1].response_json:
            raise Incorrect(t("get_json(base_url, {path!r}) did not return the parsed JSON body (response.json()).",
                              path=path))
    with recording() as rec:
        try:
            got = get_json(base, "/no/such/path")
        except NotImplementedError:
            raise NotAttempted() from None
        except Exception as e:
            if type(e).__name__ != "HTTPStatusError":
                raise Incorrect(t("for a 404, get_json raised {error}; expected httpx.HTTPStatusError "
                                  "(what response.raise_for_status() raises).", error=type(e).__name__)) from None
        else:
            raise Incorrect(t("for a 404, get_json returned {got!r} instead of raising: "
                              "call response.raise_for_status() before response.json().", got=str(got)[:60]))
    # a server that cannot be reached: httpx raises ConnectError (a RequestError); it must not become a value
    down = _closed_port_url()
    try:
        with redirect_stdout(io.StringIO()):
            got = get_json(down, "/health")
    except NotImplementedError:
        raise NotAttempted() from None
    except Exception:
        pass
    else:
        raise Incorrect(t("when the server cannot be reached ({down}), get_json returned {got}: an "
                          "error must not turn into a value. Note that `except httpx.RequestError` catches only "
                          "such transport failures (no connection, a timeout), never the HTTPStatusError that "
                          "raise_for_status() raises for a 404 or a 500: let both propagate (or re-raise).",
                          down=down, got=repr(got)[:60]))
    return t("GET, the JSON body parsed, and errors (a 404, a server that is down) raised instead of returned.")


def _closed_port_url() -> str:
    """http://127.0.0.1:PORT where nothing listens (a port the system just handed out and took back)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


q2 = Problem(
    "q2", "get_json", _check_get_json,
    hint="response = httpx.get(base_url + path); response.raise_for_status(); return response.json(). "
         "No try/except: an error you cannot handle here should reach the caller.",
    solution='''
    import httpx

    def get_json(base_url, path):
        response = httpx.get(base_url + path, timeout=30)
        response.raise_for_status()
        return response.json()
    ''')


def _call_showing_errors(rec, fn, *args):
    """call(), and when the learner's code failed after the server refused the request, say
    what the server answered: that is where the cause is."""
    try:
        return call(fn, *args)
    except Incorrect as e:
        refused = [ex for ex in rec if ex.status and ex.status >= 400]
        if not refused:
            raise
        ex = refused[-1]
        raise Incorrect(t("{e}. The gateway had answered {status} to {method} {path}: {body}", e=e, status=ex.status,
                          method=ex.method, path=ex.path,
                          body=ex.response_body[:200].decode('utf-8', 'replace'))) from None


def _check_chat(chat) -> str:
    base = clients.gateway()
    key = "course-key-for-the-check"
    message = "What is a status code?"
    with recording() as rec:
        got = _call_showing_errors(rec, chat, base, message, key)
    sent = [e for e in rec if e.path == "/chat"]
    if not sent:
        raise Incorrect(t("chat() sent no request to /chat: POST to base_url + '/chat'."))
    ex = sent[-1]
    if ex.method != "POST":
        raise Incorrect(t("the request used {method}; sending a message is a POST.", method=ex.method))
    if not ex.headers.get("content-type", "").startswith("application/json"):
        raise Incorrect(t("the body was not sent as JSON: pass it as json={...} so httpx sets Content-Type."))
    body = ex.json or {}
    if body.get("message") != message:
        raise Incorrect(t("the JSON body had message={value!r}; expected the message passed in.",
                          value=body.get('message')))
    if body.get("temperature") != 0:
        raise Incorrect(t("the JSON body had temperature={value!r}; the exercise asks for 0.",
                          value=body.get('temperature')))
    auth = ex.headers.get("authorization")
    if auth != f"Bearer {key}":
        raise Incorrect(t("the Authorization header was missing: headers={'Authorization': f'Bearer {api_key}'}.")
                        if auth is None else
                        t("the Authorization header was not 'Bearer <api_key>': "
                          "headers={'Authorization': f'Bearer {api_key}'}."))
    if ex.status != 200:
        raise Incorrect(t("the gateway answered {status}: {body!r}", status=ex.status, body=ex.response_body[:120]))
    if got != (ex.response_json or {}).get("response"):
        raise Incorrect(t("chat() did not return the reply text, the 'response' field of the JSON answer."))
    return t("POST with a JSON body and a bearer token, and the 'response' field returned.")


q3 = Problem(
    "q3", "chat", _check_chat,
    hint="httpx.post(base_url + '/chat', json={'message': message, 'temperature': 0}, "
         "headers={'Authorization': f'Bearer {api_key}'}) and then .json()['response'].",
    solution='''
    def chat(base_url, message, api_key):
        response = httpx.post(
            base_url + "/chat",
            json={"message": message, "temperature": 0},
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["response"]
    ''')


def _check_retry_after(retry_after) -> str:
    import httpx

    base = clients.gateway()
    with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {clients.key()}"}) as c:
        ok = c.post("/chat", json={"message": "hi", "max_tokens": 1})
        with faults.injected("rate_limit", url=base, retry_after=2):
            limited = c.post("/chat", json={"message": "hi", "max_tokens": 1})
        with faults.injected("overloaded", url=base, retry_after=3):
            busy = c.post("/chat", json={"message": "hi", "max_tokens": 1})
        with faults.injected("server_error", url=base):
            failed = c.post("/chat", json={"message": "hi", "max_tokens": 1})
    # and a few made by hand, for what the gateway does not send: a header on a 200, a 429 without one
    made = [(httpx.Response(200, headers={"Retry-After": "5"}), None), (httpx.Response(429), None),
            (httpx.Response(503, headers={"retry-after": "0.5"}), 0.5)]
    for response, want in [(ok, None), (limited, 2.0), (busy, 3.0), (failed, None)] + made:
        got = call(retry_after, response)
        if got != want or (want is not None and not isinstance(got, float)):
            raise Incorrect(t("for a {status} response (Retry-After: {header}) retry_after returned {got!r}; "
                              "expected {want!r}.", status=response.status_code,
                              header=response.headers.get('retry-after', t('absent')), got=got, want=want))
    return t("it reads Retry-After from 429 and 503 answers, as a float, and ignores it elsewhere.")


q4 = Problem(
    "q4", "retry_after", _check_retry_after,
    hint="Headers are case-insensitive in httpx: response.headers.get('retry-after'). "
         "Only 429 and 503 count; convert with float().",
    solution='''
    def retry_after(response):
        if response.status_code not in (429, 503):
            return None
        value = response.headers.get("retry-after")
        return float(value) if value is not None else None
    ''')


def _check_complete(complete) -> str:
    base = clients.gateway() + "/v1"
    key = "sk-check.not.a.real.key"
    question = "What is JSON?"
    with recording() as rec:
        got = _call_showing_errors(rec, complete, base, key, question)
    sent = rec.to("/chat/completions")
    if not sent:
        raise Incorrect(t("complete() sent nothing to base_url + '/chat/completions'."))
    ex = sent[-1]
    if ex.method != "POST" or ex.path != "/v1/chat/completions":
        raise Incorrect(t("the request was {method} {path}; expected POST {prefix}/chat/completions under the "
                          "base_url given.", method=ex.method, path=ex.path,
                          prefix=base.split('//')[-1].split('/', 1)[-1]))
    if ex.headers.get("authorization") != f"Bearer {key}":
        raise Incorrect(t("the request needs the header Authorization: Bearer <api_key>."))
    body = ex.json or {}
    if not isinstance(body.get("model"), str):
        raise Incorrect(t("the JSON body needs a model, e.g. 'gpt-4o-mini'."))
    msgs = body.get("messages")
    if not (isinstance(msgs, list) and msgs and msgs[-1].get("role") == "user" and msgs[-1].get("content") == question):
        raise Incorrect(t("the JSON body needs messages=[{'role': 'user', 'content': question}]."))
    if ex.status != 200:
        raise Incorrect(t("the gateway answered {status}: {body!r}", status=ex.status, body=ex.response_body[:160]))
    want = ex.response_json["choices"][0]["message"]["content"]
    if got != want:
        raise Incorrect(t("complete() should return response.json()['choices'][0]['message']['content']."))
    return t("the OpenAI protocol by hand: POST /chat/completions, bearer key, model and messages.")


q5 = Problem(
    "q5", "complete", _check_complete,
    hint="POST base_url + '/chat/completions' with json={'model': 'gpt-4o-mini', 'messages': [...]} and the "
         "bearer header; the text is at ['choices'][0]['message']['content'].",
    solution='''
    def complete(base_url, api_key, question):
        response = httpx.post(
            base_url + "/chat/completions",
            headers={"Authorization": f"Bearer {api_key}"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"]
    ''')
