/**
 * Deploy benchmark: N instances of one image deployed through Berth (a master and one agent on
 * the local Docker engine) against N parallel `docker run -d` of the same image on the same
 * engine. Berth's time runs from the deploy request until the service reports all N running;
 * docker's from the first `docker run` until every one has returned (run -d returns once the
 * container started) and `docker ps` shows them running.
 *
 *   npm run bench:deploy
 *   npm run bench:deploy -- --instances 20 --rounds 3
 *
 * Needs a Docker engine; the busybox image is built locally (no pull). Figures, not assertions.
 */

import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import Docker from "dockerode";
import { pino } from "pino";
import { DEFAULT_DOCKER_ENDPOINT, dockerClientOptions } from "../../src/agent/docker-endpoint.ts";
import { type RunningAgent, startAgent } from "../../src/agent/start-agent.ts";
import { type RunningMaster, startMaster } from "../../src/master/start-master.ts";
import { BERTH_LABELS } from "../../src/protocol/instance-spec.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../../test/support/docker-busybox-image.ts";
import { positiveArg } from "../support/bench-args.ts";
import { median } from "../support/stats.ts";
import { formatNumber, formatRatio, type Row, renderTable } from "../support/table.ts";
import { docker, removeLabelled, runningLabelled } from "./docker-cli.ts";

const { values: args } = parseArgs({
  options: {
    instances: { type: "string" },
    rounds: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (args.help) {
  process.stdout.write("usage: npm run bench:deploy -- [--instances N] [--rounds N]\n");
  process.exit(0);
}
const instances = Math.floor(positiveArg(args.instances, 20));
const rounds = Math.floor(positiveArg(args.rounds, 3));
const GRID = "default";
const PASSWORD = "bench-deploy-password";
/** Exits on SIGTERM, so that a removal does not sit out Docker's stop timeout (a bare sleep as PID 1 would). */
const COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];
/** Give up on one side of a round after this long. */
const ROUND_DEADLINE_MS = 120_000;

const endpoint = process.env.DOCKER_HOST || DEFAULT_DOCKER_ENDPOINT;
const engine = new Docker(dockerClientOptions(endpoint));
await engine.ping().catch((error: unknown) => {
  process.stderr.write(`bench:deploy needs a Docker engine at ${endpoint}: ${(error as Error).message}\n`);
  process.exit(1);
});
await ensureBusyboxImage(engine);

const runId = randomBytes(3).toString("hex");
const benchLabel = `io.berth.bench.deploy=${runId}`;
const nodeName = `bench-deploy-${runId}`;
const nodeLabel = `${BERTH_LABELS.node}=${nodeName}`;
const dataDir = await mkdtemp(join(tmpdir(), "berth-deploy-bench-"));

let master: RunningMaster | undefined;
let agent: RunningAgent | undefined;

/** Everything this run made goes, whatever happened. */
async function cleanUp(): Promise<void> {
  await agent?.close();
  await master?.close();
  await removeLabelled(benchLabel);
  await removeLabelled(nodeLabel);
  await rm(dataDir, { recursive: true, force: true });
}

type Api = (path: string, method?: string, body?: unknown) => Promise<{ status: number; json: () => unknown }>;

async function startBerth(): Promise<Api> {
  master = await startMaster({
    host: "127.0.0.1",
    port: 0,
    dataDir: join(dataDir, "master"),
    logLevel: "silent",
    dev: false,
    adminPassword: PASSWORD,
    print: () => {},
  });
  const url = master.url;
  const raw = async (path: string, method = "GET", body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(new URL(path, url), {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: () => JSON.parse(text) as unknown, text };
  };
  const login = await raw("/api/auth", "POST", { Username: "admin", Password: PASSWORD });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
  const authorization = `Bearer ${(login.json() as { jwt: string }).jwt}`;
  const api: Api = async (path, method = "GET", body) => {
    const response = await raw(path, method, body, { authorization });
    if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${response.text}`);
    return response;
  };
  const grid = (await api(`/v1/grids/${GRID}`)).json() as { token: string };
  agent = await startAgent({
    masterUrl: url,
    gridToken: grid.token,
    name: nodeName,
    labels: [],
    docker: endpoint,
    dataDir: join(dataDir, "agent"),
    logger: pino({ level: "silent" }),
  });
  // 404 until the agent has joined.
  await until(async () => {
    const node = await raw(`/v1/nodes/${GRID}/${nodeName}`, "GET", undefined, { authorization });
    return node.status === 200 && (node.json() as { connected: boolean }).connected;
  });
  return api;
}

async function until(done: () => Promise<boolean>, pollMs = 10): Promise<void> {
  const deadline = Date.now() + ROUND_DEADLINE_MS;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${ROUND_DEADLINE_MS} ms`);
    await sleep(pollMs);
  }
}

/** One Berth round: a fresh service of `instances`, in parallel (min_health 0); ms from the deploy request to all running. */
async function berthRound(api: Api, round: number): Promise<number> {
  const name = `bench-${runId}-${round}`;
  const id = `${GRID}/null/${name}`;
  await api(`/v1/grids/${GRID}/services`, "POST", {
    name,
    image: BUSYBOX_IMAGE,
    cmd: COMMAND,
    instances,
    strategy: "ha",
    deploy_opts: { min_health: 0 },
  });
  const started = performance.now();
  await api(`/v1/services/${id}/deploy`, "POST", {});
  await until(async () => {
    const service = (await api(`/v1/services/${id}`)).json() as { instances?: { running?: number } };
    return service.instances?.running === instances;
  });
  const ms = performance.now() - started;
  // Removed through Berth (the agent would recreate what docker rm took away), then any leftover by label.
  await api(`/v1/services/${id}`, "DELETE");
  const serviceLabel = `${BERTH_LABELS.service}=${name}`;
  await until(async () => (await docker(["ps", "-aq", "--filter", serviceLabel])) === "", 50).catch(() => {});
  await removeLabelled(serviceLabel);
  return ms;
}

/** One docker round: `instances` parallel `docker run -d`; ms until all returned and run. */
async function dockerRound(round: number): Promise<number> {
  const label = `${benchLabel}-${round}`;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: instances }, (_, i) =>
      docker([
        "run",
        "-d",
        "--name",
        `bench-docker-${runId}-${round}-${i + 1}`,
        "--label",
        benchLabel,
        "--label",
        label,
        BUSYBOX_IMAGE,
        ...COMMAND,
      ]),
    ),
  );
  await until(async () => (await runningLabelled(label)) === instances);
  const ms = performance.now() - started;
  await removeLabelled(label);
  return ms;
}

