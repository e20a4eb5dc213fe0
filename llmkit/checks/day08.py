"""Checks for day 8 (building apps): a tool loop that answers from the tool's result,
schema-validated extraction, top-k semantic search, and a retrieval-augmented answer whose
sources are checked against what was sent.

Each check calls the learner's function with SDK clients on the offline gateway, records the
HTTP exchanges (`recording()`) and compares what the function returned with what crossed the
wire: the calls the model asked for and the results sent back, the schema sent and the reply
parsed, the embeddings the gateway returned, the documents put in the prompt. To see what a
function does with a reply that is cut short or does not fit the schema, the extraction check
hands it a client whose transport rewrites the gateway's reply in those two ways (what a
`max_tokens` limit or a model that only tries to follow a schema produce).
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from typing import Any

from . import clients
from ..lang import N_, t
from .core import Incorrect, NotAttempted, Problem, call
from .recording import recording

EMBEDDING_MODEL = "text-embedding-3-small"


def _chats(rec) -> list:
    return [x for x in rec.exchanges if x.path.endswith("/chat/completions")]


def _quietly(fn, *args, **kwargs):
    with redirect_stdout(io.StringIO()):
        return call(fn, *args, **kwargs)


# -- q1: a tool loop ----------------------------------------------------------------------------

TOOL_QUESTIONS = ["How much does gpt-4o-mini cost per million input tokens?",
                  "What is the context window of claude-haiku-4-5?"]


def price_of(model: Any) -> dict:
    """What the notebook's model_price returns (the check's own copy): raises ValueError when
    the catalog has no such model."""
    from .. import catalog

    entry = catalog.find(model) if isinstance(model, str) else None
    if entry is None:
        raise ValueError(f"no model called {model!r} in the catalog")
    return {"model": entry.id, "input_usd_per_1m": entry.price_in, "output_usd_per_1m": entry.price_out,
            "context_window": entry.context_length}


def _matches_result(content: Any, expected: dict) -> bool:
    if not isinstance(content, str):
        return False
    try:
        if json.loads(content) == expected:
            return True
    except ValueError:
        pass
    return all(str(v) in content for v in expected.values())


def _tool_message_ok(content: Any, args: Any, raw: Any = None) -> tuple[bool, str]:
    """Whether a tool message's content is what running model_price(**args) gives (or its error)."""
    if isinstance(raw, str) and isinstance(content, str) and raw.strip().startswith("{") and \
            (raw in content or json.dumps(raw)[1:-1] in content or repr(raw)[1:-1] in content):
        return False, t("the result of model_price(**json.loads(arguments)) (the arguments string itself was passed)")
    try:
        if not isinstance(args, dict):
            raise TypeError("arguments are not an object")
        expected = price_of(**args)
    except Exception as e:  # the tool fails on these arguments: its error goes back
        ok = isinstance(content, str) and bool(content.strip()) and (
            "error" in content.lower() or str(e).split(" in the catalog")[0] in content)
        return ok, t("the error model_price raises for these arguments ({kind}: {error})", kind=type(e).__name__,
                     error=e)
    return _matches_result(content, expected), t("model_price(**arguments) = {result}", result=json.dumps(expected))


_NO_ASSISTANT = N_("the request after a tool call must repeat the assistant's message with its tool_calls "
                    "(messages.append(message)) before the tool results; without it the API refuses the tool "
                    "messages.")


def _unanswered(call_id) -> str:
    return t("no tool message answers the call {call_id!r}: send one "
             "{{'role': 'tool', 'tool_call_id': call.id, 'content': ...}} per call, with that call's id.",
             call_id=call_id)


