"""Tool-use conversations in English and Spanish, generated deterministically (seed 13).

    python llmkit/engine/corpus/tools_gen.py                    # counts per case, language, held out
    python llmkit/engine/corpus/tools_gen.py --out tools.jsonl  # write them as JSON Lines to look at
    python llmkit/engine/corpus/tools_gen.py --varied --records # with the lookup and quote families (stage K)

`corpus.load_tools()` calls `generate()` (a few seconds), so the conversations are not stored in the
repository (4.5 MB, mostly the repeated tool lists). Each row is one conversation in the engine's neutral message format (engine/tools.py renders it
for the model): {"id", "case", "family", "lang", "heldout", "tools": [{name, description,
parameters}], "messages": [...]}. Cases:

- "call": a tool is needed: the assistant's reply is a call whose arguments come from the question;
- "result": the same, then the tool's result, then an answer that uses it ("It is 18 °C in Paris.");
- "error": the tool returned an error: the answer says so;
- "parallel": two calls of one tool in one reply (two cities...), two results, one answer;
- "no_tool": tools are offered but the question (a course question, a greeting) needs none: the
  corpus's own answer;
- "not_offered": the question needs a tool that is not among those offered: the answer says it
  cannot check that.

Every conversation offers 1-4 tools (the needed one among others, in random order), each tool
under one of several names and argument names, so the model learns to read the tool list rather
than memorise one name. Two-number arithmetic is three families (add, subtract, multiply: the Ollama SDK's
add_two_numbers and kin, whose kits are often offered together, so the operation picks the tool); a
calculator is never offered beside them, nor they beside a calculator (either could do the other's work).
A question template is held out (all its conversations) when the CRC32
of its text is 0 mod 5, as corpus.py holds out phrasings: bench/tools.py measures on those.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import zlib
from pathlib import Path

HERE = Path(__file__).parent
SEED = 13
N_CONVERSATIONS = 5200  # 4200 for 13 families; 16 since the two-number arithmetic ones
N_RECORDS_CONVERSATIONS = 8000  # with the 9 lookup and quote families (records=True): the old 16 keep their number

CITIES = [("Paris", "París"), ("London", "Londres"), ("Tokyo", "Tokio"), ("New York", "Nueva York"),
          ("Madrid", "Madrid"), ("Mexico City", "Ciudad de México"), ("Berlin", "Berlín"), ("Rome", "Roma"),
          ("Lisbon", "Lisboa"), ("Buenos Aires", "Buenos Aires"), ("Bogotá", "Bogotá"), ("Lima", "Lima"),
          ("Sydney", "Sídney"), ("Cairo", "El Cairo"), ("Moscow", "Moscú"), ("Beijing", "Pekín"),
          ("Toronto", "Toronto"), ("Chicago", "Chicago"), ("Barcelona", "Barcelona"), ("Seville", "Sevilla"),
          ("Santiago", "Santiago"), ("Montevideo", "Montevideo"), ("Amsterdam", "Ámsterdam"),
          ("Dublin", "Dublín"), ("Oslo", "Oslo"), ("Athens", "Atenas"), ("Istanbul", "Estambul"),
          ("Seoul", "Seúl"), ("Nairobi", "Nairobi"), ("Valencia", "Valencia"), ("Quito", "Quito"),
          ("Vienna", "Viena"), ("Prague", "Praga"), ("Warsaw", "Varsovia"), ("Cusco", "Cuzco")]
FAKE_PLACES = ["Atlantis", "Gotham", "Narnia", "Xanadu", "El Dorado", "Zzyzx Town", "Mordor", "Utopia"]
CONDITIONS = [("sunny", "soleado"), ("cloudy", "nublado"), ("rainy", "lluvioso"), ("clear", "despejado"),
              ("windy", "ventoso"), ("foggy", "con niebla")]
CURRENCIES = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.0, "MXN": 17.1, "CHF": 0.88, "ARS": 870.0,
              "COP": 3900.0, "BRL": 5.0, "CAD": 1.36}
CURRENCY_WORDS = {"en": {"USD": "dollars", "EUR": "euros", "GBP": "pounds", "JPY": "yen", "MXN": "Mexican pesos"},
                  "es": {"USD": "dólares", "EUR": "euros", "GBP": "libras", "JPY": "yenes", "MXN": "pesos mexicanos"}}
PRODUCTS = [("USB-C cable", "cable USB-C"), ("blue mug", "taza azul"), ("wireless mouse", "ratón inalámbrico"),
            ("laptop stand", "soporte para portátil"), ("notebook", "cuaderno"), ("HDMI adapter", "adaptador HDMI"),
            ("desk lamp", "lámpara de escritorio"), ("mechanical keyboard", "teclado mecánico"),
            ("water bottle", "botella de agua"), ("headphones", "auriculares"), ("webcam", "cámara web"),
            ("phone charger", "cargador de móvil")]
COUNTRIES = [("Spain", "España", 48_600_000), ("Mexico", "México", 129_700_000), ("Argentina", "Argentina", 46_200_000),
             ("France", "Francia", 68_300_000), ("Japan", "Japón", 124_500_000), ("Colombia", "Colombia", 52_300_000),
             ("Chile", "Chile", 19_600_000), ("Peru", "Perú", 34_400_000), ("Germany", "Alemania", 84_500_000),
             ("Canada", "Canadá", 40_100_000), ("Portugal", "Portugal", 10_600_000), ("Uruguay", "Uruguay", 3_400_000)]
SYMBOLS = [("AAPL", 189.5), ("MSFT", 415.2), ("NVDA", 121.8), ("GOOGL", 171.3), ("AMZN", 185.6), ("TSLA", 248.1),
           ("META", 502.4), ("IBM", 183.9)]
PEOPLE = ["Ana", "Luis", "Maria", "John", "Sofia", "Carlos", "Emma", "Pedro", "Lucia", "Tom", "Elena", "Diego"]
MESSAGES = [("the meeting moved to 5 pm", "la reunión pasa a las 5"), ("I'll be ten minutes late", "llegaré diez minutos tarde"),
            ("the report is ready", "el informe está listo"), ("lunch is at noon", "la comida es a mediodía"),
            ("call me when you can", "llámame cuando puedas"), ("the demo works", "la demo funciona")]
REMINDERS = [("call mom", "llamar a mamá", "18:00"), ("buy milk", "comprar leche", "09:30"),
             ("submit the homework", "entregar los deberes", "20:00"), ("water the plants", "regar las plantas", "07:15"),
             ("check the API bill", "revisar la factura de la API", "12:00"), ("stretch", "estirarme", "16:45")]
TEXTS = ["Hello world", "How are you today?", "Tokens are pieces of text", "Streaming sends tokens as they come",
         "The quick brown fox", "Hola mundo", "¿Qué tal estás?", "Large language models predict the next token"]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-20250514", "gemini-2.0-flash", "llama3.1"]
UNITS = [("km", "mi", 0.621371, "kilometers", "miles", "kilómetros", "millas"),
         ("mi", "km", 1.609344, "miles", "kilometers", "millas", "kilómetros"),
         ("kg", "lb", 2.204623, "kilograms", "pounds", "kilos", "libras"),
         ("lb", "kg", 0.453592, "pounds", "kilograms", "libras", "kilos"),
         ("m", "ft", 3.28084, "meters", "feet", "metros", "pies"),
         ("l", "gal", 0.264172, "liters", "gallons", "litros", "galones")]
DISTANCES = {}  # filled deterministically from the city names


def S(props: dict, required=None) -> dict:
    return {"type": "object", "properties": props, "required": list(required if required is not None else props)}


STR, NUM, INT = {"type": "string"}, {"type": "number"}, {"type": "integer"}
# the properties the Ollama SDK writes for `def add_two_numbers(a: int, b: int)` with a docstring's Args
FIRST, SECOND = ({"type": "integer", "description": "The first number"},
                 {"type": "integer", "description": "The second number"})
ARITH = ("add", "subtract", "multiply")  # two-number tools, one family per operation
MATH = set(ARITH) | {"calculator"}  # families that overlap: never offered beside one another but by operation

# family -> tool variants: (name, description, argument names in order, schema properties)
# the argument names are the family's slots in order; each variant renames them.


def variants() -> dict[str, list[dict]]:
    unit = {"type": "string", "enum": ["celsius", "fahrenheit"]}
    return {
        "weather": [
            dict(name="get_weather", desc="Get the current weather in a city.", args=["city"], props=[STR]),
            dict(name="get_current_weather", desc="Get the current weather in a given location",
                 args=["location", "unit"], props=[STR, unit]),
            dict(name="weather_now", desc="Current temperature and sky for a city.", args=["city"], props=[STR]),
            dict(name="obtener_clima", desc="Devuelve el tiempo actual en una ciudad.", args=["ciudad"], props=[STR]),
        ],
        "currency": [
            dict(name="convert_currency", desc="Convert an amount of money from one currency to another.",
                 args=["amount", "from_currency", "to_currency"], props=[NUM, STR, STR]),
            dict(name="currency_converter", desc="Converts money between currencies (ISO codes like USD, EUR).",
                 args=["amount", "from", "to"], props=[NUM, STR, STR]),
            dict(name="exchange", desc="Exchange rate conversion.", args=["value", "source", "target"], props=[NUM, STR, STR]),
        ],
        "calculator": [
            dict(name="calculator", desc="Evaluate an arithmetic expression.", args=["expression"], props=[STR]),
            dict(name="calculate", desc="Do exact math: + - * / and parentheses.", args=["expression"], props=[STR]),
            dict(name="evaluate_math", desc="Compute the value of a math expression.", args=["expr"], props=[STR]),
            dict(name="calculate", desc="Evaluate a mathematical expression", args=["expression"],  # Groq's docs
                 props=[{"type": "string", "description": "The mathematical expression to evaluate"}]),
        ],
        # "kit": the variants of one kit (add_two_numbers, subtract_two_numbers...) are offered together
        "add": [
            dict(name="add_two_numbers", desc="Add two numbers", args=["a", "b"], props=[FIRST, SECOND], kit="ollama"),
            dict(name="add", desc="Add two integers.", args=["x", "y"], props=[INT, INT], kit="xy"),
            dict(name="sum_numbers", desc="Return the sum of two numbers.", args=["num1", "num2"], props=[INT, INT], kit="num"),
            dict(name="sumar", desc="Suma dos números enteros.", args=["a", "b"], props=[INT, INT], kit="es"),
        ],
        "subtract": [
            dict(name="subtract_two_numbers", desc="Subtract two numbers", args=["a", "b"], props=[FIRST, SECOND],
                 kit="ollama"),
            dict(name="subtract", desc="Subtract y from x.", args=["x", "y"], props=[INT, INT], kit="xy"),
            dict(name="difference", desc="The first number minus the second.", args=["num1", "num2"], props=[INT, INT],
                 kit="num"),
            dict(name="restar", desc="Resta b de a.", args=["a", "b"], props=[INT, INT], kit="es"),
        ],
        "multiply": [
            dict(name="multiply_two_numbers", desc="Multiply two numbers", args=["a", "b"], props=[FIRST, SECOND],
                 kit="ollama"),
            dict(name="multiply", desc="Multiply two integers.", args=["x", "y"], props=[INT, INT], kit="xy"),
            dict(name="product", desc="The product of two numbers.", args=["num1", "num2"], props=[INT, INT], kit="num"),
            dict(name="multiplicar", desc="Multiplica dos números enteros.", args=["a", "b"], props=[INT, INT], kit="es"),
        ],
        "time": [
            dict(name="get_time", desc="Current local time in a city.", args=["city"], props=[STR]),
            dict(name="get_current_time", desc="Get the current time in a given location", args=["location"], props=[STR]),
            dict(name="hora_local", desc="Hora actual en una ciudad.", args=["ciudad"], props=[STR]),
        ],
        "glossary": [
            dict(name="lookup_glossary", desc="Look up a term in the course glossary.", args=["term"], props=[STR]),
            dict(name="search_glossary", desc="Search the LLM API course glossary for a definition.", args=["query"], props=[STR]),
            dict(name="glossary", desc="Definitions from the course glossary.", args=["term"], props=[STR]),
        ],
        "stock": [
            dict(name="check_stock", desc="How many units of a product are in stock.", args=["product"], props=[STR]),
            dict(name="get_inventory", desc="Inventory level of an item in the shop.", args=["item"], props=[STR]),
            dict(name="stock_level", desc="Units left of a product in the warehouse.", args=["product_name"], props=[STR]),
        ],
        "tokens": [
            dict(name="count_tokens", desc="Count the tokens of a text for a model.", args=["text", "model"], props=[STR, STR]),
            dict(name="token_count", desc="Number of tokens in a text.", args=["text", "model"], props=[STR, STR]),
        ],
        "message": [
            dict(name="send_message", desc="Send a short message to a contact.", args=["recipient", "text"], props=[STR, STR]),
            dict(name="notify", desc="Notify a person with a message.", args=["to", "message"], props=[STR, STR]),
        ],
        "distance": [
            dict(name="get_distance", desc="Distance by road between two cities in km.", args=["origin", "destination"], props=[STR, STR]),
            dict(name="distance_between", desc="How far apart two cities are (km).", args=["from_city", "to_city"], props=[STR, STR]),
        ],
        "units": [
            dict(name="convert_units", desc="Convert a quantity between units (km, mi, kg, lb, m, ft, l, gal).",
                 args=["value", "from_unit", "to_unit"], props=[NUM, STR, STR]),
            dict(name="unit_converter", desc="Unit conversion.", args=["quantity", "from", "to"], props=[NUM, STR, STR]),
        ],
        "population": [
            dict(name="get_population", desc="Population of a country.", args=["country"], props=[STR]),
            dict(name="country_population", desc="How many people live in a country.", args=["country_name"], props=[STR]),
        ],
        "reminder": [
            dict(name="set_reminder", desc="Create a reminder at a time of day (HH:MM).", args=["text", "time"], props=[STR, STR]),
            dict(name="create_reminder", desc="Remind the user of something at a given time.", args=["what", "at"], props=[STR, STR]),
        ],
        "price": [
            dict(name="get_stock_price", desc="Latest share price of a company by ticker symbol.", args=["symbol"], props=[STR]),
            dict(name="stock_quote", desc="Current stock market quote for a ticker (e.g. AAPL).", args=["ticker"], props=[STR]),
        ],
    }


def spec_of(v: dict) -> dict:
    props = {a: dict(p) for a, p in zip(v["args"], v["props"])}
    return {"name": v["name"], "description": v["desc"], "parameters": S(props)}


# Question templates per family and language; {slots} filled by the family's sampler. A template
# whose crc32 is 0 mod 5 is held out.
Q = {
    "weather": {
        "en": ["What's the weather like in {city}?", "How hot is it in {city} right now?", "weather in {city}",
               "Is it raining in {city}?", "What's the temperature in {city}?", "Tell me the current weather in {city}.",
               "Should I take a jacket in {city} today?", "how's the weather in {city} today"],
        "es": ["¿Qué tiempo hace en {city}?", "¿Cuánta temperatura hace en {city}?", "clima en {city}",
               "¿Está lloviendo en {city}?", "Dime el tiempo actual en {city}.", "¿Hace frío en {city} ahora?",
               "¿Cómo está el clima en {city} hoy?"],
    },
    "currency": {
        "en": ["How much is {amount} {src} in {dst}?", "Convert {amount} {src} to {dst}.", "{amount} {src} to {dst}",
               "What is {amount} {src} worth in {dst}?", "Can you change {amount} {src} into {dst}?",
               "I have {amount} {src}. How many {dst} is that?"],
        "es": ["¿Cuánto son {amount} {src} en {dst}?", "Convierte {amount} {src} a {dst}.", "{amount} {src} a {dst}",
               "¿Cuántos {dst} son {amount} {src}?", "Tengo {amount} {src}, ¿cuánto es en {dst}?"],
    },
    "calculator": {
        "en": ["What is {expr}?", "Calculate {expr}.", "compute {expr}", "How much is {expr}?", "Can you work out {expr}?",
               "{expr} = ?"],
        "es": ["¿Cuánto es {expr}?", "Calcula {expr}.", "calcula {expr} por favor", "¿Me resuelves {expr}?",
               "Resultado de {expr}"],
    },
    # {a} {b}: the numbers as digits or words (Sampler._arith); {x} {y}: always digits (beside a symbol)
    "add": {
        "en": ["What is {a} plus {b}?", "What is {x} + {y}?", "Add {a} and {b}.", "How much is {a} plus {b}?",
               "What's the sum of {a} and {b}?", "{x} + {y} = ?", "Can you add {a} and {b} for me?", "{a} plus {b}",
               "What do you get if you add {a} and {b}?"],
        "es": ["¿Cuánto es {a} más {b}?", "¿Cuánto es {x} + {y}?", "Suma {a} y {b}.", "¿Cuánto da {a} más {b}?",
               "¿Cuál es la suma de {a} y {b}?", "{x} + {y} = ?", "¿Me sumas {a} y {b}?", "{a} más {b}"],
    },
    "subtract": {
        "en": ["What is {a} minus {b}?", "What is {x} - {y}?", "How much is {a} minus {b}?", "Subtract {b} from {a}.",
               "What's {a} take away {b}?", "{x} - {y} = ?", "Can you subtract {b} from {a}?", "{a} minus {b}",
               "What do you get if you subtract {b} from {a}?"],
        "es": ["¿Cuánto es {a} menos {b}?", "¿Cuánto es {x} - {y}?", "Resta {b} a {a}.", "¿Cuánto da {a} menos {b}?",
               "Réstale {b} a {a}.", "{x} - {y} = ?", "¿Me restas {b} a {a}?", "{a} menos {b}"],
    },
    "multiply": {
        "en": ["What is {a} times {b}?", "What is {x} * {y}?", "Multiply {a} by {b}.", "How much is {a} times {b}?",
               "What's the product of {a} and {b}?", "{x} x {y} = ?", "Can you multiply {a} by {b}?",
               "{a} multiplied by {b}"],
        "es": ["¿Cuánto es {a} por {b}?", "¿Cuánto es {x} * {y}?", "Multiplica {a} por {b}.", "¿Cuánto da {a} por {b}?",
               "¿Cuál es el producto de {a} y {b}?", "{x} x {y} = ?", "¿Me multiplicas {a} por {b}?",
               "{a} multiplicado por {b}"],
    },
    "time": {
        "en": ["What time is it in {city}?", "Current time in {city}?", "time in {city}", "What's the local time in {city} now?",
               "Tell me the time in {city}."],
        "es": ["¿Qué hora es en {city}?", "Hora actual en {city}", "hora en {city}", "¿Qué hora tienen ahora en {city}?",
               "Dime la hora en {city}."],
    },
    "glossary": {
        "en": ["Look up '{term}' in the course glossary.", "What does the glossary say about {term}?",
               "Check the glossary for {term}.", "glossary entry for {term}", "Find {term} in the course glossary, please.",
               "glossary: {term}", "Search the glossary for {term}."],
        "es": ["Busca '{term}' en el glosario del curso.", "¿Qué dice el glosario sobre {term}?",
               "Consulta el glosario: {term}", "entrada del glosario para {term}", "Mira en el glosario qué es {term}.",
               "Según el glosario, ¿qué es {term}?", "Busca {term} en el glosario."],
    },
    "stock": {
        "en": ["How many {product}s do we have in stock?", "Is the {product} in stock?", "stock of {product}",
               "Check the inventory for the {product}.", "Do we still have any {product} left?"],
        "es": ["¿Cuántas unidades de {product} hay en stock?", "¿Queda {product} en el almacén?", "stock de {product}",
               "Revisa el inventario de {product}.", "¿Tenemos {product} disponible?"],
    },
    "tokens": {
        "en": ["How many tokens is \"{text}\" for {model}?", "Count the tokens in \"{text}\" with {model}.",
               "token count of \"{text}\" ({model})", "For {model}, how long in tokens is \"{text}\"?"],
        "es": ["¿Cuántos tokens tiene \"{text}\" en {model}?", "Cuenta los tokens de \"{text}\" con {model}.",
               "tokens de \"{text}\" ({model})", "Para {model}, ¿cuántos tokens ocupa \"{text}\"?"],
    },
    "message": {
        "en": ["Tell {person} that {msg}.", "Send a message to {person}: {msg}.", "Message {person} saying {msg}.",
               "Let {person} know {msg}."],
        "es": ["Dile a {person} que {msg}.", "Envía un mensaje a {person}: {msg}.", "Mándale a {person} que {msg}.",
               "Avisa a {person} de que {msg}."],
    },
    "distance": {
        "en": ["How far is {a} from {b}?", "Distance between {a} and {b}?", "How many km from {a} to {b}?",
               "{a} to {b} distance"],
        "es": ["¿A qué distancia está {a} de {b}?", "Distancia entre {a} y {b}", "¿Cuántos km hay de {a} a {b}?",
               "distancia {a} {b}"],
    },
    "units": {
        "en": ["How many {to_w} is {value} {from_w}?", "Convert {value} {from_w} to {to_w}.", "{value} {from_u} in {to_u}",
               "What is {value} {from_w} in {to_w}?"],
        "es": ["¿Cuántas {to_w} son {value} {from_w}?", "Convierte {value} {from_w} a {to_w}.", "{value} {from_u} en {to_u}",
               "Pasa {value} {from_w} a {to_w}."],
    },
    "population": {
        "en": ["What is the population of {country}?", "How many people live in {country}?", "population of {country}",
               "How big is the population of {country} today?"],
        "es": ["¿Cuál es la población de {country}?", "¿Cuántos habitantes tiene {country}?", "población de {country}",
               "¿Cuánta gente vive en {country}?"],
    },
    "reminder": {
        "en": ["Remind me to {what} at {time}.", "Set a reminder at {time} to {what}.", "reminder: {what} at {time}",
               "Can you remind me at {time} to {what}?"],
        "es": ["Recuérdame {what} a las {time}.", "Pon un recordatorio a las {time} para {what}.",
               "recordatorio: {what} a las {time}", "¿Me recuerdas a las {time} {what}?"],
    },
    "price": {
        "en": ["What's the stock price of {symbol}?", "How much is {symbol} trading at?", "{symbol} share price",
               "Give me the latest quote for {symbol}."],
        "es": ["¿A cuánto cotiza {symbol}?", "¿Cuál es el precio de la acción de {symbol}?", "precio de {symbol}",
               "Dame la última cotización de {symbol}."],
    },
}

# What the model says it cannot check, when the needed tool is not offered (case "not_offered").
CANNOT = {
    "weather": ("the weather", "el tiempo"), "currency": ("exchange rates", "los tipos de cambio"),
    "calculator": ("calculations", "cálculos"), "time": ("the time", "la hora"),
    "glossary": ("the glossary", "el glosario"), "stock": ("the inventory", "el inventario"),
    "tokens": ("token counts", "el recuento de tokens"), "message": ("sending messages", "enviar mensajes"),
    "distance": ("distances", "distancias"), "units": ("unit conversions", "conversiones de unidades"),
    "population": ("population figures", "datos de población"), "reminder": ("reminders", "recordatorios"),
    "price": ("share prices", "cotizaciones de bolsa"),
    "add": ("addition", "sumas"), "subtract": ("subtraction", "restas"),
    "multiply": ("multiplication", "multiplicaciones"),
}

_EN = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
       "seventeen eighteen nineteen").split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_ES = ("cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciséis "
       "diecisiete dieciocho diecinueve veinte veintiuno veintidós veintitrés veinticuatro veinticinco "
       "veintiséis veintisiete veintiocho veintinueve").split()
_ES_TENS = "_ _ veinte treinta cuarenta cincuenta sesenta setenta ochenta noventa".split()


def words(n: int, lang: str) -> str:
    """0-100 in words: "twenty-three", "veintitrés", "cuarenta y dos"."""
    if n == 100:
        return "one hundred" if lang == "en" else "cien"
    if lang == "en":
        return _EN[n] if n < 20 else _EN_TENS[n // 10] + ("" if n % 10 == 0 else "-" + _EN[n % 10])
    return _ES[n] if n < 30 else _ES_TENS[n // 10] + ("" if n % 10 == 0 else " y " + _ES[n % 10])


# the operation as the answer says it: (symbol, English word, Spanish word)
OPS = {"add": ("+", "plus", "más"), "subtract": ("-", "minus", "menos"), "multiply": ("*", "times", "por")}


def _fmt(x: float) -> str:
    """A number as the result JSON has it and the answer repeats it."""
    return json.dumps(x)


def _round(x: float) -> float | int:
    r = round(x, 2)
    return int(r) if r == int(r) and abs(r) < 1e15 else r


def _glossary(lang: str) -> list[tuple[str, str]]:
    rows = []
    for line in (HERE / "glossary.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            if r.get("lang", "en") == lang:
                first = r["definition"].split(". ")[0].rstrip(".") + "."
                rows.append((r["term"], first))
    return rows


class Sampler:
    """Slots for a question, the call's arguments (by slot), the result and the answer, per family."""

    def __init__(self, rng: random.Random, varied: bool = False):
        self.rng = rng
        self.varied = varied
        self.gloss = {lang: _glossary(lang) for lang in ("en", "es")}

    def case(self, family: str, lang: str, error: bool) -> dict:
        """{"slots": for the question, "args": slot values in the tool's argument order,
        "result": dict or str, "answer": str}."""
        c = getattr(self, family)(lang, error)
        if self.varied and not error and self.rng.random() < 0.6:
            c = self._vary(family, lang, c)
        return c

    def _vary(self, family: str, lang: str, c: dict) -> dict:
        """The same fact as other people's tools return it: other key names, fields left out
        (the city only in the question), plain strings, Fahrenheit. The answer says what the
        result says, and takes from the question what the result leaves out."""
        r, res, en = self.rng, c["result"], lang == "en"
        if family == "weather":
            city, t, cond = res["city"], res["temperature"], res["condition"]
            ces = dict(CONDITIONS)[cond]
            k = r.randrange(6)
            if k == 0:  # the OpenAI cookbook's shape: location, temperature as a string, unit
                out = {"location": city, "temperature": str(t), "unit": "celsius"}
            elif k == 1:
                out = {"temperature": t, "unit": "C"}
            elif k == 2:
                out = {"temp_c": t, "conditions": cond}
            elif k == 3:
                out = f"{t} °C, {cond}" if r.random() < 0.5 else f"{cond}, {t}°C"
            elif k == 4:
                out = f"{t}°C"
            else:
                f = round(t * 9 / 5 + 32)
                out = {"location": city, "temperature": f, "unit": "fahrenheit"}
                ans = f"It is {f} °F in {city}." if en else f"En {city} hace {f} °F."
                return dict(c, result=out, answer=ans)
            if k in (0, 1, 4):
                ans = f"It is {t} °C in {city}." if en else f"En {city} hace {t} °C."
            else:
                ans = f"It is {t} °C and {cond} in {city}." if en else f"En {city} hace {t} °C y está {ces}."
            return dict(c, result=out, answer=ans)
        if family == "time":
            hhmm = res["time"]
            out = r.choice([{"time": hhmm}, hhmm, {"local_time": hhmm, "timezone": "local"}])
            return dict(c, result=out)
        if family == "stock":
            n = res["in_stock"]
            return dict(c, result=r.choice([{"in_stock": n}, {"quantity": n}, {"available": n}]))
        if family == "price":
            p = res["price"]
            return dict(c, result=r.choice([{"price": p}, f"{_fmt(p)} USD", {"last": p, "currency": "USD"}]))
        if family == "distance":
            km = res["km"]
            return dict(c, result=r.choice([{"distance_km": km}, f"{km} km", {"distance": km, "unit": "km"}]))
        if family == "population":
            return dict(c, result=r.choice([{"population": res["population"]}, str(res["population"])]))
        if family in ARITH:  # the Ollama SDK's examples send str(the function's return value)
            v = res["result"]
            return dict(c, result=r.choice([str(v), str(v), {"value": v}, {"answer": v}]))
        if family == "calculator":
            v = res["result"]
            return dict(c, result=r.choice([_fmt(v), {"value": v}, {"answer": v}]))
        if family == "currency":
            v = res["result"]
            return dict(c, result=r.choice([{"converted": v, "currency": res["to"]}, f"{_fmt(v)} {res['to']}"]))
        if family == "units":
            return dict(c, result=r.choice([f"{_fmt(res['value'])} {res['unit']}", {"result": res["value"]}]))
        return c

    def _city(self, lang):
        en, es = self.rng.choice(CITIES)
        return en if lang == "en" else es

    def weather(self, lang, error):
        r = self.rng
        city = r.choice(FAKE_PLACES) if error else self._city(lang)
        if error:
            msg = f"unknown city: {city}" if r.random() < 0.7 else "weather service unavailable"
            ans = (f"Sorry, I couldn't get the weather for {city}: the service said \"{msg}\"." if lang == "en" else
                   f"Lo siento, no pude obtener el tiempo de {city}: el servicio respondió \"{msg}\".")
            return dict(slots={"city": city}, args=[city, "celsius"], result={"error": msg}, answer=ans)
        t = r.randint(-5, 36)
        cen, ces = r.choice(CONDITIONS)
        res = {"city": city, "temperature": t, "unit": "celsius", "condition": cen}
        ans = (f"It is {t} °C and {cen} in {city}." if lang == "en" else f"En {city} hace {t} °C y está {ces}.")
        return dict(slots={"city": city}, args=[city, "celsius"], result=res, answer=ans)

    def currency(self, lang, error):
        r = self.rng
        amount = r.choice([5, 10, 20, 25, 50, 75, 100, 150, 200, 250, 300, 500, 1000, 1200, 2500, 40, 60, 80])
        src, dst = r.sample(sorted(CURRENCIES), 2)
        if error:
            dst = r.choice(["XYZ", "BTCX", "ABC", "QQQ"])
        words = CURRENCY_WORDS[lang]
        use_words = r.random() < 0.3 and src in words and dst in words
        slots = {"amount": amount, "src": words[src] if use_words else src, "dst": words[dst] if use_words else dst}
        if error:
            msg = f"unsupported currency: {dst}"
            ans = (f"The conversion failed: the tool said \"{msg}\". Check the currency code." if lang == "en" else
                   f"La conversión falló: la herramienta respondió \"{msg}\". Revisa el código de la moneda.")
            return dict(slots=slots, args=[amount, src, dst], result={"error": msg}, answer=ans)
        value = _round(amount / CURRENCIES[src] * CURRENCIES[dst])
        res = {"amount": amount, "from": src, "to": dst, "result": value}
        ans = (f"{amount} {src} is {_fmt(value)} {dst}." if lang == "en" else f"{amount} {src} son {_fmt(value)} {dst}.")
        return dict(slots=slots, args=[amount, src, dst], result=res, answer=ans)

    def calculator(self, lang, error):
        r = self.rng
        a, b = r.randint(2, 999), r.randint(2, 99)
        op = r.choice(["+", "-", "*", "/", "*", "+"])
        if error:
            op, b = "/", 0
        expr = f"{a} {op} {b}"
        if r.random() < 0.35 and not error:  # three numbers: "(a + b) * c", Groq's docs' "25 * 4 + 10"...
            c, k = r.randint(2, 9), r.randrange(4)
            expr = (f"({a} + {b}) * {c}" if k == 0 else f"{r.randint(2, 99)} * {c} + {b}" if k == 1 else
                    f"{a} + {b} * {c}" if k == 2 else f"{a} - {b} + {c}")
        if error:
            msg = "division by zero"
            ans = (f"The calculator returned an error: {msg}. {expr} has no result." if lang == "en" else
                   f"La calculadora devolvió un error: {msg}. {expr} no tiene resultado.")
            return dict(slots={"expr": expr}, args=[expr], result={"error": msg}, answer=ans)
        value = _round(eval(expr))  # noqa: S307 -- our own arithmetic strings
        ans = (f"{expr} = {_fmt(value)}." if lang == "en" else f"{expr} = {_fmt(value)}.")
        if r.random() < 0.5:
            ans = f"The result is {_fmt(value)}." if lang == "en" else f"El resultado es {_fmt(value)}."
        return dict(slots={"expr": expr}, args=[expr], result={"result": value}, answer=ans)

    def _arith(self, family, lang, error):
        """Two integers; the question's {a} {b} as digits or (below 101) words, its {x} {y} as digits;
        the answer "3 + 1 = 4." with digits, "Three plus one is 4." with words."""
        r = self.rng
        in_words = r.random() < 0.4
        if family == "multiply":
            a = r.choice([r.randint(2, 20), r.choice(range(20, 101, 10))]) if in_words else r.randint(2, 120)
            b = r.randint(2, 12) if in_words else r.randint(2, 99)
        else:
            hi = 100 if in_words else r.choice([20, 100, 1000, 10000])
            a, b = r.randint(0 if hi > 20 else 1, hi), r.randint(1, hi)
            if family == "subtract" and r.random() < 0.8 and a < b:
                a, b = b, a
        sym, wen, wes = OPS[family]
        value = a + b if family == "add" else a - b if family == "subtract" else a * b
        wa, wb = (words(a, lang), words(b, lang)) if in_words else (str(a), str(b))
        pair = f"{wa} {wen if lang == 'en' else wes} {wb}"
        digits = f"{a} {sym} {b} = {value}."
        if in_words:
            verb = "is" if lang == "en" else "es" if abs(value) == 1 else "son"
            ans = f"{pair[0].upper()}{pair[1:]} {verb} {value}."
        else:
            ans = digits
        slots = {"pair": pair, "a": wa, "b": wb, "x": a, "y": b}
        if error:
            msg = r.choice(["tool execution failed: timeout", "service unavailable", "Function not found"])
            ans = (f"I couldn't compute it: the tool said \"{msg}\"." if lang == "en" else
                   f"No pude calcularlo: la herramienta respondió \"{msg}\".")
            return dict(slots=slots, args=[a, b], result={"error": msg}, answer=ans, answer_digits=ans)
        return dict(slots=slots, args=[a, b], result={"result": value}, answer=ans, answer_digits=digits)

    def add(self, lang, error):
        return self._arith("add", lang, error)

    def subtract(self, lang, error):
        return self._arith("subtract", lang, error)

    def multiply(self, lang, error):
        return self._arith("multiply", lang, error)

    def time(self, lang, error):
        r = self.rng
        city = r.choice(FAKE_PLACES) if error else self._city(lang)
        if error:
            msg = f"no time zone known for {city}"
            ans = (f"I couldn't get the time in {city}: the tool said \"{msg}\"." if lang == "en" else
                   f"No pude obtener la hora de {city}: la herramienta respondió \"{msg}\".")
            return dict(slots={"city": city}, args=[city], result={"error": msg}, answer=ans)
        hhmm = f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}"
        ans = f"It is {hhmm} in {city}." if lang == "en" else f"En {city} son las {hhmm}."
        return dict(slots={"city": city}, args=[city], result={"city": city, "time": hhmm}, answer=ans)

    def glossary(self, lang, error):
        r = self.rng
        if error:
            term = r.choice(["flibbertigibbet", "quantum tokenizer", "hyperprompt", "megastream", "zorp"])
            msg = f"term not found: {term}"
            ans = (f"The glossary has no entry for \"{term}\"." if lang == "en" else
                   f"El glosario no tiene ninguna entrada para \"{term}\".")
            return dict(slots={"term": term}, args=[term], result={"error": msg}, answer=ans)
        term, definition = r.choice(self.gloss[lang])
        ans = (f"The course glossary says: {definition}" if lang == "en" else f"Según el glosario del curso: {definition}")
        return dict(slots={"term": term}, args=[term], result={"term": term, "definition": definition}, answer=ans)

    def stock(self, lang, error):
        r = self.rng
        pen, pes = r.choice(PRODUCTS)
        p = pen if lang == "en" else pes
        if error:
            msg = "inventory database timeout"
            ans = (f"I couldn't check the stock of {p}: the inventory said \"{msg}\". Try again later." if lang == "en" else
                   f"No pude consultar el stock de {p}: el inventario respondió \"{msg}\". Inténtalo más tarde.")
            return dict(slots={"product": p}, args=[p], result={"error": msg}, answer=ans)
        n = r.choice([0, 0, 1, 2, 3, 5, 8, 12, 17, 24, 37, 40, 56, 99, 120, 250])
        res = {"product": p, "in_stock": n}
        if n == 0:
            ans = f"The {p} is out of stock." if lang == "en" else f"No queda stock de {p}."
        else:
            ans = (f"There are {n} units of {p} in stock." if lang == "en" else f"Hay {n} unidades de {p} en stock.")
        return dict(slots={"product": p}, args=[p], result=res, answer=ans)

    def tokens(self, lang, error):
        r = self.rng
        text, model = r.choice(TEXTS), r.choice(MODELS)
        if error:
            model = r.choice(["gpt-9", "my-model", "llama-99b"])
            msg = f"unknown model: {model}"
            ans = (f"I couldn't count the tokens: the tool said \"{msg}\"." if lang == "en" else
                   f"No pude contar los tokens: la herramienta respondió \"{msg}\".")
            return dict(slots={"text": text, "model": model}, args=[text, model], result={"error": msg}, answer=ans)
        n = max(1, round(len(text) / 4.2) + r.randint(0, 2))
        ans = (f"\"{text}\" is {n} tokens for {model}." if lang == "en" else f"\"{text}\" ocupa {n} tokens en {model}.")
        return dict(slots={"text": text, "model": model}, args=[text, model], result={"tokens": n, "model": model}, answer=ans)

    def message(self, lang, error):
        r = self.rng
        person = r.choice(["Zed", "Mr. Nobody", "Xyz"]) if error else r.choice(PEOPLE)
        men, mes = r.choice(MESSAGES)
        msg_text = men if lang == "en" else mes
        if error:
            err = f"unknown recipient: {person}"
            ans = (f"The message was not sent: the tool said \"{err}\"." if lang == "en" else
                   f"El mensaje no se envió: la herramienta respondió \"{err}\".")
            return dict(slots={"person": person, "msg": msg_text}, args=[person, msg_text], result={"error": err}, answer=ans)
        ans = (f"Done: I sent your message to {person}." if lang == "en" else f"Hecho: le envié tu mensaje a {person}.")
        return dict(slots={"person": person, "msg": msg_text}, args=[person, msg_text], result={"status": "sent"}, answer=ans)

    def distance(self, lang, error):
        r = self.rng
        (a_en, a_es), (b_en, b_es) = r.sample(CITIES, 2)
        a, b = (a_en, b_en) if lang == "en" else (a_es, b_es)
        if error:
            b = r.choice(FAKE_PLACES)
            msg = f"no route to {b}"
            ans = (f"I couldn't find the distance: the tool said \"{msg}\"." if lang == "en" else
                   f"No encontré la distancia: la herramienta respondió \"{msg}\".")
            return dict(slots={"a": a, "b": b}, args=[a, b], result={"error": msg}, answer=ans)
        km = 50 + zlib.crc32(f"{min(a_en, b_en)}|{max(a_en, b_en)}".encode()) % 9000
        ans = (f"The distance from {a} to {b} is {km} km." if lang == "en" else f"La distancia de {a} a {b} es de {km} km.")
        return dict(slots={"a": a, "b": b}, args=[a, b], result={"km": km}, answer=ans)

    def units(self, lang, error):
        r = self.rng
        fu, tu, f, fen, ten, fes, tes = r.choice(UNITS)
        value = r.choice([1, 2, 3, 5, 10, 12, 20, 42, 50, 100])
        slots = {"value": value, "from_u": fu, "to_u": tu, "from_w": fen if lang == "en" else fes,
                 "to_w": ten if lang == "en" else tes}
        if error:
            msg = "conversion service unavailable"
            ans = (f"The conversion failed: the tool said \"{msg}\"." if lang == "en" else
                   f"La conversión falló: la herramienta respondió \"{msg}\".")
            return dict(slots=slots, args=[value, fu, tu], result={"error": msg}, answer=ans)
        out = _round(value * f)
        ans = f"{value} {fu} is {_fmt(out)} {tu}." if lang == "en" else f"{value} {fu} son {_fmt(out)} {tu}."
        return dict(slots=slots, args=[value, fu, tu], result={"value": out, "unit": tu}, answer=ans)

    def population(self, lang, error):
        r = self.rng
        en, es, n = r.choice(COUNTRIES)
        c = en if lang == "en" else es
        if error:
            c = r.choice(["Wakanda", "Freedonia", "Ruritania"])
            msg = f"unknown country: {c}"
            ans = (f"I couldn't find that: the tool said \"{msg}\"." if lang == "en" else
                   f"No lo encontré: la herramienta respondió \"{msg}\".")
            return dict(slots={"country": c}, args=[c], result={"error": msg}, answer=ans)
        ans = (f"{c} has a population of about {n}." if lang == "en" else f"{c} tiene unos {n} habitantes.")  # copied as written
        return dict(slots={"country": c}, args=[c], result={"country": c, "population": n}, answer=ans)

    def reminder(self, lang, error):
        r = self.rng
        wen, wes, t = r.choice(REMINDERS)
        what = wen if lang == "en" else wes
        if error:
            msg = "reminder service unavailable"
            ans = (f"I couldn't set the reminder: the tool said \"{msg}\"." if lang == "en" else
                   f"No pude crear el recordatorio: la herramienta respondió \"{msg}\".")
            return dict(slots={"what": what, "time": t}, args=[what, t], result={"error": msg}, answer=ans)
        ans = (f"OK, I'll remind you to {what} at {t}." if lang == "en" else f"Hecho, te recordaré {what} a las {t}.")
        return dict(slots={"what": what, "time": t}, args=[what, t], result={"status": "created", "time": t}, answer=ans)

    def price(self, lang, error):
        r = self.rng
        sym, p = r.choice(SYMBOLS)
        if error:
            sym = r.choice(["ZZZZ", "FAKE", "NOPE"])
            msg = f"unknown symbol: {sym}"
            ans = (f"I couldn't get a quote: the tool said \"{msg}\"." if lang == "en" else
                   f"No pude obtener la cotización: la herramienta respondió \"{msg}\".")
            return dict(slots={"symbol": sym}, args=[sym], result={"error": msg}, answer=ans)
        price = _round(p * (1 + r.uniform(-0.05, 0.05)))
        ans = (f"{sym} is trading at {_fmt(price)} USD." if lang == "en" else f"{sym} cotiza a {_fmt(price)} USD.")
        return dict(slots={"symbol": sym}, args=[sym], result={"symbol": sym, "price": price, "currency": "USD"}, answer=ans)


