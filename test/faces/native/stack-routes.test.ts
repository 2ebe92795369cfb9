import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEPLOY_KINDS } from "../../../src/core/deploys/deploy-kinds.ts";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { gridCallers } from "../../support/grid-callers.ts";
import { send, sendJson, type TestResponse } from "../../support/http-client.ts";
import { startTestMaster, type TestMaster } from "../../support/test-master.ts";

const nativeError = errorShapeOf("native");

type Json = Record<string, unknown>;

const STACK_FILE = `stack: acme/shop
version: 1.10
description: a web shop
variables:
  db_image:
    type: string
    default: postgres:9.6
services:
  web:
    image: nginx:1.13
    links:
      - db
    ports:
      - "8080:80"
    instances: 2
  db:
    image: \${db_image}
    stateful: true
expose: web
`;

const yamlHeaders = (master: TestMaster, type = "application/yaml") => ({ ...master.auth, "content-type": type });

function fieldsOf(response: TestResponse): Json {
  nativeError(response, 422);
  return (response.json() as { error: Json }).error;
}

const postStack = (
  master: TestMaster,
  body: unknown,
  grid = "default",
  headers: Readonly<Record<string, string>> = master.auth,
) => sendJson(master.url, `/v1/grids/${grid}/stacks`, "POST", body, headers);

const names = (stack: Json) => (stack.services as Json[]).map((service) => service.name);