def _check_tool_loop(answer_with_tool) -> str:
    client = clients.openai()
    rounds = 0
    for question in TOOL_QUESTIONS:
        failed = None
        with recording() as rec:
            try:
                got = _quietly(answer_with_tool, client, question)
            except Incorrect as e:  # what was sent may say why: look at it first
                failed = e
        chats = _chats(rec)
        if not chats:
            raise failed or Incorrect(t("answer_with_tool() sent no request to /chat/completions with the client "
                                        "it was given."))
        if failed is not None:
            if len(chats) > 1 and all((x.json or {}).get("tool_choice") not in (None, "auto") for x in chats):
                raise Incorrect(t("answer_with_tool() sent {n} requests, each forcing a tool call "
                                  "(tool_choice={choice!r}), so the model could never answer in text. Force the "
                                  "call on the first request only, then use tool_choice='auto'.",
                                  n=len(chats), choice=(chats[-1].json or {}).get("tool_choice")))
            sent = (chats[-1].json or {}).get("messages") or []
            if any(m.get("role") == "tool" for m in sent) and \
                    not any(m.get("role") == "assistant" and m.get("tool_calls") for m in sent):
                raise Incorrect(t(_NO_ASSISTANT))
            answered = {m.get("tool_call_id") for m in sent if m.get("role") == "tool"}
            for m in sent:
                for c in (m.get("tool_calls") or []) if m.get("role") == "assistant" else []:
                    if c.get("id") not in answered:
                        raise Incorrect(_unanswered(c.get("id")))
            raise failed
        first = chats[0].json or {}
        names = [((t or {}).get("function") or {}).get("name") for t in first.get("tools") or []]
        if "model_price" not in names:
            raise Incorrect(t("the first request offers no tool named model_price: pass tools=[PRICE_TOOL]."))
        for i, ex in enumerate(chats):
            reply = ((ex.response_json or {}).get("choices") or [{}])[0].get("message") or {}
            calls = reply.get("tool_calls") or []
            if not calls:
                if i != len(chats) - 1:
                    raise Incorrect(t("after the model answered in text, answer_with_tool() sent another request: "
                                      "a reply without tool_calls is the answer; return its content."))
                continue
            if i == len(chats) - 1:
                if len(chats) == 1:
                    raise Incorrect(t("the model asked for a tool call, but answer_with_tool() sent nothing back: "
                                      "run model_price with the call's arguments and send the result in a second "
                                      "request (the model writes the answer from it)."))
                raise Incorrect(t("after {n} requests the model was still asking for tools and "
                                  "answer_with_tool() stopped there. If every request has tool_choice='required', "
                                  "the model can never answer: use 'required' on the first request only, then "
                                  "'auto'.", n=len(chats)))
            sent = (chats[i + 1].json or {}).get("messages") or []
            ids = [c.get("id") for c in calls]
            assistant = [m for m in sent if m.get("role") == "assistant" and m.get("tool_calls")]
            if not assistant or [c.get("id") for c in assistant[-1]["tool_calls"]] != ids:
                raise Incorrect(t(_NO_ASSISTANT))
            tool_msgs = {m.get("tool_call_id"): m for m in sent if m.get("role") == "tool"}
            for c in calls:
                if c.get("id") not in tool_msgs:
                    raise Incorrect(_unanswered(c.get("id")))
                raw = (c.get("function") or {}).get("arguments")
                try:
                    args = json.loads(raw)
                except (TypeError, ValueError):
                    args = raw
                ok, what = _tool_message_ok(tool_msgs[c["id"]].get("content"), args, raw)
                if not ok:
                    raise Incorrect(t("the tool message for the call model_price({raw}) holds {held!r}, but it "
                                      "should hold {what}. Parse the arguments with "
                                      "json.loads(call.function.arguments), call model_price(**arguments), and send "
                                      "json.dumps(result); when the tool raises, send the error instead of "
                                      "stopping.", raw=raw, held=str(tool_msgs[c["id"]].get("content"))[:120],
                                      what=what))
            rounds += 1
        if rounds == 0:
            raise Incorrect(t("the model never called the tool: ask for a call on the first request "
                              "(tool_choice='required'), then run it and send the result back."))
        last = ((chats[-1].response_json or {}).get("choices") or [{}])[0].get("message") or {}
        if got != last.get("content"):
            raise Incorrect(t("answer_with_tool() returned {got!r}, but the model's final answer was {last!r}: "
                              "return the text of the last reply (the model's answer written from the tool's "
                              "result), not the tool's result itself.", got=str(got)[:80],
                              last=str(last.get("content"))[:80]))
    return t("{n} questions: each call ran, its result went back with the call's id, and the model's answer came "
             "back.", n=len(TOOL_QUESTIONS))