# -- records and quotes (`generate(records=True)`, v3's stage K) -------------------------------------
# "lookup" families: the tool returns a record of several fields and the question asks for one of them,
# so the answer has to pick that field and say it in a sentence (a real API's JSON is rarely one value);
# "quote" families: a name and two numbers in one question, in either order, each number named by its
# role ("2000 input and 500 output tokens", "3 days and 400 km"), so the arguments are bound by role,
# not by position. Several answer forms per field, so no one template is the answer to all.
BOOKS = [("Don Quixote", "Don Quijote", "Miguel de Cervantes", 1605),
         ("One Hundred Years of Solitude", "Cien años de soledad", "Gabriel García Márquez", 1967),
         ("Pride and Prejudice", "Orgullo y prejuicio", "Jane Austen", 1813), ("1984", "1984", "George Orwell", 1949),
         ("The Little Prince", "El principito", "Antoine de Saint-Exupéry", 1943),
         ("Frankenstein", "Frankenstein", "Mary Shelley", 1818), ("Moby-Dick", "Moby Dick", "Herman Melville", 1851),
         ("The Hobbit", "El hobbit", "J. R. R. Tolkien", 1937), ("Dracula", "Drácula", "Bram Stoker", 1897),
         ("Hopscotch", "Rayuela", "Julio Cortázar", 1963), ("Ficciones", "Ficciones", "Jorge Luis Borges", 1944)]
