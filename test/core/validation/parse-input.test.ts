import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { ValidationError } from "../../../src/core/errors/validation-error.ts";
import { parseInput } from "../../../src/core/validation/parse-input.ts";

const schema = z.object({ name: z.string(), spec: z.object({ port: z.number().int() }) });

/** The field map of the ValidationError the call throws. */
function fieldsOf(call: () => unknown): Readonly<Record<string, string>> {
  try {
    call();
  } catch (error) {
    assert.ok(error instanceof ValidationError, `threw ${error}`);
    return error.fields;
  }
  assert.fail("did not throw");
}

test("valid input comes back typed", () => {
  assert.deepEqual(parseInput(schema, { name: "web", spec: { port: 80 } }), { name: "web", spec: { port: 80 } });
});

test("invalid input throws a ValidationError with one message per dotted field", () => {
  const fields = fieldsOf(() => parseInput(schema, { name: 1, spec: { port: 1.5 } }));
  assert.deepEqual(Object.keys(fields).sort(), ["name", "spec.port"]);
});

test("a problem with the whole input is reported on 'body'", () => {
  assert.deepEqual(Object.keys(fieldsOf(() => parseInput(schema, "nope"))), ["body"]);
});

test("field names like 'constructor' and 'toString' are reported like any other", () => {
  const input = JSON.parse('{"constructor": 1, "toString": 2}');
  const fields = fieldsOf(() => parseInput(z.record(z.string(), z.string()), input));
  assert.deepEqual(Object.keys(fields).sort(), ["constructor", "toString"]);
});
