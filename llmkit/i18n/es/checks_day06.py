"""Spanish for llmkit/checks/day06.py (día 6: servir modelos en local)."""

MESSAGES = {
    "your model answered with temperature 0, at most {n} tokens and its system prompt; the check's Modelfile (multi-line SYSTEM, two stops, a TEMPLATE) came through whole.":
        'tu modelo respondió con temperatura 0, como mucho {n} tokens y su prompt de sistema; el Modelfile del check (SYSTEM de varias líneas, dos stop, un TEMPLATE) llegó entero.',
    "health, models and chat with the bearer key; a 429, a 500 and a cut retried (Retry-After honoured); 503s retried max_retries times; 401, 404 and 400 raised at once with the gateway's detail; a hang ended by the timeout.":
        'health, models y chat con la clave bearer; un 429, un 500 y un corte reintentados (respetando Retry-After); los 503 reintentados max_retries veces; 401, 404 y 400 lanzados enseguida con el detail del gateway; un cuelgue cortado por el timeout.',
    'warm-up left out, first token from the first content chunk, {runs} runs of each prompt: A {a_ms:.0f} ms / {a_speed:.0f} tok/s, B {b_ms:.0f} ms / {b_speed:.0f} tok/s.':
        'calentamiento fuera de la cuenta, primer token desde el primer chunk con contenido, {runs} ejecuciones de cada prompt: A {a_ms:.0f} ms / {a_speed:.0f} tok/s, B {b_ms:.0f} ms / {b_speed:.0f} tok/s.',
    'three servers and models, one function: only OPENAI_BASE_URL, OPENAI_API_KEY and LOCAL_MODEL changed.':
        'tres servidores y modelos, una sola función: solo cambiaron OPENAI_BASE_URL, OPENAI_API_KEY y LOCAL_MODEL.',
    '[{name}] the call returned {got!r} instead of raising LocalModelsError({status!r}, ...).':
        '[{name}] la llamada devolvió {got!r} en vez de lanzar LocalModelsError({status!r}, ...).',
    'the first chunk of an OpenAI stream carries only the role, and create() returns as soon as the headers come: time the first chunk whose delta.content is not empty, reading the stream as it comes.':
        'el primer chunk de un stream de OpenAI solo trae el rol, y create() vuelve en cuanto llegan las cabeceras: cronometra el primer chunk cuyo delta.content no esté vacío, leyendo el stream a medida que llega.',
    'after create_from_modelfile(client, {name!r}, ...) the server has no model {name!r}: create it with client.create(model=name, ...).':
        'después de create_from_modelfile(client, {name!r}, ...) el servidor no tiene ningún modelo {name!r}: créalo con client.create(model=name, ...).',
    'create_from_modelfile sent no request to /api/create: call client.create(...).':
        'create_from_modelfile no envió ninguna petición a /api/create: llama a client.create(...).',
    "the request sent the Modelfile's text as 'modelfile'. Ollama's /api/create no longer reads that field (since 0.5) and the ollama SDK's create() has no such argument: read the Modelfile's lines and send from_, parameters, system and template.":
        "la petición envió el texto del Modelfile como 'modelfile'. El /api/create de Ollama ya no lee ese campo (desde la 0.5) y el create() del SDK ollama no tiene ese argumento: lee las líneas del Modelfile y envía from_, parameters, system y template.",
    'MODELFILE should be the text of a Modelfile (a str).':
        'MODELFILE debería ser el texto de un Modelfile (un str).',
    'MODELFILE should start FROM {want}; it says FROM {got!r}.':
        'MODELFILE debería empezar con FROM {want}; dice FROM {got!r}.',
    'MODELFILE needs a SYSTEM line with a real instruction (a few words at least).':
        'MODELFILE necesita una línea SYSTEM con una instrucción de verdad (unas cuantas palabras como mínimo).',
    'create_from_modelfile should be a function.':
        'create_from_modelfile debería ser una función.',
    'LocalModels should be a class.':
        'LocalModels debería ser una clase.',
    'LocalModelsError should be an exception class (class LocalModelsError(Exception)).':
        'LocalModelsError debería ser una clase de excepción (class LocalModelsError(Exception)).',
    "health() should return GET /health's JSON (a dict with 'status'); got {health!r}.":
        "health() debería devolver el JSON de GET /health (un dict con 'status'); devolvió {health!r}.",
    'models() should return the names GET /models lists (a list of str); got {names!r:.200}.':
        'models() debería devolver los nombres que lista GET /models (una lista de str); devolvió {names!r:.200}.',
    "chat() should return the gateway's JSON (a dict with 'response'); got {reply!r:.200}.":
        "chat() debería devolver el JSON del gateway (un dict con 'response'); devolvió {reply!r:.200}.",
    'one chat() sent {n} requests to /chat; expected 1 (use httpx, which the check records).':
        'un solo chat() envió {n} peticiones a /chat; se esperaba 1 (usa httpx, que el check registra).',
    "the request carried no 'Authorization: Bearer <api_key>' header: a gateway started with --api-key refuses it.":
        "la petición no llevaba la cabecera 'Authorization: Bearer <api_key>': un gateway arrancado con --api-key la rechaza.",
    "chat({question!r}, model='llama3.1', reasoning='low', max_tokens=8) sent {body!r}: send message, reasoning and max_tokens in the JSON body.":
        "chat({question!r}, model='llama3.1', reasoning='low', max_tokens=8) envió {body!r}: envía message, reasoning y max_tokens en el cuerpo JSON.",
    "the model was not sent: POST /chat/llama3.1 (or 'model' in the body); the request went to {path}.":
        "no se envió el modelo: POST /chat/llama3.1 (o 'model' en el cuerpo); la petición fue a {path}.",
    '503 every time':
        '503 siempre',
    '[503 every time, max_retries=2] {n} requests and waits {waits!r}: expected 3 requests (1 + 2 retries) and 2 waits.':
        '[503 siempre, max_retries=2] {n} peticiones y esperas {waits!r}: se esperaban 3 peticiones (1 + 2 reintentos) y 2 esperas.',
    'unknown model':
        'modelo desconocido',
    '[timeout] with timeout=0.3 the call took {took:.1f} s: pass timeout to httpx.':
        '[timeout] con timeout=0.3 la llamada tardó {took:.1f} s: pásale timeout a httpx.',
    '[timeout, max_retries=1] {n} requests: a timeout is worth one more try.':
        '[timeout, max_retries=1] {n} peticiones: un timeout merece un intento más.',
    'benchmark should be a function.':
        'benchmark debería ser una función.',
    'engine A is faster than engine B by construction, but your figures say A {a_first:.3f} s / {a_speed:.0f} tok/s, B {b_first:.3f} s / {b_speed:.0f} tok/s.':
        'el engine A es más rápido que el engine B por construcción, pero tus cifras dicen A {a_first:.3f} s / {a_speed:.0f} tok/s, B {b_first:.3f} s / {b_speed:.0f} tok/s.',
    'ask_local should be a function.':
        'ask_local debería ser una función.',
    'MODELFILE is not a valid Modelfile: {e}':
        'MODELFILE no es un Modelfile válido: {e}',
    'MODELFILE should set PARAMETER {key} {want}; it sets {got!r}.':
        'MODELFILE debería poner PARAMETER {key} {want}; pone {got!r}.',
    "the model's system prompt is {got!r}, but MODELFILE's SYSTEM says {system!r}: send SYSTEM's text (without its quotes) as system=.":
        'el prompt de sistema del modelo es {got!r}, pero el SYSTEM de MODELFILE dice {system!r}: envía el texto de SYSTEM (sin sus comillas) como system=.',
    'the model wrote {n} tokens; num_predict {want} should stop it there.':
        'el modelo escribió {n} tokens; num_predict {want} debería pararlo ahí.',
    'two identical questions got different answers: temperature 0 is not in effect.':
        'dos preguntas idénticas recibieron respuestas distintas: la temperatura 0 no está en vigor.',
    'the model read no more prompt tokens than its base model: the system prompt is not in effect.':
        'el modelo no leyó más tokens de prompt que su modelo base: el prompt de sistema no está en vigor.',
    'from a Modelfile whose SYSTEM is {want!r} (in triple quotes, on two lines) the model got the system prompt {got!r}: keep reading lines until the closing """.':
        'de un Modelfile cuyo SYSTEM es {want!r} (entre comillas triples, en dos líneas) el modelo recibió el prompt de sistema {got!r}: sigue leyendo líneas hasta las """ de cierre.',
    "the model's TEMPLATE is {got!r}; the Modelfile's was {want!r}: send it as template=.":
        'el TEMPLATE del modelo es {got!r}; el del Modelfile era {want!r}: envíalo como template=.',
    'with num_predict 5 the model wrote {n} tokens (done_reason {reason!r}).':
        'con num_predict 5 el modelo escribió {n} tokens (done_reason {reason!r}).',
    '[{kind} once] chat() should retry and return the reply; got {reply!r:.200}.':
        '[{kind} una vez] chat() debería reintentar y devolver la respuesta; devolvió {reply!r:.200}.',
    '[{kind} once] {n} request(s) and waits {waits!r}: expected one retry after one wait, with the sleep you were given.':
        '[{kind} una vez] {n} petición(es) y esperas {waits!r}: se esperaba un reintento tras una espera, con el sleep que te dieron.',
    '[{kind} once] the gateway said Retry-After: {want:g} and the client waited {got!r}: wait what the header says.':
        '[{kind} una vez] el gateway dijo Retry-After: {want:g} y el cliente esperó {got!r}: espera lo que dice la cabecera.',
    '[{name}] {n} requests and waits {waits!r}: a {status} is not retried (the same request fails the same way).':
        '[{name}] {n} peticiones y esperas {waits!r}: un {status} no se reintenta (la misma petición falla igual).',
    "[{name}] detail {detail!r} should be the gateway's own 'detail' (it names {word!r}).":
        "[{name}] el detail {detail!r} debería ser el 'detail' del propio gateway (que nombra {word!r}).",
    "benchmark should return {{'ttft_s': [...], 'tokens_per_s': [...]}}; got {got!r:.200}.":
        "benchmark debería devolver {{'ttft_s': [...], 'tokens_per_s': [...]}}; devolvió {got!r:.200}.",
    "with {prompts} prompts and runs={runs}, 'ttft_s' and 'tokens_per_s' should each hold {n} positive numbers (one per measured request); got {got!r:.200}.":
        "con {prompts} prompts y runs={runs}, 'ttft_s' y 'tokens_per_s' deberían tener {n} números positivos cada una (uno por petición medida); devolvió {got!r:.200}.",
    'the measured requests were not streamed: without stream=True the first token cannot be seen when it comes, only the whole reply.':
        'las peticiones medidas no iban en streaming: sin stream=True no se ve el primer token cuando llega, solo la respuesta entera.',
    "{sent} requests for {n} measurements: send a warm-up request first and do not count it (a server's first request loads the model).":
        '{sent} peticiones para {n} mediciones: envía primero una petición de calentamiento y no la cuentes (la primera petición a un servidor carga el modelo).',
    '[{name}] a time to first token of {ms:.0f} ms is too early: {early}':
        '[{name}] un tiempo hasta el primer token de {ms:.0f} ms es demasiado pronto: {early}',
    "[{name}] your median is {mine:.1f} tokens/s; the streams gave {truth:.1f} (the usage's completion_tokens, ask for it with stream_options={{'include_usage': True}}, over the seconds from the request to the stream's end).":
        "[{name}] tu mediana es {mine:.1f} tokens/s; los streams dieron {truth:.1f} (los completion_tokens del usage, que se piden con stream_options={{'include_usage': True}}, entre los segundos desde la petición hasta el final del stream).",
    "Ollama's /v1 (the checks' gateway)":
        'el /v1 de Ollama (el gateway de los checks)',
    'a second server on another port':
        'un segundo servidor en otro puerto',
    'the first one again, another model':
        'el primero otra vez, otro modelo',
    'the created model has {key} = {got!r}; MODELFILE says {want}: send each PARAMETER in parameters={{...}} as a number.':
        'el modelo creado tiene {key} = {got!r}; MODELFILE dice {want}: envía cada PARAMETER en parameters={{...}} como número.',
    "from the check's Modelfile the model got {key} = {got!r}, expected {value!r}{why}.\n{modelfile}":
        'con el Modelfile del check el modelo recibió {key} = {got!r}, se esperaba {value!r}{why}.\n{modelfile}',
    '[{name}] the client raised {kind}: {e}; raise LocalModelsError (with .status and .detail) for every failure, so callers catch one class.':
        '[{name}] el cliente lanzó {kind}: {e}; lanza LocalModelsError (con .status y .detail) en todos los fallos, para que quien llama capture una sola clase.',
    "[{name}] LocalModelsError.status is {got!r}, expected {status!r} (the response's HTTP status).":
        '[{name}] LocalModelsError.status es {got!r}, se esperaba {status!r} (el status HTTP de la respuesta).',
    "[{name}] LocalModelsError.detail should say what went wrong (the gateway's 'detail', or the network error's text); got {detail!r}.":
        "[{name}] LocalModelsError.detail debería decir qué falló (el 'detail' del gateway, o el texto del error de red); vale {detail!r}.",
    'LocalModels({url!r}, api_key=..., timeout=..., max_retries=..., sleep=...) raised {kind}: {e}':
        'LocalModels({url!r}, api_key=..., timeout=..., max_retries=..., sleep=...) lanzó {kind}: {e}',
    '[{name}] your median time to first token is {mine:.3f} s, but the first content chunks came {truth:.3f} s after the requests: {early}':
        '[{name}] tu mediana del tiempo hasta el primer token es {mine:.3f} s, pero los primeros chunks con contenido llegaron {truth:.3f} s después de las peticiones: {early}',
    '[{name}] your median time to first token is {mine:.3f} s; the first content chunks came {truth:.3f} s after the requests (measure from just before create() to that chunk, and leave the warm-up out).':
        '[{name}] tu mediana del tiempo hasta el primer token es {mine:.3f} s; los primeros chunks con contenido llegaron {truth:.3f} s después de las peticiones (mide desde justo antes de create() hasta ese chunk, y deja fuera el calentamiento).',
    "[{label}] ask_local sent no chat completion: use the OpenAI SDK's client.chat.completions.create.":
        '[{label}] ask_local no envió ningún chat completion: usa client.chat.completions.create del SDK de OpenAI.',
    '[{label}] with OPENAI_BASE_URL={base_url} the request went to {where}: make the client inside ask_local with OpenAI() (it reads OPENAI_BASE_URL when it is made), not once for the whole notebook, and write no URL in the code.':
        '[{label}] con OPENAI_BASE_URL={base_url} la petición fue a {where}: crea el cliente dentro de ask_local con OpenAI() (lee OPENAI_BASE_URL al crearse), no una vez para todo el notebook, y no escribas ninguna URL en el código.',
    "[{label}] with LOCAL_MODEL={model} the request asked for model {got!r}: read os.environ['LOCAL_MODEL'] inside ask_local.":
        "[{label}] con LOCAL_MODEL={model} la petición pidió el modelo {got!r}: lee os.environ['LOCAL_MODEL'] dentro de ask_local.",
    "[{label}] the request did not send OPENAI_API_KEY's value: make the client inside ask_local with OpenAI(), which reads OPENAI_API_KEY when it is made (pass no api_key).":
        '[{label}] la petición no envió el valor de OPENAI_API_KEY: crea el cliente dentro de ask_local con OpenAI(), que lee OPENAI_API_KEY al crearse (no le pases api_key).',
    '[{label}] ask_local returned {got!r:.80}; the server answered {answer!r:.80}: return choices[0].message.content.':
        '[{label}] ask_local devolvió {got!r:.80}; el servidor respondió {answer!r:.80}: devuelve choices[0].message.content.',
    '[{name}] LocalModelsError.status is {got!r}, expected None (no HTTP status: a timeout or a broken connection).':
        '[{name}] LocalModelsError.status es {got!r}, se esperaba None (sin status HTTP: un timeout o una conexión rota).',
    '[{kind} once] {bad} This failure is transient: wait, then send the request again.':
        '[{kind} una vez] {bad} Este fallo es pasajero: espera y vuelve a enviar la petición.',
    ' (PARAMETER stop may appear several times: collect them in a list)':
        ' (PARAMETER stop puede aparecer varias veces: júntalos en una lista)',
    " (Modelfile commands are case-insensitive: 'parameter' is PARAMETER)":
        " (los comandos del Modelfile no distinguen mayúsculas: 'parameter' es PARAMETER)",
    '[{name}] the request was sent {n} times: a {status} is not retried (the same request fails the same way); raise LocalModelsError at once.':
        '[{name}] la petición se envió {n} veces: un {status} no se reintenta (la misma petición falla igual); lanza LocalModelsError enseguida.',
    'MODELFILE = """FROM llama3.1\nPARAMETER temperature 0\nPARAMETER num_predict 40\nSYSTEM You are a patient tutor for beginners. Answer in two short sentences.\n"""\n\ndef number(text):\n    for kind in (int, float):\n        try:\n            return kind(text)\n        except ValueError:\n            pass\n    return {"true": True, "false": False}.get(text.lower(), text)\n\ndef create_from_modelfile(client, name, modelfile):\n    fields, parameters = {}, {}\n    lines = modelfile.splitlines()\n    i = 0\n    while i < len(lines):\n        line = lines[i].strip()\n        i += 1\n        if not line or line.startswith("#"):\n            continue\n        command, _, rest = line.partition(" ")\n        command, rest = command.upper(), rest.strip()\n        if command == "PARAMETER":\n            key, _, value = rest.partition(" ")\n            value = value.strip().strip(\'"\')\n            if key == "stop":\n                parameters.setdefault("stop", []).append(value)\n            else:\n                parameters[key] = number(value)\n            continue\n        if rest.startswith(\'"""\'):\n            rest = rest[3:]\n            while \'"""\' not in rest:\n                rest += "\\n" + lines[i]\n                i += 1\n            rest = rest[:rest.index(\'"""\')]\n        elif len(rest) > 1 and rest[0] == rest[-1] == \'"\':\n            rest = rest[1:-1]\n        fields[{"FROM": "from_"}.get(command, command.lower())] = rest\n    return client.create(model=name, parameters=parameters, **fields)':
        'MODELFILE = """FROM llama3.1\nPARAMETER temperature 0\nPARAMETER num_predict 40\nSYSTEM Eres un tutor paciente para principiantes. Responde en dos frases cortas.\n"""\n\ndef number(text):\n    for kind in (int, float):\n        try:\n            return kind(text)\n        except ValueError:\n            pass\n    return {"true": True, "false": False}.get(text.lower(), text)\n\ndef create_from_modelfile(client, name, modelfile):\n    fields, parameters = {}, {}\n    lines = modelfile.splitlines()\n    i = 0\n    while i < len(lines):\n        line = lines[i].strip()\n        i += 1\n        if not line or line.startswith("#"):\n            continue\n        command, _, rest = line.partition(" ")  # comando y resto\n        command, rest = command.upper(), rest.strip()\n        if command == "PARAMETER":\n            key, _, value = rest.partition(" ")\n            value = value.strip().strip(\'"\')\n            if key == "stop":\n                parameters.setdefault("stop", []).append(value)\n            else:\n                parameters[key] = number(value)\n            continue\n        if rest.startswith(\'"""\'):  # hasta las """ de cierre, quizá líneas más abajo\n            rest = rest[3:]\n            while \'"""\' not in rest:\n                rest += "\\n" + lines[i]\n                i += 1\n            rest = rest[:rest.index(\'"""\')]\n        elif len(rest) > 1 and rest[0] == rest[-1] == \'"\':\n            rest = rest[1:-1]\n        fields[{"FROM": "from_"}.get(command, command.lower())] = rest\n    return client.create(model=name, parameters=parameters, **fields)',
    'Go through the lines: skip blank ones and those starting with \'#\'; split the command (upper-case it) from the rest. If the rest starts with \'"""\', keep adding the next lines until one holds the closing \'"""\'. PARAMETER: split the name from the value; stop goes into a list, the others become numbers (int(), else float()). Then client.create(model=name, from_=..., system=..., parameters=..., template=...).':
        'Recorre las líneas: sáltate las vacías y las que empiezan por \'#\'; separa el comando (pásalo a mayúsculas) del resto. Si el resto empieza por \'"""\', ve añadiendo las líneas siguientes hasta una que tenga las \'"""\' de cierre. PARAMETER: separa el nombre del valor; stop va a una lista, los demás se vuelven números (int(), si no float()). Luego client.create(model=name, from_=..., system=..., parameters=..., template=...).',
    'import time\nimport httpx\n\nclass LocalModelsError(Exception):\n    def __init__(self, status, detail):\n        super().__init__(f"{status}: {detail}")\n        self.status, self.detail = status, detail\n\nclass LocalModels:\n    RETRY = {429, 500, 502, 503, 504}\n\n    def __init__(self, base_url, api_key=None, timeout=30.0, max_retries=2, sleep=time.sleep):\n        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}\n        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)\n        self.max_retries, self.sleep = max_retries, sleep\n\n    def _request(self, method, path, body=None):\n        for attempt in range(self.max_retries + 1):\n            last = attempt == self.max_retries\n            try:\n                r = self.http.request(method, path, json=body)\n                data = r.json()\n            except (httpx.TransportError, ValueError) as e:  # timeout, refused, cut mid-body\n                if last:\n                    raise LocalModelsError(None, f"{type(e).__name__}: {e}") from e\n                self.sleep(1.0)\n                continue\n            if r.status_code < 400:\n                return data\n            detail = data.get("detail", r.text) if isinstance(data, dict) else r.text\n            if r.status_code not in self.RETRY or last:\n                raise LocalModelsError(r.status_code, detail)\n            self.sleep(float(r.headers.get("retry-after", 1)))\n\n    def health(self):\n        return self._request("GET", "/health")\n\n    def models(self):\n        return [m["name"] for m in self._request("GET", "/models")["models"]]\n\n    def chat(self, message, model=None, reasoning="medium", max_tokens=256):\n        body = {"message": message, "reasoning": reasoning, "max_tokens": max_tokens}\n        return self._request("POST", f"/chat/{model}" if model else "/chat", body)':
        'import time\nimport httpx\n\nclass LocalModelsError(Exception):\n    def __init__(self, status, detail):\n        super().__init__(f"{status}: {detail}")\n        self.status, self.detail = status, detail\n\nclass LocalModels:\n    RETRY = {429, 500, 502, 503, 504}\n\n    def __init__(self, base_url, api_key=None, timeout=30.0, max_retries=2, sleep=time.sleep):\n        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}\n        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)\n        self.max_retries, self.sleep = max_retries, sleep\n\n    def _request(self, method, path, body=None):\n        for attempt in range(self.max_retries + 1):\n            last = attempt == self.max_retries\n            try:\n                r = self.http.request(method, path, json=body)\n                data = r.json()\n            except (httpx.TransportError, ValueError) as e:  # timeout, rechazada, cortada a medias\n                if last:\n                    raise LocalModelsError(None, f"{type(e).__name__}: {e}") from e\n                self.sleep(1.0)\n                continue\n            if r.status_code < 400:  # bien\n                return data\n            detail = data.get("detail", r.text) if isinstance(data, dict) else r.text\n            if r.status_code not in self.RETRY or last:  # no se arregla reintentando\n                raise LocalModelsError(r.status_code, detail)\n            self.sleep(float(r.headers.get("retry-after", 1)))\n\n    def health(self):\n        return self._request("GET", "/health")\n\n    def models(self):\n        return [m["name"] for m in self._request("GET", "/models")["models"]]\n\n    def chat(self, message, model=None, reasoning="medium", max_tokens=256):\n        body = {"message": message, "reasoning": reasoning, "max_tokens": max_tokens}\n        return self._request("POST", f"/chat/{model}" if model else "/chat", body)',
    "One method does the HTTP: _request(method, path, json=None). Loop for attempt in range(max_retries + 1): try self.http.request(...) except httpx.TransportError (timeouts and broken connections): remember it, and retry. On a status of 429 or 5xx, wait float(r.headers.get('retry-after', 1)) with self.sleep and retry; on any other status >= 400 raise LocalModelsError(r.status_code, r.json()['detail']) at once. After the last attempt, raise LocalModelsError(status or None, detail).":
        "Un solo método hace el HTTP: _request(method, path, json=None). Repite for attempt in range(max_retries + 1): try self.http.request(...) except httpx.TransportError (timeouts y conexiones rotas): recuérdalo y reintenta. Con un status 429 o 5xx, espera float(r.headers.get('retry-after', 1)) con self.sleep y reintenta; con cualquier otro status >= 400 lanza LocalModelsError(r.status_code, r.json()['detail']) enseguida. Tras el último intento, lanza LocalModelsError(status o None, detail).",
    'import time\n\ndef one_request(client, model, prompt, max_tokens):\n    t0 = time.perf_counter()\n    first, tokens = None, 0\n    stream = client.chat.completions.create(\n        model=model, messages=[{"role": "user", "content": prompt}], temperature=0, max_tokens=max_tokens,\n        stream=True, stream_options={"include_usage": True})\n    for chunk in stream:\n        if first is None and chunk.choices and chunk.choices[0].delta.content:\n            first = time.perf_counter() - t0\n        if chunk.usage:\n            tokens = chunk.usage.completion_tokens\n    return first, tokens / (time.perf_counter() - t0)\n\ndef benchmark(client, model, prompts, runs=3, max_tokens=32):\n    one_request(client, model, prompts[0], max_tokens)  # warm-up, not counted\n    ttft, speed = [], []\n    for _ in range(runs):\n        for prompt in prompts:\n            first, tps = one_request(client, model, prompt, max_tokens)\n            ttft.append(first)\n            speed.append(tps)\n    return {"ttft_s": ttft, "tokens_per_s": speed}':
        'import time\n\ndef one_request(client, model, prompt, max_tokens):\n    t0 = time.perf_counter()\n    first, tokens = None, 0\n    stream = client.chat.completions.create(\n        model=model, messages=[{"role": "user", "content": prompt}], temperature=0, max_tokens=max_tokens,\n        stream=True, stream_options={"include_usage": True})\n    for chunk in stream:\n        if first is None and chunk.choices and chunk.choices[0].delta.content:\n            first = time.perf_counter() - t0\n        if chunk.usage:  # el último chunk\n            tokens = chunk.usage.completion_tokens\n    return first, tokens / (time.perf_counter() - t0)\n\ndef benchmark(client, model, prompts, runs=3, max_tokens=32):\n    one_request(client, model, prompts[0], max_tokens)  # calentamiento, no se cuenta\n    ttft, speed = [], []\n    for _ in range(runs):\n        for prompt in prompts:\n            first, tps = one_request(client, model, prompt, max_tokens)\n            ttft.append(first)\n            speed.append(tps)\n    return {"ttft_s": ttft, "tokens_per_s": speed}',
    "One helper times one streamed request: t0 = time.perf_counter(); for chunk in client.chat.completions.create(..., stream=True, stream_options={'include_usage': True}): the first chunk with chunk.choices and chunk.choices[0].delta.content gives ttft = now - t0; chunk.usage (the last chunk) gives completion_tokens. Call it once before measuring (warm-up, result thrown away), then runs times for each prompt.":
        "Un helper cronometra una petición en streaming: t0 = time.perf_counter(); for chunk in client.chat.completions.create(..., stream=True, stream_options={'include_usage': True}): el primer chunk con chunk.choices y chunk.choices[0].delta.content da ttft = ahora - t0; chunk.usage (el último chunk) da completion_tokens. Llámalo una vez antes de medir (calentamiento, el resultado se tira), luego runs veces por cada prompt.",
    'import os\nfrom openai import OpenAI\n\ndef ask_local(question):\n    client = OpenAI()  # reads OPENAI_BASE_URL and OPENAI_API_KEY now\n    reply = client.chat.completions.create(\n        model=os.environ["LOCAL_MODEL"], messages=[{"role": "user", "content": question}],\n        temperature=0, max_tokens=32)\n    return reply.choices[0].message.content':
        'import os\nfrom openai import OpenAI\n\ndef ask_local(question):\n    client = OpenAI()  # lee OPENAI_BASE_URL y OPENAI_API_KEY ahora\n    reply = client.chat.completions.create(\n        model=os.environ["LOCAL_MODEL"], messages=[{"role": "user", "content": question}],\n        temperature=0, max_tokens=32)\n    return reply.choices[0].message.content',
    "Inside the function: client = OpenAI() (no base_url, no api_key: it reads OPENAI_BASE_URL and OPENAI_API_KEY itself), model = os.environ['LOCAL_MODEL'], then client.chat.completions.create(...) and return choices[0].message.content.":
        "Dentro de la función: client = OpenAI() (sin base_url ni api_key: lee OPENAI_BASE_URL y OPENAI_API_KEY él solo), model = os.environ['LOCAL_MODEL'], luego client.chat.completions.create(...) y devuelve choices[0].message.content.",
}