# country, capital (en, es), currency code, area in km² (the population is COUNTRIES')
COUNTRY_FACTS = {"Spain": ("Madrid", "Madrid", "EUR", 505_990), "Mexico": ("Mexico City", "Ciudad de México", "MXN", 1_964_375),
                 "Argentina": ("Buenos Aires", "Buenos Aires", "ARS", 2_780_400), "France": ("Paris", "París", "EUR", 551_695),
                 "Japan": ("Tokyo", "Tokio", "JPY", 377_975), "Colombia": ("Bogotá", "Bogotá", "COP", 1_141_748),
                 "Chile": ("Santiago", "Santiago", "CLP", 756_102), "Peru": ("Lima", "Lima", "PEN", 1_285_216),
                 "Germany": ("Berlin", "Berlín", "EUR", 357_588), "Canada": ("Ottawa", "Ottawa", "CAD", 9_984_670),
                 "Portugal": ("Lisbon", "Lisboa", "EUR", 92_212), "Uruguay": ("Montevideo", "Montevideo", "UYU", 176_215)}
AIRLINES = ["IB", "AA", "LH", "AM", "AV", "BA", "UX", "LA", "AF", "DL"]
FLIGHT_STATUS = [("on time", "a tiempo"), ("delayed", "retrasado"), ("boarding", "embarcando"), ("cancelled", "cancelado"),
                 ("landed", "aterrizado")]
