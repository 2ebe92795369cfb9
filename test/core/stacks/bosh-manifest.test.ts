import assert from "node:assert/strict";
import { test } from "node:test";
import { StackFileError } from "../../../src/core/errors/stack-file-error.ts";
import { minHealthFor, parseBoshManifest, releaseNameOf } from "../../../src/core/stacks/bosh-manifest.ts";

const lines = (...rows: string[]): string => `${rows.join("\n")}\n`;

/** `line path: message` for each problem of the manifest ("-" for no line). */
function reported(text: string): string[] {
  try {
    parseBoshManifest(text);
  } catch (error) {
    assert.ok(error instanceof StackFileError, `threw ${error}`);
    return error.problems.map((problem) => `${problem.line ?? "-"} ${problem.path}: ${problem.message}`);
  }
  assert.fail("the manifest was accepted");
}

const SHOP = lines(
  "name: shop", // 1
  "director_uuid: 00000000-0000-0000-0000-000000000000",
  "releases:",
  "- name: shop",
  "  version: 1.10", // 5
  "stemcells:",
  "- alias: default",
  "  os: berth-test/busybox",
  "  version: latest",
  "- alias: old", // 10
  "  name: berth-test/busybox",
  "  version: 1.2",
  "update:",
  "  canaries: 1",
  "  max_in_flight: 2", // 15
  "  canary_watch_time: 1000-30000",
  "  update_watch_time: 5000",
  "  serial: false",
  "instance_groups:",
  "- name: web", // 20
  "  instances: 4",
  "  azs: [z1, z2]",
  "  vm_type: default",
  "  networks: [{name: default}]",
  "  stemcell: default", // 25
  "  jobs:",
  "  - name: web",
  "    release: shop",
  "    properties:",
  "      cmd: httpd -f -p 8080", // 30
  '      ports: ["8080:8080"]',
  "      health_check: {protocol: http, port: 8080}",
  "  properties:",
  "    env: {GREETING: hello}",
  "    links: [db]", // 35
  "    affinity: [label!=tier=edge]",
  "    deploy_opts: {wait_for_port: 8080}",
  "- name: db",
  "  instances: 1",
  "  azs: [z1]", // 40
  "  persistent_disk: 1024",
  "  stemcell: old",
  "  update: {max_in_flight: 100%}",
  "  jobs: [{name: db, release: shop}]",
  "- name: worker", // 45
  "  instances: 10",
  "  update: {max_in_flight: 25%}",
  "  properties: {image: berth-test/busybox:edge, strategy: random}",
);

test("a manifest is a stack: deployment name, release as owner/name and version, groups as services", () => {
  const stack = parseBoshManifest(SHOP);
  assert.equal(stack.name, "shop");
  assert.equal(stack.stack, "director/shop");
  assert.equal(releaseNameOf(stack.stack), "shop");
  // YAML would read 1.10 as 1.1.
  assert.equal(stack.version, "1.10");
  assert.deepEqual(stack.variables, {});
  assert.deepEqual(stack.volumes, []);
  // web links to db, so db deploys first.
  assert.deepEqual(
    stack.services.map((service) => service.name),
    ["db", "web", "worker"],
  );
  const [db, web, worker] = stack.services;
  assert.ok(db && web && worker);

  assert.equal(web.image, "berth-test/busybox:latest");
  assert.equal(web.instances, 4);
  assert.deepEqual(web.cmd, ["httpd", "-f", "-p", "8080"]);
  assert.deepEqual(web.env, ["GREETING=hello"]);
  assert.deepEqual(web.ports, [{ ip: "0.0.0.0", protocol: "tcp", node_port: 8080, container_port: 8080 }]);
  assert.deepEqual(web.links, [{ name: "db", alias: "db" }]);
  assert.equal(web.health_check?.uri, "/");
  // The group's own rules first, then the azs as an az label rule.
  assert.deepEqual(web.affinity, ["label!=tier=edge", "label==az=/^(z1|z2)$/"]);
  assert.equal(web.strategy, "ha");
  assert.equal(web.stateful, false);
  // 2 of 4 in flight: min_health 0.5; wait_for_port from properties.
  assert.deepEqual(web.deploy_opts, { min_health: 0.5, wait_for_port: 8080, interval: null });

  assert.equal(db.image, "berth-test/busybox:1.2");
  assert.deepEqual(db.affinity, ["label==az=z1"]);
  assert.equal(db.stateful, true, "a persistent disk makes the service stateful");
  assert.equal(db.deploy_opts.min_health, 0, "the group's update wins; 100% in flight is min_health 0");

  assert.equal(worker.image, "berth-test/busybox:edge", "an image in properties needs no stemcell");
  assert.equal(worker.strategy, "random");
  // 25% of 10 is 2 in flight: 0.8, a step lower as 10 × (1 − 0.8) is 1.999… in floating point.
  assert.equal(worker.deploy_opts.min_health, 0.7999);
});

