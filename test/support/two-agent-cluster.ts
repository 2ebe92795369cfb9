import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type Docker from "dockerode";
import { pino } from "pino";
import { type RunningAgent, startAgent } from "../../src/agent/start-agent.ts";
import type { GridInstance } from "../../src/core/nodes/node-instance-service.ts";
import type { OperationEvent } from "../../src/core/operations/operation-record.ts";
import type { MasterOptions } from "../../src/master/start-master.ts";
import { BERTH_LABELS } from "../../src/protocol/instance-spec.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "./docker-busybox-image.ts";
import { requireDocker, TEST_DOCKER_ENDPOINT } from "./docker-engine.ts";
import { send, type TestResponse } from "./http-client.ts";
import { makeTempDir } from "./temp-dir.ts";
import { startTestMaster, TEST_ADMIN_PASSWORD, type TestMaster } from "./test-master.ts";

/**
 * End-to-end fixture: a real master on loopback, a fresh grid with a random name, and two agents
 * running in this process with distinct random node names, both on the local Docker engine. When
 * the test ends (passed or failed) the agents stop and every container of the grid is removed.
 */

export { BUSYBOX_IMAGE };

/** A task as the Director shows it. */
export type DirectorTask = {
  readonly id: number;
  readonly state: string;
  readonly description: string;
  readonly result: string | null;
  readonly deployment?: string;
};

/** One line of a task's event output, as the operation wrote it. */
export type TaskEvent = OperationEvent;

const FINISHED = ["done", "errored", "cancelled"];

export interface TwoAgentCluster {
  readonly docker: Docker;
  readonly master: TestMaster;
  /** The fresh grid's name (random). */
  readonly grid: string;
  /** The two nodes' names (random), both agents on the same engine. */
  readonly nodes: readonly [string, string];
  /** A name unique to this test (for stacks and services: container names are engine-wide). */
  unique(prefix: string): string;
  /** Native API calls as the admin (JSON bodies). */
  get(path: string): Promise<TestResponse>;
  post(path: string, body?: unknown): Promise<TestResponse>;
  put(path: string, body: unknown): Promise<TestResponse>;
  del(path: string): Promise<TestResponse>;
  /** Director calls with basic auth, as the bosh CLI makes them. */
  director(
    path: string,
    init?: { method?: string; body?: string; headers?: Record<string, string> },
  ): Promise<TestResponse>;
  /** Polls the task until it is finished (or fails the test after `ms`). */
  followTask(id: number, ms?: number): Promise<DirectorTask>;
  /** The task's event output, parsed. */
  taskEvents(id: number): Promise<TaskEvent[]>;
  /** Stops a node's agent; its containers keep running. */
  stopAgent(node: string): Promise<void>;
  /** Starts a stopped node's agent again (it rejoins with its stored identity). */
  restartAgent(node: string): Promise<void>;
  /** Every container of this grid on the engine (all states), inspected; `labels` narrow the filter. */
  containers(labels?: Readonly<Record<string, string>>): Promise<Docker.ContainerInspectInfo[]>;
  /** Containers of one service (by the labels the agent sets). */
  serviceContainers(stack: string | null, service: string): Promise<Docker.ContainerInspectInfo[]>;
  /** Every desired instance of the grid where it is placed, with its node's latest report. */
  placements(): Promise<GridInstance[]>;
  /** GET /v1/services/<id> (fails the test unless 200). */
  service(id: string): Promise<ServiceJson>;
  /** Waits until the service shows `instances {total, running}` as given. */
  waitInstances(id: string, total: number, running?: number, ms?: number): Promise<ServiceJson>;
  /**
   * POSTs an action that starts an operation (deploy, scale, restart…), checks it was accepted,
   * and follows the task it names to a finished state.
   */
  operate(path: string, body?: unknown, ms?: number): Promise<{ task: DirectorTask; response: TestResponse }>;
}

/** The parts of a service's native JSON the scenarios read. */
export type ServiceJson = {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly instances: { readonly total: number; readonly running: number };
  readonly [key: string]: unknown;
};

/**
 * The operation (task) id in the answer to a deploy, scale, restart…: the native API answers a
 * deploy object whose `id` (a string) is also the Director task's.
 */
export function taskIdOf(response: TestResponse): number {
  const parsed = Number((response.json() as { id?: unknown }).id);
  assert.ok(Number.isSafeInteger(parsed) && parsed > 0, `no task id in ${response.text}`);
  return parsed;
}

export interface ClusterOptions {
  /** Master settings (short reschedule graces…). */
  readonly master?: Partial<MasterOptions>;
}

/** Random hex, short enough for DNS labels and container names. */
export function randomSuffix(bytes = 3): string {
  return randomBytes(bytes).toString("hex");
}

