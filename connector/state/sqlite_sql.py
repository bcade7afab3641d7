"""SQL of the SQLite state file.

Tables are keyed by sync name, so several syncs can share one file. The
fingerprint and reject tables are WITHOUT ROWID tables clustered on
``(sync_name, order_key)``, which makes a lookup one B-tree search.
"""

from __future__ import annotations

#: Stored in ``PRAGMA user_version``; a newer file is not opened.
SCHEMA_VERSION = 1

CREATE_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS syncs (
        sync_name TEXT PRIMARY KEY,
        high_water_mark TEXT,
        child_marks TEXT NOT NULL DEFAULT '{}',
        mapping_fingerprint TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS fingerprints (
        sync_name TEXT NOT NULL,
        order_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        PRIMARY KEY (sync_name, order_key)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE IF NOT EXISTS pending_rejects (
        sync_name TEXT NOT NULL,
        order_key TEXT NOT NULL,
        stage TEXT NOT NULL,
        reason TEXT NOT NULL,
        order_id TEXT,
        field_path TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        PRIMARY KEY (sync_name, order_key)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE IF NOT EXISTS locks (
        sync_name TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        owner TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        acquired_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL
    )
    """,
)

SELECT_SYNC = """
    SELECT high_water_mark, child_marks, mapping_fingerprint, created_at,
           updated_at
    FROM syncs WHERE sync_name = ?
"""
INSERT_SYNC = """
    INSERT INTO syncs (sync_name, created_at, updated_at) VALUES (?, ?, ?)
    ON CONFLICT (sync_name) DO NOTHING
"""
SELECT_CHILD_MARKS = "SELECT child_marks FROM syncs WHERE sync_name = ?"
#: ``{assignments}`` is built from fixed column names only.
UPDATE_SYNC = "UPDATE syncs SET {assignments} WHERE sync_name = ?"

#: ``{marks}`` is a list of ``?`` placeholders, one per key.
SELECT_FINGERPRINTS = """
    SELECT order_key, fingerprint FROM fingerprints
    WHERE sync_name = ? AND order_key IN ({marks})
"""
UPSERT_FINGERPRINT = """
    INSERT INTO fingerprints (sync_name, order_key, fingerprint) VALUES (?, ?, ?)
    ON CONFLICT (sync_name, order_key)
    DO UPDATE SET fingerprint = excluded.fingerprint
"""
DELETE_FINGERPRINT = "DELETE FROM fingerprints WHERE sync_name = ? AND order_key = ?"
COUNT_FINGERPRINTS = "SELECT count(*) FROM fingerprints WHERE sync_name = ?"

SELECT_REJECTS = """
    SELECT order_key, stage, reason, order_id, field_path, first_seen,
           last_seen, attempts
    FROM pending_rejects WHERE sync_name = ?
    ORDER BY first_seen, order_key
"""
UPSERT_REJECT = """
    INSERT INTO pending_rejects (
        sync_name, order_key, stage, reason, order_id, field_path,
        first_seen, last_seen, attempts
    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)
    ON CONFLICT (sync_name, order_key) DO UPDATE SET
        stage = excluded.stage,
        reason = excluded.reason,
        order_id = excluded.order_id,
        field_path = excluded.field_path,
        last_seen = excluded.last_seen,
        attempts = pending_rejects.attempts + 1
"""
DELETE_REJECT = "DELETE FROM pending_rejects WHERE sync_name = ? AND order_key = ?"
ANY_REJECT = "SELECT 1 FROM pending_rejects WHERE sync_name = ? LIMIT 1"
COUNT_REJECTS = """
    SELECT stage, count(*) FROM pending_rejects WHERE sync_name = ?
    GROUP BY stage
"""

DELETE_SYNC_STATE = (
    "DELETE FROM fingerprints WHERE sync_name = ?",
    "DELETE FROM pending_rejects WHERE sync_name = ?",
    "DELETE FROM syncs WHERE sync_name = ?",
)

_LOCK_COLUMNS = "token, owner, host, pid, acquired_at, heartbeat_at"
SELECT_LOCK = f"SELECT {_LOCK_COLUMNS} FROM locks WHERE sync_name = ?"
INSERT_LOCK = f"""
    INSERT INTO locks (sync_name, {_LOCK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (sync_name) DO NOTHING
"""
REPLACE_LOCK = """
    UPDATE locks SET token = ?, owner = ?, host = ?, pid = ?, acquired_at = ?,
                     heartbeat_at = ?
    WHERE sync_name = ? AND token = ?
"""
TOUCH_LOCK = "UPDATE locks SET heartbeat_at = ? WHERE sync_name = ? AND token = ?"
DELETE_LOCK = "DELETE FROM locks WHERE sync_name = ? AND token = ?"
DELETE_ANY_LOCK = "DELETE FROM locks WHERE sync_name = ?"