test("without max_in_flight the spec's default min_health stays", () => {
  const stack = parseBoshManifest(
    lines(
      "name: tiny",
      "releases: [{name: acme/tiny, version: 0+dev.17}]",
      "instance_groups:",
      "- {name: app, instances: 2, properties: {image: berth-test/busybox}}",
    ),
  );
  assert.equal(stack.stack, "acme/tiny");
  assert.equal(releaseNameOf(stack.stack), "acme/tiny");
  assert.equal(stack.version, "0+dev.17");
  assert.equal(stack.services[0]?.deploy_opts.min_health, 0.8);
  assert.deepEqual(stack.services[0]?.affinity, []);
});

test("min_health lets exactly max_in_flight instances update at once, floating point notwithstanding", () => {
  for (let instances = 1; instances <= 400; instances++) {
    for (let inFlight = 1; inFlight <= instances; inFlight++) {
      const minHealth = minHealthFor(inFlight, instances);
      assert.ok(minHealth >= 0 && minHealth <= 1);
      assert.equal(Math.max(1, Math.floor(instances * (1 - minHealth))), inFlight, `${inFlight} of ${instances}`);
    }
  }
  assert.equal(minHealthFor(1, 3), 0.6666);
  assert.equal(minHealthFor(5, 3), 0);
  assert.equal(minHealthFor("50%", 4), 0.5);
  assert.equal(minHealthFor("1%", 10), 0.8999, "a percentage rounds down but lets at least one through");
  assert.equal(minHealthFor(1, 0), 0);
});

test("bad values are named by their manifest path and line", () => {
  const broken = SHOP.replace("  instances: 1\n", "  instances: one\n")
    .replace("  azs: [z1, z2]", "  azs: z1")
    .replace("  max_in_flight: 2", "  max_in_flight: lots");
  assert.deepEqual(reported(broken), [
    "15 update.max_in_flight: must be an integer of at least 1 or a percentage like 25%",
    "22 instance_groups[0].azs: must be a list of az names",
    "39 instance_groups[1].instances: must be an integer",
  ]);
});

test("service attributes are checked by the service spec and named where the manifest gave them", () => {
  const broken = SHOP.replace('      ports: ["8080:8080"]', '      ports: ["http"]')
    .replace("    env: {GREETING: hello}", "    env: [GREETING]")
    .replace("  persistent_disk: 1024", "  persistent_disk: 1024\n  properties: {memory: lots}")
    .replace("strategy: random", "strategy: spread");
  assert.deepEqual(reported(broken), [
    '31 instance_groups[0].jobs[0].properties.ports[0]: "http" is not a port: expected [ip:]node_port:container_port[/protocol]',
    "34 instance_groups[0].properties.env[0]: must be KEY=value",
    '42 instance_groups[1].properties.memory: "lots" is not a size: expected bytes or a number with b, k, m or g',
    "49 instance_groups[2].properties.strategy: must be ha, daemon or random",
  ]);
});

test("unknown, repeated and misplaced keys are named with what to write instead", () => {
  const broken = SHOP.replace("director_uuid: 00000000-0000-0000-0000-000000000000", "properties: {a: 1}")
    .replace("  vm_type: default", "  vm_type: default\n  env: {bosh: {password: x}}\n  replicas: 3")
    .replace("    links: [db]", "    links: [db]\n    cmd: sleep 1\n    instances: 3")
    .replace("    deploy_opts: {wait_for_port: 8080}", "    deploy_opts: {min_health: 0.3}");
  assert.deepEqual(reported(broken), [
    "2 properties: global properties are not supported; give each instance group its properties",
    "24 instance_groups[0].env: BOSH VM settings have no meaning for containers; container environment goes under properties.env",
    '25 instance_groups[0].replicas: unknown key "replicas"; an instance group takes name, instances, azs, jobs, stemcell, properties, update, persistent_disk, persistent_disk_type, lifecycle, vm_type, vm_extensions, vm_resources, networks, migrated_from',
    "32 instance_groups[0].jobs[0].properties.cmd: is given twice: here and at instance_groups[0].properties.cmd",
    "39 instance_groups[0].properties.instances: is the instance group's instances",
    "41 instance_groups[0].properties.deploy_opts.min_health: comes from update.max_in_flight",
  ]);
  assert.deepEqual(reported(SHOP.replace("    links: [db]", "    links: [db]\n    replicas: 2")), [
    `36 instance_groups[0].properties.replicas: unknown key "replicas"; properties take affinity, cap_add, cap_drop, cmd, cpu_shares, deploy_opts, entrypoint, env, health_check, hooks, image, links, log_driver, log_opts, memory, memory_swap, net, ports, secrets, stateful, strategy, user, volumes, volumes_from`,
  ]);
});

