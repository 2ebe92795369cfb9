import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { type TestContext, test } from "node:test";
import { Converger } from "../../src/agent/converger.ts";
import { DockerRuntime } from "../../src/agent/docker-runtime.ts";
import { type DesiredInstanceInput, desiredInstanceSchema } from "../../src/protocol/instance-spec.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../support/docker-busybox-image.ts";
import { requireDocker, startDockerTestRun, TEST_DOCKER_ENDPOINT } from "../support/docker-engine.ts";
import { openRecordingConverger, SLEEPER, waitFor } from "./converger-contract.ts";

/** busybox httpd serving "ok" at / on `port`, after `delay` seconds. */
const httpd = (port: number, delay = 0) => [
  "sh",
  "-c",
  `mkdir -p /www && echo ok > /www/index.html && sleep ${delay} && exec httpd -f -p ${port} -h /www`,
];

test("the agent's health checks, port waits and post_start hooks on Docker", async (t) => {
  const docker = await requireDocker(t);
  if (docker === null) return;
  const run = startDockerTestRun(t, docker);
  await ensureBusyboxImage(docker);
  const runtime = new DockerRuntime(TEST_DOCKER_ENDPOINT);
  let nodes = 0;

  const open = (t: TestContext) =>
    openRecordingConverger(t, {
      runtime,
      grid: "grid",
      nodeName: `${run.prefix}-monitor-${++nodes}`,
      stopTimeoutSeconds: 1,
    });
  const desired = (service: string, overrides: Partial<DesiredInstanceInput> = {}) =>
    desiredInstanceSchema.parse({
      id: `grid/monitor/${service}/1`,
      name: `${run.prefix}-${service}-1`,
      grid: "grid",
      stack: "monitor",
      service,
      instance_number: 1,
      image: BUSYBOX_IMAGE,
      cmd: SLEEPER,
      labels: run.labels,
      revision: "r1",
      ...overrides,
    });
  const current = (converger: Converger) => converger.actualInstances()[0];
  const readFile = async (containerId: string, path: string) =>
    (await runtime.exec(containerId, ["cat", path], 5000)).output;

  await t.test("a http check against the container's address passes, starting first", async (t) => {
    const converger = open(t);
    converger.setDesired([
      desired("healthy", {
        cmd: httpd(8080),
        health_check: { protocol: "http", port: 8080, uri: "/index.html", interval: 1, initial_delay: 1, timeout: 1 },
      }),
    ]);
    await converger.settled();
    assert.equal(current(converger)?.health, "starting");
    await waitFor(() => current(converger)?.health === "passing", "the check passing");
    const actual = current(converger)!;
    assert.equal(actual.health_output, `GET http://${actual.ip}:8080/index.html: HTTP 200`);
    assert.ok(
      converger.reports.every((r) => r.health !== "critical"),
      "httpd was up by the first check, after the initial delay",
    );
  });

  await t.test("a failing check goes critical and restarts the container after the threshold", async (t) => {
    const converger = open(t);
    converger.setDesired([
      desired("sick", {
        cmd: httpd(8080),
        // Nothing listens on 8081.
        health_check: { protocol: "http", port: 8081, interval: 1, initial_delay: 0, timeout: 1 },
        unhealthy_threshold: 2,
      }),
    ]);
    await converger.settled();
    const first = current(converger)!;
    await waitFor(() => current(converger)?.health === "critical", "the check failing");
    assert.match(current(converger)?.health_output ?? "", /ECONNREFUSED/);
    await waitFor(
      () => converger.events.some((e) => e.action === "unhealthy_restart"),
      "a restart for the failing check",
    );
    await waitFor(() => {
      const actual = current(converger);
      return actual?.state === "running" && actual.started_at !== first.started_at;
    }, "the container started again");
    const restarted = current(converger)!;
    assert.equal(restarted.container_id, first.container_id, "restarted, not recreated");
    const restart = converger.events.find((e) => e.action === "unhealthy_restart")!;
    assert.equal(restart.instance, "grid/monitor/sick/1");
    assert.equal(restart.container_id, first.container_id);
    const failuresBeforeRestart = converger.reports
      .slice(
        0,
        converger.reports.findIndex((r) => r.health_output?.startsWith("restarting:")),
      )
      .filter((r) => r.health === "critical");
    assert.ok(failuresBeforeRestart.length >= 1, "reported critical before the restart");
    assert.match(
      converger.reports.find((r) => r.health_output?.startsWith("restarting:"))?.health_output ?? "",
      /2 health checks failed in a row/,
    );
  });

  await t.test("a tcp check passes once the port accepts connections", async (t) => {
    const converger = open(t);
    converger.setDesired([
      desired("tcp", {
        cmd: httpd(8080),
        health_check: { protocol: "tcp", port: 8080, interval: 1, initial_delay: 0, timeout: 1 },
      }),
    ]);
    await waitFor(() => current(converger)?.health === "passing", "the tcp check passing");
    assert.match(current(converger)?.health_output ?? "", /connected/);
  });

  await t.test("wait_for_port: false while the port is closed, true once it accepts", async (t) => {
    const converger = open(t);
    converger.setDesired([desired("late", { cmd: httpd(8080, 2), wait_for_port: 8080 })]);
    await converger.settled();
    assert.equal(current(converger)?.port_ready, false);
    await waitFor(() => current(converger)?.port_ready === true, "the port ready");
    const ready = current(converger)!;
    assert.equal(ready.state, "running");
    assert.equal(ready.error, null);
  });

  await t.test("wait_for_port gives up at its deadline and says so", async (t) => {
    const converger = new Converger({
      runtime,
      grid: "grid",
      nodeName: `${run.prefix}-deadline`,
      stopTimeoutSeconds: 1,
      portWaitTimeoutMs: 1500,
    });
    converger.start();
    t.after(() => converger.close());
    converger.setDesired([desired("never", { wait_for_port: 9 })]);
    await waitFor(() => typeof current(converger)?.error === "string", "the deadline", 10_000);
    assert.equal(current(converger)?.port_ready, false);
    assert.match(current(converger)?.error ?? "", /port 9 did not accept a connection within 2 s/);
    assert.equal(current(converger)?.state, "running");
  });

  await t.test("post_start hooks run in order once per start, again after a restart", async (t) => {
    const converger = open(t);
    const hooks = [
      { name: "first", cmd: "echo one >> /tmp/hooks" },
      { name: "second", cmd: "echo two >> /tmp/hooks" },
    ];
    converger.setDesired([desired("hooked", { post_start: hooks })]);
    await waitFor(() => current(converger)?.hooks_ran.length === 2, "both hooks");
    const actual = current(converger)!;
    assert.deepEqual(actual.hooks_ran, ["first", "second"]);
    assert.equal(actual.hook_error, null);
    assert.deepEqual(
      converger.reports.map((r) => r.hooks_ran.join(",")).filter((ran, i, all) => ran !== all[i - 1]),
      ["", "first", "first,second"],
      "reported as each hook finished",
    );

    // Passes and events do not run them again on the same start.
    converger.resync();
    await converger.settled();
    converger.upsertDesired(desired("hooked", { post_start: hooks }));
    await converger.settled();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await readFile(actual.container_id!, "/tmp/hooks"), "one\ntwo\n");

    // A restart is a new start: they run again, in order.
    converger.upsertDesired(desired("hooked", { post_start: hooks, restart_requested_at: new Date().toISOString() }));
    await waitFor(
      () => current(converger)?.started_at !== actual.started_at && current(converger)?.hooks_ran.length === 2,
      "the hooks of the second start",
    );
    assert.equal(await readFile(actual.container_id!, "/tmp/hooks"), "one\ntwo\none\ntwo\n");
  });

  await t.test("a failing hook stops the rest and is reported with its exit code and output", async (t) => {
    const converger = open(t);
    converger.setDesired([
      desired("badhook", {
        post_start: [
          { name: "fine", cmd: "true" },
          { name: "broken", cmd: "echo cannot migrate >&2; exit 3" },
          { name: "never", cmd: "touch /tmp/never" },
        ],
      }),
    ]);
    await waitFor(() => typeof current(converger)?.hook_error === "string", "the hook failing");
    const actual = current(converger)!;
    assert.equal(actual.hook_error, "broken: exit 3: cannot migrate");
    assert.deepEqual(actual.hooks_ran, ["fine"]);
    assert.equal(actual.state, "running");
    const check = await runtime.exec(actual.container_id!, ["test", "-e", "/tmp/never"], 5000);
    assert.equal(check.exitCode, 1, "the hook after the failed one did not run");
  });

  await t.test("net sets the network mode; on the host's network checks go to 127.0.0.1", async (t) => {
    const converger = open(t);
    const port = randomInt(20_000, 40_000);
    converger.setDesired([
      desired("hostnet", {
        net: "host",
        cmd: httpd(port),
        health_check: { protocol: "http", port, interval: 1, initial_delay: 0, timeout: 1 },
      }),
      desired("nonet", {
        net: "none",
        health_check: { protocol: "tcp", port: 80, interval: 1, initial_delay: 0, timeout: 1 },
      }),
    ]);
    await converger.settled();
    const byId = (id: string) => converger.actualInstances().find((a) => a.id === id)!;
    const host = byId("grid/monitor/hostnet/1");
    const none = byId("grid/monitor/nonet/1");
    assert.equal((await docker.getContainer(host.container_id!).inspect()).HostConfig.NetworkMode, "host");
    assert.equal((await docker.getContainer(none.container_id!).inspect()).HostConfig.NetworkMode, "none");
    assert.equal(host.ip, null);
    assert.equal(none.ip, null);
    assert.equal(none.health, "critical");
    assert.equal(none.health_output, "the container has no address to probe");
    await waitFor(() => byId("grid/monitor/hostnet/1").health === "passing", "the host network check passing");
    assert.match(byId("grid/monitor/hostnet/1").health_output ?? "", new RegExp(`127\\.0\\.0\\.1:${port}/: HTTP 200`));
  });
});
