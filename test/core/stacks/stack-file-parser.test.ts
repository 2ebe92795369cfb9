import assert from "node:assert/strict";
import { test } from "node:test";
import { StackFileError, type StackFileProblem } from "../../../src/core/errors/stack-file-error.ts";
import { parseStackFile } from "../../../src/core/stacks/stack-file-parser.ts";
import type { VariableSources } from "../../../src/core/stacks/stack-variables.ts";

/** The problems of the StackFileError the parse throws. */
function problemsOf(text: string, sources?: VariableSources): StackFileProblem[] {
  try {
    parseStackFile(text, sources);
  } catch (error) {
    assert.ok(error instanceof StackFileError, `threw ${error}`);
    return [...error.problems];
  }
  assert.fail("the stack file was accepted");
}

/** Lines joined, so the line numbers the tests expect can be counted. */
const lines = (...rows: string[]): string => `${rows.join("\n")}\n`;

/** `line path: message` for each problem of the file made of these rows ("-" for no line). */
const reported = (...rows: string[]): string[] =>
  problemsOf(lines(...rows)).map((problem) => `${problem.line ?? "-"} ${problem.path}: ${problem.message}`);

const REDIS = lines(
  "stack: berth-test/redis", // 1
  "version: 0.1.0",
  "description: Redis with a sentinel",
  "variables:",
  "  password:", // 5
  "    type: string",
  "    from:",
  "      env: REDIS_PASSWORD",
  "  sentinels:",
  "    type: integer", // 10
  "    default: 2",
  "services:",
  "  sentinel:",
  "    image: berth-test/busybox:latest",
  "    command: redis-sentinel /etc/sentinel.conf", // 15
  `    instances: \${sentinels}`,
  "    links:",
  "      - redis:master",
  "    environment:",
  `      PASSWORD: \${password}`, // 20
  "  redis:",
  "    image: berth-test/busybox:latest",
  "    stateful: true",
  "    mem_limit: 256m",
  "    network_mode: host", // 25
  "    ports:",
  '      - "6379:6379"',
  "    volumes:",
  "      - data:/data",
  "    logging:", // 30
  "      driver: syslog",
  "      options:",
  "        tag: redis",
  "    deploy:",
  "      strategy: daemon", // 35
  "      min_health: 0.5",
  "      wait_for_port: 6379",
  "    affinity:",
  '      - "label==region=eu-west-1"',
  "    health_check:", // 40
  "      protocol: tcp",
  "      port: 6379",
  "    hooks:",
  "      post_start:",
  "        - name: greet", // 45
  "          cmd: echo $$HOME costs $$5",
  '          instances: "1,2"',
  "          oneshot: true",
  "volumes:",
  "  data:", // 50
  "    external: redis-data",
  "expose: redis",
);

test("a two-service stack resolves: variables, compose keys, link order", () => {
  const stack = parseStackFile(REDIS, { env: { REDIS_PASSWORD: "s3cret" } });
  assert.equal(stack.stack, "berth-test/redis");
  assert.equal(stack.name, "redis");
  assert.equal(stack.version, "0.1.0");
  assert.equal(stack.description, "Redis with a sentinel");
  assert.equal(stack.expose, "redis");
  assert.deepEqual(stack.variables, { password: "s3cret", sentinels: 2 });
  assert.deepEqual(stack.volumes, [{ name: "data", external: "redis-data" }]);
  // sentinel links to redis, so redis comes first although the file lists it second.
  assert.deepEqual(
    stack.services.map((service) => service.name),
    ["redis", "sentinel"],
  );
  const [redis, sentinel] = stack.services;
  assert.ok(redis && sentinel);
  assert.equal(sentinel.instances, 2);
  assert.deepEqual(sentinel.cmd, ["redis-sentinel", "/etc/sentinel.conf"]);
  assert.deepEqual(sentinel.env, ["PASSWORD=s3cret"]);
  assert.deepEqual(sentinel.links, [{ name: "redis", alias: "master" }]);
  assert.equal(redis.stateful, true);
  assert.equal(redis.memory, 256 * 1024 * 1024);
  assert.equal(redis.net, "host");
  assert.equal(redis.log_driver, "syslog");
  assert.deepEqual(redis.log_opts, { tag: "redis" });
  assert.equal(redis.strategy, "daemon");
  assert.deepEqual(redis.deploy_opts, { min_health: 0.5, wait_for_port: 6379, interval: null });
  assert.deepEqual(redis.ports, [{ ip: "0.0.0.0", protocol: "tcp", node_port: 6379, container_port: 6379 }]);
  assert.deepEqual(redis.volumes, ["data:/data"]);
  assert.deepEqual(redis.affinity, ["label==region=eu-west-1"]);
  assert.equal(redis.health_check?.protocol, "tcp");
  assert.deepEqual(redis.hooks.post_start, [
    { name: "greet", cmd: "echo $HOME costs $5", instances: [1, 2], oneshot: true },
  ]);
});

test("a version is kept as written, though YAML would read it as a number", () => {
  const stack = parseStackFile(lines("stack: me/app", "version: 1.10", "services: {app: {image: berth-test/busybox}}"));
  assert.equal(stack.version, "1.10");
});

test("variables come from given values, then the environment, then defaults", () => {
  const stack = parseStackFile(REDIS, {
    values: { password: "given", sentinels: "5" },
    env: { REDIS_PASSWORD: "env" },
  });
  assert.deepEqual(stack.variables, { password: "given", sentinels: 5 });
});

test("a variable with no value is named, with its line", () => {
  assert.deepEqual(problemsOf(REDIS), [
    {
      path: "variables.password",
      line: 6,
      column: 5,
      message: "variable password has no value: give it one, set REDIS_PASSWORD or add a default",
    },
  ]);
});

