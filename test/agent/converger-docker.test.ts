import assert from "node:assert/strict";
import { test } from "node:test";
import type Docker from "dockerode";
import { Converger } from "../../src/agent/converger.ts";
import { DockerRuntime } from "../../src/agent/docker-runtime.ts";
import { desiredInstanceSchema } from "../../src/protocol/instance-spec.ts";
import { BUSYBOX_IMAGE, ensureBusyboxImage } from "../support/docker-busybox-image.ts";
import { requireDocker, startDockerTestRun, TEST_DOCKER_ENDPOINT } from "../support/docker-engine.ts";
import { startRegistry } from "../support/docker-registry.ts";
import { runConvergerContract, SLEEPER, waitFor } from "./converger-contract.ts";

test("converger on Docker", async (t) => {
  const docker = await requireDocker(t);
  if (docker === null) return;
  const run = startDockerTestRun(t, docker);
  await ensureBusyboxImage(docker);
  const registry = await startRegistry(t, docker, { htpasswd: { alice: "wonderland", bob: "builder" } });
  const runtime = new DockerRuntime(TEST_DOCKER_ENDPOINT);

  await runConvergerContract(t, {
    runtime,
    image: BUSYBOX_IMAGE,
    prefix: `${run.prefix}`,
    labels: run.labels,
    privateImage: { reference: registry.image, auth: registry.auth },
    removeByHand: (id) => docker.getContainer(id).remove({ force: true }),
    crash: async (id) => {
      await docker.getContainer(id).kill({ signal: "SIGKILL" });
      return 137;
    },
    startedAt: async (id) => (await docker.getContainer(id).inspect()).State.StartedAt,
  });

  await t.test("creates the container with everything the instance asks for", async (t) => {
    const converger = new Converger({ runtime, grid: "grid", nodeName: `${run.prefix}-full`, stopTimeoutSeconds: 5 });
    t.after(() => converger.close());
    const name = `${run.prefix}-full-1`;
    converger.setDesired([
      desiredInstanceSchema.parse({
        id: "grid/full/web/1",
        name,
        grid: "grid",
        stack: "full",
        service: "web",
        instance_number: 1,
        image: BUSYBOX_IMAGE,
        env: ["GREETING=hello world", "EMPTY="],
        entrypoint: ["httpd"],
        cmd: ["-f", "-p", "8080", "-h", "/tmp"],
        user: "nobody",
        ports: [
          { container_port: 8080, node_port: 0, ip: "127.0.0.1" },
          { container_port: 5353, protocol: "udp" },
        ],
        volumes: ["/data", `${run.prefix}-vol:/named`],
        cap_add: ["NET_ADMIN"],
        cap_drop: ["MKNOD", "SETUID"],
        memory: 64 * 1024 * 1024,
        memory_swap: 128 * 1024 * 1024,
        cpu_shares: 512,
        log_driver: "json-file",
        log_opts: { "max-size": "1m", "max-file": "2" },
        labels: { ...run.labels, "com.example.role": "frontend" },
        revision: "r1",
      }),
    ]);
    t.after(() =>
      docker
        .getVolume(`${run.prefix}-vol`)
        .remove()
        .catch(() => {}),
    );
    await converger.settled();
    const actual = converger.actualInstances()[0]!;
    assert.equal(actual.state, "running", JSON.stringify(actual));
    const info = await docker.getContainer(actual.container_id!).inspect();
    assert.equal(info.Name, `/${name}`);
    assert.equal(info.Config.Image, BUSYBOX_IMAGE);
    assert.ok(info.Config.Env.includes("GREETING=hello world") && info.Config.Env.includes("EMPTY="));
    assert.deepEqual(info.Config.Entrypoint, ["httpd"]);
    assert.deepEqual(info.Config.Cmd, ["-f", "-p", "8080", "-h", "/tmp"]);
    assert.equal(info.Config.User, "nobody");
    assert.equal(info.Config.Labels["com.example.role"], "frontend");
    assert.equal(info.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(info.HostConfig.MemorySwap, 128 * 1024 * 1024);
    assert.equal(info.HostConfig.CpuShares, 512);
    assert.deepEqual(info.HostConfig.CapAdd, ["NET_ADMIN"]);
    assert.deepEqual(info.HostConfig.CapDrop, ["MKNOD", "SETUID"]);
    assert.deepEqual(info.HostConfig.LogConfig, { Type: "json-file", Config: { "max-size": "1m", "max-file": "2" } });
    assert.deepEqual(info.HostConfig.RestartPolicy, { Name: "unless-stopped", MaximumRetryCount: 0 });
    assert.deepEqual(info.HostConfig.Binds, [`${run.prefix}-vol:/named`]);
    assert.deepEqual(info.Mounts.map((m) => m.Destination).sort(), ["/data", "/named"]);
    assert.ok("5353/udp" in info.Config.ExposedPorts);
    assert.equal(info.HostConfig.PortBindings["5353/udp"], undefined, "no node_port: exposed, not published");
    const [binding] = info.NetworkSettings.Ports["8080/tcp"] ?? [];
    assert.equal(binding?.HostIp, "127.0.0.1");
    assert.equal(actual.ip, Object.values(info.NetworkSettings.Networks)[0]?.IPAddress);

    // The process really runs as asked: busybox httpd as nobody answers on the published port.
    const top = await docker.getContainer(actual.container_id!).top();
    assert.ok(["nobody", "65534"].includes(top.Processes[0]?.[0] ?? ""), JSON.stringify(top));
    let status = 0;
    for (let attempt = 0; attempt < 50 && status === 0; attempt++) {
      status = await fetch(`http://127.0.0.1:${binding?.HostPort}/missing`)
        .then((response) => response.status)
        .catch(() => 0);
      if (status === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(status, 404);

    // A second instance mounting the first one's volumes (volumes_from) gets the same /data volume.
    const reader = `${run.prefix}-full-2`;
    converger.upsertDesired(
      desiredInstanceSchema.parse({
        id: "grid/full/reader/1",
        name: reader,
        grid: "grid",
        stack: "full",
        service: "reader",
        instance_number: 1,
        image: BUSYBOX_IMAGE,
        cmd: ["sh", "-c", "test -d /data && sleep 3600"],
        volumes_from: [name],
        labels: { ...run.labels },
        revision: "r1",
      }),
    );
    await converger.settled();
    const readerState = converger.actualInstances().find((instance) => instance.id === "grid/full/reader/1")!;
    assert.equal(readerState.state, "running", JSON.stringify(readerState));
    const readerInfo = await docker.getContainer(readerState.container_id!).inspect();
    assert.deepEqual(readerInfo.HostConfig.VolumesFrom, [name]);
    const dataVolume = (mounts: Docker.ContainerInspectInfo["Mounts"]) =>
      mounts.find((m) => m.Destination === "/data")?.Name;
    assert.ok(dataVolume(info.Mounts));
    assert.equal(dataVolume(readerInfo.Mounts), dataVolume(info.Mounts));
  });

  await t.test("reports Docker's reason when a container cannot start", async (t) => {
    const converger = new Converger({ runtime, grid: "grid", nodeName: `${run.prefix}-broken`, stopTimeoutSeconds: 5 });
    t.after(() => converger.close());
    converger.setDesired([
      desiredInstanceSchema.parse({
        id: "grid/broken/web/1",
        name: `${run.prefix}-broken-1`,
        grid: "grid",
        stack: "broken",
        service: "web",
        instance_number: 1,
        image: BUSYBOX_IMAGE,
        entrypoint: ["/no/such/binary"],
        labels: run.labels,
        revision: "r1",
      }),
    ]);
    await converger.settled();
    const actual = converger.actualInstances()[0]!;
    assert.equal(actual.state, "error");
    assert.match(actual.error ?? "", /no such file or directory/);
    assert.ok(actual.container_id, "the created container is still named");
  });

  await t.test(
    "reports a crash-looping container as exited with its exit code, and the engine restarts it",
    async (t) => {
      const converger = new Converger({
        runtime,
        grid: "grid",
        nodeName: `${run.prefix}-crashloop`,
        stopTimeoutSeconds: 5,
      });
      t.after(() => converger.close());
      converger.start();
      converger.setDesired([
        desiredInstanceSchema.parse({
          id: "grid/crashloop/web/1",
          name: `${run.prefix}-crashloop-1`,
          grid: "grid",
          stack: "crashloop",
          service: "web",
          instance_number: 1,
          image: BUSYBOX_IMAGE,
          cmd: ["sh", "-c", "exit 3"],
          labels: run.labels,
          revision: "r1",
        }),
      ]);
      await converger.settled();
      const dies: number[] = [];
      converger.on("event", (event) => event.action === "die" && dies.push(event.exit_code ?? -1));
      await waitFor(() => {
        const [actual] = converger.actualInstances();
        return actual?.state === "exited" && actual.exit_code === 3 && dies.length >= 2;
      }, "two dies with exit code 3, reported as exited");
      assert.ok(
        dies.every((code) => code === 3),
        JSON.stringify(dies),
      );
    },
  );

  await t.test("a name held by a container Berth does not own is an error, not a takeover", async (t) => {
    const name = `${run.prefix}-taken-1`;
    const foreign = await docker.createContainer({ name, Image: BUSYBOX_IMAGE, Cmd: SLEEPER, Labels: run.labels });
    const converger = new Converger({ runtime, grid: "grid", nodeName: `${run.prefix}-taken`, stopTimeoutSeconds: 5 });
    t.after(() => converger.close());
    converger.setDesired([
      desiredInstanceSchema.parse({
        id: "grid/taken/web/1",
        name,
        grid: "grid",
        stack: "taken",
        service: "web",
        instance_number: 1,
        image: BUSYBOX_IMAGE,
        cmd: SLEEPER,
        labels: run.labels,
        revision: "r1",
      }),
    ]);
    await converger.settled();
    assert.equal(converger.actualInstances()[0]?.state, "error");
    assert.match(converger.actualInstances()[0]?.error ?? "", /already in use/);
    assert.equal((await docker.getContainer(foreign.id).inspect()).State.Status, "created");
  });
});
