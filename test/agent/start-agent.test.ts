import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type Docker from "dockerode";
import { nodeIdentityPath } from "../../src/agent/node-identity-file.ts";
import type { MasterOptions } from "../../src/master/start-master.ts";
import { BERTH_LABELS, type DesiredInstanceInput } from "../../src/protocol/instance-spec.ts";
import { type AgentProcessOptions, type BerthProcess, spawnAgent } from "../support/agent-process.ts";
import { eventually } from "../support/consul-master.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../support/docker-busybox-image.ts";
import { type DockerTestRun, requireDocker, startDockerTestRun } from "../support/docker-engine.ts";
import { startRegistry } from "../support/docker-registry.ts";
import { send, sendJson } from "../support/http-client.ts";
import { makeTempDir } from "../support/temp-dir.ts";
import { startTestMaster, type TestMaster } from "../support/test-master.ts";

// End to end on the local Docker engine: a real master in this process, `berth agent` in child processes.

interface Setup {
  /** `berth agent` in a child process, killed before the run's containers are removed (else it would recreate them). */
  spawnAgent(options: AgentProcessOptions): BerthProcess;
  readonly docker: Docker;
  readonly run: DockerTestRun;
  readonly masterDir: string;
  master: TestMaster;
  readonly gridToken: string;
}

async function setup(t: TestContext, masterOptions: Partial<MasterOptions> = {}): Promise<Setup | null> {
  const docker = await requireDocker(t);
  if (docker === null) return null;
  // Registered first, so it runs first: after hooks run in the order they were added.
  const agents: BerthProcess[] = [];
  t.after(() => Promise.all(agents.map((agent) => agent.kill())));
  const run = startDockerTestRun(t, docker);
  await ensureBusyboxImage(docker);
  const masterDir = await makeTempDir(t);
  const master = await startTestMaster(t, masterDir, masterOptions);
  return {
    spawnAgent: (options) => {
      const agent = spawnAgent(t, options);
      agents.push(agent);
      return agent;
    },
    docker,
    run,
    masterDir,
    master,
    gridToken: (await master.core.grids.get("default")).token,
  };
}

/** A long-running busybox instance of this run, with settings worth checking on the container. */
function instance(run: DockerTestRun, node: string, number: number, overrides: Partial<DesiredInstanceInput> = {}) {
  return {
    id: `default/${node}/web/${number}`,
    name: `${node}-web-${number}`,
    grid: "default",
    stack: node,
    service: "web",
    instance_number: number,
    image: BUSYBOX_IMAGE,
    // Exits on SIGTERM (a plain `sleep` as PID 1 would sit out the stop timeout).
    cmd: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
    labels: { ...run.labels },
    revision: "r1",
    ...overrides,
  } satisfies DesiredInstanceInput;
}

async function nodeJson(
  master: TestMaster,
  name: string,
  grid = "default",
): Promise<Record<string, unknown> | undefined> {
  const response = await send(master.url, `/v1/nodes/${grid}/${name}`, { headers: master.auth });
  return response.status === 200 ? (response.json() as Record<string, unknown>) : undefined;
}

const waitConnected = (master: TestMaster, name: string, connected = true, grid = "default") =>
  eventually(
    () => nodeJson(master, name, grid),
    (node) => node?.connected === connected,
    20_000,
  );

async function waitRunning(master: TestMaster, node: string, ids: readonly string[], grid = "default") {
  return eventually(
    () => master.core.nodeInstances.actual(grid, node),
    (states) => ids.every((id) => states.some((state) => state.id === id && state.state === "running")),
    20_000,
  );
}

async function containerOf(docker: Docker, instanceId: string): Promise<Docker.ContainerInspectInfo[]> {
  const listed = await docker.listContainers({
    all: true,
    filters: { label: [`${BERTH_LABELS.instance}=${instanceId}`] },
  });
  return Promise.all(listed.map((container) => docker.getContainer(container.Id).inspect()));
}

