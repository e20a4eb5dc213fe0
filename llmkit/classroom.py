"""Classroom mode's state: students, their tokens (kept hashed), and what each one used.

One SQLite file (`[classroom] db` in gateway.toml). A token is shown once, when the student
is added; only its SHA-256 is stored, so the file leaks no usable token. Every request is
one row of `usage`, written in its own transaction (WAL, synchronous=FULL), so a restart or
a `kill -9` loses nothing that was answered. Quotas are per student per UTC day, checked
before a request is sent on. Cost is llmkit's list price (catalog + usage.cost) for the
real providers; the offline model and local upstreams cost $0.

    llmkit classroom add NAME        prints NAME's token (once)
    llmkit classroom list            the students (never their tokens)
    llmkit classroom remove NAME     the token stops working; the usage stays for the report
    llmkit classroom report [--day YYYY-MM-DD | --all]
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

TOKEN_PREFIX = "lkst-"  # llmkit student token

SCHEMA = """
CREATE TABLE IF NOT EXISTS students (
    name TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY,
    student TEXT NOT NULL,
    day TEXT NOT NULL,
    ts REAL NOT NULL,
    path TEXT NOT NULL,
    model TEXT,
    upstream TEXT,
    status INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    usd REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_by_day ON usage (student, day);
"""


class ClassroomError(ValueError):
    """A classroom operation that cannot be done (a name taken, a student unknown)."""


def today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")


def seconds_to_midnight() -> int:
    now = datetime.now(timezone.utc)
    nxt = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((nxt - now).total_seconds()))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Used:
    requests: int = 0
    tokens: int = 0
    usd: float = 0.0


class Store:
    """The classroom's SQLite file; safe to share between threads."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        with self._lock:
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _tx(self, sql: str, args=()) -> sqlite3.Cursor:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(sql, args)
                self._db.execute("COMMIT")
                return cur
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _query(self, sql: str, args=()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- students -----------------------------------------------------------------------

    def add(self, name: str) -> str:
        """Add a student; returns their token (the only time it is ever shown)."""
        name = (name or "").strip()
        if not name or len(name) > 100 or any(c in name for c in "\n\r\t"):
            raise ClassroomError(f"invalid student name {name!r}: 1-100 characters, one line")
        token = TOKEN_PREFIX + secrets.token_urlsafe(24)
        try:
            self._tx("INSERT INTO students (name, token_sha256, created) VALUES (?, ?, ?)",
                     (name, digest(token), time.time()))
        except sqlite3.IntegrityError:
            raise ClassroomError(f"a student named {name!r} already exists (remove them first to issue a new "
                                 "token)") from None
        return token

    def remove(self, name: str) -> None:
        if self._tx("DELETE FROM students WHERE name = ?", (name,)).rowcount == 0:
            raise ClassroomError(f"no student named {name!r}")

    def students(self) -> list[tuple[str, float]]:
        return self._query("SELECT name, created FROM students ORDER BY name")

    def who(self, token: str | None) -> str | None:
        """The student this token belongs to, or None."""
        if not token or not token.startswith(TOKEN_PREFIX):
            return None
        row = self._query("SELECT name FROM students WHERE token_sha256 = ?", (digest(token),))
        return row[0][0] if row else None

    # -- usage --------------------------------------------------------------------------

    def record(self, student: str, path: str, model: str | None, upstream: str | None, status: int,
               prompt_tokens: int, completion_tokens: int, usd: float) -> None:
        self._tx("INSERT INTO usage (student, day, ts, path, model, upstream, status, prompt_tokens, "
                 "completion_tokens, usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (student, today(), time.time(), path, model, upstream, status, prompt_tokens,
                  completion_tokens, usd))

    def used(self, student: str, day: str | None = None) -> Used:
        (n, toks, usd), = self._query(
            "SELECT COUNT(*), COALESCE(SUM(prompt_tokens + completion_tokens), 0), COALESCE(SUM(usd), 0) "
            "FROM usage WHERE student = ? AND day = ?", (student, day or today()))
        return Used(n, toks, usd)

    def report(self, day: str | None = None) -> list[dict]:
        """Per student per day: requests, tokens in and out, USD (one day, or every day if day='*')."""
        where, args = ("", ()) if day == "*" else ("WHERE day = ?", (day or today(),))
        rows = self._query(
            "SELECT day, student, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(usd), "
            f"SUM(status >= 400) FROM usage {where} GROUP BY day, student ORDER BY day, student", args)
        return [{"day": d, "student": s, "requests": n, "prompt_tokens": p, "completion_tokens": c,
                 "usd": round(u, 6), "errors": e} for d, s, n, p, c, u, e in rows]


def over_quota(used: Used, quota) -> str | None:
    """Which daily limit `used` has reached, in words, or None."""
    if quota.requests_per_day is not None and used.requests >= quota.requests_per_day:
        return f"{quota.requests_per_day} requests per day (used {used.requests})"
    if quota.tokens_per_day is not None and used.tokens >= quota.tokens_per_day:
        return f"{quota.tokens_per_day:,} tokens per day (used {used.tokens:,})"
    if quota.usd_per_day is not None and used.usd >= quota.usd_per_day:
        from .usage import usd

        return f"{usd(quota.usd_per_day)} per day (used {usd(used.usd)})"
    return None


def cost(model: str | None, provider: str | None, prompt_tokens: int, completion_tokens: int) -> float:
    """What the instructor pays for this: the list price at a real provider, else $0."""
    if not provider or not model:
        return 0.0
    from . import catalog
    from .usage import cost as list_cost

    return list_cost(provider, catalog.find(model), prompt_tokens, completion_tokens) or 0.0


# -- the command line -------------------------------------------------------------------------

def add_commands(sub) -> None:
    c = sub.add_parser("classroom", help="students' tokens, quotas and usage for a shared gateway",
                       description="Manage classroom mode's students (see docs/classroom.md). The database is "
                                   "the one named in gateway.toml's [classroom] db, or --db.")
    c.add_argument("--config", default="gateway.toml", help="the gateway's config (default: %(default)s)")
    c.add_argument("--db", default=None, help="the classroom database (overrides the config's)")
    cs = c.add_subparsers(dest="action", required=True)
    a = cs.add_parser("add", help="add a student and print their token (shown once)")
    a.add_argument("name")
    r = cs.add_parser("remove", help="remove a student: their token stops working")
    r.add_argument("name")
    cs.add_parser("list", help="the students (never their tokens)")
    rep = cs.add_parser("report", help="requests, tokens and cost per student per day")
    rep.add_argument("--day", default=None, help="YYYY-MM-DD (default: today, UTC)")
    rep.add_argument("--all", action="store_true", help="every day")
    c.set_defaults(func=_cli)


def _db_path(args) -> Path:
    if args.db:
        return Path(args.db)
    from .server.gateway_config import load

    cfg = Path(args.config)
    if not cfg.exists():
        raise ClassroomError(f"no {cfg} here: give --config FILE (with a [classroom] section) or --db FILE")
    conf = load(cfg)
    if conf.classroom is None:
        raise ClassroomError(f"{cfg} has no [classroom] section: add one (db = \"classroom.sqlite\") or give --db")
    return conf.classroom.db


def _cli(args) -> int:
    import sys

    from .server.gateway_config import ConfigError
    from .usage import usd

    try:
        store = Store(_db_path(args))
        if args.action == "add":
            token = store.add(args.name)
            print(token)
            print(f"# {args.name}'s token, shown once: they set LLMKIT_GATEWAY_URL to the gateway's address "
                  "and this as their key", file=sys.stderr)
        elif args.action == "remove":
            store.remove(args.name)
            print(f"removed {args.name}")
        elif args.action == "list":
            for name, created in store.students():
                when = datetime.fromtimestamp(created, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
                print(f"{name}\tadded {when}")
        else:
            rows = store.report("*" if args.all else args.day)
            print(f"{'day':<10}  {'student':<20} {'requests':>8} {'tokens in':>10} {'tokens out':>10} "
                  f"{'errors':>6} {'cost':>10}")
            for r in rows:
                print(f"{r['day']:<10}  {r['student']:<20} {r['requests']:>8} {r['prompt_tokens']:>10} "
                      f"{r['completion_tokens']:>10} {r['errors']:>6} {usd(r['usd']):>10}")
            if not rows:
                print("(no requests)")
        return 0
    except (ClassroomError, ConfigError) as e:
        print(f"llmkit classroom: {e}", file=sys.stderr)
        return 2
