/**
 * A Berth master in a child process, for benches that measure it from outside: started through
 * the real CLI on a loopback port with a throwaway data dir, Consul ACLs off.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, processRssBytes } from "../store/etcd-server.ts";
import { superviseChild } from "../support/supervised-child.ts";

export interface MasterProcess extends AsyncDisposable {
  readonly url: string;
  readonly pid: number;
  rssBytes(): Promise<number>;
  /** File descriptors the master holds open (its sockets among them). */
  openFiles(): Promise<number>;
  /** CPU time the master has used so far, in clock ticks (user + system, from /proc/<pid>/stat). */
  cpuTicks(): Promise<number>;
  stop(): Promise<void>;
}

const berthBin = fileURLToPath(new URL("../../bin/berth.js", import.meta.url));

export async function startMasterProcess(): Promise<MasterProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), "berth-consul-bench-"));
  const port = await freePort();
  const args = [berthBin, "master", "--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir];
  const child: ChildProcess = spawn(process.execPath, [...args, "--log-level", "warn", "--consul-acl", "disabled"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const { exited, stop } = superviseChild(child, { dataDir, graceMs: 15_000 });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, exited);
  } catch (error) {
    await stop();
    throw error;
  }
  const pid = child.pid!;
  return {
    url,
    pid,
    rssBytes: () => processRssBytes(pid),
    openFiles: async () => (await readdir(`/proc/${pid}/fd`)).length,
    cpuTicks: async () => {
      // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
      const stat = await readFile(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return Number(fields[11]) + Number(fields[12]);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

async function waitReady(url: string, exited: Promise<void>): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (gone) throw new Error("the master exited during start-up");
    try {
      if ((await fetch(`${url}/v1/status/leader`, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the master at ${url} did not become ready within 30 s`);
}