try {
  const api = await startBerth();
  const berth: number[] = [];
  const plain: number[] = [];
  const rows: Row[] = [];
  for (let round = 1; round <= rounds; round++) {
    // Alternate which side goes first, so neither always meets a warmer engine.
    if (round % 2 === 1) {
      berth.push(await berthRound(api, round));
      plain.push(await dockerRound(round));
    } else {
      plain.push(await dockerRound(round));
      berth.push(await berthRound(api, round));
    }
    const b = berth.at(-1) as number;
    const d = plain.at(-1) as number;
    rows.push([`round ${round}`, `${formatNumber(b)} ms`, `${formatNumber(d)} ms`, formatRatio(b, d)]);
  }
  rows.push("-");
  rows.push([
    "median",
    `${formatNumber(median(berth))} ms`,
    `${formatNumber(median(plain))} ms`,
    formatRatio(median(berth), median(plain)),
  ]);
  process.stdout.write(
    `bench:deploy — ${instances} instances of ${BUSYBOX_IMAGE}, ${rounds} rounds; Docker ${await docker(["version", "--format", "{{.Server.Version}}"])}, ${cpus().length} CPUs\n\n`,
  );
  process.stdout.write(
    renderTable(
      [
        { header: "" },
        { header: "Berth deploy (1 agent)", align: "right" },
        { header: `${instances}× docker run -d`, align: "right" },
        { header: "Berth / docker", align: "right" },
      ],
      rows,
    ),
  );
} finally {
  await cleanUp();
}
