import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Compare, JsonValue, KeyValue, StateStore } from "../../store/state-store.ts";
import {
  assertGridAdmin,
  assertGridMember,
  assertMasterAdmin,
  canSeeGrid,
  gridRoleOf,
  isMasterAdmin,
} from "../auth/access-policy.ts";
import type { Principal } from "../auth/principal.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import { ConflictError } from "../errors/conflict-error.ts";
import { NotFoundError } from "../errors/not-found-error.ts";
import { ValidationError } from "../errors/validation-error.ts";
import { updateRecord } from "../records/update-record.ts";
import { gridMembershipPurge } from "../users/grid-membership-purge.ts";
import { parseInput } from "../validation/parse-input.ts";
import {
  type Grid,
  type GridView,
  gridChangesSchema,
  gridNameSchema,
  type NewGrid,
  newGridSchema,
  type StoredGrid,
  storedGridSchema,
} from "./grid-record.ts";

export const GRIDS_PREFIX = "/grids/";
/** The grid every installation starts with. */
export const DEFAULT_GRID = "default";
/** Written with the default grid: once it exists, a deleted default grid stays deleted across restarts. */
const DEFAULT_GRID_CREATED_KEY = "/meta/default-grid-created";
/** Random bytes in a grid token (base64, as the spec's example). */
const TOKEN_BYTES = 64;
const MAX_ATTEMPTS = 10;

const gridKey = (name: string): string => GRIDS_PREFIX + name;
const sha256 = (text: string): Buffer => createHash("sha256").update(text).digest();

/**
 * Grids: the top-level scope of nodes, services, secrets and registries (Consul's datacenters).
 * The methods without a Principal serve other core services and the agent link; the ones with a
 * Principal apply the spec's role rules: create and remove take master_admin, changing a grid takes
 * master_admin or its grid_admin, reading it takes membership.
 */
export class GridService {
  readonly #store: StateStore;
  readonly #box: SecretBox;
  readonly #scopedPrefixes: readonly string[];

  /**
   * `gridScopedPrefixes`: store prefixes whose keys continue with `<grid>/` (e.g. "/secrets/");
   * everything under them goes with the grid when it is removed.
   */
  constructor(store: StateStore, box: SecretBox, gridScopedPrefixes: readonly string[]) {
    this.#store = store;
    this.#box = box;
    this.#scopedPrefixes = gridScopedPrefixes;
  }

