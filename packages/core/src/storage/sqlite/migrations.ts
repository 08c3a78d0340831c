/**
 * The SQLite schema as versioned migrations, applied in order at start. Append new versions;
 * never edit one that has shipped.
 *
 * @since 0.0.0
 */

import type { Migration } from "../Migration.js"

export type { Migration }

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
  },
  {
    version: 2,
    name: "user-cascade-lockouts-outbox-order-key-check",
    sql: `
-- A user's TOTP state, links and messages reference its row with ON DELETE CASCADE: deleting the
-- user deletes them in its transaction, and nothing can be written for a user that does not exist.
-- SQLite adds a foreign key only by rebuilding the table. Rows of users that no longer exist (left
-- behind by a TOTP enrolment that raced the user's deletion) are not copied.

-- The hashes of the live links of deleted users, kept until they expire so that such a link
-- answers "user deleted" rather than "invalid". No user id, no address.
CREATE TABLE deleted_user_links (
  token_hash TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
INSERT INTO deleted_user_links (token_hash, tenant_id, expires_at)
  SELECT token_hash, tenant_id, expires_at FROM magic_links WHERE revoked = 'user-deleted';

-- revoked: 'replaced' | 'email-changed'.
CREATE TABLE magic_links_v2 (
  token_hash  TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL,
  user_id     TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  consumed_at INTEGER,
  revoked     TEXT,
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
) STRICT;
INSERT INTO magic_links_v2 (token_hash, tenant_id, user_id, created_at, expires_at, consumed_at, revoked)
  SELECT l.token_hash, l.tenant_id, l.user_id, l.created_at, l.expires_at, l.consumed_at, l.revoked
  FROM magic_links l
  WHERE l.revoked IS NOT 'user-deleted'
    AND EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = l.tenant_id AND u.user_id = l.user_id);
DROP TABLE magic_links;
ALTER TABLE magic_links_v2 RENAME TO magic_links;
CREATE INDEX magic_links_by_user ON magic_links (tenant_id, user_id, created_at);

-- pending_since: when the pending secret was written (it lapses after the enrolment lifetime);
-- pending secrets of before this version count from now. lockouts and locked_until: the
-- escalating back-off (the lock-outs in a row, the end of the last one).
CREATE TABLE user_totp_v2 (
  tenant_id        TEXT NOT NULL,
  user_id          TEXT NOT NULL,
  confirmed_secret TEXT,
  pending_secret   TEXT,
  pending_since    INTEGER,
  last_step        INTEGER,
  failures         INTEGER NOT NULL DEFAULT 0,
  last_failure_at  INTEGER,
  lockouts         INTEGER NOT NULL DEFAULT 0,
  locked_until     INTEGER,
  PRIMARY KEY (tenant_id, user_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
) STRICT;
INSERT INTO user_totp_v2 (tenant_id, user_id, confirmed_secret, pending_secret, pending_since, last_step, failures,
                          last_failure_at)
  SELECT t.tenant_id, t.user_id, t.confirmed_secret, t.pending_secret,
         CASE WHEN t.pending_secret IS NULL THEN NULL
              ELSE CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) END,
         t.last_step, t.failures, t.last_failure_at
  FROM user_totp t
  WHERE EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = t.tenant_id AND u.user_id = t.user_id);
DROP TABLE user_totp;
ALTER TABLE user_totp_v2 RENAME TO user_totp;

-- seq: the order in which messages were written (a user's are delivered in this order).
-- status 'superseded': a newer link revoked the message's link before it was delivered.
CREATE TABLE outbox_v2 (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL,
  user_id         TEXT NOT NULL,
  seq             INTEGER NOT NULL,
  sealed          TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'sent', 'expired', 'failed', 'superseded')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_until     INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
) STRICT;
INSERT INTO outbox_v2 (id, tenant_id, user_id, seq, sealed, created_at, expires_at, status, attempts,
                       next_attempt_at, lease_until, last_error)
  SELECT o.id, o.tenant_id, o.user_id, row_number() OVER (ORDER BY o.created_at, o.id), o.sealed, o.created_at,
         o.expires_at, o.status, o.attempts, o.next_attempt_at, o.lease_until, o.last_error
  FROM outbox o
  WHERE EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = o.tenant_id AND u.user_id = o.user_id);
DROP TABLE outbox;
ALTER TABLE outbox_v2 RENAME TO outbox;
CREATE UNIQUE INDEX outbox_by_seq ON outbox (seq);
CREATE INDEX outbox_by_user ON outbox (tenant_id, user_id, seq);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_created ON outbox (created_at);
-- Messages queued before this version behind a newer one of the same user hold revoked links.
UPDATE outbox SET status = 'superseded'
  WHERE status = 'pending'
    AND EXISTS (SELECT 1 FROM outbox n WHERE n.tenant_id = outbox.tenant_id AND n.user_id = outbox.user_id
                                         AND n.seq > outbox.seq);

-- The encryption keyring's check value (one row): sealed under the first key, opened at start, so
-- that a wrong key stops the start instead of failing every TOTP code.
CREATE TABLE keyring_check (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  sealed TEXT NOT NULL
) STRICT;
`
  },
  {
    version: 3,
    name: "recovery-codes-email-codes-handoffs",
    sql: `
-- SPEC 5.2: every sign-in mail carries a code beside its link; link and code are one challenge.
-- Only the code's keyed hash is kept (HMAC-SHA-256 under a key derived from the encryption key
-- of id code_key_id), and the wrong codes counted (the one that reaches the limit revokes the
-- link: revoked 'code-failures'). handoff: the link approves a sign-in waiting on another
-- device (SPEC 5.3; a wrong number revokes it: revoked 'handoff-denied').
ALTER TABLE magic_links ADD COLUMN code_hash TEXT;
ALTER TABLE magic_links ADD COLUMN code_key_id TEXT;
ALTER TABLE magic_links ADD COLUMN code_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE magic_links ADD COLUMN handoff INTEGER NOT NULL DEFAULT 0;

-- SPEC 5.1: a user's recovery codes, as keyed hashes (under the key of id key_id), each usable
-- once. A new set replaces the old one; turning TOTP off deletes them; so does deleting the user.
CREATE TABLE recovery_codes (
  tenant_id  TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  code_hash  TEXT NOT NULL,
  key_id     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  used_at    INTEGER,
  PRIMARY KEY (tenant_id, user_id, code_hash),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
) STRICT;

-- SPEC 5.3: a sign-in waiting on one device for its link to be opened on another. Only the
-- SHA-256 of the handoff id is kept. status 'claimed': approved and handed over to one reader.
-- It goes with its link (purged once expired) and with its user.
CREATE TABLE handoffs (
  id_hash      TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL,
  user_id      TEXT NOT NULL,
  token_hash   TEXT NOT NULL UNIQUE REFERENCES magic_links (token_hash) ON DELETE CASCADE,
  match_number INTEGER NOT NULL,
  choices      TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'claimed')),
  decided_at   INTEGER,
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX handoffs_by_user ON handoffs (tenant_id, user_id);
`
  },
  {
    version: 4,
    name: "events-and-webhooks",
    sql: `
-- SPEC 6.1: the event log. seq is handed out in the write transaction (SQLite has one writer at a
-- time), so it orders events as they were committed: a reader reads on after the last seq it saw.
-- data never holds a token, code, secret or e-mail address.
CREATE TABLE events (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  id          TEXT NOT NULL UNIQUE,
  tenant_id   TEXT NOT NULL,
  type        TEXT NOT NULL,
  occurred_at INTEGER NOT NULL,
  user_id     TEXT,
  actor       TEXT,
  data        TEXT NOT NULL
) STRICT;
CREATE INDEX events_by_tenant ON events (tenant_id, seq);
CREATE INDEX events_by_time ON events (occurred_at);

-- SPEC 6.3: a tenant's webhook endpoints. events: ',type,type,' (or ',*,'). The secrets are
-- sealed (AES-256-GCM under the encryption keys); previous_secret signs beside the current one
-- until previous_until (a rotation's overlap). failing_since: the first failed attempt since the
-- last success.
CREATE TABLE webhooks (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants (tenant_id),
  url             TEXT NOT NULL,
  events          TEXT NOT NULL,
  enabled         INTEGER NOT NULL DEFAULT 1,
  created_at      INTEGER NOT NULL,
  secret          TEXT NOT NULL,
  previous_secret TEXT,
  previous_until  INTEGER,
  failing_since   INTEGER
) STRICT;
CREATE INDEX webhooks_by_tenant ON webhooks (tenant_id);

-- One delivery per event and webhook, written with the event; the event id is its id (and the
-- webhook-id header: the receiver's idempotency key). Leased by workers as the mail outbox is.
CREATE TABLE webhook_deliveries (
  webhook_id      TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event_id        TEXT NOT NULL,
  tenant_id       TEXT NOT NULL,
  event_type      TEXT NOT NULL,
  payload         TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_until     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (webhook_id, event_id)
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (created_at);

-- Each attempt: when, the status answered, how long it took, the error.
CREATE TABLE webhook_attempts (
  webhook_id      TEXT NOT NULL,
  event_id        TEXT NOT NULL,
  attempt         INTEGER NOT NULL,
  attempted_at    INTEGER NOT NULL,
  status_code     INTEGER,
  duration_millis INTEGER NOT NULL,
  error           TEXT,
  PRIMARY KEY (webhook_id, event_id, attempt),
  FOREIGN KEY (webhook_id, event_id) REFERENCES webhook_deliveries (webhook_id, event_id) ON DELETE CASCADE
) STRICT;
`
  }
]
