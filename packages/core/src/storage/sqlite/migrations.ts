/**
 * The SQLite schema as versioned migrations, applied in order at start. Append new versions;
 * never edit one that has shipped.
 *
 * @since 0.0.0
 */

/** @since 0.0.0 */
export interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
}

/** @since 0.0.0 */
export const migrations: ReadonlyArray<Migration> = [
  {
    version: 1,
    name: "initial",
    sql: `
CREATE TABLE tenants (
  tenant_id    TEXT PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  callback_url TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE access_tokens (
  token_id    TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL REFERENCES tenants (tenant_id),
  name        TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  permissions TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
) STRICT;
CREATE UNIQUE INDEX access_tokens_by_hash ON access_tokens (secret_hash);
CREATE INDEX access_tokens_by_tenant ON access_tokens (tenant_id, created_at, token_id);

CREATE TABLE users (
  tenant_id  TEXT NOT NULL REFERENCES tenants (tenant_id),
  user_id    TEXT NOT NULL,
  email      TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, user_id)
) STRICT;

-- Only the SHA-256 of a link's token is kept. revoked: 'replaced' | 'email-changed' | 'user-deleted'.
CREATE TABLE magic_links (
  token_hash  TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL,
  user_id     TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  consumed_at INTEGER,
  revoked     TEXT
) STRICT;
CREATE INDEX magic_links_by_user ON magic_links (tenant_id, user_id, created_at);

-- Secrets are sealed with AES-256-GCM; the failure counter is shared by every process.
CREATE TABLE user_totp (
  tenant_id        TEXT NOT NULL,
  user_id          TEXT NOT NULL,
  confirmed_secret TEXT,
  pending_secret   TEXT,
  last_step        INTEGER,
  failures         INTEGER NOT NULL DEFAULT 0,
  last_failure_at  INTEGER,
  PRIMARY KEY (tenant_id, user_id)
) STRICT;

-- The transactional outbox: a message is written with its link and delivered by a worker.
CREATE TABLE outbox (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL,
  user_id         TEXT NOT NULL,
  sealed          TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'expired', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_until     INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_user ON outbox (tenant_id, user_id);
CREATE INDEX outbox_by_created ON outbox (created_at);
`
  }
]
