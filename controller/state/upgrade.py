"""A state database made by an older plumb, brought up to this one's tables.

`create_all` makes missing tables but never adds a column to a table that exists; the
columns added since the first release are added here, each with a default that reads as
"not recorded" for the rows already there (so their hashes in the chain do not change).
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

ADDED = {
    "runs": {
        "commit_date": "VARCHAR(40) NOT NULL DEFAULT ''",
        "waivers": "JSON NOT NULL DEFAULT '[]'",
        "seal": "VARCHAR(16) NOT NULL DEFAULT ''",
        "actor": "JSON NOT NULL DEFAULT '{}'",
        "drift": "JSON NOT NULL DEFAULT '{}'",
        "exceptions": "JSON NOT NULL DEFAULT '[]'",
    },
    "resources": {
        "drift_since": "{timestamp} NULL",
        "drift_seen": "JSON NOT NULL DEFAULT '[]'",
        "drift_retry_at": "{timestamp} NULL",
    },
}


def add_missing_columns(conn: Connection) -> list[str]:
    """Add each column an older database lacks; returns "table.column" for each added."""
    # UtcDateTime's column type: SQLite keeps it as text, PostgreSQL as a timestamp.
    timestamp = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    found = inspect(conn)
    added = []
    for table, columns in ADDED.items():
        have = {c["name"] for c in found.get_columns(table)}
        for name, ddl in columns.items():
            if name not in have:
                ddl = ddl.replace("{timestamp}", timestamp)
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}"))
                added.append(f"{table}.{name}")
    return added
