-- Palisade server-side sessions (PostgreSQL).
--
-- The version number is deliberately not `0001`: sqlx keeps every migrator's
-- history in one `_sqlx_migrations` table per schema, and an application's own
-- `0001_…` migration would otherwise collide with this one.
--
-- `key` is the SHA-256 of the session id (32 bytes, see `StoreKey`): the id
-- itself is never stored, so a copy of this table holds nothing that could be
-- put in a cookie. `data` is a JSON object, changed key by key with the jsonb
-- operators `-` and `||`. Times are unix seconds.
CREATE TABLE IF NOT EXISTS palisade_sessions (
    key        bytea  NOT NULL PRIMARY KEY CONSTRAINT palisade_sessions_key_is_sha256 CHECK (octet_length(key) = 32),
    -- Only an object can be changed key by key; `||` on an array would append.
    data       jsonb  NOT NULL CONSTRAINT palisade_sessions_data_is_object CHECK (jsonb_typeof(data) = 'object'),
    created_at bigint NOT NULL,
    last_seen  bigint NOT NULL,
    expires_at bigint NOT NULL,
    -- created_at + the absolute timeout: expires_at never passes it.
    deadline   bigint NOT NULL,
    -- Set at login; the index below serves sessions_of / revoke_all.
    user_id    text,
    ip         text,
    user_agent text
);

-- `sweep` deletes by it in bulk (`load`/`apply` go by the primary key).
CREATE INDEX IF NOT EXISTS palisade_sessions_expires_at ON palisade_sessions (expires_at);

-- "Your devices" and "log out everywhere": one user's sessions.
CREATE INDEX IF NOT EXISTS palisade_sessions_user_id ON palisade_sessions (user_id) WHERE user_id IS NOT NULL;
