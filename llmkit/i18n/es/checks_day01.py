"""Spanish for llmkit/checks/day01.py (día 1: APIs y HTTP)."""

MESSAGES = {
    # q1 explain_status
    "explain_status({code}) returned {got!r}; expected {want!r}.":
        "explain_status({code}) devolvió {got!r}; se esperaba {want!r}.",
    "explain_status({code}) returned {got!r}; expected 'unknown' (outside 200-599).":
        "explain_status({code}) devolvió {got!r}; se esperaba 'unknown' (fuera de 200-599).",
    "right for the gateway's own answers ({codes}) and more.":
        "acierta con las respuestas reales de la pasarela ({codes}) y con más.",
    "The first digit decides: code // 100 is 2, 3, 4 or 5. Anything else is 'unknown'.":
        "Decide la primera cifra: code // 100 vale 2, 3, 4 o 5. Cualquier otra cosa es 'unknown'. Las palabras "
        "que se devuelven son las del enunciado: 'success', 'redirection', 'client error', 'server error'.",
    '''
    def explain_status(code):
        return {2: "success", 3: "redirection", 4: "client error", 5: "server error"}.get(code // 100, "unknown")
    ''': '''
    def explain_status(code):
        # la primera cifra decide la familia; fuera de 200-599, 'unknown'
        return {2: "success", 3: "redirection", 4: "client error", 5: "server error"}.get(code // 100, "unknown")
    ''',
    # q2 get_json
    "get_json(base_url, {path!r}) sent no request to {path}: use httpx.get(base_url + path).":
        "get_json(base_url, {path!r}) no envió ninguna petición a {path}: usa httpx.get(base_url + path).",
    "the request used {method}; reading a resource is a GET.":
        "la petición usó {method}; para leer un recurso se usa GET.",
    "get_json(base_url, {path!r}) did not return the parsed JSON body (response.json()).":
        "get_json(base_url, {path!r}) no devolvió el cuerpo JSON ya analizado (response.json()).",
    "for a 404, get_json raised {error}; expected httpx.HTTPStatusError (what response.raise_for_status() raises).":
        "ante un 404, get_json lanzó {error}; se esperaba httpx.HTTPStatusError (lo que lanza "
        "response.raise_for_status()).",
    "for a 404, get_json returned {got!r} instead of raising: call response.raise_for_status() before response.json().":
        "ante un 404, get_json devolvió {got!r} en vez de lanzar un error: llama a response.raise_for_status() "
        "antes de response.json().",
    "when the server cannot be reached ({down}), get_json returned {got}: an error must not turn into a value. "
    "Note that `except httpx.RequestError` catches only such transport failures (no connection, a timeout), "
    "never the HTTPStatusError that raise_for_status() raises for a 404 or a 500: let both propagate (or re-raise).":
        "cuando no se puede llegar al servidor ({down}), get_json devolvió {got}: un error no debe convertirse en "
        "un valor. Fíjate en que `except httpx.RequestError` solo captura fallos de transporte (sin conexión, un "
        "tiempo de espera agotado), nunca el HTTPStatusError que lanza raise_for_status() ante un 404 o un 500: "
        "deja que ambos se propaguen (o vuelve a lanzarlos).",
    "GET, the JSON body parsed, and errors (a 404, a server that is down) raised instead of returned.":
        "GET, el cuerpo JSON analizado, y los errores (un 404, un servidor caído) lanzados en vez de devueltos.",
    "response = httpx.get(base_url + path); response.raise_for_status(); return response.json(). "
    "No try/except: an error you cannot handle here should reach the caller.":
        "response = httpx.get(base_url + path); response.raise_for_status(); return response.json(). "
        "Sin try/except: un error que aquí no puedes resolver debe llegar a quien llama.",
    '''
    import httpx

    def get_json(base_url, path):
        response = httpx.get(base_url + path, timeout=30)
        response.raise_for_status()
        return response.json()
    ''': '''
    import httpx

    def get_json(base_url, path):
        response = httpx.get(base_url + path, timeout=30)
        response.raise_for_status()  # un 404 o un 500 se convierte en una excepción
        return response.json()
    ''',
    # q3 chat
    "{e}. The gateway had answered {status} to {method} {path}: {body}":
        "{e}. La pasarela había respondido {status} a {method} {path}: {body}",
    "chat() sent no request to /chat: POST to base_url + '/chat'.":
        "chat() no envió ninguna petición a /chat: haz un POST a base_url + '/chat'.",
    "the request used {method}; sending a message is a POST.":
        "la petición usó {method}; para enviar un mensaje se usa POST.",
    "the body was not sent as JSON: pass it as json={...} so httpx sets Content-Type.":
        "el cuerpo no se envió como JSON: pásalo como json={...} para que httpx ponga Content-Type.",
    "the JSON body had message={value!r}; expected the message passed in.":
        "el cuerpo JSON tenía message={value!r}; se esperaba el mensaje recibido.",
    "the JSON body had temperature={value!r}; the exercise asks for 0.":
        "el cuerpo JSON tenía temperature={value!r}; el ejercicio pide 0.",
    "the Authorization header was missing: headers={'Authorization': f'Bearer {api_key}'}.":
        "faltaba la cabecera Authorization: headers={'Authorization': f'Bearer {api_key}'}.",
    "the Authorization header was not 'Bearer <api_key>': headers={'Authorization': f'Bearer {api_key}'}.":
        "la cabecera Authorization no era 'Bearer <api_key>': headers={'Authorization': f'Bearer {api_key}'}.",
    "the gateway answered {status}: {body!r}": "la pasarela respondió {status}: {body!r}",
    "chat() did not return the reply text, the 'response' field of the JSON answer.":
        "chat() no devolvió el texto de la respuesta, el campo 'response' del JSON recibido.",
    "POST with a JSON body and a bearer token, and the 'response' field returned.":
        "POST con cuerpo JSON y token bearer, y se devuelve el campo 'response'.",
    "httpx.post(base_url + '/chat', json={'message': message, 'temperature': 0}, "
    "headers={'Authorization': f'Bearer {api_key}'}) and then .json()['response'].":
        "httpx.post(base_url + '/chat', json={'message': message, 'temperature': 0}, "
        "headers={'Authorization': f'Bearer {api_key}'}) y después .json()['response'].",
    '''
    def chat(base_url, message, api_key):
        response = httpx.post(
            base_url + "/chat",
            json={"message": message, "temperature": 0},
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["response"]
    ''': '''
    def chat(base_url, message, api_key):
        response = httpx.post(
            base_url + "/chat",
            json={"message": message, "temperature": 0},  # httpx lo envía como JSON
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["response"]
    ''',
    # q4 retry_after
    "for a {status} response (Retry-After: {header}) retry_after returned {got!r}; expected {want!r}.":
        "para una respuesta {status} (Retry-After: {header}) retry_after devolvió {got!r}; se esperaba {want!r}.",
    "absent": "ausente",
    "it reads Retry-After from 429 and 503 answers, as a float, and ignores it elsewhere.":
        "lee Retry-After de las respuestas 429 y 503, como float, y lo ignora en las demás.",
    "Headers are case-insensitive in httpx: response.headers.get('retry-after'). Only 429 and 503 count; "
    "convert with float().":
        "En httpx las cabeceras no distinguen mayúsculas: response.headers.get('retry-after'). Solo cuentan "
        "429 y 503; convierte con float().",
    '''
    def retry_after(response):
        if response.status_code not in (429, 503):
            return None
        value = response.headers.get("retry-after")
        return float(value) if value is not None else None
    ''': '''
    def retry_after(response):
        if response.status_code not in (429, 503):  # solo estas respuestas piden esperar
            return None
        value = response.headers.get("retry-after")
        return float(value) if value is not None else None
    ''',
    # q5 complete
    "complete() sent nothing to base_url + '/chat/completions'.":
        "complete() no envió nada a base_url + '/chat/completions'.",
    "the request was {method} {path}; expected POST {prefix}/chat/completions under the base_url given.":
        "la petición fue {method} {path}; se esperaba POST {prefix}/chat/completions bajo la base_url recibida.",
    "the request needs the header Authorization: Bearer <api_key>.":
        "la petición necesita la cabecera Authorization: Bearer <api_key>.",
    "the JSON body needs a model, e.g. 'gpt-4o-mini'.": "el cuerpo JSON necesita un model, p. ej. 'gpt-4o-mini'.",
    "the JSON body needs messages=[{'role': 'user', 'content': question}].":
        "el cuerpo JSON necesita messages=[{'role': 'user', 'content': question}].",
    "complete() should return response.json()['choices'][0]['message']['content'].":
        "complete() debe devolver response.json()['choices'][0]['message']['content'].",
    "the OpenAI protocol by hand: POST /chat/completions, bearer key, model and messages.":
        "el protocolo de OpenAI a mano: POST /chat/completions, clave bearer, model y messages.",
    "POST base_url + '/chat/completions' with json={'model': 'gpt-4o-mini', 'messages': [...]} and the bearer "
    "header; the text is at ['choices'][0]['message']['content'].":
        "POST a base_url + '/chat/completions' con json={'model': 'gpt-4o-mini', 'messages': [...]} y la "
        "cabecera bearer; el texto está en ['choices'][0]['message']['content'].",
    '''
    def complete(base_url, api_key, question):
        response = httpx.post(
            base_url + "/chat/completions",
            headers={"Authorization": f"Bearer {api_key}"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"]
    ''': '''
    def complete(base_url, api_key, question):
        response = httpx.post(
            base_url + "/chat/completions",
            headers={"Authorization": f"Bearer {api_key}"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["choices"][0]["message"]["content"]  # el texto de la primera opción
    ''',
}
