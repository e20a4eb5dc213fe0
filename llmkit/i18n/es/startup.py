"""Spanish for what setup() shows (llmkit/startup.py, the reasons from llmkit/config.py) and `llmkit doctor`."""

MESSAGES = {
    # setup()'s table
    "llmkit gateway: {url} (offline model {engine})": "pasarela llmkit: {url} (modelo sin conexión {engine})",
    "llmkit gateway: not started (every provider is live)":
        "pasarela llmkit: no iniciada (todos los proveedores están en vivo)",
    "provider": "proveedor",
    "mode": "modo",
    "why": "por qué",
    "live": "en vivo",
    "offline": "sin conexión",
    "keys read from .env (values never shown)": "claves leídas de .env (los valores nunca se muestran)",
    "note: {text}": "nota: {text}",
    "ollama was imported before setup(): its module-level functions keep the old host; "
    "restart the kernel or use ollama.Client()":
        "ollama se importó antes de setup(): sus funciones de módulo conservan el host anterior; "
        "reinicia el kernel o usa ollama.Client()",
    # the reasons (config.decide)
    "a real Ollama answers on {where}": "un Ollama real responde en {where}",
    "no Ollama server on {where}": "no hay servidor Ollama en {where}",
    "{var} is set": "{var} está definida",
    "no {names}": "falta {names}",
    " or ": " o ",
    "offline forced ({how}), though {reason}": "sin conexión forzado ({how}), aunque {reason}",
    # llmkit doctor
    "none found (keys come from the environment only)": "no se encontró (las claves salen solo del entorno)",
    "real Ollama on 127.0.0.1:11434: {state}": "Ollama real en 127.0.0.1:11434: {state}",
    "answers": "responde",
    "not running": "no está en marcha",
    "MISSING": "FALTA",
    " (the network reads the latest {n:,})": " (la red lee los últimos {n:,})",
    "offline model: {name}, {params:,} parameters, context {context:,} tokens{seen}":
        "modelo sin conexión: {name}, {params:,} parámetros, contexto de {context:,} tokens{seen}",
    "offline model: FAILED to load ({error}: {e})": "modelo sin conexión: NO SE PUDO CARGAR ({error}: {e})",
}
