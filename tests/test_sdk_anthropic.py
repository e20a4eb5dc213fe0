"""The official anthropic SDK (2.x) against the offline gateway: replies, streams, token
counts, models, and errors raised as the SDK's own exception classes."""

from __future__ import annotations

import json

import anthropic
import httpx
import httpx2  # the HTTP client the 2.x SDK is built on
import pytest

MODEL = "claude-haiku-4-5"
ASK = [{"role": "user", "content": "What is a token?"}]
GREEDY = {"temperature": 0}  # the 2.x SDK's create() has no temperature: it goes in the body


@pytest.fixture()
def client(gateway):
    return anthropic.Anthropic(base_url=gateway, api_key="x", max_retries=0)


def _text(message) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


def test_reply_has_text_and_usage(client):
    r = client.messages.create(model=MODEL, max_tokens=1000, messages=ASK)
    assert r.type == "message" and r.role == "assistant" and r.model == MODEL
    assert r.id.startswith("msg_")
    assert r.content[0].type == "text" and r.content[0].text.strip()
    assert r.stop_reason == "end_turn" and r.stop_sequence is None
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0
    assert r.usage.cache_read_input_tokens == 0 and r.usage.cache_creation_input_tokens == 0


def test_system_as_string_and_as_blocks(client):
    plain = client.messages.create(model=MODEL, max_tokens=20, messages=ASK)
    as_str = client.messages.create(model=MODEL, max_tokens=20, messages=ASK, system="Answer in one sentence.")
    as_blocks = client.messages.create(model=MODEL, max_tokens=20, messages=ASK,
                                       system=[{"type": "text", "text": "Answer in one sentence."}])
    assert as_str.usage.input_tokens == as_blocks.usage.input_tokens > plain.usage.input_tokens
    assert _text(as_str) and _text(as_blocks)


def test_system_role_message_equals_top_level_system(client):
    """The 2.x SDK's MessageParam includes `role: "system"` turns: accepted like `system`."""
    top = client.messages.count_tokens(model=MODEL, messages=ASK, system="Be brief.")
    inline = client.messages.count_tokens(model=MODEL, messages=[{"role": "system", "content": "Be brief."}, *ASK])
    assert inline.input_tokens == top.input_tokens
    r = client.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "system", "content": "Be brief."}, *ASK])
    assert r.usage.input_tokens == top.input_tokens and _text(r)


def test_multi_turn_counts_every_turn(client):
    turns = [{"role": "user", "content": "What is a token?"},
             {"role": "assistant", "content": "A piece of a word."},
             {"role": "user", "content": [{"type": "text", "text": "And what is temperature?"}]}]
    r = client.messages.create(model=MODEL, max_tokens=40, messages=turns)
    counted = client.messages.count_tokens(model=MODEL, messages=turns)
    last_only = client.messages.count_tokens(model=MODEL, messages=turns[-1:])
    assert _text(r)
    assert r.usage.input_tokens == counted.input_tokens > last_only.input_tokens


def test_small_max_tokens_stops_with_max_tokens(client):
    r = client.messages.create(model=MODEL, max_tokens=3, messages=ASK, extra_body=GREEDY)
    assert r.stop_reason == "max_tokens"
    assert r.usage.output_tokens == 3


def test_stop_sequence_reports_which_one(client):
    full = _text(client.messages.create(model=MODEL, max_tokens=60, messages=ASK, extra_body=GREEDY))
    words = full.split()
    assert len(words) > 4, full
    stop = " " + words[3]
    r = client.messages.create(model=MODEL, max_tokens=60, messages=ASK, stop_sequences=["never-there", stop],
                               extra_body=GREEDY)
    assert r.stop_reason == "stop_sequence"
    assert r.stop_sequence == stop
    assert _text(r) == full[: full.index(stop)]


def test_effort_and_thinking_are_accepted(client):
    r = client.messages.create(model=MODEL, max_tokens=10, messages=ASK, output_config={"effort": "low"},
                               thinking={"type": "adaptive"}, metadata={"user_id": "u-1"})
    assert _text(r)


