/**
 * State store benchmark: Berth's embedded store against etcd, same workloads, same disk.
 *
 *   npm run bench:store                 # ~3 s per throughput figure, 10,000 watchers
 *   npm run bench:store -- --quick      # ~1 s per figure, 2,000 watchers
 *   npm run bench:store -- --only etcd --duration 5 --watchers 20000
 *
 * Starts a throwaway etcd on loopback, runs the suite for each store in its own child
 * process (bench/store/runner.ts), and prints one table. Figures, not assertions.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { arch, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { positiveArg } from "../support/bench-args.ts";
import { type Column, formatBytes, formatNumber, formatRatio, type Row, renderTable } from "../support/table.ts";
import { embeddedStoreAvailable } from "./adapters/berth-adapter.ts";
import { type EtcdServer, etcdVersion, findEtcdBinary, startEtcd } from "./etcd-server.ts";
import type { SuitePlan, SuiteReport } from "./suite.ts";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    duration: { type: "string" },
    watchers: { type: "string" },
    rounds: { type: "string" },
    concurrency: { type: "string" },
    "range-keys": { type: "string" },
    only: { type: "string" },
    "etcd-binary": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (args.help) {
  process.stdout.write(
    "usage: npm run bench:store -- [--quick] [--duration SECONDS] [--watchers N] [--rounds N]\n" +
      "                              [--concurrency N] [--range-keys N] [--only berth|etcd]\n" +
      "                              [--etcd-binary PATH]\n",
  );
  process.exit(0);
}

const plan: SuitePlan = {
  durationMs: positiveArg(args.duration, args.quick ? 1 : 3) * 1000,
  concurrency: positiveArg(args.concurrency, 32),
  rangeKeys: positiveArg(args["range-keys"], 1000),
  watchers: positiveArg(args.watchers, args.quick ? 2000 : 10_000),
  watchRounds: positiveArg(args.rounds, args.quick ? 3 : 5),
};
if (args.only !== undefined && args.only !== "berth" && args.only !== "etcd") {
  throw new Error(`--only takes berth or etcd, not ${args.only}`);
}
const wants = (store: "berth" | "etcd"): boolean => args.only === undefined || args.only === store;

const runnerPath = fileURLToPath(new URL("./runner.ts", import.meta.url));
const log = (message: string): void => {
  process.stderr.write(`${message}\n`);
};
/** Loud messages, printed where they happen and again under the table. */
const warnings: string[] = [];
const banner = (message: string): void => {
  const rule = "!".repeat(78);
  warnings.push(`${rule}\n${message}\n${rule}`);
  log(`\n${rule}\n${message}\n${rule}\n`);
};

// Everything to undo on the way out, including on Ctrl-C.
let etcd: EtcdServer | undefined;
let child: ChildProcess | undefined;
const tempDirs: string[] = [];
const cleanUp = async (): Promise<void> => {
  child?.kill("SIGKILL");
  await etcd?.stop();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`\n${signal}: stopping`);
    void cleanUp().finally(() => process.exit(130));
  });
}

