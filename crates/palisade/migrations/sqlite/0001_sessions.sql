-- Palisade server-side sessions.
--
-- `key` is the SHA-256 of the session id (32 bytes, see `StoreKey`): the id
-- itself is never stored, so a copy of this table holds nothing that could be
-- put in a cookie. `data` is a JSON object, changed key by key with
-- `json_set`/`json_remove`. Times are unix seconds.
CREATE TABLE IF NOT EXISTS palisade_sessions (
    key        BLOB    NOT NULL PRIMARY KEY CHECK (length(key) = 32),
    data       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- created_at + the absolute timeout: expires_at never passes it.
    deadline   INTEGER NOT NULL,
    -- Set at login; the index below serves sessions_of / revoke_all.
    user_id    TEXT,
    ip         TEXT,
    user_agent TEXT
);

-- `load`/`apply` filter on it per key; `sweep` deletes by it in bulk.
CREATE INDEX IF NOT EXISTS palisade_sessions_expires_at ON palisade_sessions (expires_at);

-- "Your devices" and "log out everywhere": one user's sessions.
CREATE INDEX IF NOT EXISTS palisade_sessions_user_id ON palisade_sessions (user_id) WHERE user_id IS NOT NULL;
