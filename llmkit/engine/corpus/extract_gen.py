"""Extraction conversations (structured outputs) in English and Spanish, generated deterministically (seed 17).

    python llmkit/engine/corpus/extract_gen.py                      # counts per family, language, held out
    python llmkit/engine/corpus/extract_gen.py --out extract.jsonl  # write them as JSON Lines to look at

A structured-output request (OpenAI `response_format` json_schema, `chat.completions.parse(response_format=
Model)`, Ollama `format=<schema>`, Gemini `response_schema`) reaches the network as the user's text alone:
the grammar (engine/constrain.py) forces the keys, the copier (engine/copying.py) offers the user's phrases
for the string values, and which phrase goes under which key is the network's guess. These conversations
teach that guess: the user gives data ("Alice and Bob are going to a science fair on Friday."), the
assistant's reply is the JSON instance written exactly as the engine writes it (`json.dumps` layout:
", " and ": ", keys in the schema's property order, non-ASCII as is), every string value a phrase of
the user's text (or an enum value / a number / a boolean the text states).

Rows have tools_gen's neutral format plus the schema the reply follows: {"id", "case": "extract",
"family", "lang", "heldout", "template", "tools": [], "schema", "messages": [optional system, user,
assistant]}. Key names vary (English and Spanish synonyms), so does the order of the fields; an optional
field (Pydantic's `Optional[str] = None`: anyOf [type, null]) is sometimes left out of the schema, and
when the schema has it but the text does not say it, its value is null (the engine writes every declared
key). A user template is held out (all its conversations) when the CRC32 of its text is 0 mod 5, as in
tools_gen: bench/extract.py measures on those.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import zlib
from pathlib import Path

HERE = Path(__file__).parent
SEED = 17
N_CONVERSATIONS = 2000

FIRST = {"en": ["Alice", "Bob", "Maria", "John", "Emma", "Tom", "Sofia", "David", "Laura", "James", "Olivia",
                "Daniel", "Chloe", "Peter", "Hannah", "Lucas", "Grace", "Omar", "Nina", "Victor"],
         "es": ["Ana", "Luis", "María", "Carlos", "Lucía", "Pedro", "Elena", "Diego", "Sofía", "Javier", "Carmen",
                "Andrés", "Paula", "Miguel", "Marta", "Jorge", "Isabel", "Raúl", "Valeria", "Tomás"]}
LAST = {"en": ["Smith", "Johnson", "Brown", "Lopez", "Taylor", "Wilson", "Clark", "Lee", "Walker", "Young",
               "King", "Wright", "Green", "Baker", "Adams"],
        "es": ["López", "García", "Martínez", "Pérez", "Sánchez", "Romero", "Torres", "Díaz", "Ruiz", "Flores",
               "Vargas", "Castro", "Ortiz", "Morales", "Navarro"]}
EVENTS = [("science fair", "la feria de ciencias"), ("team lunch", "la comida del equipo"), ("birthday party", "la fiesta de cumpleaños"),
          ("book club", "el club de lectura"), ("jazz concert", "el concierto de jazz"), ("football match", "el partido de fútbol"),
          ("hackathon", "el hackatón"), ("wedding", "la boda"), ("yoga class", "la clase de yoga"), ("art exhibition", "la exposición de arte"),
          ("product launch", "la presentación del producto"), ("charity run", "la carrera solidaria"), ("movie night", "la noche de cine"),
          ("chess tournament", "el torneo de ajedrez")]  # Spanish with its article: the {event_a} slot
DAYS = [("Friday", "viernes"), ("Monday", "lunes"), ("Tuesday", "martes"), ("Wednesday", "miércoles"),
        ("Thursday", "jueves"), ("Saturday", "sábado"), ("Sunday", "domingo"), ("March 3", "3 de marzo"),
        ("June 14", "14 de junio"), ("October 21", "21 de octubre"), ("2025-05-09", "2025-05-09")]
JOBS = [("teacher", "profesora"), ("engineer", "ingeniero"), ("nurse", "enfermera"), ("designer", "diseñador"),
        ("chef", "cocinero"), ("lawyer", "abogada"), ("data analyst", "analista de datos"), ("photographer", "fotógrafo"),
        ("pilot", "piloto"), ("architect", "arquitecta")]
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Labs", "Nube Digital", "Soluciones Sur", "Blue River", "Tecnova"]
BOOKS = [("Dune", "Frank Herbert", 1965, "science fiction", "ciencia ficción"),
         ("One Hundred Years of Solitude", "Gabriel García Márquez", 1967, "novel", "novela"),
         ("Don Quixote", "Miguel de Cervantes", 1605, "novel", "novela"),
         ("The Hobbit", "J. R. R. Tolkien", 1937, "fantasy", "fantasía"),
         ("Pride and Prejudice", "Jane Austen", 1813, "romance", "romántica"),
         ("The Shadow of the Wind", "Carlos Ruiz Zafón", 2001, "mystery", "misterio"),
         ("Neuromancer", "William Gibson", 1984, "science fiction", "ciencia ficción"),
         ("Ficciones", "Jorge Luis Borges", 1944, "short stories", "cuentos"),
         ("The House of the Spirits", "Isabel Allende", 1982, "novel", "novela"),
         ("Frankenstein", "Mary Shelley", 1818, "horror", "terror")]
MOVIES = [("Pan's Labyrinth", "Guillermo del Toro", 2006, "fantasy", "fantasía"),
          ("Roma", "Alfonso Cuarón", 2018, "drama", "drama"),
          ("Alien", "Ridley Scott", 1979, "science fiction", "ciencia ficción"),
          ("Amélie", "Jean-Pierre Jeunet", 2001, "comedy", "comedia"),
          ("Spirited Away", "Hayao Miyazaki", 2001, "animation", "animación"),
          ("The Secret in Their Eyes", "Juan José Campanella", 2009, "thriller", "suspense"),
          ("Jaws", "Steven Spielberg", 1975, "thriller", "suspense"),
          ("Volver", "Pedro Almodóvar", 2006, "drama", "drama"),
          ("Inception", "Christopher Nolan", 2010, "science fiction", "ciencia ficción")]
DISHES = [("pancakes", "tortitas", ["flour", "milk", "eggs", "sugar"], ["harina", "leche", "huevos", "azúcar"]),
          ("guacamole", "guacamole", ["avocados", "lime", "onion", "salt"], ["aguacates", "lima", "cebolla", "sal"]),
          ("tomato soup", "sopa de tomate", ["tomatoes", "garlic", "olive oil", "basil"], ["tomates", "ajo", "aceite de oliva", "albahaca"]),
          ("omelette", "tortilla", ["eggs", "potatoes", "onion", "olive oil"], ["huevos", "patatas", "cebolla", "aceite de oliva"]),
          ("lemonade", "limonada", ["lemons", "water", "sugar", "mint"], ["limones", "agua", "azúcar", "menta"]),
          ("pesto", "pesto", ["basil", "pine nuts", "parmesan", "garlic"], ["albahaca", "piñones", "parmesano", "ajo"]),
          ("fruit salad", "macedonia", ["apples", "bananas", "oranges", "grapes"], ["manzanas", "plátanos", "naranjas", "uvas"]),
          ("hummus", "hummus", ["chickpeas", "tahini", "lemon", "garlic"], ["garbanzos", "tahini", "limón", "ajo"])]
TOPICS = [("the Q3 budget", "el presupuesto del tercer trimestre"), ("the website redesign", "el rediseño de la web"),
          ("hiring plans", "los planes de contratación"), ("the API migration", "la migración de la API"),
          ("customer feedback", "las opiniones de los clientes"), ("the release schedule", "el calendario de lanzamientos"),
          ("security review", "la revisión de seguridad"), ("the marketing campaign", "la campaña de marketing")]
TIMES = ["9:00", "10:30", "11:15", "12:00", "14:00", "15:30", "16:45", "17:00", "3 pm", "10 am"]
ROOMS = ["Room 4B", "Room 12", "the Blue Room", "Sala Roble", "Sala 3", "the main hall", "Room 201", "Sala Norte"]
AIRLINES = ["Iberia", "Lufthansa", "Aeroméxico", "LATAM", "Air France", "KLM", "Avianca", "Delta"]
CURRENCIES = ["EUR", "USD", "GBP", "MXN", "JPY"]
BUSY = {"en": ["busy saving the world", "busy with work", "too busy this week", "busy studying for exams",
               "busy moving house"],
        "es": ["ocupado salvando el mundo", "ocupada con el trabajo", "muy ocupado esta semana",
               "ocupada estudiando para los exámenes", "ocupado con la mudanza"]}
FREE = {"en": ["wants to hang out", "is free this weekend", "is available to meet", "wants to go out",
               "has free time"],
        "es": ["quiere quedar", "está libre este fin de semana", "tiene tiempo para vernos", "quiere salir",
               "está disponible"]}
REVIEWS = {  # (text, sentiment) in the user's words
    "en": [("I love this phone, the battery lasts forever", "positive"), ("The delivery was late and the box was broken", "negative"),
           ("The hotel was fine, nothing special", "neutral"), ("Great service, friendly staff and fast checkout", "positive"),
           ("Terrible app, it crashes every time I open it", "negative"), ("The package arrived on Tuesday", "neutral"),
           ("Best pizza I have had in years", "positive"), ("I want a refund, the headphones stopped working", "negative"),
           ("It does what it says, no more, no less", "neutral"), ("The course was clear and really useful", "positive")],
    "es": [("Me encanta este móvil, la batería dura muchísimo", "positive"), ("El pedido llegó tarde y la caja estaba rota", "negative"),
           ("El hotel estaba bien, nada especial", "neutral"), ("Muy buen servicio, personal amable y rápido", "positive"),
           ("La aplicación es horrible, se cierra cada vez que la abro", "negative"), ("El paquete llegó el martes", "neutral"),
           ("La mejor pizza que he comido en años", "positive"), ("Quiero un reembolso, los auriculares dejaron de funcionar", "negative"),
           ("Hace lo que dice, ni más ni menos", "neutral"), ("El curso fue claro y muy útil", "positive")],
}
SENTIMENT_ES = {"positive": "positivo", "negative": "negativo", "neutral": "neutral"}

# field -> key synonyms (en, es). A conversation names all its keys in one language.
KEYS = {
    "event": (["name", "title", "event", "event_name"], ["nombre", "evento", "titulo"]),
    "date": (["date", "day", "when"], ["fecha", "dia", "cuando"]),
    "participants": (["participants", "people", "attendees"], ["participantes", "personas", "asistentes"]),
    "name": (["name", "full_name", "person"], ["nombre", "nombre_completo", "persona"]),
    "age": (["age", "years"], ["edad", "años"]),
    "city": (["city", "location", "lives_in"], ["ciudad", "ubicacion", "vive_en"]),
    "email": (["email", "email_address", "mail"], ["email", "correo", "correo_electronico"]),
    "job": (["job", "occupation", "profession"], ["trabajo", "profesion", "ocupacion"]),
    "product": (["product", "item", "product_name"], ["producto", "articulo"]),
    "quantity": (["quantity", "qty", "units"], ["cantidad", "unidades"]),
    "price": (["price", "unit_price", "amount"], ["precio", "precio_unitario", "importe"]),
    "currency": (["currency"], ["moneda", "divisa"]),
    "phone": (["phone", "phone_number", "telephone"], ["telefono", "movil"]),
    "company": (["company", "organization", "employer"], ["empresa", "compania"]),
    "title": (["title", "name"], ["titulo", "nombre"]),
    "author": (["author", "writer"], ["autor", "escritor"]),
    "director": (["director", "directed_by"], ["director", "dirigida_por"]),
    "year": (["year", "release_year", "published"], ["año", "anio", "año_publicacion"]),
    "genre": (["genre", "category"], ["genero", "categoria"]),
    "dish": (["dish", "recipe", "name"], ["plato", "receta", "nombre"]),
    "ingredients": (["ingredients", "items"], ["ingredientes"]),
    "servings": (["servings", "serves", "portions"], ["raciones", "porciones"]),
    "topic": (["topic", "subject", "agenda"], ["tema", "asunto"]),
    "time": (["time", "start_time", "at"], ["hora", "hora_inicio"]),
    "room": (["room", "location", "place"], ["sala", "lugar"]),
    "origin": (["origin", "from", "departure_city"], ["origen", "desde", "ciudad_salida"]),
    "destination": (["destination", "to", "arrival_city"], ["destino", "hasta", "ciudad_llegada"]),
    "airline": (["airline", "carrier"], ["aerolinea", "compania_aerea"]),
    "friends": (["friends", "people"], ["amigos", "personas"]),
    "available": (["is_available", "available", "free"], ["disponible", "libre"]),
    "sentiment": (["sentiment", "label", "mood"], ["sentimiento", "etiqueta", "tono"]),
    "subject": (["about", "text", "review"], ["sobre", "texto", "resena"]),
}

SYSTEMS = {
    "event": (["Extract the event information."], ["Extrae la información del evento."]),
    "person": (["Extract the person's details."], ["Extrae los datos de la persona."]),
    "order": (["Extract the order details."], ["Extrae los datos del pedido."]),
    "contact": (["Extract the contact information."], ["Extrae los datos de contacto."]),
    "book": (["Extract the book's details."], ["Extrae los datos del libro."]),
    "movie": (["Extract the movie's details."], ["Extrae los datos de la película."]),
    "recipe": (["List the recipe's ingredients."], ["Extrae los ingredientes de la receta."]),
    "meeting": (["Extract the meeting details."], ["Extrae los datos de la reunión."]),
    "flight": (["Extract the trip details."], ["Extrae los datos del viaje."]),
    "friends": (["Return a list of friends in JSON format."], ["Devuelve la lista de amigos en JSON."]),
    "sentiment": (["Classify the sentiment of the review."], ["Clasifica el sentimiento de la reseña."]),
}
GENERIC_SYSTEMS = (["Extract the data.", "Extract the information as JSON.", "You are a helpful assistant.",
                    "Fill in the fields from the user's text."],
                   ["Extrae los datos.", "Extrae la información en JSON.", "Eres un asistente útil."])

# User templates per family and language; {slots} filled by the family's sampler. An optional field's
# slot appears only in some templates: where it does not, its value is null (if the schema has it).
T = {
    "event": {
        "en": ["{people} are going to a {event} on {date}.", "{people} will attend the {event} on {date}.",
               "On {date}, {people} are going to the {event}.", "{event} on {date} with {people}.",
               "Reminder: {event}, {date}. Coming: {people}.", "{people} signed up for the {event} on {date}.",
               "Next {event} is on {date}; {people} will be there.", "We have a {event} on {date} and {people} are invited.",
               "{people} meet at the {event} on {date}."],
        "es": ["{people} van a {event_a} el {date}.", "{people} irán a {event_a} el {date}.",
               "El {date}, {people} van a {event_a}.", "{event} el {date} con {people}.",
               "Recordatorio: {event}, {date}. Vienen {people}.", "{people} se apuntaron a {event_a} del {date}.",
               "El {date} es {event_a}; estarán {people}.", "Tenemos {event} el {date} y están invitados {people}.",
               "{people} quedaron en {event_a} el {date}."],
    },
    "person": {
        "en": ["{name} is {age} and lives in {city}.", "{name}, {age}, from {city}.",
               "My name is {name}, I am {age} years old and I live in {city}.",
               "{name} ({age}) lives in {city} and works as a {job}.", "{name} is a {age}-year-old {job} from {city}.",
               "Meet {name}: {age} years old, based in {city}. Email: {email}.",
               "{name} is {age}, lives in {city} and can be reached at {email}.",
               "I'm {name}, a {job} in {city}. I'm {age}.", "Name: {name}. Age: {age}. City: {city}. Job: {job}."],
        "es": ["{name} tiene {age} años y vive en {city}.", "{name}, {age} años, de {city}.",
               "Me llamo {name}, tengo {age} años y vivo en {city}.",
               "{name} ({age}) vive en {city} y trabaja de {job}.", "{name} es {job}, tiene {age} años y vive en {city}.",
               "Te presento a {name}: {age} años, vive en {city}. Correo: {email}.",
               "{name} tiene {age} años, vive en {city} y su correo es {email}.",
               "Soy {name}, {job} en {city}. Tengo {age} años.", "Nombre: {name}. Edad: {age}. Ciudad: {city}."],
    },
    "order": {
        "en": ["I'd like to order {quantity} units of {product} at {price} {currency} each.",
               "Order: {quantity} x {product}, {price} {currency} per unit.",
               "Please send me {quantity} of the {product}. The price is {price} {currency}.",
               "Buy {quantity} x {product} for {price} {currency} each.",
               "We need {quantity} units of {product}; they cost {price} {currency}.",
               "{product}: {quantity} units at {price} {currency}."],
        "es": ["Quiero pedir {quantity} unidades de {product} a {price} {currency} cada una.",
               "Pedido: {quantity} x {product}, {price} {currency} la unidad.",
               "Envíame {quantity} de {product}. El precio es {price} {currency}.",
               "Compra {quantity} x {product} por {price} {currency} cada uno.",
               "Necesitamos {quantity} unidades de {product}; cuestan {price} {currency}.",
               "{product}: {quantity} unidades a {price} {currency}."],
    },
    "contact": {
        "en": ["You can reach {name} at {phone} or {email}.", "Contact: {name}, phone {phone}, email {email}.",
               "{name} from {company}: {email}, {phone}.", "Call {name} on {phone}.",
               "{name} works at {company}. Her email is {email}.", "New lead: {name} ({company}), {phone}.",
               "Please save {name}'s number: {phone}."],
        "es": ["Puedes contactar con {name} en el {phone} o en {email}.", "Contacto: {name}, teléfono {phone}, correo {email}.",
               "{name} de {company}: {email}, {phone}.", "Llama a {name} al {phone}.",
               "{name} trabaja en {company}. Su correo es {email}.", "Nuevo cliente: {name} ({company}), {phone}.",
               "Guarda el número de {name}: {phone}."],
    },
    "book": {
        "en": ["{title} was written by {author} in {year}.", "I just read {title} by {author} ({year}), a {genre} book.",
               "{author} published {title} in {year}.", "Book: {title}. Author: {author}. Year: {year}.",
               "My favourite {genre} book is {title}, by {author}, from {year}.", "{title}, {author}, {year}."],
        "es": ["{title} fue escrito por {author} en {year}.", "Acabo de leer {title} de {author} ({year}), un libro de {genre}.",
               "{author} publicó {title} en {year}.", "Libro: {title}. Autor: {author}. Año: {year}.",
               "Mi libro de {genre} favorito es {title}, de {author}, de {year}.", "{title}, {author}, {year}."],
    },
    "movie": {
        "en": ["{title} is a {year} film directed by {director}.", "Last night we watched {title} ({year}) by {director}.",
               "{director} directed {title} in {year}.", "Movie: {title}. Director: {director}. Year: {year}. Genre: {genre}.",
               "{title} is a {genre} film by {director} from {year}."],
        "es": ["{title} es una película de {year} dirigida por {director}.", "Anoche vimos {title} ({year}) de {director}.",
               "{director} dirigió {title} en {year}.", "Película: {title}. Director: {director}. Año: {year}. Género: {genre}.",
               "{title} es una película de {genre} de {director}, de {year}."],
    },
    "recipe": {
        "en": ["To make {dish} you need {ingredients}.", "{dish} recipe: {ingredients}.", "Shopping list for {dish}: {ingredients}.",
               "For {servings} people, {dish} takes {ingredients}.", "My {dish} uses {ingredients}.",
               "Ingredients for {dish} (serves {servings}): {ingredients}.", "You'll need {ingredients} for the {dish}."],
        "es": ["Para hacer {dish} necesitas {ingredients}.", "Receta de {dish}: {ingredients}.",
               "Para {servings} personas, {dish} lleva {ingredients}.", "Mi {dish} lleva {ingredients}.",
               "Ingredientes de {dish} ({servings} raciones): {ingredients}.", "Necesitarás {ingredients} para hacer {dish}.",
               "La receta de {dish} lleva {ingredients}.", "Lista de la compra para {dish}: {ingredients}.",
               "Para {dish} hace falta {ingredients}."],
    },
    "meeting": {
        "en": ["The meeting about {topic} is at {time} in {room}.", "Let's discuss {topic} at {time} in {room}.",
               "Meeting at {time}, {room}: {topic}.", "We meet in {room} at {time} to talk about {topic}.",
               "Agenda: {topic}. Time: {time}. Place: {room}.", "Quick sync on {topic} at {time}."],
        "es": ["La reunión sobre {topic} es a las {time} en {room}.", "Hablamos de {topic} a las {time} en {room}.",
               "Reunión a las {time}, {room}: {topic}.", "Nos vemos en {room} a las {time} para hablar de {topic}.",
               "Orden del día: {topic}. Hora: {time}. Lugar: {room}.", "Reunión rápida sobre {topic} a las {time}.",
               "Quedamos a las {time} en {room} para ver {topic}.", "A las {time} en {room} revisamos {topic}.",
               "Tema: {topic}. A las {time} en {room}."],
    },
    "flight": {
        "en": ["I'm flying from {origin} to {destination} on {date}.", "Book a flight {origin} - {destination} for {date}.",
               "On {date} I travel to {destination} from {origin} with {airline}.",
               "Trip: {origin} to {destination}, {date}.", "My {airline} flight leaves {origin} for {destination} on {date}.",
               "Going to {destination} on {date}, departing from {origin}."],
        "es": ["Vuelo de {origin} a {destination} el {date}.", "Resérvame un vuelo {origin} - {destination} para el {date}.",
               "El {date} viajo a {destination} desde {origin} con {airline}.",
               "Viaje: {origin} a {destination}, {date}.", "Mi vuelo de {airline} sale de {origin} hacia {destination} el {date}.",
               "Voy a {destination} el {date}, saliendo de {origin}."],
    },
    "friends": {  # {f1} {f2} {f3}: one friend each ("Ollama 22 years old busy saving the world")
        "en": ["I have two friends. The first is {f1}, and the second is {f2}.",
               "I have 2 friends: {f1}, and {f2}.", "My friends: {f1}; {f2}.",
               "I have three friends. The first is {f1}, the second is {f2}, and the third is {f3}.",
               "Three friends: {f1}; {f2}; {f3}."],
        "es": ["Tengo dos amigos. El primero es {f1}, y el segundo es {f2}.",
               "Tengo 2 amigos: {f1}, y {f2}.", "Mis amigos: {f1}; {f2}.",
               "Tengo tres amigos. El primero es {f1}, el segundo es {f2}, y el tercero es {f3}.",
               "Tres amigos: {f1}; {f2}; {f3}."],
    },
    "sentiment": {
        "en": ["{review}.", "Review: {review}.", "\"{review}\"", "Customer said: {review}.", "{review}!", "Feedback: {review}.",
               "A customer wrote: {review}."],
        "es": ["{review}.", "Reseña: {review}.", "\"{review}\"", "El cliente dijo: {review}.", "{review}!", "Comentario: {review}.",
               "Un cliente escribió: {review}."],
    },
}
FRIEND = {"en": ["{name} {age} years old {act}", "{name} {age} years old and {act}", "{name}, {age}, {act}",
                 "{name} who is {age} and {act}"],
          "es": ["{name} de {age} años {act}", "{name} de {age} años y {act}", "{name}, {age} años, {act}",
                 "{name} que tiene {age} años y {act}"]}

STR, INT, NUM, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
LIST = {"type": "array", "items": {"type": "string"}}


def opt(t: dict) -> dict:
    """An optional field as Pydantic writes `Optional[T] = None`."""
    return {"anyOf": [dict(t), {"type": "null"}]}


def heldout_template(t: str) -> bool:
    return zlib.crc32(t.encode()) % 5 == 0


def _tools_gen():
    import importlib.util

    spec = importlib.util.spec_from_file_location("llmkit_tools_gen", HERE / "tools_gen.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Sampler:
    """One family's values: the template's slots and the fields [(field, value, schema, optional)]."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        tg = _tools_gen()
        self.cities, self.products = tg.CITIES, tg.PRODUCTS

    def person_name(self, lang, full=None):
        r = self.rng
        first = r.choice(FIRST[lang])
        return f"{first} {r.choice(LAST[lang])}" if (full if full is not None else r.random() < 0.6) else first

    def city(self, lang):
        return self.rng.choice(self.cities)[0 if lang == "en" else 1]

    def email(self, name):
        r = self.rng
        user = name.lower().split()[0].translate(str.maketrans("áéíóúñ", "aeioun"))
        return f"{user}{r.choice(['', '.' + str(r.randint(1, 99)), str(r.randint(70, 99))])}@{r.choice(['example.com', 'mail.com', 'correo.es', 'acme.org'])}"

    def event(self, lang):
        r = self.rng
        i = 0 if lang == "en" else 1
        names = []
        while len(names) < r.choice([2, 2, 2, 3]):
            n = r.choice(FIRST[lang])
            if n not in names:
                names.append(n)
        joiner = " and " if lang == "en" else " y "
        people = ", ".join(names[:-1]) + joiner + names[-1]
        ev, day = r.choice(EVENTS)[i], r.choice(DAYS)[i]
        ev_a, ev = ev, ev.split(" ", 1)[1] if lang == "es" else ev  # "la feria de ciencias" -> "feria de ciencias"
        return {"people": people, "event": ev, "event_a": ev_a, "date": day}, [("event", ev, STR, False), ("date", day, STR, False),
                                                             ("participants", names, LIST, False)]

    def person(self, lang):
        r = self.rng
        name = self.person_name(lang)
        age, city, job = r.randint(18, 80), self.city(lang), r.choice(JOBS)[0 if lang == "en" else 1]
        email = self.email(name)
        return ({"name": name, "age": age, "city": city, "job": job, "email": email},
                [("name", name, STR, False), ("age", age, INT, False), ("city", city, STR, False),
                 ("email", email, STR, True), ("job", job, STR, True)])

    def order(self, lang):
        r = self.rng
        product = r.choice(self.products)[0 if lang == "en" else 1]
        q = r.choice([1, 2, 3, 4, 5, 6, 10, 12, 20, 25, 50, 100])
        price = r.choice([4.5, 9.99, 12.5, 15, 19.99, 24.9, 30, 49.95, 7.25, 120, 2.75, 89])
        cur = r.choice(CURRENCIES)
        return ({"product": product, "quantity": q, "price": json.dumps(price), "currency": cur},
                [("product", product, STR, False), ("quantity", q, INT, False), ("price", price, NUM, False),
                 ("currency", cur, {"type": "string", "enum": list(CURRENCIES)} if r.random() < 0.3 else STR, False)])

    def contact(self, lang):
        r = self.rng
        name = self.person_name(lang, full=True)
        phone = r.choice(["+34 612 345 678", "555-0134", "+1 415 555 0199", "+52 55 1234 5678", "020 7946 0321",
                          "600 112 233", "+44 7700 900123", "(212) 555-0147"])
        return ({"name": name, "phone": phone, "email": self.email(name), "company": r.choice(COMPANIES)},
                [("name", name, STR, False), ("phone", phone, STR, True), ("email", None, STR, True),
                 ("company", None, STR, True)])

    def _work(self, lang, table, maker):
        """A book or a film: its title, who made it (`maker`: author or director), year and genre."""
        title, who, year, gen, ges = self.rng.choice(table)
        genre = gen if lang == "en" else ges
        return ({"title": title, maker: who, "year": year, "genre": genre},
                [("title", title, STR, False), (maker, who, STR, False), ("year", year, INT, False),
                 ("genre", genre, STR, True)])

    def book(self, lang):
        return self._work(lang, BOOKS, "author")

    def movie(self, lang):
        return self._work(lang, MOVIES, "director")

    def recipe(self, lang):
        r = self.rng
        den, des, ien, ies = r.choice(DISHES)
        dish, ings = (den, ien) if lang == "en" else (des, ies)
        ings = ings[:r.choice([3, 4])]
        joiner = " and " if lang == "en" else " y "
        text = ", ".join(ings[:-1]) + joiner + ings[-1]
        servings = r.choice([2, 4, 6, 8])
        return ({"dish": dish, "ingredients": text, "servings": servings},
                [("dish", dish, STR, False), ("ingredients", ings, LIST, False), ("servings", servings, INT, True)])

    def meeting(self, lang):
        r = self.rng
        topic = r.choice(TOPICS)[0 if lang == "en" else 1]
        return ({"topic": topic, "time": r.choice(TIMES), "room": r.choice(ROOMS)},
                [("topic", topic, STR, False), ("time", None, STR, False), ("room", None, STR, True)])

    def flight(self, lang):
        r = self.rng
        a, b = r.sample(self.cities, 2)
        i = 0 if lang == "en" else 1
        date = r.choice(DAYS)[i]
        return ({"origin": a[i], "destination": b[i], "date": date, "airline": r.choice(AIRLINES)},
                [("origin", a[i], STR, False), ("destination", b[i], STR, False), ("date", date, STR, False),
                 ("airline", None, STR, True)])

    def friends(self, lang):
        r = self.rng
        slots, items = {}, []
        names = r.sample(FIRST[lang] + ["Ollama", "Alonso"], 3)
        for k, name in enumerate(names, 1):
            free = r.random() < 0.5
            age = r.randint(18, 60)
            act = r.choice(FREE[lang] if free else BUSY[lang])
            slots[f"f{k}"] = r.choice(FRIEND[lang]).format(name=name, age=age, act=act)
            items.append({"name": name, "age": age, "available": free})
        return slots, [("friends", items, None, False)]

    def sentiment(self, lang):
        r = self.rng
        text, label = r.choice(REVIEWS[lang])
        return {"review": text}, [("sentiment", label, None, False), ("subject", text, STR, True)]


