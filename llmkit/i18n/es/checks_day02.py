"""Spanish for llmkit/checks/day02.py (día 2: chat completions con el SDK de OpenAI)."""

MESSAGES = {
    "no request reached /chat/completions: use client.chat.completions.create(...) on the client passed in.":
        "ninguna petición llegó a /chat/completions: usa client.chat.completions.create(...) con el cliente "
        "que recibes.",
    # q1 ask
    "with a system prompt the messages' roles were {roles}; expected ['system', 'user'] (the system message "
    "goes first; OpenAI's newer name for it, 'developer', is fine too).":
        "con prompt de sistema, los roles de los mensajes fueron {roles}; se esperaba ['system', 'user'] (el "
        "mensaje de sistema va primero; también vale 'developer', el nombre más reciente que le da OpenAI).",
    "the system message should hold `system` and the user message `question`.":
        "el mensaje de sistema debe llevar `system` y el del usuario, `question`.",
    "temperature was {value!r}; the exercise asks for 0.": "temperature era {value!r}; el ejercicio pide 0.",
    "ask() should return the reply text: response.choices[0].message.content.":
        "ask() debe devolver el texto de la respuesta: response.choices[0].message.content.",
    "without a system prompt the roles were {roles}; expected only ['user'].":
        "sin prompt de sistema los roles fueron {roles}; se esperaba solo ['user'].",
    "system first when given, the question as the user message, and the reply text returned.":
        "el sistema primero cuando lo hay, la pregunta como mensaje del usuario, y se devuelve el texto de la "
        "respuesta.",
    "Build messages = [] ; if system: messages.append({'role': 'system', 'content': system}); then the user "
    "message; call client.chat.completions.create(model=..., messages=messages, temperature=0).":
        "Construye messages = [] ; if system: messages.append({'role': 'system', 'content': system}); después "
        "el mensaje del usuario; llama a client.chat.completions.create(model=..., messages=messages, "
        "temperature=0).",
    '''
    def ask(client, question, system=None):
        messages = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": question})
        response = client.chat.completions.create(model="gpt-4o-mini", messages=messages, temperature=0)
        return response.choices[0].message.content
    ''': '''
    def ask(client, question, system=None):
        messages = []
        if system:  # el mensaje de sistema, si lo hay, va primero
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": question})
        response = client.chat.completions.create(model="gpt-4o-mini", messages=messages, temperature=0)
        return response.choices[0].message.content
    ''',
    # q2 chat_turn
    "two turns sent {n} requests; expected one request per turn.":
        "dos turnos enviaron {n} peticiones; se esperaba una petición por turno.",
    "after two turns history's roles were {roles}; expected {want}: append the user message before the call "
    "and the assistant's reply after it.":
        "tras dos turnos los roles de history eran {roles}; se esperaba {want}: añade el mensaje del usuario "
        "antes de la llamada y la respuesta del asistente después.",
    "the assistant messages in history should hold the replies chat_turn returned.":
        "los mensajes del asistente en history deben contener las respuestas que devolvió chat_turn.",
    "the second request sent roles {roles}; it must send the whole conversation so far {want}: the model "
    "remembers nothing between calls.":
        "la segunda petición envió los roles {roles}; debe enviar toda la conversación hasta ese momento "
        "{want}: el modelo no recuerda nada entre llamadas.",
    "chat_turn() should return the reply text of its call.":
        "chat_turn() debe devolver el texto de la respuesta de su llamada.",
    "the conversation lives in your list, and every call sends all of it.":
        "la conversación vive en tu lista, y cada llamada la envía entera.",
    "history.append({'role': 'user', 'content': text}); call with messages=history; "
    "history.append({'role': 'assistant', 'content': reply}); return reply.":
        "history.append({'role': 'user', 'content': text}); llama con messages=history; "
        "history.append({'role': 'assistant', 'content': reply}); return reply.",
    '''
    def chat_turn(client, history, text):
        history.append({"role": "user", "content": text})
        response = client.chat.completions.create(model="gpt-4o-mini", messages=history, temperature=0)
        reply = response.choices[0].message.content
        history.append({"role": "assistant", "content": reply})
        return reply
    ''': '''
    def chat_turn(client, history, text):
        history.append({"role": "user", "content": text})
        response = client.chat.completions.create(model="gpt-4o-mini", messages=history, temperature=0)
        reply = response.choices[0].message.content
        history.append({"role": "assistant", "content": reply})  # para el siguiente turno
        return reply
    ''',
    # q3 was_cut_off
    "max_tokens ran out": "se agotó max_tokens",
    "the reply ended": "la respuesta terminó",
    "a stop sequence was hit": "apareció una secuencia de parada",
    "the model asked to call a tool": "el modelo pidió llamar a una herramienta",
    "the provider's content filter stopped it": "la detuvo el filtro de contenido del proveedor",
    "for a response with finish_reason={reason!r} ({why}), was_cut_off returned {got!r}; expected {want}.":
        "para una respuesta con finish_reason={reason!r} ({why}), was_cut_off devolvió {got!r}; se esperaba {want}.",
    " Only 'length' means max_tokens cut the reply: test for it, not for `!= 'stop'`.":
        " Solo 'length' significa que max_tokens cortó la respuesta: comprueba eso, no `!= 'stop'`.",
    "only finish_reason 'length' means max_tokens cut the reply; 'stop', 'tool_calls' and 'content_filter' "
    "are other endings.":
        "solo finish_reason 'length' significa que max_tokens cortó la respuesta; 'stop', 'tool_calls' y "
        "'content_filter' son otros finales.",
    "Look at response.choices[0].finish_reason and return a bool: only 'length' means max_tokens cut it "
    "('stop', 'tool_calls' and 'content_filter' are other endings).":
        "Mira response.choices[0].finish_reason y devuelve un bool: solo 'length' significa que max_tokens la "
        "cortó ('stop', 'tool_calls' y 'content_filter' son otros finales).",
    '''
    def was_cut_off(response):
        return response.choices[0].finish_reason == "length"
    ''': '''
    def was_cut_off(response):
        return response.choices[0].finish_reason == "length"  # solo 'length' es un corte por max_tokens
    ''',
    # q4 ask_json
    "json.loads failed on the reply ({error}), so the model answered in prose: ":
        "json.loads falló con la respuesta ({error}), así que el modelo respondió en prosa: ",
    "ask for JSON mode with response_format={'type': 'json_object'}, and say 'JSON' in a message.":
        "pide el modo JSON con response_format={'type': 'json_object'} y di 'JSON' en un mensaje.",
    "parse response.choices[0].message.content, the reply's text.":
        "analiza response.choices[0].message.content, el texto de la respuesta.",
    "the request had no response_format={'type': 'json_object'}.":
        "la petición no llevaba response_format={'type': 'json_object'}.",
    "none of the messages mentions JSON: OpenAI rejects JSON mode unless a message asks for JSON (add it to "
    "the system prompt).":
        "ningún mensaje menciona JSON: OpenAI rechaza el modo JSON si ningún mensaje pide JSON (añádelo al "
        "prompt de sistema).",
    "ask_json() returned {kind}; expected the dict from json.loads(content).":
        "ask_json() devolvió {kind}; se esperaba el dict de json.loads(content).",
    "ask_json() should return json.loads(response.choices[0].message.content).":
        "ask_json() debe devolver json.loads(response.choices[0].message.content).",
    "JSON mode on, JSON asked for in a message, and the reply parsed into a dict.":
        "modo JSON activado, JSON pedido en un mensaje, y la respuesta convertida en un dict.",
    "Add response_format={'type': 'json_object'} and a system message that says 'Answer in JSON'; then "
    "json.loads(...) the content.":
        "Añade response_format={'type': 'json_object'} y un mensaje de sistema que diga 'Responde en JSON'; "
        "después aplica json.loads(...) al contenido.",
    '''
    import json

    def ask_json(client, question):
        response = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Answer with a JSON object."},
                {"role": "user", "content": question},
            ],
            response_format={"type": "json_object"},
            temperature=0,
        )
        return json.loads(response.choices[0].message.content)
    ''': '''
    import json

    def ask_json(client, question):
        response = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Responde con un objeto JSON."},
                {"role": "user", "content": question},
            ],
            response_format={"type": "json_object"},
            temperature=0,
        )
        return json.loads(response.choices[0].message.content)
    ''',
    # q5 cost
    "with {n_in} tokens in, {n_out} out at ${p_in}/${p_out} per 1M, cost returned {got!r}; expected {want:.10f}.":
        "con {n_in} tokens de entrada y {n_out} de salida a ${p_in}/${p_out} por millón, cost devolvió {got!r}; "
        "se esperaba {want:.10f}.",
    "usage.prompt_tokens and usage.completion_tokens, each at its own price per million.":
        "usage.prompt_tokens y usage.completion_tokens, cada uno a su propio precio por millón.",
    "Prices are per 1,000,000 tokens, and input and output have different prices: "
    "(prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000.":
        "Los precios son por 1.000.000 de tokens, y la entrada y la salida tienen precios distintos: "
        "(prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000.",
    '''
    def cost(response, price_in, price_out):
        usage = response.usage
        return (usage.prompt_tokens * price_in + usage.completion_tokens * price_out) / 1_000_000
    ''': '''
    def cost(response, price_in, price_out):
        usage = response.usage  # los precios son por millón de tokens
        return (usage.prompt_tokens * price_in + usage.completion_tokens * price_out) / 1_000_000
    ''',
}
