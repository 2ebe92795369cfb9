import assert from "node:assert/strict";
import { test } from "node:test";
import { UnauthorizedError } from "../../src/core/errors/unauthorized-error.ts";
import { parseAuthorization } from "../../src/http/request-credentials.ts";

const basic = (text: string) => `Basic ${Buffer.from(text).toString("base64")}`;

test("Bearer in any case, and a bare token as Portainer takes it", () => {
  for (const header of ["Bearer abc.def", "bearer abc.def", "BEARER   abc.def", "abc.def", "  Bearer abc.def  "]) {
    assert.deepEqual(parseAuthorization(header), { kind: "bearer", token: "abc.def" }, header);
  }
});

test("Basic: user and password split at the first colon; the password may hold colons", () => {
  assert.deepEqual(parseAuthorization(basic("ann:pa:ss")), { kind: "basic", username: "ann", password: "pa:ss" });
  assert.deepEqual(parseAuthorization(`basic ${Buffer.from("ann:").toString("base64")}`), {
    kind: "basic",
    username: "ann",
    password: "",
  });
});

test("malformed headers are UnauthorizedErrors, not crashes", () => {
  for (const header of [
    "Bearer a b",
    "Digest username=x",
    "Basic !!!notbase64",
    basic("no-colon"),
    basic(":no-user"),
  ]) {
    assert.throws(() => parseAuthorization(header), UnauthorizedError, header);
  }
});
