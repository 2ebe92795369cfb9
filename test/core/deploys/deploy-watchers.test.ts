import assert from "node:assert/strict";
import { test } from "node:test";
import { IntervalRedeployer } from "../../../src/core/deploys/interval-redeployer.ts";
import { OneshotRecorder } from "../../../src/core/deploys/oneshot-recorder.ts";
import { RedeploySubmitter } from "../../../src/core/deploys/redeploy-submitter.ts";
import { SecretRedeployer } from "../../../src/core/deploys/secret-redeployer.ts";
import type { OperationRecord } from "../../../src/core/operations/operation-record.ts";
import { deployHarness, GRID, until } from "./deploy-harness.ts";

const WEB = `${GRID}/null/web`;

async function putSecret(
  store: { put: (key: string, value: never) => Promise<unknown> },
  name: string,
  sealed: string,
) {
  const now = new Date().toISOString();
  await store.put(`/secrets/${GRID}/${name}`, {
    name,
    value_sealed: sealed,
    created_at: now,
    updated_at: now,
  } as never);
}

test("changing a secret redeploys the deployed services that use it, with a new revision", async (t) => {
  const h = await deployHarness(t);
  await putSecret(h.store, "DB_PASSWORD", "sealed-1");
  await h.putService({ name: "web", image: "nginx:1", secrets: [{ secret: "DB_PASSWORD", name: "PASSWORD" }] });
  await h.putService({ name: "other", image: "nginx:1" });
  await h.run(h.deploy(WEB));
  await h.run(h.deploy(`${GRID}/null/other`));
  const before = (await h.desired()).find((entry) => entry.instance.service === "web");
  assert.deepEqual(before?.instance.secrets, [{ secret: "DB_PASSWORD", name: "PASSWORD" }]);
  assert.ok(!JSON.stringify(before).includes("sealed-1"), "no secret value in the desired instance");

  const redeployer = new SecretRedeployer(h.store, new RedeploySubmitter(h.operations));
  redeployer.start();
  t.after(() => redeployer.stop());
  await putSecret(h.store, "DB_PASSWORD", "sealed-2");
  let redeploy: OperationRecord | undefined;
  await until(h.store, async () => {
    const list = await h.operations.list({ includeInternal: true });
    redeploy = list.find((operation) => operation.description.includes("secret DB_PASSWORD changed"));
    return redeploy !== undefined;
  });
  const finished = await h.finished((redeploy as OperationRecord).id);
  assert.equal(finished.state, "done", finished.result ?? "");
  assert.equal(finished.description, `deploy service ${WEB} (secret DB_PASSWORD changed)`);
  const after = (await h.desired()).find((entry) => entry.instance.service === "web");
  assert.notEqual(after?.instance.revision, before?.instance.revision);
  const all = await h.operations.list({ includeInternal: true });
  assert.ok(
    !all.some((operation) => operation.description.includes("other (secret")),
    "unrelated services are left alone",
  );
});

test("a oneshot hook that ran is remembered and left out of the next deploy", async (t) => {
  const h = await deployHarness(t, { nodes: [{ name: "node-1" }] });
  const recorder = new OneshotRecorder(h.store);
  recorder.start();
  t.after(() => recorder.stop());
  const hooks = {
    post_start: [
      { name: "migrate", cmd: "rake db:migrate", instances: "1", oneshot: true },
      { name: "warm", cmd: "curl localhost" },
    ],
  };
  await h.putService({ name: "web", image: "app:1", instances: 2, hooks });
  const first = await h.run(h.deploy(WEB));
  assert.equal(first.state, "done", first.result ?? "");
  const hooksOf = async (n: number) =>
    (await h.desired())
      .find((entry) => entry.instance.instance_number === n)
      ?.instance.post_start.map((hook) => hook.name);
  assert.deepEqual(await hooksOf(1), ["migrate", "warm"]);
  assert.deepEqual(await hooksOf(2), ["warm"]);
  await until(h.store, async () => (await h.service(WEB))?.oneshot_done.migrate?.includes(1) === true);

  const forced = await h.run(h.deploy(WEB, true));
  assert.equal(forced.state, "done", forced.result ?? "");
  assert.deepEqual(await hooksOf(1), ["warm"]);
});

test("a service with a deploy interval is redeployed once it is due, one pending at a time", async (t) => {
  const h = await deployHarness(t, { nodes: [{ name: "node-1" }] });
  await h.putService({ name: "web", image: "nginx:1", deploy_opts: { interval: "1min" } });
  await h.run(h.deploy(WEB));
  const deployedAt = Date.parse((await h.service(WEB))?.deployed_at ?? "");
  const redeployer = new IntervalRedeployer(h.store, new RedeploySubmitter(h.operations));
  const intervalOps = async () =>
    (await h.operations.list({ includeInternal: true })).filter((op) => op.description.endsWith("(interval)"));

  await redeployer.check(deployedAt + 30_000);
  assert.equal((await intervalOps()).length, 0, "not due yet");
  h.agent("node-1").hold = true;
  await redeployer.check(deployedAt + 61_000);
  await redeployer.check(deployedAt + 62_000);
  const submitted = await intervalOps();
  assert.equal(submitted.length, 1, "one pending at a time");
  assert.equal(submitted[0]?.user, "berth");
  h.agent("node-1").hold = false;
  const finished = await h.finished(submitted[0]?.id as number);
  assert.equal(finished.state, "done", finished.result ?? "");
});
