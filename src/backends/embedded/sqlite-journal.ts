import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { ChangeRecord, ChangeRowId } from "../../store/memory-view.ts";
import type { JsonValue } from "../../store/state-store.ts";

export interface LeaseRecord {
  readonly id: number;
  /** Granted TTL, seconds. */
  readonly ttl: number;
  /** Wall-clock deadline, ms since the epoch: persisted so a restart keeps the same deadline. */
  readonly expiresAt: number;
}

export interface JournalContents {
  readonly revision: number;
  readonly compactRevision: number;
  readonly changes: ChangeRecord[];
  readonly leases: LeaseRecord[];
}

const SCHEMA_VERSION = 1;

/**
 * The embedded backend's durable log: one SQLite file in WAL mode with synchronous=FULL, so a
 * COMMIT returns only after the WAL is fsynced. The `changes` table is the whole state: every
 * key's history since compaction, from which the in-memory view is rebuilt at start.
 * Synchronous by design (node:sqlite): the store batches many writes into one transaction.
 */
export class SqliteJournal {
  readonly #db: DatabaseSync;
  readonly #insertChange: StatementSync;
  readonly #deleteChange: StatementSync;
  readonly #setMeta: StatementSync;
  readonly #upsertLease: StatementSync;
  readonly #deleteLease: StatementSync;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
    this.#db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = FULL;
      PRAGMA foreign_keys = OFF;
      CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS changes (
        revision INTEGER NOT NULL,
        key TEXT NOT NULL,
        deleted INTEGER NOT NULL,
        value TEXT,
        create_revision INTEGER NOT NULL,
        version INTEGER NOT NULL,
        lease INTEGER NOT NULL,
        PRIMARY KEY (revision, key)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS leases (id INTEGER PRIMARY KEY, ttl REAL NOT NULL, expires_at INTEGER NOT NULL);
      INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ${SCHEMA_VERSION}), ('revision', 1), ('compact_revision', 0);
    `);
    const schema = this.#meta("schema_version");
    if (schema !== SCHEMA_VERSION) {
      this.#db.close();
      throw new Error(`${path} has store schema ${schema}; this Berth understands schema ${SCHEMA_VERSION}`);
    }
    this.#insertChange = this.#db.prepare(
      "INSERT INTO changes (revision, key, deleted, value, create_revision, version, lease) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.#deleteChange = this.#db.prepare("DELETE FROM changes WHERE revision = ? AND key = ?");
    this.#setMeta = this.#db.prepare("UPDATE meta SET value = ? WHERE name = ?");
    this.#upsertLease = this.#db.prepare(
      "INSERT INTO leases (id, ttl, expires_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET ttl = excluded.ttl, expires_at = excluded.expires_at",
    );
    this.#deleteLease = this.#db.prepare("DELETE FROM leases WHERE id = ?");
  }

  load(): JournalContents {
    const changes: ChangeRecord[] = [];
    const rows = this.#db
      .prepare(
        "SELECT revision, key, deleted, value, create_revision, version, lease FROM changes ORDER BY revision, key",
      )
      .iterate();
    for (const row of rows as Iterable<Record<string, number | string | null>>) {
      changes.push({
        revision: row.revision as number,
        key: row.key as string,
        deleted: row.deleted === 1,
        value: row.value === null ? null : (deepFreeze(JSON.parse(row.value as string)) as JsonValue),
        create_revision: row.create_revision as number,
        version: row.version as number,
        lease: row.lease as number,
      });
    }
    const leases = (
      this.#db.prepare("SELECT id, ttl, expires_at FROM leases").all() as {
        id: number;
        ttl: number;
        expires_at: number;
      }[]
    ).map((row) => ({ id: row.id, ttl: row.ttl, expiresAt: row.expires_at }));
    return { revision: this.#meta("revision"), compactRevision: this.#meta("compact_revision"), changes, leases };
  }

  begin(): void {
    this.#db.exec("BEGIN IMMEDIATE");
  }

  /** Returns once the transaction is durable (WAL fsynced). */
  commit(): void {
    this.#db.exec("COMMIT");
  }

  rollback(): void {
    if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
  }

  appendChange(change: ChangeRecord): void {
    this.#insertChange.run(
      change.revision,
      change.key,
      change.deleted ? 1 : 0,
      change.deleted ? null : JSON.stringify(change.value),
      change.create_revision,
      change.version,
      change.lease,
    );
  }

  dropChanges(rows: readonly ChangeRowId[]): void {
    for (const row of rows) this.#deleteChange.run(row.revision, row.key);
  }

  setRevision(revision: number): void {
    this.#setMeta.run(revision, "revision");
  }

  setCompactRevision(revision: number): void {
    this.#setMeta.run(revision, "compact_revision");
  }

  saveLease(lease: LeaseRecord): void {
    this.#upsertLease.run(lease.id, lease.ttl, lease.expiresAt);
  }

  dropLease(id: number): void {
    this.#deleteLease.run(id);
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  #meta(name: string): number {
    const row = this.#db.prepare("SELECT value FROM meta WHERE name = ?").get(name) as { value: number } | undefined;
    return row?.value ?? 0;
  }
}

function deepFreeze(value: unknown): unknown {
  if (value !== null && typeof value === "object") {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
