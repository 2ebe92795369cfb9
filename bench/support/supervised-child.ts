/** Child processes of a bench (a server it measures): a graceful stop, and no orphans if the bench dies. */

import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { rm } from "node:fs/promises";

export interface SupervisedChild {
  /** Resolves when the child has exited, for whatever reason. */
  readonly exited: Promise<void>;
  /** SIGTERM, then SIGKILL after the grace period; then removes the data dir. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<{ readonly child: ChildProcess; readonly dataDir: string }>();

// Last-resort cleanup when the process exits without stopping its children (an uncaught error).
process.once("exit", () => {
  for (const { child, dataDir } of live) {
    child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  }
});

export function superviseChild(child: ChildProcess, options: { dataDir: string; graceMs: number }): SupervisedChild {
  const entry = { child, dataDir: options.dataDir };
  live.add(entry);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  let stopping: Promise<void> | undefined;
  return {
    exited,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), options.graceMs);
          await exited;
          clearTimeout(timer);
        }
        live.delete(entry);
        await rm(options.dataDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