describe("berth agent on Docker", { timeout: 180_000 }, () => {
  it("joins, runs its instances, survives being killed, rejoins and adopts, outlives a master restart, stops when deleted", async (t) => {
    const s = await setup(t);
    if (s === null) return;
    const node = `${s.run.prefix}-a`;
    const agentDir = await makeTempDir(t);
    let agent = s.spawnAgent({
      masterUrl: s.master.url,
      name: node,
      dataDir: agentDir,
      gridToken: s.gridToken,
      labels: "region=test,disk=ssd",
    });
    const joined = await waitConnected(s.master, node);
    assert.deepEqual(joined?.labels, ["region=test", "disk=ssd"]);
    assert.equal(joined?.node_number, 1);
    assert.equal(joined?.node_id, (await s.docker.info()).ID);

    // The identity (stored right after the welcome): owner-only, with a token that appears in no output.
    const identityFile = nodeIdentityPath(agentDir);
    const mode = await eventually(
      () =>
        stat(identityFile).then(
          (file) => file.mode & 0o777,
          () => undefined,
        ),
      (found) => found !== undefined,
    );
    assert.equal(mode, 0o600);
    const identity = JSON.parse(await readFile(identityFile, "utf8")) as { node_token: string; name: string };
    assert.equal(identity.name, node);

    // A desired instance becomes a container with what it asked for.
    const web = instance(s.run, node, 1, {
      env: ["GREETING=hello world"],
      entrypoint: ["httpd"],
      cmd: ["-f", "-p", "8080"],
      ports: [{ container_port: 8080, node_port: 0, ip: "127.0.0.1" }],
      memory: 64 * 1024 * 1024,
      cpu_shares: 256,
      labels: { ...s.run.labels, "com.example.tier": "front" },
    });
    await s.master.core.nodeInstances.setDesired("default", node, [web]);
    const [running] = await waitRunning(s.master, node, [web.id]);
    const [container] = await containerOf(s.docker, web.id);
    assert.ok(container);
    assert.equal(container.Id, running?.container_id);
    assert.equal(container.Name, `/${web.name}`);
    assert.ok(container.Config.Env.includes("GREETING=hello world"));
    assert.equal(container.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(container.HostConfig.CpuShares, 256);
    assert.equal(container.HostConfig.PortBindings?.["8080/tcp"]?.[0]?.HostIp, "127.0.0.1");
    assert.equal(container.Config.Labels["com.example.tier"], "front");
    assert.equal(container.Config.Labels[BERTH_LABELS.node], node);
    assert.equal(container.Config.Labels[BERTH_LABELS.revision], "r1");
    const { Id: id, State } = container;
    const startedAt = State.StartedAt;

    // Killed hard: the container runs on, and the master notices the link is gone.
    await agent.kill();
    for (const secret of [identity.node_token, s.gridToken]) {
      assert.ok(!JSON.stringify(agent.output()).includes(secret), "a token appeared in the agent's output");
    }
    await waitConnected(s.master, node, false);
    assert.equal((await s.docker.getContainer(id).inspect()).State.Running, true);

    // Restarted without the grid token: it rejoins with its node token and adopts the container.
    agent = s.spawnAgent({ masterUrl: s.master.url, name: "ignored-now", dataDir: agentDir });
    const rejoined = await waitConnected(s.master, node);
    assert.equal(rejoined?.node_number, 1);
    await sleep(2_000);
    const adopted = await containerOf(s.docker, web.id);
    assert.deepEqual(
      adopted.map((c) => [c.Id, c.State.StartedAt, c.State.Running]),
      [[id, startedAt, true]],
    );

    // The master restarts: the agent comes back to it, nothing is recreated or restarted.
    const port = Number(new URL(s.master.url).port);
    await s.master.close();
    s.master = await startTestMaster(t, s.masterDir, { port });
    await waitConnected(s.master, node);
    await waitRunning(s.master, node, [web.id]);
    await sleep(2_000);
    assert.deepEqual(
      (await containerOf(s.docker, web.id)).map((c) => [c.Id, c.State.StartedAt, c.State.Running]),
      [[id, startedAt, true]],
    );

    // Deleted: the agent is told so, says what to do, and stops; its container is left alone.
    const removed = await send(s.master.url, `/v1/nodes/default/${node}`, { method: "DELETE", headers: s.master.auth });
    assert.equal(removed.status, 200);
    const { code, stderr } = await agent.exit();
    assert.equal(code, 1, stderr);
    assert.match(stderr, /deleted.*remove .*node-identity\.json.*grid token/);
    assert.equal((await s.docker.getContainer(id).inspect()).State.Running, true);

    // Its stored identity keeps being refused.
    const again = s.spawnAgent({ masterUrl: s.master.url, name: node, dataDir: agentDir });
    assert.equal((await again.exit()).code, 1);
  });

  it("runs two agents with different names on one engine, each with only its own instances", async (t) => {
    const s = await setup(t);
    if (s === null) return;
    const [x, y] = [`${s.run.prefix}-x`, `${s.run.prefix}-y`];
    const agents = [x, y].map(async (name) =>
      s.spawnAgent({ masterUrl: s.master.url, name, dataDir: await makeTempDir(t), gridToken: s.gridToken }),
    );
    await Promise.all(agents);
    await waitConnected(s.master, x);
    await waitConnected(s.master, y);
    const [x1, x2, y1] = [instance(s.run, x, 1), instance(s.run, x, 2), instance(s.run, y, 1)];
    await s.master.core.nodeInstances.setDesired("default", x, [x1, x2]);
    await s.master.core.nodeInstances.setDesired("default", y, [y1]);
    await waitRunning(s.master, x, [x1.id, x2.id]);
    await waitRunning(s.master, y, [y1.id]);
    assert.deepEqual(
      (await s.master.core.nodeInstances.actual("default", y)).map((state) => state.id),
      [y1.id],
    );
    const [yContainer] = await containerOf(s.docker, y1.id);

    await s.master.core.nodeInstances.setDesired("default", x, [x2]);
    await eventually(
      () => containerOf(s.docker, x1.id),
      (containers) => containers.length === 0,
      20_000,
    );
    assert.deepEqual(
      (await containerOf(s.docker, y1.id)).map((c) => [c.Id, c.State.StartedAt]),
      [[yContainer?.Id, yContainer?.State.StartedAt]],
      "y's container untouched",
    );
    assert.equal((await containerOf(s.docker, x2.id)).length, 1);
  });

  it("runs agents of one name in two grids on one engine: each keeps to its own grid's containers", async (t) => {
    const s = await setup(t);
    if (s === null) return;
    const grid = await sendJson(s.master.url, "/v1/grids", "POST", { name: "second" }, s.master.auth);
    assert.equal(grid.status, 201, grid.text);
    const node = `${s.run.prefix}-same`;
    const agentDir = await makeTempDir(t);
    const spawnHere = (gridToken?: string) =>
      s.spawnAgent({ masterUrl: s.master.url, name: node, dataDir: agentDir, gridToken });
    let here = spawnHere(s.gridToken);
    s.spawnAgent({
      masterUrl: s.master.url,
      name: node,
      dataDir: await makeTempDir(t),
      gridToken: (await s.master.core.grids.get("second")).token,
    });
    const mine = instance(s.run, node, 1);
    const theirs = instance(s.run, node, 1, { id: `second/${node}/web/1`, grid: "second", name: `${node}-second-1` });
    await waitConnected(s.master, node);
    await waitConnected(s.master, node, true, "second");
    await s.master.core.nodeInstances.setDesired("default", node, [mine]);
    await s.master.core.nodeInstances.setDesired("second", node, [theirs]);
    await waitRunning(s.master, node, [mine.id]);
    await waitRunning(s.master, node, [theirs.id], "second");
    const [before] = await containerOf(s.docker, theirs.id);
    assert.equal(before?.Config.Labels[BERTH_LABELS.grid], "second");
    assert.equal(before.Config.Labels[BERTH_LABELS.node], node);

    // A restarted agent compares its whole desired set with every container of its node name:
    // the other grid's container carries that name too, and must be left alone.
    await here.kill();
    here = spawnHere();
    await waitConnected(s.master, node);
    await sleep(2_000);
    await s.master.core.nodeInstances.setDesired("default", node, []);
    await eventually(
      () => containerOf(s.docker, mine.id),
      (containers) => containers.length === 0,
      20_000,
    );
    assert.deepEqual(
      (await containerOf(s.docker, theirs.id)).map((c) => [c.Id, c.State.StartedAt, c.State.Running]),
      [[before.Id, before.State.StartedAt, true]],
      "the other grid's container untouched",
    );
  });

  it("pulls with the login of the grid's registry once one is stored, and never logs its password", async (t) => {
    const masterLog: string[] = [];
    const s = await setup(t, {
      logLevel: "trace",
      logDestination: { write: (line: string) => void masterLog.push(line) },
    });
    if (s === null) return;
    const password = `registry-password-${randomUUID()}`;
    const registry = await startRegistry(t, s.docker, { htpasswd: { puller: password } });
    const node = `${s.run.prefix}-pull`;
    const agent = s.spawnAgent({
      masterUrl: s.master.url,
      name: node,
      dataDir: await makeTempDir(t),
      gridToken: s.gridToken,
      logLevel: "trace",
    });
    await waitConnected(s.master, node);
    const web = instance(s.run, node, 1, { image: registry.image });
    await s.master.core.nodeInstances.setDesired("default", node, [web]);

    // No registry stored: the master has no login to give, the anonymous pull is refused, the instance says why.
    const states = await eventually(
      () => s.master.core.nodeInstances.actual("default", node),
      (found) => found.some((state) => state.id === web.id && state.state === "error"),
      20_000,
    );
    assert.match(states.find((state) => state.id === web.id)?.error ?? "", /no basic auth credentials|unauthorized/);

    // Stored afterwards: the agent's next attempt gets the login and the container runs.
    const created = await sendJson(
      s.master.url,
      "/v1/grids/default/external_registries",
      "POST",
      { url: `http://${registry.url}`, username: "puller", password },
      s.master.auth,
    );
    assert.equal(created.status, 201, created.text);
    const [running] = await waitRunning(s.master, node, [web.id]);
    const [container] = await containerOf(s.docker, web.id);
    assert.ok(container);
    assert.equal(container.Id, running?.container_id);
    assert.equal(container.Config.Image, registry.image);

    assert.match(masterLog.join(""), /registry login asked for a pull/, "the master logged at trace level");
    assert.ok(!masterLog.join("").includes(password), "the registry password appeared in the master's log");
    assert.ok(!JSON.stringify(agent.output()).includes(password), "the registry password appeared in the agent's log");
  });

  it("refuses a wrong or rotated grid token: the agent says so and stops", async (t) => {
    const s = await setup(t);
    if (s === null) return;
    const wrong = s.spawnAgent({
      masterUrl: s.master.url,
      name: `${s.run.prefix}-w`,
      dataDir: await makeTempDir(t),
      gridToken: "not-the-token",
    });
    const refused = await wrong.exit();
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused the grid token.*--grid-token or BERTH_GRID_TOKEN/);

    const rotated = await sendJson(s.master.url, "/v1/grids/default/token", "POST", {}, s.master.auth);
    assert.equal(rotated.status, 200, rotated.text);
    const stale = s.spawnAgent({
      masterUrl: s.master.url,
      name: `${s.run.prefix}-r`,
      dataDir: join(await makeTempDir(t), "agent"),
      gridToken: s.gridToken,
    });
    assert.equal((await stale.exit()).code, 1);
    const nodes = await send(s.master.url, "/v1/grids/default/nodes", { headers: s.master.auth });
    assert.deepEqual((nodes.json() as { nodes: unknown[] }).nodes, []);
  });
});
