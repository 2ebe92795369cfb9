import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import type Docker from "dockerode";
import { BERTH_LABELS } from "../../src/protocol/instance-spec.ts";
import { send } from "../support/http-client.ts";
import { BUSYBOX_IMAGE, startTwoAgentCluster, type TwoAgentCluster, waitFor } from "../support/two-agent-cluster.ts";

// Services and stacks end to end: a real master, two agents on the local Docker engine.

/** Exits on SIGTERM, so stops and removals do not sit out Docker's stop timeout. */
const SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];

/** A stackless service of busybox sleepers, deployed in parallel (min_health 0). */
async function createSleepers(
  c: TwoAgentCluster,
  name: string,
  instances: number,
  extra: Record<string, unknown> = {},
) {
  const created = await c.post(`/v1/grids/${c.grid}/services`, {
    name,
    image: BUSYBOX_IMAGE,
    cmd: SLEEPER,
    instances,
    deploy_opts: { min_health: 0 },
    ...extra,
  });
  assert.equal(created.status, 201, created.text);
  return `${c.grid}/null/${name}`;
}

const nodeOf = (container: Docker.ContainerInspectInfo) => container.Config.Labels[BERTH_LABELS.node];
const namesOf = (containers: readonly Docker.ContainerInspectInfo[]) => containers.map((c) => c.Name.slice(1)).sort();

