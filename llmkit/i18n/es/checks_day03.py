"""Spanish for llmkit/checks/day03.py (día 3: muchos proveedores)."""

MESSAGES = {
    "no request reached {part}: {what}": "no llegó ninguna petición a {part}: {what}",
    # q1 ask_claude
    "use client.messages.create(...).": "usa client.messages.create(...).",
    "messages held a 'system' turn: Anthropic takes the system prompt as system=...":
        "messages llevaba un turno 'system': Anthropic recibe el prompt de sistema como system=...",
    "the system prompt must go in the top-level `system` parameter (a string, or a list of "
    "text blocks), not in messages.":
        "el prompt de sistema va en el parámetro `system` de primer nivel (un texto, o una lista de bloques "
        "de texto), no en messages.",
    "max_tokens is required by Anthropic's API.": "la API de Anthropic exige max_tokens.",
    "this reply came in {n} text blocks and ask_claude() returned only the first: "
    "Claude's content is a list of blocks (several text blocks with citations or around a "
    "tool call). Join them: ''.join(block.text for block in response.content "
    "if block.type == 'text').":
        "esta respuesta llegó en {n} bloques de texto y ask_claude() devolvió solo el primero: el content de "
        "Claude es una lista de bloques (varios bloques de texto con citas o alrededor de una llamada a una "
        "herramienta). Únelos: ''.join(block.text for block in response.content if block.type == 'text').",
    "ask_claude() should return the text of the content blocks: "
    "''.join(block.text for block in response.content if block.type == 'text').":
        "ask_claude() debe devolver el texto de los bloques de contenido: "
        "''.join(block.text for block in response.content if block.type == 'text').",
    "system as a parameter, max_tokens given, and every text block joined.":
        "system como parámetro, max_tokens indicado y todos los bloques de texto unidos.",
    "client.messages.create(model='claude-haiku-4-5', max_tokens=300, system=system, "
    "messages=[{'role': 'user', 'content': question}]); response.content is a list of blocks.":
        "client.messages.create(model='claude-haiku-4-5', max_tokens=300, system=system, "
        "messages=[{'role': 'user', 'content': question}]); response.content es una lista de bloques.",
    '''
    def ask_claude(client, question, system):
        response = client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=300,
            system=system,
            messages=[{"role": "user", "content": question}],
        )
        return "".join(block.text for block in response.content if block.type == "text")
    ''': '''
    def ask_claude(client, question, system):
        response = client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=300,  # obligatorio en Anthropic
            system=system,  # el prompt de sistema es un parámetro, no un mensaje
            messages=[{"role": "user", "content": question}],
        )
        # la respuesta es una lista de bloques: une todos los de texto
        return "".join(block.text for block in response.content if block.type == "text")
    ''',
    # q2 ask_gemini
    "use client.models.generate_content(...).": "usa client.models.generate_content(...).",
    "the system prompt goes in config=types.GenerateContentConfig(system_instruction=...).":
        "el prompt de sistema va en config=types.GenerateContentConfig(system_instruction=...).",
    "set temperature=0 in the GenerateContentConfig.": "pon temperature=0 en el GenerateContentConfig.",
    "ask_gemini() should return response.text.": "ask_gemini() debe devolver response.text.",
    "system_instruction and temperature in the config, and response.text returned.":
        "system_instruction y temperature en la config, y se devuelve response.text.",
    "from google.genai import types; client.models.generate_content(model='gemini-2.5-flash', "
    "contents=question, config=types.GenerateContentConfig(system_instruction=system, temperature=0)).":
        "from google.genai import types; client.models.generate_content(model='gemini-2.5-flash', "
        "contents=question, config=types.GenerateContentConfig(system_instruction=system, temperature=0)). "
        "El prompt de sistema va en la config, no en contents.",
    '''
    from google.genai import types

    def ask_gemini(client, question, system):
        response = client.models.generate_content(
            model="gemini-2.5-flash",
            contents=question,
            config=types.GenerateContentConfig(system_instruction=system, temperature=0),
        )
        return response.text
    ''': '''
    from google.genai import types

    def ask_gemini(client, question, system):
        response = client.models.generate_content(
            model="gemini-2.5-flash",
            contents=question,
            # el prompt de sistema y los ajustes van en la config
            config=types.GenerateContentConfig(system_instruction=system, temperature=0),
        )
        return response.text  # une por ti las partes de texto
    ''',
    # q3 ask_any
    "with {name}'s client ask_any sent nothing to {path}": "con el cliente de {name}, ask_any no envió nada a {path}",
    " (it sent {others})": " (envió {others})",
    "with {name}'s client ask_any returned {got!r}; expected the reply text.":
        "con el cliente de {name}, ask_any devolvió {got!r}; se esperaba el texto de la respuesta.",
    "with {name}'s client ask_any returned {kind}; expected str.":
        "con el cliente de {name}, ask_any devolvió {kind}; se esperaba str.",
    "one function, four SDKs: each called its own way, each answer as plain text.":
        "una función, cuatro SDK: cada uno llamado a su manera, cada respuesta como texto plano.",
    "isinstance(client, anthropic.Anthropic) -> messages.create; isinstance(client, genai.Client) -> "
    "models.generate_content; otherwise (OpenAI, Groq: same shape) -> chat.completions.create.":
        "isinstance(client, anthropic.Anthropic) -> messages.create; isinstance(client, genai.Client) -> "
        "models.generate_content; si no (OpenAI, Groq: la misma forma) -> chat.completions.create.",
    '''
    import anthropic
    from google import genai
    from groq import Groq

    def ask_any(client, question):
        if isinstance(client, anthropic.Anthropic):
            response = client.messages.create(
                model="claude-haiku-4-5", max_tokens=300, messages=[{"role": "user", "content": question}]
            )
            return "".join(block.text for block in response.content if block.type == "text")
        if isinstance(client, genai.Client):
            return client.models.generate_content(model="gemini-2.5-flash", contents=question).text
        model = "llama-3.1-8b-instant" if isinstance(client, Groq) else "gpt-4o-mini"  # same API shape
        response = client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}])
        return response.choices[0].message.content
    ''': '''
    import anthropic
    from google import genai
    from groq import Groq

    def ask_any(client, question):
        if isinstance(client, anthropic.Anthropic):
            response = client.messages.create(
                model="claude-haiku-4-5", max_tokens=300, messages=[{"role": "user", "content": question}]
            )
            return "".join(block.text for block in response.content if block.type == "text")
        if isinstance(client, genai.Client):
            return client.models.generate_content(model="gemini-2.5-flash", contents=question).text
        model = "llama-3.1-8b-instant" if isinstance(client, Groq) else "gpt-4o-mini"  # la misma forma de API
        response = client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}])
        return response.choices[0].message.content
    ''',
    # q4 ollama_openai
    "ollama_openai() returned {kind}; expected an openai.OpenAI client.":
        "ollama_openai() devolvió {kind}; se esperaba un cliente openai.OpenAI.",
    " (it went to {url}; expected http://{host}/v1/chat/completions)":
        " (fue a {url}; se esperaba http://{host}/v1/chat/completions)",
    "a call with the client you built failed: {error}: {e}{went}":
        "una llamada con el cliente que construiste falló: {error}: {e}{went}",
    "the call went to {url}; expected http://{host}/v1/chat/completions: base_url=f'http://{{host}}/v1'.":
        "la llamada fue a {url}; se esperaba http://{host}/v1/chat/completions: base_url=f'http://{{host}}/v1'.",
    "pass some api_key (Ollama ignores it, but the SDK requires one): api_key='ollama'.":
        "pasa alguna api_key (Ollama la ignora, pero el SDK exige una): api_key='ollama'.",
    "the OpenAI SDK speaks to any OpenAI-compatible server once you give it the base URL.":
        "el SDK de OpenAI habla con cualquier servidor compatible con OpenAI en cuanto le das la URL base.",
    "OpenAI(base_url=f'http://{host}/v1', api_key='ollama')":
        "OpenAI(base_url=f'http://{host}/v1', api_key='ollama'): la ruta /v1 del host, y una clave cualquiera.",
    '''
    from openai import OpenAI

    def ollama_openai(host):
        return OpenAI(base_url=f"http://{host}/v1", api_key="ollama")
    ''': '''
    from openai import OpenAI

    def ollama_openai(host):
        return OpenAI(base_url=f"http://{host}/v1", api_key="ollama")  # Ollama ignora la clave
    ''',
    # q5 gemini_chat
    "{n} messages sent {sent} generateContent requests; expected one each "
    "(chat.send_message(...) per message).":
        "{n} mensajes enviaron {sent} peticiones generateContent; se esperaba una por mensaje "
        "(un chat.send_message(...) por mensaje).",
    "request {i} carried {n} contents; expected {want}: use one chat from "
    "client.chats.create(...) for every message, so it sends the history.":
        "la petición {i} llevaba {n} contents; se esperaban {want}: usa un solo chat de "
        "client.chats.create(...) para todos los mensajes, así envía el historial.",
    "gemini_chat() should return the list of reply texts, one per message, in order.":
        "gemini_chat() debe devolver la lista de textos de las respuestas, una por mensaje, en orden.",
    "one chat object keeps the history; every message sends the conversation so far.":
        "un objeto chat guarda el historial; cada mensaje envía la conversación hasta ese momento.",
    "chat = client.chats.create(model='gemini-2.5-flash'); then for each text: "
    "replies.append(chat.send_message(text).text).":
        "chat = client.chats.create(model='gemini-2.5-flash'); luego, para cada texto: "
        "replies.append(chat.send_message(text).text).",
    '''
    def gemini_chat(client, messages):
        chat = client.chats.create(model="gemini-2.5-flash")
        return [chat.send_message(text).text for text in messages]
    ''': '''
    def gemini_chat(client, messages):
        chat = client.chats.create(model="gemini-2.5-flash")  # un solo chat: guarda el historial
        return [chat.send_message(text).text for text in messages]
    ''',
}