def test_image_and_tool_blocks_are_read_as_text(client):
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
    turns = [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                        "data": png}},
                                          {"type": "text", "text": "What is in this picture?"}]},
             {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "look", "input": {}}]},
             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a dot"}]}]
    r = client.messages.create(model=MODEL, max_tokens=10, messages=turns)
    assert r.stop_reason in ("end_turn", "max_tokens") and r.usage.input_tokens > 0


def test_stream_text_matches_final_message(client):
    with client.messages.stream(model=MODEL, max_tokens=60, messages=ASK, extra_body=GREEDY) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and text == _text(final)
    assert final.stop_reason in ("end_turn", "max_tokens")
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0


def test_create_with_stream_true_yields_typed_events(client):
    events = list(client.messages.create(model=MODEL, max_tokens=5, messages=ASK, stream=True,
                                         extra_body=GREEDY))
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.delta.stop_reason == "max_tokens" and delta.usage.output_tokens == 5
    assert "".join(e.delta.text for e in events if e.type == "content_block_delta")


def test_raw_event_order(gateway):
    body = {"model": MODEL, "max_tokens": 8, "stream": True, "messages": ASK, **GREEDY}
    with httpx.stream("POST", f"{gateway}/v1/messages", json=body, timeout=30) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        raw = resp.read().decode()
    names, datas = [], []
    for chunk in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        names.append(lines["event"])
        datas.append(json.loads(lines["data"]))
    assert [d["type"] for d in datas] == names
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[3:-3]) == {"content_block_delta"}
    start = datas[0]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["usage"]["output_tokens"] == 0
    assert datas[-2]["usage"]["output_tokens"] == 8 and datas[-2]["delta"]["stop_reason"] == "max_tokens"


def test_count_tokens_matches_usage(client):
    counted = client.messages.count_tokens(model=MODEL, messages=ASK, system="Be brief.")
    r = client.messages.create(model=MODEL, max_tokens=5, messages=ASK, system="Be brief.")
    assert counted.input_tokens == r.usage.input_tokens > 0


def test_models_list_and_retrieve(client):
    models = list(client.models.list())
    ids = [m.id for m in models]
    assert MODEL in ids and all(m.type == "model" and m.display_name for m in models)
    assert not any(i.startswith("gpt-") for i in ids)  # Anthropic's list, not OpenAI's
    page = client.models.list(limit=2)
    assert len(page.data) == 2 and page.has_more and page.last_id == ids[1]
    assert [m.id for m in page] == ids  # auto-pagination follows after_id to the end
    m = client.models.retrieve(MODEL)
    assert m.id == MODEL and m.display_name == "Claude Haiku 4.5" and m.lifecycle == "active"


def test_a_retired_model_is_listed_only_on_request_and_old_code_still_runs_offline(client):
    """claude-sonnet-4-5 retired on 2026-11-30: anthropic 2.15 dropped it from its model list and from
    DEPRECATED_MODELS (2.14 still warned). The Models API lists it only when `lifecycle` asks for retired
    models; offline, old code naming it still gets an answer (as for gpt-3.5-turbo), and llmkit moves a
    live call to the replacement with a warning (tests/test_client.py)."""
    from llmkit import catalog

    old = catalog.find("claude-sonnet-4-5")
    assert old.retired == "2026-11-30" and old.lifecycle == "retired" and not old.deprecated
    new = catalog.find(old.replacement)
    assert new.id == "claude-sonnet-5-5" and new.lifecycle == "active"
    assert catalog.find("claude-sonnet") is new and catalog.find("claude-sonnet-4-5-20250929") is old
    info = client.models.retrieve(old.id)
    assert info.lifecycle == "retired" and info.retires_at is None
    assert old.id not in {m.id for m in client.models.list()}
    listed = {m.id: m.lifecycle for m in client.models.list(lifecycle=["retired"])}
    assert listed[old.id] == "retired" and new.id not in listed
    both = {m.id: m.lifecycle for m in client.models.list(lifecycle=["active", "retired"])}
    assert both[old.id] == "retired" and both[new.id] == "active"
    r = client.messages.create(model=old.id, max_tokens=8, messages=ASK)
    assert r.model == old.id and _text(r)


