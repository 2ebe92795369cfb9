import assert from "node:assert/strict";
import { test } from "node:test";
import { StackFileError } from "../../../src/core/errors/stack-file-error.ts";
import { orderByLinks } from "../../../src/core/stacks/link-order.ts";

/** A service with links to the named services (aliases do not matter to the order). */
const service = (name: string, ...links: string[]) => ({
  name,
  links: links.map((link) => ({ name: link, alias: link })),
});

const names = (services: readonly { name: string }[]) => services.map((entry) => entry.name);

function problemsOf(call: () => unknown): string[] {
  try {
    call();
  } catch (error) {
    assert.ok(error instanceof StackFileError, `threw ${error}`);
    return error.problems.map((problem) => `${problem.path}: ${problem.message}`);
  }
  assert.fail("did not throw");
}

test("each service comes after the services it links to, file order otherwise", () => {
  const ordered = orderByLinks([
    service("web", "api", "cache"),
    service("worker", "queue"),
    service("api", "db"),
    service("db"),
    service("cache"),
    service("queue"),
  ]);
  assert.deepEqual(names(ordered), ["db", "api", "cache", "web", "queue", "worker"]);
});

test("links to other stacks do not order and need not exist here", () => {
  assert.deepEqual(names(orderByLinks([service("web", "shared/db"), service("db")])), ["web", "db"]);
});

test("a link to a missing service names both services", () => {
  assert.deepEqual(
    problemsOf(() => orderByLinks([service("web", "db", "cache"), service("cache")])),
    ['services.web.links[0]: links to service "db", which is not in this stack'],
  );
});

test("a cycle is shown as the path that closes it", () => {
  assert.deepEqual(
    problemsOf(() => orderByLinks([service("lb", "web"), service("web", "api"), service("api", "web")])),
    ["services.web.links: link cycle: web -> api -> web"],
  );
  assert.deepEqual(
    problemsOf(() => orderByLinks([service("self", "self")])),
    ["services.self.links: link cycle: self -> self"],
  );
});