q1 = Problem(
    "q1", "answer_with_tool", _check_tool_loop,
    hint="Loop: create(..., tools=[PRICE_TOOL], tool_choice=...). If message.tool_calls is empty, return "
         "message.content. Otherwise messages.append(message), then for each call: "
         "args = json.loads(call.function.arguments); run model_price(**args) (or catch its error) and append "
         "{'role': 'tool', 'tool_call_id': call.id, 'content': json.dumps(result)}. Ask again with "
         "tool_choice='auto' (with 'required' every time the model can never answer).",
    solution='''
    def answer_with_tool(client, question, max_rounds=5):
        messages = [{"role": "user", "content": question}]
        choice = "required"
        for _ in range(max_rounds):
            response = client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                      tools=[PRICE_TOOL], tool_choice=choice, temperature=0)
            message = response.choices[0].message
            if not message.tool_calls:
                return message.content
            messages.append(message)
            for call in message.tool_calls:
                try:
                    result = model_price(**json.loads(call.function.arguments))
                except Exception as e:
                    result = {"error": str(e)}
                messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
            choice = "auto"
        raise RuntimeError("no answer")
    ''',
)


# -- q2: schema-validated extraction --------------------------------------------------------------

TICKETS = ["I was charged twice for my subscription this month, please refund one of the charges today!",
           "The Python SDK crashes with a KeyError when I stream a reply."]
FIELDS = ("category", "urgent", "summary")


def _rewriting_client(rewrite):
    """An OpenAI client whose chat replies pass through rewrite(choice) on their way back."""
    import httpx2
    from openai import DefaultHttpxClient, OpenAI

    class Rewrite(httpx2.HTTPTransport):
        def handle_request(self, request):
            response = super().handle_request(request)
            if not request.url.path.endswith("/chat/completions") or response.status_code != 200:
                return response
            response.read()
            data = json.loads(response.content)
            for choice in data.get("choices") or []:
                rewrite(choice)
            headers = [(k, v) for k, v in response.headers.items()
                       if k.lower() not in ("content-length", "content-encoding")]
            return httpx2.Response(200, headers=headers, content=json.dumps(data).encode(), request=request,
                                   extensions=response.extensions)

    return OpenAI(base_url=clients.base("openai"), api_key=clients.key(), max_retries=0,
                  http_client=DefaultHttpxClient(transport=Rewrite()))


