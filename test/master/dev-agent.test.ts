import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually } from "../support/consul-master.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../support/docker-busybox-image.ts";
import { requireDocker, startDockerTestRun, TEST_DOCKER_ENDPOINT } from "../support/docker-engine.ts";
import { send } from "../support/http-client.ts";
import { startTestMaster } from "../support/test-master.ts";

test("berth dev runs a local agent in the default grid, says so, and leaves its containers running at shutdown", async (t) => {
  const docker = await requireDocker(t);
  if (docker === null) return;
  const run = startDockerTestRun(t, docker);
  await ensureBusyboxImage(docker);
  const name = `${run.prefix}-dev`;
  const printed: string[] = [];
  const master = await startTestMaster(t, undefined, {
    dev: true,
    devAgent: { name, docker: TEST_DOCKER_ENDPOINT },
    print: (line) => printed.push(line),
  });
  assert.ok(
    printed.includes(`Local agent: node ${name} of grid default, Docker at ${TEST_DOCKER_ENDPOINT}`),
    printed.join("\n"),
  );
  await eventually(
    () => send(master.url, `/v1/nodes/default/${name}`, { headers: master.auth }),
    (response) => response.status === 200 && (response.json() as { connected: boolean }).connected,
    10_000,
  );

  const id = "default/dev/web/1";
  await master.core.nodeInstances.setDesired("default", name, [
    {
      id,
      name: `${name}-web-1`,
      grid: "default",
      stack: "dev",
      service: "web",
      instance_number: 1,
      image: BUSYBOX_IMAGE,
      cmd: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
      labels: run.labels,
      revision: "r1",
    },
  ]);
  await eventually(
    () => master.core.nodeInstances.actual("default", name),
    (states) => states[0]?.state === "running",
    20_000,
  );
  await master.close();
  const [container] = await docker.listContainers({ filters: { label: [`io.berth.instance=${id}`] } });
  assert.equal(container?.State, "running");
});
