import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { hostname } from "node:os";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { consulFailure, eventually, looseCheck, startConsulMaster } from "../../support/consul-master.ts";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send, sendJson } from "../../support/http-client.ts";

const consulError = errorShapeOf("consul");

interface CheckJson {
  Node: string;
  CheckID: string;
  Name: string;
  Status: string;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  Type: string;
}

type Checks = Record<string, CheckJson>;

describe("Consul agent endpoints", () => {
  it("self and members describe the master as a server of the default datacenter", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    const port = Number(new URL(master.url).port);
    const self = (await consul.agent.self()) as { Config: Record<string, unknown>; Member: Record<string, unknown> };
    assert.equal(self.Config.Datacenter, "default");
    assert.equal(self.Config.NodeName, hostname());
    assert.equal(self.Config.Server, true);
    assert.equal(self.Config.SessionTTLMin, 10e9);
    assert.deepEqual(self.Config.Ports, { DNS: -1, HTTP: port, RPC: -1, SerfLan: -1, SerfWan: -1, Server: -1 });
    assert.equal(self.Member.Name, hostname());
    assert.equal(self.Member.Addr, "127.0.0.1");
    assert.equal(self.Member.Status, 1);
    assert.deepEqual(await consul.agent.members(), [self.Member]);

    const raw = await send(master.url, "/v1/agent/self");
    assert.ok(Number(raw.headers.get("x-consul-index")) >= 1);
    assert.equal(raw.headers.get("x-consul-knownleader"), "true");
    assert.equal(raw.headers.get("x-consul-lastcontact"), "0");
    assert.equal(raw.headers.get("x-consul-effective-consistency"), "leader");

    // The master is a catalog node with serfHealth passing (and the consul service), as Consul servers are.
    const node = await send(master.url, `/v1/health/node/${hostname()}`);
    assert.deepEqual(
      (node.json() as CheckJson[]).map((check) => [check.CheckID, check.Status, check.Name]),
      [["serfHealth", "passing", "Serf Health Status"]],
    );
    const catalogNode = (await send(master.url, `/v1/catalog/node/${hostname()}`)).json() as {
      Node: { TaggedAddresses: Record<string, string> };
      Services: Record<string, { Port: number }>;
    };
    assert.deepEqual(catalogNode.Node.TaggedAddresses, { lan: "127.0.0.1", wan: "127.0.0.1" });
    assert.equal(catalogNode.Services.consul?.Port, port);
    assert.deepEqual(await consul.agent.services(), {}, "the consul service is the server's, not the agent's");
    assert.deepEqual(await consul.agent.checks(), {});
  });

  it("a registered service and its check sync to the catalog and health endpoints", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    await consul.agent.service.register({
      name: "web",
      id: "web-1",
      tags: ["v1", "primary"],
      port: 8080,
      address: "10.0.0.5",
      meta: { version: "1.2" },
      check: looseCheck({ ttl: "30s", notes: "web's heartbeat" }),
    });
    assert.deepEqual(await consul.agent.services(), {
      "web-1": {
        ID: "web-1",
        Service: "web",
        Tags: ["v1", "primary"],
        Meta: { version: "1.2" },
        Port: 8080,
        Address: "10.0.0.5",
        EnableTagOverride: false,
      },
    });
    const checks = (await consul.agent.checks()) as Checks;
    const { CreateIndex, ModifyIndex, ...check } = checks["service:web-1"] as CheckJson & Record<string, number>;
    assert.ok(CreateIndex && CreateIndex === ModifyIndex);
    assert.deepEqual(
      check,
      {
        Node: hostname(),
        CheckID: "service:web-1",
        Name: "Service 'web' check",
        Status: "critical",
        Notes: "web's heartbeat",
        Output: "",
        ServiceID: "web-1",
        ServiceName: "web",
        Type: "ttl",
      },
      "a new check starts critical",
    );

    const catalog = (await send(master.url, "/v1/catalog/service/web")).json() as Record<string, unknown>[];
    assert.equal(catalog.length, 1);
    assert.equal(catalog[0]?.Node, hostname());
    assert.equal(catalog[0]?.ServiceAddress, "10.0.0.5");
    assert.deepEqual(catalog[0]?.ServiceMeta, { version: "1.2" });
    assert.equal(catalog[0]?.ServicePort, 8080);

    await consul.agent.service.deregister("web-1");
    assert.deepEqual(await consul.agent.services(), {});
    assert.deepEqual(await consul.agent.checks(), {}, "the service's check went with it");
    assert.deepEqual((await send(master.url, "/v1/catalog/service/web")).json(), []);
  });

  it("registration takes any spelling of the field names, and several checks", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    const response = await sendJson(master.url, "/v1/agent/service/register", "PUT", {
      name: "api",
      port: 9000,
      enable_tag_override: true,
      checks: [
        { ttl: "10s", status: "passing" },
        { TTL: "20s", name: "deep", CheckID: "api-deep" },
      ],
    });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.text, "");
    const services = (await consul.agent.services()) as Record<string, { EnableTagOverride: boolean; Tags: unknown }>;
    assert.equal(services.api?.EnableTagOverride, true);
    assert.equal(services.api?.Tags, null, "a service registered without tags has null tags, as the spec shows");
    const checks = (await consul.agent.checks()) as Checks;
    assert.deepEqual(Object.keys(checks).sort(), ["api-deep", "service:api:1"]);
    assert.equal(checks["service:api:1"]?.Status, "passing");
    assert.equal(checks["api-deep"]?.Name, "deep");

    // Registering again with fewer checks drops the others.
    await sendJson(master.url, "/v1/agent/service/register", "PUT", { Name: "api", Check: { TTL: "10s" } });
    assert.deepEqual(Object.keys((await consul.agent.checks()) as Checks), ["service:api"]);
  });

  it("TTL checks: pass, warn, fail with a note, update with output, and 'TTL expired' when left alone", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    await consul.agent.check.register(looseCheck({ name: "heartbeat", ttl: "1s" }));
    const status = async () => ((await consul.agent.checks()) as Checks).heartbeat;

    await consul.agent.check.pass({ id: "heartbeat", note: "all good" });
    assert.deepEqual([(await status())?.Status, (await status())?.Output], ["passing", "all good"]);
    await consul.agent.check.warn("heartbeat");
    assert.equal((await status())?.Status, "warning");
    // Old clients use GET.
    const head = await send(master.url, "/v1/agent/check/fail/heartbeat", { method: "HEAD" });
    assert.equal(head.status, 405, "HEAD changes nothing");
    assert.equal((await status())?.Status, "warning");
    const failed = await send(master.url, "/v1/agent/check/fail/heartbeat?note=broken");
    assert.equal(failed.status, 200);
    assert.deepEqual([(await status())?.Status, (await status())?.Output], ["critical", "broken"]);
    const updated = await sendJson(master.url, "/v1/agent/check/update/heartbeat", "PUT", {
      Status: "passing",
      Output: "from update",
    });
    assert.equal(updated.status, 200, updated.text);
    assert.deepEqual([(await status())?.Status, (await status())?.Output], ["passing", "from update"]);

    const expired = await eventually(status, (check) => check?.Status === "critical", 3000);
    assert.equal(expired?.Output, "TTL expired");
  });

  it("an HTTP check follows a local endpoint: 200 passing, 429 warning, 500 critical", async (t) => {
    let answer = 200;
    const server = createServer((_request, response) => response.writeHead(answer).end("hi"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => server.close());
    const { port } = server.address() as { port: number };
    const { consul } = await startConsulMaster(t);
    const url = `http://127.0.0.1:${port}/health`;
    await consul.agent.service.register({
      name: "site",
      port,
      check: looseCheck({ http: url, interval: "1s", timeout: "1s" }),
    });
    const status = async () => ((await consul.agent.checks()) as Checks)["service:site"];

    const passing = await eventually(status, (check) => check?.Status === "passing");
    assert.equal(passing?.Output, `HTTP GET ${url}: 200 OK Output: hi`);
    assert.equal(passing?.Type, "http");
    answer = 429;
    await eventually(status, (check) => check?.Status === "warning");
    answer = 500;
    await eventually(status, (check) => check?.Status === "critical");
  });

  it("a TCP check passes while the port accepts connections", async (t) => {
    const server = createTcpServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => server.close());
    const { port } = server.address() as { port: number };
    const { consul } = await startConsulMaster(t);
    await consul.agent.check.register(looseCheck({ name: "db", tcp: `127.0.0.1:${port}`, interval: "1s" }));
    const check = await eventually(
      async () => ((await consul.agent.checks()) as Checks).db,
      (found) => found?.Status === "passing",
    );
    assert.equal(check?.Output, `TCP connect 127.0.0.1:${port}: Success`);
  });

  it("script checks are refused unless the master enables them, and then run without a shell", async (t) => {
    const { master } = await startConsulMaster(t);
    const refused = await sendJson(master.url, "/v1/agent/check/register", "PUT", {
      Name: "script",
      Args: ["/bin/true"],
      Interval: "10s",
    });
    assert.match(consulError(refused, 400), /^Scripts are disabled on this agent/);
    assert.deepEqual((await send(master.url, "/v1/agent/checks")).json(), {}, "nothing was registered");

    const enabled = await startConsulMaster(t, { consulScriptChecks: true });
    const registered = await sendJson(enabled.master.url, "/v1/agent/check/register", "PUT", {
      Name: "script",
      Args: [process.execPath, "-e", "console.log('fine')"],
      Interval: "10s",
    });
    assert.equal(registered.status, 200, registered.text);
    const check = await eventually(
      async () => ((await enabled.consul.agent.checks()) as Checks).script,
      (found) => found?.Status === "passing",
    );
    assert.equal(check?.Output, "fine\n");
  });

  it("checks of a service, deregistration, unknown ids (404 in Consul's words)", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    await consul.agent.service.register({ name: "web" });
    await consul.agent.check.register(looseCheck({ name: "web-extra", ttl: "30s", serviceid: "web" }));
    assert.equal(((await consul.agent.checks()) as Checks)["web-extra"]?.ServiceName, "web");

    const unknownService = await sendJson(master.url, "/v1/agent/check/register", "PUT", {
      Name: "orphan",
      TTL: "10s",
      ServiceID: "nope",
    });
    assert.equal(consulError(unknownService, 400), 'ServiceID "nope" does not exist');

    const pass = await consulFailure(consul.agent.check.pass("nope"));
    assert.deepEqual(pass, {
      status: 404,
      body: 'Unknown check ID "nope". Ensure that the check ID is passed, not the check name.',
    });
    const deregister = await send(master.url, "/v1/agent/service/deregister/nope", { method: "PUT" });
    assert.equal(
      consulError(deregister, 404),
      'Unknown service ID "nope". Ensure that the service ID is passed, not the service name.',
    );
    const serf = await send(master.url, "/v1/agent/check/deregister/serfHealth", { method: "PUT" });
    consulError(serf, 404);

    const ttlOnly = await send(master.url, "/v1/agent/check/pass/service:web");
    assert.equal(ttlOnly.status, 404, "the service has no check of its own");
    await consul.agent.check.register(looseCheck({ name: "http-ish", http: "http://127.0.0.1:1/", interval: "10s" }));
    assert.equal(
      consulError(await send(master.url, "/v1/agent/check/pass/http-ish"), 400),
      'CheckID "http-ish" does not have associated TTL',
    );

    // GET works on deregistration too (old clients).
    assert.equal((await send(master.url, "/v1/agent/check/deregister/web-extra")).status, 200);
    assert.equal((await send(master.url, "/v1/agent/service/deregister/web")).status, 200);
    assert.deepEqual(Object.keys((await consul.agent.checks()) as Checks), ["http-ish"]);
  });

  it("bad registrations are 400s in Consul's words and write nothing", async (t) => {
    const { master } = await startConsulMaster(t);
    const before = (await send(master.url, "/v1/catalog/services")).headers.get("x-consul-index");
    const cases: [string, unknown, RegExp][] = [
      ["/v1/agent/service/register", { Port: 80 }, /^Missing service name$/],
      ["/v1/agent/service/register", { Name: "x", Port: "80" }, /^Request decode failed: Port: /],
      ["/v1/agent/service/register", { Name: "x", Tags: "a" }, /^Request decode failed: Tags: /],
      ["/v1/agent/service/register", { Name: "x", Address: "0.0.0.0" }, /^Invalid service address$/],
      [
        "/v1/agent/service/register",
        { Name: "x", Meta: { "bad key": "v" } },
        /^Invalid Service Meta: .*invalid characters/,
      ],
      ["/v1/agent/service/register", { Name: "x", Check: { Script: "x" } }, /^Must provide TTL or Script/],
      ["/v1/agent/service/register", { Name: "x", Check: { TTL: "10s", Status: "up" } }, /^Status for checks must/],
      [
        "/v1/agent/service/register",
        { Name: "x", Check: { TTL: "ten" } },
        /^Request decode failed: Check.TTL: invalid duration/,
      ],
      ["/v1/agent/check/register", { TTL: "10s" }, /^Missing check name$/],
      [
        "/v1/agent/check/register",
        { Name: "c" },
        /^Must provide TTL or Script\/DockerContainerID\/HTTP\/TCP and Interval$/,
      ],
      ["/v1/agent/check/register", { Name: "c", TTL: "10s", Status: "bad" }, /^Bad check status$/],
      ["/v1/agent/check/register", { Name: "c", HTTP: "ftp://x", Interval: "10s" }, /^Invalid HTTP check URL/],
      ["/v1/agent/check/register", [1, 2], /^Request decode failed: must be a JSON object$/],
    ];
    for (const [path, body, message] of cases) {
      const response = await sendJson(master.url, path, "PUT", body);
      assert.match(consulError(response, 400), message, JSON.stringify(body));
    }
    const malformed = await send(master.url, "/v1/agent/service/register", { method: "PUT", body: "{nope" });
    assert.match(consulError(malformed, 400), /^Request decode failed: /);
    const empty = await send(master.url, "/v1/agent/check/register", { method: "PUT" });
    assert.match(consulError(empty, 400), /^Request decode failed: /);
    const update = await sendJson(master.url, "/v1/agent/check/update/x", "PUT", { Status: "fine" });
    assert.equal(consulError(update, 400), "Invalid check status: 'fine'");

    await sleep(20);
    const after = (await send(master.url, "/v1/catalog/services")).headers.get("x-consul-index");
    assert.equal(after, before, "no write happened");
  });

  it("a session linked to an agent check ends when the check goes critical, releasing its lock", async (t) => {
    const { consul } = await startConsulMaster(t);
    await consul.agent.service.register({ name: "web", check: looseCheck({ ttl: "30s", status: "passing" }) });
    const { ID: session } = (await consul.session.create({ checks: ["serfHealth", "service:web"] })) as { ID: string };
    assert.equal(await consul.kv.set({ key: "service/web/leader", value: "me", acquire: session }), true);

    await consul.agent.check.fail("service:web");
    assert.equal(await consul.session.info(session), undefined, "the session is gone");
    const entry = (await consul.kv.get("service/web/leader")) as { Session?: string; Value: string };
    assert.equal(entry.Value, "me");
    assert.equal(entry.Session, undefined, "its lock was released");

    const refused = await consulFailure(consul.session.create({ checks: ["service:web"] }));
    assert.deepEqual(refused, { status: 500, body: "Check 'service:web' is in critical state" });
  });

  it("join and force-leave answer 200 (there is no gossip pool to join or leave)", async (t) => {
    const { master, consul } = await startConsulMaster(t);
    await consul.agent.join("10.0.0.9");
    await consul.agent.forceLeave("gone");
    assert.equal((await send(master.url, "/v1/agent/join/10.0.0.9")).status, 200);
  });
});
