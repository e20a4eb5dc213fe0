"""Spanish catalogs: `MESSAGES = {English text: Spanish text}` per module (checks_core, checks_day00, ...,
startup, cli, widgets). Keys are the English templates exactly as written in the code (a triple-quoted
solution compares dedented); keep every `{field}` of the key in the translation."""
