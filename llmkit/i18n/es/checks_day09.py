"""Spanish for llmkit/checks/day09.py (día 9: dentro del modelo)."""

MESSAGES = {
    '{name}() returned None: return the new array (did you forget `return`?).':
        '{name}() devolvió None: devuelve el array nuevo (¿olvidaste el `return`?).',
    '{name}() returned {kind}; expected a numpy array of probabilities.':
        '{name}() devolvió {kind}; se esperaba un array de numpy con probabilidades.',
    '{name}() returned an array of shape {shape}; expected ({n},), one number per token of the vocabulary, at the same positions as the input.':
        '{name}() devolvió un array con forma {shape}; se esperaba ({n},), un número por token del vocabulario, en las mismas posiciones que la entrada.',
    'top_next() returned {kind}; expected a list of (piece, probability) pairs.':
        'top_next() devolvió {kind}; se esperaba una lista de pares (pieza, probabilidad).',
    'asked for k={k}, top_next() returned {n_got} pairs.':
        'con k={k}, top_next() devolvió {n_got} pares.',
    'each item should be a pair (piece, probability); got {item!r}.':
        'cada elemento debe ser un par (pieza, probabilidad); llegó {item!r}.',
    "the first item of each pair should be the token's text, eng.tok.decode([token_id]), not its id (got {piece!r}).":
        'el primer elemento de cada par debe ser el texto del token, eng.tok.decode([token_id]), no su id (llegó {piece!r}).',
    "the first item of each pair should be a string, the token's text; got {piece!r}.":
        'el primer elemento de cada par debe ser un texto, el del token; llegó {piece!r}.',
    'the second item of each pair should be a probability (a float); got {prob!r}.':
        'el segundo elemento de cada par debe ser una probabilidad (un float); llegó {prob!r}.',
    "these are the logits, not probabilities: turn the last position's logits into probabilities with softmax first.":
        'esto son los logits, no probabilidades: convierte antes en probabilidades los logits de la última posición con softmax.',
    'a probability is between 0 and 1; got {v}: apply softmax to the logits.':
        'una probabilidad está entre 0 y 1; llegó {v}: aplica softmax a los logits.',
    'the pairs should be sorted by probability, highest first.':
        'los pares deben ir ordenados por probabilidad, la mayor primero.',
    'these are the probabilities after the FIRST token: the next token is predicted by the logits of the LAST position, logits[-1].':
        'estas son las probabilidades tras el PRIMER token: el siguiente token lo predicen los logits de la ÚLTIMA posición, logits[-1].',
    'for a prompt of {n_ids} tokens, the top-{k} probabilities should be {v}; got {v2}. Use softmax(eng.logits(ids)[-1]) and the k largest values.':
        'para un prompt de {n_ids} tokens, las {k} probabilidades mayores deberían ser {v}; llegó {v2}. Usa softmax(eng.logits(ids)[-1]) y los k valores más grandes.',
    'pair {rank} has the piece {piece!r}; the token with that probability is {v!r} (eng.tok.decode([{j}])).':
        'el par {rank} tiene la pieza {piece!r}; el token con esa probabilidad es {v!r} (eng.tok.decode([{j}])).',
    "the model's {k} most likely next tokens, highest first, each with its probability (softmax of the last position's logits).":
        'los {k} siguientes tokens más probables del modelo, el mayor primero, cada uno con su probabilidad (softmax de los logits de la última posición).',
    'probs = softmax(eng.logits(ids)[-1]); best = np.argsort(-probs)[:k]; then [(eng.tok.decode([int(i)]), float(probs[i])) for i in best].':
        'probs = softmax(eng.logits(ids)[-1]); best = np.argsort(-probs)[:k]; y luego [(eng.tok.decode([int(i)]), float(probs[i])) for i in best].',
    'import numpy as np\nfrom llmkit.engine import get_engine\nfrom llmkit.engine.transformer import softmax\n\neng = get_engine("transformer-v2")\n\ndef top_next(ids, k):\n    probs = softmax(eng.logits(ids)[-1])\n    best = np.argsort(-probs)[:k]\n    return [(eng.tok.decode([int(i)]), float(probs[i])) for i in best]':
        'import numpy as np\nfrom llmkit.engine import get_engine\nfrom llmkit.engine.transformer import softmax\n\neng = get_engine("transformer-v2")\n\ndef top_next(ids, k):\n    probs = softmax(eng.logits(ids)[-1])  # la última posición predice el siguiente token\n    best = np.argsort(-probs)[:k]\n    return [(eng.tok.decode([int(i)]), float(probs[i])) for i in best]',
    'apply_temperature() changed the logits it was given: compute a new array (logits / T makes one) instead of modifying the input in place.':
        'apply_temperature() modificó los logits que recibió: calcula un array nuevo (logits / T ya crea uno) en vez de cambiar la entrada en su sitio.',
    'with logits as large as {v:g} and T={T}, the result holds nan or inf: np.exp overflowed. Subtract the largest value before np.exp (softmax does not change when every logit moves by the same amount).':
        'con logits tan grandes como {v:g} y T={T}, el resultado tiene nan o inf: np.exp se desbordó. Resta el valor más grande antes de np.exp (softmax no cambia si todos los logits se desplazan lo mismo).',
    'at T={T} you multiplied the logits by T: divide them (logits / T), so that a low temperature sharpens the distribution and a high one flattens it.':
        'con T={T} multiplicaste los logits por T: divídelos (logits / T), para que una temperatura baja afile la distribución y una alta la aplane.',
    'at T={T} the result is the plain softmax: the temperature was not used (logits / T).':
        'con T={T} el resultado es el softmax sin más: no se usó la temperatura (logits / T).',
    'at T={T} the result sums to {v:.4g}, not 1: after np.exp, divide by the sum.':
        'con T={T} el resultado suma {v:.4g}, no 1: después de np.exp, divide por la suma.',
    'at T={T} the probabilities differ from softmax(logits / T) (largest expected {v:.4f}, yours {v2:.4f}).':
        'con T={T} las probabilidades no coinciden con softmax(logits / T) (la mayor esperada {v:.4f}, la tuya {v2:.4f}).',
    'softmax(logits / T), numerically safe: T < 1 sharpens the distribution, T > 1 flattens it.':
        'softmax(logits / T), numéricamente seguro: T < 1 afila la distribución, T > 1 la aplana.',
    'z = logits / T; z = z - z.max() (no overflow); e = np.exp(z); return e / e.sum().':
        'z = logits / T; z = z - z.max() (sin desbordamiento); e = np.exp(z); return e / e.sum().',
    'import numpy as np\n\ndef apply_temperature(logits, T):\n    z = np.asarray(logits, dtype=np.float64) / T\n    e = np.exp(z - z.max())\n    return e / e.sum()':
        'import numpy as np\n\ndef apply_temperature(logits, T):\n    z = np.asarray(logits, dtype=np.float64) / T\n    e = np.exp(z - z.max())  # restar el máximo evita el desbordamiento\n    return e / e.sum()',
    'top_p_filter() changed the probabilities it was given: build a new array (np.zeros_like(probs), or probs.copy()) instead.':
        'top_p_filter() modificó las probabilidades que recibió: construye un array nuevo (np.zeros_like(probs), o probs.copy()).',
    'with p={p:g} you kept {n_short} token(s); top-p keeps {n}: also keep the token that takes the running total to p or past it (the smallest set adding up to at least p).':
        'con p={p:g} te quedaste con {n_short} token(s); top-p se queda con {n}: quédate también con el token que lleva la suma acumulada hasta p o más allá (el conjunto más pequeño que suma al menos p).',
    "the right values, in the wrong places: keep each probability at its token's index (zero the others); do not return the sorted array.":
        'los valores correctos, en los sitios equivocados: deja cada probabilidad en el índice de su token (y a cero las demás); no devuelvas el array ordenado.',
    'the right {n} token(s) kept, but they sum to {v:.4g}: divide by their sum so the result is a distribution again.':
        'te quedaste con los {n} token(s) correctos, pero suman {v:.4g}: divide por su suma para que el resultado vuelva a ser una distribución.',
    'with probs={v} and p={p:g}, top-p keeps {n} token(s) (the most likely ones until they add up to at least p), renormalised; you kept {v2} and the result sums to {v3:.4g}.':
        'con probs={v} y p={p:g}, top-p se queda con {n} token(s) (los más probables hasta sumar al menos p), renormalizados; tú te quedaste con {v2} y el resultado suma {v3:.4g}.',
    "the nucleus filter: most likely tokens first, up to and including the one that reaches p, renormalised (at p={p_real:.3f} the model's distribution keeps {kept} tokens).":
        'el filtro de núcleo: los tokens más probables primero, hasta el que alcanza p incluido, renormalizados (con p={p_real:.3f} la distribución del modelo se queda con {kept} tokens).',
    'order = np.argsort(-probs); cum = np.cumsum(probs[order]); n = np.searchsorted(cum, p) + 1; keep = order[:n]; out = np.zeros_like(probs); out[keep] = probs[keep]; return out / out.sum().':
        'order = np.argsort(-probs); cum = np.cumsum(probs[order]); n = np.searchsorted(cum, p) + 1; keep = order[:n]; out = np.zeros_like(probs); out[keep] = probs[keep]; return out / out.sum(). El +1 conserva el token que alcanza p.',
    'import numpy as np\n\ndef top_p_filter(probs, p):\n    order = np.argsort(-probs)\n    cum = np.cumsum(probs[order])\n    n = int(np.searchsorted(cum, p)) + 1\n    keep = order[:n]\n    out = np.zeros_like(probs, dtype=float)\n    out[keep] = probs[keep]\n    return out / out.sum()':
        'import numpy as np\n\ndef top_p_filter(probs, p):\n    order = np.argsort(-probs)\n    cum = np.cumsum(probs[order])\n    n = int(np.searchsorted(cum, p)) + 1  # incluido el token que alcanza p\n    keep = order[:n]\n    out = np.zeros_like(probs, dtype=float)\n    out[keep] = probs[keep]\n    return out / out.sum()',
    '{name}() returned None: return the list of new token ids.':
        '{name}() devolvió None: devuelve la lista de ids de token nuevos.',
    '{name}() returned {kind}; expected a list of token ids (ints).':
        '{name}() devolvió {kind}; se esperaba una lista de ids de token (ints).',
    'greedy() never ran the weights it was given: call forward(w, ..., cache) with the `w` passed in (not eng.logits or another model).':
        'greedy() nunca ejecutó los pesos que recibió: llama a forward(w, ..., cache) con el `w` que se le pasa (no eng.logits ni otro modelo).',
    'return only the new tokens, not the prompt followed by them.':
        'devuelve solo los tokens nuevos, no el prompt seguido de ellos.',
    'stop BEFORE the stop token: when the model picks stop_id ({stop_id}), end the loop without adding it.':
        'para ANTES del token de parada: cuando el modelo elige stop_id ({stop_id}), acaba el bucle sin añadirlo.',
    'token {i} should be {want} ({piece!r}), yours is {got}':
        'el token {i} debería ser {want} ({piece!r}), el tuyo es {got}',
    'expected {want} tokens, got {got}':
        'se esperaban {want} tokens, llegaron {got}',
    'greedy decoding of {n} tokens differs: {why}. Each step picks np.argmax(logits); feed the prompt once, then only the newest token, into the same cache; stop at stop_id or after n tokens.':
        'la decodificación voraz de {n} tokens no coincide: {why}. Cada paso elige np.argmax(logits); pasa el prompt una vez y luego solo el token más nuevo, en la misma caché; para en stop_id o tras n tokens.',
    'the right tokens, but {v} positions went through the model; with a KV cache it takes at most {most}: run the prompt once into a KVCache, then feed only the newest token (forward(w, [token], cache)).':
        'los tokens correctos, pero pasaron {v} posiciones por el modelo; con una caché KV bastan como mucho {most}: pasa el prompt una vez a un KVCache y luego solo el token más nuevo (forward(w, [token], cache)).',
    'greedy decoding on a KV cache: the prompt ran once, then one position per new token ({n_prompt} + {n_x} positions instead of recomputing everything each step).':
        'decodificación voraz con caché KV: el prompt pasó una vez y luego una posición por token nuevo ({n_prompt} + {n_x} posiciones en vez de recalcularlo todo en cada paso).',
    'cache = KVCache(w); logits = forward(w, ids, cache); then n times: t = int(np.argmax(logits)); if t == stop_id: break; out.append(t); logits = forward(w, [t], cache).':
        'cache = KVCache(w); logits = forward(w, ids, cache); y luego n veces: t = int(np.argmax(logits)); if t == stop_id: break; out.append(t); logits = forward(w, [t], cache).',
    'import numpy as np\nfrom llmkit.engine.transformer import KVCache, forward\n\ndef greedy(w, ids, n, stop_id):\n    cache = KVCache(w)\n    logits = forward(w, list(ids), cache)\n    out = []\n    for _ in range(n):\n        token = int(np.argmax(logits))\n        if token == stop_id:\n            break\n        out.append(token)\n        logits = forward(w, [token], cache)\n    return out':
        'import numpy as np\nfrom llmkit.engine.transformer import KVCache, forward\n\ndef greedy(w, ids, n, stop_id):\n    cache = KVCache(w)\n    logits = forward(w, list(ids), cache)  # el prompt, una vez\n    out = []\n    for _ in range(n):\n        token = int(np.argmax(logits))\n        if token == stop_id:\n            break\n        out.append(token)\n        logits = forward(w, [token], cache)  # solo el token nuevo\n    return out',
    'count_params() returned {got!r}; expected a number of parameters (an int).':
        'count_params() devolvió {got!r}; se esperaba un número de parámetros (un int).',
    'k_proj and v_proj have num_key_value_heads × head_dim outputs each (grouped-query attention), not one per query head':
        'k_proj y v_proj tienen num_key_value_heads × head_dim salidas cada una (atención de consultas agrupadas), no una por cabeza de consulta',
    'use head_dim from the config when it is there (q_proj has num_attention_heads × head_dim outputs, which need not equal hidden_size)':
        'usa el head_dim de la config cuando lo tenga (q_proj tiene num_attention_heads × head_dim salidas, que no tienen por qué ser hidden_size)',
    'count the RMSNorm weights too: two per layer and one final, hidden_size each':
        'cuenta también los pesos de RMSNorm: dos por capa y uno final, de hidden_size cada uno',
    'the output layer is a separate vocab_size × hidden_size matrix unless tie_word_embeddings is true':
        'la capa de salida es una matriz aparte de vocab_size × hidden_size, salvo que tie_word_embeddings sea true',
    'the SwiGLU MLP has three matrices (gate, up, down), each hidden_size × intermediate_size':
        'el MLP SwiGLU tiene tres matrices (gate, up, down), cada una de hidden_size × intermediate_size',
    'for {name} you counted {v:,}; expected {want:,}: {why}.':
        'para {name} contaste {v:,}; se esperaban {want:,}: {why}.',
    'for {name} you counted {got:,}; expected {want:,} (embedding + per layer: attention q, k, v, o + MLP gate, up, down + 2 norms; a final norm; an output layer unless tied).':
        'para {name} contaste {got:,}; se esperaban {want:,} (embedding + por capa: atención q, k, v, o + MLP gate, up, down + 2 normas; una norma final; una capa de salida salvo que esté atada).',
    'memory_gb() returned {got!r}; expected a number of gigabytes.':
        'memory_gb() devolvió {got!r}; se esperaba un número de gigabytes.',
    'a GB here is 10**9 bytes (as disk and download sizes are given): divide by 1e9, not 2**30.':
        'aquí un GB son 10**9 bytes (como se dan los tamaños de disco y de descarga): divide por 1e9, no por 2**30.',
    'that is gigaBITS: divide bits by 8 to get bytes per parameter.':
        'eso son gigaBITS: divide los bits por 8 para obtener bytes por parámetro.',
    'memory_gb({n:,}, {bits}) should be {want:.4g} GB (parameters × bits / 8 bytes, in 10**9 bytes); got {got:.4g}.':
        'memory_gb({n:,}, {bits}) debería ser {want:.4g} GB (parámetros × bits / 8 bytes, en unidades de 10**9 bytes); llegó {got:.4g}.',
    'parameters from the config (this model: {n_params:,}, exactly what its weights hold; Llama 3.1 8B: {v:.2f} billion) and their memory: {v2:.1f} GB at 16 bits, {v3:.1f} GB at 4 bits.':
        'parámetros a partir de la config (este modelo: {n_params:,}, exactamente lo que contienen sus pesos; Llama 3.1 8B: {v:.2f} mil millones) y su memoria: {v2:.1f} GB a 16 bits, {v3:.1f} GB a 4 bits.',
    "hd = cfg.get('head_dim') or d // H; KV = cfg.get('num_key_value_heads') or H; attention = d·H·hd (q) + 2·d·KV·hd (k, v) + H·hd·d (o); MLP = 3·d·F; norms 2·d per layer + d; embeddings V·d, twice unless tie_word_embeddings. memory_gb = n_params · bits / 8 / 1e9.":
        "hd = cfg.get('head_dim') or d // H; KV = cfg.get('num_key_value_heads') or H; atención = d·H·hd (q) + 2·d·KV·hd (k, v) + H·hd·d (o); MLP = 3·d·F; normas 2·d por capa + d; embeddings V·d, dos veces salvo tie_word_embeddings. memory_gb = n_params · bits / 8 / 1e9.",
    'def count_params(cfg):\n    d, L, F, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"], cfg["vocab_size"]\n    H = cfg["num_attention_heads"]\n    KV = cfg.get("num_key_value_heads") or H\n    hd = cfg.get("head_dim") or d // H\n    attention = d * H * hd + 2 * d * KV * hd + H * hd * d  # q, k and v, o\n    mlp = 3 * d * F                                         # gate, up, down\n    norms = 2 * d                                           # before attention, before the MLP\n    embeddings = V * d if cfg.get("tie_word_embeddings", False) else 2 * V * d\n    return embeddings + L * (attention + mlp + norms) + d  # + the final norm\n\ndef memory_gb(n_params, bits):\n    return n_params * bits / 8 / 1e9':
        'def count_params(cfg):\n    d, L, F, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"], cfg["vocab_size"]\n    H = cfg["num_attention_heads"]\n    KV = cfg.get("num_key_value_heads") or H\n    hd = cfg.get("head_dim") or d // H\n    attention = d * H * hd + 2 * d * KV * hd + H * hd * d  # q, k y v, o\n    mlp = 3 * d * F                                         # gate, up, down\n    norms = 2 * d                                           # antes de la atención, antes del MLP\n    embeddings = V * d if cfg.get("tie_word_embeddings", False) else 2 * V * d\n    return embeddings + L * (attention + mlp + norms) + d  # + la norma final\n\ndef memory_gb(n_params, bits):\n    return n_params * bits / 8 / 1e9',
}