# the Spanish product names' articles ("auriculares" is plural: left out of product_info's answers)
ARTICLE = {"cable USB-C": "el", "taza azul": "la", "ratón inalámbrico": "el", "soporte para portátil": "el", "cuaderno": "el",
           "adaptador HDMI": "el", "lámpara de escritorio": "la", "teclado mecánico": "el", "botella de agua": "la",
           "cámara web": "la", "cargador de móvil": "el"}
CARS = ["Fiat 500", "Toyota Corolla", "Tesla Model 3", "VW Golf", "Seat Ibiza", "Renault Clio", "Ford Focus", "Kia Picanto"]
# model -> (context window, input and output USD per million tokens): made-up list prices for the tool results
MODEL_SPECS = {"gpt-4o": (128_000, 2.5, 10), "gpt-4o-mini": (128_000, 0.15, 0.6), "claude-sonnet-4-20250514": (200_000, 3, 15),
               "gemini-2.0-flash": (1_048_576, 0.1, 0.4), "llama3.1": (131_072, 0.05, 0.08), "mistral-small": (32_000, 0.2, 0.6),
               "claude-3-haiku": (200_000, 0.25, 1.25), "o3-mini": (200_000, 1.1, 4.4)}


def _entity(name: str, keys: list[str], en: str, es: str) -> dict:
    return {"name": name, "keys": keys, "en": en, "es": es}


