import assert from "node:assert/strict";
import { test } from "node:test";
import { advertiseAddress, connectHost, hostPort } from "../../src/master/advertise-address.ts";

test("host:port brackets IPv6", () => {
  assert.equal(hostPort("10.0.0.1", 8500), "10.0.0.1:8500");
  assert.equal(hostPort("::1", 8500), "[::1]:8500");
  assert.equal(hostPort("berth.local", 80), "berth.local:80");
});

test("a wildcard bind is reached over loopback locally and advertised on a real address", () => {
  assert.equal(connectHost("0.0.0.0"), "127.0.0.1");
  assert.equal(connectHost("::"), "127.0.0.1");
  assert.equal(connectHost("10.1.2.3"), "10.1.2.3");
  assert.equal(advertiseAddress("10.1.2.3", 8500), "10.1.2.3:8500");
  assert.match(advertiseAddress("0.0.0.0", 8500), /^\d+\.\d+\.\d+\.\d+:8500$/);
  assert.doesNotMatch(advertiseAddress("0.0.0.0", 8500), /^0\.0\.0\.0/);
});
