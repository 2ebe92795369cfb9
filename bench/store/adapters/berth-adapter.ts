/** The bench adapter for Berth's embedded store (SQLite, in process). */

import { existsSync } from "node:fs";
import type { StateStore } from "../../../src/store/state-store.ts";
import type { BenchStore, BenchWatch } from "../workloads.ts";

export function berthAdapter(store: StateStore): BenchStore {
  return {
    name: "Berth",
    async put(key, value) {
      await store.put(key, value);
    },
    async get(key) {
      return (await store.get(key))?.value;
    },
    async range(prefix) {
      return (await store.range(prefix, { prefix: true })).kvs.length;
    },
    async watch(prefix, onEvents): Promise<BenchWatch> {
      const watcher = store.watch({ key: prefix, prefix: true }, (batch) => onEvents(batch.events.length));
      return {
        async cancel() {
          watcher.cancel();
        },
      };
    },
    close: () => store.close(),
  };
}

/**
 * Loaded by path at run time, so the bench typechecks and runs (etcd side only) while the
 * embedded backend does not exist yet.
 */
const embeddedStoreModule = new URL("../../../src/backends/embedded/embedded-store.ts", import.meta.url);

interface EmbeddedStoreModule {
  readonly EmbeddedStore: { open(options: { path: string }): Promise<StateStore> };
}

export function embeddedStoreAvailable(): boolean {
  return existsSync(embeddedStoreModule);
}

/** Open Berth's embedded store on a SQLite file (created when missing). */
export async function openEmbeddedStore(path: string): Promise<StateStore> {
  const module = (await import(embeddedStoreModule.href)) as EmbeddedStoreModule;
  return module.EmbeddedStore.open({ path });
}
