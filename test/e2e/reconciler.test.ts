import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type Docker from "dockerode";
import { BERTH_LABELS } from "../../src/protocol/instance-spec.ts";
import { BUSYBOX_IMAGE, startTwoAgentCluster, type TwoAgentCluster, waitFor } from "../support/two-agent-cluster.ts";

// What keeps instances as desired once deployed: rescheduling off a lost node, health checks,
// post-start hooks and secrets. A real master, two agents on the local Docker engine.

const SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];
/** Seconds a node may be offline before its stateless instances move (the default is minutes). */
const GRACE_SECONDS = 2;

async function createService(c: TwoAgentCluster, name: string, spec: Record<string, unknown>): Promise<string> {
  const created = await c.post(`/v1/grids/${c.grid}/services`, {
    name,
    image: BUSYBOX_IMAGE,
    cmd: SLEEPER,
    deploy_opts: { min_health: 0 },
    ...spec,
  });
  assert.equal(created.status, 201, created.text);
  return `${c.grid}/null/${name}`;
}

async function deploy(c: TwoAgentCluster, id: string, body: Record<string, unknown> = {}): Promise<void> {
  const { task } = await c.operate(`/v1/services/${id}/deploy`, body);
  assert.equal(task.state, "done", JSON.stringify(task));
}

