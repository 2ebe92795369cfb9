/**
 * Consul face benchmark: Berth's KV over the Consul HTTP API against a real etcd, same machine.
 *
 *   npm run bench:consul                  # ~3 s per throughput figure, 10,000 blocking queries
 *   npm run bench:consul -- --quick       # ~1 s per figure, 2,000 blocking queries
 *   npm run bench:consul -- --duration 5 --watchers 10000
 *
 * The master runs in a child process through the real CLI (Consul ACLs off); etcd is a throwaway
 * single member (etcd3 client, gRPC). Throughput is closed-loop: GETs of random seeded keys,
 * durable PUTs each acknowledged only once on disk. Then `--watchers` blocking queries wait on one
 * prefix, one write wakes them all: how long until every one has its answer, and what each costs
 * the master in resident memory while it waits. Figures, not assertions.
 */

import { arch, cpus } from "node:os";
import { parseArgs } from "node:util";
import { Etcd3 } from "etcd3";
import { type EtcdServer, etcdVersion, findEtcdBinary, startEtcd } from "../store/etcd-server.ts";
import { closedLoop, type RateResult } from "../store/workloads.ts";
import { positiveArg } from "../support/bench-args.ts";
import { median, percentiles } from "../support/stats.ts";
import { type Column, formatBytes, formatNumber, formatRatio, type Row, renderTable } from "../support/table.ts";
import { HttpLoadClient } from "./http-load-client.ts";
import { type MasterProcess, startMasterProcess } from "./master-process.ts";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    duration: { type: "string" },
    watchers: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (args.help) {
  process.stdout.write("usage: npm run bench:consul -- [--quick] [--duration SECONDS] [--watchers N]\n");
  process.exit(0);
}
const durationMs = positiveArg(args.duration, args.quick ? 1 : 3) * 1000;
const watchers = Math.floor(positiveArg(args.watchers, args.quick ? 2000 : 10_000));
const SEEDED_KEYS = 1000;
const VALUE = "v".repeat(128);
const CONCURRENCIES = [1, 64] as const;

const log = (message: string): void => void process.stderr.write(`${message}\n`);

interface Workload {
  readonly label: string;
  readonly concurrency: number;
  readonly berth: (worker: number, seq: number) => Promise<unknown>;
  readonly etcd: (worker: number, seq: number) => Promise<unknown>;
}

let master: MasterProcess | undefined;
let etcd: EtcdServer | undefined;
process.once("SIGINT", () => void Promise.all([master?.stop(), etcd?.stop()]).finally(() => process.exit(130)));

