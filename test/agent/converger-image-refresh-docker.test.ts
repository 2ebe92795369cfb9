import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Converger } from "../../src/agent/converger.ts";
import { followProgress } from "../../src/agent/docker-progress.ts";
import { DockerRuntime } from "../../src/agent/docker-runtime.ts";
import { pullTarget } from "../../src/protocol/image-reference.ts";
import { type DesiredInstance, desiredInstanceSchema } from "../../src/protocol/instance-spec.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../support/docker-busybox-image.ts";
import { requireDocker, startDockerTestRun, TEST_DOCKER_ENDPOINT } from "../support/docker-engine.ts";
import { startRegistry } from "../support/docker-registry.ts";
import { freePort } from "../support/free-port.ts";

/** A deploy's time, strictly after anything the engine did before (its clock is this machine's). */
async function deployTime(): Promise<string> {
  await sleep(10);
  return new Date().toISOString();
}

test("converger on Docker: pull_requested_at pulls the image again", async (t) => {
  const docker = await requireDocker(t);
  if (docker === null) return;
  const run = startDockerTestRun(t, docker);
  await ensureBusyboxImage(docker);
  const runtime = new DockerRuntime(TEST_DOCKER_ENDPOINT);

  const instance = (name: string, image: string, fields: Partial<DesiredInstance> = {}): DesiredInstance =>
    desiredInstanceSchema.parse({
      id: `grid/null/${name}/1`,
      name: `${run.prefix}-${name}-1`,
      grid: "grid",
      stack: null,
      service: name,
      instance_number: 1,
      image,
      cmd: ["sleep", "3600"],
      labels: { ...run.labels },
      revision: "r1",
      ...fields,
    });

  await t.test(
    "a newer image under the same reference replaces the container; an unchanged one keeps it",
    async (t) => {
      const nodeName = `${run.prefix}-refresh`;
      const convergers: Converger[] = [];
      // Registered before the registry's cleanup, which cannot untag an image a container still uses.
      t.after(async () => {
        await Promise.all(convergers.map((converger) => converger.close()));
        const left = await docker.listContainers({ all: true, filters: { label: [`io.berth.node=${nodeName}`] } });
        await Promise.all(left.map((container) => docker.getContainer(container.Id).remove({ force: true })));
      });
      const registry = await startRegistry(t, docker, { htpasswd: { alice: "wonderland" } });
      let pulls = 0;
      const converger = new Converger({
        runtime,
        grid: "grid",
        nodeName,
        stopTimeoutSeconds: 1,
        credentialsFor: () => {
          pulls++;
          return registry.auth;
        },
      });
      convergers.push(converger);
      const desired = instance("app", registry.image);
      converger.setDesired([desired]);
      await converger.settled();
      const first = converger.actualInstances()[0]!;
      assert.equal(first.state, "running", JSON.stringify(first));
      assert.equal(pulls, 1, "the first create pulls the missing image");
      const v1 = (await docker.getImage(registry.image).inspect()).Id;

      // A new image is pushed under the same reference; this engine still has the old one under it.
      const { repository, tag } = pullTarget(registry.image);
      const committed = await docker
        .getContainer(first.container_id!)
        .commit({ repo: repository, tag, changes: "ENV BERTH_TEST_IMAGE=2" });
      const v2 = (committed as { Id: string }).Id;
      t.after(() =>
        docker
          .getImage(v2)
          .remove({ force: true })
          .catch(() => {}),
      );
      const failure = await followProgress(
        docker,
        await docker.getImage(registry.image).push({ authconfig: { ...registry.auth } }),
      );
      assert.equal(failure, null);
      await docker.getImage(v1).tag({ repo: repository, tag });
      assert.equal((await docker.getImage(registry.image).inspect()).Id, v1);

      // The same revision with a newer pull request: pulled, and recreated from the new image.
      const recreatedFor = await deployTime();
      converger.upsertDesired({ ...desired, pull_requested_at: recreatedFor });
      await converger.settled();
      const second = converger.actualInstances()[0]!;
      assert.equal(pulls, 2);
      assert.equal(second.state, "running", JSON.stringify(second));
      assert.equal(second.revision, "r1");
      assert.notEqual(second.container_id, first.container_id);
      const info = await docker.getContainer(second.container_id!).inspect();
      assert.equal(info.Image, v2);
      assert.equal(info.Name, `/${desired.name}`);
      assert.ok(info.Config.Env.includes("BERTH_TEST_IMAGE=2"));
      await assert.rejects(docker.getContainer(first.container_id!).inspect(), { statusCode: 404 });

      // Another request while the registry has nothing newer: pulled, and the container is kept as it is.
      const startedAt = info.State.StartedAt;
      converger.upsertDesired({ ...desired, pull_requested_at: await deployTime() });
      await converger.settled();
      const third = converger.actualInstances()[0]!;
      assert.equal(pulls, 3);
      assert.equal(third.container_id, second.container_id);
      assert.equal(third.state, "running");
      assert.equal(third.error, null);
      assert.equal((await docker.getContainer(second.container_id!).inspect()).State.StartedAt, startedAt);

      // A restarted agent compares a request with the container's Created time: the one the
      // container was recreated for is not pulled for again.
      const restarted = new Converger({
        runtime,
        grid: "grid",
        nodeName,
        stopTimeoutSeconds: 1,
        credentialsFor: () => {
          pulls++;
          return registry.auth;
        },
      });
      await converger.close();
      convergers.push(restarted);
      restarted.setDesired([{ ...desired, pull_requested_at: recreatedFor }]);
      await restarted.settled();
      assert.equal(pulls, 3, "a container created after the request is not pulled for again");
      assert.equal(restarted.actualInstances()[0]?.container_id, second.container_id);
      assert.equal((await docker.getContainer(second.container_id!).inspect()).State.StartedAt, startedAt);
    },
  );

  await t.test("a pull that fails keeps the container running, with a note, and is tried once", async (t) => {
    const image = `127.0.0.1:${await freePort()}/${run.prefix}/app:latest`;
    const { repository, tag } = pullTarget(image);
    await docker.getImage(BUSYBOX_IMAGE).tag({ repo: repository, tag });
    t.after(() =>
      docker
        .getImage(image)
        .remove()
        .catch(() => {}),
    );
    let pulls = 0;
    const converger = new Converger({
      runtime,
      grid: "grid",
      nodeName: `${run.prefix}-unreachable`,
      stopTimeoutSeconds: 1,
      credentialsFor: () => {
        pulls++;
        return null;
      },
    });
    t.after(() => converger.close());
    const desired = instance("offline", image);
    converger.setDesired([desired]);
    await converger.settled();
    const first = converger.actualInstances()[0]!;
    assert.equal(first.state, "running", JSON.stringify(first));
    assert.equal(pulls, 0, "a present image is not pulled for a create");
    const startedAt = first.started_at;

    const requested = await deployTime();
    converger.upsertDesired({ ...desired, pull_requested_at: requested });
    await converger.settled();
    const after = converger.actualInstances()[0]!;
    assert.equal(pulls, 1);
    assert.equal(after.state, "running", JSON.stringify(after));
    assert.equal(after.container_id, first.container_id);
    assert.equal(after.started_at, startedAt);
    assert.match(after.error ?? "", new RegExp(`pull requested at ${requested} failed.*keeps its image`));

    // Passes after it do not pull again for the same request.
    converger.resync();
    await converger.settled();
    assert.equal(pulls, 1);
    const state = (await docker.getContainer(first.container_id!).inspect()).State;
    assert.equal(state.Running, true);
    assert.equal(state.StartedAt, startedAt);
  });
});
