import assert from "node:assert/strict";
import { test } from "node:test";
import { goJsonEscape, indentJson } from "../../../src/faces/consul/consul-json.ts";

test("indentJson lays compact JSON out as Go's MarshalIndent with four spaces and a newline", () => {
  const value = { a: [1, { b: "x,y:{z}" }], c: {}, d: [], e: null, f: 'q"uote\\' };
  assert.equal(indentJson(JSON.stringify(value)), `${JSON.stringify(value, null, 4)}\n`);
  assert.equal(indentJson("[]"), "[]\n");
  assert.equal(indentJson("true"), "true\n");
  assert.equal(indentJson('{"n":18446744073709551615}'), '{\n    "n": 18446744073709551615\n}\n');
});

test("goJsonEscape escapes what Go's encoder escapes, and the result is the same JSON", () => {
  const text = JSON.stringify({ "<key>": "a&b\u2028c\u2029" });
  const escaped = goJsonEscape(text);
  assert.equal(escaped, '{"\\u003ckey\\u003e":"a\\u0026b\\u2028c\\u2029"}');
  assert.deepEqual(JSON.parse(escaped), JSON.parse(text));
});
