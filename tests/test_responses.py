"""OpenAI's Responses API (/v1/responses) through the official openai SDK: plain and
streamed replies, `output_text`, previous_response_id conversations, storage, background
responses, errors."""

from __future__ import annotations

import httpx
import openai
import pytest

MODEL = "gpt-4o-mini"
QUESTION = "What is a token?"


@pytest.fixture(scope="module")
def client(gateway):
    return openai.OpenAI(base_url=gateway + "/v1", api_key="anything", max_retries=0)


def test_string_input_and_output_text(client):
    r = client.responses.create(model=MODEL, input=QUESTION, temperature=0)
    assert r.object == "response" and r.status == "completed" and r.model == MODEL
    assert r.id.startswith("resp_") and r.incomplete_details is None and r.error is None
    [item] = r.output
    assert item.type == "message" and item.role == "assistant" and item.status == "completed"
    assert item.content[0].type == "output_text" and r.output_text == item.content[0].text
    assert "token" in r.output_text.lower()
    u = r.usage
    assert u.input_tokens > 0 and u.output_tokens > 0 and u.total_tokens == u.input_tokens + u.output_tokens


def test_same_answer_as_chat_completions(client):
    """Both APIs put the same turns in front of the same model: at temperature 0, the same text."""
    r = client.responses.create(model=MODEL, input=QUESTION, instructions="Be brief.", temperature=0)
    c = client.chat.completions.create(model=MODEL, temperature=0, messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}])
    assert r.output_text == c.choices[0].message.content
    assert r.usage.input_tokens == c.usage.prompt_tokens and r.instructions == "Be brief."


def test_item_list_input_with_roles_and_parts(client):
    r = client.responses.create(model=MODEL, temperature=0, input=[
        {"role": "developer", "content": "Answer in one sentence."},
        {"role": "user", "content": [{"type": "input_text", "text": "What is an API key?"}]},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "A secret that identifies you.", "annotations": []}]},
        {"role": "user", "content": "Where should I keep it?"}])
    shorter = client.responses.create(model=MODEL, input="Where should I keep it?", temperature=0)
    assert r.output_text and r.usage.input_tokens > shorter.usage.input_tokens + 10


def test_previous_response_id_continues_the_conversation(client):
    first = client.responses.create(model=MODEL, input="What is an API key?", temperature=0)
    second = client.responses.create(model=MODEL, input="Where should I keep it?", previous_response_id=first.id,
                                     temperature=0)
    alone = client.responses.create(model=MODEL, input="Where should I keep it?", temperature=0)
    # the earlier question and answer are part of the prompt
    assert second.usage.input_tokens >= first.usage.total_tokens + alone.usage.input_tokens - 2
    assert second.previous_response_id == first.id
    # instructions are not carried over from the previous response (as OpenAI documents)
    told = client.responses.create(model=MODEL, input="What is an API key?", instructions="Be brief.", temperature=0)
    after = client.responses.create(model=MODEL, input="Where should I keep it?", previous_response_id=told.id,
                                    temperature=0)
    assert after.instructions is None
    items = list(client.responses.input_items.list(second.id))
    assert [i.content[0].text for i in items] == ["Where should I keep it?"]


def test_stream_event_sequence(client):
    events = list(client.responses.create(model=MODEL, input=QUESTION, stream=True, temperature=0))
    types = [e.type for e in events]
    assert types[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) > 3 and set(types[4:-4]) == {"response.output_text.delta"}
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in deltas)
    done = events[-4]
    assert done.text == text and events[-1].response.output_text == text
    assert events[0].response.status == "in_progress" and events[-1].response.status == "completed"
    assert events[-1].response.usage.output_tokens == len(deltas)
    item_ids = {e.item_id for e in deltas} | {events[2].item.id, events[-2].item.id}
    assert len(item_ids) == 1
    whole = client.responses.create(model=MODEL, input=QUESTION, temperature=0)
    assert text == whole.output_text


