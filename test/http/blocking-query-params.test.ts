import assert from "node:assert/strict";
import { test } from "node:test";
import { BadRequestError } from "../../src/core/errors/bad-request-error.ts";
import { parseBlockingQueryParams } from "../../src/http/blocking-query-params.ts";

test("absent or empty parameters mean: answer at once, default wait", () => {
  assert.deepEqual(parseBlockingQueryParams({}), { minIndex: 0, waitMs: undefined });
  assert.deepEqual(parseBlockingQueryParams(undefined), { minIndex: 0, waitMs: undefined });
  assert.deepEqual(parseBlockingQueryParams({ index: "", wait: "" }), { minIndex: 0, waitMs: undefined });
});

test("index and wait are read; a repeated parameter keeps its first value", () => {
  assert.deepEqual(parseBlockingQueryParams({ index: "42", wait: "10s" }), { minIndex: 42, waitMs: 10_000 });
  assert.deepEqual(parseBlockingQueryParams({ index: ["7", "8"], wait: ["1m", "x"] }), { minIndex: 7, waitMs: 60_000 });
});

test("an index past 2^53 is clamped (it is ahead of any store); past uint64 it is invalid", () => {
  assert.equal(parseBlockingQueryParams({ index: "18446744073709551615" }).minIndex, Number.MAX_SAFE_INTEGER);
  assert.throws(() => parseBlockingQueryParams({ index: "18446744073709551616" }), BadRequestError);
});

test("bad values are BadRequestErrors naming the parameter", () => {
  for (const index of ["abc", "-1", "1.0", " 1", "0x10"]) {
    assert.throws(
      () => parseBlockingQueryParams({ index }),
      (error: unknown) => error instanceof BadRequestError && /invalid index/.test(error.message),
    );
  }
  for (const wait of ["10", "forever", "-1s"]) {
    assert.throws(
      () => parseBlockingQueryParams({ wait }),
      (error: unknown) => error instanceof BadRequestError && /invalid wait/.test(error.message),
    );
  }
});