try {
  const binary = findEtcdBinary();
  if (binary === undefined) throw new Error("etcd is not installed (apt-get install etcd-server)");
  log(`starting etcd ${etcdVersion(binary) ?? "?"} and a Berth master…`);
  [etcd, master] = await Promise.all([startEtcd({ binary }), startMasterProcess()]);
  const etcdClient = new Etcd3({ hosts: etcd.clientUrl });
  const berth = new HttpLoadClient(master.url, Math.max(...CONCURRENCIES));

  const berthGet = async (key: string): Promise<string> => {
    const answer = await berth.send("GET", `/v1/kv/${key}`);
    if (answer.status !== 200) throw new Error(`GET ${key}: ${answer.status}`);
    const [entry] = JSON.parse(answer.body.toString()) as { Value: string }[];
    return Buffer.from(entry!.Value, "base64").toString();
  };
  const berthPut = async (key: string, value: string): Promise<void> => {
    const answer = await berth.send("PUT", `/v1/kv/${key}`, value);
    if (answer.status !== 200 || answer.body.toString() !== "true") throw new Error(`PUT ${key}: ${answer.status}`);
  };
  const etcdGet = async (key: string): Promise<string> => {
    const value = await etcdClient.get(key).string();
    if (value === null) throw new Error(`etcd get ${key}: missing`);
    return value;
  };

  log(`seeding ${SEEDED_KEYS} keys in each…`);
  for (let batch = 0; batch < SEEDED_KEYS; batch += 32) {
    const keys = Array.from({ length: Math.min(32, SEEDED_KEYS - batch) }, (_, i) => `bench/get/${batch + i}`);
    await Promise.all(keys.flatMap((key) => [berthPut(key, VALUE), etcdClient.put(key).value(VALUE)]));
  }
  const randomKey = () => `bench/get/${Math.floor(Math.random() * SEEDED_KEYS)}`;

  const workloads: Workload[] = CONCURRENCIES.flatMap((concurrency) => [
    { label: "KV GET", concurrency, berth: () => berthGet(randomKey()), etcd: () => etcdGet(randomKey()) },
    {
      label: "KV PUT (durable)",
      concurrency,
      berth: (worker, seq) => berthPut(`bench/put/w${worker}/${seq % 1000}`, VALUE),
      etcd: async (worker, seq) => {
        await etcdClient.put(`bench/put/w${worker}/${seq % 1000}`).value(VALUE);
      },
    },
  ]);
  const rates: { workload: Workload; berth: RateResult; etcd: RateResult }[] = [];
  for (const workload of workloads) {
    log(`${workload.label}, concurrency ${workload.concurrency}…`);
    const measure = async (op: Workload["berth"]) => {
      await closedLoop(workload.concurrency, Math.min(500, durationMs), op);
      return closedLoop(workload.concurrency, durationMs, op);
    };
    rates.push({ workload, berth: await measure(workload.berth), etcd: await measure(workload.etcd) });
  }

  log(`${watchers} blocking queries on one prefix…`);
  // The fan-out counts the master's sockets: the load connections go first.
  berth.close();
  etcdClient.close();
  const blocking = await blockingFanOut(master, watchers);

  const columns: Column[] = [
    { header: "workload" },
    { header: "conc", align: "right" },
    { header: "Berth ops/s", align: "right" },
    { header: "etcd ops/s", align: "right" },
    { header: "Berth/etcd", align: "right" },
    { header: "Berth p50/p99 ms", align: "right" },
    { header: "etcd p50/p99 ms", align: "right" },
  ];
  const latency = (rate: RateResult) => `${formatNumber(rate.p50Ms)} / ${formatNumber(rate.p99Ms)}`;
  const rows: Row[] = rates.map(({ workload, berth: b, etcd: e }) => [
    workload.label,
    String(workload.concurrency),
    formatNumber(b.perSecond),
    formatNumber(e.perSecond),
    formatRatio(b.perSecond, e.perSecond),
    latency(b),
    latency(e),
  ]);
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  process.stdout.write(
    `\nConsul KV: Berth (Consul HTTP API, embedded store) vs etcd ${etcdVersion(binary) ?? ""} (gRPC)` +
      ` — ${cpus().length} × ${cpu}, ${arch()}, ${durationMs / 1000} s per figure\n\n`,
  );
  process.stdout.write(renderTable(columns, rows));
  process.stdout.write(
    `\nBlocking queries (Berth master in a child process, ${blocking.watchers} waiting on one prefix)\n\n`,
  );
  process.stdout.write(
    renderTable(
      [{ header: "measure" }, { header: "value", align: "right" }],
      [
        ["queries opened in", `${formatNumber(blocking.openSeconds)} s`],
        ["write acknowledged after", `${formatNumber(blocking.putMs)} ms`],
        ["first answer after the write", `${formatNumber(blocking.firstMs)} ms`],
        ["median answer after the write", `${formatNumber(blocking.medianMs)} ms`],
        ["all answered after the write", `${formatNumber(blocking.allMs)} ms`],
        ["answers with a new index", `${blocking.woken} / ${blocking.watchers}`],
        ["failed connections", String(blocking.failed)],
        ["master RSS idle", formatBytes(blocking.rssBefore)],
        ["master RSS with all waiting", formatBytes(blocking.rssWaiting)],
        ["master RSS per waiting query", formatBytes((blocking.rssWaiting - blocking.rssBefore) / blocking.watchers)],
      ],
    ),
  );
} finally {
  await Promise.all([master?.stop(), etcd?.stop()]);
}

interface FanOutResult {
  readonly watchers: number;
  readonly openSeconds: number;
  readonly putMs: number;
  readonly firstMs: number;
  readonly medianMs: number;
  readonly allMs: number;
  readonly woken: number;
  /** Queries whose connection failed (reset, refused) instead of answering. */
  readonly failed: number;
  readonly rssBefore: number;
  readonly rssWaiting: number;
}