# family -> {"entity": the result's key(s) for the thing looked up, "fields": {field: (result key names,
# question templates en, es, answer templates en, es)}}; {e} the thing, {v} the value
LOOKUPS = {
    "product_info": {"keys": ["name", "product", "item"], "fields": {
        "price": (["price_usd", "price", "unit_price"],
                  ["How much does the {e} cost?", "What's the price of the {e}?", "price of the {e}?",
                   "How much is one {e}?", "Tell me what the {e} costs."],
                  ["¿Cuánto cuesta {e}?", "¿Qué precio tiene {e}?", "precio de {e}", "Dime cuánto vale {e}."],
                  ["The {e} costs {v} USD.", "It costs {v} USD.", "The price of the {e} is {v} USD.", "{v} USD."],
                  ["{e} cuesta {v} USD.", "Cuesta {v} USD.", "Su precio es de {v} USD."]),
        "weight": (["weight_kg", "weight", "kg"],
                   ["How heavy is the {e}?", "What does the {e} weigh?", "weight of the {e}?", "How much does the {e} weigh?"],
                   ["¿Cuánto pesa {e}?", "¿Qué peso tiene {e}?", "peso de {e}"],
                   ["The {e} weighs {v} kg.", "It weighs {v} kg.", "{v} kg."],
                   ["{e} pesa {v} kg.", "Pesa {v} kg."]),
        "rating": (["rating", "stars", "avg_rating"],
                   ["What rating does the {e} have?", "How well rated is the {e}?", "rating of the {e}?"],
                   ["¿Qué valoración tiene {e}?", "¿Cuántas estrellas tiene {e}?", "valoración de {e}"],
                   ["The {e} is rated {v} out of 5.", "It has a rating of {v}.", "{v} stars out of 5."],
                   ["{e} tiene una valoración de {v} sobre 5.", "Tiene {v} estrellas de 5."]),
    }},
    "country_info": {"keys": ["country", "name"], "fields": {
        "capital": (["capital", "capital_city"],
                    ["What is the capital of {e}?", "capital of {e}?", "Which city is the capital of {e}?",
                     "Tell me the capital of {e}."],
                    ["¿Cuál es la capital de {e}?", "capital de {e}", "¿Qué ciudad es la capital de {e}?"],
                    ["The capital of {e} is {v}.", "{v} is the capital of {e}.", "It is {v}."],
                    ["La capital de {e} es {v}.", "{v} es la capital de {e}.", "Es {v}."]),
        "currency": (["currency", "currency_code"],
                     ["What currency does {e} use?", "currency of {e}?", "Which money do they use in {e}?"],
                     ["¿Qué moneda se usa en {e}?", "moneda de {e}", "¿Cuál es la moneda de {e}?"],
                     ["{e} uses {v}.", "The currency of {e} is {v}.", "They pay in {v}."],
                     ["En {e} se usa {v}.", "La moneda de {e} es {v}."]),
        "area": (["area_km2", "area", "surface_km2"],
                 ["How big is {e} in square kilometers?", "What is the area of {e}?", "area of {e}?"],
                 ["¿Qué superficie tiene {e}?", "¿Cuál es el área de {e}?", "superficie de {e}"],
                 ["{e} covers {v} km².", "The area of {e} is {v} km².", "{v} km²."],
                 ["{e} tiene una superficie de {v} km².", "El área de {e} es de {v} km²."]),
        "population": (["population", "inhabitants"],
                       ["How many people live in {e}?", "population of {e}?", "What is the population of {e}?"],
                       ["¿Cuántos habitantes tiene {e}?", "población de {e}", "¿Cuánta gente vive en {e}?"],
                       ["{e} has {v} inhabitants.", "About {v} people live in {e}.", "{v} people."],
                       ["{e} tiene {v} habitantes.", "En {e} viven unos {v} habitantes."]),
    }},
    "book_info": {"keys": ["title", "book"], "fields": {
        "author": (["author", "written_by", "writer"],
                   ["Who wrote {e}?", "author of {e}?", "Who is the author of {e}?", "Tell me who wrote {e}."],
                   ["¿Quién escribió {e}?", "autor de {e}", "¿Quién es el autor de {e}?"],
                   ["{e} was written by {v}.", "{v} wrote it.", "The author is {v}."],
                   ["{e} lo escribió {v}.", "Lo escribió {v}.", "El autor es {v}."]),
        "year": (["year", "published", "first_published"],
                 ["When was {e} published?", "What year did {e} come out?", "publication year of {e}?"],
                 ["¿Cuándo se publicó {e}?", "¿En qué año salió {e}?", "año de publicación de {e}"],
                 ["{e} was published in {v}.", "It came out in {v}.", "In {v}."],
                 ["{e} se publicó en {v}.", "Salió en {v}.", "En {v}."]),
    }},
    "flight_info": {"keys": ["flight", "flight_number"], "fields": {
        "status": (["status", "state"],
                   ["What is the status of flight {e}?", "Is flight {e} on time?", "status of {e}?", "How is flight {e} doing?"],
                   ["¿Cómo va el vuelo {e}?", "¿Llega a tiempo el vuelo {e}?", "estado del vuelo {e}"],
                   ["Flight {e} is {v}.", "It is {v}.", "{e}: {v}."],
                   ["El vuelo {e} está {v}.", "Está {v}."]),
        "gate": (["gate", "departure_gate"],
                 ["Which gate does flight {e} leave from?", "gate of flight {e}?", "What gate is {e} at?"],
                 ["¿De qué puerta sale el vuelo {e}?", "puerta del vuelo {e}", "¿En qué puerta embarca el {e}?"],
                 ["Flight {e} leaves from gate {v}.", "Gate {v}.", "It boards at gate {v}."],
                 ["El vuelo {e} sale de la puerta {v}.", "Puerta {v}.", "Embarca por la puerta {v}."]),
        "departure": (["departure", "departs_at", "scheduled"],
                      ["When does flight {e} leave?", "departure time of {e}?", "What time does flight {e} take off?"],
                      ["¿A qué hora sale el vuelo {e}?", "hora de salida del vuelo {e}", "¿Cuándo despega el {e}?"],
                      ["Flight {e} leaves at {v}.", "It departs at {v}.", "At {v}."],
                      ["El vuelo {e} sale a las {v}.", "Sale a las {v}.", "A las {v}."]),
    }},
    "model_info": {"keys": ["model", "id"], "fields": {
        "context": (["context_window", "context_tokens", "max_context", "context_length"],
                    ["What is the context window of {e}?", "How many tokens fit in {e}'s context?", "context length of {e}?",
                     "How long a prompt can {e} take?"],
                    ["¿Cuál es la ventana de contexto de {e}?", "¿Cuántos tokens caben en el contexto de {e}?",
                     "contexto de {e}"],
                    ["{e} has a context window of {v} tokens.", "Its context holds {v} tokens.", "{v} tokens."],
                    ["{e} tiene una ventana de contexto de {v} tokens.", "Su contexto admite {v} tokens.", "{v} tokens."]),
        "input_price": (["input_price_per_mtok", "input_cost_per_million", "usd_per_1m_input", "prompt_price"],
                        ["How much does {e} charge per million input tokens?", "input price of {e}?",
                         "What do input tokens cost on {e}?", "price per million prompt tokens for {e}?"],
                        ["¿Cuánto cobra {e} por millón de tokens de entrada?", "precio de entrada de {e}",
                         "¿Cuánto cuestan los tokens de entrada en {e}?"],
                        ["{e} costs {v} USD per million input tokens.", "Input tokens cost {v} USD per million.",
                         "{v} USD per million input tokens."],
                        ["{e} cuesta {v} USD por millón de tokens de entrada.",
                         "Los tokens de entrada cuestan {v} USD por millón."]),
        "output_price": (["output_price_per_mtok", "output_cost_per_million", "usd_per_1m_output", "completion_price"],
                         ["How much does {e} charge per million output tokens?", "output price of {e}?",
                          "What do output tokens cost on {e}?"],
                         ["¿Cuánto cobra {e} por millón de tokens de salida?", "precio de salida de {e}",
                          "¿Cuánto cuestan los tokens de salida en {e}?"],
                         ["{e} costs {v} USD per million output tokens.", "Output tokens cost {v} USD per million.",
                          "{v} USD per million output tokens."],
                         ["{e} cuesta {v} USD por millón de tokens de salida.",
                          "Los tokens de salida cuestan {v} USD por millón."]),
    }},
}
# quote families: the question's {a} and {b} are the two numbers' roles; the templates name them in either order
QUOTES = {
    "shipping": (["How much does it cost to ship {b} parcels of {a} kg to {e}?", "Shipping {a} kg in {b} parcels to {e}: how much?",
                  "What would {b} packages weighing {a} kg each cost to send to {e}?", "Price to send {b} boxes of {a} kg to {e}?",
                  "Send {a} kg to {e} in {b} parcels. What's the cost?"],
                 ["¿Cuánto cuesta enviar {b} paquetes de {a} kg a {e}?", "Envío a {e}: {a} kg en {b} paquetes, ¿cuánto sale?",
                  "¿Qué precio tiene mandar {b} cajas de {a} kg a {e}?", "Manda {a} kg a {e} en {b} paquetes: ¿cuánto cuesta?"],
                 ["Shipping {b} parcels of {a} kg to {e} costs {v} EUR.", "It costs {v} EUR.", "The shipping comes to {v} EUR."],
                 ["Enviar {b} paquetes de {a} kg a {e} cuesta {v} EUR.", "Cuesta {v} EUR.", "El envío sale por {v} EUR."]),
    "rental": (["How much to rent a {e} for {a} days and {b} km?", "Quote me a {e}: {b} km over {a} days.",
                "What does a {e} cost for {a} days if I drive {b} km?", "Rent a {e}, {b} kilometers, {a} days: price?",
                "I'll drive {b} km in a {e} for {a} days. How much is that?"],
               ["¿Cuánto cuesta alquilar un {e} {a} días y {b} km?", "Presupuesto de un {e}: {b} km en {a} días.",
                "¿Qué me cuesta un {e} durante {a} días si hago {b} km?", "Alquiler de un {e}, {b} kilómetros, {a} días: ¿precio?"],
               ["Renting a {e} for {a} days and {b} km costs {v} EUR.", "That rental is {v} EUR.", "It comes to {v} EUR."],
               ["Alquilar un {e} {a} días y {b} km cuesta {v} EUR.", "El alquiler sale por {v} EUR.", "Son {v} EUR."]),
    "order": (["What do {a} {e} units cost with a {b}% discount?", "Total for {a} x {e} at {b}% off?",
               "With {b}% off, how much are {a} of the {e}?", "I want {a} of the {e} with a {b} percent discount. How much?",
               "Price of {a} {e} units, discount {b}%?"],
              ["¿Cuánto cuestan {a} unidades de {e} con un {b}% de descuento?", "Con un {b}% de descuento, ¿cuánto son {a} {e}?",
               "Total de {a} x {e} con {b}% de descuento", "Quiero {a} {e} con un descuento del {b}%. ¿Cuánto es?"],
              ["{a} units of {e} with {b}% off cost {v} USD.", "The total is {v} USD.", "That comes to {v} USD."],
              ["{a} unidades de {e} con un {b}% de descuento cuestan {v} USD.", "El total es {v} USD.", "Son {v} USD."]),
    "request_cost": (["How much would {e} charge for {a} input tokens and {b} output tokens?",
                      "Cost of a {e} request with {a} prompt tokens and {b} completion tokens?",
                      "{e}: {b} output tokens and {a} input tokens, what's the price?",
                      "Estimate the cost of {a} tokens in and {b} tokens out on {e}.",
                      "What does {e} cost for {b} output and {a} input tokens?",
                      "price of {a} input + {b} output tokens with {e}"],
                     ["¿Cuánto costaría {e} con {a} tokens de entrada y {b} de salida?",
                      "Coste de {e} para {b} tokens de salida y {a} de entrada",
                      "¿Qué precio tienen {a} tokens de entrada y {b} de salida en {e}?",
                      "Calcula lo que cuestan {a} tokens de entrada y {b} de salida con {e}."],
                     ["{a} input and {b} output tokens on {e} cost {v} USD.", "That request costs {v} USD.",
                      "It would cost {v} USD on {e}."],
                     ["{a} tokens de entrada y {b} de salida en {e} cuestan {v} USD.", "Esa petición cuesta {v} USD.",
                      "Costaría {v} USD con {e}."]),
}
RECORD_VARIANTS = {
    "product_info": [dict(name="get_product", desc="Details of a product in the shop catalog.", args=["name"], props=[STR]),
                     dict(name="product_details", desc="Price, weight, rating and stock of a product.", args=["product"], props=[STR]),
                     dict(name="buscar_producto", desc="Ficha de un producto del catálogo.", args=["producto"], props=[STR])],
    "country_info": [dict(name="country_info", desc="Facts about a country: capital, currency, area, population.",
                          args=["country"], props=[STR]),
                     dict(name="get_country", desc="Look up a country.", args=["name"], props=[STR]),
                     dict(name="datos_pais", desc="Datos de un país.", args=["pais"], props=[STR])],
    "book_info": [dict(name="get_book", desc="Look up a book by its title.", args=["title"], props=[STR]),
                  dict(name="book_lookup", desc="Author and year of a book.", args=["title"], props=[STR]),
                  dict(name="buscar_libro", desc="Busca un libro por su título.", args=["titulo"], props=[STR])],
    "flight_info": [dict(name="flight_status", desc="Status, gate and departure time of a flight.", args=["flight"], props=[STR]),
                    dict(name="get_flight", desc="Look up a flight by number (e.g. IB3170).", args=["flight_number"], props=[STR]),
                    dict(name="estado_vuelo", desc="Estado de un vuelo.", args=["vuelo"], props=[STR])],
    "model_info": [dict(name="model_info", desc="Context window and list prices of an LLM.", args=["model"], props=[STR]),
                   dict(name="get_model_specs", desc="Specs of a language model: context length, prices per million tokens.",
                        args=["model_id"], props=[{"type": "string", "description": "a model id, such as gpt-4o"}])],
    "shipping": [dict(name="shipping_cost", desc="Cost of sending parcels to a city.", args=["destination", "weight_kg", "parcels"],
                      props=[STR, NUM, INT]),
                 dict(name="quote_shipping", desc="Shipping quote.", args=["city", "kg", "count"], props=[STR, NUM, INT]),
                 dict(name="coste_envio", desc="Precio de un envío.", args=["destino", "peso_kg", "paquetes"], props=[STR, NUM, INT])],
    "rental": [dict(name="rental_quote", desc="Price of renting a car.", args=["car", "days", "km"], props=[STR, INT, INT]),
               dict(name="car_rental_price", desc="Car rental quote by model, days and distance.",
                    args=["model", "days", "distance_km"], props=[STR, INT, INT])],
    "order": [dict(name="order_total", desc="Total price of an order with a discount.",
                   args=["product", "quantity", "discount_percent"], props=[STR, INT, NUM]),
              dict(name="calcular_pedido", desc="Total de un pedido con descuento.", args=["producto", "cantidad", "descuento"],
                   props=[STR, INT, NUM])],
    "request_cost": [dict(name="request_cost", desc="Cost in USD of an LLM request.", args=["model", "input_tokens", "output_tokens"],
                          props=[STR, INT, INT]),
                     dict(name="price_request", desc="What a request costs for a model, by token counts.",
                          args=["model_name", "prompt_tokens", "completion_tokens"], props=[STR, INT, INT]),
                     dict(name="coste_peticion", desc="Coste de una petición a un modelo.",
                          args=["modelo", "tokens_entrada", "tokens_salida"], props=[STR, INT, INT])],
}
UNKNOWN = {"product_info": ["Zorblax 9000", "golden toaster", "hoverboard X"], "country_info": ["Atlantis", "Wakanda", "Freedonia"],
           "book_info": ["The Unwritten Book", "Necronomicon II"], "flight_info": ["XX0000", "ZZ9999", "QQ123"],
           "model_info": ["gpt-7-mega", "llama-99b", "my-model-7"], "shipping": ["Atlantis", "Narnia", "Gotham"],
           "rental": ["Batmobile", "DeLorean 3000"], "order": ["Zorblax 9000", "golden toaster"],
           "request_cost": ["gpt-7-mega", "llama-99b", "my-model-7"]}  # what the error cases ask about
