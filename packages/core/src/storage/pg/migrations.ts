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

import type { Migration } from "../Migration.js"

export type { Migration }

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
  },
  {
    version: 2,
    name: "user-cascade-lockouts-outbox-order-key-check",
    sql: `
-- A user's TOTP state, links and messages reference its row with ON DELETE CASCADE: deleting the
-- user deletes them in its transaction, and nothing can be written for a user that does not exist.
-- Rows of users that no longer exist (left behind by a TOTP enrolment that raced the user's
-- deletion) are deleted first.

-- The hashes of the live links of deleted users, kept until they expire so that such a link
-- answers "user deleted" rather than "invalid". No user id, no address.
CREATE TABLE deleted_user_links (
  token_hash text COLLATE "C" PRIMARY KEY,
  tenant_id  text COLLATE "C" NOT NULL,
  expires_at bigint NOT NULL
);
INSERT INTO deleted_user_links (token_hash, tenant_id, expires_at)
  SELECT token_hash, tenant_id, expires_at FROM magic_links WHERE revoked = 'user-deleted';

-- revoked: 'replaced' | 'email-changed'.
DELETE FROM magic_links l
  WHERE l.revoked = 'user-deleted'
     OR NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = l.tenant_id AND u.user_id = l.user_id);
ALTER TABLE magic_links ADD CONSTRAINT magic_links_user_fkey
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE;

-- pending_since: when the pending secret was written (it lapses after the enrolment lifetime);
-- pending secrets of before this version count from now. lockouts and locked_until: the
-- escalating back-off (the lock-outs in a row, the end of the last one).
DELETE FROM user_totp t
  WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = t.tenant_id AND u.user_id = t.user_id);
ALTER TABLE user_totp
  ADD COLUMN pending_since bigint,
  ADD COLUMN lockouts integer NOT NULL DEFAULT 0,
  ADD COLUMN locked_until bigint,
  ADD CONSTRAINT user_totp_user_fkey
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE;
UPDATE user_totp SET pending_since = (extract(epoch FROM clock_timestamp()) * 1000)::bigint
  WHERE pending_secret IS NOT NULL;

-- seq: the order in which messages were written (a user's are delivered in this order). A
-- sequence default, so that replicas still running the previous version can write messages
-- during a rolling upgrade. status 'superseded': a newer link revoked the message's link before
-- it was delivered.
DELETE FROM outbox o
  WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = o.tenant_id AND u.user_id = o.user_id);
CREATE SEQUENCE outbox_seq;
ALTER TABLE outbox ADD COLUMN seq bigint;
UPDATE outbox o SET seq = r.n
  FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM outbox) r
  WHERE o.id = r.id;
SELECT setval('outbox_seq', coalesce((SELECT max(seq) FROM outbox), 0) + 1, false);
ALTER TABLE outbox
  ALTER COLUMN seq SET DEFAULT nextval('outbox_seq'),
  ALTER COLUMN seq SET NOT NULL,
  DROP CONSTRAINT outbox_status_check,
  ADD CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'sent', 'expired', 'failed', 'superseded')),
  ADD CONSTRAINT outbox_user_fkey
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE;
ALTER SEQUENCE outbox_seq OWNED BY outbox.seq;
DROP INDEX outbox_by_user;
CREATE INDEX outbox_by_user ON outbox (tenant_id, user_id, seq);
-- Messages queued before this version behind a newer one of the same user hold revoked links.
UPDATE outbox o SET status = 'superseded'
  WHERE o.status = 'pending'
    AND EXISTS (SELECT 1 FROM outbox n WHERE n.tenant_id = o.tenant_id AND n.user_id = o.user_id AND n.seq > o.seq);

-- The encryption keyring's check value (one row): sealed under the first key, opened at start, so
-- that a wrong key stops the start instead of failing every TOTP code.
CREATE TABLE keyring_check (
  id     integer PRIMARY KEY CHECK (id = 1),
  sealed text NOT NULL
);
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
-- device (SPEC 5.3; a wrong number revokes it: revoked 'handoff-denied'). Replicas still on
-- version 2 write links with the defaults (no code, not a handoff's).
ALTER TABLE magic_links
  ADD COLUMN code_hash text COLLATE "C",
  ADD COLUMN code_key_id text COLLATE "C",
  ADD COLUMN code_failures integer NOT NULL DEFAULT 0,
  ADD COLUMN handoff boolean NOT NULL DEFAULT false;

-- SPEC 5.1: a user's recovery codes, as keyed hashes (under the key of id key_id), each usable
-- once. A new set replaces the old one; turning TOTP off deletes them; so does deleting the user.
CREATE TABLE recovery_codes (
  tenant_id  text COLLATE "C" NOT NULL,
  user_id    text COLLATE "C" NOT NULL,
  code_hash  text COLLATE "C" NOT NULL,
  key_id     text COLLATE "C" NOT NULL,
  created_at bigint NOT NULL,
  used_at    bigint,
  PRIMARY KEY (tenant_id, user_id, code_hash),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);

-- SPEC 5.3: a sign-in waiting on one device for its link to be opened on another. Only the
-- SHA-256 of the handoff id is kept. status 'claimed': approved and handed over to one reader.
-- It goes with its link (purged once expired) and with its user.
CREATE TABLE handoffs (
  id_hash      text COLLATE "C" PRIMARY KEY,
  tenant_id    text COLLATE "C" NOT NULL,
  user_id      text COLLATE "C" NOT NULL,
  token_hash   text COLLATE "C" NOT NULL UNIQUE REFERENCES magic_links (token_hash) ON DELETE CASCADE,
  match_number integer NOT NULL,
  choices      text NOT NULL,
  created_at   bigint NOT NULL,
  expires_at   bigint NOT NULL,
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'claimed')),
  decided_at   bigint,
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX handoffs_by_user ON handoffs (tenant_id, user_id);
`
  },
  {
    version: 4,
    name: "events-and-webhooks",
    sql: `
-- SPEC 6.1: the event log. xid: the transaction that wrote the event. Ids are handed out before
-- commit, so replicas commit them out of id order; readers see only events of transactions older
-- than every transaction still running (xid < pg_snapshot_xmin(pg_current_snapshot())), in
-- (xid, id) order: a transaction that commits later has an xid at or above that bound, so its
-- events sort after every position a reader has passed. data never holds a token, code, secret
-- or e-mail address.
CREATE TABLE events (
  id          text COLLATE "C" PRIMARY KEY,
  xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
  tenant_id   text COLLATE "C" NOT NULL,
  type        text COLLATE "C" NOT NULL,
  occurred_at bigint NOT NULL,
  user_id     text COLLATE "C",
  actor       text COLLATE "C",
  data        text NOT NULL
);
CREATE INDEX events_by_position ON events (tenant_id, xid, id);
CREATE INDEX events_by_time ON events (occurred_at);

-- SPEC 6.3: a tenant's webhook endpoints. events: ',type,type,' (or ',*,'). The secrets are
-- sealed (AES-256-GCM under the encryption keys); previous_secret signs beside the current one
-- until previous_until (a rotation's overlap). failing_since: the first failed attempt since the
-- last success.
CREATE TABLE webhooks (
  id              text COLLATE "C" PRIMARY KEY,
  tenant_id       text COLLATE "C" NOT NULL REFERENCES tenants (tenant_id),
  url             text NOT NULL,
  events          text COLLATE "C" NOT NULL,
  enabled         boolean NOT NULL DEFAULT true,
  created_at      bigint NOT NULL,
  secret          text NOT NULL,
  previous_secret text,
  previous_until  bigint,
  failing_since   bigint
);
CREATE INDEX webhooks_by_tenant ON webhooks (tenant_id);

-- One delivery per event and webhook, written with the event; the event id is its id (and the
-- webhook-id header: the receiver's idempotency key). Leased by workers as the mail outbox is.
CREATE TABLE webhook_deliveries (
  webhook_id      text COLLATE "C" NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event_id        text COLLATE "C" NOT NULL,
  tenant_id       text COLLATE "C" NOT NULL,
  event_type      text COLLATE "C" NOT NULL,
  payload         text NOT NULL,
  created_at      bigint NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL,
  lease_until     bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (created_at);

-- Each attempt: when, the status answered, how long it took, the error.
CREATE TABLE webhook_attempts (
  webhook_id      text COLLATE "C" NOT NULL,
  event_id        text COLLATE "C" NOT NULL,
  attempt         integer NOT NULL,
  attempted_at    bigint NOT NULL,
  status_code     integer,
  duration_millis integer NOT NULL,
  error           text,
  PRIMARY KEY (webhook_id, event_id, attempt),
  FOREIGN KEY (webhook_id, event_id) REFERENCES webhook_deliveries (webhook_id, event_id) ON DELETE CASCADE
);
`
  }
]
