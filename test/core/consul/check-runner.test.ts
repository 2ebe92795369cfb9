import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { CheckDefinition, HealthCheck } from "../../../src/core/consul/catalog-record.ts";
import { CatalogService } from "../../../src/core/consul/catalog-service.ts";
import { splitHostPort, truncateOutput } from "../../../src/core/consul/check-probes.ts";
import { CheckRunner, TTL_EXPIRED_OUTPUT } from "../../../src/core/consul/check-runner.ts";
import { openTestStore } from "../../support/test-store.ts";

const DC = "default";
const NODE = "master";

async function runnerOn(t: Parameters<typeof openTestStore>[0]) {
  const store = await openTestStore(t);
  const catalog = new CatalogService(store, { localNode: NODE });
  await catalog.register(DC, { node: NODE, address: "127.0.0.1" });
  const runner = new CheckRunner(catalog);
  await runner.start({ dc: DC, node: NODE });
  t.after(() => runner.stop());
  const add = async (id: string, definition: CheckDefinition) => {
    await catalog.register(DC, {
      node: NODE,
      skipNodeUpdate: true,
      checks: [{ id, name: id, notes: "", serviceId: "", definition }],
    });
    runner.run(id, definition);
  };
  const check = async (id: string): Promise<HealthCheck | undefined> =>
    (await catalog.nodeChecks(DC, NODE)).value.find((c) => c.id === id);
  return { store, catalog, runner, add, check };
}

/** Polls until the check reaches the status with some output (new checks start critical with none). */
async function waitForStatus(read: () => Promise<HealthCheck | undefined>, status: string, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const check = await read();
    if (check?.status === status && check.output !== "") return check;
    if (Date.now() > deadline) assert.fail(`check is ${check?.status}, not ${status}: ${check?.output}`);
    await sleep(20);
  }
}

test("an HTTP check follows the endpoint: 2xx passing, 429 warning, anything else critical", async (t) => {
  let answer = 200;
  const server = createHttpServer((_request, response) => response.writeHead(answer).end(`status ${answer}`));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const { add, check } = await runnerOn(t);
  const url = `http://127.0.0.1:${port}/health`;
  await add("web", {
    kind: "http",
    url,
    method: "GET",
    header: {},
    tlsSkipVerify: false,
    intervalMs: 50,
    timeoutMs: 1000,
  });

  const passing = await waitForStatus(() => check("web"), "passing");
  assert.equal(passing.output, `HTTP GET ${url}: 200 OK Output: status 200`);
  answer = 429;
  await waitForStatus(() => check("web"), "warning");
  answer = 500;
  const critical = await waitForStatus(() => check("web"), "critical");
  assert.match(critical.output, /: 500 Internal Server Error Output: status 500$/);
  answer = 204;
  await waitForStatus(() => check("web"), "passing");
});

test("an HTTP check of nothing listening is critical", async (t) => {
  const { add, check } = await runnerOn(t);
  const url = "http://127.0.0.1:1/";
  await add("down", {
    kind: "http",
    url,
    method: "GET",
    header: {},
    tlsSkipVerify: false,
    intervalMs: 1000,
    timeoutMs: 500,
  });
  const critical = await waitForStatus(() => check("down"), "critical");
  assert.match(critical.output, /^HTTP GET http:\/\/127\.0\.0\.1:1\/: .*ECONNREFUSED/);
});

test("a TCP check passes while the port accepts connections", async (t) => {
  const server = createTcpServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const { add, check } = await runnerOn(t);
  await add("tcp", { kind: "tcp", address: `127.0.0.1:${port}`, intervalMs: 50, timeoutMs: 1000 });
  const passing = await waitForStatus(() => check("tcp"), "passing");
  assert.equal(passing.output, `TCP connect 127.0.0.1:${port}: Success`);
  await new Promise((resolve) => server.close(resolve));
  const critical = await waitForStatus(() => check("tcp"), "critical");
  assert.match(critical.output, new RegExp(`^dial tcp 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
});

test("a TTL check goes critical with 'TTL expired' when nobody updates it in time; an update restarts its clock", async (t) => {
  const { add, check, catalog, runner } = await runnerOn(t);
  await add("ttl", { kind: "ttl", ttlMs: 300 });
  await catalog.updateCheck(DC, NODE, "ttl", { status: "passing", output: "fine" });
  await sleep(150);
  runner.resetTtl("ttl");
  await sleep(200);
  assert.equal((await check("ttl"))?.status, "passing", "the reset moved the deadline");
  const expired = await waitForStatus(() => check("ttl"), "critical", 2000);
  assert.equal(expired.output, TTL_EXPIRED_OUTPUT);
});

test("a script check runs its program without a shell: exit 0 passing, 1 warning, else critical", async (t) => {
  const { add, check } = await runnerOn(t);
  const script = (code: number): CheckDefinition => ({
    kind: "script",
    args: [process.execPath, "-e", `process.stdout.write("code ${code}"); process.exit(${code})`],
    intervalMs: 60_000,
    timeoutMs: 5000,
  });
  await add("ok", script(0));
  await add("warn", script(1));
  await add("bad", script(2));
  assert.equal((await waitForStatus(() => check("ok"), "passing")).output, "code 0");
  assert.equal((await waitForStatus(() => check("warn"), "warning")).output, "code 1");
  assert.equal((await waitForStatus(() => check("bad"), "critical")).output, "code 2");
  await add("missing", { kind: "script", args: ["/nonexistent/check"], intervalMs: 60_000, timeoutMs: 1000 });
  assert.match((await waitForStatus(() => check("missing"), "critical")).output, /ENOENT/);
});

test("a check deregistered behind the runner's back is dropped at its next result; start picks up stored checks", async (t) => {
  const { add, catalog, runner, store } = await runnerOn(t);
  await add("ttl", { kind: "ttl", ttlMs: 100 });
  assert.deepEqual(runner.runningChecks, ["ttl"]);
  await catalog.deregister(DC, { node: NODE, checkId: "ttl" });
  await sleep(200);
  assert.deepEqual(runner.runningChecks, []);

  await add("again", { kind: "ttl", ttlMs: 60_000 });
  runner.stop();
  assert.deepEqual(runner.runningChecks, []);
  const fresh = new CheckRunner(new CatalogService(store, { localNode: NODE }));
  await fresh.start({ dc: DC, node: NODE });
  t.after(() => fresh.stop());
  assert.deepEqual(fresh.runningChecks, ["again"]);
});

test("helpers: output truncation as Consul does it, host:port splitting", () => {
  assert.equal(truncateOutput("short"), "short");
  const long = "x".repeat(5000);
  assert.equal(truncateOutput(long), `${"x".repeat(4096)} ... (captured 4096 of 5000 bytes)`);
  assert.deepEqual(splitHostPort("example.com:80"), { host: "example.com", port: 80 });
  assert.deepEqual(splitHostPort("[::1]:8500"), { host: "::1", port: 8500 });
  assert.equal(splitHostPort("no-port"), undefined);
  assert.equal(splitHostPort("host:99999"), undefined);
});
