import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "../../../src/core/errors/validation-error.ts";
import { type AffinityTarget, parseAffinityRule } from "../../../src/core/scheduler/affinity-rule.ts";

const target: AffinityTarget = {
  name: "node-1",
  labels: new Set(["az=a", "ssd"]),
  services: new Map([
    ["db", 1],
    ["shop/db", 1],
  ]),
  containers: new Set(["shop.db-1"]),
};

const matches = (rule: string) => parseAffinityRule(rule).matches(target);

describe("parseAffinityRule", () => {
  it("matches node, service, container and label with == and !=", () => {
    assert.equal(matches("node==node-1"), true);
    assert.equal(matches("node!=node-1"), false);
    assert.equal(matches("service==db"), true);
    assert.equal(matches("service==shop/db"), true);
    assert.equal(matches("service!=web"), true);
    assert.equal(matches("container==shop.db-1"), true);
    assert.equal(matches("container==shop.db-2"), false);
    assert.equal(matches("label==az=a"), true);
    assert.equal(matches("label==az=b"), false);
    assert.equal(matches("label==ssd"), true);
    assert.equal(matches("label!=ssd"), false);
  });

  it("matches /regex/ values, for labels on the value of the key", () => {
    assert.equal(matches("node==/^node-\\d$/"), true);
    assert.equal(matches("label!=az=/b|c/"), true);
    assert.equal(matches("label==az=/b|c/"), false);
    assert.equal(matches("service==/^d/"), true);
    assert.equal(matches("container!=/db/"), false);
  });

  it("marks ==~ and !=~ as soft and otherwise behaves like == and !=", () => {
    const soft = parseAffinityRule("container==~shop.db-1");
    assert.equal(soft.soft, true);
    assert.equal(soft.matches(target), true);
    assert.equal(parseAffinityRule("label!=~az=a").matches(target), false);
    assert.equal(parseAffinityRule("node==node-1").soft, false);
  });

  it("rejects malformed rules and regular expressions", () => {
    assert.throws(() => parseAffinityRule("host==a"), ValidationError);
    assert.throws(() => parseAffinityRule("node=a"), ValidationError);
    assert.throws(() => parseAffinityRule("node==/(/"), /invalid regular expression/);
  });
});
