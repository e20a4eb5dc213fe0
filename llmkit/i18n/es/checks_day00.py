"""Spanish for llmkit/checks/day00.py (día 0: claves, .env y una primera llamada)."""

MESSAGES = {
    # q1 key_status
    "your function showed the key itself (or its beginning): it must only say whether the key is there.":
        "tu función mostró la propia clave (o su comienzo): solo debe decir si la clave está.",
    "unset": "sin definir",
    "set to ''": "definida como ''",
    "set to the offline placeholder 'llmkit-offline'": "con el marcador sin conexión 'llmkit-offline'",
    "set to a real-looking key": "con una clave de aspecto real",
    "with {var} {shown}, key_status({var!r}) returned {got!r}; expected {want!r}.":
        "con {var} {shown}, key_status({var!r}) devolvió {got!r}; se esperaba {want!r}.",
    "it tells 'set', 'placeholder' and 'not set' apart and never shows the value.":
        "distingue 'set', 'placeholder' y 'not set' y nunca muestra el valor.",
    "Read the variable with os.environ.get(name, ''); compare it with '' and with 'llmkit-offline'. "
    "Return one of the three words; never return or print the value.":
        "Lee la variable con os.environ.get(name, ''); compárala con '' y con 'llmkit-offline'. "
        "Devuelve una de las tres palabras ('set', 'placeholder', 'not set'); nunca devuelvas ni imprimas el valor.",
    '''
    def key_status(name):
        value = os.environ.get(name, "")
        if not value:
            return "not set"
        if value == "llmkit-offline":
            return "placeholder"
        return "set"
    ''': '''
    def key_status(name):
        value = os.environ.get(name, "")  # '' si no existe: nunca la imprimas
        if not value:
            return "not set"
        if value == "llmkit-offline":  # el marcador que pone setup() para la pasarela
            return "placeholder"
        return "set"
    ''',
    # q2 mask
    "mask({secret!r}) returned {got!r}; expected {want!r} ({n} characters: {than} 12).":
        "mask({secret!r}) devolvió {got!r}; se esperaba {want!r} ({n} caracteres: {than} 12).",
    "at least": "al menos",
    "fewer than": "menos de",
    "long keys keep 3 characters in front and 4 at the end, short ones are hidden completely.":
        "las claves largas conservan 3 caracteres al principio y 4 al final; las cortas se ocultan del todo.",
    "Check len(secret) < 12 first. Otherwise slice: secret[:3] + '...' + secret[-4:].":
        "Comprueba primero len(secret) < 12. Si no, corta la cadena: secret[:3] + '...' + secret[-4:].",
    '''
    def mask(secret):
        if len(secret) < 12:
            return "***"
        return secret[:3] + "..." + secret[-4:]
    ''': '''
    def mask(secret):
        if len(secret) < 12:  # demasiado corta: no se enseña nada
            return "***"
        return secret[:3] + "..." + secret[-4:]
    ''',
    # q3 env_names
    "your function changed the environment ({names}): read the file with dotenv_values(), "
    "which returns a dict and touches nothing.":
        "tu función cambió el entorno ({names}): lee el archivo con dotenv_values(), que devuelve un dict "
        "y no toca nada.",
    "env_names() returned {kind}; expected a list of names.":
        "env_names() devolvió {kind}; se esperaba una lista de nombres.",
    "for a .env with comments, `export` and quotes, env_names() returned {got!r}; expected the sorted names {want!r}.":
        "para un .env con comentarios, `export` y comillas, env_names() devolvió {got!r}; se esperaban los "
        "nombres ordenados {want!r}.",
    "it lists the names in a .env file without loading (or showing) the values.":
        "lista los nombres de un archivo .env sin cargar (ni mostrar) los valores.",
    "from dotenv import dotenv_values; dotenv_values(path) is a dict of name -> value. Return sorted(...) of its keys.":
        "from dotenv import dotenv_values; dotenv_values(path) es un dict nombre -> valor. Devuelve "
        "sorted(...) de sus claves.",
    '''
    from dotenv import dotenv_values

    def env_names(path):
        return sorted(dotenv_values(path))
    ''': '''
    from dotenv import dotenv_values

    def env_names(path):
        return sorted(dotenv_values(path))  # lee el archivo sin tocar os.environ
    ''',
    # q4 first_call
    "first_call() printed the API key: never print a key, not even while testing.":
        "first_call() imprimió la clave de API: nunca imprimas una clave, ni siquiera para probar.",
    "first_call() sent no request to /chat/completions: use client.chat.completions.create(...).":
        "first_call() no envió ninguna petición a /chat/completions: usa client.chat.completions.create(...).",
    "the request did not go to the address in OPENAI_BASE_URL (the check changed it, and the request still "
    "went to {url}): the address is fixed in your code, or the client was made before first_call ran. Create "
    "the client inside first_call as OpenAI(), with no base_url.":
        "la petición no fue a la dirección de OPENAI_BASE_URL (la comprobación la cambió y la petición siguió "
        "yendo a {url}): la dirección está fija en tu código, o el cliente se creó antes de ejecutar "
        "first_call. Crea el cliente dentro de first_call con OpenAI(), sin base_url.",
    "the request did not carry the key in OPENAI_API_KEY (the check changed it, and the request still sent "
    "another one): the key is written in your code, or the client was made before first_call ran. Create the "
    "client inside first_call as OpenAI(), and let it read the key from the environment; never write a key in code.":
        "la petición no llevaba la clave de OPENAI_API_KEY (la comprobación la cambió y la petición siguió "
        "enviando otra): la clave está escrita en tu código, o el cliente se creó antes de ejecutar first_call. "
        "Crea el cliente dentro de first_call con OpenAI() y deja que lea la clave del entorno; nunca "
        "escribas una clave en el código.",
    "the question was not sent as the user message: messages=[{'role': 'user', 'content': question}].":
        "la pregunta no se envió como mensaje del usuario: messages=[{'role': 'user', 'content': question}].",
    "temperature was {value!r}; the exercise asks for temperature=0.":
        "temperature era {value!r}; el ejercicio pide temperature=0.",
    "first_call() returned {got!r}; expected the reply text, response.choices[0].message.content.":
        "first_call() devolvió {got!r}; se esperaba el texto de la respuesta, response.choices[0].message.content.",
    "one call with OpenAI() as in production: the key and address came from the environment.":
        "una llamada con OpenAI() como en producción: la clave y la dirección salieron del entorno.",
    "client = OpenAI(); response = client.chat.completions.create(model='gpt-4o-mini', messages=[...], "
    "temperature=0); the text is response.choices[0].message.content.":
        "client = OpenAI(); response = client.chat.completions.create(model='gpt-4o-mini', messages=[...], "
        "temperature=0); el texto está en response.choices[0].message.content.",
    '''
    from openai import OpenAI

    def first_call(question):
        client = OpenAI()
        response = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": question}],
            temperature=0,
        )
        return response.choices[0].message.content
    ''': '''
    from openai import OpenAI

    def first_call(question):
        client = OpenAI()  # lee OPENAI_API_KEY y OPENAI_BASE_URL del entorno
        response = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": question}],
            temperature=0,
        )
        return response.choices[0].message.content
    ''',
}