/** Opens `count` blocking queries on one prefix, waits until the master holds them all, then writes once. */
async function blockingFanOut(master: MasterProcess, count: number): Promise<FanOutResult> {
  const setup = new HttpLoadClient(master.url, 1);
  await setup.send("PUT", "/v1/kv/bench/watch/seed", "x");
  const first = await setup.send("GET", "/v1/kv/bench/watch/?recurse");
  const index = Number(first.headers["x-consul-index"]);
  setup.close();
  const watching = new HttpLoadClient(master.url, count);
  // Once every earlier connection is gone, each socket the master opens from here on is a query's.
  const filesBefore = await settledOpenFiles(master);
  const rssBefore = await master.rssBytes();

  const opened = performance.now();
  const answeredAt: number[] = [];
  let early = 0;
  let failed = 0;
  const failures = new Map<string, number>();
  let written = Number.POSITIVE_INFINITY;
  const queries: Promise<{ status: number; index: number } | undefined>[] = [];
  // In batches, so that the connection storm stays within the master's listen backlog.
  for (let start = 0; start < count; start += 250) {
    const connected: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + 250); i++) {
      const { promise, resolve } = Promise.withResolvers<void>();
      connected.push(promise);
      const path = `/v1/kv/bench/watch/?recurse&index=${index}&wait=5m`;
      queries.push(
        watching.send("GET", path, undefined, resolve).then(
          (answer) => {
            const now = performance.now();
            if (now < written) early++;
            answeredAt.push(now);
            return { status: answer.status, index: Number(answer.headers["x-consul-index"]) };
          },
          (error: NodeJS.ErrnoException) => {
            failed++;
            failures.set(error.code ?? error.message, (failures.get(error.code ?? error.message) ?? 0) + 1);
            resolve();
            return undefined;
          },
        ),
      );
    }
    await Promise.all(connected);
    // Paced by the master's accepts, not by the client's connects: a busy master's full accept
    // queue would otherwise reset the connections it could not take in time.
    const accepted = filesBefore + Math.min(count, start + 250);
    const paceDeadline = Date.now() + 30_000;
    while ((await master.openFiles()) < accepted && Date.now() < paceDeadline) await sleep(10);
  }
  // The master holds a socket per query once it has accepted it, and is idle once it has parsed them all.
  const deadline = Date.now() + 60_000;
  while ((await master.openFiles()) < filesBefore + count && Date.now() < deadline) await sleep(100);
  await untilIdle(master, deadline);
  const openSeconds = (performance.now() - opened) / 1000;
  const rssWaiting = await master.rssBytes();
  if (early > 0 || failed > 0) {
    throw new Error(`before the write: ${early} answered, ${failed} failed (${[...failures].join(", ")})`);
  }

  // A fresh connection: one kept alive through the wait may have been closed by the master meanwhile.
  const writer = new HttpLoadClient(master.url, 1);
  written = performance.now();
  await writer.send("PUT", "/v1/kv/bench/watch/trigger", "go");
  const putMs = performance.now() - written;
  writer.close();
  const answers = await Promise.all(queries);
  watching.close();
  const delays = answeredAt.map((at) => at - written);
  const [firstMs = Number.NaN, allMs = Number.NaN] = percentiles(delays, [0, 100]);
  return {
    watchers: count,
    openSeconds,
    putMs,
    firstMs,
    medianMs: median(delays),
    allMs,
    woken: answers.filter((answer) => answer !== undefined && answer.status === 200 && answer.index > index).length,
    failed,
    rssBefore,
    rssWaiting,
  };
}

/** The master's open files once the count has held still for half a second. */
async function settledOpenFiles(master: MasterProcess): Promise<number> {
  let last = await master.openFiles();
  for (let still = 0; still < 5; ) {
    await sleep(100);
    const now = await master.openFiles();
    still = now === last ? still + 1 : 0;
    last = now;
  }
  return last;
}

/** Waits until the master has used no CPU for half a second (every query parsed and waiting). */
async function untilIdle(master: MasterProcess, deadline: number): Promise<void> {
  let quietSamples = 0;
  let last = await master.cpuTicks();
  while (quietSamples < 5 && Date.now() < deadline) {
    await sleep(100);
    const now = await master.cpuTicks();
    quietSamples = now === last ? quietSamples + 1 : 0;
    last = now;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