def _cut(choice):
    text = choice["message"].get("content") or ""
    choice["message"]["content"] = text[: max(1, len(text) // 2)]
    choice["finish_reason"] = "length"


def _off_schema(choice):
    choice["message"]["content"] = json.dumps({"category": "complaint", "urgent": "very", "summary": 42})


def _schema_of(body: dict) -> dict | None:
    fmt = body.get("response_format") or {}
    if fmt.get("type") != "json_schema":
        return None
    return (fmt.get("json_schema") or {}).get("schema")


def _check_extract(extract_ticket) -> str:
    from pydantic import BaseModel

    client = clients.openai()
    for text in TICKETS:
        failed = None
        with recording() as rec:
            try:
                got = _quietly(extract_ticket, client, text)
            except Incorrect as e:  # what was sent may say why: look at it first
                failed = e
        chats = _chats(rec)
        if not chats:
            raise failed or Incorrect(t("extract_ticket() sent no request to /chat/completions with the client it "
                                        "was given."))
        body = chats[-1].json or {}
        if text not in json.dumps(body.get("messages"), ensure_ascii=False):
            raise Incorrect(t("the ticket's text is not in the messages sent: the model must read it."))
        schema = _schema_of(body)
        if schema is None:
            kind = (body.get("response_format") or {}).get("type")
            raise Incorrect(t("the request asks for response_format {kind!r}: send the schema "
                              "(client.chat.completions.parse(..., response_format=Ticket), or "
                              "{{'type': 'json_schema', 'json_schema': {{'name': ..., "
                              "'schema': Ticket.model_json_schema()}}}}), so the reply has the Ticket's fields and "
                              "nothing else.", kind=kind))
        missing = [f for f in FIELDS if f not in (schema.get("properties") or {})]
        if missing:
            raise Incorrect(t("the schema sent has no {field!r} property: send Ticket's own schema.",
                              field=missing[0]))
        if failed is not None:
            raise failed
        if not isinstance(got, BaseModel):
            raise Incorrect(t("extract_ticket() returned a {kind}; return a Ticket (the validated "
                              "object: message.parsed, or Ticket.model_validate_json(content)).",
                              kind=type(got).__name__))
        content = ((chats[-1].response_json or {}).get("choices") or [{}])[0].get("message", {}).get("content")
        if got.model_dump(mode="json") != json.loads(content):
            raise Incorrect(t("extract_ticket() returned {got!r}, but the reply said {content}: return what the "
                              "model replied, validated.", got=got, content=content))
    for what, rewrite in [(N_("cut short (finish_reason 'length', half the JSON)"), _cut),
                          (N_("valid JSON that does not fit the schema (category 'complaint', urgent 'very')"),
                           _off_schema)]:
        try:
            with redirect_stdout(io.StringIO()):
                got = extract_ticket(_rewriting_client(rewrite), TICKETS[0])
        except NotImplementedError:
            raise NotAttempted() from None
        except Exception:  # refusing what does not validate is right
            continue
        if got is not None:
            raise Incorrect(t("given a reply {what}, extract_ticket() returned {got!r}: a reply that does not "
                              "validate must raise (parse and model_validate_json do) or give None, never an "
                              "object your program would trust.", what=t(what), got=got))
    return t("the Ticket schema was sent, the reply validated and returned; a cut reply and one off the schema "
             "were refused.")


q2 = Problem(
    "q2", "extract_ticket", _check_extract,
    hint="client.chat.completions.parse(model='gpt-4o-mini', messages=[...the ticket...], response_format=Ticket) "
         "sends Ticket's schema and returns response.choices[0].message.parsed, already validated. It raises on a "
         "cut reply (LengthFinishReasonError) and on one that does not fit (ValidationError): let it raise. With "
         "create(), send {'type': 'json_schema', ...} and return Ticket.model_validate_json(content).",
    solution='''
    def extract_ticket(client, text):
        response = client.chat.completions.parse(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": "Classify the support ticket."},
                      {"role": "user", "content": text}],
            response_format=Ticket,
            temperature=0,
        )
        return response.choices[0].message.parsed
    ''',
)


# -- q3: top-k semantic search ---------------------------------------------------------------------

def glossary(n: int = 24, start: int = 10) -> list[dict]:
    """English glossary entries from the offline model's corpus: {"term", "definition"}."""
    from importlib import resources

    text = (resources.files("llmkit.engine") / "corpus" / "glossary.jsonl").read_text(encoding="utf-8")
    rows = [r for r in map(json.loads, text.splitlines()) if r.get("lang") == "en"]
    return [{"term": r["term"], "definition": r["definition"]} for r in rows[start:start + n]]


SEARCHES = [("How can I see the answer while it is being written?", 3),
            ("Why do I get an error when I send too many requests?", 2),
            ("How do I make the model reply with JSON that has my fields?", 4)]

_vectors: dict = {}


def _embed(texts: list[str]):
    import numpy as np

    key = (clients.gateway(), tuple(texts))
    if key not in _vectors:
        data = clients.openai().embeddings.create(model=EMBEDDING_MODEL, input=list(texts)).data
        _vectors[key] = np.array([d.embedding for d in data], dtype=np.float64)
    return _vectors[key]


def ranking(query: str, docs: list[str]) -> list[int]:
    """Indices of `docs` by cosine similarity to `query`, most similar first."""
    import numpy as np

    m = _embed(list(docs))
    q = _embed([query])[0]
    scores = m @ q / (np.linalg.norm(m, axis=1) * np.linalg.norm(q))
    return [int(i) for i in np.argsort(-scores, kind="stable")]


def _check_top_k(top_k) -> str:
    docs = [f"{e['term']}: {e['definition']}" for e in glossary()]
    client = clients.openai()
    for query, k in SEARCHES:
        with recording() as rec:
            got = _quietly(top_k, client, query, docs, k)
        if not rec.to("/embeddings"):
            raise Incorrect(t("top_k() sent no request to /embeddings: embed the documents and the query with "
                              "client.embeddings.create(model={model!r}, input=...).", model=EMBEDDING_MODEL))
        order = ranking(query, docs)
        want = [docs[i] for i in order[:k]]
        if not isinstance(got, list) or not all(isinstance(d, str) for d in got):
            raise Incorrect(t("top_k() returned {got!r}; return a list of the k documents themselves "
                              "(strings), most similar first.", got=str(got)[:100]))
        if len(got) != k:
            raise Incorrect(t("with k={k}, top_k() returned {n} documents; return exactly k.", k=k, n=len(got)))
        if got == [docs[i] for i in order[::-1][:k]]:
            raise Incorrect(t("top_k() returned the k *least* similar documents: sort by similarity from the "
                              "highest (np.argsort(-scores), or sorted(..., reverse=True))."))
        if got != want:
            terms = lambda ds: [d.split(":")[0] for d in ds]  # noqa: E731
            if sorted(got) == sorted(want):
                raise Incorrect(t("for {query!r} the right documents came back in the wrong order: {got}, "
                                  "expected {want} (most similar first).", query=query, got=terms(got),
                                  want=terms(want)))
            raise Incorrect(t("for {query!r} top_k() returned {got}; by cosine similarity of {model} embeddings the "
                              "top {k} are {want}.", query=query, got=terms(got), model=EMBEDDING_MODEL, k=k,
                              want=terms(want)))
    return t("{n} queries: the k most similar documents, most similar first.", n=len(SEARCHES))


q3 = Problem(
    "q3", "top_k", _check_top_k,
    hint="Embed the documents and the query with the same model (text-embedding-3-small), score each document by "
         "cosine similarity (a @ b / (|a| |b|)), and return the documents of the k highest scores, highest first: "
         "np.argsort(-scores)[:k].",
    solution='''
    def top_k(client, query, docs, k=3):
        response = client.embeddings.create(model="text-embedding-3-small", input=docs + [query])
        vectors = np.array([d.embedding for d in response.data])
        matrix, q = vectors[:-1], vectors[-1]
        scores = matrix @ q / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(q))
        return [docs[i] for i in np.argsort(-scores)[:k]]
    ''',
)


# -- q4: retrieval-augmented answer with its sources -----------------------------------------------

RAG_QUESTIONS = [("What should my code do when it gets a 429?", 3), ("How do I receive a reply as it is generated?", 2)]


def rag_docs() -> list[dict]:
    return [{"id": e["term"], "text": e["definition"]} for e in glossary()]


def _sent_text(chats) -> str:
    out = []
    for ex in chats:
        for m in (ex.json or {}).get("messages") or []:
            c = m.get("content")
            out.append(c if isinstance(c, str) else json.dumps(c, ensure_ascii=False))
    return "\n".join(out)


def _check_rag(answer_with_sources) -> str:
    docs = rag_docs()
    texts = [d["text"] for d in docs]
    client = clients.openai()
    for question, k in RAG_QUESTIONS:
        with recording() as rec:
            got = _quietly(answer_with_sources, client, question, docs, k)
        if not isinstance(got, dict) or set(got) != {"answer", "sources"}:
            raise Incorrect(t("answer_with_sources() returned {got!r}; return a dict with exactly the "
                              "keys 'answer' (the model's reply) and 'sources' (the ids of the documents sent).",
                              got=str(got)[:100]))
        chats = _chats(rec)
        if not chats:
            raise Incorrect(t("answer_with_sources() sent no request to /chat/completions: retrieve, then ask "
                              "the chat model with the documents in the prompt."))
        if not rec.to("/embeddings"):
            raise Incorrect(t("answer_with_sources() sent no request to /embeddings: retrieve the documents by "
                              "embedding similarity (your top_k from exercise 3 does it)."))
        sent = _sent_text(chats)
        sources = got["sources"]
        if not isinstance(sources, list):
            raise Incorrect(t("'sources' is {sources!r}; make it a list of document ids.", sources=sources))
        in_prompt = [d["id"] for d in docs if d["text"] in sent]
        if len(in_prompt) > k:
            raise Incorrect(t("the prompt holds {n} documents, with k={k}: send only the k retrieved "
                              "ones (stuffing everything in is what retrieval avoids).", n=len(in_prompt), k=k))
        for sid in sources:
            doc = next((d for d in docs if d["id"] == sid), None)
            if doc is None:
                raise Incorrect(t("{sid!r} in 'sources' is not the id of any document.", sid=sid))
            if doc["text"] not in sent:
                raise Incorrect(t("the source {sid!r} is cited, but its text was not in the prompt: cite only "
                                  "what the model was given.", sid=sid))
            if f"[{sid}]" not in sent:
                raise Incorrect(t("the text of {sid!r} was sent without its label [{sid}]: put each document's id "
                                  "in square brackets before its text, so the model can cite it.", sid=sid))
        want = [docs[i]["id"] for i in ranking(question, texts)[:k]]
        if sorted(map(str, sources)) != sorted(want):
            raise Incorrect(t("for {question!r} the sources are {sources}; the {k} documents most similar to the "
                              "question ({model}, cosine) are {want}.", question=question, sources=sources, k=k,
                              model=EMBEDDING_MODEL, want=want))
        reply = ((chats[-1].response_json or {}).get("choices") or [{}])[0].get("message", {}).get("content")
        if got["answer"] != reply:
            raise Incorrect(t("'answer' is {got!r}, but the model replied {reply!r}: return the reply's text.",
                              got=str(got["answer"])[:80], reply=str(reply)[:80]))
    return t("the k nearest documents were sent with their ids, and the sources cited are exactly those.")


q4 = Problem(
    "q4", "answer_with_sources", _check_rag,
    hint="Rank the documents' texts with your top_k (exercise 3), keep the k best, write them into the prompt as "
         "'[id] text' lines, ask the model to answer from them and cite ids like [streaming], and return "
         "{'answer': reply text, 'sources': [the ids you sent]}.",
    solution='''
    def answer_with_sources(client, question, docs, k=3):
        best = top_k(client, question, [d["text"] for d in docs], k)
        chosen = [next(d for d in docs if d["text"] == text) for text in best]
        context = "\\n".join(f"[{d['id']}] {d['text']}" for d in chosen)
        response = client.chat.completions.create(
            model="gpt-4o-mini", temperature=0,
            messages=[{"role": "system", "content": "Answer from the sources only; cite their ids like [id]."},
                      {"role": "user", "content": f"Sources:\\n{context}\\n\\nQuestion: {question}"}],
        )
        return {"answer": response.choices[0].message.content, "sources": [d["id"] for d in chosen]}
    ''',
)