LISTED = ("participants", "ingredients", "friends")  # said by slots of other names (people, f1...)
FAMILIES = ["event", "person", "order", "contact", "book", "movie", "recipe", "meeting", "flight", "friends", "sentiment"]


def _pick_keys(rng, fields: list[str], lang: str) -> dict[str, str]:
    """One key per field, all in one language, no two alike."""
    while True:
        keys = {f: rng.choice(KEYS[f][0 if lang == "en" else 1]) for f in fields}
        if len(set(keys.values())) == len(keys):
            return keys


def generate(n: int = N_CONVERSATIONS, seed: int = SEED) -> list[dict]:
    rng = random.Random(seed)
    smp = Sampler(rng)
    rows = []
    for k in range(n):
        lang = "en" if rng.random() < 0.5 else "es"
        fam = FAMILIES[k % len(FAMILIES)]
        tmpl = rng.choice(T[fam][lang])
        slots, fields = getattr(smp, fam)(lang)
        if fam == "friends" and "{f3}" not in tmpl:
            fields = [("friends", fields[0][1][:2], None, False)]
        key_lang = lang if rng.random() < 0.75 else ("es" if lang == "en" else "en")
        # the template says which values the text holds: an optional field whose slot it lacks is null
        said = {}
        for f, v, _, optional in fields:
            said[f] = v if v is not None else slots.get(f)
            if f in slots and not re.search(r"\{%s(_a)?\}" % f, tmpl) and f not in LISTED:
                said[f] = None
            if said[f] is None and not optional:
                raise AssertionError(f"{fam}: template {tmpl!r} lacks the required {f}")
        kept = [fl for fl in fields if not fl[3] or rng.random() < 0.65]
        if rng.random() < 0.35:
            rng.shuffle(kept)
        keys = _pick_keys(rng, [f for f, *_ in kept], key_lang)
        props, value = {}, {}
        for f, _, t, optional in kept:
            v = said[f]
            if f == "sentiment":
                labels = ["positive", "negative", "neutral"]
                if key_lang == "es":
                    labels, v = [SENTIMENT_ES[x] for x in labels], SENTIMENT_ES[v]
                rng.shuffle(labels)
                t = {"type": "string", "enum": labels}
            elif f == "friends":
                fk = _pick_keys(rng, ["name", "age", "available"], key_lang)
                t = {"type": "array", "items": {"type": "object", "properties": {fk["name"]: STR, fk["age"]: INT,
                                                                                fk["available"]: BOOL},
                                                "required": [fk["name"], fk["age"], fk["available"]]}}
                v = [{fk["name"]: it["name"], fk["age"]: it["age"], fk["available"]: it["available"]} for it in v]
            props[keys[f]] = opt(t) if optional else dict(t)
            value[keys[f]] = v
        schema = {"type": "object", "properties": props,
                  "required": [keys[f] for f, _, _, optional in kept if not optional]}
        if rng.random() < 0.5:
            schema["additionalProperties"] = False
        text = tmpl.format(**slots).replace(" a el ", " al ").replace(" de el ", " del ")
        if not tmpl.startswith(("{", '"')) and rng.random() < 0.15:  # typed in lower case (values kept as they are)
            text = text[0].lower() + text[1:]
        msgs = []
        r = rng.random()
        if r < 0.4:
            msgs.append({"role": "system", "content": rng.choice(SYSTEMS[fam][lang == "es"])})
        elif r < 0.6:
            msgs.append({"role": "system", "content": rng.choice(GENERIC_SYSTEMS[lang == "es"])})
        elif r < 0.8:  # the instruction in the user's turn, as the Ollama example writes it ("... Return a list
            # of friends in JSON format")
            instr = rng.choice(SYSTEMS[fam][lang == "es"] + GENERIC_SYSTEMS[lang == "es"][:2])
            text = f"{text} {instr.rstrip('.') if rng.random() < 0.5 else instr}" if rng.random() < 0.7 \
                else f"{instr}\n\n{text}"
        msgs.append({"role": "user", "content": text})
        msgs.append({"role": "assistant", "content": json.dumps(value, ensure_ascii=False)})
        rows.append({"id": f"x{k:05d}", "case": "extract", "family": fam, "lang": lang,
                     "heldout": heldout_template(tmpl), "template": tmpl, "tools": [], "schema": schema,
                     "messages": msgs})
    return rows


def dump(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=None, help="write the conversations here (JSON Lines)")
    args = p.parse_args(argv)
    rows = generate()
    if args.out:
        args.out.write_text(dump(rows), encoding="utf-8")
    from collections import Counter
    print(f"{len(rows)} conversations" + (f" -> {args.out}" if args.out else ""))
    print(dict(Counter(r["family"] for r in rows)), dict(Counter(r["lang"] for r in rows)),
          "held out:", sum(r["heldout"] for r in rows))
    held = Counter((r["family"], r["lang"]) for r in rows if r["heldout"])
    print("held out per family/lang:", dict(sorted(held.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
