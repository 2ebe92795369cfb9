/** Process memory sampling for benches: settle the heap, then read heap and RSS. */

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export interface MemorySample {
  /** V8 heap in use after a full GC, bytes. */
  readonly heapUsed: number;
  /** Memory held outside the V8 heap by JS objects (Buffers, ArrayBuffers…), bytes. */
  readonly external: number;
  /** Resident set size of this process, bytes. */
  readonly rss: number;
}

let gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  // Not started with --expose-gc: turn the flag on and fetch gc() from a fresh context.
  setFlagsFromString("--expose-gc");
  gc = runInNewContext("gc") as (() => void) | undefined;
}

/** True when full GCs can be forced (heap figures are then stable). */
export const canForceGc = typeof gc === "function";

/** Force full GCs (when possible) and let pending callbacks run, then sample. */
export async function sampleMemory(): Promise<MemorySample> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc?.();
  }
  const usage = process.memoryUsage();
  return { heapUsed: usage.heapUsed, external: usage.external, rss: usage.rss };
}