OVERLAP = {"population": ("country_info",), "country_info": ("population",)}  # never offered beside each other
RECORD_CANNOT = {"product_info": ("the product catalog", "el catálogo de productos"),
                 "country_info": ("country facts", "datos de países"), "book_info": ("books", "libros"),
                 "flight_info": ("flights", "vuelos"), "model_info": ("model specs", "las fichas de modelos"),
                 "shipping": ("shipping prices", "precios de envío"), "rental": ("car rentals", "alquileres de coches"),
                 "order": ("order totals", "totales de pedidos"), "request_cost": ("request costs", "costes de peticiones")}


class RecordSampler:
    """Cases of the lookup and quote families: the same dict as Sampler.case, plus "templates", the
    question templates that fit the field asked (generate() picks one of them)."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def case(self, family: str, lang: str, error: bool) -> dict:
        return self.quote(family, lang, error) if family in QUOTES else self.lookup(family, lang, error)

    def _record(self, family: str, lang: str) -> tuple[str, dict]:
        """(the thing as the question names it, {field: value as the answer says it})."""
        r, en = self.rng, lang == "en"
        if family == "product_info":
            pen, pes = r.choice([p for p in PRODUCTS if p[1] in ARTICLE])
            return (pen if en else pes), {"price": r.choice([4.99, 9.5, 12, 15.9, 19.99, 24.9, 39, 49.99, 89, 129.5]),
                                          "weight": r.choice([0.1, 0.25, 0.4, 0.8, 1.2, 2.5, 3]),
                                          "rating": r.choice([3.6, 3.9, 4.1, 4.4, 4.5, 4.7, 4.9])}
        if family == "country_info":
            cen, ces, pop = r.choice(COUNTRIES)
            cap_en, cap_es, cur, area = COUNTRY_FACTS[cen]
            return (cen if en else ces), {"capital": cap_en if en else cap_es, "currency": cur, "area": area, "population": pop}
        if family == "book_info":
            ten, tes, author, year = r.choice(BOOKS)
            return (ten if en else tes), {"author": author, "year": year}
        if family == "flight_info":
            st_en, st_es = r.choice(FLIGHT_STATUS)
            num = f"{r.choice(AIRLINES)}{r.randint(10, 9999)}"
            return num, {"status": st_en if en else st_es, "gate": f"{r.choice('ABCDEFGHKM')}{r.randint(1, 60)}",
                         "departure": f"{r.randint(5, 23):02d}:{r.choice(range(0, 60, 5)):02d}", "_status_en": st_en}
        model = r.choice(sorted(MODEL_SPECS))
        ctx, pin, pout = MODEL_SPECS[model]
        return model, {"context": ctx, "input_price": pin, "output_price": pout}

    def lookup(self, family: str, lang: str, error: bool) -> dict:
        r, spec, en = self.rng, LOOKUPS[family], lang == "en"
        thing, values = self._record(family, lang)
        said = f"{ARTICLE[thing]} {thing}" if family == "product_info" and not en else thing  # "la taza azul"
        fields = [f for f in spec["fields"] if f in values]
        field = r.choice(fields)
        keys, q_en, q_es, a_en, a_es = spec["fields"][field]
        templates = q_en if en else q_es
        if error:
            thing = said = r.choice(UNKNOWN[family])
            msg = r.choice([f"not found: {thing}", f"no record for '{thing}'", "service unavailable"])
            ans = (f"I couldn't look that up: the tool said \"{msg}\"." if en else
                   f"No pude consultarlo: la herramienta respondió \"{msg}\".")
            return dict(slots={"e": said}, args=[thing], result={"error": msg}, answer=ans, templates=templates)
        rec = {r.choice(spec["keys"]): thing}
        for f in fields:  # every field, most of the time: the answer must pick the one asked
            if f == field or r.random() < 0.8:
                k = r.choice(spec["fields"][f][0])
                v = values[f]
                rec[k] = values["_status_en"] if f == "status" and r.random() < 0.5 else v
        shown = values[field]
        if field == "status" and rec.get(next(k for k in keys if k in rec)) == values["_status_en"]:
            shown = values["status"]  # the answer says the status in the question's language
        v = _fmt(shown) if isinstance(shown, float) else shown
        ans = r.choice(a_en if en else a_es).format(e=said, v=v)
        return dict(slots={"e": said}, args=[thing], result=rec, answer=ans[0].upper() + ans[1:], templates=templates)

    def quote(self, family: str, lang: str, error: bool) -> dict:
        r, en = self.rng, lang == "en"
        q_en, q_es, a_en, a_es = QUOTES[family]
        if family == "shipping":
            thing = CITIES[r.randrange(len(CITIES))][0 if en else 1]
            a, b = r.choice([0.5, 1, 2, 3, 4, 5, 8, 10, 12, 20]), r.randint(1, 12)
            v = _round(b * (4.5 + 1.2 * a) * (1 + len(thing) % 3 * 0.25))
        elif family == "rental":
            thing = r.choice(CARS)
            a, b = r.randint(1, 21), r.choice([80, 150, 200, 300, 450, 600, 900, 1200, 2000])
            v = _round(a * 39 + b * 0.12)
        elif family == "order":
            thing = r.choice(PRODUCTS)[0 if en else 1]
            a, b = r.randint(2, 40), r.choice([5, 10, 12, 15, 20, 25, 30, 40, 50])
            v = _round(a * 12.5 * (100 - b) / 100)
        else:
            thing = r.choice(sorted(MODEL_SPECS))
            _, pin, pout = MODEL_SPECS[thing]
            a, b = r.choice([120, 500, 800, 1000, 1500, 2000, 3000, 5000, 10000, 40000]), r.choice([50, 100, 200, 300, 500, 800, 1000, 2000, 4000])
            while (a * pin + b * pout) / 1e6 < 1e-4:  # no "1e-05 USD"
                a *= 10
            v = round((a * pin + b * pout) / 1e6, 6)
        slots = {"e": thing, "a": _fmt(a) if isinstance(a, float) else a, "b": b}
        templates = q_en if en else q_es
        if error:
            thing = slots["e"] = r.choice(UNKNOWN[family])
            msg = r.choice([f"unknown: {thing}", "pricing service unavailable"])
            ans = (f"I couldn't get a price: the tool said \"{msg}\"." if en else
                   f"No pude obtener el precio: la herramienta respondió \"{msg}\".")
            return dict(slots=slots, args=[thing, a, b], result={"error": msg}, answer=ans, templates=templates)
        key = r.choice(["total", "cost", "price"] if family != "request_cost" else ["cost_usd", "usd", "total_usd"])
        res = {key: v} if r.random() < 0.6 else {"currency": "USD" if family in ("order", "request_cost") else "EUR", key: v}
        ans = r.choice(a_en if en else a_es).format(e=thing, a=slots["a"], b=b, v=_fmt(v) if isinstance(v, float) else v)
        return dict(slots=slots, args=[thing, a, b], result=res, answer=ans, templates=templates)


PARALLEL = {  # families whose question can ask for two at once: (template en, template es, answer joiners)
    "weather": ("What's the weather in {a} and in {b}?", "¿Qué tiempo hace en {a} y en {b}?"),
    "time": ("What time is it in {a} and in {b}?", "¿Qué hora es en {a} y en {b}?"),
    "price": ("Stock prices of {a} and {b}?", "¿A cuánto cotizan {a} y {b}?"),
    "stock": ("Check the stock of the {a} and the {b}.", "Revisa el stock de {a} y de {b}."),
    "add": ("What is {a} and what is {b}?", "¿Cuánto es {a} y cuánto es {b}?"),
}


def heldout_template(t: str) -> bool:
    return zlib.crc32(t.encode()) % 5 == 0


def _qa_pool():
    """(question, answer, lang, held out) from the corpus's Q/A entries (the "no_tool" case)."""
    sys.path.insert(0, str(HERE.parents[2]))
    from llmkit.engine import corpus

    pool = []
    for d in corpus.load():
        if d.topic in ("glossary",) and d.questions and d.questions[0].lower().startswith(("what is", "qué es", "¿qué es")):
            pass
        pool += [(q, d.answer, d.lang, False) for q in d.questions[:3]]
        pool += [(q, d.answer, d.lang, True) for q in d.heldout]
    return pool


