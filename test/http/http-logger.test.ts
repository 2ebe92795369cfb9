import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger, redactUrl } from "../../src/http/http-logger.ts";

test("credential query parameters are redacted from URLs, others kept", () => {
  assert.equal(redactUrl("/v1/kv/a?token=s3cret&recurse"), "/v1/kv/a?token=[redacted]&recurse");
  assert.equal(redactUrl("/cb?code=abc&state=xyz"), "/cb?code=[redacted]&state=xyz");
  assert.equal(redactUrl("/x?Access_Token=1&%74oken=2"), "/x?Access_Token=[redacted]&%74oken=[redacted]");
  assert.equal(redactUrl("/plain"), "/plain");
  assert.equal(redactUrl("/v1/acl/info/5e1f-secret?index=3"), "/v1/acl/info/[redacted]?index=3");
  assert.equal(redactUrl("/v1/acl/destroy/5e1f-secret"), "/v1/acl/destroy/[redacted]");
  assert.equal(redactUrl("/v1/acl/list?token=t"), "/v1/acl/list?token=[redacted]");
  assert.equal(
    redactUrl("/oauth2/authenticate?redirect_uri=x&invite_code=abc&code_verifier=v"),
    "/oauth2/authenticate?redirect_uri=x&invite_code=[redacted]&code_verifier=[redacted]",
  );
});

test("log lines never carry authorization headers, cookies, tokens or token query parameters", () => {
  const lines: string[] = [];
  const logger = createLogger("info", { write: (line: string) => void lines.push(line) });
  logger.info(
    {
      req: { method: "GET", url: "/v1/kv/a?token=s3cret", ip: "127.0.0.1" },
      headers: { authorization: "Bearer abc.def", cookie: "session=1", "x-consul-token": "tok", accept: "*/*" },
    },
    "request",
  );
  const text = lines.join("");
  for (const secret of ["s3cret", "abc.def", "session=1", '"tok"'])
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  const line = JSON.parse(lines[0]!);
  assert.equal(line.req.url, "/v1/kv/a?token=[redacted]");
  assert.equal(line.headers.accept, "*/*");
  assert.equal(line.headers.authorization, "[redacted]");
});
