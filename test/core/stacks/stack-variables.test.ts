import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveVariable, type VariableSpec, variablesSpec } from "../../../src/core/stacks/stack-variables.ts";

const spec = (variable: Record<string, unknown>) => variablesSpec.parse({ v: variable }).v as VariableSpec;

test("a fixed value wins, then given values, the environment, a random string, the default", () => {
  const variable = spec({ type: "string", default: "d", from: { env: "V" } });
  assert.equal(resolveVariable("v", variable, { values: { v: "given" }, env: { V: "env" } }), "given");
  assert.equal(resolveVariable("v", variable, { env: { V: "env" } }), "env");
  assert.equal(resolveVariable("v", variable, {}), "d");
  assert.equal(resolveVariable("v", spec({ value: "fixed" }), { values: { v: "given" } }), "fixed");
  assert.match(String(resolveVariable("v", spec({ from: { random_string: 8 } }), {})), /^[A-Za-z0-9]{8}$/);
  assert.equal(resolveVariable("v", spec({}), {}), undefined);
});

test("values are converted to the variable's type", () => {
  assert.equal(resolveVariable("v", spec({ type: "integer" }), { values: { v: "42" } }), 42);
  assert.equal(resolveVariable("v", spec({ type: "boolean" }), { values: { v: "yes" } }), true);
  assert.equal(resolveVariable("v", spec({ type: "boolean", default: false }), {}), false);
  assert.deepEqual(resolveVariable("v", spec({ type: "integer" }), { values: { v: "4.5" } }), {
    error: '"4.5" is not an integer',
  });
  assert.deepEqual(resolveVariable("v", spec({ type: "enum", options: ["a", "b"] }), { values: { v: "c" } }), {
    error: '"c" is not one of a, b',
  });
});

test("an enum needs options, and unknown keys are refused", () => {
  const result = variablesSpec.safeParse({ v: { type: "enum" }, w: { defualt: 1 } });
  assert.deepEqual(
    result.error?.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`),
    ["v.options: an enum needs a list of options", 'w: Unrecognized key: "defualt"'],
  );
});
