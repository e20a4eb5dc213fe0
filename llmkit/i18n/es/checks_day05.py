"""Spanish for llmkit/checks/day05.py (día 5: errores y reintentos)."""

MESSAGES = {
    'openai 400 (temperature=5)':
        'openai 400 (temperature=5)',
    'openai 400 context length':
        'openai 400 por longitud de contexto',
    'anthropic 401':
        'anthropic 401',
    'groq 403':
        'groq 403',
    'gemini 404 (unknown model)':
        'gemini 404 (modelo desconocido)',
    'ollama 413':
        'ollama 413',
    'a KeyError from your own code':
        'un KeyError de tu propio código',
    'openai 429 with Retry-After: 7':
        'openai 429 con Retry-After: 7',
    'anthropic 429 with Retry-After: 4':
        'anthropic 429 con Retry-After: 4',
    'groq 500':
        'groq 500',
    'anthropic 529 overloaded':
        'anthropic 529 saturado',
    'gemini 503':
        'gemini 503',
    'ollama 500':
        'ollama 500',
    'gemini 429':
        'gemini 429',
    'openai timeout':
        'timeout de openai',
    'openai connection refused':
        'conexión rechazada de openai',
    'anthropic stream cut mid-way (httpx2.RemoteProtocolError)':
        'stream de anthropic cortado a la mitad (httpx2.RemoteProtocolError)',
    'for {description} ({kind}) retry_decision returned {got!r}: retrying cannot fix it (the same request fails the same way); return None.':
        'para {description} ({kind}) retry_decision devolvió {got!r}: reintentar no lo arregla (la misma petición falla igual); devuelve None.',
    'for {description} ({kind}) retry_decision returned None, but this failure is transient: return how many seconds to wait before retrying.':
        'para {description} ({kind}) retry_decision devolvió None, pero este fallo es pasajero: devuelve cuántos segundos esperar antes de reintentar.',
    'for {description} retry_decision returned {got!r}: return a number of seconds > 0.':
        'para {description} retry_decision devolvió {got!r}: devuelve un número de segundos > 0.',
    "for {description} retry_decision returned {got!r}: the server said to wait {want:g} s (e.response.headers['retry-after']); never retry earlier than that.":
        "para {description} retry_decision devolvió {got!r}: el servidor dijo que esperaras {want:g} s (e.response.headers['retry-after']); nunca reintentes antes.",
    'for {description} retry_decision returned {got!r}: the server said {want:g} s; wait that, not much more.':
        'para {description} retry_decision devolvió {got!r}: el servidor dijo {want:g} s; espera eso, no mucho más.',
    'for {description} retry_decision returned {got!r} s: a first retry after a transient error should come within seconds, not minutes.':
        'para {description} retry_decision devolvió {got!r} s: el primer reintento tras un error pasajero debe llegar en segundos, no en minutos.',
    '{n_x} real exceptions from five SDKs: 4xx and bugs not retried, 429/5xx/timeouts/connection errors retried, Retry-After honoured.':
        '{n_x} excepciones reales de cinco SDK: los 4xx y los fallos de código no se reintentan; 429/5xx/timeouts/errores de conexión sí, y se respeta Retry-After.',
    "Read the status where each SDK keeps it: getattr(e, 'status_code', None) or getattr(e, 'code', None) (Gemini). 429 and 5xx (500, 502, 503, 504, 529) are transient; other 4xx are not. No status at all: a timeout or broken connection if it comes from the SDK or httpx/httpx2 (retry), a bug otherwise (do not). For the wait, read e.response.headers.get('retry-after') when there is a response.":
        "Lee el código donde lo guarda cada SDK: getattr(e, 'status_code', None) o getattr(e, 'code', None) (Gemini). 429 y 5xx (500, 502, 503, 504, 529) son pasajeros; los demás 4xx no. Sin código: un timeout o una conexión rota si viene del SDK o de httpx/httpx2 (reintenta), un fallo de código si no (no reintentes). Para la espera, lee e.response.headers.get('retry-after') cuando haya respuesta.",
    'import anthropic, groq, httpx, httpx2, ollama, openai\nfrom google.genai import errors as genai_errors\n\nNETWORK = (openai.APIConnectionError, anthropic.APIConnectionError, groq.APIConnectionError,\n           httpx.TransportError, httpx2.TransportError, ConnectionError, TimeoutError)\n\ndef retry_decision(e):\n    status = getattr(e, "status_code", None) or getattr(e, "code", None)\n    if isinstance(e, NETWORK):\n        return 1.0\n    if isinstance(e, (openai.APIStatusError, anthropic.APIStatusError, groq.APIStatusError,\n                      genai_errors.APIError, ollama.ResponseError)):\n        if status in (408, 409, 429) or (isinstance(status, int) and status >= 500) or status == -1:\n            headers = getattr(getattr(e, "response", None), "headers", None) or {}\n            try:\n                return float(headers["retry-after"])\n            except (KeyError, ValueError):\n                return 1.0\n    return None':
        'import anthropic, groq, httpx, httpx2, ollama, openai\nfrom google.genai import errors as genai_errors\n\nNETWORK = (openai.APIConnectionError, anthropic.APIConnectionError, groq.APIConnectionError,\n           httpx.TransportError, httpx2.TransportError, ConnectionError, TimeoutError)\n\ndef retry_decision(e):\n    status = getattr(e, "status_code", None) or getattr(e, "code", None)\n    if isinstance(e, NETWORK):\n        return 1.0  # red: timeout, conexión, stream cortado\n    if isinstance(e, (openai.APIStatusError, anthropic.APIStatusError, groq.APIStatusError,\n                      genai_errors.APIError, ollama.ResponseError)):\n        if status in (408, 409, 429) or (isinstance(status, int) and status >= 500) or status == -1:\n            headers = getattr(getattr(e, "response", None), "headers", None) or {}\n            try:\n                return float(headers["retry-after"])\n            except (KeyError, ValueError):\n                return 1.0\n    return None  # 4xx o un fallo de nuestro código: no reintentar',
    'call_with_retries kept calling after {limit} failures: stop after max_attempts.':
        'call_with_retries siguió llamando tras {limit} fallos: para tras max_attempts.',
    'call_with_retries should be a function.':
        'call_with_retries debe ser una función.',
    'two 429s then success, with max_attempts=4: call_with_retries raised {kind}: {got}':
        'dos 429 y luego éxito, con max_attempts=4: call_with_retries lanzó {kind}: {got}',
    'call_with_retries returned {got!r}: return what fn() returned.':
        'call_with_retries devolvió {got!r}: devuelve lo que devolvió fn().',
    'two 429s then success: {sent} requests were sent, expected 3.':
        'dos 429 y luego éxito: se enviaron {sent} peticiones; se esperaban 3.',
    'two 429s: expected 2 calls to sleep (one before each retry); got {waits!r}.':
        'dos 429: se esperaban 2 llamadas a sleep (una antes de cada reintento); hubo {waits!r}.',
    'the 429s said Retry-After: 3 and the waits were {waits!r}: never retry earlier than the server asks.':
        'los 429 decían Retry-After: 3 y las esperas fueron {waits!r}: nunca reintentes antes de lo que pide el servidor.',
    'the 429s said Retry-After: 3 and the waits were {waits!r}: wait what it says.':
        'los 429 decían Retry-After: 3 y las esperas fueron {waits!r}: espera lo que dice.',
    "on a 401 call_with_retries returned {got!r}: raise the SDK's exception as it is (never turn it into None or another value).":
        'ante un 401, call_with_retries devolvió {got!r}: lanza la excepción del SDK tal cual (nunca la conviertas en None ni en otro valor).',
    'a 401 was tried {calls} times with waits {waits!r}: a wrong key is not retried.':
        'un 401 se intentó {calls} veces con esperas {waits!r}: una clave equivocada no se reintenta.',
    'a server that always answers 500, max_attempts=3: fn was called {calls} times.':
        'un servidor que siempre responde 500, max_attempts=3: fn se llamó {calls} veces.',
    'after the last attempt failed, call_with_retries returned {got!r}: raise the last error.':
        'tras fallar el último intento, call_with_retries devolvió {got!r}: lanza el último error.',
    '3 attempts need 2 waits (none after the last); got {waits!r}.':
        '3 intentos necesitan 2 esperas (ninguna tras el último); hubo {waits!r}.',
    'two 5xx then success (max_attempts=4): got {got!r} after waits {waits!r}.':
        'dos 5xx y luego éxito (max_attempts=4): llegó {got!r} tras las esperas {waits!r}.',
    'with base=0.5 the first wait should be at most 0.5 s and the second at most 1 s; saw {v:.2f} and {v2:.2f}.':
        'con base=0.5 la primera espera debe ser como mucho 0,5 s y la segunda como mucho 1 s; se vieron {v:.2f} y {v2:.2f}.',
    'the first wait was always {v!r}: add jitter (a random part), or clients that failed together retry together.':
        'la primera espera fue siempre {v!r}: añade jitter (una parte aleatoria), o los clientes que fallaron juntos reintentarán juntos.',
    'the waits do not grow: make each step twice the one before (base * 2 ** (attempt - 1)).':
        'las esperas no crecen: haz cada paso el doble que el anterior (base * 2 ** (attempt - 1)).',
    'with max_wait=1.0 no wait may pass 1 s; got {v}.':
        'con max_wait=1.0 ninguna espera puede pasar de 1 s; hubo {v}.',
    'retried 429s after their Retry-After, 5xx with growing jittered waits, stopped at max_attempts, raised what cannot be retried.':
        'reintentó los 429 tras su Retry-After y los 5xx con esperas crecientes y con jitter, paró en max_attempts y lanzó lo que no se puede reintentar.',
    'for attempt in range(1, max_attempts + 1): try: return fn() / except Exception as e: wait = retry_decision(e); if wait is None or attempt == max_attempts: raise. Without a Retry-After header, wait random.uniform(0, min(max_wait, base * 2 ** (attempt - 1))); then sleep(wait).':
        'for attempt in range(1, max_attempts + 1): try: return fn() / except Exception as e: wait = retry_decision(e); if wait is None or attempt == max_attempts: raise. Sin cabecera Retry-After, espera random.uniform(0, min(max_wait, base * 2 ** (attempt - 1))); luego sleep(wait).',
    'import random\nimport time\n\ndef call_with_retries(fn, max_attempts=4, base=0.5, max_wait=8.0, sleep=time.sleep):\n    for attempt in range(1, max_attempts + 1):\n        try:\n            return fn()\n        except Exception as e:\n            if retry_decision(e) is None or attempt == max_attempts:\n                raise\n            headers = getattr(getattr(e, "response", None), "headers", None) or {}\n            if "retry-after" in headers:\n                wait = float(headers["retry-after"])\n            else:\n                wait = random.uniform(0, min(max_wait, base * 2 ** (attempt - 1)))\n            sleep(wait)':
        'import random\nimport time\n\ndef call_with_retries(fn, max_attempts=4, base=0.5, max_wait=8.0, sleep=time.sleep):\n    for attempt in range(1, max_attempts + 1):\n        try:\n            return fn()\n        except Exception as e:\n            if retry_decision(e) is None or attempt == max_attempts:\n                raise  # nunca None: el error real\n            headers = getattr(getattr(e, "response", None), "headers", None) or {}\n            if "retry-after" in headers:\n                wait = float(headers["retry-after"])\n            else:\n                wait = random.uniform(  # backoff exponencial con jitter\n                    0, min(max_wait, base * 2 ** (attempt - 1)))\n            sleep(wait)',
    'the stream was cut {cuts} time(s) but only {n_sent} request(s) were sent: catch the error and stream again.':
        'el stream se cortó {cuts} vez/veces pero solo se enviaron {n_sent} petición(es): captura el error y vuelve a pedir el stream.',
    'stream the reply (stream=True).':
        'pide la respuesta en streaming (stream=True).',
    'stream_whole returned {kind}; return the whole text (a str).':
        'stream_whole devolvió {kind}; devuelve el texto completo (un str).',
    'stream_whole returned only the text after the cut: return the whole answer.':
        'stream_whole devolvió solo el texto posterior al corte: devuelve la respuesta entera.',
    'stream_whole returned what arrived before the cut: retry and return the whole answer.':
        'stream_whole devolvió lo que llegó antes del corte: reintenta y devuelve la respuesta entera.',
    'stream_whole returned {v!r}…, not the answer that arrived ({v2!r}…); use temperature=0 so a retry gives the same text.':
        'stream_whole devolvió {v!r}…, no la respuesta que llegó ({v2!r}…); usa temperature=0 para que un reintento dé el mismo texto.',
    'after the cut the beginning was printed a second time: print only what goes beyond what was already shown.':
        'tras el corte el comienzo se imprimió por segunda vez: imprime solo lo que va más allá de lo ya mostrado.',
    'what was printed ({v!r}…) is not the answer, printed once ({v2!r}…): print each new piece as it arrives, and after a retry only the part the user has not seen.':
        'lo impreso ({v!r}…) no es la respuesta impresa una sola vez ({v2!r}…): imprime cada trozo nuevo según llega y, tras un reintento, solo la parte que el usuario no ha visto.',
    'cut once and twice: retried, the whole text returned, every character printed exactly once.':
        'cortado una y dos veces: reintentado, el texto completo devuelto, cada carácter impreso exactamente una vez.',
    "Keep `shown` (what was printed so far) outside the retry loop. On each attempt build `text` from the chunks; when len(text) > len(shown), print(text[len(shown):], end='') and set shown = text. Catch openai.APIConnectionError around the whole `for chunk in stream` loop.":
        "Guarda `shown` (lo impreso hasta ahora) fuera del bucle de reintentos. En cada intento construye `text` con los chunks; cuando len(text) > len(shown), print(text[len(shown):], end='') y shown = text. Captura openai.APIConnectionError alrededor de todo el bucle `for chunk in stream`.",
    'import openai\n\ndef stream_whole(client, question, max_attempts=3):\n    shown = ""\n    for attempt in range(1, max_attempts + 1):\n        text = ""\n        try:\n            stream = client.chat.completions.create(\n                model="gpt-4o-mini", messages=[{"role": "user", "content": question}],\n                temperature=0, stream=True,\n            )\n            for chunk in stream:\n                if chunk.choices and chunk.choices[0].delta.content:\n                    text += chunk.choices[0].delta.content\n                    if len(text) > len(shown):\n                        print(text[len(shown):], end="", flush=True)\n                        shown = text\n            print()\n            return text\n        except openai.APIConnectionError:\n            if attempt == max_attempts:\n                raise':
        'import openai\n\ndef stream_whole(client, question, max_attempts=3):\n    shown = ""  # lo que el usuario ya vio, fuera del bucle de reintentos\n    for attempt in range(1, max_attempts + 1):\n        text = ""\n        try:\n            stream = client.chat.completions.create(\n                model="gpt-4o-mini", messages=[{"role": "user", "content": question}],\n                temperature=0, stream=True,\n            )\n            for chunk in stream:\n                if chunk.choices and chunk.choices[0].delta.content:\n                    text += chunk.choices[0].delta.content\n                    if len(text) > len(shown):\n                        print(text[len(shown):], end="", flush=True)  # solo lo nuevo\n                        shown = text\n            print()\n            return text\n        except openai.APIConnectionError:\n            if attempt == max_attempts:\n                raise',
    'no fault':
        'sin fallos',
    'one 429 from OpenAI (Retry-After: 2)':
        'un 429 de OpenAI (Retry-After: 2)',
    'OpenAI refuses the key':
        'OpenAI rechaza la clave',
    'OpenAI 500 x3, Anthropic 529 x3':
        'OpenAI 500 x3, Anthropic 529 x3',
    'every key refused':
        'todas las claves rechazadas',
    'FallbackClient(clients, models, max_attempts=3, sleep=...) raised {kind}: {e}':
        'FallbackClient(clients, models, max_attempts=3, sleep=...) lanzó {kind}: {e}',
    '[{name}] .log should be a list of dicts, one per attempt; got {log!r}.':
        '[{name}] .log debe ser una lista de dicts, uno por intento; llegó {log!r}.',
    '[{name}] each log entry needs exactly the keys {v}; got {v2}.':
        '[{name}] cada entrada del log necesita exactamente las claves {v}; tiene {v2}.',
    '[{name}] the attempts logged were {seen}, expected {want} (429/5xx retried up to max_attempts on the same model, 401 not retried, then the next model).':
        '[{name}] los intentos registrados fueron {seen}; se esperaba {want} (429/5xx reintentados hasta max_attempts en el mismo modelo, 401 sin reintentar, y luego el siguiente modelo).',
    '[{name}] {n} request(s) went to {provider}, but the log says {v}: log every attempt.':
        '[{name}] fueron {n} petición(es) a {provider}, pero el log dice {v}: registra cada intento.',
    '[{name}] a successful attempt should have error None; got {v!r}.':
        '[{name}] un intento con éxito debe tener error None; tiene {v!r}.',
    "[{name}] a failed attempt should name its error (e.g. the exception's class name); got {v!r}.":
        '[{name}] un intento fallido debe nombrar su error (p. ej. el nombre de la clase de la excepción); tiene {v!r}.',
    "[{name}] the log says {v}+{v2} tokens, the response's usage said {v3}+{v4}.":
        '[{name}] el log dice {v}+{v2} tokens; el usage de la respuesta decía {v3}+{v4}.',
    "[{name}] log 'model' should be the model id; got {v!r}.":
        "[{name}] el 'model' del log debe ser el id del modelo; tiene {v!r}.",
    "[{name}] ask() should return the answer's text; got {what}.":
        '[{name}] ask() debe devolver el texto de la respuesta; llegó {what}.',
    '[{name}] the 429 said Retry-After: 2 and the client slept {waits!r}: sleep (with the sleep you were given) at least that long.':
        '[{name}] el 429 decía Retry-After: 2 y el cliente durmió {waits!r}: duerme (con el sleep que recibiste) al menos eso.',
    '[{name}] when every model fails, ask() should raise the last error; it returned {answer!r}.':
        '[{name}] cuando fallan todos los modelos, ask() debe lanzar el último error; devolvió {answer!r}.',
    'retries, fallbacks and a log of every attempt with its tokens, under five fault schedules.':
        'reintentos, fallbacks y un log de cada intento con sus tokens, con cinco calendarios de fallos.',
    'ask(): for provider, model in self.models: for attempt in 1..max_attempts: try the call; on success log ok=True with the usage and return the text; on an exception log ok=False, error=type(e).__name__; wait = retry_decision(e); if wait is None or attempt == max_attempts: break to the next model; else self.sleep(wait). After the last model, raise the last error.':
        'ask(): for provider, model in self.models: for attempt in 1..max_attempts: intenta la llamada; si va bien, registra ok=True con el uso y devuelve el texto; ante una excepción registra ok=False, error=type(e).__name__; wait = retry_decision(e); if wait is None or attempt == max_attempts: break al siguiente modelo; si no, self.sleep(wait). Tras el último modelo, lanza el último error.',
    'import time\n\nclass FallbackClient:\n    def __init__(self, clients, models, max_attempts=3, sleep=time.sleep):\n        self.clients, self.models = clients, models\n        self.max_attempts, self.sleep = max_attempts, sleep\n        self.log = []\n\n    def _once(self, provider, model, question):\n        client = self.clients[provider]\n        messages = [{"role": "user", "content": question}]\n        if provider == "openai":\n            r = client.chat.completions.create(model=model, messages=messages, max_tokens=60)\n            return r.choices[0].message.content, r.usage.prompt_tokens, r.usage.completion_tokens\n        if provider == "anthropic":\n            r = client.messages.create(model=model, max_tokens=60, messages=messages)\n            return r.content[0].text, r.usage.input_tokens, r.usage.output_tokens\n        r = client.models.generate_content(model=model, contents=question)\n        return r.text, r.usage_metadata.prompt_token_count, r.usage_metadata.candidates_token_count\n\n    def ask(self, question):\n        last = None\n        for provider, model in self.models:\n            for attempt in range(1, self.max_attempts + 1):\n                entry = {"provider": provider, "model": model, "ok": False, "error": None,\n                         "input_tokens": None, "output_tokens": None}\n                self.log.append(entry)\n                try:\n                    text, entry["input_tokens"], entry["output_tokens"] = self._once(provider, model, question)\n                    entry["ok"] = True\n                    return text\n                except Exception as e:\n                    entry["error"], last = type(e).__name__, e\n                    wait = retry_decision(e)\n                    if wait is None or attempt == self.max_attempts:\n                        break\n                    self.sleep(wait)\n        raise last':
        'import time\n\nclass FallbackClient:\n    def __init__(self, clients, models, max_attempts=3, sleep=time.sleep):\n        self.clients, self.models = clients, models\n        self.max_attempts, self.sleep = max_attempts, sleep\n        self.log = []\n\n    def _once(self, provider, model, question):\n        client = self.clients[provider]\n        messages = [{"role": "user", "content": question}]\n        if provider == "openai":\n            r = client.chat.completions.create(model=model, messages=messages, max_tokens=60)\n            return r.choices[0].message.content, r.usage.prompt_tokens, r.usage.completion_tokens\n        if provider == "anthropic":\n            r = client.messages.create(model=model, max_tokens=60, messages=messages)\n            return r.content[0].text, r.usage.input_tokens, r.usage.output_tokens\n        r = client.models.generate_content(model=model, contents=question)\n        return r.text, r.usage_metadata.prompt_token_count, r.usage_metadata.candidates_token_count\n\n    def ask(self, question):\n        last = None\n        for provider, model in self.models:\n            for attempt in range(1, self.max_attempts + 1):\n                entry = {"provider": provider, "model": model, "ok": False, "error": None,\n                         "input_tokens": None, "output_tokens": None}\n                self.log.append(entry)\n                try:\n                    text, entry["input_tokens"], entry["output_tokens"] = self._once(provider, model, question)\n                    entry["ok"] = True\n                    return text\n                except Exception as e:\n                    entry["error"], last = type(e).__name__, e\n                    wait = retry_decision(e)  # None: al siguiente modelo\n                    if wait is None or attempt == self.max_attempts:\n                        break\n                    self.sleep(wait)\n        raise last  # fallaron todos: el último error, nunca None',
}