describe("native stacks", () => {
  it("creates a stack from JSON with its services in link order, reads, lists and replaces it", async (t) => {
    const master = await startTestMaster(t);
    const created = await postStack(master, {
      name: "redis",
      stack: "my/redis",
      version: "0.1.0",
      registry: "file://",
      expose: "redis",
      services: [
        { name: "sentinel", image: "redis:3.0", links: ["redis"], replicas: 3 },
        { name: "redis", image: "redis:3.0", stateful: true, cmd: "--appendonly yes" },
      ],
      volumes: [{ name: "data", external: "redis-data" }],
    });
    assert.equal(created.status, 201, created.text);
    const stack = created.json() as Json;
    assert.equal(stack.id, "default/redis");
    assert.equal(stack.name, "redis");
    assert.equal(stack.stack, "my/redis");
    assert.equal(stack.version, "0.1.0");
    assert.equal(stack.registry, "file://");
    assert.equal(stack.expose, "redis");
    assert.equal(stack.state, "initialized");
    assert.deepEqual(stack.volumes, [{ name: "data", external: "redis-data" }]);
    assert.deepEqual(names(stack), ["redis", "sentinel"]);
    const sentinel = (stack.services as Json[])[1] as Json;
    assert.equal(sentinel.id, "default/redis/sentinel");
    assert.equal(sentinel.stack, "redis");
    assert.equal(sentinel.replicas, 3);
    assert.deepEqual(sentinel.instances, { total: 0, running: 0 });

    // The services are services of the grid too.
    const service = await send(master.url, "/v1/services/default/redis/redis", { headers: master.auth });
    assert.equal(service.status, 200, service.text);
    assert.deepEqual((service.json() as Json).cmd, ["--appendonly", "yes"]);

    const read = await send(master.url, "/v1/stacks/default/redis", { headers: master.auth });
    assert.deepEqual(read.json(), stack);
    const listed = await send(master.url, "/v1/grids/default/stacks", { headers: master.auth });
    assert.deepEqual(listed.json(), { stacks: [stack] });

    // PUT replaces the definition: changed specs are updated, new services created, dropped ones left for the next deploy.
    const replaced = await sendJson(
      master.url,
      "/v1/stacks/default/redis",
      "PUT",
      {
        stack: "my/redis",
        version: "0.1.1",
        services: [
          { name: "redis", image: "redis:3.2", stateful: true },
          { name: "exporter", image: "exporter", links: ["redis"] },
        ],
      },
      master.auth,
    );
    assert.equal(replaced.status, 200, replaced.text);
    const after = replaced.json() as Json;
    assert.equal(after.version, "0.1.1");
    assert.equal(after.created_at, stack.created_at);
    assert.deepEqual(names(after), ["redis", "exporter"]);
    assert.equal(((after.services as Json[])[0] as Json).image, "redis:3.2");
    const left = await send(master.url, "/v1/services/default/redis/sentinel", { headers: master.auth });
    assert.equal(left.status, 200, "a service no longer listed stays until the stack is deployed");
    const all = (await send(master.url, "/v1/grids/default/services", { headers: master.auth })).json() as {
      services: Json[];
    };
    assert.deepEqual(all.services.map((one) => one.id).sort(), [
      "default/redis/exporter",
      "default/redis/redis",
      "default/redis/sentinel",
    ]);

    nativeError(
      await sendJson(
        master.url,
        "/v1/stacks/default/redis",
        "PUT",
        { name: "other", stack: "my/redis", version: "1" },
        master.auth,
      ),
      422,
    );
    nativeError(
      await sendJson(master.url, "/v1/stacks/default/nope", "PUT", { stack: "my/nope", version: "1" }, master.auth),
      404,
    );
  });

  it("creates and replaces a stack from a YAML stack file, ?name= naming it", async (t) => {
    const master = await startTestMaster(t);
    const created = await send(master.url, "/v1/grids/default/stacks", {
      method: "POST",
      headers: yamlHeaders(master),
      body: STACK_FILE,
    });
    assert.equal(created.status, 201, created.text);
    const stack = created.json() as Json;
    assert.equal(stack.id, "default/shop");
    assert.equal(stack.version, "1.10");
    assert.equal(stack.description, "a web shop");
    assert.equal(stack.expose, "web");
    assert.deepEqual(names(stack), ["db", "web"]);
    const [db, web] = stack.services as [Json, Json];
    assert.equal(db.image, "postgres:9.6");
    assert.equal(web.replicas, 2);
    assert.deepEqual(web.links, [{ name: "db", alias: "db" }]);

    const named = await send(master.url, "/v1/grids/default/stacks?name=shop2", {
      method: "POST",
      headers: yamlHeaders(master, "text/yaml; charset=utf-8"),
      body: STACK_FILE,
    });
    assert.equal(named.status, 201, named.text);
    assert.equal((named.json() as Json).id, "default/shop2");
    assert.equal(((named.json() as Json).services as Json[])[0]?.id, "default/shop2/db");

    const replaced = await send(master.url, "/v1/stacks/default/shop", {
      method: "PUT",
      headers: yamlHeaders(master, "application/x-yaml"),
      body: STACK_FILE.replace("nginx:1.13", "nginx:1.14"),
    });
    assert.equal(replaced.status, 200, replaced.text);
    assert.equal(((replaced.json() as Json).services as Json[])[1]?.image, "nginx:1.14");

    nativeError(
      await send(master.url, "/v1/grids/default/stacks", {
        method: "POST",
        headers: yamlHeaders(master),
        body: STACK_FILE,
      }),
      409,
    );
  });

  it("refuses broken stacks with 422s naming the field (and the line), writing nothing", async (t) => {
    const master = await startTestMaster(t);
    const base = { name: "s", stack: "my/s", version: "1.0.0" };
    const cases: [Json, string][] = [
      [{ ...base, services: [{ name: "web", image: "" }] }, "services.web.image"],
      [{ ...base, services: [{ name: "web", image: "x", ports: ["80"] }] }, "services.web.ports.0"],
      [{ ...base, services: [{ name: "web", image: "x", affinity: ["bad"] }] }, "services.web.affinity.0"],
      [{ ...base, services: [{ name: "web", image: "x", colour: 1 }] }, "services.web.colour"],
      [{ ...base, services: [{ name: "web", image: "x", links: ["db"] }] }, "services.web.links[0]"],
      [{ ...base, services: [{ name: "web", image: "x", links: ["other/db"] }] }, "services.web.links.0"],
      [
        {
          ...base,
          services: [
            { name: "a", image: "x", links: ["b"] },
            { name: "b", image: "x", links: ["a"] },
          ],
        },
        "services.a.links",
      ],
      [
        {
          ...base,
          services: [
            { name: "web", image: "x" },
            { name: "web", image: "y" },
          ],
        },
        "services.web.name",
      ],
      [{ ...base, expose: "nope", services: [] }, "expose"],
      [{ ...base, stack: "noslash" }, "stack"],
      [{ ...base, name: "null" }, "name"],
      [{ ...base, extra: true }, "extra"],
      [{ stack: "my/s" }, "version"],
    ];
    for (const [body, field] of cases) {
      const fields = fieldsOf(await postStack(master, body));
      assert.ok(field in fields, `${JSON.stringify(body)} → ${JSON.stringify(fields)}`);
    }
    const cycle = fieldsOf(
      await postStack(master, {
        ...base,
        services: [
          { name: "a", image: "x", links: ["b"] },
          { name: "b", image: "x", links: ["a"] },
        ],
      }),
    );
    assert.match(String(cycle["services.a.links"]), /cycle: a -> b -> a/);

    // One bad service among good ones: neither the stack nor any service is written.
    const mixed = await postStack(master, {
      ...base,
      services: [
        { name: "good", image: "x" },
        { name: "bad", image: "x", ports: ["nope"] },
      ],
    });
    assert.ok("services.bad.ports.0" in fieldsOf(mixed));
    nativeError(await send(master.url, "/v1/stacks/default/s", { headers: master.auth }), 404);
    assert.deepEqual((await send(master.url, "/v1/grids/default/services", { headers: master.auth })).json(), {
      services: [],
    });

    // A broken stack file: the problems with their lines.
    const broken = await send(master.url, "/v1/grids/default/stacks", {
      method: "POST",
      headers: yamlHeaders(master),
      body: "stack: my/s\nversion: 1.0.0\nservices:\n  web:\n    image: x\n    colour: red\n",
    });
    assert.match(String(fieldsOf(broken)["services.web.colour"]), /^line 6: unknown key/);
    const unparsable = await send(master.url, "/v1/grids/default/stacks", {
      method: "POST",
      headers: yamlHeaders(master),
      body: "stack: my/s\nservices: [\n",
    });
    assert.match(JSON.stringify(fieldsOf(unparsable)), /line \d+/);
    const badName = await send(master.url, "/v1/grids/default/stacks?name=no_underscores", {
      method: "POST",
      headers: yamlHeaders(master),
      body: STACK_FILE,
    });
    assert.ok("name" in fieldsOf(badName));
    assert.deepEqual((await send(master.url, "/v1/grids/default/stacks", { headers: master.auth })).json(), {
      stacks: [],
    });
  });

  it("links to a service of another stack that exists", async (t) => {
    const master = await startTestMaster(t);
    const db = await postStack(master, { stack: "my/db", version: "1", services: [{ name: "pg", image: "postgres" }] });
    assert.equal(db.status, 201, db.text);
    const app = await postStack(master, {
      stack: "my/app",
      version: "1",
      services: [{ name: "web", image: "x", links: ["db/pg:database"] }],
    });
    assert.equal(app.status, 201, app.text);
    assert.deepEqual(((app.json() as Json).services as Json[])[0]?.links, [{ name: "db/pg", alias: "database" }]);
  });

  it("submits stack deploys and removals on the stack's target", async (t) => {
    const master = await startTestMaster(t);
    assert.equal((await postStack(master, { stack: "my/web", version: "1", services: [] })).status, 201);
    const deployed = await sendJson(master.url, "/v1/stacks/default/web/deploy", "POST", {}, master.auth);
    assert.equal(deployed.status, 200, deployed.text);
    const deploy = deployed.json() as Json;
    assert.deepEqual(Object.keys(deploy), [
      "id",
      "stack_id",
      "created_at",
      "started_at",
      "finished_at",
      "state",
      "reason",
      "service_deploys",
    ]);
    assert.equal(deploy.stack_id, "default/web");
    assert.equal(deploy.state, "created");
    assert.deepEqual(deploy.service_deploys, []);
    const operation = await master.core.operations.get(Number(deploy.id));
    assert.equal(operation.kind, DEPLOY_KINDS.stackDeploy);
    assert.deepEqual(operation.params, { stack: "default/web" });
    assert.equal(operation.target, "stack/web");
    assert.equal(operation.deployment, "web");
    assert.equal(operation.description, "deploy stack default/web");

    // A stack service's operations share the stack's target; its deploy status includes the stack's deploys.
    await sendJson(
      master.url,
      "/v1/stacks/default/web",
      "PUT",
      { stack: "my/web", version: "2", services: [{ name: "app", image: "x" }] },
      master.auth,
    );
    const scaled = await sendJson(
      master.url,
      "/v1/services/default/web/app/scale",
      "POST",
      { instances: 2 },
      master.auth,
    );
    const scale = await master.core.operations.get(Number((scaled.json() as Json).id));
    assert.equal(scale.target, "stack/web");
    assert.equal(scale.deployment, "web");
    const status = await send(master.url, `/v1/services/default/web/app/deploys/${deploy.id}`, {
      headers: master.auth,
    });
    assert.equal(status.status, 200, status.text);

    const removed = await send(master.url, "/v1/stacks/default/web", { method: "DELETE", headers: master.auth });
    const [removal] = await master.core.operations.list({ includeInternal: true, limit: 1 });
    assert.equal(removal?.kind, DEPLOY_KINDS.stackRemove);
    assert.deepEqual(removal?.params, { stack: "default/web" });
    assert.equal(removal?.target, "stack/web");
    if (master.core.operationKinds.get(DEPLOY_KINDS.stackRemove) === undefined) {
      nativeError(removed, 409);
    } else {
      assert.equal(removed.status, 200, removed.text);
      nativeError(await send(master.url, "/v1/stacks/default/web", { headers: master.auth }), 404);
    }
    nativeError(await sendJson(master.url, "/v1/stacks/default/nope/deploy", "POST", {}, master.auth), 404);
    nativeError(await send(master.url, "/v1/stacks/default/nope", { method: "DELETE", headers: master.auth }), 404);
  });

  it("lets members of the grid manage its stacks and refuses everyone else", async (t) => {
    const master = await startTestMaster(t);
    const callers = await gridCallers(master, "crew");
    const created = await postStack(master, { stack: "my/s", version: "1", services: [] }, "crew", callers.member);
    assert.equal(created.status, 201, created.text);
    for (const [path, method] of [
      ["/v1/grids/crew/stacks", "GET"],
      ["/v1/grids/crew/stacks", "POST"],
      ["/v1/stacks/crew/s", "GET"],
      ["/v1/stacks/crew/s", "PUT"],
      ["/v1/stacks/crew/s", "DELETE"],
      ["/v1/stacks/crew/s/deploy", "POST"],
    ] as const) {
      const withBody = method === "POST" || method === "PUT";
      const request = {
        method,
        body: withBody ? JSON.stringify({ stack: "my/s", version: "1" }) : undefined,
        headers: (withBody ? { "content-type": "application/json" } : {}) as Record<string, string>,
      };
      nativeError(
        await send(master.url, path, { ...request, headers: { ...request.headers, ...callers.outsider } }),
        403,
      );
      nativeError(await send(master.url, path, request), 401);
    }
    nativeError(await send(master.url, "/v1/grids/nogrid/stacks", { headers: master.auth }), 404);
  });
});