test(`variables are typed, random strings generated, \${VAR} and $VAR both read`, () => {
  const stack = parseStackFile(
    lines(
      "stack: me/app",
      "version: 1.2.3-beta.1",
      "variables:",
      "  token: {from: {random_string: 12}}",
      "  debug: {type: boolean, default: false}",
      "  tier: {type: enum, options: [small, large], value: large}",
      "services:",
      "  app:",
      `    image: berth-test/busybox:\${tier}`,
      `    command: "run --debug=$debug --token \${token}"`,
      `    stateful: \${debug}`,
    ),
  );
  const token = stack.variables.token;
  assert.match(String(token), /^[A-Za-z0-9]{12}$/);
  assert.deepEqual(stack.variables, { token, debug: false, tier: "large" });
  assert.equal(stack.services[0]?.image, "berth-test/busybox:large");
  assert.deepEqual(stack.services[0]?.cmd, ["run", "--debug=false", "--token", token]);
  assert.equal(stack.services[0]?.stateful, false);
  assert.deepEqual(
    problemsOf(lines("stack: me/app", "version: 1", "variables:", "  n: {type: integer}", "services: {}"), {
      values: { n: "many" },
    }).map((problem) => `${problem.path}: ${problem.message}`),
    ['variables.n: "many" is not an integer'],
  );
});

test("undefined variables and bad references are named at their path", () => {
  assert.deepEqual(
    problemsOf(
      lines(
        "stack: me/app",
        "version: 1.0.0",
        "services:",
        "  app:",
        `    image: berth-test/busybox:\${TAG}`,
        `    command: echo \${}`,
      ),
    ),
    [
      { path: "services.app.image", line: 5, column: 12, message: "undefined variable TAG" },
      {
        path: "services.app.command",
        line: 6,
        column: 14,
        message: `"\${}" is not a variable reference (use $$ for a literal $)`,
      },
    ],
  );
});

test("a YAML syntax error has its line", () => {
  const [problem, ...rest] = problemsOf(
    lines("stack: me/app", "services:", "  app:", "    image: [unclosed", "  db: x"),
  );
  assert.equal(rest.length, 0);
  assert.equal(problem?.path, "");
  assert.equal(problem?.line, 5);
});

test("unknown keys are named, with a hint where one helps", () => {
  assert.deepEqual(
    reported(
      "stack: me/app",
      "version: 1.0.0",
      "service: {}",
      "services:",
      "  app:",
      "    image: berth-test/busybox:latest",
      "    cmd: sleep 1",
      "    colour: blue",
      "    logging: {driver: syslog, level: 3}",
      "    health_check: {protocol: tcp, port: 80, path: /}",
    ),
    [
      '3 service: unknown key "service"; a stack file takes stack, version, description, variables, services, volumes, expose',
      '7 services.app.cmd: unknown key "cmd"; in a stack file, use command',
      `8 services.app.colour: unknown key "colour"; a service takes affinity, cap_add, cap_drop, command, cpu_shares, deploy, entrypoint, environment, health_check, hooks, image, instances, links, logging, mem_limit, memswap_limit, network_mode, ports, secrets, stateful, strategy, user, volumes, volumes_from`,
      "9 services.app.logging.level: unknown key; logging takes driver and options",
      "10 services.app.health_check.path: unknown key",
    ],
  );
});

test("bad values are shown by the author's keys and lines", () => {
  assert.deepEqual(
    reported(
      "stack: berth",
      "version: latest",
      "services:",
      "  web:",
      "    image: berth-test/busybox:latest",
      "    ports:",
      '      - "80:80"',
      '      - "80:70000"',
      "    affinity: [nodes==a]",
      "    mem_limit: huge",
      "    deploy: {min_health: 2}",
      "    hooks:",
      "      post_start:",
      "        - {name: a, cmd: b, instances: all}",
      "  bad_name:",
      "    image: berth-test/busybox:latest",
    ),
    [
      "1 stack: must be owner/name",
      '2 version: "latest" is not a version like 1.0.0',
      "8 services.web.ports[1].container_port: must be 1-65535",
      '9 services.web.affinity[0]: affinity "nodes==a": expected node|service|container|label, ==, !=, ==~ or !=~, a value',
      '10 services.web.mem_limit: "huge" is not a size: expected bytes or a number with b, k, m or g',
      "11 services.web.deploy.min_health: must be 0-1",
      '14 services.web.hooks.post_start[0].instances: "all" is not "*" or a list of instance numbers like "1,3"',
      "16 services.bad_name: must be a DNS label: letters, digits and dashes, at most 63",
    ],
  );
});

test("expose must name a service of the stack, volumes must be declared and external", () => {
  assert.deepEqual(
    reported(
      "stack: me/app",
      "version: 1.0.0",
      "services:",
      "  app: {image: berth-test/busybox:latest, volumes: [/srv:/srv, ./conf:/conf, /cache, logs:/logs:ro]}",
      "volumes:",
      "  data: {driver: local}",
      "expose: db",
    ),
    [
      `4 services.app.volumes[3]: uses volume "logs", which is not in the stack's volumes`,
      "6 volumes.data.driver: unknown key; a stack volume takes external",
      "6 volumes.data: needs external: the grid volume's name, or true for the same name",
      '7 expose: exposes service "db", which is not in this stack',
    ],
  );
});

test("a link cycle in a file is a StackFileError naming the services", () => {
  assert.deepEqual(
    reported(
      "stack: me/app",
      "version: 1.0.0",
      "services:",
      "  web: {image: berth-test/busybox:latest, links: [api]}",
      "  api: {image: berth-test/busybox:latest, links: ['web:frontend']}",
    ),
    ["4 services.web.links: link cycle: web -> api -> web"],
  );
});
