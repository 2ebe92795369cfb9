import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidationError } from "../../../src/core/errors/validation-error.ts";
import { gridChangesSchema, isCidr, newGridSchema } from "../../../src/core/grids/grid-record.ts";
import { parseInput } from "../../../src/core/validation/parse-input.ts";

const fieldsOf = (run: () => unknown): Readonly<Record<string, string>> => {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return { ...error.fields };
    throw error;
  }
  assert.fail("no validation error");
};

describe("grid input", () => {
  it("takes DNS-label names of 1 to 63 characters", () => {
    for (const name of ["a", "my-grid", "grid-1", "0", "a".repeat(63)]) {
      assert.equal(parseInput(newGridSchema, { name }).name, name);
    }
    for (const name of ["", "-a", "a-", "My-Grid", "a_b", "a.b", "a/b", "a".repeat(64), " a", 7, null]) {
      assert.ok(fieldsOf(() => parseInput(newGridSchema, { name })).name, String(name));
    }
    assert.ok(fieldsOf(() => parseInput(newGridSchema, {})).name);
  });

  it("defaults initial_size to 1 and takes only positive integers", () => {
    assert.equal(parseInput(newGridSchema, { name: "a" }).initial_size, 1);
    assert.equal(parseInput(newGridSchema, { name: "a", initial_size: 3 }).initial_size, 3);
    for (const size of [0, -1, 1.5, "3", null]) {
      assert.ok(fieldsOf(() => parseInput(newGridSchema, { name: "a", initial_size: size })).initial_size);
    }
  });

  it("takes statsd ports as numbers or digit strings, and servers as hosts or IPs", () => {
    for (const port of [8125, "8121"]) {
      const parsed = parseInput(gridChangesSchema, { stats: { statsd: { server: "10.10.10.2", port } } });
      assert.deepEqual(parsed.stats?.statsd, { server: "10.10.10.2", port: Number(port) });
    }
    assert.equal(
      parseInput(gridChangesSchema, { stats: { statsd: { server: "statsd.example.com", port: 1 } } }).stats?.statsd
        ?.server,
      "statsd.example.com",
    );
    assert.equal(parseInput(gridChangesSchema, { stats: { statsd: null } }).stats?.statsd, null);
    assert.deepEqual(
      fieldsOf(() => parseInput(gridChangesSchema, { stats: { statsd: { server: "x", port: 0 } } })),
      {
        "stats.statsd.port": "must be 1 to 65535",
      },
    );
    for (const port of ["http", 70000, 1.5, "", null]) {
      assert.ok(
        fieldsOf(() => parseInput(gridChangesSchema, { stats: { statsd: { server: "x", port } } }))[
          "stats.statsd.port"
        ],
        String(port),
      );
    }
    for (const server of ["", "has space", "a/b", 5]) {
      assert.ok(
        fieldsOf(() => parseInput(gridChangesSchema, { stats: { statsd: { server, port: 1 } } }))[
          "stats.statsd.server"
        ],
        String(server),
      );
    }
    assert.ok(fieldsOf(() => parseInput(gridChangesSchema, { stats: "statsd" })).stats);
  });

  it("takes trusted subnets in CIDR notation and names the bad entry", () => {
    assert.deepEqual(
      parseInput(gridChangesSchema, { trusted_subnets: ["10.240.0.0/16", "fd00::/8"] }).trusted_subnets,
      ["10.240.0.0/16", "fd00::/8"],
    );
    assert.deepEqual(
      Object.keys(fieldsOf(() => parseInput(gridChangesSchema, { trusted_subnets: ["10.0.0.0/8", "x"] }))),
      ["trusted_subnets.1"],
    );
    assert.ok(fieldsOf(() => parseInput(gridChangesSchema, { trusted_subnets: "10.0.0.0/8" })).trusted_subnets);
    assert.ok(fieldsOf(() => parseInput(gridChangesSchema, [])).body);
  });

  it("knows a CIDR when it sees one", () => {
    for (const good of ["0.0.0.0/0", "10.0.0.0/8", "192.168.1.1/32", "::/0", "2001:db8::/32", "fe80::1/128"]) {
      assert.equal(isCidr(good), true, good);
    }
    for (const bad of ["10.0.0.0", "10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/", "/8", "a/8", "10.0.0.0/8/8", ""]) {
      assert.equal(isCidr(bad), false, bad);
    }
  });
});