describe("services on two agents", { timeout: 180_000 }, () => {
  it("deploys a two-service stack from a stack file across both nodes", async (t) => {
    const c = await startTwoAgentCluster(t);
    if (c === null) return;
    const stack = c.unique("shop");
    const file = `
stack: e2e/${stack}
version: 0.1.0
description: two linked services
variables:
  greeting:
    type: string
    default: hello
services:
  web:
    image: ${BUSYBOX_IMAGE}
    instances: 2
    command: ["sh", "-c", "trap 'exit 0' TERM; echo ok > /var/www/index.html; httpd -f -p 8080 -h /var/www & wait"]
    environment:
      GREETING: \${greeting}
      ROLE: web
    links:
      - api:backend
    deploy:
      min_health: 0.5
    health_check:
      protocol: http
      port: 8080
      uri: /
      interval: 1
      initial_delay: 1
      timeout: 1
  api:
    image: ${BUSYBOX_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    environment:
      - ROLE=api
`;
    const created = await send(c.master.url, `/v1/grids/${c.grid}/stacks`, {
      method: "POST",
      headers: { ...c.master.auth, "content-type": "text/yaml" },
      body: file,
    });
    assert.equal(created.status, 201, created.text);
    const stackJson = (await c.get(`/v1/stacks/${c.grid}/${stack}`)).json() as {
      name: string;
      services: { name: string }[];
    };
    assert.equal(stackJson.name, stack);
    // Link order: the linked service first.
    assert.deepEqual(
      stackJson.services.map((service) => service.name),
      ["api", "web"],
    );

    const { task } = await c.operate(`/v1/stacks/${c.grid}/${stack}/deploy`);
    assert.equal(task.state, "done", JSON.stringify(task));
    const web = await c.waitInstances(`${c.grid}/${stack}/web`, 2);
    assert.equal(web.state, "running");
    await c.waitInstances(`${c.grid}/${stack}/api`, 1);

    const webContainers = await c.serviceContainers(stack, "web");
    assert.deepEqual(namesOf(webContainers), [`${stack}.web-1`, `${stack}.web-2`]);
    // ha: one instance on each node.
    assert.deepEqual(webContainers.map(nodeOf).sort(), [...c.nodes].sort());
    for (const container of webContainers) {
      assert.equal(container.State.Running, true);
      assert.equal(container.Config.Image, BUSYBOX_IMAGE);
      assert.ok(container.Config.Env.includes("GREETING=hello"), container.Config.Env.join(" "));
      assert.ok(container.Config.Env.includes("ROLE=web"));
      assert.equal(container.Config.Labels[BERTH_LABELS.stack], stack);
      assert.equal(container.Config.Labels[BERTH_LABELS.grid], c.grid);
    }
    const [api] = await c.serviceContainers(stack, "api");
    assert.equal(api?.Name, `/${stack}.api-1`);
    assert.ok(api.Config.Env.includes("ROLE=api"));

    // The health check passes on both web instances (httpd answers 200).
    await waitFor(
      "web instances healthy",
      async () => (await c.placements()).filter((p) => p.desired.service === "web" && p.desired.stack === stack),
      (found) => found.length === 2 && found.every((p) => p.actual?.health === "passing"),
    );
  });

  it("scales up and down: the highest numbers go and their containers with them", async (t) => {
    const c = await startTwoAgentCluster(t);
    if (c === null) return;
    const name = c.unique("scale");
    const id = await createSleepers(c, name, 2);
    assert.equal((await c.operate(`/v1/services/${id}/deploy`)).task.state, "done");
    await c.waitInstances(id, 2);
    const before = await c.serviceContainers(null, name);

    assert.equal((await c.operate(`/v1/services/${id}/scale`, { instances: 4 })).task.state, "done");
    await c.waitInstances(id, 4);
    const up = await c.serviceContainers(null, name);
    assert.deepEqual(
      namesOf(up),
      [1, 2, 3, 4].map((n) => `${name}-${n}`),
    );
    assert.deepEqual(new Set(up.map(nodeOf)), new Set(c.nodes), "spread over both nodes");
    // The first two were kept as they were.
    for (const kept of before)
      assert.ok(
        up.some((container) => container.Id === kept.Id),
        `${kept.Name} replaced`,
      );

    assert.equal((await c.operate(`/v1/services/${id}/scale`, { instances: 1 })).task.state, "done");
    await c.waitInstances(id, 1);
    const down = await waitFor(
      "containers 2-4 removed",
      () => c.serviceContainers(null, name),
      (found) => found.length === 1,
    );
    assert.deepEqual(namesOf(down), [`${name}-1`]);
    assert.equal(down[0]?.Id, before.find((container) => container.Name === `/${name}-1`)?.Id);
  });

  it("stops, starts and restarts a service's containers in place", async (t) => {
    const c = await startTwoAgentCluster(t);
    if (c === null) return;
    const name = c.unique("cycle");
    const id = await createSleepers(c, name, 2);
    assert.equal((await c.operate(`/v1/services/${id}/deploy`)).task.state, "done");
    await c.waitInstances(id, 2);
    const deployed = await c.serviceContainers(null, name);
    const ids = deployed.map((container) => container.Id);

    assert.equal((await c.operate(`/v1/services/${id}/stop`)).task.state, "done");
    const stopped = await c.waitInstances(id, 2, 0);
    assert.equal(stopped.state, "stopped");
    const whileStopped = await waitFor(
      "containers stopped",
      () => c.serviceContainers(null, name),
      (found) => found.length === 2 && found.every((container) => !container.State.Running),
    );
    assert.deepEqual(
      whileStopped.map((container) => container.Id),
      ids,
      "stop keeps the containers",
    );

    assert.equal((await c.operate(`/v1/services/${id}/start`)).task.state, "done");
    assert.equal((await c.waitInstances(id, 2)).state, "running");
    const started = await waitFor(
      "containers running again",
      () => c.serviceContainers(null, name),
      (found) => found.length === 2 && found.every((container) => container.State.Running),
    );
    assert.deepEqual(
      started.map((container) => container.Id),
      ids,
      "start keeps the containers",
    );

    const startedAt = new Map(started.map((container) => [container.Id, Date.parse(container.State.StartedAt)]));
    assert.equal((await c.operate(`/v1/services/${id}/restart`)).task.state, "done");
    const restarted = await waitFor(
      "containers restarted",
      () => c.serviceContainers(null, name),
      (found) =>
        found.length === 2 &&
        found.every(
          (container) =>
            container.State.Running &&
            Date.parse(container.State.StartedAt) > (startedAt.get(container.Id) ?? Number.POSITIVE_INFINITY),
        ),
    );
    assert.deepEqual(
      restarted.map((container) => container.Id),
      ids,
      "restart keeps the containers",
    );
    await c.waitInstances(id, 2);
  });

  it("restarts a container killed by hand and recreates one removed by hand", async (t) => {
    const c = await startTwoAgentCluster(t);
    if (c === null) return;
    const name = c.unique("heal");
    const id = await createSleepers(c, name, 2);
    assert.equal((await c.operate(`/v1/services/${id}/deploy`)).task.state, "done");
    await c.waitInstances(id, 2);
    const [first, second] = await c.serviceContainers(null, name);
    assert.ok(first && second);

    const firstStart = Date.parse(first.State.StartedAt);
    await c.docker.getContainer(first.Id).kill();
    const revived = await waitFor(
      `${first.Name} running again after docker kill`,
      () => c.serviceContainers(null, name),
      (found) =>
        found.some(
          (container) =>
            container.Name === first.Name &&
            container.State.Running &&
            Date.parse(container.State.StartedAt) > firstStart,
        ),
    );
    assert.equal(revived.length, 2);

    await c.docker.getContainer(second.Id).remove({ force: true });
    const recreated = await waitFor(
      `${second.Name} recreated after docker rm -f`,
      () => c.serviceContainers(null, name),
      (found) =>
        found.some(
          (container) => container.Name === second.Name && container.Id !== second.Id && container.State.Running,
        ),
    );
    assert.equal(recreated.length, 2);
    assert.equal(
      nodeOf(recreated.find((container) => container.Name === second.Name) as Docker.ContainerInspectInfo),
      nodeOf(second),
      "recreated by the same node",
    );
    await c.waitInstances(id, 2);
  });

  it("shows running instances in the Consul catalog with their node, port and tags, and drops scaled-away ones", async (t) => {
    const token = `e2e-${randomUUID()}`;
    const c = await startTwoAgentCluster(t, { master: { consulAcl: true, consulAclMasterToken: token } });
    if (c === null) return;
    const stack = c.unique("cat");
    // A host port is the engine's, shared by both agents: only one instance publishes it.
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const created = await c.post(`/v1/grids/${c.grid}/stacks`, {
      name: stack,
      stack: `e2e/${stack}`,
      version: "1.0.0",
      services: [
        {
          name: "front",
          image: BUSYBOX_IMAGE,
          cmd: ["sh", "-c", "trap 'exit 0' TERM; echo ok > /var/www/index.html; httpd -f -p 8080 -h /var/www & wait"],
          instances: 1,
          ports: [{ node_port: port, container_port: 8080, ip: "127.0.0.1" }],
          health_check: { protocol: "http", port: 8080, interval: 1, initial_delay: 1, timeout: 1 },
        },
        { name: "worker", image: BUSYBOX_IMAGE, cmd: SLEEPER, instances: 2, deploy_opts: { min_health: 0 } },
      ],
    });
    assert.equal(created.status, 201, created.text);
    assert.equal((await c.operate(`/v1/stacks/${c.grid}/${stack}/deploy`)).task.state, "done");

    const consul = (path: string) =>
      send(c.master.url, `${path}${path.includes("?") ? "&" : "?"}dc=${c.grid}`, {
        headers: { "x-consul-token": token },
      });
    type Entry = {
      Node: string;
      Address: string;
      ServiceID: string;
      ServiceName: string;
      ServicePort: number;
      ServiceTags: string[];
    };
    const catalog = async (name: string) => {
      const response = await consul(`/v1/catalog/service/${name}`);
      assert.equal(response.status, 200, response.text);
      return (response.json() as Entry[]).filter((entry) => entry.ServiceID.startsWith(`${stack}.`));
    };
    const addresses = new Map<string, string>();
    for (const node of c.nodes) {
      const json = (await c.get(`/v1/nodes/${c.grid}/${node}`)).json() as { private_ip: string; public_ip: string };
      addresses.set(node, json.private_ip || json.public_ip);
    }

    const workers = await waitFor(
      "both workers in the catalog",
      () => catalog("worker"),
      (entries) => entries.length === 2,
    );
    const workerContainers = await c.serviceContainers(stack, "worker");
    assert.deepEqual(
      workers.map((entry) => [entry.ServiceID, entry.Node, entry.Address]).sort(),
      workerContainers
        .map((x) => {
          const node = nodeOf(x) as string;
          return [x.Name.slice(1), node, addresses.get(node)];
        })
        .sort(),
    );
    for (const entry of workers) {
      assert.deepEqual(entry.ServiceTags.sort(), [`grid:${c.grid}`, `stack:${stack}`]);
      assert.ok(entry.Address !== "", "a node address");
    }
    const [front] = await waitFor(
      "the front instance in the catalog",
      () => catalog("front"),
      (entries) => entries.length === 1,
    );
    assert.equal(front?.ServicePort, port);
    assert.equal(front?.ServiceID, `${stack}.front-1`);
    // Its check mirrors the instance's health check once that passes.
    await waitFor(
      "the front check passing",
      async () => (await consul("/v1/health/service/front?passing=true")).json() as { Service: { ID: string } }[],
      (entries) => entries.some((entry) => entry.Service.ID === `${stack}.front-1`),
    );

    assert.equal(
      (await c.operate(`/v1/services/${c.grid}/${stack}/worker/scale`, { instances: 1 })).task.state,
      "done",
    );
    const left = await waitFor(
      "worker 2 gone from the catalog",
      () => catalog("worker"),
      (entries) => entries.length === 1,
    );
    assert.deepEqual(
      left.map((entry) => entry.ServiceID),
      [`${stack}.worker-1`],
    );
  });
});
