import { DOCKER_HUB_ALIASES, DOCKER_HUB_HOST, imageRegistryHost } from "../../protocol/image-reference.ts";
import type { RegistryCredentials } from "../../protocol/link-messages.ts";
import type { JsonValue, StateStore } from "../../store/state-store.ts";
import type { Principal } from "../auth/principal.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import { NotFoundError } from "../errors/not-found-error.ts";
import { ValidationError } from "../errors/validation-error.ts";
import { writeInGrid } from "../grids/grid-scoped-write.ts";
import type { GridService } from "../grids/grid-service.ts";
import { parseInput } from "../validation/parse-input.ts";
import { newRegistrySchema, type Registry, type StoredRegistry, storedRegistrySchema } from "./registry-record.ts";

/** External registries live under /registries/<grid>/<name>, name = the URL's host[:port]. */
export const REGISTRIES_PREFIX = "/registries/";
/** The server address Docker uses for Hub credentials. */
const DOCKER_HUB_SERVER_ADDRESS = "https://index.docker.io/v1/";

/**
 * A grid's logins to private image registries. Members manage them; passwords are sealed with the
 * master key and only leave core through credentialsFor(), for the agents' pulls.
 */
export class RegistryService {
  readonly #store: StateStore;
  readonly #grids: GridService;
  readonly #box: SecretBox;

  constructor(store: StateStore, grids: GridService, box: SecretBox) {
    this.#store = store;
    this.#grids = grids;
    this.#box = box;
  }

  async list(principal: Principal, grid: string): Promise<Registry[]> {
    await this.#grids.assertContentAccess(principal, grid);
    return (await this.#storedIn(grid)).map((stored) => registryOf(grid, stored));
  }

  /** One registry per host[:port] in a grid; a second one is a ValidationError on `url`. */
  async create(principal: Principal, grid: string, body: unknown): Promise<Registry> {
    await this.#grids.assertContentAccess(principal, grid);
    const input = parseInput(newRegistrySchema, body);
    const name = input.url.host;
    const key = registryKey(grid, name);
    const next = await writeInGrid(this.#store, this.#grids, grid, key, (current) => {
      if (current) throw new ValidationError({ url: `a registry for ${name} already exists in grid ${grid}` });
      const now = new Date().toISOString();
      const stored: StoredRegistry = {
        name,
        url: input.url.href,
        username: input.username,
        email: input.email ?? null,
        password_sealed: this.#box.seal(input.password, key),
        created_at: now,
        updated_at: now,
      };
      return stored as unknown as JsonValue;
    });
    return registryOf(grid, storedRegistrySchema.parse(next));
  }

  async remove(principal: Principal, grid: string, name: string): Promise<void> {
    await this.#grids.assertContentAccess(principal, grid);
    const { deleted } = await this.#store.delete(registryKey(grid, name.toLowerCase()));
    if (deleted === 0) throw new NotFoundError(`external registry ${grid}/${name} not found`);
  }

  /**
   * The login for pulling an image in a grid, or undefined when the grid has none for the image's
   * registry (`busybox` → Docker Hub, `localhost:5000/app` → localhost:5000).
   */
  async credentialsFor(grid: string, imageRef: string): Promise<RegistryCredentials | undefined> {
    const host = imageRegistryHost(imageRef);
    const names = host === DOCKER_HUB_HOST ? DOCKER_HUB_ALIASES : [host];
    const stored = (await this.#storedIn(grid)).find((registry) => names.includes(registry.name));
    if (!stored) return undefined;
    return {
      username: stored.username,
      password: this.#box.open(stored.password_sealed, registryKey(grid, stored.name)),
      serveraddress: host === DOCKER_HUB_HOST ? DOCKER_HUB_SERVER_ADDRESS : stored.name,
    };
  }

  async #storedIn(grid: string): Promise<StoredRegistry[]> {
    const { kvs } = await this.#store.range(`${REGISTRIES_PREFIX}${grid}/`, { prefix: true });
    return kvs.map((kv) => storedRegistrySchema.parse(kv.value));
  }
}

const registryKey = (grid: string, name: string): string => `${REGISTRIES_PREFIX}${grid}/${name}`;

function registryOf(grid: string, stored: StoredRegistry): Registry {
  return {
    id: `${grid}/${stored.name}`,
    name: stored.name,
    url: stored.url,
    username: stored.username,
    email: stored.email,
    created_at: stored.created_at,
    updated_at: stored.updated_at,
  };
}
