"""The gateway: one local server that speaks OpenAI's, Anthropic's, Gemini's, Groq's and
Ollama's protocols and the course's own API, answered by the offline engine.

Data flows one way: SDK -> HTTP -> protocol adapter (parse) -> run.py -> engine ->
run.py -> adapter (render) -> SDK. Adapters never generate text, never reach into each
other or into the engine's internals.

    app.py            create_app(): routers, middleware (ids, API key, body limit, faults),
                      errors rendered per protocol; the engine, faults and created models
                      live on app.state (each app its own data folder)
    run.py            the one pipeline: ChatRequest -> created models applied, n x seed,
                      complete or stream, cancellation, mid-stream errors via each renderer
    framing.py        SSE, NDJSON, streamed JSON array, [DONE]
    tools.py          tool calling in no protocol's words (specs checked, calls replayed)
    common.py         calling the engine off the event loop (threads or the scheduler)
    openai.py         /v1/chat/completions, /v1/completions, /v1/embeddings (also Groq's
                      /openai/v1 and Gemini's /v1beta/openai)
    responses.py      OpenAI's /v1/responses, stored responses
    anthropic.py      /v1/messages, count_tokens, Anthropic's model list
    gemini.py         /v1beta/models/M:generateContent and friends, Gemini's model list
    ollama.py         /api/chat, /api/generate, /api/embed (Ollama inference)
    ollama_models.py  /api/tags, show, create, copy, delete, pull, push, ps, version
    ollama_names.py   what both say about names: spelling, not found, capabilities, loaded
    modelfile.py      Ollama's options (table, read from a request); Modelfiles read and written
    course.py         the course API: /, /health, /models, /chat, /chat/{model}
    model_list.py     GET /v1/models[/id], answered in the caller's protocol
    models.py         which names the gateway answers to; an app's created models
                      (CreatedModels, current for each request) and their defaults
    store.py          created models saved to the data folder
    router.py         which backend answers a model name (an upstream or the offline
                      engine), for every protocol; the request's token meter
    upstreams.py      the backends a chat is forwarded to (OpenAI or Ollama wire)
    gateway_config.py gateway.toml: routes, upstreams, classroom mode
    classroom.py      classroom mode: students' tokens, daily quotas, usage billed
    validate.py       reading request fields with errors that name the field
    errors.py         APIError and its rendering in each provider's format
    faults.py         scheduled faults (429, 500, hangs, cut streams) for the error lessons
    background.py     a gateway in a background thread (tests, notebooks)
"""
