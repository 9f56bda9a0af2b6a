-- Palisade attempt counters (`palisade::throttle`): password guesses and
-- registrations per account and network, shared by every app instance.
--
-- `key` is a SHA-256 digest the throttle computes from the account name and
-- the client network: no user name or address is stored in clear. `allowed`
-- is the verdict of the last `take` (read back with RETURNING, so that the
-- check and the count are one statement). Times are unix seconds.
CREATE TABLE IF NOT EXISTS palisade_attempts (
    key        bytea   NOT NULL PRIMARY KEY CONSTRAINT palisade_attempts_key_is_sha256 CHECK (octet_length(key) = 32),
    count      bigint  NOT NULL,
    not_before bigint  NOT NULL,
    expires_at bigint  NOT NULL,
    allowed    boolean NOT NULL
);

CREATE INDEX IF NOT EXISTS palisade_attempts_expires_at ON palisade_attempts (expires_at);
