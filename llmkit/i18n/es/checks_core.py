"""Spanish for llmkit/checks/core.py: the result labels and the messages every day shares."""

MESSAGES = {
    # the labels check(), hint() and solution() show (Outcome.kind)
    "Correct": "Correcto",
    "Incorrect": "Incorrecto",
    "Not attempted": "Sin intentar",
    "Hint": "Pista",
    "Solution": "Solución",
    "replace ____ with your code": "sustituye ____ por tu código",
    "your function": "tu función",
    "{name}() returned a coroutine, not a value: it is an `async def` function, or it "
    "returned an async call without `await`. Here write a plain `def` and call the "
    "synchronous client (no await needed).":
        "{name}() devolvió una corrutina, no un valor: es una función `async def`, o devolvió una llamada "
        "asíncrona sin `await`. Aquí escribe una función `def` normal y usa el cliente síncrono (sin await).",
    "calling {name}() raised {error}: {e}{where}": "al llamar a {name}() se lanzó {error}: {e}{where}",
    ". A coroutine is what an async method returns when it is not awaited: write "
    "`await client....create(...)` inside an `async def` function.":
        ". Una corrutina es lo que devuelve un método asíncrono cuando no se espera con await: escribe "
        "`await client....create(...)` dentro de una función `async def`.",
    ". json.loads was given text that is not JSON ({doc!r}): print what you parse, and "
    "parse only JSON text (a reply you asked to be JSON, a `data:` payload).":
        ". json.loads recibió un texto que no es JSON ({doc!r}): imprime lo que analizas y analiza solo "
        "texto JSON (una respuesta que pediste en JSON, el contenido de una línea `data:`).",
    " (at line {n}: {line})": " (en la línea {n}: {line})",
    "write {shown} (in place of `raise NotImplementedError(...)` or `____`), run its cell, then run "
    "this check again.":
        "escribe {shown} (en lugar de `raise NotImplementedError(...)` o `____`), ejecuta su celda y después "
        "vuelve a ejecutar esta comprobación.",
    "check() takes {n} argument(s): {names}; got {got}.": "check() recibe {n} argumento(s): {names}; recibió {got}.",
    "`{name}` is not defined yet: run the cell that defines it, then run this one again.":
        "`{name}` aún no está definido: ejecuta la celda que lo define y luego vuelve a ejecutar esta.",
    "well done.": "bien hecho.",
    "the check could not run your code: {error}: {e}": "la comprobación no pudo ejecutar tu código: {error}: {e}",
    "one way to write it:": "una forma de escribirlo:",
}
