import { join } from "node:path";
import type { TestContext } from "node:test";
import { EmbeddedStore } from "../../src/backends/embedded/embedded-store.ts";
import { makeTempDir } from "./temp-dir.ts";

/** A real embedded store on a SQLite file in a temp dir; closed when the test ends. */
export async function openTestStore(t: TestContext, dir?: string): Promise<EmbeddedStore> {
  const store = await EmbeddedStore.open({ path: join(dir ?? (await makeTempDir(t)), "berth.db") });
  let closed = false;
  t.after(async () => {
    if (!closed) await store.close();
  });
  const close = store.close.bind(store);
  store.close = async () => {
    closed = true;
    await close();
  };
  return store;
}
