import assert from "node:assert/strict";
import { test } from "node:test";
import { serviceSpec } from "../../../src/core/stacks/service-spec.ts";

/** `path: message` for each issue of an invalid spec. */
function problemsOf(input: Record<string, unknown>): string[] {
  const result = serviceSpec.safeParse({ name: "web", image: "berth-test/busybox:latest", ...input });
  assert.equal(result.success, false, "the spec was accepted");
  return (result.error?.issues ?? []).map((issue) => `${issue.path.join(".")}: ${issue.message}`);
}

test("a minimal spec gets the Kontena defaults", () => {
  assert.deepEqual(serviceSpec.parse({ name: "web", image: "berth-test/busybox:latest" }), {
    name: "web",
    image: "berth-test/busybox:latest",
    strategy: "ha",
    affinity: [],
    stateful: false,
    deploy_opts: { min_health: 0.8, wait_for_port: null, interval: null },
    instances: 1,
    net: "bridge",
    ports: [],
    env: [],
    secrets: [],
    volumes: [],
    volumes_from: [],
    cap_add: [],
    cap_drop: [],
    links: [],
    hooks: { post_start: [] },
  });
});

test("shorthands come out in one shape", () => {
  const spec = serviceSpec.parse({
    name: "web",
    image: "berth-test/busybox:latest",
    cmd: `mongo --eval "printjson(rs.add('peer-1'))" 'a b' c\\ d`,
    entrypoint: ["/bin/sh", "-c"],
    env: { FOO: "bar", COUNT: 3, EMPTY: null },
    ports: ["80:8080/udp", "127.0.0.1:443:8443", { node_port: 53, container_port: 53, protocol: "udp" }],
    links: ["db", "db:database", "other/cache:cache"],
    memory: "512m",
    memory_swap: 1073741824,
    secrets: [{ secret: "REDIS_PASSWORD", name: "password" }],
    hooks: {
      post_start: [
        { name: "all", cmd: "echo hi" },
        { name: "some", cmd: "echo hi", instances: "1, 3", oneshot: true },
        { name: "one", cmd: "echo hi", instances: 2 },
        { name: "list", cmd: "echo hi", instances: [1, 2] },
      ],
    },
    health_check: { protocol: "http", port: 8080 },
    deploy_opts: { wait_for_port: 8080, interval: "5min" },
  });
  assert.deepEqual(spec.cmd, ["mongo", "--eval", "printjson(rs.add('peer-1'))", "a b", "c d"]);
  assert.deepEqual(spec.entrypoint, ["/bin/sh", "-c"]);
  assert.deepEqual(spec.env, ["FOO=bar", "COUNT=3", "EMPTY="]);
  assert.deepEqual(spec.ports, [
    { ip: "0.0.0.0", protocol: "udp", node_port: 80, container_port: 8080 },
    { ip: "127.0.0.1", protocol: "tcp", node_port: 443, container_port: 8443 },
    { ip: "0.0.0.0", protocol: "udp", node_port: 53, container_port: 53 },
  ]);
  assert.deepEqual(spec.links, [
    { name: "db", alias: "db" },
    { name: "db", alias: "database" },
    { name: "other/cache", alias: "cache" },
  ]);
  assert.equal(spec.memory, 512 * 1024 * 1024);
  assert.equal(spec.memory_swap, 1073741824);
  assert.deepEqual(spec.secrets, [{ secret: "REDIS_PASSWORD", name: "password", type: "env" }]);
  assert.deepEqual(
    spec.hooks.post_start.map((hook) => [hook.instances, hook.oneshot]),
    [
      ["*", false],
      [[1, 3], true],
      [[2], false],
      [[1, 2], false],
    ],
  );
  assert.deepEqual(spec.health_check, {
    protocol: "http",
    port: 8080,
    uri: "/",
    interval: 10,
    initial_delay: 10,
    timeout: 10,
    unhealthy_threshold: 3,
  });
  assert.deepEqual(spec.deploy_opts, { min_health: 0.8, wait_for_port: 8080, interval: 300 });
});

test("affinity rules are checked, regex values compiled", () => {
  const ok = ["node==node-1", "label!=az=b", "service==~/^db-\\d+$/", "container!=~web-1", "node!=node-2"];
  assert.deepEqual(serviceSpec.parse({ name: "web", image: "x", affinity: ok }).affinity, ok);
  assert.deepEqual(problemsOf({ affinity: ["nodes==a", "node=a", "label==/[/"] }), [
    'affinity.0: affinity "nodes==a": expected node|service|container|label, ==, !=, ==~ or !=~, a value',
    'affinity.1: affinity "node=a": expected node|service|container|label, ==, !=, ==~ or !=~, a value',
    'affinity.2: affinity "label==/[/": invalid regular expression /[/',
  ]);
});

test("bad ports, hooks, commands and limits name their fields", () => {
  assert.deepEqual(
    problemsOf({
      ports: ["80:80", "99999:80", "80", { node_port: 80, container_port: 0 }, "1.2.3.4:80:80/sctp"],
      hooks: {
        post_start: [
          { name: "a", cmd: "b", instances: "1,x" },
          { name: "c", cmd: "d", instances: [0] },
        ],
      },
      cmd: "echo 'unclosed",
      cpu_shares: 2048,
      memory: "lots",
      strategy: "spread",
      health_check: { protocol: "tcp", port: 80, uri: "/health" },
      env: ["NOVALUE"],
    }),
    [
      "strategy: must be ha, daemon or random",
      "cmd: unmatched single quote",
      "ports.1.node_port: must be 1-65535",
      'ports.2: "80" is not a port: expected [ip:]node_port:container_port[/protocol]',
      "ports.3.container_port: must be 1-65535",
      "ports.4.protocol: must be tcp or udp",
      "env.0: must be KEY=value",
      'memory: "lots" is not a size: expected bytes or a number with b, k, m or g',
      "cpu_shares: must be 0-1024",
      'hooks.post_start.0.instances: "1,x" is not "*" or a list of instance numbers like "1,3"',
      "hooks.post_start.1.instances.0: instance numbers start at 1",
      "health_check.uri: only applies to protocol http",
    ],
  );
});

test("unknown keys are refused and names must be DNS labels", () => {
  assert.deepEqual(problemsOf({ name: "web_1", replicas: 2 }), [
    "name: must be a DNS label: letters, digits and dashes, at most 63",
    ': Unrecognized key: "replicas"',
  ]);
});
