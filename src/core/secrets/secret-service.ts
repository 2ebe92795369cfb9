import type { JsonValue, KeyValue, StateStore } from "../../store/state-store.ts";
import type { Principal } from "../auth/principal.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import { NotFoundError } from "../errors/not-found-error.ts";
import { ValidationError } from "../errors/validation-error.ts";
import { writeInGrid } from "../grids/grid-scoped-write.ts";
import type { GridService } from "../grids/grid-service.ts";
import { parseInput } from "../validation/parse-input.ts";
import {
  newSecretSchema,
  type Secret,
  type SecretSummary,
  type StoredSecret,
  secretChangeSchema,
  secretNameSchema,
  storedSecretSchema,
} from "./secret-record.ts";

/** Secrets live under /secrets/<grid>/<name>; watch the prefix to follow changes. */
export const SECRETS_PREFIX = "/secrets/";

/**
 * The grid's vault. Values are sealed with the master key, bound to their store key, and only
 * ever come out one at a time through read(). Every member of the grid may use it.
 */
export class SecretService {
  readonly #store: StateStore;
  readonly #grids: GridService;
  readonly #box: SecretBox;

  constructor(store: StateStore, grids: GridService, box: SecretBox) {
    this.#store = store;
    this.#grids = grids;
    this.#box = box;
  }

  /** Names and times, never values. */
  async list(principal: Principal, grid: string): Promise<SecretSummary[]> {
    await this.#grids.assertContentAccess(principal, grid);
    const { kvs } = await this.#store.range(`${SECRETS_PREFIX}${grid}/`, { prefix: true });
    return kvs.map((kv) => summaryOf(grid, storedSecretSchema.parse(kv.value)));
  }

  /** Invalid input or a taken name is a ValidationError. */
  async create(principal: Principal, grid: string, body: unknown): Promise<SecretSummary> {
    await this.#grids.assertContentAccess(principal, grid);
    const input = parseInput(newSecretSchema, body);
    const key = secretKey(grid, input.name);
    const stored = await this.#write(grid, key, (current) => {
      if (current) throw new ValidationError({ name: "is already taken" });
      const now = new Date().toISOString();
      return { name: input.name, value_sealed: this.#box.seal(input.value, key), created_at: now, updated_at: now };
    });
    return summaryOf(grid, stored);
  }

  async read(principal: Principal, grid: string, name: string): Promise<Secret> {
    await this.#grids.assertContentAccess(principal, grid);
    const key = this.#existingKey(grid, name);
    const kv = await this.#store.get(key);
    if (!kv) throw notFound(grid, name);
    const stored = storedSecretSchema.parse(kv.value);
    return { ...summaryOf(grid, stored), value: this.#box.open(stored.value_sealed, key) };
  }

  /**
   * A secret's value for the master's own use (resolving an instance's secret refs for its agent),
   * with no principal: never reachable from a face. Null when the grid has no such secret.
   */
  async valueFor(grid: string, name: string): Promise<string | null> {
    if (!secretNameSchema.safeParse(name).success) return null;
    const key = secretKey(grid, name);
    const kv = await this.#store.get(key);
    if (!kv) return null;
    return this.#box.open(storedSecretSchema.parse(kv.value).value_sealed, key);
  }

  /** Sets a new value; NotFoundError for an unknown secret unless `upsert`. */
  async update(principal: Principal, grid: string, name: string, body: unknown): Promise<SecretSummary> {
    await this.#grids.assertContentAccess(principal, grid);
    const change = parseInput(secretChangeSchema, body);
    const key = change.upsert ? secretKey(grid, this.#validName(name)) : this.#existingKey(grid, name);
    const stored = await this.#write(grid, key, (current) => {
      if (!current && !change.upsert) throw notFound(grid, name);
      const now = new Date().toISOString();
      return {
        name,
        value_sealed: this.#box.seal(change.value, key),
        created_at: current?.created_at ?? now,
        updated_at: now,
      };
    });
    return summaryOf(grid, stored);
  }

  async remove(principal: Principal, grid: string, name: string): Promise<void> {
    await this.#grids.assertContentAccess(principal, grid);
    const { deleted } = await this.#store.delete(this.#existingKey(grid, name));
    if (deleted === 0) throw notFound(grid, name);
  }

  async #write(
    grid: string,
    key: string,
    change: (current: StoredSecret | undefined) => StoredSecret,
  ): Promise<StoredSecret> {
    const next = await writeInGrid(this.#store, this.#grids, grid, key, (kv: KeyValue | undefined) => {
      return change(kv && storedSecretSchema.parse(kv.value)) as unknown as JsonValue;
    });
    return storedSecretSchema.parse(next);
  }

  /** The key of a secret that may exist; a name no secret can have is simply not found. */
  #existingKey(grid: string, name: string): string {
    if (!secretNameSchema.safeParse(name).success) throw notFound(grid, name);
    return secretKey(grid, name);
  }

  /** A name for a secret about to be created (an upsert), checked like a new secret's. */
  #validName(name: string): string {
    const parsed = secretNameSchema.safeParse(name);
    if (!parsed.success) throw new ValidationError({ name: parsed.error.issues[0]?.message ?? "is invalid" });
    return parsed.data;
  }
}

const secretKey = (grid: string, name: string): string => `${SECRETS_PREFIX}${grid}/${name}`;

const notFound = (grid: string, name: string): NotFoundError => new NotFoundError(`secret ${grid}/${name} not found`);

function summaryOf(grid: string, stored: StoredSecret): SecretSummary {
  return {
    id: `${grid}/${stored.name}`,
    name: stored.name,
    created_at: stored.created_at,
    updated_at: stored.updated_at,
  };
}