def test_stream_helper_and_retrieve(client):
    with client.responses.stream(model=MODEL, input=QUESTION, temperature=0) as stream:
        seen = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert final.output_text == seen and final.status == "completed"
    got = client.responses.retrieve(final.id)
    assert got.output_text == seen and got.usage.total_tokens == final.usage.total_tokens
    follow = client.responses.create(model=MODEL, input="Say more.", previous_response_id=final.id, temperature=0)
    assert follow.usage.input_tokens > final.usage.total_tokens


def test_max_output_tokens_gives_incomplete(client):
    r = client.responses.create(model=MODEL, input=QUESTION, max_output_tokens=16)
    assert r.status == "incomplete" and r.incomplete_details.reason == "max_output_tokens"
    assert r.usage.output_tokens == 16 and r.output[0].status == "incomplete" and r.output_text
    events = list(client.responses.create(model=MODEL, input=QUESTION, max_output_tokens=16, stream=True))
    assert events[-1].type == "response.incomplete" and events[-1].response.incomplete_details.reason == \
        "max_output_tokens"
    assert sum(e.type == "response.output_text.delta" for e in events) == 16


def test_store_false_and_delete(client):
    r = client.responses.create(model=MODEL, input=QUESTION, store=False, max_output_tokens=16)
    assert r.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(r.id)
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model=MODEL, input="And?", previous_response_id=r.id)
    assert e.value.body["param"] == "previous_response_id"
    kept = client.responses.create(model=MODEL, input=QUESTION, max_output_tokens=16)
    assert client.responses.retrieve(kept.id).id == kept.id
    client.responses.delete(kept.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(kept.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(kept.id)


def test_stored_responses_are_bounded(gateway, monkeypatch):
    from llmkit.server import responses

    store = responses.Store()
    monkeypatch.setattr(responses, "MAX_STORED", 3)
    for i in range(5):
        store.put(f"r{i}", {"response": {}, "input": [], "conversation": [{"role": "user", "content": "x" * 10}]})
    assert list(store.items) == ["r2", "r3", "r4"] and store.chars == 30
    monkeypatch.setattr(responses, "MAX_STORED_CHARS", 25)
    store.put("big", {"response": {}, "input": [], "conversation": [{"role": "user", "content": "y" * 20}]})
    assert list(store.items) == ["big"] and store.chars == 20


def test_logprobs_when_included(client):
    r = client.responses.create(model=MODEL, input=QUESTION, max_output_tokens=16, top_logprobs=2,
                                include=["message.output_text.logprobs"])
    lps = r.output[0].content[0].logprobs
    assert len(lps) == 16 and all(lp.logprob <= 0 and len(lp.top_logprobs) == 2 for lp in lps)
    assert "".join(lp.token for lp in lps) == r.output_text


@pytest.mark.parametrize("kwargs, status, param", [
    (dict(model="no-such-model-xyz", input="hi"), 404, "model"),
    (dict(model=MODEL, input=5), 400, "input"),
    (dict(model=MODEL, input=[]), 400, "input"),
    (dict(model=MODEL, input=[{"role": "robot", "content": "hi"}]), 400, "input[0].role"),
    (dict(model=MODEL, input=[{"role": "user"}]), 400, "input[0].content"),
    (dict(model=MODEL, input=[{"role": "user", "content": [{"type": "video", "url": "x"}]}]), 400,
     "input[0].content[0].type"),
    (dict(model=MODEL, input=[{"type": "web_search_call", "id": "x"}]), 400, "input[0].type"),
    (dict(model=MODEL, input="hi", max_output_tokens=4), 400, "max_output_tokens"),
    (dict(model=MODEL, input="hi", temperature=3), 400, "temperature"),
    (dict(model=MODEL, input="hi", top_p=-1), 400, "top_p"),
    (dict(model=MODEL, input="hi", text={"format": {"type": "yaml"}}), 400, "text.format.type"),
    (dict(model=MODEL, input="hi", previous_response_id="resp_nope"), 400, "previous_response_id"),
    (dict(model=MODEL, input="hi", reasoning={"effort": "high"}), 400, "reasoning.effort"),
    (dict(model=MODEL, input="hi", background=True, store=False), 400, "background"),
])
def test_errors_in_openai_format(client, kwargs, status, param):
    with pytest.raises(openai.APIStatusError) as e:
        client.responses.create(**kwargs)
    assert e.value.status_code == status
    assert e.value.body["param"] == param and param.split("[")[0].split(".")[0] in e.value.body["message"]


def test_no_thinking_asked_is_fine(client):
    r = client.responses.create(model=MODEL, input=QUESTION, reasoning={"effort": "none"}, max_output_tokens=16)
    assert r.output_text and r.usage.output_tokens_details.reasoning_tokens == 0


def test_missing_input_and_bad_json(gateway):
    r = httpx.post(gateway + "/v1/responses", json={"model": MODEL}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"
    r = httpx.post(gateway + "/v1/responses", content=b"{oops", headers={"content-type": "application/json"},
                   timeout=30)
    assert r.status_code == 400 and "error" in r.json()
    r = httpx.get(gateway + "/v1/responses/resp_unknown", timeout=30)
    assert r.status_code == 404 and r.json()["error"]["param"] == "response_id"


def _wait_done(client, rid, seconds=60):
    import time

    deadline = time.monotonic() + seconds
    while True:
        r = client.responses.retrieve(rid)
        if r.status not in ("queued", "in_progress") or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


def test_background_response_is_polled_until_done(client):
    r = client.responses.create(model=MODEL, input=QUESTION, temperature=0, background=True)
    assert r.background is True and r.status in ("queued", "in_progress") and r.output == []
    done = _wait_done(client, r.id)
    assert done.status == "completed" and done.background is True
    plain = client.responses.create(model=MODEL, input=QUESTION, temperature=0)
    assert done.output_text == plain.output_text and "token" in done.output_text.lower()


def test_background_stream_is_resumed_where_the_client_left(client):
    """A client that leaves a background stream (openai's examples/responses/background.py breaks at
    sequence number 10) picks it up with retrieve(stream=True, starting_after=10): every event once."""
    first, rid = [], None
    with client.responses.create(model=MODEL, input=QUESTION, temperature=0, background=True, stream=True) as s:
        for ev in s:
            first.append(ev)
            rid = rid or ev.response.id
            if ev.sequence_number == 10:
                break
    rest = list(client.responses.retrieve(rid, stream=True, starting_after=10))
    seqs = [e.sequence_number for e in first + rest]
    assert seqs == list(range(len(seqs))) and rest[0].sequence_number == 11
    assert rest[-1].type == "response.completed"
    text = "".join(e.delta for e in first + rest if e.type == "response.output_text.delta")
    assert text == rest[-1].response.output_text == client.responses.retrieve(rid).output_text
    again = list(client.responses.retrieve(rid, stream=True))  # from the start, after it ended
    assert [e.sequence_number for e in again] == seqs and again[0].type == "response.created"
    with client.responses.stream(response_id=rid, starting_after=10) as helper:  # the SDK's helper
        assert helper.get_final_response().output_text == text


def test_background_response_can_be_cancelled(client):
    r = client.responses.create(model=MODEL, input="Tell me about tokens and costs", background=True,
                                max_output_tokens=4000, temperature=1.5, top_p=1.0, extra_body={"min_p": 0})
    cancelled = client.responses.cancel(r.id)
    assert cancelled.status in ("cancelled", "completed", "incomplete")
    assert client.responses.retrieve(r.id).status == cancelled.status
    events = list(client.responses.retrieve(r.id, stream=True))  # what was made before, then the end
    assert all(e.sequence_number == i for i, e in enumerate(events))
    with pytest.raises(openai.BadRequestError) as e:  # only background responses are cancelled
        client.responses.cancel(client.responses.create(model=MODEL, input=QUESTION, max_output_tokens=16).id)
    assert e.value.body["param"] == "response_id"


def test_only_background_responses_stream_again(client):
    r = client.responses.create(model=MODEL, input=QUESTION, max_output_tokens=16)
    with pytest.raises(openai.BadRequestError) as e:
        list(client.responses.retrieve(r.id, stream=True))
    assert e.value.body["param"] == "stream"
    b = client.responses.create(model=MODEL, input=QUESTION, max_output_tokens=16, background=True)
    with pytest.raises(openai.BadRequestError) as e:
        list(client.responses.retrieve(b.id, stream=True, starting_after=-5))
    assert e.value.body["param"] == "starting_after"

