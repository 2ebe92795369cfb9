/**
 * Start and stop a throwaway single-member etcd on loopback, for benches and tests.
 *
 *   await using etcd = await startEtcd();
 *   const client = new Etcd3({ hosts: etcd.clientUrl });
 *
 * Each server gets a fresh temp data dir and free ports for its client and peer URLs;
 * `stop()` (or leaving the `await using` scope) kills it and deletes the data dir.
 * Servers still running when the process exits normally are killed synchronously.
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { superviseChild } from "../support/supervised-child.ts";

export interface EtcdServerOptions {
  /** The etcd binary; default: `etcd` found on PATH or in /usr/bin, /usr/local/bin. */
  readonly binary?: string;
  /** Parent of the temp data dir; default: the OS temp dir. */
  readonly tmpRoot?: string;
  /** Backend size quota, bytes; default 2 GiB. */
  readonly quotaBackendBytes?: number;
  /** How long to wait for /health to answer true; default 15 s. */
  readonly startTimeoutMs?: number;
  /** Serve /debug/pprof on the client URL (needed by goHeapBytes); default false. */
  readonly pprof?: boolean;
  /** Extra command-line flags, e.g. ["--auto-compaction-retention=1"]. */
  readonly extraArgs?: readonly string[];
}

export interface EtcdServer extends AsyncDisposable {
  /** e.g. http://127.0.0.1:40123 — pass to a client as its host. */
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly pid: number;
  readonly dataDir: string;
  /** Resident set size of the server process now, bytes (VmRSS from /proc/<pid>/status). */
  rssBytes(): Promise<number>;
  /** Go heap in use after a forced GC, bytes; needs `pprof: true`. */
  goHeapBytes(): Promise<number>;
  /** The last lines etcd wrote to stderr (it logs there), for diagnostics. */
  recentLog(): string;
  /** SIGTERM, then SIGKILL after 5 s; removes the data dir. Idempotent. */
  stop(): Promise<void>;
}

const loopback = "127.0.0.1";
/** The etcd binary if one is installed, else undefined. */
export function findEtcdBinary(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/local/bin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = join(dir, "etcd");
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The version line of an etcd binary, e.g. "3.4.23". */
export function etcdVersion(binary: string): string | undefined {
  const out = spawnSync(binary, ["--version"], { encoding: "utf8", timeout: 5000 });
  return /etcd Version:\s*(\S+)/.exec(out.stdout ?? "")?.[1];
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, loopback, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("could not allocate a port");
  return address.port;
}

export async function startEtcd(options: EtcdServerOptions = {}): Promise<EtcdServer> {
  const binary = options.binary ?? findEtcdBinary();
  if (binary === undefined) throw new Error("etcd is not installed (apt-get install etcd-server)");
  // Two free ports can still be taken by someone else before etcd binds them: retry a few times.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(binary, options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startOnce(binary: string, options: EtcdServerOptions): Promise<EtcdServer> {
  const dataDir = await mkdtemp(join(options.tmpRoot ?? tmpdir(), "berth-etcd-"));
  const clientUrl = `http://${loopback}:${await freePort()}`;
  const peerUrl = `http://${loopback}:${await freePort()}`;
  const name = "berth-bench";
  const args = [
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${name}=${peerUrl}`,
    "--initial-cluster-state=new",
    `--initial-cluster-token=berth-${process.pid}-${Date.now()}`,
    `--quota-backend-bytes=${options.quotaBackendBytes ?? 2 * 1024 ** 3}`,
    "--logger=zap",
    "--log-outputs=stderr",
    "--log-level=warn",
    ...(options.pprof ? ["--enable-pprof=true"] : []),
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  const { exited, stop } = superviseChild(child, { dataDir, graceMs: 5000 });

  const logLines: string[] = [];
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    logLines.push(...chunk.split("\n").filter((line) => line !== ""));
    if (logLines.length > 50) logLines.splice(0, logLines.length - 50);
  });
  const recentLog = (): string => logLines.join("\n");

  try {
    await waitHealthy(clientUrl, child, exited, options.startTimeoutMs ?? 15_000);
  } catch (error) {
    await stop();
    const log = recentLog();
    throw new Error(`etcd did not become healthy: ${(error as Error).message}${log ? `\n${log}` : ""}`);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error("etcd has no pid");

  return {
    clientUrl,
    peerUrl,
    pid,
    dataDir,
    rssBytes: () => processRssBytes(pid),
    goHeapBytes: () => etcdGoHeapBytes(clientUrl),
    recentLog,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

async function waitHealthy(
  clientUrl: string,
  child: ChildProcess,
  exited: Promise<void>,
  timeoutMs: number,
): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone) throw new Error(`etcd exited (code ${child.exitCode}, signal ${child.signalCode})`);
    try {
      const response = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
      const body = (await response.json()) as { health?: string };
      if (response.ok && body.health === "true") return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no healthy answer from ${clientUrl}/health within ${timeoutMs} ms`);
}

/** VmRSS of a process, bytes, from /proc/<pid>/status (Linux only). */
export async function processRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match?.[1] === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/**
 * The Go heap in use (HeapAlloc) of an etcd started with --enable-pprof, right after a forced GC:
 * /debug/pprof/heap?gc=1 collects before it reads the runtime's MemStats.
 */
export async function etcdGoHeapBytes(clientUrl: string): Promise<number> {
  const response = await fetch(`${clientUrl}/debug/pprof/heap?gc=1&debug=1`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`${clientUrl}/debug/pprof/heap answered ${response.status} (is pprof enabled?)`);
  const match = /^# HeapAlloc = (\d+)$/m.exec(await response.text());
  if (match?.[1] === undefined) throw new Error("no HeapAlloc in the heap profile");
  return Number(match[1]);
}
