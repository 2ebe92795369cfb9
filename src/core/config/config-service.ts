import type { StateStore } from "../../store/state-store.ts";
import { assertMasterAdmin } from "../auth/access-policy.ts";
import type { Principal } from "../auth/principal.ts";
import { updateRecord } from "../records/update-record.ts";
import { parseInput } from "../validation/parse-input.ts";
import { type ConfigValues, configValuesSchema } from "./config-schema.ts";

/** The store key holding the whole configuration object. */
export const CONFIG_KEY = "/config";

/**
 * The master configuration (a flat string map), kept as one record so every change is atomic.
 * Through the API only a master_admin reads or changes it; get() serves core's own readers.
 */
export class ConfigService {
  readonly #store: StateStore;
  /** Changes from this master run one at a time, so they never race each other's compare-and-swap. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(store: StateStore) {
    this.#store = store;
  }

  async get(): Promise<ConfigValues> {
    const kv = await this.#store.get(CONFIG_KEY);
    return { ...(kv?.value as ConfigValues | undefined) };
  }

  /** The configuration, for a master_admin. */
  async read(principal: Principal): Promise<ConfigValues> {
    assertMasterAdmin(principal);
    return this.get();
  }

  /** Upserts the given keys, keeping the others (master_admin). Returns the configuration after the change. */
  async update(principal: Principal, input: unknown): Promise<ConfigValues> {
    assertMasterAdmin(principal);
    const values = parseInput(configValuesSchema, input);
    return this.#serialized(async () => {
      // Compare-and-swap, so an update from another master in between is not lost.
      const next = await updateRecord(this.#store, CONFIG_KEY, (kv) => ({
        ...(kv?.value as ConfigValues | undefined),
        ...values,
      }));
      return next as ConfigValues;
    });
  }

  /** Replaces the whole configuration (master_admin). */
  async replace(principal: Principal, input: unknown): Promise<ConfigValues> {
    assertMasterAdmin(principal);
    const values = parseInput(configValuesSchema, input);
    return this.#serialized(async () => {
      await this.#store.put(CONFIG_KEY, { ...values });
      return { ...values };
    });
  }

  #serialized<T>(change: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(change);
    this.#queue = result.catch(() => {});
    return result;
  }
}
