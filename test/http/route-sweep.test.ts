import assert from "node:assert/strict";
import { test } from "node:test";
import type { RouteEntry } from "../../src/http/route-table.ts";
import { errorShapeOf } from "../support/face-error-shapes.ts";
import { send, type TestResponse } from "../support/http-client.ts";
import { startTestMaster } from "../support/test-master.ts";

/**
 * The routes anyone may call without credentials. Each is here for a reason: probes; the
 * Director's /info (how to authenticate); creating the first admin (guarded by the setup code);
 * logging in; the OAuth2 flow's token, authenticate and callback endpoints; accepting an invite
 * (the invite code is the credential, throttled like a login); and what Consul itself serves
 * without a token: the status endpoints, the datacenter list and the legacy /v1/acl/info/:id (the id
 * is the secret).
 */
const ALLOW_LIST = [
  "GET /healthz",
  "GET /readyz",
  "GET /info",
  "POST /api/users/admin/init",
  "POST /api/auth",
  "POST /oauth2/token",
  "GET /oauth2/authenticate",
  "GET /cb",
  "POST /v1/user/invite",
  "GET /v1/status/leader",
  "GET /v1/status/peers",
  "GET /v1/catalog/datacenters",
  "GET /v1/acl/info/:id",
];

const CONSUL_MASTER_TOKEN = "route-sweep-master-token";
/** Every path parameter and wildcard of the sweep gets this value; the Consul records below carry it too. */
const DUMMY = "x";

/** Fastify answers HEAD for every GET route, with the same config. */
const withHeads = (routes: readonly string[]) =>
  routes.flatMap((route) => (route.startsWith("GET ") ? [route, `HEAD ${route.slice(4)}`] : [route])).sort();

const concretePath = (url: string) => url.replace(/:\w+(\([^)]*\))?/g, DUMMY).replace(/\*$/, DUMMY);

/** A Consul read that ACLs filtered down to nothing, as Consul answers anonymous list reads under default deny. */
const revealsNothing = (response: TestResponse) => ["", "[]", "{}", "null"].includes(response.text.trim());

/**
 * Whether an anonymous answer is a refusal. Berth's own faces authenticate before anything else,
 * so only 401/403 will do. Consul keeps its own order: it decodes and validates a request (400)
 * and looks up what it names (404; a KV read it may not see is a bare 404) before checking ACLs,
 * and filters list reads rather than refusing them. The records seeded under the dummy name make
 * a read or write that skipped its ACL check show up as data or a 200.
 */
function refused(route: RouteEntry, response: TestResponse): boolean {
  if (response.status === 401 || response.status === 403) return true;
  if (route.face !== "consul") return false;
  if (response.status === 400 || response.status === 404) return true;
  return response.status === 200 && route.method === "GET" && revealsNothing(response);
}

test("the public routes are exactly the allow-list", async (t) => {
  const master = await startTestMaster(t);
  const publicRoutes = master.host
    .routes()
    .filter((route) => route.public)
    .map((route) => `${route.method} ${route.url}`);
  assert.deepEqual([...publicRoutes].sort(), withHeads(ALLOW_LIST));
});

test("every other route refuses an anonymous request, in its face's shape, with Consul ACLs on and default deny", async (t) => {
  const master = await startTestMaster(t, undefined, { consulAclMasterToken: CONSUL_MASTER_TOKEN });
  const asManagement = { "x-consul-token": CONSUL_MASTER_TOKEN };
  const served = new Set(master.host.routes().map((route) => `${route.method} ${concretePath(route.url)}`));
  for (const [path, body] of [
    [`/v1/kv/${DUMMY}`, "seeded"],
    [`/v1/agent/service/register`, JSON.stringify({ ID: DUMMY, Name: DUMMY })],
    [`/v1/agent/check/register`, JSON.stringify({ ID: DUMMY, Name: DUMMY, TTL: "1h" })],
    [`/v1/catalog/register`, JSON.stringify({ Node: DUMMY, Address: "10.0.0.9", Service: { Service: DUMMY } })],
    // A session on the dummy node, for the session list and node reads to reveal if unguarded.
    [`/v1/session/create`, JSON.stringify({ Node: DUMMY, Checks: [] })],
  ] as const) {
    if (!served.has(`PUT ${path}`)) continue;
    const seeded = await send(master.url, path, { method: "PUT", headers: asManagement, body });
    assert.equal(seeded.status, 200, `seeding ${path}: ${seeded.text}`);
  }

  // Consul's HEAD answers have no body to judge; their GETs are swept.
  const routes = master.host
    .routes()
    .filter((route) => !route.public && !(route.face === "consul" && route.method === "HEAD"));
  assert.ok(routes.length >= 10, "the sweep found too few routes to mean anything");
  const failures: string[] = [];
  for (const route of routes) {
    const path = concretePath(route.url);
    const sentBody = !["GET", "HEAD", "DELETE", "OPTIONS"].includes(route.method);
    const response = await send(master.url, path, {
      method: route.method,
      ...(sentBody ? { headers: { "content-type": "application/json" }, body: "{}" } : {}),
    });
    const label = `${route.face} ${route.method} ${route.url}: ${response.status} ${response.text.slice(0, 100)}`;
    if (!refused(route, response)) failures.push(label);
    else if (route.method !== "HEAD" && (response.status === 401 || response.status === 403)) {
      try {
        errorShapeOf(route.face)(response, response.status);
      } catch (error) {
        failures.push(`${label}: ${(error as Error).message}`);
      }
    }
  }
  assert.deepEqual(failures, [], `routes that let an anonymous caller through:\n${failures.join("\n")}`);
});
