import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import WebSocket from "ws";
import { LINK_CLOSE, LINK_PATH } from "../../../src/protocol/link-messages.ts";
import { eventually } from "../../support/consul-master.ts";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { send, sendJson } from "../../support/http-client.ts";
import { actualInstance, desiredInstance, nodeFacts } from "../../support/node-fixtures.ts";
import { helloMessage, openRawLink, type RawLink } from "../../support/raw-link.ts";
import { startTestMaster, startWatchedMaster, type TestMaster } from "../../support/test-master.ts";

const nativeError = errorShapeOf("native");

async function masterWithToken(t: TestContext, agentLink = {}) {
  const master = await startTestMaster(t, undefined, { agentLink });
  const gridToken = (await master.core.grids.get("default")).token;
  return { master, gridToken };
}

/** Joins a node over a raw link and returns the link (welcomed) and the node token. */
async function join(t: TestContext, master: TestMaster, gridToken: string, name: string): Promise<[RawLink, string]> {
  const link = await openRawLink(t, master.url, { gridToken });
  link.send(helloMessage(name));
  const welcome = await link.next("welcome");
  return [link, welcome.node_token as string];
}

/** Polls until the check holds. */
const waitUntil = (check: () => Promise<boolean>) => eventually(check, (holds) => holds);

