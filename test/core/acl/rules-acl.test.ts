import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Acl } from "../../../src/core/acl/acl.ts";
import { parseAclRules } from "../../../src/core/acl/acl-rules-parser.ts";
import { sharedHclParser } from "../../../src/core/acl/hcl-parser.ts";
import { MANAGE_ALL_ACL } from "../../../src/core/acl/manage-all-acl.ts";
import { RulesAcl } from "../../../src/core/acl/rules-acl.ts";

const RULES = `
key "" { policy = "read" }
key "foo/" { policy = "write" }
key "foo/private/" { policy = "deny" }
service "" { policy = "read" }
service "web" { policy = "write" }
service "secret" { policy = "deny" }
event "" { policy = "read" }
event "deploy" { policy = "write" }
event "audit" { policy = "deny" }
node "" { policy = "read" }
node "web-" { policy = "write" }
node "web-private" { policy = "deny" }
session "" { policy = "read" }
session "app-" { policy = "write" }
session "app-db" { policy = "deny" }
agent "" { policy = "read" }
agent "master-1" { policy = "write" }
`;

/** The same rules as JSON: both forms must answer alike. */
const JSON_RULES = JSON.stringify({
  key: { "": { policy: "read" }, "foo/": { policy: "write" }, "foo/private/": { policy: "deny" } },
  service: { "": { policy: "read" }, web: { policy: "write" }, secret: { policy: "deny" } },
  event: { "": { policy: "read" }, deploy: { policy: "write" }, audit: { policy: "deny" } },
  node: { "": { policy: "read" }, "web-": { policy: "write" }, "web-private": { policy: "deny" } },
  session: { "": { policy: "read" }, "app-": { policy: "write" }, "app-db": { policy: "deny" } },
  agent: { "": { policy: "read" }, "master-1": { policy: "write" } },
});

async function aclOf(rules: string, defaultAllow: boolean): Promise<Acl> {
  return new RulesAcl(await parseAclRules(rules, sharedHclParser), defaultAllow);
}

function expectAnswers(
  kind: string,
  read: (name: string) => boolean,
  write: (name: string) => boolean,
  cases: readonly (readonly [string, boolean, boolean])[],
): void {
  for (const [name, mayRead, mayWrite] of cases) {
    assert.equal(read(name), mayRead, `${kind} read ${JSON.stringify(name)}`);
    assert.equal(write(name), mayWrite, `${kind} write ${JSON.stringify(name)}`);
  }
}

describe("rules ACL", () => {
  for (const [form, rules] of [
    ["HCL", RULES],
    ["JSON", JSON_RULES],
  ] as const) {
    it(`answers by the longest matching prefix; write implies read; deny grants nothing (${form})`, async () => {
      const acl = await aclOf(rules, false);
      assert.equal(acl.management, false);
      // [name, may read, may write]
      expectAnswers("key", acl.keyRead.bind(acl), acl.keyWrite.bind(acl), [
        ["bar", true, false],
        ["", true, false],
        ["foo", true, false],
        ["foo/", true, true],
        ["foo/bar", true, true],
        ["foo/bar/baz", true, true],
        ["foo/private", true, true],
        ["foo/private/", false, false],
        ["foo/private/key", false, false],
        ["foo/privateer", true, true],
      ]);
      expectAnswers("service", acl.serviceRead.bind(acl), acl.serviceWrite.bind(acl), [
        ["db", true, false],
        ["web", true, true],
        ["web-admin", true, true],
        ["secret", false, false],
        ["secrets", false, false],
      ]);
      expectAnswers("event", acl.eventRead.bind(acl), acl.eventWrite.bind(acl), [
        ["restart", true, false],
        ["deploy", true, true],
        ["deploy-web", true, true],
        ["audit", false, false],
      ]);
      expectAnswers("node", acl.nodeRead.bind(acl), acl.nodeWrite.bind(acl), [
        ["db-1", true, false],
        ["", true, false],
        ["web", true, false],
        ["web-", true, true],
        ["web-1", true, true],
        ["web-private", false, false],
        ["web-private-2", false, false],
      ]);
      expectAnswers("session", acl.sessionRead.bind(acl), acl.sessionWrite.bind(acl), [
        ["db-1", true, false],
        ["app-1", true, true],
        ["app-db", false, false],
        ["app-dbx", false, false],
        ["app-d", true, true],
      ]);
      expectAnswers("agent", acl.agentRead.bind(acl), acl.agentWrite.bind(acl), [
        ["master-2", true, false],
        ["master-1", true, true],
        ["master-10", true, true],
      ]);
    });
  }

  it("keeps each rule type to its own names: a node rule grants nothing on sessions, services or agents", async () => {
    const acl = await aclOf('node "" { policy = "write" }', false);
    assert.equal(acl.nodeWrite("web-1"), true);
    assert.equal(acl.sessionRead("web-1"), false);
    assert.equal(acl.serviceRead("web"), false);
    assert.equal(acl.agentRead("web-1"), false);
    const sessions = await aclOf('session "web-" { policy = "write" }', false);
    assert.equal(sessions.sessionWrite("web-1"), true);
    assert.equal(sessions.nodeRead("web-1"), false);
  });

  it("writes a whole prefix only when no rule under it withholds write", async () => {
    const acl = await aclOf(RULES, false);
    assert.equal(acl.keyWritePrefix("foo/bar/"), true);
    // foo/private/ is denied beneath foo/, so a recursive delete of foo/ must fail.
    assert.equal(acl.keyWritePrefix("foo/"), false);
    assert.equal(acl.keyWritePrefix("foo/private/"), false);
    assert.equal(acl.keyWritePrefix(""), false);
    const readBelow = await aclOf('key "a/" { policy = "write" }\nkey "a/b/" { policy = "read" }', true);
    assert.equal(readBelow.keyWritePrefix("a/"), false);
    assert.equal(readBelow.keyWritePrefix("a/c/"), true);
  });

  it("falls back to the default policy where no rule matches", async () => {
    const rules = 'key "app/" { policy = "read" }';
    const allow = await aclOf(rules, true);
    const deny = await aclOf(rules, false);
    assert.equal(allow.keyWrite("other"), true);
    assert.equal(allow.keyWrite("app/x"), false);
    assert.equal(allow.serviceWrite("web"), true);
    assert.equal(allow.eventRead("x"), true);
    assert.equal(allow.keyWritePrefix("other/"), true);
    assert.equal(allow.nodeWrite("n1"), true);
    assert.equal(allow.sessionWrite("n1"), true);
    assert.equal(allow.agentWrite("n1"), true);
    assert.equal(deny.keyRead("other"), false);
    assert.equal(deny.keyRead("app/x"), true);
    assert.equal(deny.serviceRead("web"), false);
    assert.equal(deny.eventWrite("x"), false);
    assert.equal(deny.keyWritePrefix("other/"), false);
    assert.equal(deny.nodeRead("n1"), false);
    assert.equal(deny.sessionRead("n1"), false);
    assert.equal(deny.agentRead("n1"), false);
  });

  it("lets a management token do everything, on every kind of name", () => {
    for (const check of [
      MANAGE_ALL_ACL.nodeWrite,
      MANAGE_ALL_ACL.nodeRead,
      MANAGE_ALL_ACL.sessionWrite,
      MANAGE_ALL_ACL.sessionRead,
      MANAGE_ALL_ACL.agentWrite,
      MANAGE_ALL_ACL.agentRead,
    ]) {
      assert.equal(check("anything"), true);
    }
    assert.equal(MANAGE_ALL_ACL.management, true);
  });
});