SYSTEMS = {"en": ["You are a helpful assistant.", "You are a helpful assistant with access to tools.",
                  "Use the tools when they help.", "You are the course's offline assistant."],
           "es": ["Eres un asistente útil.", "Usa las herramientas cuando ayuden.", "Eres un asistente con herramientas."]}


def generate(n: int | None = None, seed: int = SEED, varied: bool = False, records: bool = False) -> list[dict]:
    """`varied`: results also come in other shapes (`Sampler._vary`; v3's stage C). Without it,
    results have one shape per family (v3's stage B was trained on these, before the arithmetic
    families and N_CONVERSATIONS 5200 changed the draw). `records`: the lookup and quote families
    too (RECORD_VARIANTS; v3's stage K), N_RECORDS_CONVERSATIONS of them in all; without it the
    draw is the one stages B-F were trained on."""
    n = n or (N_RECORDS_CONVERSATIONS if records else N_CONVERSATIONS)
    rng = random.Random(seed)
    V = variants()
    if records:
        V.update(RECORD_VARIANTS)
    fams = sorted(V)
    smp = Sampler(rng, varied)
    rsmp = RecordSampler(rng)
    qa = _qa_pool()
    rows = []
    ids = set()

    def call_id():
        while True:
            c = "call_" + "".join(rng.choice("0123456789abcdef") for _ in range(24))
            if c not in ids:
                ids.add(c)
                return c

    for k in range(n):
        lang = "en" if rng.random() < 0.55 else "es"
        r = rng.random()
        case = ("call" if r < 0.28 else "result" if r < 0.58 else "error" if r < 0.66 else "parallel" if r < 0.71
                else "no_tool" if r < 0.92 else "not_offered")
        fam = rng.choice(fams)
        if case == "parallel":
            fam = rng.choice(sorted(PARALLEL))
        v = rng.choice(V[fam])
        others = [f for f in fams if f != fam and not (case == "no_tool" and f == "glossary")]
        if fam in MATH and case != "no_tool":  # a calculator beside add_two_numbers could do either's work
            others = [f for f in others if f not in MATH or (fam in ARITH and f in ARITH)]
        if case != "no_tool":  # country_info also holds the population
            others = [f for f in others if f not in OVERLAP.get(fam, ())]
        extra = [rng.choice(V[f]) for f in rng.sample(others, rng.choice([0, 1, 1, 2, 2, 3]))]
        if fam in ARITH and case != "no_tool" and rng.random() < 0.5:  # the kit: add and subtract offered together
            kin = [next(w for w in V[f] if w["kit"] == v["kit"]) for f in ARITH if f != fam]
            extra = [e for e in extra if e.get("kit") is None][:1] + rng.sample(kin, rng.choice([1, 1, 2]))
        offered = extra if case == "not_offered" else [v] + extra
        if case == "not_offered" and not offered:
            offered = [rng.choice(V[rng.choice(others)])]
        if case == "no_tool" and fam == "glossary":
            offered = extra or [rng.choice(V["weather"])]
        rng.shuffle(offered)
        tools = [spec_of(t) for t in offered]
        msgs = []
        if rng.random() < 0.35:
            msgs.append({"role": "system", "content": rng.choice(SYSTEMS[lang])})
        held = False
        if rng.random() < 0.12:  # an earlier plain exchange
            q0, a0, _, h0 = rng.choice([p for p in qa if p[2] == lang and not p[3]])
            msgs += [{"role": "user", "content": q0}, {"role": "assistant", "content": a0}]
        if case == "no_tool":
            q, a, _, held = rng.choice([p for p in qa if p[2] == lang])
            msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
            tmpl = q
        else:
            c = (rsmp if fam in RECORD_VARIANTS else smp).case(fam, lang, case == "error")
            tmpl = rng.choice(c.get("templates") or Q[fam][lang])
            held = heldout_template(tmpl)
            if "{x}" in tmpl:  # "What is 3 + 1?": the answer in digits too
                c = dict(c, answer=c["answer_digits"])
            if case == "parallel":
                c2 = smp.case(fam, lang, False)
                key = next(iter(c["slots"]))
                if c2["slots"][key] == c["slots"][key]:
                    continue
                tmpl = PARALLEL[fam][0 if lang == "en" else 1]
                held = heldout_template(tmpl + str(k % 5))  # a fifth of these
                q = tmpl.format(a=c["slots"][key], b=c2["slots"][key])
            else:
                q = tmpl.format(**c["slots"])
                if fam in RECORD_VARIANTS:
                    q = q.replace(" de el ", " del ")
            msgs.append({"role": "user", "content": q})
            if case == "not_offered":
                what_en, what_es = CANNOT.get(fam) or RECORD_CANNOT[fam]
                ans = (f"I can't help with that here: none of the tools I have covers {what_en}." if lang == "en" else
                       f"No puedo ayudarte con eso aquí: ninguna de mis herramientas sirve para {what_es}.")
                msgs.append({"role": "assistant", "content": ans})
            else:
                cases = [c] + ([c2] if case == "parallel" else [])
                calls = []
                for ci in cases:
                    args = dict(zip(v["args"], ci["args"] + ["celsius"] * (len(v["args"]) - len(ci["args"]))))
                    calls.append({"id": call_id(), "name": v["name"], "arguments": args})
                msgs.append({"role": "assistant", "content": None, "tool_calls": calls})
                if case != "call":
                    for ci, cl in zip(cases, calls):
                        msgs.append({"role": "tool", "tool_call_id": cl["id"], "name": v["name"],
                                     "content": ci["result"] if isinstance(ci["result"], str)
                                     else json.dumps(ci["result"], ensure_ascii=False)})
                    if case == "parallel":
                        a1, a2 = (ci["answer"].rstrip(".") for ci in cases)
                        joined = f"{a1}; {a2[0].lower() + a2[1:] if not a2[:2].isupper() else a2}."
                        msgs.append({"role": "assistant", "content": joined})
                    else:
                        msgs.append({"role": "assistant", "content": c["answer"]})
        rid = f"t{k:05d}"
        rows.append({"id": rid, "case": case, "family": fam, "lang": lang, "heldout": bool(held),
                     "template": tmpl if case != "no_tool" else "", "tools": tools, "messages": msgs})
    return rows


def dump(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=None, help="write the conversations here (JSON Lines)")
    p.add_argument("--varied", action="store_true", help="results in other shapes too (v3's stage C)")
    p.add_argument("--records", action="store_true", help="the lookup and quote families too (v3's stage K)")
    args = p.parse_args(argv)
    rows = generate(varied=args.varied, records=args.records)
    if args.out:
        args.out.write_text(dump(rows), encoding="utf-8")
    from collections import Counter
    print(f"{len(rows)} conversations" + (f" -> {args.out}" if args.out else ""))
    print(dict(Counter(r["case"] for r in rows)), dict(Counter(r["lang"] for r in rows)),
          "held out:", sum(r["heldout"] for r in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