/** Run the suite for one store in a child process; resolves to its report. */
function runStore(storeArgs: readonly string[]): Promise<SuiteReport> {
  return new Promise((resolve, reject) => {
    let report: SuiteReport | undefined;
    const proc = spawn(process.execPath, ["--expose-gc", runnerPath, ...storeArgs, "--plan", JSON.stringify(plan)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    child = proc;
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10 * 60_000);
    proc.on("message", (message) => {
      report = message as SuiteReport;
    });
    proc.on("error", reject);
    proc.on("exit", (code, signal) => {
      clearTimeout(timer);
      child = undefined;
      if (report !== undefined) resolve(report);
      else reject(new Error(`runner exited (code ${code}, signal ${signal}) without a report`));
    });
  });
}

async function runBerth(): Promise<SuiteReport | undefined> {
  if (!embeddedStoreAvailable()) {
    banner("Berth's embedded store (src/backends/embedded/embedded-store.ts) does not exist yet: Berth column empty.");
    return undefined;
  }
  log("Berth embedded store (SQLite, in process):");
  const dir = await mkdtemp(join(tmpdir(), "berth-bench-"));
  tempDirs.push(dir);
  try {
    return await runStore(["--store", "berth", "--data-dir", dir]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function runEtcd(): Promise<SuiteReport | undefined> {
  const binary = args["etcd-binary"] ?? findEtcdBinary();
  if (binary === undefined || !existsSync(binary)) {
    banner(
      "etcd IS NOT INSTALLED — the etcd column will be empty.\n" +
        "Install it with:  apt-get install etcd-server   (then re-run npm run bench:store)",
    );
    return undefined;
  }
  log(`etcd ${etcdVersion(binary) ?? "(unknown version)"} (${binary}), via the npm etcd3 client:`);
  etcd = await startEtcd({ binary, pprof: true });
  try {
    log(`  started on ${etcd.clientUrl}, pid ${etcd.pid}, data in ${etcd.dataDir}`);
    return await runStore(["--store", "etcd", "--endpoint", etcd.clientUrl, "--server-pid", String(etcd.pid)]);
  } finally {
    await etcd.stop();
    etcd = undefined;
  }
}

function report(berth: SuiteReport | undefined, etcdReport: SuiteReport | undefined): string {
  const n = plan.concurrency;
  const columns: Column[] = [
    { header: "measure" },
    { header: "better" },
    { header: "Berth", align: "right" },
    { header: "etcd", align: "right" },
    { header: "Berth/etcd", align: "right" },
  ];
  type Pick = (report: SuiteReport) => number | undefined;
  const row = (label: string, better: "higher" | "lower", pick: Pick, format = formatNumber): Row => {
    const b = berth === undefined ? undefined : pick(berth);
    const e = etcdReport === undefined ? undefined : pick(etcdReport);
    return [label, better, format(b), format(e), formatRatio(b, e)];
  };
  const w = plan.watchers.toLocaleString("en-US");
  const rows: Row[] = [
    row("durable puts/s, 1 writer", "higher", (r) => r.putsOne.perSecond),
    row("  put latency p50, ms", "lower", (r) => r.putsOne.p50Ms),
    row("  put latency p99, ms", "lower", (r) => r.putsOne.p99Ms),
    row(`durable puts/s, ${n} writers`, "higher", (r) => r.putsMany.perSecond),
    row("  put latency p50, ms", "lower", (r) => r.putsMany.p50Ms),
    row("  put latency p99, ms", "lower", (r) => r.putsMany.p99Ms),
    row(`durable puts/s, ${n} writers, ${w} idle watchers¹`, "higher", (r) => r.putsManyIdleWatchers.perSecond),
    row("  put latency p99, ms", "lower", (r) => r.putsManyIdleWatchers.p99Ms),
    "-",
    row(`prefix ranges/s (${plan.rangeKeys} keys), 1 reader`, "higher", (r) => r.rangeOne.perSecond),
    row("  range latency p99, ms", "lower", (r) => r.rangeOne.p99Ms),
    row("single-key gets/s, 1 reader", "higher", (r) => r.getOne.perSecond),
    row(`single-key gets/s, ${n} readers`, "higher", (r) => r.getMany.perSecond),
    "-",
    row(`watch: put → all ${w} watchers have it, ms`, "lower", (r) => r.watch.allMs),
    row("  … worst round, ms", "lower", (r) => r.watch.allMsMax),
    row("  put → first watcher has it, ms", "lower", (r) => r.watch.firstMs),
    row("  put → put acknowledged, ms", "lower", (r) => r.watch.putMs),
    row(`  register ${w} watchers, s`, "lower", (r) => r.watch.createSeconds),
    row("  per watcher: client heap Δ", "lower", (r) => r.watch.heapPerWatcher, formatBytes),
    row("  per watcher: client RSS Δ", "lower", (r) => r.watch.rssPerWatcher, formatBytes),
    row("  per watcher: etcd server Go heap Δ", "lower", (r) => r.watch.serverHeapPerWatcher, formatBytes),
    row("  per watcher: etcd server RSS Δ", "lower", (r) => r.watch.serverRssPerWatcher, formatBytes),
    row(
      "  per watcher: total heap Δ",
      "lower",
      (r) => r.watch.heapPerWatcher + (r.watch.serverHeapPerWatcher ?? 0),
      formatBytes,
    ),
    row(
      "  per watcher: total RSS Δ",
      "lower",
      (r) => r.watch.rssPerWatcher + (r.watch.serverRssPerWatcher ?? 0),
      formatBytes,
    ),
  ];
  const extra = [berth, etcdReport]
    .filter((r): r is SuiteReport => r !== undefined && r.watch.extraEvents !== 0)
    .map((r) => `WARNING: ${r.store} delivered ${r.watch.extraEvents} more watch events than expected.\n`)
    .join("");
  return `${renderTable(columns, rows)}${extra}`;
}

const notes = (): string =>
  [
    `Plan: ${plan.durationMs / 1000} s per throughput figure; closed loops (each writer/reader awaits its`,
    `operation before the next); values ≈250 B of JSON; watch figures are medians of ${plan.watchRounds} rounds.`,
    "Both stores fsync before acknowledging a put; Berth's SQLite file and etcd's data dir are both",
    `under ${tmpdir()} (same disk). etcd reads are linearizable (its default); Berth reads are local.`,
    "Each store runs in its own child process; records are decoded (JSON parsed) on both sides.",
    `¹ while ${plan.watchers.toLocaleString("en-US")} watchers sit on distinct prefixes the puts do not touch.`,
    "etcd watch figures include the etcd3 client: all watchers share one gRPC stream and the client finds",
    "each response's watcher by a linear scan (O(watchers) per event), about half the fan-out time in profiles.",
    "Memory per watcher = growth after registering all watchers, divided by their number:",
    "  client heap Δ  = V8 heap + external after full GC, in the process holding the watchers",
    "                   (Berth: the store itself plus its watchers; etcd: the etcd3 client and its Watcher objects);",
    "  client RSS Δ   = VmRSS of that same process;",
    "  etcd server Go heap Δ = HeapAlloc after a forced GC (/debug/pprof/heap?gc=1);",
    "  etcd server RSS Δ = VmRSS of the etcd process from /proc/<pid>/status;",
    "  totals = client + server (Berth has no server process).",
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"} (${arch()}), Node ${process.version}.`,
  ].join("\n");

try {
  const berth = wants("berth") ? await runBerth() : undefined;
  const etcdReport = wants("etcd") ? await runEtcd() : undefined;
  process.stdout.write(`\n${report(berth, etcdReport)}\n${notes()}\n`);
  for (const warning of warnings) process.stdout.write(`\n${warning}\n`);
} catch (error) {
  log(`bench failed: ${(error as Error).stack ?? error}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
