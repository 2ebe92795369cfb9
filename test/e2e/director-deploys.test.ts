import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { ServiceDeployResult } from "../../src/core/deploys/deploy-kinds.ts";
import {
  BUSYBOX_IMAGE,
  startTwoAgentCluster,
  type TaskEvent,
  type TwoAgentCluster,
  taskIdOf,
  waitFor,
} from "../support/two-agent-cluster.ts";

// Deploys seen through the Director face: task events, manifests, cancel. A real master, two
// agents on the local Docker engine, and the bosh CLI's requests (basic auth, Range polling).

const SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];
const [IMAGE_NAME, IMAGE_TAG] = BUSYBOX_IMAGE.split(":") as [string, string];

async function createService(c: TwoAgentCluster, name: string, spec: Record<string, unknown>): Promise<string> {
  const created = await c.post(`/v1/grids/${c.grid}/services`, {
    name,
    image: BUSYBOX_IMAGE,
    cmd: SLEEPER,
    ...spec,
  });
  assert.equal(created.status, 201, created.text);
  return `${c.grid}/null/${name}`;
}

/**
 * Follows a task's event output the way the bosh CLI does: GET with `Range: bytes=<seen>-`
 * until the task is finished and nothing new comes (206 with more, 416 when nothing new).
 */
async function followEvents(c: TwoAgentCluster, taskId: number, ms = 60_000) {
  const deadline = Date.now() + ms;
  let seen = 0;
  let text = "";
  for (;;) {
    const task = (await c.director(`/tasks/${taskId}`)).json() as { state: string };
    const finished = ["done", "errored", "cancelled"].includes(task.state);
    const chunk = await c.director(`/tasks/${taskId}/output?type=event`, { headers: { range: `bytes=${seen}-` } });
    if (chunk.status === 206) {
      text += chunk.text;
      seen += Buffer.byteLength(chunk.text);
    } else {
      assert.ok([204, 416].includes(chunk.status), `event output answered ${chunk.status}: ${chunk.text}`);
    }
    // Read once more after seeing it finished: the last events may have come with the state.
    if (finished && chunk.status !== 206) {
      const events = text
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as TaskEvent);
      return { state: task.state, events };
    }
    if (Date.now() > deadline) assert.fail(`task ${taskId} still ${task.state} after ${ms} ms; events: ${text}`);
    await sleep(100);
  }
}

/** A manifest (see the README's mapping): one release, the busybox image as stemcell, one instance group. */
function manifest(name: string, instances: number, extra = ""): string {
  return `---
name: ${name}
releases:
  - name: e2e
    version: 1.0.0
stemcells:
  - alias: default
    os: ${IMAGE_NAME}
    version: "${IMAGE_TAG}"
update:
  canaries: 1
  max_in_flight: 2
  canary_watch_time: 1000-5000
  update_watch_time: 1000-5000
instance_groups:
  - name: web
    instances: ${instances}
    stemcell: default
    jobs:
      - name: web
        release: e2e
    properties:
      cmd: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
      env:
        ROLE: director${extra}
`;
}

async function postManifest(c: TwoAgentCluster, text: string) {
  // The Director's deployments are a grid's stacks: ?grid= picks the cluster's (BOSH has no grids).
  return c.director(`/deployments?grid=${c.grid}`, {
    method: "POST",
    body: text,
    headers: { "content-type": "text/yaml" },
  });
}

