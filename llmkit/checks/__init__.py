"""Exercise checks, one module per day, in the manner of Kaggle's learntools.

    from llmkit.checks import ____, day02 as check

    def ask(client, question):
        ...                            # your code

    check.q1.check()                   # Correct / Incorrect, and why / Not attempted
    check.q1.hint()
    check.q1.solution()

How a check finds your work: each problem names the objects it looks at (`q1` of day 2
looks at `ask`), and `check()` takes them from the namespace of the code that called it,
which in a notebook is the notebook's globals (found with `inspect`, as learntools does).
You can also pass them yourself: `check.q1.check(ask)`.

Not attempted: a name that is not defined yet, a name still bound to the placeholder
`____`, a function that still raises `NotImplementedError` (what the exercise notebooks
hold before you write the body) or that returns `____`.

What a check tests is behaviour, never the text of your code: it calls your function on
clients and URLs of the offline gateway (so checks are free, fast and repeatable even
when you have keys), records every HTTP request your code sends and every response that
comes back (`recording()`, which wraps httpx and httpx2, the libraries under every SDK),
and compares what you return with what went over the wire.

`check()`, `hint()` and `solution()` never raise. With `LLMKIT_CHECKS_STRICT=1` in the
environment a check that is not correct raises `AssertionError` after showing its
result: the tests execute the solution notebooks that way.
"""

from __future__ import annotations

from .core import Incorrect, NotAttempted, Outcome, Problem, ____, strict
from .recording import Exchange, Recording, recording

__all__ = ["____", "Problem", "Incorrect", "NotAttempted", "Outcome", "strict", "recording", "Recording", "Exchange"]
