"""Message catalogs, one package per language (`es/`), one module per part of the course, each holding
`MESSAGES = {english: translation}`; llmkit.lang reads them (see its docstring for why dicts)."""
