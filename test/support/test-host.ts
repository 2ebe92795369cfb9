import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { DestinationStream } from "pino";
import { EmbeddedStore } from "../../src/backends/embedded/embedded-store.ts";
import { type CoreServices, createCoreServices } from "../../src/core/core-services.ts";
import type { Face } from "../../src/http/face.ts";
import { createHttpHost, type HttpHost } from "../../src/http/http-host.ts";
import { createLogger } from "../../src/http/http-logger.ts";
import { createMasterFaces, FALLBACK_FACE } from "../../src/master/master-faces.ts";
import { makeTempDir } from "./temp-dir.ts";

export interface TestHost {
  readonly url: string;
  readonly host: HttpHost;
  readonly core: CoreServices;
  readonly store: EmbeddedStore;
  /** Every log line written so far, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Closes like the master does: drain HTTP, then close the store. */
  close(): Promise<void>;
}

/**
 * The master's host, faces and core over a real SQLite store, plus test-only faces: for what
 * the real routes cannot provoke (a crash, a slow handler, a long poll).
 */
export async function startTestHost(
  t: TestContext,
  extraFaces: (core: CoreServices, store: EmbeddedStore) => Face[] = () => [],
): Promise<TestHost> {
  const dir = await makeTempDir(t);
  const store = await EmbeddedStore.open({ path: join(dir, "berth.db") });
  const core = await createCoreServices(store, { masterKey: randomBytes(32) });
  const logs: Record<string, unknown>[] = [];
  const destination: DestinationStream = { write: (line: string) => void logs.push(JSON.parse(line)) };
  const host = await createHttpHost({
    faces: [...createMasterFaces(core), ...extraFaces(core, store)],
    fallbackFace: FALLBACK_FACE,
    logger: createLogger("info", destination),
    onDrain: () => core.blockingQueries.close(),
    drainTimeoutMs: 5_000,
  });
  const address = await host.listen({ host: "127.0.0.1", port: 0 });
  host.markReady();
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= host.close().finally(() => store.close());
    return closing;
  };
  t.after(close);
  return { url: `http://127.0.0.1:${address.port}`, host, core, store, logs, close };
}
