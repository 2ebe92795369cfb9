import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Acl } from "../../../src/core/acl/acl.ts";
import { parseAclRules } from "../../../src/core/acl/acl-rules-parser.ts";
import { sharedHclParser } from "../../../src/core/acl/hcl-parser.ts";
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
`;

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
  it("answers by the longest matching prefix; write implies read; deny grants nothing", async () => {
    const acl = await aclOf(RULES, false);
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
    assert.equal(deny.keyRead("other"), false);
    assert.equal(deny.keyRead("app/x"), true);
    assert.equal(deny.serviceRead("web"), false);
    assert.equal(deny.eventWrite("x"), false);
    assert.equal(deny.keyWritePrefix("other/"), false);
  });
});
