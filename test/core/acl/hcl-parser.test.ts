import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HclParser } from "../../../src/core/acl/hcl-parser.ts";

describe("HCL parser", () => {
  it("parses HCL and JSON into the same document, and gives an error's line and column", async (t) => {
    const parser = new HclParser();
    t.after(() => parser.close());
    const hcl = await parser.parse('key "a/" { policy = "read" }');
    const json = await parser.parse('{"key": {"a/": {"policy": "read"}}}');
    assert.deepEqual(hcl, { ok: true, value: { key: [{ "a/": [{ policy: "read" }] }] } });
    assert.deepEqual(json, hcl);
    assert.deepEqual(await parser.parse('key "a/" {\n  policy = "read"\n  x = [1,\n'), {
      ok: false,
      line: 4,
      column: 1,
      message: "unexpected token while parsing list: EOF",
    });
  });

  it("abandons a parse that overruns, and parses the next one in a fresh worker", async (t) => {
    const parser = new HclParser({ timeoutMs: 1_000 });
    t.after(() => parser.close());
    assert.equal((await parser.parse("a = 1")).ok, true);
    const huge = Array.from({ length: 40_000 }, (_, i) => `key "k${i}/" { policy = "read" }`).join("\n");
    const [slow, next] = await Promise.all([parser.parse(huge), parser.parse('b = "2"')]);
    assert.deepEqual(slow, { ok: false, line: 0, column: 0, message: "parsing took longer than 1000 ms" });
    assert.deepEqual(next, { ok: true, value: { b: "2" } });
  });
});
