/**
 * The PostgreSQL schema as versioned migrations, applied in order at start (see `migrate`). The
 * same tables as the SQLite schema, in PostgreSQL types: times are `bigint` epoch milliseconds,
 * counters `integer`, everything else `text`. Identifiers use the "C" collation, so that they
 * compare and sort byte by byte as in SQLite (token ids and message ids are sort keys).
 *
 * Append new versions; never edit one that has shipped. One schema definition per dialect: a
 * change here has its twin in `../sqlite/migrations.ts`.
 *
 * @since 0.0.0
 */

/** @since 0.0.0 */
export interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
}

/**
 * The key of the transaction-level advisory lock that serializes migrations across replicas
 * starting at once: the ASCII bytes of "lagrello" as a bigint.
 * @since 0.0.0
 */
export const migrationLockKey = "7809644677413266543"

/** @since 0.0.0 */
export const migrations: ReadonlyArray<Migration> = [
  {
    version: 1,
    name: "initial",
    sql: `
CREATE TABLE tenants (
  tenant_id    text COLLATE "C" PRIMARY KEY,
  name         text COLLATE "C" NOT NULL UNIQUE,
  callback_url text NOT NULL DEFAULT '',
  created_at   bigint NOT NULL
);

CREATE TABLE access_tokens (
  token_id    text COLLATE "C" PRIMARY KEY,
  tenant_id   text COLLATE "C" NOT NULL REFERENCES tenants (tenant_id),
  name        text NOT NULL,
  secret_hash text COLLATE "C" NOT NULL,
  permissions text NOT NULL,
  created_by  text NOT NULL,
  created_at  bigint NOT NULL,
  revoked_at  bigint
);
CREATE UNIQUE INDEX access_tokens_by_hash ON access_tokens (secret_hash);
CREATE INDEX access_tokens_by_tenant ON access_tokens (tenant_id, created_at, token_id);

CREATE TABLE users (
  tenant_id  text COLLATE "C" NOT NULL REFERENCES tenants (tenant_id),
  user_id    text COLLATE "C" NOT NULL,
  email      text,
  created_at bigint NOT NULL,
  PRIMARY KEY (tenant_id, user_id)
);

-- Only the SHA-256 of a link's token is kept. revoked: 'replaced' | 'email-changed' | 'user-deleted'.
CREATE TABLE magic_links (
  token_hash  text COLLATE "C" PRIMARY KEY,
  tenant_id   text COLLATE "C" NOT NULL,
  user_id     text COLLATE "C" NOT NULL,
  created_at  bigint NOT NULL,
  expires_at  bigint NOT NULL,
  consumed_at bigint,
  revoked     text
);
CREATE INDEX magic_links_by_user ON magic_links (tenant_id, user_id, created_at);

-- Secrets are sealed with AES-256-GCM; the failure counter is shared by every replica.
CREATE TABLE user_totp (
  tenant_id        text COLLATE "C" NOT NULL,
  user_id          text COLLATE "C" NOT NULL,
  confirmed_secret text,
  pending_secret   text,
  last_step        bigint,
  failures         integer NOT NULL DEFAULT 0,
  last_failure_at  bigint,
  PRIMARY KEY (tenant_id, user_id)
);

-- The transactional outbox: a message is written with its link and delivered by a worker.
CREATE TABLE outbox (
  id              text COLLATE "C" PRIMARY KEY,
  tenant_id       text COLLATE "C" NOT NULL,
  user_id         text COLLATE "C" NOT NULL,
  sealed          text NOT NULL,
  created_at      bigint NOT NULL,
  expires_at      bigint NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'expired', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL,
  lease_until     bigint NOT NULL DEFAULT 0,
  last_error      text
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_user ON outbox (tenant_id, user_id);
CREATE INDEX outbox_by_created ON outbox (created_at);
`
  }
]