def test_a_deprecated_model_says_when_it_retires():
    """A deprecated entry (`retires` set, not yet retired) is `deprecated` with its `retires_at`; the
    SDK's own lifecycle words and field names."""
    import dataclasses

    from anthropic.types import ModelInfo

    from llmkit import catalog
    from llmkit.server.anthropic import _model_info

    entry = dataclasses.replace(catalog.find("claude-sonnet-4-5"), retired=None, retires="2027-01-22")
    info = ModelInfo.model_validate(_model_info(entry.id, 4096, entry))
    assert info.lifecycle == "deprecated" and info.retires_at.date().isoformat() == "2027-01-22"
    active = ModelInfo.model_validate(_model_info("claude-sonnet-5-5", 4096, catalog.find("claude-sonnet-5-5")))
    assert active.lifecycle == "active" and active.retires_at is None


def test_unknown_model_is_not_found(client):
    with pytest.raises(anthropic.NotFoundError) as e:
        client.messages.create(model="no-such-model", max_tokens=5, messages=ASK)
    assert e.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("no-such-model")


def test_missing_max_tokens_is_400_naming_it(gateway):
    r = httpx.post(f"{gateway}/v1/messages", json={"model": MODEL, "messages": ASK})
    assert r.status_code == 400
    body = r.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in body["error"]["message"]


def test_invalid_json_is_400(gateway):
    r = httpx.post(f"{gateway}/v1/messages", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("kwargs, field", [
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "bot", "content": "hi"}]}, "role"),
    ({"messages": [{"role": "user", "content": 42}]}, "content"),
    ({"messages": [{"role": "user", "content": [{"type": "video"}]}]}, "type"),
    ({"messages": ASK, "max_tokens": -1}, "max_tokens"),
    ({"messages": ASK, "stop_sequences": [1]}, "stop_sequences"),
    ({"messages": ASK, "system": 7}, "system"),
    ({"messages": ASK, "output_config": {"effort": "extreme"}}, "effort"),
    ({"messages": ASK, "extra_body": {"temperature": 1.5}}, "temperature"),
    ({"messages": ASK, "extra_body": {"top_p": "high"}}, "top_p"),
])
def test_bad_input_is_bad_request(client, kwargs, field):
    kwargs = {"model": MODEL, "max_tokens": 5, **kwargs}
    with pytest.raises(anthropic.BadRequestError) as e:
        client.messages.create(**kwargs)
    assert e.value.status_code == 400
    assert e.value.body["error"]["type"] == "invalid_request_error"
    assert field in e.value.body["error"]["message"]


def test_gateway_still_answers_after_errors(client):
    for bad in ({"messages": []}, {"messages": ASK, "extra_body": {"temperature": 9}}):
        with pytest.raises(anthropic.BadRequestError):
            client.messages.create(model=MODEL, max_tokens=5, **bad)
    assert _text(client.messages.create(model=MODEL, max_tokens=5, messages=ASK))


def test_wrong_key_is_authentication_error(secured_gateway):
    c = anthropic.Anthropic(base_url=secured_gateway, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as e:
        c.messages.create(model=MODEL, max_tokens=5, messages=ASK)
    assert e.value.body["error"]["type"] == "authentication_error"


def test_right_key_as_bearer_and_as_x_api_key(secured_gateway):
    sent = []
    hook = httpx2.Client(event_hooks={"request": [lambda req: sent.append(dict(req.headers))]})
    c = anthropic.Anthropic(base_url=secured_gateway, api_key="test-secret", max_retries=0, http_client=hook)
    assert _text(c.messages.create(model=MODEL, max_tokens=5, messages=ASK))
    assert sent[0]["authorization"] == "Bearer test-secret" and "x-api-key" not in sent[0]  # what 2.x sends
    r = httpx.post(f"{secured_gateway}/v1/messages", json={"model": MODEL, "max_tokens": 5, "messages": ASK},
                   headers={"x-api-key": "test-secret", "anthropic-version": "2023-06-01"}, timeout=30)
    assert r.status_code == 200 and r.json()["content"][0]["text"]
