import type { StateStore } from "../../store/state-store.ts";
import { kvPrefix } from "./consul-keys.ts";

const CONSUL_KV = /^\/consul\/([^/]+)\/kv\//;

/**
 * The index of each datacenter's whole KV store: the revision of its latest put or delete
 * (Consul's kvs table index, which a missing key and an empty tree report). Computed once per
 * datacenter from the store, then kept current from a watch, so reading it costs nothing however
 * many keys there are. A watch event still on its way can leave it a moment behind (never ahead),
 * so a read that blocks takes the larger of it and the exact last change of what it watches.
 */
export class KvTableIndex {
  readonly #store: StateStore;
  readonly #indexes = new Map<string, number>();

  constructor(store: StateStore) {
    this.#store = store;
    store.watch({ key: "/consul/", prefix: true }, (batch) => {
      for (const event of batch.events) {
        const dc = CONSUL_KV.exec(event.kv.key)?.[1];
        const known = dc === undefined ? undefined : this.#indexes.get(dc);
        if (known !== undefined && known < batch.revision) this.#indexes.set(dc!, batch.revision);
      }
    });
  }

  /** Never 0, which clients take as "do not block". */
  of(dc: string): number {
    let index = this.#indexes.get(dc);
    if (index === undefined) {
      index = Math.max(1, this.#store.lastChange(kvPrefix(dc)));
      this.#indexes.set(dc, index);
    }
    return index;
  }
}
