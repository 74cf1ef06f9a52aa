"""The scratch database every bench makes next to the one in DATABASE_URL."""

from __future__ import annotations

import sys
from typing import Any


def scratch_database_url(url: str, *, suffix: str, script: str) -> str:
    """The same server and credentials, database '<name><suffix>', dropped and created empty."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        sys.exit(f"bench/{script} needs PostgreSQL: set DATABASE_URL=postgres://...")
    name = f"{config['NAME']}{suffix}"
    params: dict[str, Any] = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    head, _sep, tail = url.rpartition("/")
    query = "?" + tail.split("?", 1)[1] if "?" in tail else ""
    return f"{head}/{name}{query}"
