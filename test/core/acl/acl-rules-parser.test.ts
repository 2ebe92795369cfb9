import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_RULES_LENGTH, parseAclRules } from "../../../src/core/acl/acl-rules-parser.ts";
import { sharedHclParser } from "../../../src/core/acl/hcl-parser.ts";
import { BadRequestError } from "../../../src/core/errors/bad-request-error.ts";

const parse = (text: string) => parseAclRules(text, sharedHclParser);

/** Rejects with a 400 whose message matches. */
async function rejects(text: string, message: RegExp): Promise<void> {
  await assert.rejects(parse(text), (error: unknown) => {
    assert.ok(error instanceof BadRequestError, `expected a BadRequestError, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
}

describe("ACL rules parser", () => {
  it("reads HCL rules of every type, each prefix to its policy", async () => {
    const rules = await parse(`
      # comments are fine
      key "" { policy = "read" }
      key "foo/" { policy = "write" }
      key "foo/private/" {
        policy = "deny"
      }
      service "web" { policy = "write" }
      event "deploy" { policy = "deny" }
      node "" { policy = "read" }
      node "web-" { policy = "write" }
      session "" { policy = "write" }
      session "db" { policy = "deny" }
      agent "master-" { policy = "read" }
    `);
    assert.equal(rules.key.longest("bar"), "read");
    assert.equal(rules.key.longest("foo/x"), "write");
    assert.equal(rules.key.longest("foo/private/x"), "deny");
    assert.equal(rules.service.longest("web-2"), "write");
    assert.equal(rules.service.longest("db"), undefined);
    assert.equal(rules.event.longest("deploy"), "deny");
    assert.equal(rules.node.longest("db-1"), "read");
    assert.equal(rules.node.longest("web-1"), "write");
    assert.equal(rules.session.longest("web-1"), "write");
    assert.equal(rules.session.longest("db-1"), "deny");
    assert.equal(rules.agent.longest("master-a"), "read");
    assert.equal(rules.agent.longest("other"), undefined);
  });

  it("reads the same rules as JSON, as an object per type", async () => {
    const rules = await parse(
      JSON.stringify({
        key: { "": { policy: "read" }, "foo/": { policy: "write" } },
        service: { "": { policy: "read" } },
        event: { "": { policy: "write" } },
        node: { "": { policy: "read" }, "web-": { policy: "write" } },
        session: { "": { policy: "write" }, db: { policy: "deny" } },
        agent: { "master-": { policy: "read" } },
      }),
    );
    assert.equal(rules.key.longest("foo/bar"), "write");
    assert.equal(rules.key.longest("zip"), "read");
    assert.equal(rules.service.longest("anything"), "read");
    assert.equal(rules.event.longest("anything"), "write");
    assert.equal(rules.node.longest("web-1"), "write");
    assert.equal(rules.node.longest("db-1"), "read");
    assert.equal(rules.session.longest("db-1"), "deny");
    assert.equal(rules.session.longest("web-1"), "write");
    assert.equal(rules.agent.longest("master-a"), "read");
  });

  it("takes the last policy when a prefix is given twice", async () => {
    const rules = await parse('key "a" { policy = "read" }\nkey "a" { policy = "write" }');
    assert.equal(rules.key.longest("a"), "write");
  });

  it("reads blank rules as no rules", async () => {
    for (const text of ["", "  \n", "# only a comment"]) {
      const rules = await parse(text);
      assert.equal(rules.key.longest("x"), undefined);
      assert.equal(rules.session.longest("x"), undefined);
    }
  });

  it("names the line and column of an HCL syntax error", async () => {
    await rejects(
      'key "" { policy = "read" }\n\nkey "foo/" {\n  policy = "write"\n',
      /^ACL rule compilation failed: line 5, column \d+: object expected closing RBRACE got: EOF$/,
    );
    await rejects('key "a" {\n  policy = read\n}', /^ACL rule compilation failed: line 2, column 12: /);
  });

  it("refuses malformed JSON that HCL would forgive", async () => {
    await rejects('{"key": {"foo/": {"policy": "write"}}', /^ACL rule compilation failed: invalid JSON: .*line 1/);
  });

  it("names an unknown rule type, policy or attribute", async () => {
    // Legacy kinds for endpoints Berth does not serve, in the forms Consul takes them.
    const allowed = "rules may be key, service, event, node, session or agent";
    await rejects('operator = "read"', new RegExp(`unknown rule type "operator": ${allowed}$`));
    await rejects('query "" { policy = "read" }', new RegExp(`unknown rule type "query": ${allowed}$`));
    await rejects('keyring = "write"', new RegExp(`unknown rule type "keyring": ${allowed}$`));
    await rejects('{"operator": "read"}', /unknown rule type "operator"/);
    await rejects('node "" { policy = "read" }\nnodes "" { policy = "read" }', /unknown rule type "nodes"/);
    await rejects(
      'key "foo/" { policy = "admin" }',
      /key "foo\/": invalid policy "admin", must be read, write or deny/,
    );
    await rejects('{"service": {"web": {"policy": 3}}}', /service "web": invalid policy 3/);
    await rejects('key "foo/" { polcy = "read" }', /key "foo\/": unknown attribute "polcy"/);
    await rejects('key "foo/" { }', /key "foo\/" has no policy/);
    await rejects('key = "read"', /key rules must be blocks like key "prefix" \{ policy = "read" \}/);
    await rejects('session = "write"', /session rules must be blocks like session "prefix" \{ policy = "read" \}/);
    await rejects('node "web-" { policy = "list" }', /node "web-": invalid policy "list"/);
    await rejects('key { policy = "read" }', /key rules must be blocks/);
  });

  it("refuses rules longer than the limit before parsing them", async () => {
    await rejects(`# ${"x".repeat(MAX_RULES_LENGTH)}`, /longer than 65536 characters/);
  });
});
