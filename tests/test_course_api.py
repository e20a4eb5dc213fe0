"""The course's own gateway API (/, /health, /models, /chat, /chat/{model}) with httpx."""

from __future__ import annotations

import json


def test_root_lists_models_and_endpoints(http):
    r = http.get("/")
    body = r.json()
    assert r.status_code == 200 and body["default_model"] in body["available_models"]
    assert body["endpoints"]["chat"] == "/chat" and body["endpoints"]["chat_with_model"] == "/chat/{model_name}"


def test_health(http):
    body = http.get("/health").json()
    assert body["status"] == "healthy" and body["engine"].startswith("llmkit-")
    assert body["default_model"] in body["available_models"]


def test_models_in_ollama_shape(http):
    models = http.get("/models").json()["models"]
    entry = models[0]
    assert {"name", "model", "modified_at", "size", "digest", "details"} <= set(entry)
    assert entry["size"] > 0 and len(entry["digest"]) == 64


def test_chat(http):
    r = http.post("/chat", json={"message": "What is a rate limit?", "max_tokens": 60, "temperature": 0})
    body = r.json()
    assert r.status_code == 200 and "rate" in body["response"].lower()
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    assert body["usage"]["completion_tokens"] <= 60


def test_chat_with_model_in_path_and_reasoning(http):
    r = http.post("/chat/gpt-oss:20b", json={"message": "Hola, ¿qué es una API?", "reasoning": "high"})
    assert r.status_code == 200 and r.json()["model"] == "gpt-oss:20b" and r.json()["response"]


def test_chat_streaming(http):
    with http.stream("POST", "/chat", json={"message": "What is streaming?", "stream": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    pieces = [json.loads(e) for e in events[:-1]]
    assert "".join(p.get("response", "") for p in pieces)
    assert pieces[-1]["done"] is True and pieces[-1]["usage"]["completion_tokens"] > 0


def test_errors_are_detail_objects(http):
    cases = [
        (http.post("/chat", json={}), 400, "message"),
        (http.post("/chat", json={"message": ""}), 400, "message"),
        (http.post("/chat", json={"message": "hi", "temperature": 9}), 400, "temperature"),
        (http.post("/chat", json={"message": "hi", "max_tokens": -1}), 400, "max_tokens"),
        (http.post("/chat", json={"message": "hi", "reasoning": "extreme"}), 400, "reasoning"),
        (http.post("/chat", json={"message": "hi", "model": "no-such-model"}), 404, "no-such-model"),
        (http.post("/chat", content=b"{oops", headers={"content-type": "application/json"}), 400, "JSON"),
        (http.post("/chat/no-such-model", json={"message": "hi"}), 404, "no-such-model"),
        (http.get("/no/such/path"), 404, "/no/such/path"),
        (http.get("/chat"), 405, "GET"),
    ]
    for r, status, word in cases:
        assert r.status_code == status, r.text
        assert set(r.json()) == {"detail"} and word in r.json()["detail"]
    assert http.get("/health").status_code == 200