/** `sh -c` in the container, its output (stdout and stderr as Docker multiplexes them, headers dropped). */
async function exec(container: Docker.Container, command: string): Promise<string> {
  const run = await container.exec({ Cmd: ["sh", "-c", command], AttachStdout: true, AttachStderr: true });
  const stream = await run.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const out: Buffer[] = [];
  for (let at = 0; at + 8 <= raw.length; ) {
    const size = raw.readUInt32BE(at + 4);
    out.push(raw.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(out).toString("utf8");
}

describe("reconciling on two agents", { timeout: 180_000 }, () => {
  it("moves a lost node's stateless instances after the grace period; a stateful one waits for its node", async (t) => {
    const c = await startTwoAgentCluster(t, {
      master: { rescheduleGraceHa: GRACE_SECONDS, rescheduleGraceRandom: GRACE_SECONDS },
    });
    if (c === null) return;
    const [lost, kept] = c.nodes;
    const web = c.unique("web");
    const db = c.unique("db");
    const webId = await createService(c, web, { instances: 2 });
    const dbId = await createService(c, db, { instances: 2, stateful: true });
    await deploy(c, webId);
    await deploy(c, dbId);
    await c.waitInstances(webId, 2);
    await c.waitInstances(dbId, 2);

    const placed = await c.placements();
    const on = (service: string, node: string) =>
      placed.filter((p) => p.desired.service === service && p.node === node).map((p) => p.desired.id);
    // ha puts one of each on each node.
    const [movingWeb] = on(web, lost);
    const [waitingDb] = on(db, lost);
    assert.ok(movingWeb && waitingDb, JSON.stringify(placed.map((p) => [p.node, p.desired.id])));

    const stoppedAt = Date.now();
    await c.stopAgent(lost);
    const moved = await waitFor(
      `${movingWeb} placed on ${kept} and running there`,
      () => c.placements(),
      (found) => found.some((p) => p.desired.id === movingWeb && p.node === kept && p.actual?.state === "running"),
      30_000,
    );
    assert.ok(Date.now() - stoppedAt >= GRACE_SECONDS * 1000, "moved before the grace period ended");
    // The stateful instance is still placed on its (offline) node, the others where they were.
    assert.equal(moved.find((p) => p.desired.id === waitingDb)?.node, lost);
    assert.deepEqual(
      moved.filter((p) => p.desired.service === web).map((p) => p.node),
      [kept, kept],
    );
    await c.waitInstances(webId, 2);

    // The kept node's agent runs the moved instance under its name (it took the name from the lost node's container).
    const webContainers = await waitFor(
      `${web} containers both on ${kept}`,
      () => c.serviceContainers(null, web),
      (found) => found.filter((x) => x.State.Running && x.Config.Labels[BERTH_LABELS.node] === kept).length === 2,
    );
    assert.deepEqual(
      webContainers
        .filter((x) => x.Config.Labels[BERTH_LABELS.node] === kept)
        .map((x) => x.Name)
        .sort(),
      [`/${web}-1`, `/${web}-2`],
    );
    // No copy of the stateful instance was started elsewhere: its container is still the lost node's.
    const dbContainers = await c.serviceContainers(null, db);
    assert.deepEqual(
      dbContainers.map((x) => [x.Name, x.Config.Labels[BERTH_LABELS.node]]).sort(),
      placed
        .filter((p) => p.desired.service === db)
        .map((p) => [`/${p.desired.name}`, p.node])
        .sort(),
    );
    assert.equal((await c.service(dbId)).instances.total, 2);

    // The node comes back: its stateful instance runs on in the same container, nothing of web is left on it.
    const waitingContainer = dbContainers.find((x) => x.Config.Labels[BERTH_LABELS.node] === lost);
    assert.ok(waitingContainer);
    await c.restartAgent(lost);
    await c.waitInstances(dbId, 2);
    const back = await waitFor(
      `no ${web} container left on ${lost}`,
      () => c.containers(),
      (found) =>
        !found.some(
          (x) => x.Config.Labels[BERTH_LABELS.service] === web && x.Config.Labels[BERTH_LABELS.node] === lost,
        ),
    );
    const dbAgain = back.find((x) => x.Name === waitingContainer.Name);
    assert.equal(dbAgain?.Id, waitingContainer.Id);
    assert.equal(
      dbAgain?.State.StartedAt,
      waitingContainer.State.StartedAt,
      "the stateful container was not restarted",
    );
  });

  it("restarts a container whose health check keeps failing, after the threshold", async (t) => {
    const c = await startTwoAgentCluster(t);
    if (c === null) return;
    const name = c.unique("sick");
    // Nothing listens on 8080: every check fails.
    const id = await createService(c, name, {
      instances: 1,
      health_check: { protocol: "http", port: 8080, uri: "/health", interval: 1, initial_delay: 1, timeout: 1 },
    });
    await deploy(c, id);
    const [first] = await waitFor(
      "the container running",
      () => c.serviceContainers(null, name),
      (found) => found.length === 1 && found[0]?.State.Running === true,
    );
    assert.ok(first);
    const firstStart = Date.parse(first.State.StartedAt);

    const critical = await waitFor(
      "health critical",
      async () => (await c.placements()).find((p) => p.desired.service === name)?.actual,
      (actual) => actual?.health === "critical",
      15_000,
    );
    assert.ok(critical?.health_output, "the failure is explained");

    const restarted = await waitFor(
      "the container restarted",
      () => c.serviceContainers(null, name),
      (found) =>
        found.length === 1 && found[0]?.State.Running === true && Date.parse(found[0].State.StartedAt) > firstStart,
      30_000,
    );
    // Three failed checks a second apart after a one-second delay: never restarted on the first failure.
    const after = Date.parse(restarted[0]?.State.StartedAt ?? "") - firstStart;
    assert.ok(after >= 2_500, `restarted ${after} ms after start, before three checks could fail`);
  });

  it("runs a oneshot hook once across a forced redeploy, and a plain hook every time", async (t) => {
    const c = await startTwoAgentCluster(t);
    if (c === null) return;
    const name = c.unique("hooks");
    const id = await createService(c, name, {
      instances: 2,
      hooks: {
        post_start: [
          { name: "init", cmd: "echo init >> /tmp/hooks.log", instances: "*", oneshot: true },
          { name: "warm", cmd: "echo warm >> /tmp/hooks.log", instances: "*", oneshot: false },
        ],
      },
    });
    await deploy(c, id);
    const hooked = (ran: readonly string[]) => async () => {
      const found = (await c.placements()).filter((p) => p.desired.service === name);
      return {
        found,
        ok: found.length === 2 && found.every((p) => ran.every((hook) => p.actual?.hooks_ran.includes(hook))),
      };
    };
    await waitFor("both hooks ran", hooked(["init", "warm"]), (state) => state.ok);
    const first = await c.serviceContainers(null, name);
    for (const container of first) {
      assert.equal(await exec(c.docker.getContainer(container.Id), "cat /tmp/hooks.log"), "init\nwarm\n");
    }

    await deploy(c, id, { force: true });
    const second = await waitFor(
      "both containers recreated",
      () => c.serviceContainers(null, name),
      (found) => found.length === 2 && found.every((x) => x.State.Running && !first.some((old) => old.Id === x.Id)),
    );
    const { found } = await waitFor("the plain hook ran again", hooked(["warm"]), (state) => state.ok);
    for (const placement of found)
      assert.deepEqual(placement.actual?.hooks_ran, ["warm"], "the oneshot hook ran again");
    for (const container of second) {
      assert.equal(await exec(c.docker.getContainer(container.Id), "cat /tmp/hooks.log"), "warm\n");
    }
  });

  it("puts a secret in the env and redeploys when the secret changes", async (t) => {
    const c = await startTwoAgentCluster(t);
    if (c === null) return;
    const secret = `E2E_${c.unique("pw").replace("-", "_").toUpperCase()}`;
    const added = await c.post(`/v1/grids/${c.grid}/secrets`, { name: secret, value: "first-value" });
    assert.equal(added.status, 201, added.text);
    const name = c.unique("vault");
    const id = await createService(c, name, {
      instances: 1,
      secrets: [{ secret, name: "DB_PASSWORD", type: "env" }],
    });
    await deploy(c, id);
    const [before] = await waitFor(
      "the container running",
      () => c.serviceContainers(null, name),
      (found) => found.length === 1 && found[0]?.State.Running === true,
    );
    assert.ok(before);
    assert.ok(before.Config.Env.includes("DB_PASSWORD=first-value"), before.Config.Env.join(" "));
    // The value reaches the container, never the desired record at rest.
    const [placement] = (await c.placements()).filter((p) => p.desired.service === name);
    assert.ok(
      !JSON.stringify(placement?.desired).includes("first-value"),
      "the secret's value is stored in the desired set",
    );

    const changed = await c.put(`/v1/secrets/${c.grid}/${secret}`, { value: "second-value" });
    assert.equal(changed.status, 200, changed.text);
    const [after] = await waitFor(
      "a new container with the new value",
      () => c.serviceContainers(null, name),
      (found) =>
        found.length === 1 &&
        found[0]?.Id !== before.Id &&
        found[0]?.State.Running === true &&
        found[0].Config.Env.includes("DB_PASSWORD=second-value"),
      30_000,
    );
    assert.ok(!after?.Config.Env.includes("DB_PASSWORD=first-value"));
    await c.waitInstances(id, 1);
  });
});