describe("deploys as Director tasks on two agents", { timeout: 180_000 }, () => {
  it("follows a service deploy as task events to done", async (t) => {
    const c = await startTwoAgentCluster(t);
    if (c === null) return;
    const name = c.unique("evented");
    const id = await createService(c, name, { instances: 3, deploy_opts: { min_health: 0.5 } });
    const deployed = await c.post(`/v1/services/${id}/deploy`, {});
    assert.ok(deployed.status < 300, deployed.text);
    const taskId = taskIdOf(deployed);

    const { state, events } = await followEvents(c, taskId);
    assert.equal(state, "done", JSON.stringify(events));
    assert.ok(events.length > 0, "no events");
    for (const event of events) {
      assert.deepEqual(
        Object.keys(event).slice(0, 8),
        ["time", "stage", "tags", "total", "task", "index", "state", "progress"],
        "BOSH's field order",
      );
      assert.notEqual(event.state, "failed", JSON.stringify(event));
    }
    // Every started step finished.
    const started = events.filter((event) => event.state === "started").map((event) => `${event.stage}/${event.task}`);
    const finished = events
      .filter((event) => event.state === "finished")
      .map((event) => `${event.stage}/${event.task}`);
    assert.deepEqual(finished.sort(), started.sort());
    // The instances are named in the events.
    const text = JSON.stringify(events);
    for (const n of [1, 2, 3]) assert.ok(text.includes(`${name}-${n}`), `instance ${n} not in the events: ${text}`);

    const task = (await c.director(`/tasks/${taskId}`)).json() as { state: string; description: string };
    assert.equal(task.state, "done");
    await c.waitInstances(id, 3);
    const status = await c.get(`/v1/services/${id}/deploys/${taskId}`);
    assert.equal(status.status, 200, status.text);
  });

  it("creates a deployment from a manifest (302 to a task that finishes done), and refuses a broken one in the Director shape", async (t) => {
    const c = await startTwoAgentCluster(t);
    if (c === null) return;
    const name = c.unique("bosh");
    const posted = await postManifest(c, manifest(name, 2));
    assert.equal(posted.status, 302, posted.text);
    const location = posted.headers.get("location") ?? "";
    const match = /^\/tasks\/(\d+)$/.exec(location);
    assert.ok(match, `Location: ${location}`);
    const task = await c.followTask(Number(match[1]));
    assert.equal(task.state, "done", JSON.stringify(task));

    const listed = (await c.director(`/deployments?grid=${c.grid}`)).json() as { name: string }[];
    assert.ok(
      listed.some((deployment) => deployment.name === name),
      JSON.stringify(listed),
    );
    const shown = (await c.director(`/deployments/${name}?grid=${c.grid}`)).json() as { manifest: string };
    assert.match(shown.manifest, new RegExp(`name: ${name}`));
    const containers = await waitFor(
      "the instance group's two containers running",
      () => c.serviceContainers(name, "web"),
      (found) => found.length === 2 && found.every((x) => x.State.Running),
    );
    assert.ok(containers.every((x) => x.Config.Env.includes("ROLE=director")));

    // Broken: an instance group without instances, and an unknown top-level key.
    const broken = await postManifest(c, manifest(name, 2).replace("    instances: 2\n", "").concat("jobs: []\n"));
    assert.equal(broken.status, 400, broken.text);
    const error = broken.json() as { code: number; description: string };
    assert.deepEqual(Object.keys(error).sort(), ["code", "description"]);
    assert.equal(typeof error.code, "number");
    assert.match(error.description, /instance_groups\[0\]\.instances|instance_groups\.0\.instances/);
    assert.match(error.description, /jobs/);
    // Nothing changed: the deployment keeps its manifest.
    const still = (await c.director(`/deployments/${name}?grid=${c.grid}`)).json() as { manifest: string };
    assert.equal(still.manifest, shown.manifest);

    const notYaml = await postManifest(c, "name: [unclosed");
    assert.equal(notYaml.status, 400, notYaml.text);
    assert.ok((notYaml.json() as { description: string }).description.length > 0);
  });

  it("cancels a long deploy: the task ends cancelled and records which instances were updated", async (t) => {
    const c = await startTwoAgentCluster(t);
    if (c === null) return;
    const name = c.unique("stuck");
    // One at a time (min_health 1), and each waits for a port nothing listens on.
    const id = await createService(c, name, {
      instances: 4,
      deploy_opts: { min_health: 1, wait_for_port: 9999 },
    });
    const deployed = await c.post(`/v1/services/${id}/deploy`, {});
    assert.ok(deployed.status < 300, deployed.text);
    const taskId = taskIdOf(deployed);
    // Under way: the first instance is created and waits for its port.
    await waitFor(
      "the first instance created",
      () => c.serviceContainers(null, name),
      (found) => found.length >= 1,
    );
    const processing = (await c.director(`/tasks/${taskId}`)).json() as { state: string };
    assert.equal(processing.state, "processing");

    const cancelled = await c.director(`/task/${taskId}`, { method: "DELETE" });
    assert.equal(cancelled.status, 204, cancelled.text);
    const task = await c.followTask(taskId, 30_000);
    assert.equal(task.state, "cancelled", JSON.stringify(task));
    const again = await c.director(`/task/${taskId}`, { method: "DELETE" });
    assert.equal(again.status, 400, again.text);

    // The record says what happened to each instance: which were written, which never reached.
    const result = await c.director(`/tasks/${taskId}/output?type=result`);
    assert.equal(result.status, 200, result.text);
    const deploys = result.text
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as ServiceDeployResult);
    const mine = deploys.find((line) => line.service_id === id);
    assert.ok(mine, result.text);
    // One in flight (min_health 1): instance 1 was written to its node and never confirmed, the rest untouched.
    assert.deepEqual(
      mine.instance_deploys.map((deploy) => [deploy.instance_number, deploy.state]),
      [
        [1, "ongoing"],
        [2, "created"],
        [3, "created"],
        [4, "created"],
      ],
    );
    assert.ok(
      mine.instance_deploys.every((deploy) => /cancelled/.test(deploy.error ?? "")),
      result.text,
    );
    const events = await c.taskEvents(taskId);
    assert.ok(
      JSON.stringify(events).includes(`${name}-1`),
      `the events name the instance being updated: ${JSON.stringify(events)}`,
    );
    // The deploy status on the native face tells the same story.
    const status = await c.get(`/v1/services/${id}/deploys/${taskId}`);
    assert.equal(status.status, 200, status.text);
    const deploy = status.json() as { state: string; reason: string; instance_deploys: unknown[] };
    assert.equal(deploy.state, "error");
    assert.equal(deploy.reason, "cancelled");
    assert.deepEqual(deploy.instance_deploys, mine.instance_deploys);
  });
});