/** A two-agent cluster on the local engine, or null when the test was skipped for want of Docker. */
export async function startTwoAgentCluster(
  t: TestContext,
  options: ClusterOptions = {},
): Promise<TwoAgentCluster | null> {
  const docker = await requireDocker(t);
  if (docker === null) return null;
  await ensureBusyboxImage(docker);
  const id = randomSuffix();
  const grid = `e2e-${id}`;
  const nodes = [`${grid}-n1`, `${grid}-n2`] as const;
  const agents = new Map<string, RunningAgent>();
  const agentDirs = new Map<string, string>();

  // Registered before the master starts, so it runs before the master closes (after hooks run in order):
  // agents first (a live agent would recreate what is removed), then every container of the grid.
  t.after(async () => {
    await Promise.all([...agents.values()].map((agent) => agent.close()));
    agents.clear();
    await removeGridContainers(docker, grid);
  });

  const master = await startTestMaster(t, undefined, options.master);
  const basic = { authorization: `Basic ${Buffer.from(`admin:${TEST_ADMIN_PASSWORD}`).toString("base64")}` };
  const call = (path: string, method: string, body?: unknown) =>
    send(master.url, path, {
      method,
      headers: { ...master.auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const created = await call("/v1/grids", "POST", { name: grid });
  assert.equal(created.status, 201, `creating grid ${grid}: ${created.text}`);
  const gridToken = (created.json() as { token: string }).token;

  const logger = pino({ level: "silent" });
  const launch = async (node: string): Promise<void> => {
    let dataDir = agentDirs.get(node);
    if (dataDir === undefined) {
      dataDir = await makeTempDir(t, "berth-e2e-agent-");
      agentDirs.set(node, dataDir);
    }
    const agent = await startAgent({
      masterUrl: master.url,
      gridToken,
      name: node,
      labels: [],
      docker: TEST_DOCKER_ENDPOINT,
      dataDir,
      logger,
      backoff: { initialMs: 100, maxMs: 1_000 },
    });
    agent.stopped.catch(() => {});
    agents.set(node, agent);
    await waitFor(
      `node ${node} connected`,
      async () => (await call(`/v1/nodes/${grid}/${node}`, "GET")).json() as { connected?: boolean },
      (json) => json.connected === true,
      20_000,
    );
  };
  await Promise.all(nodes.map(launch));

  const director = (path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) =>
    send(master.url, path, {
      method: init.method,
      body: init.body,
      headers: { ...basic, ...init.headers },
      redirect: "manual",
    });

  const containers = async (labels: Readonly<Record<string, string>> = {}) => {
    const filters = Object.entries({ [BERTH_LABELS.grid]: grid, ...labels }).map(([key, value]) => `${key}=${value}`);
    const listed = await docker.listContainers({ all: true, filters: { label: filters } });
    const inspected = await Promise.all(
      listed.map((container) =>
        docker
          .getContainer(container.Id)
          .inspect()
          .catch(() => undefined),
      ),
    );
    return inspected
      .filter((info): info is Docker.ContainerInspectInfo => info !== undefined)
      .sort((a, b) => a.Name.localeCompare(b.Name));
  };

  return {
    docker,
    master,
    grid,
    nodes,
    unique: (prefix) => `${prefix}-${randomSuffix()}`,
    get: (path) => call(path, "GET"),
    post: (path, body = {}) => call(path, "POST", body),
    put: (path, body) => call(path, "PUT", body),
    del: (path) => call(path, "DELETE"),
    director,
    async followTask(taskId, ms = 60_000) {
      return waitFor(
        `task ${taskId} finished`,
        async () => (await director(`/tasks/${taskId}`)).json() as DirectorTask,
        (task) => FINISHED.includes(task.state),
        ms,
      );
    },
    async taskEvents(taskId) {
      const response = await director(`/tasks/${taskId}/output?type=event`);
      if (response.status === 204) return [];
      assert.equal(response.status, 200, response.text);
      return response.text
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as TaskEvent);
    },
    async stopAgent(node) {
      const agent = agents.get(node);
      assert.ok(agent, `no running agent for ${node}`);
      agents.delete(node);
      await agent.close();
      await waitFor(
        `node ${node} disconnected`,
        async () => (await call(`/v1/nodes/${grid}/${node}`, "GET")).json() as { connected?: boolean },
        (json) => json.connected === false,
        20_000,
      );
    },
    restartAgent: launch,
    containers,
    placements: () => master.core.nodeInstances.gridInstances(grid),
    async service(id) {
      const response = await call(`/v1/services/${id}`, "GET");
      assert.equal(response.status, 200, `GET /v1/services/${id}: ${response.text}`);
      return response.json() as ServiceJson;
    },
    async waitInstances(id, total, running = total, ms = 30_000) {
      return waitFor(
        `service ${id} at instances {total: ${total}, running: ${running}}`,
        async () => (await call(`/v1/services/${id}`, "GET")).json() as ServiceJson,
        (service) => service.instances?.total === total && service.instances?.running === running,
        ms,
      );
    },
    async operate(path, body = {}, ms = 60_000) {
      const response = await call(path, "POST", body);
      assert.ok(response.status >= 200 && response.status < 300, `POST ${path}: ${response.status} ${response.text}`);
      const task = await waitFor(
        `the task of POST ${path} finished`,
        async () => (await director(`/tasks/${taskIdOf(response)}`)).json() as DirectorTask,
        (found) => FINISHED.includes(found.state),
        ms,
      );
      return { task, response };
    },
    serviceContainers: (stack, service) =>
      containers(
        stack === null
          ? { [BERTH_LABELS.service]: service }
          : { [BERTH_LABELS.stack]: stack, [BERTH_LABELS.service]: service },
      ),
  };
}

/**
 * Polls `read` until `done` holds for what it returned; fails the test with `what` and the last
 * value after `ms`. Read errors count as "not yet" (a container mid-removal, a record not yet written).
 */
export async function waitFor<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  ms = 30_000,
  pollMs = 100,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await read();
      if (done(value)) return value;
      last = value;
    } catch (error) {
      last = error instanceof Error ? `error: ${error.message}` : error;
    }
    if (Date.now() > deadline) assert.fail(`waited ${ms} ms for ${what}; last seen: ${JSON.stringify(last)}`);
    await sleep(pollMs);
  }
}

async function removeGridContainers(docker: Docker, grid: string): Promise<void> {
  const listed = await docker.listContainers({ all: true, filters: { label: [`${BERTH_LABELS.grid}=${grid}`] } });
  await Promise.all(
    listed.map((container) =>
      docker
        .getContainer(container.Id)
        .remove({ force: true, v: true })
        .catch((error: { statusCode?: number }) => {
          // Already gone, or being removed by the engine already.
          if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
        }),
    ),
  );
}
