"""Spanish for llmkit/checks/day08.py (día 8: construir aplicaciones)."""

MESSAGES = {
    "the request after a tool call must repeat the assistant's message with its tool_calls (messages.append(message)) before the tool results; without it the API refuses the tool messages.":
        'la petición que sigue a una llamada a herramienta debe repetir el mensaje del asistente con sus tool_calls (messages.append(message)) antes de los resultados; sin él, la API rechaza los mensajes tool.',
    "Loop: create(..., tools=[PRICE_TOOL], tool_choice=...). If message.tool_calls is empty, return message.content. Otherwise messages.append(message), then for each call: args = json.loads(call.function.arguments); run model_price(**args) (or catch its error) and append {'role': 'tool', 'tool_call_id': call.id, 'content': json.dumps(result)}. Ask again with tool_choice='auto' (with 'required' every time the model can never answer).":
        "Un bucle: create(..., tools=[PRICE_TOOL], tool_choice=...). Si message.tool_calls está vacío, devuelve message.content. Si no, messages.append(message) y, para cada llamada: args = json.loads(call.function.arguments); ejecuta model_price(**args) (o captura su error) y añade {'role': 'tool', 'tool_call_id': call.id, 'content': json.dumps(result)}. Vuelve a preguntar con tool_choice='auto' (con 'required' todas las veces, el modelo nunca puede responder).",
    'def answer_with_tool(client, question, max_rounds=5):\n    messages = [{"role": "user", "content": question}]\n    choice = "required"\n    for _ in range(max_rounds):\n        response = client.chat.completions.create(model="gpt-4o-mini", messages=messages,\n                                                  tools=[PRICE_TOOL], tool_choice=choice, temperature=0)\n        message = response.choices[0].message\n        if not message.tool_calls:\n            return message.content\n        messages.append(message)\n        for call in message.tool_calls:\n            try:\n                result = model_price(**json.loads(call.function.arguments))\n            except Exception as e:\n                result = {"error": str(e)}\n            messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})\n        choice = "auto"\n    raise RuntimeError("no answer")':
        'def answer_with_tool(client, question, max_rounds=5):\n    messages = [{"role": "user", "content": question}]\n    choice = "required"  # la primera petición obliga a llamar; después decide el modelo\n    for _ in range(max_rounds):\n        response = client.chat.completions.create(model="gpt-4o-mini", messages=messages,\n                                                  tools=[PRICE_TOOL], tool_choice=choice, temperature=0)\n        message = response.choices[0].message\n        if not message.tool_calls:\n            return message.content  # la respuesta, escrita a partir del resultado\n        messages.append(message)  # el turno del asistente, con sus tool_calls\n        for call in message.tool_calls:\n            try:\n                result = model_price(**json.loads(call.function.arguments))\n            except Exception as e:  # el modelo lee el error\n                result = {"error": str(e)}\n            messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})\n        choice = "auto"\n    raise RuntimeError("sin respuesta")',
    "client.chat.completions.parse(model='gpt-4o-mini', messages=[...the ticket...], response_format=Ticket) sends Ticket's schema and returns response.choices[0].message.parsed, already validated. It raises on a cut reply (LengthFinishReasonError) and on one that does not fit (ValidationError): let it raise. With create(), send {'type': 'json_schema', ...} and return Ticket.model_validate_json(content).":
        "client.chat.completions.parse(model='gpt-4o-mini', messages=[...el ticket...], response_format=Ticket) envía el esquema de Ticket y devuelve response.choices[0].message.parsed, ya validado. Lanza una excepción ante una respuesta cortada (LengthFinishReasonError) y ante una que no encaja (ValidationError): deja que la lance. Con create(), envía {'type': 'json_schema', ...} y devuelve Ticket.model_validate_json(content).",
    'def extract_ticket(client, text):\n    response = client.chat.completions.parse(\n        model="gpt-4o-mini",\n        messages=[{"role": "system", "content": "Classify the support ticket."},\n                  {"role": "user", "content": text}],\n        response_format=Ticket,\n        temperature=0,\n    )\n    return response.choices[0].message.parsed':
        'def extract_ticket(client, text):\n    response = client.chat.completions.parse(\n        model="gpt-4o-mini",\n        messages=[{"role": "system", "content": "Clasifica el ticket de soporte."},\n                  {"role": "user", "content": text}],\n        response_format=Ticket,  # envía el esquema; parse valida la respuesta\n        temperature=0,\n    )\n    return response.choices[0].message.parsed  # un Ticket validado',
    'Embed the documents and the query with the same model (text-embedding-3-small), score each document by cosine similarity (a @ b / (|a| |b|)), and return the documents of the k highest scores, highest first: np.argsort(-scores)[:k].':
        'Calcula los embeddings de los documentos y de la consulta con el mismo modelo (text-embedding-3-small), puntúa cada documento por similitud coseno (a @ b / (|a| |b|)) y devuelve los documentos de las k puntuaciones más altas, de mayor a menor: np.argsort(-scores)[:k].',
    'def top_k(client, query, docs, k=3):\n    response = client.embeddings.create(model="text-embedding-3-small", input=docs + [query])\n    vectors = np.array([d.embedding for d in response.data])\n    matrix, q = vectors[:-1], vectors[-1]\n    scores = matrix @ q / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(q))\n    return [docs[i] for i in np.argsort(-scores)[:k]]':
        'def top_k(client, query, docs, k=3):\n    response = client.embeddings.create(model="text-embedding-3-small", input=docs + [query])\n    vectors = np.array([d.embedding for d in response.data])\n    matrix, q = vectors[:-1], vectors[-1]  # los documentos y, al final, la consulta\n    scores = matrix @ q / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(q))  # similitud coseno\n    return [docs[i] for i in np.argsort(-scores)[:k]]  # el más parecido primero',
    "Rank the documents' texts with your top_k (exercise 3), keep the k best, write them into the prompt as '[id] text' lines, ask the model to answer from them and cite ids like [streaming], and return {'answer': reply text, 'sources': [the ids you sent]}.":
        "Ordena los textos de los documentos con tu top_k (ejercicio 3), quédate con los k mejores, escríbelos en el prompt como líneas '[id] texto', pide al modelo que responda a partir de ellos y cite los ids así: [streaming], y devuelve {'answer': texto de la respuesta, 'sources': [los ids que enviaste]}.",
    'def answer_with_sources(client, question, docs, k=3):\n    best = top_k(client, question, [d["text"] for d in docs], k)\n    chosen = [next(d for d in docs if d["text"] == text) for text in best]\n    context = "\\n".join(f"[{d[\'id\']}] {d[\'text\']}" for d in chosen)\n    response = client.chat.completions.create(\n        model="gpt-4o-mini", temperature=0,\n        messages=[{"role": "system", "content": "Answer from the sources only; cite their ids like [id]."},\n                  {"role": "user", "content": f"Sources:\\n{context}\\n\\nQuestion: {question}"}],\n    )\n    return {"answer": response.choices[0].message.content, "sources": [d["id"] for d in chosen]}':
        'def answer_with_sources(client, question, docs, k=3):\n    best = top_k(client, question, [d["text"] for d in docs], k)\n    chosen = [next(d for d in docs if d["text"] == text) for text in best]\n    context = "\\n".join(f"[{d[\'id\']}] {d[\'text\']}" for d in chosen)  # una línea "[id] texto" por fuente\n    response = client.chat.completions.create(\n        model="gpt-4o-mini", temperature=0,\n        messages=[{"role": "system", "content": "Responde solo a partir de las fuentes; cita sus ids así: [id]."},\n                  {"role": "user", "content": f"Fuentes:\\n{context}\\n\\nPregunta: {question}"}],\n    )\n    return {"answer": response.choices[0].message.content, "sources": [d["id"] for d in chosen]}',
    "no tool message answers the call {call_id!r}: send one {{'role': 'tool', 'tool_call_id': call.id, 'content': ...}} per call, with that call's id.":
        "ningún mensaje tool responde a la llamada {call_id!r}: envía uno {{'role': 'tool', 'tool_call_id': call.id, 'content': ...}} por llamada, con el id de esa llamada.",
    "{n} questions: each call ran, its result went back with the call's id, and the model's answer came back.":
        '{n} preguntas: cada llamada se ejecutó, su resultado volvió con el id de la llamada y llegó la respuesta del modelo.',
    'the Ticket schema was sent, the reply validated and returned; a cut reply and one off the schema were refused.':
        'se envió el esquema de Ticket y la respuesta se validó y se devolvió; una respuesta cortada y otra fuera del esquema se rechazaron.',
    '{n} queries: the k most similar documents, most similar first.':
        '{n} consultas: los k documentos más parecidos, el más parecido primero.',
    'the k nearest documents were sent with their ids, and the sources cited are exactly those.':
        'los k documentos más cercanos se enviaron con sus ids, y las fuentes citadas son exactamente esas.',
    'model_price(**arguments) = {result}':
        'model_price(**arguments) = {result}',
    'the result of model_price(**json.loads(arguments)) (the arguments string itself was passed)':
        'el resultado de model_price(**json.loads(arguments)) (se envió la propia cadena de argumentos)',
    "cut short (finish_reason 'length', half the JSON)":
        "cortada (finish_reason 'length', la mitad del JSON)",
    "valid JSON that does not fit the schema (category 'complaint', urgent 'very')":
        "JSON válido que no encaja en el esquema (category 'complaint', urgent 'very')",
    'the error model_price raises for these arguments ({kind}: {error})':
        'el error que lanza model_price con estos argumentos ({kind}: {error})',
    'the first request offers no tool named model_price: pass tools=[PRICE_TOOL].':
        'la primera petición no ofrece ninguna herramienta llamada model_price: pasa tools=[PRICE_TOOL].',
    "the model never called the tool: ask for a call on the first request (tool_choice='required'), then run it and send the result back.":
        "el modelo nunca llamó a la herramienta: pide una llamada en la primera petición (tool_choice='required'), ejecútala y devuelve el resultado.",
    "answer_with_tool() returned {got!r}, but the model's final answer was {last!r}: return the text of the last reply (the model's answer written from the tool's result), not the tool's result itself.":
        'answer_with_tool() devolvió {got!r}, pero la respuesta final del modelo fue {last!r}: devuelve el texto de la última respuesta (la que el modelo escribió a partir del resultado de la herramienta), no el resultado de la herramienta.',
    "the ticket's text is not in the messages sent: the model must read it.":
        'el texto del ticket no está en los mensajes enviados: el modelo tiene que leerlo.',
    "the request asks for response_format {kind!r}: send the schema (client.chat.completions.parse(..., response_format=Ticket), or {{'type': 'json_schema', 'json_schema': {{'name': ..., 'schema': Ticket.model_json_schema()}}}}), so the reply has the Ticket's fields and nothing else.":
        "la petición pide response_format {kind!r}: envía el esquema (client.chat.completions.parse(..., response_format=Ticket), o {{'type': 'json_schema', 'json_schema': {{'name': ..., 'schema': Ticket.model_json_schema()}}}}), para que la respuesta tenga los campos de Ticket y nada más.",
    "the schema sent has no {field!r} property: send Ticket's own schema.":
        'el esquema enviado no tiene la propiedad {field!r}: envía el esquema del propio Ticket.',
    'extract_ticket() returned a {kind}; return a Ticket (the validated object: message.parsed, or Ticket.model_validate_json(content)).':
        'extract_ticket() devolvió un {kind}; devuelve un Ticket (el objeto validado: message.parsed, o Ticket.model_validate_json(content)).',
    'extract_ticket() returned {got!r}, but the reply said {content}: return what the model replied, validated.':
        'extract_ticket() devolvió {got!r}, pero la respuesta decía {content}: devuelve lo que respondió el modelo, validado.',
    'given a reply {what}, extract_ticket() returned {got!r}: a reply that does not validate must raise (parse and model_validate_json do) or give None, never an object your program would trust.':
        'ante una respuesta {what}, extract_ticket() devolvió {got!r}: una respuesta que no valida debe lanzar una excepción (parse y model_validate_json lo hacen) o dar None, nunca un objeto en el que tu programa confiaría.',
    'top_k() sent no request to /embeddings: embed the documents and the query with client.embeddings.create(model={model!r}, input=...).':
        'top_k() no envió ninguna petición a /embeddings: calcula los embeddings de los documentos y de la consulta con client.embeddings.create(model={model!r}, input=...).',
    'top_k() returned {got!r}; return a list of the k documents themselves (strings), most similar first.':
        'top_k() devolvió {got!r}; devuelve una lista con los k documentos mismos (cadenas), el más parecido primero.',
    'with k={k}, top_k() returned {n} documents; return exactly k.':
        'con k={k}, top_k() devolvió {n} documentos; devuelve exactamente k.',
    'top_k() returned the k *least* similar documents: sort by similarity from the highest (np.argsort(-scores), or sorted(..., reverse=True)).':
        'top_k() devolvió los k documentos *menos* parecidos: ordena por similitud de mayor a menor (np.argsort(-scores), o sorted(..., reverse=True)).',
    'for {query!r} top_k() returned {got}; by cosine similarity of {model} embeddings the top {k} are {want}.':
        'para {query!r} top_k() devolvió {got}; por similitud coseno de los embeddings de {model}, los {k} primeros son {want}.',
    "answer_with_sources() returned {got!r}; return a dict with exactly the keys 'answer' (the model's reply) and 'sources' (the ids of the documents sent).":
        "answer_with_sources() devolvió {got!r}; devuelve un dict con exactamente las claves 'answer' (la respuesta del modelo) y 'sources' (los ids de los documentos enviados).",
    'answer_with_sources() sent no request to /chat/completions: retrieve, then ask the chat model with the documents in the prompt.':
        'answer_with_sources() no envió ninguna petición a /chat/completions: recupera los documentos y pregunta al modelo de chat con ellos en el prompt.',
    'answer_with_sources() sent no request to /embeddings: retrieve the documents by embedding similarity (your top_k from exercise 3 does it).':
        'answer_with_sources() no envió ninguna petición a /embeddings: recupera los documentos por similitud de embeddings (tu top_k del ejercicio 3 lo hace).',
    "'sources' is {sources!r}; make it a list of document ids.":
        "'sources' es {sources!r}; haz que sea una lista de ids de documentos.",
    'the prompt holds {n} documents, with k={k}: send only the k retrieved ones (stuffing everything in is what retrieval avoids).':
        'el prompt contiene {n} documentos, con k={k}: envía solo los k recuperados (meterlo todo es justo lo que la recuperación evita).',
    'for {question!r} the sources are {sources}; the {k} documents most similar to the question ({model}, cosine) are {want}.':
        'para {question!r} las fuentes son {sources}; los {k} documentos más parecidos a la pregunta ({model}, coseno) son {want}.',
    "'answer' is {got!r}, but the model replied {reply!r}: return the reply's text.":
        "'answer' es {got!r}, pero el modelo respondió {reply!r}: devuelve el texto de la respuesta.",
    'answer_with_tool() sent no request to /chat/completions with the client it was given.':
        'answer_with_tool() no envió ninguna petición a /chat/completions con el cliente que recibió.',
    "answer_with_tool() sent {n} requests, each forcing a tool call (tool_choice={choice!r}), so the model could never answer in text. Force the call on the first request only, then use tool_choice='auto'.":
        "answer_with_tool() envió {n} peticiones, todas obligando a llamar a una herramienta (tool_choice={choice!r}), así que el modelo nunca pudo responder con texto. Obliga a llamar solo en la primera petición y después usa tool_choice='auto'.",
    "after {n} requests the model was still asking for tools and answer_with_tool() stopped there. If every request has tool_choice='required', the model can never answer: use 'required' on the first request only, then 'auto'.":
        "tras {n} peticiones el modelo seguía pidiendo herramientas y answer_with_tool() se paró ahí. Si todas las peticiones llevan tool_choice='required', el modelo nunca puede responder: usa 'required' solo en la primera petición y después 'auto'.",
    'extract_ticket() sent no request to /chat/completions with the client it was given.':
        'extract_ticket() no envió ninguna petición a /chat/completions con el cliente que recibió.',
    'for {query!r} the right documents came back in the wrong order: {got}, expected {want} (most similar first).':
        'para {query!r} llegaron los documentos correctos en mal orden: {got}, se esperaba {want} (el más parecido primero).',
    "{sid!r} in 'sources' is not the id of any document.":
        "{sid!r} en 'sources' no es el id de ningún documento.",
    'the source {sid!r} is cited, but its text was not in the prompt: cite only what the model was given.':
        'se cita la fuente {sid!r}, pero su texto no estaba en el prompt: cita solo lo que recibió el modelo.',
    "the text of {sid!r} was sent without its label [{sid}]: put each document's id in square brackets before its text, so the model can cite it.":
        'el texto de {sid!r} se envió sin su etiqueta [{sid}]: pon el id de cada documento entre corchetes delante de su texto, para que el modelo pueda citarlo.',
    'after the model answered in text, answer_with_tool() sent another request: a reply without tool_calls is the answer; return its content.':
        'después de que el modelo respondiera con texto, answer_with_tool() envió otra petición: una respuesta sin tool_calls es la respuesta; devuelve su content.',
    "the model asked for a tool call, but answer_with_tool() sent nothing back: run model_price with the call's arguments and send the result in a second request (the model writes the answer from it).":
        'el modelo pidió una llamada a herramienta, pero answer_with_tool() no devolvió nada: ejecuta model_price con los argumentos de la llamada y envía el resultado en una segunda petición (el modelo escribe la respuesta a partir de él).',
    'the tool message for the call model_price({raw}) holds {held!r}, but it should hold {what}. Parse the arguments with json.loads(call.function.arguments), call model_price(**arguments), and send json.dumps(result); when the tool raises, send the error instead of stopping.':
        'el mensaje tool de la llamada model_price({raw}) contiene {held!r}, pero debería contener {what}. Convierte los argumentos con json.loads(call.function.arguments), llama a model_price(**arguments) y envía json.dumps(result); cuando la herramienta lance una excepción, envía el error en vez de pararte.',
}