describe("agent link face", () => {
  it("is in the route table and answers plain HTTP: 401 without credentials, 400 without an upgrade", async (t) => {
    const { master, gridToken } = await masterWithToken(t);
    const routes = master.host.routes().filter((route) => route.face === "agent-link");
    assert.deepEqual(
      routes.map((route) => `${route.method} ${route.url} ${route.public}`),
      [`GET ${LINK_PATH} false`, `HEAD ${LINK_PATH} false`],
    );
    const anonymous = await send(master.url, LINK_PATH);
    assert.match(nativeError(anonymous, 401), /Authorization: Bearer/);
    assert.match(anonymous.headers.get("www-authenticate") ?? "", /^Bearer/);
    nativeError(
      await send(master.url, LINK_PATH, { headers: { "x-berth-node": "default/x", authorization: "Bearer t" } }),
      400,
    );
    nativeError(await send(master.url, LINK_PATH, { headers: { authorization: `Bearer ${gridToken}` } }), 400);
    nativeError(await send(master.url, LINK_PATH, { headers: { authorization: "Basic abc" } }), 401);
    nativeError(
      await send(master.url, LINK_PATH, { headers: { authorization: "Bearer t", "x-berth-node": "nogrid" } }),
      401,
    );
  });

  it("refuses an upgrade without credentials with HTTP 401", async (t) => {
    const { master } = await masterWithToken(t);
    const socket = new WebSocket(master.url.replace(/^http/, "ws") + LINK_PATH);
    socket.on("error", () => {});
    const status = await new Promise<number | undefined>((resolve) => {
      socket.on("unexpected-response", (_request, response) => resolve(response.statusCode));
      socket.on("open", () => resolve(undefined));
    });
    socket.terminate();
    assert.equal(status, 401);
  });

  it("joins with the grid token: welcome with a node token, the snapshot, then changes; reports are stored", async (t) => {
    const { master, gridToken } = await masterWithToken(t);
    const [link, nodeToken] = await join(t, master, gridToken, "one");
    const welcome = await link.next("welcome");
    assert.deepEqual(welcome.node, { id: "default/one", grid: "default", name: "one", node_number: 1 });
    assert.match(nodeToken, /^[\w-]{43}$/);
    assert.equal(welcome.ping_interval_ms, 10_000);
    const snapshot = await link.next("desired.snapshot");
    assert.deepEqual(snapshot.instances, []);
    assert.equal(await connected(master, "one"), true);

    await master.core.nodeInstances.setDesired("default", "one", [desiredInstance(1)]);
    const change = await link.next("desired.change");
    assert.deepEqual(
      (change.put as { id: string }[]).map((instance) => instance.id),
      ["default/shop/web/1"],
    );
    assert.deepEqual(change.delete, []);

    link.send({ type: "instances.actual", complete: true, instances: [actualInstance(1)] });
    link.send({ type: "node.usage", resource_usage: usage });
    await waitUntil(async () => (await master.core.nodeInstances.actual("default", "one")).length === 1);
    await waitUntil(async () => (await nodeJson(master, "one")).resource_usage !== null);

    link.socket.close(1000);
    await waitUntil(async () => !(await connected(master, "one")));
  });

  it("rejoins with the node token and gets the set as it is now", async (t) => {
    const { master, gridToken } = await masterWithToken(t);
    const [first, token] = await join(t, master, gridToken, "one");
    first.socket.close(1000);
    await first.closed;
    await master.core.nodeInstances.setDesired("default", "one", [desiredInstance(1), desiredInstance(2)]);
    const again = await openRawLink(t, master.url, { grid: "default", name: "one", token });
    again.send(helloMessage("ignored-when-rejoining"));
    const welcome = await again.next("welcome");
    assert.equal(welcome.node_token, null);
    assert.deepEqual(welcome.node, { id: "default/one", grid: "default", name: "one", node_number: 1 });
    assert.equal(((await again.next("desired.snapshot")).instances as unknown[]).length, 2);
  });

  it("refuses bad credentials, a taken name, other versions, skewed clocks and bad hellos with their close codes", async (t) => {
    const { master, gridToken } = await masterWithToken(t, { helloTimeoutMs: 300 });
    const [, token] = await join(t, master, gridToken, "one");
    const refusedWith = async (
      credentials: Parameters<typeof openRawLink>[2],
      hello: unknown,
    ): Promise<{ code: number; reason: string }> => {
      const link = await openRawLink(t, master.url, credentials);
      if (hello !== undefined) link.socket.send(typeof hello === "string" ? hello : JSON.stringify(hello));
      const closed = await link.closed;
      assert.deepEqual(link.messages, [], "nothing is sent to a refused agent");
      return closed;
    };
    const expectations: [Parameters<typeof openRawLink>[2], unknown, number, RegExp][] = [
      [{ gridToken: "wrong" }, helloMessage("two"), LINK_CLOSE.gridTokenRejected, /grid token/],
      [{ grid: "default", name: "one", token: "wrong" }, helloMessage("one"), LINK_CLOSE.nodeTokenRejected, /token/],
      [{ grid: "default", name: "ghost", token }, helloMessage("ghost"), LINK_CLOSE.nodeDeleted, /no longer exists/],
      [
        { gridToken },
        helloMessage("one", { facts: nodeFacts({ node_id: "OTHER" }) }),
        LINK_CLOSE.nameTaken,
        /already has a node named one/,
      ],
      [{ gridToken }, helloMessage("two", { agent_version: "9.0.0" }), LINK_CLOSE.versionMismatch, /9\.0\.0.*0\.1/],
      [{ gridToken }, helloMessage("two", { time: Date.now() + 60_000 }), LINK_CLOSE.clockSkew, /ahead of/],
      [{ gridToken }, helloMessage("two", { time: Date.now() - 60_000 }), LINK_CLOSE.clockSkew, /behind/],
      [{ gridToken }, { ...helloMessage("two"), name: "bad name" }, LINK_CLOSE.protocolError, /hello: name/],
      [{ gridToken }, "not json", LINK_CLOSE.protocolError, /not JSON/],
      [{ gridToken }, undefined, LINK_CLOSE.helloTimeout, /no hello/],
    ];
    for (const [credentials, hello, code, reason] of expectations) {
      const closed = await refusedWith(credentials, hello);
      assert.equal(closed.code, code, `${JSON.stringify(closed)} for ${JSON.stringify(hello)?.slice(0, 80)}`);
      assert.match(closed.reason, reason);
      assert.ok(Buffer.byteLength(closed.reason) <= 123);
    }
    assert.equal((await master.core.grids.get("default")).name, "default");
    assert.deepEqual(
      (await listNodes(master)).map((node) => node.name),
      ["one"],
      "no refused agent became a node",
    );
  });

  it("lets a newer link of a node take over from the older one", async (t) => {
    const { master, gridToken } = await masterWithToken(t);
    const [first, token] = await join(t, master, gridToken, "one");
    await first.next("desired.snapshot");
    const second = await openRawLink(t, master.url, { grid: "default", name: "one", token });
    second.send(helloMessage("one"));
    assert.equal((await first.closed).code, LINK_CLOSE.replaced);
    await second.next("desired.snapshot");
    assert.equal(await connected(master, "one"), true);
    await master.core.nodeInstances.setDesired("default", "one", [desiredInstance(1)]);
    await second.next("desired.change");

    // An old link whose agent is gone without a word (it answers no close frame) does not hold up the new one.
    second.socket.pause();
    const third = await openRawLink(t, master.url, { grid: "default", name: "one", token });
    third.send(helloMessage("one"));
    const started = Date.now();
    await third.next("desired.snapshot", 5_000);
    assert.ok(Date.now() - started < 4_000);
  });

  it("closes the link of a deleted node before any of its instances' removal reaches it", async (t) => {
    const { master, gridToken } = await masterWithToken(t);
    const [link] = await join(t, master, gridToken, "one");
    await master.core.nodeInstances.setDesired("default", "one", [desiredInstance(1)]);
    await link.next("desired.change");
    const removed = await send(master.url, "/v1/nodes/default/one", { method: "DELETE", headers: master.auth });
    assert.equal(removed.status, 200);
    assert.equal((await link.closed).code, LINK_CLOSE.nodeDeleted);
    const changes = link.messages.filter((message) => message.type === "desired.change");
    assert.equal(changes.length, 1, "no change deleting the instances was sent");
  });

  it("closes a bad message's link naming the problem", async (t) => {
    const { master, gridToken } = await masterWithToken(t);
    const [link] = await join(t, master, gridToken, "one");
    link.send({ type: "instances.actual", complete: true, instances: [{ id: "x", state: "dancing" }] });
    const closed = await link.closed;
    assert.equal(closed.code, LINK_CLOSE.protocolError);
    assert.match(closed.reason, /^instances\.actual: instances\.0\./);
  });

  it("drops a link that stops answering pings", async (t) => {
    const { master, gridToken } = await masterWithToken(t, { pingIntervalMs: 100 });
    const [alive] = await join(t, master, gridToken, "alive");
    const silent = await openRawLink(t, master.url, { gridToken }, { autoPong: false });
    silent.send(helloMessage("silent", { facts: nodeFacts({ node_id: "E2" }) }));
    await silent.next("welcome");
    const started = Date.now();
    assert.equal((await silent.closed).code, 1006, "terminated, not closed");
    assert.ok(Date.now() - started < 1_000);
    assert.equal(alive.socket.readyState, WebSocket.OPEN);
    await waitUntil(async () => !(await connected(master, "silent")));
    assert.equal(await connected(master, "alive"), true);
  });

  it("never logs a grid or node token", async (t) => {
    const { master, logs } = await startWatchedMaster(t, { adminPassword: "a-long-admin-password" });
    const gridToken = (await master.core.grids.get("default")).token;
    const link = await openRawLink(t, master.url, { gridToken });
    link.send(helloMessage("one"));
    const nodeToken = (await link.next("welcome")).node_token as string;
    link.socket.close(1000);
    await link.closed;
    const again = await openRawLink(t, master.url, { grid: "default", name: "one", token: nodeToken });
    again.send(helloMessage("one"));
    await again.next("desired.snapshot");
    const refused = await openRawLink(t, master.url, { grid: "default", name: "one", token: "wrong-secret-value" });
    refused.send(helloMessage("one"));
    await refused.closed;
    await send(master.url, LINK_PATH, { headers: { authorization: `Bearer ${gridToken}` } });
    await master.close();
    assert.match(logs(), /agent connected/);
    for (const secret of [gridToken, nodeToken, "wrong-secret-value"]) assert.ok(!logs().includes(secret));
  });

  it("answers a pull's request for a registry login with its id, for the node's own images only, never logging it", async (t) => {
    const lines: string[] = [];
    const master = await startTestMaster(t, undefined, {
      logLevel: "trace",
      logDestination: { write: (line: string) => void lines.push(line) },
    });
    const [link] = await join(t, master, (await master.core.grids.get("default")).token, "one");
    await link.next("desired.snapshot");
    const image = "registry.example.com/team/app";
    await master.core.nodeInstances.setDesired("default", "one", [desiredInstance(1, { image })]);
    const password = "registry-password-on-the-link";
    for (const url of ["https://registry.example.com/", "https://quay.io/"]) {
      const body = { url, username: "bot", password };
      const created = await sendJson(master.url, "/v1/grids/default/external_registries", "POST", body, master.auth);
      assert.equal(created.status, 201, created.text);
    }
    link.send({ type: "registry.credentials.request", request_id: "a", image: `${image}:latest` });
    // The grid has a login for quay.io, but nothing on this node pulls from it.
    link.send({ type: "registry.credentials.request", request_id: "b", image: "quay.io/coreos/etcd" });
    const answers = await eventually(
      async () => link.messages.filter((message) => message.type === "registry.credentials"),
      (found) => found.length === 2,
    );
    assert.deepEqual(answers, [
      {
        type: "registry.credentials",
        request_id: "a",
        credentials: { username: "bot", password, serveraddress: "registry.example.com" },
      },
      { type: "registry.credentials", request_id: "b", credentials: null },
    ]);
    await master.close();
    assert.match(lines.join(""), /registry login asked for a pull/);
    assert.ok(!lines.join("").includes(password), "the password appeared in the master's log");
  });

  it("closes its links when the master shuts down", async (t) => {
    const { master, gridToken } = await masterWithToken(t);
    const [link] = await join(t, master, gridToken, "one");
    await link.next("desired.snapshot");
    await master.close();
    const { code } = await link.closed;
    assert.ok(code === LINK_CLOSE.goingAway || code === 1005, `close code ${code}`);
  });
});

const usage = {
  memory: { used: 1, cached: 2, buffers: 3, total: 10 },
  load: { "1m": 0.1, "5m": 0.2, "15m": 0.3 },
  filesystem: { name: "/var/lib/docker", used: 5, total: 50 },
  cpu: { usage_pct: 12.5 },
};

async function nodeJson(master: TestMaster, name: string): Promise<Record<string, unknown>> {
  const response = await send(master.url, `/v1/nodes/default/${name}`, { headers: master.auth });
  assert.equal(response.status, 200, response.text);
  return response.json() as Record<string, unknown>;
}

async function connected(master: TestMaster, name: string): Promise<boolean> {
  return (await nodeJson(master, name)).connected as boolean;
}

async function listNodes(master: TestMaster): Promise<{ name: string }[]> {
  const response = await send(master.url, "/v1/grids/default/nodes", { headers: master.auth });
  return (response.json() as { nodes: { name: string }[] }).nodes;
}
