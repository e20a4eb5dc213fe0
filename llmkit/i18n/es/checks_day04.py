"""Spanish for llmkit/checks/day04.py (día 4: streaming)."""

MESSAGES = {
    "{name}() printed nothing: print each piece as it arrives (print(piece, end='', flush=True)), then return the whole text.":
        "{name}() no imprimió nada: imprime cada trozo según llega (print(piece, end='', flush=True)) y después devuelve el texto completo.",
    '{name}() printed the text only after the stream had ended (the check made the server send one piece at a time, slowly): print each piece inside the loop, as it arrives, not the collected text at the end.':
        '{name}() imprimió el texto solo cuando el stream ya había terminado (la comprobación hizo que el servidor enviara los trozos de uno en uno, despacio): imprime cada trozo dentro del bucle, según llega, no el texto reunido al final.',
    'no request reached {part}.':
        'no llegó ninguna petición a {part}.',
    'the request was not streamed: pass stream=True.':
        'la petición no era en streaming: pasa stream=True.',
    'stream_print() returned {kind}; expected a tuple (text, count).':
        'stream_print() devolvió {kind}; se esperaba una tupla (texto, recuento).',
    'the text returned is not the pieces of the stream joined together.':
        'el texto devuelto no son los trozos del stream unidos.',
    'the count was {count!r}; the stream carried {n_deltas} chunks with text (count only chunks whose delta.content is not empty).':
        'el recuento fue {count!r}; el stream trajo {n_deltas} chunks con texto (cuenta solo los chunks cuyo delta.content no está vacío).',
    "what was printed differs from the text: print each piece with end='' as it arrives.":
        "lo impreso no coincide con el texto: imprime cada trozo con end='' según llega.",
    'printed as it arrived and counted {count} chunks, one token each offline.':
        'impreso según llegaba y contados {count} chunks, un token cada uno sin conexión.',
    "for chunk in client.chat.completions.create(..., stream=True): piece = chunk.choices[0].delta.content (check chunk.choices is not empty and piece is not None); print(piece, end='', flush=True).":
        "for chunk in client.chat.completions.create(..., stream=True): piece = chunk.choices[0].delta.content (comprueba que chunk.choices no esté vacío y que piece no sea None); print(piece, end='', flush=True).",
    'def stream_print(client, question):\n    stream = client.chat.completions.create(\n        model="gpt-4o-mini",\n        messages=[{"role": "user", "content": question}],\n        stream=True,\n        temperature=0,\n    )\n    pieces = []\n    for chunk in stream:\n        if chunk.choices and chunk.choices[0].delta.content:\n            piece = chunk.choices[0].delta.content\n            print(piece, end="", flush=True)\n            pieces.append(piece)\n    print()\n    return "".join(pieces), len(pieces)':
        'def stream_print(client, question):\n    stream = client.chat.completions.create(\n        model="gpt-4o-mini",\n        messages=[{"role": "user", "content": question}],\n        stream=True,\n        temperature=0,\n    )\n    pieces = []  # los trozos con texto\n    for chunk in stream:\n        if chunk.choices and chunk.choices[0].delta.content:\n            piece = chunk.choices[0].delta.content\n            print(piece, end="", flush=True)  # al momento, en la misma línea\n            pieces.append(piece)\n    print()\n    return "".join(pieces), len(pieces)',
    "parse_sse() passed `data: [DONE]` to json.loads: it is not JSON but the end of OpenAI's stream. Stop there (break) before parsing.":
        'parse_sse() pasó `data: [DONE]` a json.loads: no es JSON sino el final del stream de OpenAI. Para ahí (break) antes de analizar.',
    'parse_sse() returned {kind}; expected a list of dicts.':
        'parse_sse() devolvió {kind}; se esperaba una lista de dicts.',
    "for {name}'s stream ({n_want} events) parse_sse returned {n_got} items; the first difference is at item {first_bad}. Keep only `data:` lines, parse them with json.loads, skip `event:` and blank lines, stop at [DONE].":
        'para el stream de {name} ({n_want} eventos) parse_sse devolvió {n_got} elementos; la primera diferencia está en el elemento {first_bad}. Quédate solo con las líneas `data:`, analízalas con json.loads, sáltate las líneas `event:` y las vacías, y para en [DONE].',
    "data lines parsed, event and blank lines skipped, [DONE] ends it: for OpenAI's and Anthropic's streams.":
        'líneas data analizadas, líneas event y vacías saltadas, y [DONE] pone fin: en los streams de OpenAI y de Anthropic.',
    "for line in lines: if not line.startswith('data:'): continue; payload = line[len('data:'):].strip(); if payload == '[DONE]': break; events.append(json.loads(payload)).":
        "for line in lines: if not line.startswith('data:'): continue; payload = line[len('data:'):].strip(); if payload == '[DONE]': break; events.append(json.loads(payload)). Las líneas event: y las vacías se saltan.",
    'import json\n\ndef parse_sse(lines):\n    events = []\n    for line in lines:\n        if not line.startswith("data:"):\n            continue\n        payload = line[len("data:"):].strip()\n        if payload == "[DONE]":\n            break\n        events.append(json.loads(payload))\n    return events':
        'import json\n\ndef parse_sse(lines):\n    events = []\n    for line in lines:\n        if not line.startswith("data:"):\n            continue  # líneas event: y vacías\n        payload = line[len("data:"):].strip()\n        if payload == "[DONE]":\n            break  # el final del stream de OpenAI: no es JSON\n        events.append(json.loads(payload))\n    return events',
    "measure() returned {got!r}; expected a dict with the keys 'first_token' and 'total'.":
        "measure() devolvió {got!r}; se esperaba un dict con las claves 'first_token' y 'total'.",
    'both times should be floats, in seconds (time.perf_counter() differences).':
        'los dos tiempos deben ser floats, en segundos (diferencias de time.perf_counter()).',
    'the stream carried no text; try again.':
        'el stream no trajo texto; inténtalo de nuevo.',
    'the server took {hang} s to answer and measure() reported first_token={v:.3f} s: the clock started after the request was sent. Start it (start = time.perf_counter()) before calling create(...).':
        'el servidor tardó {hang} s en responder y measure() dio first_token={v:.3f} s: el reloj arrancó después de enviar la petición. Arráncalo (start = time.perf_counter()) antes de llamar a create(...).',
    'when create() returned: with stream=True, create() returns as soon as the response headers arrive, before any text':
        'cuando volvió create(): con stream=True, create() vuelve en cuanto llegan las cabeceras de la respuesta, antes de ningún texto',
    "at the first chunk, which carries only the role ('assistant') and no text":
        "en el primer chunk, que solo trae el rol ('assistant') y ningún texto",
    'first_token was {first:.3f} s but the first text arrived {v:.3f} s after the request: the clock stopped {where}. Stop it in the loop, at the first chunk whose choices[0].delta.content is not empty.':
        'first_token fue {first:.3f} s, pero el primer texto llegó {v:.3f} s después de la petición: el reloj paró {where}. Páralo dentro del bucle, en el primer chunk cuyo choices[0].delta.content no esté vacío.',
    'first_token came out shorter than the wait for the first text: start the clock just before create(...), and stop it at the first chunk with text.':
        'first_token salió más corto que la espera del primer texto: arranca el reloj justo antes de create(...) y páralo en el primer chunk con texto.',
    'first_token was {first:.3f} s, later than the second chunk with text ({v:.3f} s): keep the time of the first chunk with text only (if first is None: first = ...).':
        'first_token fue {first:.3f} s, más tarde que el segundo chunk con texto ({v:.3f} s): guarda solo el tiempo del primer chunk con texto (if first is None: first = ...).',
    'total was {total:.3f} s, but the stream ended {v:.3f} s after the request and the call took {v2:.3f} s: stop the clock after the loop.':
        'total fue {total:.3f} s, pero el stream terminó {v:.3f} s después de la petición y la llamada duró {v2:.3f} s: para el reloj después del bucle.',
    'first_token ({first:.3f} s) is larger than total ({total:.3f} s).':
        'first_token ({first:.3f} s) es mayor que total ({total:.3f} s).',
    'first text after {first:.2f} s of a slow stream (the role-only chunk came before it), {total:.2f} s in all: the clock started before the request.':
        'primer texto a los {first:.2f} s de un stream lento (el chunk con solo el rol llegó antes), {total:.2f} s en total: el reloj arrancó antes de la petición.',
    'start = time.perf_counter() before create(...); at the first chunk with text, first = time.perf_counter() - start; after the loop, total = time.perf_counter() - start.':
        'start = time.perf_counter() antes de create(...); en el primer chunk con texto, first = time.perf_counter() - start; después del bucle, total = time.perf_counter() - start.',
    'import time\n\ndef measure(client, question):\n    start = time.perf_counter()\n    first = None\n    stream = client.chat.completions.create(\n        model="gpt-4o-mini", messages=[{"role": "user", "content": question}], stream=True\n    )\n    for chunk in stream:\n        if first is None and chunk.choices and chunk.choices[0].delta.content:\n            first = time.perf_counter() - start\n    total = time.perf_counter() - start\n    return {"first_token": first if first is not None else total, "total": total}':
        'import time\n\ndef measure(client, question):\n    start = time.perf_counter()  # antes de la petición\n    first = None\n    stream = client.chat.completions.create(\n        model="gpt-4o-mini", messages=[{"role": "user", "content": question}], stream=True\n    )\n    for chunk in stream:\n        if first is None and chunk.choices and chunk.choices[0].delta.content:\n            first = time.perf_counter() - start  # el primer chunk con texto\n    total = time.perf_counter() - start\n    return {"first_token": first if first is not None else total, "total": total}',
    'claude_stream() should return all the text of the stream joined: iterate over stream.text_stream.':
        'claude_stream() debe devolver todo el texto del stream unido: recorre stream.text_stream.',
    "what was printed differs from the text: print each piece of text_stream with end=''.":
        "lo impreso no coincide con el texto: imprime cada trozo de text_stream con end=''.",
    'messages.stream(...) as a context manager, its text printed as it came and returned joined.':
        'messages.stream(...) como gestor de contexto, su texto impreso según llegaba y devuelto unido.',
    'with client.messages.stream(model=..., max_tokens=..., messages=[...]) as stream: for text in stream.text_stream: ...':
        'with client.messages.stream(model=..., max_tokens=..., messages=[...]) as stream: for text in stream.text_stream: ... (imprime cada trozo y guárdalo para devolverlos unidos).',
    'def claude_stream(client, question):\n    pieces = []\n    with client.messages.stream(\n        model="claude-haiku-4-5", max_tokens=300, messages=[{"role": "user", "content": question}]\n    ) as stream:\n        for text in stream.text_stream:\n            print(text, end="", flush=True)\n            pieces.append(text)\n    print()\n    return "".join(pieces)':
        'def claude_stream(client, question):\n    pieces = []\n    with client.messages.stream(\n        model="claude-haiku-4-5", max_tokens=300, messages=[{"role": "user", "content": question}]\n    ) as stream:  # el gestor de contexto cierra la conexión al salir\n        for text in stream.text_stream:\n            print(text, end="", flush=True)\n            pieces.append(text)\n    print()\n    return "".join(pieces)',
    'your coroutine':
        'tu corrutina',
    'awaiting {why}':
        'al hacer await de {why}',
    '{v}() returned a coroutine: an async call inside it was not awaited. Write `await` before it (stream = await client...create(...)).':
        '{v}() devolvió una corrutina: dentro, a una llamada asíncrona le faltó el await. Escribe `await` delante (stream = await client...create(...)).',
    'your function':
        'tu función',
    'astream should be defined with `async def`, so it can `await` the client.':
        'astream debe definirse con `async def`, para poder hacer `await` al cliente.',
    'astream() should return the streamed pieces joined: `async for chunk in stream`.':
        'astream() debe devolver los trozos del stream unidos: `async for chunk in stream`.',
    'await the create call, then `async for` over the stream.':
        'await de la llamada a create y luego `async for` sobre el stream.',
    'stream = await client.chat.completions.create(..., stream=True); async for chunk in stream: ...':
        'stream = await client.chat.completions.create(..., stream=True); async for chunk in stream: ... (junta los delta.content y devuelve el texto).',
    'async def astream(client, question):\n    stream = await client.chat.completions.create(\n        model="gpt-4o-mini", messages=[{"role": "user", "content": question}], stream=True, temperature=0\n    )\n    pieces = []\n    async for chunk in stream:\n        if chunk.choices and chunk.choices[0].delta.content:\n            pieces.append(chunk.choices[0].delta.content)\n    return "".join(pieces)':
        'async def astream(client, question):\n    stream = await client.chat.completions.create(\n        model="gpt-4o-mini", messages=[{"role": "user", "content": question}], stream=True, temperature=0\n    )\n    pieces = []\n    async for chunk in stream:  # el stream asíncrono se lee con async for\n        if chunk.choices and chunk.choices[0].delta.content:\n            pieces.append(chunk.choices[0].delta.content)\n    return "".join(pieces)',
}
