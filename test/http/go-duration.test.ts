import assert from "node:assert/strict";
import { test } from "node:test";
import { parseGoDuration } from "../../src/http/go-duration.ts";

test("parses what Go's time.ParseDuration accepts, to milliseconds", () => {
  const cases: [string, number][] = [
    ["0", 0],
    ["10s", 10_000],
    ["5m", 300_000],
    ["120000ms", 120_000],
    ["9.87s", 9_870],
    ["1h30m", 5_400_000],
    ["1h30m15.5s", 5_415_500],
    ["500us", 0.5],
    ["500\u00b5s", 0.5],
    ["500\u03bcs", 0.5],
    ["1500000ns", 1.5],
    [".5s", 500],
    ["1.s", 1_000],
    ["+3s", 3_000],
    ["-3s", -3_000],
    ["0s", 0],
    ["2h0m0s", 7_200_000],
  ];
  for (const [text, ms] of cases) assert.equal(parseGoDuration(text), ms, text);
});

test("rejects what Go rejects", () => {
  for (const text of [
    "",
    "10",
    "5x",
    "s",
    ".s",
    "1..5s",
    "1h30",
    "-",
    "+",
    " 5s",
    "5s ",
    "5 s",
    "1e3s",
    "5S",
    "5sec",
    "\u00b5s",
    "9999999999h",
  ]) {
    assert.equal(parseGoDuration(text), undefined, JSON.stringify(text));
  }
});
