import assert from "node:assert/strict";
import { test } from "node:test";
import { DockerRuntime } from "../../src/agent/docker-runtime.ts";
import { collectNodeFacts, hostAddresses, parseMeminfo, ResourceSampler } from "../../src/agent/node-facts.ts";
import { SimulatedRuntime } from "../../src/agent/simulated-runtime.ts";
import { nodeFactsSchema, resourceUsageSchema } from "../../src/protocol/node-facts.ts";
import { requireDocker, TEST_DOCKER_ENDPOINT } from "../support/docker-engine.ts";

const address = (address: string, internal = false) => ({
  address,
  family: "IPv4" as const,
  internal,
  netmask: "255.255.255.0",
  mac: "00:00:00:00:00:00",
  cidr: null,
});

test("facts from Docker info pass the node record's schema", async (t) => {
  const docker = await requireDocker(t);
  if (docker === null) return;
  const info = await docker.info();
  const facts = nodeFactsSchema.parse(await collectNodeFacts(new DockerRuntime(TEST_DOCKER_ENDPOINT)));
  assert.equal(facts.node_id, info.ID);
  assert.equal(facts.docker_version, info.ServerVersion);
  assert.equal(facts.driver, info.Driver);
  assert.equal(facts.cpus, info.NCPU);
  assert.equal(facts.mem_total, info.MemTotal);
  assert.equal(facts.engine_root_dir, info.DockerRootDir);
  assert.ok(facts.network_drivers.some((driver) => driver.name === "bridge"));
  assert.ok(facts.volume_drivers.some((driver) => driver.name === "local"));
});

test("facts of the simulated engine have the same shape", async () => {
  const facts = nodeFactsSchema.parse(await collectNodeFacts(new SimulatedRuntime(), {}));
  assert.equal(facts.node_id, "SIMULATED");
  assert.equal(facts.private_ip, "127.0.0.1");
});

test("host addresses skip the engine's bridges and prefer private ranges for the private address", () => {
  assert.deepEqual(
    hostAddresses({
      lo: [address("127.0.0.1", true)],
      docker0: [address("172.17.0.1")],
      "br-0123abcd": [address("172.18.0.1")],
      eth0: [address("192.168.1.20"), { ...address("fe80::1"), family: "IPv6" as const, scopeid: 2 }],
      eth1: [address("203.0.113.7")],
    }),
    { public_ip: "203.0.113.7", private_ip: "192.168.1.20" },
  );
  assert.deepEqual(hostAddresses({ ens3: [address("10.0.0.5")] }), { public_ip: "10.0.0.5", private_ip: "10.0.0.5" });
  assert.deepEqual(hostAddresses({ eth0: [address("169.254.3.3")], lo: [address("127.0.0.1", true)] }), {
    public_ip: "127.0.0.1",
    private_ip: "127.0.0.1",
  });
});

test("memory is counted as free(1) counts it", () => {
  const meminfo = [
    "MemTotal:       16000000 kB",
    "MemFree:         4000000 kB",
    "MemAvailable:    9000000 kB",
    "Buffers:          500000 kB",
    "Cached:          3000000 kB",
    "SReclaimable:     500000 kB",
  ].join("\n");
  assert.deepEqual(parseMeminfo(meminfo), {
    total: 16000000 * 1024,
    used: 8000000 * 1024,
    cached: 3500000 * 1024,
    buffers: 500000 * 1024,
  });
  assert.equal(parseMeminfo("nothing here"), null);
});

test("resource usage of this host passes the schema, CPU share measured between samples", async () => {
  const sampler = new ResourceSampler("/no/such/docker/root");
  const end = Date.now() + 50;
  while (Date.now() < end) {
    // Keep a CPU busy so the sample has something to count.
  }
  const usage = resourceUsageSchema.parse(await sampler.resourceUsage());
  assert.equal(usage.filesystem.name, "/", "falls back to the host's root when the engine's is not visible");
  assert.ok(usage.filesystem.total > 0 && usage.filesystem.used <= usage.filesystem.total);
  assert.ok(usage.memory.total > 0 && usage.memory.used <= usage.memory.total);
  assert.ok(usage.cpu.usage_pct > 0, `busy loop counted: ${usage.cpu.usage_pct}`);
  const tmp = resourceUsageSchema.parse(await new ResourceSampler("/tmp").resourceUsage());
  assert.equal(tmp.filesystem.name, "/tmp");
});
