"""Spanish for llmkit/checks/day07.py (día 7: tokens, costes y escala)."""

MESSAGES = {
    'counted words (len(text.split())), not tokens':
        'contaste palabras (len(text.split())), no tokens',
    'counted characters, not tokens':
        'contaste caracteres, no tokens',
    'estimated ~4 characters per token instead of counting':
        'estimaste ~4 caracteres por token en vez de contar',
    'used the output price for the input tokens':
        'usaste el precio de salida para los tokens de entrada',
    'used the input price for the output tokens':
        'usaste el precio de entrada para los tokens de salida',
    "divided by 1,000: the catalog's prices are per 1M tokens":
        'dividiste por 1.000: los precios del catálogo son por millón de tokens',
    'counted the texts alone, not the messages as the API bills them (each message has framing tokens)':
        'contaste solo los textos, no los mensajes como los factura la API (cada mensaje lleva tokens de marco)',
    'left out the output tokens (max_tokens is the most the reply can cost)':
        'dejaste fuera los tokens de salida (max_tokens es lo máximo que puede costar la respuesta)',
    'prompt_cost() returned {got!r}; expected a number of US dollars (a float).':
        'prompt_cost() devolvió {got!r}; se esperaba una cantidad de dólares (un float).',
    'for {model} with max_tokens={max_tokens} prompt_cost() gave {got!r}, expected {want!r} ({usd})':
        'para {model} con max_tokens={max_tokens}, prompt_cost() dio {got!r}; se esperaba {want!r} ({usd})',
    ': it looks like you {why}.':
        ': parece que {why}.',
    ': input tokens = count_tokens(messages, model) (exact offline), times price_in, plus max_tokens times price_out, all divided by 1,000,000.':
        ': tokens de entrada = count_tokens(messages, model) (exacto sin conexión), por price_in, más max_tokens por price_out, todo dividido por 1.000.000.',
    'prompt_cost() sent a request: a cost before the call is computed from the token count and the catalog, without asking the model.':
        'prompt_cost() envió una petición: el coste antes de la llamada se calcula con el recuento de tokens y el catálogo, sin preguntar al modelo.',
    'exact input tokens at the input price plus max_tokens at the output price, for three models, nothing sent.':
        'tokens de entrada exactos al precio de entrada más max_tokens al precio de salida, para tres modelos, sin enviar nada.',
    'n = llmkit.count_tokens(messages, model) (the whole prompt, exact offline); entry = llmkit.catalog.find(model); (n * entry.price_in + max_tokens * entry.price_out) / 1_000_000.':
        'n = llmkit.count_tokens(messages, model) (el prompt entero, exacto sin conexión); entry = llmkit.catalog.find(model); (n * entry.price_in + max_tokens * entry.price_out) / 1_000_000.',
    'import llmkit\n\ndef prompt_cost(messages, model, max_tokens):\n    entry = llmkit.catalog.find(model)\n    input_tokens = llmkit.count_tokens(messages, model)\n    return (input_tokens * entry.price_in + max_tokens * entry.price_out) / 1_000_000':
        'import llmkit\n\ndef prompt_cost(messages, model, max_tokens):\n    entry = llmkit.catalog.find(model)\n    input_tokens = llmkit.count_tokens(messages, model)  # la lista entera de mensajes\n    return (input_tokens * entry.price_in + max_tokens * entry.price_out) / 1_000_000',
    "run_batch() did not finish in 60 s of real time: time.sleep() blocks the event loop (use `await asyncio.sleep(...)` or a limiter such as aiolimiter's AsyncLimiter).":
        'run_batch() no terminó en 60 s de tiempo real: time.sleep() bloquea el bucle de eventos (usa `await asyncio.sleep(...)` o un limitador como el AsyncLimiter de aiolimiter).',
    'run_batch() was still running after an hour of (fake) time: does it wait forever?':
        'run_batch() seguía en marcha tras una hora de tiempo (falso): ¿espera para siempre?',
    'run_batch should be an `async def` function: it awaits send() and the limiters.':
        'run_batch debe ser una función `async def`: hace await de send() y de los limitadores.',
    'run_batch() took {real:.0f} s of real time: time.sleep() blocks the whole event loop. Wait with `await asyncio.sleep(...)` or a limiter.':
        'run_batch() tardó {real:.0f} s de tiempo real: time.sleep() bloquea todo el bucle de eventos. Espera con `await asyncio.sleep(...)` o con un limitador.',
    'run_batch() returned {kind}; expected a list with one item per prompt.':
        'run_batch() devolvió {kind}; se esperaba una lista con un elemento por prompt.',
    'run_batch() returned {n_got} items for {n_PROMPTS} prompts: keep every item, a failure in its place as the exception (nothing dropped, nothing added).':
        'run_batch() devolvió {n_got} elementos para {n_PROMPTS} prompts: conserva todos los elementos, y un fallo en su lugar como la excepción (sin quitar ni añadir nada).',
    'item {i} is {item!r}, expected {want!r}: the results are out of order. Keep input order (asyncio.gather does; as_completed and appending do not).':
        'el elemento {i} es {item!r}; se esperaba {want!r}: los resultados están desordenados. Conserva el orden de entrada (asyncio.gather lo hace; as_completed y añadir al final, no).',
    'prompt {i} got a 429 (RateLimitError, retry_after={RETRY_AFTER:g}) and ended as {item!r}: a 429 is retried after its Retry-After, so nothing is lost.':
        'el prompt {i} recibió un 429 (RateLimitError, retry_after={RETRY_AFTER:g}) y acabó como {item!r}: un 429 se reintenta tras su Retry-After, así no se pierde nada.',
    'item {i} is {item!r}, expected {want!r}.':
        'el elemento {i} es {item!r}; se esperaba {want!r}.',
    'prompt {BROKEN} failed with a 400 (BadRequestError), but its item is {bad!r}: report the failure in its place (the exception itself), not None or a silent gap.':
        'el prompt {BROKEN} falló con un 400 (BadRequestError), pero su elemento es {bad!r}: informa del fallo en su lugar (la propia excepción), no None ni un hueco silencioso.',
    'prompt {BROKEN} got a 400 and was sent again: a bad request fails the same way every time; retry only 429s (and 5xx), report the rest.':
        'el prompt {BROKEN} recibió un 400 y se volvió a enviar: una petición incorrecta falla igual cada vez; reintenta solo los 429 (y los 5xx) e informa del resto.',
    'prompt {i} got a 429 with Retry-After {RETRY_AFTER:g} s and was sent again after {v:.1f} s: wait at least retry_after before retrying.':
        'el prompt {i} recibió un 429 con Retry-After {RETRY_AFTER:g} s y se volvió a enviar a los {v:.1f} s: espera al menos retry_after antes de reintentar.',
    '{max_inflight} requests were in flight at once, with concurrency={CONCURRENCY}: hold an asyncio.Semaphore(concurrency) around each request.':
        'hubo {max_inflight} peticiones en vuelo a la vez, con concurrency={CONCURRENCY}: rodea cada petición con un asyncio.Semaphore(concurrency).',
    '{n} requests were sent within {span:.1f} s, with rpm={RPM}: that is faster than {RPM} per minute (a fixed sleep does not follow the limit). Take one unit from a requests-per-minute limiter (aiolimiter.AsyncLimiter(rpm, 60)) before each request, retries included.':
        'se enviaron {n} peticiones en {span:.1f} s, con rpm={RPM}: más rápido que {RPM} por minuto (un sleep fijo no sigue el límite). Toma una unidad de un limitador de peticiones por minuto (aiolimiter.AsyncLimiter(rpm, 60)) antes de cada petición, reintentos incluidos.',
    '{weight} tokens were sent within {span:.1f} s, with tpm={TPM}: take tokens(prompt) from a tokens-per-minute limiter before each request (await limiter.acquire(n)).':
        'se enviaron {weight} tokens en {span:.1f} s, con tpm={TPM}: toma tokens(prompt) de un limitador de tokens por minuto antes de cada petición (await limiter.acquire(n)).',
    '{n_sent} requests over {end:.0f} s of fake time: at most {RPM}/min and {TPM} tokens/min, at most {CONCURRENCY} at once, 429s retried after Retry-After, the 400 reported, results in order.':
        '{n_sent} peticiones en {end:.0f} s de tiempo falso: como mucho {RPM}/min y {TPM} tokens/min, como mucho {CONCURRENCY} a la vez, los 429 reintentados tras Retry-After, el 400 informado y los resultados en orden.',
    'Two AsyncLimiters (rpm, 60) and (tpm, 60) and an asyncio.Semaphore(concurrency). In one(prompt): async with the semaphore; loop: await requests.acquire(); await token_limiter.acquire(tokens(prompt)); try: return await send(prompt) except RateLimitError as e: await asyncio.sleep(e.retry_after) except LLMError as e: return e. Then asyncio.gather(*(one(p) for p in prompts)) keeps the order.':
        'Dos AsyncLimiter (rpm, 60) y (tpm, 60) y un asyncio.Semaphore(concurrency). En one(prompt): async with el semáforo; bucle: await requests.acquire(); await token_limiter.acquire(tokens(prompt)); try: return await send(prompt) except RateLimitError as e: await asyncio.sleep(e.retry_after) except LLMError as e: return e. Después, asyncio.gather(*(one(p) for p in prompts)) conserva el orden.',
    'import asyncio\n\nfrom aiolimiter import AsyncLimiter\nfrom llmkit.errors import LLMError, RateLimitError\n\nasync def run_batch(prompts, send, *, rpm, tpm, tokens, concurrency, attempts=4):\n    requests = AsyncLimiter(rpm, 60)\n    token_budget = AsyncLimiter(tpm, 60)\n    slots = asyncio.Semaphore(concurrency)\n\n    async def one(prompt):\n        async with slots:\n            for attempt in range(attempts):\n                await requests.acquire()\n                await token_budget.acquire(tokens(prompt))\n                try:\n                    return await send(prompt)\n                except RateLimitError as e:\n                    if attempt == attempts - 1:\n                        return e\n                    await asyncio.sleep(e.retry_after or 2 ** attempt)\n                except LLMError as e:\n                    return e\n\n    return await asyncio.gather(*(one(p) for p in prompts))':
        'import asyncio\n\nfrom aiolimiter import AsyncLimiter\nfrom llmkit.errors import LLMError, RateLimitError\n\nasync def run_batch(prompts, send, *, rpm, tpm, tokens, concurrency, attempts=4):\n    requests = AsyncLimiter(rpm, 60)\n    token_budget = AsyncLimiter(tpm, 60)\n    slots = asyncio.Semaphore(concurrency)\n\n    async def one(prompt):\n        async with slots:\n            for attempt in range(attempts):\n                await requests.acquire()\n                await token_budget.acquire(tokens(prompt))  # reintentos incluidos\n                try:\n                    return await send(prompt)\n                except RateLimitError as e:\n                    if attempt == attempts - 1:\n                        return e\n                    await asyncio.sleep(e.retry_after or 2 ** attempt)\n                except LLMError as e:\n                    return e  # en su lugar, sin reintentar\n\n    return await asyncio.gather(*(one(p) for p in prompts))  # conserva el orden',
    'validate_jsonl() returned {kind}; expected a tuple (valid, errors) of two lists.':
        'validate_jsonl() devolvió {kind}; se esperaba una tupla (valid, errors) de dos listas.',
    'errors should be (line number, reason) pairs; got {v!r}.':
        'errors debe tener pares (número de línea, motivo); llegó {v!r}.',
    'line 3 is not valid JSON: catch json.JSONDecodeError and report it':
        'la línea 3 no es JSON válido: captura json.JSONDecodeError e informa',
    "line 4 has the role 'bot': allowed roles are system, user and assistant":
        "la línea 4 tiene el rol 'bot': los roles permitidos son system, user y assistant",
    "line 5's assistant turn is empty: an empty answer teaches the model to say nothing":
        'el turno assistant de la línea 5 está vacío: una respuesta vacía enseña al modelo a no decir nada',
    "line 7 has no assistant turn: the last message must be the assistant's answer":
        'la línea 7 no tiene turno assistant: el último mensaje debe ser la respuesta del asistente',
    'line 9 is {n} tokens, over the limit of {limit}: count tokens with llmkit.count_tokens(messages, model), not words or characters':
        'la línea 9 tiene {n} tokens, por encima del límite de {limit}: cuenta tokens con llmkit.count_tokens(messages, model), no palabras ni caracteres',
    "line 10 has no 'messages' list (it is the old prompt/completion format)":
        "la línea 10 no tiene lista 'messages' (es el antiguo formato prompt/completion)",
    "line 11's assistant turn is only whitespace: strip() before testing for empty":
        'el turno assistant de la línea 11 solo tiene espacios: aplica strip() antes de comprobar si está vacío',
    'no error for {v}.':
        'no hay error para: {v}.',
    ' (it is {n_tokens} tokens, within the limit of {limit}, but {n_chars} characters: count tokens with llmkit.count_tokens(messages, model), not characters)':
        ' (tiene {n_tokens} tokens, dentro del límite de {limit}, pero {n_chars} caracteres: cuenta tokens con llmkit.count_tokens(messages, model), no caracteres)',
    'line {n} is a good example but was reported: {v!r}{why}.':
        'la línea {n} es un ejemplo bueno pero se informó como error: {v!r}{why}.',
    'line 6 is blank: skip blank lines rather than report them.':
        'la línea 6 está en blanco: sáltate las líneas en blanco en vez de informar de ellas.',
    "each error needs a reason a person can act on, e.g. (5, 'empty assistant turn').":
        "cada error necesita un motivo con el que una persona pueda actuar, p. ej. (5, 'turno assistant vacío').",
    'valid should hold the parsed examples of lines {good}, in order; got {n_valid} items.':
        'valid debe contener los ejemplos analizados de las líneas {good}, en orden; tiene {n_valid} elementos.',
    '{n_valid} good examples kept, {n_bad} bad lines reported with their line numbers, limit {limit} tokens.':
        '{n_valid} ejemplos buenos conservados, {n_bad} líneas malas informadas con su número de línea, límite de {limit} tokens.',
    "for n, line in enumerate(text.splitlines(), 1): skip blank lines; json.loads in try/except; check isinstance(example.get('messages'), list); each role in {'system','user','assistant'}; each content a str with content.strip(); the last role is 'assistant'; llmkit.count_tokens(messages, model) <= max_tokens.":
        "for n, line in enumerate(text.splitlines(), 1): sáltate las líneas en blanco; json.loads dentro de try/except; comprueba isinstance(example.get('messages'), list); cada rol en {'system','user','assistant'}; cada content un str con content.strip(); el último rol es 'assistant'; llmkit.count_tokens(messages, model) <= max_tokens.",
    'import json\n\nimport llmkit\n\nROLES = {"system", "user", "assistant"}\n\ndef problems_in(example, model, max_tokens):\n    messages = example.get("messages") if isinstance(example, dict) else None\n    if not isinstance(messages, list) or not messages:\n        return "no \'messages\' list"\n    for m in messages:\n        if not isinstance(m, dict) or m.get("role") not in ROLES:\n            return f"unknown role {m.get(\'role\') if isinstance(m, dict) else m!r}"\n        if not isinstance(m.get("content"), str) or not m["content"].strip():\n            return f"empty {m[\'role\']} turn"\n    if messages[-1]["role"] != "assistant":\n        return "the last message is not the assistant\'s answer"\n    n = llmkit.count_tokens(messages, model)\n    if n > max_tokens:\n        return f"{n} tokens, over the limit of {max_tokens}"\n    return None\n\ndef validate_jsonl(text, model, max_tokens):\n    valid, errors = [], []\n    for number, line in enumerate(text.splitlines(), 1):\n        if not line.strip():\n            continue\n        try:\n            example = json.loads(line)\n        except json.JSONDecodeError as e:\n            errors.append((number, f"not JSON: {e.msg}"))\n            continue\n        problem = problems_in(example, model, max_tokens)\n        if problem:\n            errors.append((number, problem))\n        else:\n            valid.append(example)\n    return valid, errors':
        'import json\n\nimport llmkit\n\nROLES = {"system", "user", "assistant"}\n\ndef problems_in(example, model, max_tokens):\n    messages = example.get("messages") if isinstance(example, dict) else None\n    if not isinstance(messages, list) or not messages:\n        return "sin lista \'messages\'"\n    for m in messages:\n        if not isinstance(m, dict) or m.get("role") not in ROLES:\n            return f"rol desconocido {m.get(\'role\') if isinstance(m, dict) else m!r}"\n        if not isinstance(m.get("content"), str) or not m["content"].strip():\n            return f"turno {m[\'role\']} vacío"\n    if messages[-1]["role"] != "assistant":\n        return "el último mensaje no es la respuesta del asistente"\n    n = llmkit.count_tokens(messages, model)\n    if n > max_tokens:\n        return f"{n} tokens, por encima del límite de {max_tokens}"\n    return None\n\ndef validate_jsonl(text, model, max_tokens):\n    valid, errors = [], []\n    for number, line in enumerate(text.splitlines(), 1):\n        if not line.strip():\n            continue\n        try:\n            example = json.loads(line)\n        except json.JSONDecodeError as e:\n            errors.append((number, f"no es JSON: {e.msg}"))\n            continue\n        problem = problems_in(example, model, max_tokens)\n        if problem:\n            errors.append((number, problem))\n        else:\n            valid.append(example)\n    return valid, errors',
    'estimate() gave {got!r}, expected {estimate!r}: exact input tokens of the messages at price_in, plus max_tokens at price_out, per 1,000,000.':
        'estimate() dio {got!r}; se esperaba {estimate!r}: los tokens de entrada exactos de los mensajes a price_in, más max_tokens a price_out, por 1.000.000.',
    'call {n} raised {kind} ({error}) after its request was sent. If that is the budget refusal, check the budget before the request, with the estimate, so an expensive call is never made.':
        'la llamada {n} lanzó {kind} ({error}) después de enviar su petición. Si es el rechazo por presupuesto, comprueba el presupuesto antes de la petición, con la estimación, para que nunca se haga una llamada cara.',
    'call {n} was refused ({kind}: {error}), but spent {v} + estimate {v2} fits in the {v3} budget.':
        'la llamada {n} se rechazó ({kind}: {error}), pero lo gastado {v} + la estimación {v2} cabe en el presupuesto de {v3}.',
    'ask() returned without sending a request on call {n}.':
        'ask() volvió sin enviar ninguna petición en la llamada {n}.',
    'call {n} was sent with {v} spent and an estimate of {v2}, over the {v3} budget: refuse it (raise) before sending.':
        'la llamada {n} se envió con {v} gastado y una estimación de {v2}, por encima del presupuesto de {v3}: recházala (raise) antes de enviar.',
    ' It looks like the output price was used for the input tokens too.':
        ' Parece que se usó el precio de salida también para los tokens de entrada.',
    'after call {n} tracker.spent is {now!r}, expected {spent!r}: add the cost of response.usage (prompt_tokens at price_in, completion_tokens at price_out).{hint}':
        'tras la llamada {n}, tracker.spent es {now!r}; se esperaba {spent!r}: suma el coste de response.usage (prompt_tokens a price_in, completion_tokens a price_out).{hint}',
    'spent passed {alert_at:.0%} of the budget on call {n}: tracker.alerts should get one message then (it got {n_new}).':
        'lo gastado pasó del {alert_at:.0%} del presupuesto en la llamada {n}: tracker.alerts debe recibir entonces un mensaje (recibió {n_new}).',
    'it already alerted once: alert only when crossing':
        'ya avisó una vez: avisa solo al cruzar el umbral',
    'spent {spent} is under {alert_at:.0%} of {budget}':
        'lo gastado, {spent}, está por debajo del {alert_at:.0%} de {budget}',
    'call {n} added an alert {v!r}, but {why}.':
        'la llamada {n} añadió una alerta {v!r}, pero {why}.',
    'print the alert when it happens, as well as keeping it in tracker.alerts.':
        'imprime la alerta cuando ocurra, además de guardarla en tracker.alerts.',
    '30 calls went through a budget with room for about 3: ask() never refuses a call.':
        'pasaron 30 llamadas por un presupuesto con sitio para unas 3: ask() nunca rechaza una llamada.',
    'expected exactly one alert before the budget ran out; got {n_alerts_seen}.':
        'se esperaba exactamente una alerta antes de agotar el presupuesto; hubo {n_alerts_seen}.',
    'spent {v} of {v2}, one alert at {alert_at:.0%}, and the call that could pass the budget refused before it was sent.':
        'gastado {v} de {v2}, una alerta al {alert_at:.0%}, y la llamada que podía pasarse del presupuesto rechazada antes de enviarla.',
    'estimate(): (count_tokens(messages, model) * price_in + max_tokens * price_out) / 1e6. ask(): if self.spent + estimate > self.budget: raise BudgetExceededError-like error (before create!); after it, add the response.usage cost; if not alerted yet and spent >= alert_at * budget: append and print an alert.':
        'estimate(): (count_tokens(messages, model) * price_in + max_tokens * price_out) / 1e6. ask(): if self.spent + estimate > self.budget: lanza un error del estilo de BudgetExceededError (¡antes de create!); después, suma el coste de response.usage; si aún no ha avisado y spent >= alert_at * budget: añade e imprime una alerta.',
    'import llmkit\n\nclass CostTracker:\n    def __init__(self, budget, alert_at=0.8):\n        self.budget, self.alert_at = budget, alert_at\n        self.spent = 0.0\n        self.alerts = []\n\n    def estimate(self, model, messages, max_tokens):\n        entry = llmkit.catalog.find(model)\n        return (llmkit.count_tokens(messages, model) * entry.price_in + max_tokens * entry.price_out) / 1e6\n\n    def ask(self, client, model, messages, max_tokens):\n        estimate = self.estimate(model, messages, max_tokens)\n        if self.spent + estimate > self.budget:\n            raise RuntimeError(f"refused: {self.spent:.6f} spent + {estimate:.6f} would pass {self.budget:.6f}")\n        response = client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens)\n        entry = llmkit.catalog.find(model)\n        usage = response.usage\n        before = self.spent\n        self.spent += (usage.prompt_tokens * entry.price_in + usage.completion_tokens * entry.price_out) / 1e6\n        if before < self.alert_at * self.budget <= self.spent:\n            self.alerts.append(f"alert: {self.spent / self.budget:.0%} of the budget spent")\n            print(self.alerts[-1])\n        return response.choices[0].message.content':
        'import llmkit\n\nclass CostTracker:\n    def __init__(self, budget, alert_at=0.8):\n        self.budget, self.alert_at = budget, alert_at\n        self.spent = 0.0\n        self.alerts = []\n\n    def estimate(self, model, messages, max_tokens):\n        entry = llmkit.catalog.find(model)\n        return (llmkit.count_tokens(messages, model) * entry.price_in + max_tokens * entry.price_out) / 1e6\n\n    def ask(self, client, model, messages, max_tokens):\n        estimate = self.estimate(model, messages, max_tokens)\n        if self.spent + estimate > self.budget:  # antes de enviar\n            raise RuntimeError(f"rechazada: {self.spent:.6f} gastado + {estimate:.6f} pasaría de {self.budget:.6f}")\n        response = client.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens)\n        entry = llmkit.catalog.find(model)\n        usage = response.usage\n        before = self.spent\n        self.spent += (usage.prompt_tokens * entry.price_in + usage.completion_tokens * entry.price_out) / 1e6\n        if before < self.alert_at * self.budget <= self.spent:\n            self.alerts.append(f"alerta: gastado el {self.spent / self.budget:.0%} del presupuesto")\n            print(self.alerts[-1])\n        return response.choices[0].message.content',
}