test("releases, stemcells and their references must fit together", () => {
  assert.deepEqual(
    reported(
      lines(
        "name: shop",
        "releases: [{name: shop, version: 1}, {name: other, version: 2}]",
        "instance_groups: [{name: web, instances: 1, properties: {image: x}}]",
      ),
    ),
    ["2 releases: must name exactly one release: a deployment is one stack, and the release is its name and version"],
  );
  assert.deepEqual(
    reported(
      lines(
        "name: shop",
        "releases: [{name: shop, version: latest}]",
        "stemcells: [{alias: a, os: Busybox, version: 1}, {alias: b, version: 1}]",
        "instance_groups: [{name: web, instances: 1, properties: {image: x}}]",
      ),
    ),
    [
      "2 releases[0].version: must be an exact version like 1.0.0 (resolve latest before deploying)",
      "3 stemcells[0].os: must be an image name like busybox or registry:5000/team/app",
      "3 stemcells[1].os: give the image as os or as name (one of them)",
    ],
  );
  assert.deepEqual(
    reported(
      lines(
        "name: shop",
        "releases: [{name: shop, version: 1}]",
        "stemcells: [{alias: a, os: busybox, version: 1}, {alias: a, os: busybox, version: 2}]",
        "instance_groups:",
        "- {name: web, instances: 1, stemcell: b, jobs: [{name: web, release: shopx}]}",
        "- {name: web, instances: 1}",
        "- {name: api, instances: 1, stemcell: a, properties: {links: [cache]}}",
      ),
    ),
    [
      '3 stemcells[1].alias: repeats alias "a"',
      '5 instance_groups[0].jobs[0].release: names release "shopx", which is not the manifest\'s release "shop"',
      '5 instance_groups[0].stemcell: names stemcell "b", which is not in stemcells',
      '6 instance_groups[1].name: repeats instance group "web"',
      "6 instance_groups[1].stemcell: is required (a stemcells alias), unless properties.image names the image",
    ],
  );
  assert.deepEqual(
    reported(
      lines(
        "name: shop",
        "releases: [{name: shop, version: 1}]",
        "instance_groups:",
        "- {name: api, instances: 1, properties: {image: x, links: [cache]}}",
      ),
    ),
    ['4 instance_groups[0].properties.links[0]: links to service "cache", which is not in this stack'],
  );
});

test("the manifest's own shape: YAML errors, not a map, missing keys, bad names, errands", () => {
  const [syntax] = reported("name: [unclosed\nreleases: x\n");
  assert.match(syntax ?? "", /^\d+ : /);
  assert.deepEqual(reported("- a\n- b\n"), [
    "- : a manifest is a map of name, releases, stemcells, update and instance_groups",
  ]);
  assert.deepEqual(reported(lines("name: Shop_1", "jobs: []")), [
    "1 name: must be a DNS label: letters, digits and dashes, at most 63",
    "2 jobs: v1 manifests are not supported; list the groups under instance_groups",
    "- releases: must be a list of releases",
    "- instance_groups: must be a list of instance groups",
  ]);
  assert.deepEqual(
    reported(
      lines(
        "name: shop",
        "releases: [{name: shop, version: 1}]",
        "instance_groups:",
        "- {name: smoke, instances: 1, lifecycle: errand, azs: [z/1], update: {canaries: x, serial: maybe}}",
      ),
    ),
    [
      "4 instance_groups[0].azs[0]: must be an az name (letters, digits, . _ -)",
      "4 instance_groups[0].update.canaries: must be an integer or a percentage like 25%",
      "4 instance_groups[0].update.serial: must be true or false",
      '4 instance_groups[0].lifecycle: must be "service" (errands are not supported)',
    ],
  );
});