  /** Creates the default grid on the installation's first start; a no-op ever after. */
  async ensureDefault(): Promise<void> {
    const stored = this.#newRecord({ name: DEFAULT_GRID, initial_size: 1 });
    await this.#store.txn({
      compare: [
        { key: DEFAULT_GRID_CREATED_KEY, target: "create_revision", op: "==", value: 0 },
        { key: gridKey(DEFAULT_GRID), target: "create_revision", op: "==", value: 0 },
      ],
      success: [
        { type: "put", key: DEFAULT_GRID_CREATED_KEY, value: { at: stored.created_at } },
        { type: "put", key: gridKey(DEFAULT_GRID), value: stored as unknown as JsonValue },
      ],
    });
  }

  /** Every grid, by name. */
  async list(): Promise<Grid[]> {
    return (await this.#allStored()).map((stored) => this.#toGrid(stored));
  }

  /** Every grid's name (Consul's datacenters), without opening any token. */
  async names(): Promise<string[]> {
    const { kvs } = await this.#store.range(GRIDS_PREFIX, { prefix: true, keysOnly: true });
    return kvs.map((kv) => kv.key.slice(GRIDS_PREFIX.length));
  }

  /** Throws NotFoundError for an unknown grid. */
  async get(name: string): Promise<Grid> {
    return this.#toGrid(storedGridSchema.parse((await this.#kv(name)).value));
  }

  async exists(name: string): Promise<boolean> {
    return gridNameSchema.safeParse(name).success && (await this.#store.get(gridKey(name))) !== undefined;
  }

  /** The grid whose join token this is (agents joining), or undefined. */
  async findByToken(token: string): Promise<Grid | undefined> {
    const hash = sha256(token);
    const match = (await this.#allStored()).find((grid) =>
      timingSafeEqual(Buffer.from(grid.token_sha256, "hex"), hash),
    );
    return match && this.#toGrid(match);
  }

  /**
   * A transaction guard that holds while the grid exists as it does now (not removed, nor removed
   * and created again): writes of grid-scoped records carry it, so none lands in a removed grid.
   * Throws NotFoundError for an unknown grid.
   */
  async guard(name: string): Promise<Compare> {
    const kv = await this.#kv(name);
    return { key: kv.key, target: "create_revision", op: "==", value: kv.create_revision };
  }

  /**
   * For services of grid content (secrets, registries…): the caller must be a member (checked
   * first, so non-members cannot probe grid names) and the grid must exist (NotFoundError).
   */
  async assertContentAccess(principal: Principal, name: string): Promise<void> {
    assertGridMember(principal, name);
    await this.#kv(name);
  }

  /** The grids the caller can see: all for a master_admin, their own grids otherwise. */
  async visibleTo(principal: Principal): Promise<GridView[]> {
    return (await this.list())
      .filter((grid) => canSeeGrid(principal, grid.name))
      .map((grid) => this.#viewFor(principal, grid));
  }

  /** master_admin only. Invalid input or a taken name is a ValidationError. */
  async create(principal: Principal, input: unknown): Promise<GridView> {
    assertMasterAdmin(principal);
    const stored = this.#newRecord(parseInput(newGridSchema, input));
    const key = gridKey(stored.name);
    const result = await this.#store.txn({
      compare: [{ key, target: "create_revision", op: "==", value: 0 }],
      success: [{ type: "put", key, value: stored as unknown as JsonValue }],
    });
    if (!result.succeeded) throw new ValidationError({ name: "is already taken" });
    return this.#viewFor(principal, this.#toGrid(stored));
  }

  /** Members only; non-members are refused before the grid is looked up, so they cannot probe names. */
  async show(principal: Principal, name: string): Promise<GridView> {
    assertGridMember(principal, name);
    return this.#viewFor(principal, await this.get(name));
  }

  /** master_admin or the grid's grid_admin. Absent fields stay; `stats.statsd: null` turns statsd export off. */
  async update(principal: Principal, name: string, input: unknown): Promise<GridView> {
    assertGridAdmin(principal, name);
    await this.#kv(name);
    const changes = parseInput(gridChangesSchema, input);
    const stored = await this.#change(name, (grid) => ({
      ...grid,
      stats: { statsd: changes.stats?.statsd === undefined ? grid.stats.statsd : changes.stats.statsd },
      trusted_subnets: changes.trusted_subnets ?? grid.trusted_subnets,
    }));
    return this.#viewFor(principal, this.#toGrid(stored));
  }

  /** A new join token (master_admin or grid_admin); nodes that joined keep their node tokens. */
  async rotateToken(principal: Principal, name: string): Promise<GridView> {
    assertGridAdmin(principal, name);
    const stored = await this.#change(name, (grid) => ({ ...grid, ...this.#sealedToken(grid.name) }));
    return this.#viewFor(principal, this.#toGrid(stored));
  }

  /**
   * master_admin only. In one transaction: the grid, every record under the grid-scoped prefixes
   * and every user's membership of it.
   */
  async remove(principal: Principal, name: string): Promise<void> {
    assertMasterAdmin(principal);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const kv = await this.#kv(name);
      const memberships = await gridMembershipPurge(this.#store, name);
      const result = await this.#store.txn({
        compare: [{ key: kv.key, target: "mod_revision", op: "==", value: kv.mod_revision }, ...memberships.compare],
        success: [
          { type: "delete", key: kv.key },
          ...this.#scopedPrefixes.map((prefix) => ({
            type: "delete" as const,
            key: `${prefix}${name}/`,
            prefix: true,
          })),
          ...memberships.success,
        ],
      });
      if (result.succeeded) return;
    }
    throw new ConflictError(`grid ${name} is being changed concurrently; try again`);
  }

  #viewFor(principal: Principal, grid: Grid): GridView {
    if (isMasterAdmin(principal) || gridRoleOf(principal, grid.name) === "grid_admin") return grid;
    const { token: _token, ...rest } = grid;
    return rest;
  }

  async #change(name: string, change: (grid: StoredGrid) => StoredGrid): Promise<StoredGrid> {
    const next = await updateRecord(this.#store, this.#key(name), (kv) => {
      if (!kv) throw new NotFoundError(`grid ${name} not found`);
      const changed = change(storedGridSchema.parse(kv.value));
      return { ...changed, updated_at: new Date().toISOString() } as unknown as JsonValue;
    });
    return storedGridSchema.parse(next);
  }

  async #kv(name: string): Promise<KeyValue> {
    const kv = await this.#store.get(this.#key(name));
    if (!kv) throw new NotFoundError(`grid ${name} not found`);
    return kv;
  }

  /** The grid's store key; a name no grid can have is simply not found. */
  #key(name: string): string {
    if (!gridNameSchema.safeParse(name).success) throw new NotFoundError(`grid ${name} not found`);
    return gridKey(name);
  }

  async #allStored(): Promise<StoredGrid[]> {
    const { kvs } = await this.#store.range(GRIDS_PREFIX, { prefix: true });
    return kvs.map((kv) => storedGridSchema.parse(kv.value));
  }

  #newRecord(input: NewGrid): StoredGrid {
    const now = new Date().toISOString();
    return {
      name: input.name,
      initial_size: input.initial_size,
      ...this.#sealedToken(input.name),
      stats: { statsd: input.stats?.statsd ?? null },
      trusted_subnets: input.trusted_subnets ?? [],
      created_at: now,
      updated_at: now,
    };
  }

  #sealedToken(name: string): Pick<StoredGrid, "token_sealed" | "token_sha256"> {
    const token = randomBytes(TOKEN_BYTES).toString("base64");
    return { token_sealed: this.#box.seal(token, gridKey(name)), token_sha256: sha256(token).toString("hex") };
  }

  #toGrid(stored: StoredGrid): Grid {
    return {
      id: stored.name,
      name: stored.name,
      initial_size: stored.initial_size,
      token: this.#box.open(stored.token_sealed, gridKey(stored.name)),
      stats: stored.stats,
      trusted_subnets: stored.trusted_subnets,
      created_at: stored.created_at,
      updated_at: stored.updated_at,
    };
  }
}
