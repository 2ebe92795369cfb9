import assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { ConfigError } from "../../src/config/config-error.ts";
import { resolveMasterSettings } from "../../src/config/master-settings.ts";

const defaults = {
  host: "0.0.0.0",
  port: "8500",
  logLevel: "info",
  jwtTtl: "8h",
  consulAcl: "enabled",
  consulAclDefaultPolicy: "deny",
  consulScriptChecks: "disabled",
  rescheduleGraceHa: "2m",
  rescheduleGraceRandom: "30s",
  operationsKept: "2000",
};

test("defaults apply when neither flag nor environment says otherwise", () => {
  assert.deepEqual(resolveMasterSettings({ dataDir: "data" }, {}, defaults), {
    host: "0.0.0.0",
    port: 8500,
    dataDir: resolve("data"),
    logLevel: "info",
    jwtTtl: 8 * 3600,
    consulAcl: true,
    consulAclDefaultPolicy: "deny",
    consulScriptChecks: false,
    rescheduleGraceHa: 120,
    rescheduleGraceRandom: 30,
    operationsKept: 2000,
  });
});

test("environment variables override defaults; flags override both; empty variables are unset", () => {
  const env = { BERTH_HOST: "127.0.0.1", BERTH_PORT: "9000", BERTH_DATA_DIR: "/srv/berth", BERTH_LOG_LEVEL: "debug" };
  assert.deepEqual(resolveMasterSettings({}, env, defaults), {
    host: "127.0.0.1",
    port: 9000,
    dataDir: "/srv/berth",
    logLevel: "debug",
    jwtTtl: 8 * 3600,
    consulAcl: true,
    consulAclDefaultPolicy: "deny",
    consulScriptChecks: false,
    rescheduleGraceHa: 120,
    rescheduleGraceRandom: 30,
    operationsKept: 2000,
  });
  assert.deepEqual(resolveMasterSettings({ port: "0", logLevel: "warn", dataDir: "/d", host: "::1" }, env, defaults), {
    host: "::1",
    port: 0,
    dataDir: "/d",
    logLevel: "warn",
    jwtTtl: 8 * 3600,
    consulAcl: true,
    consulAclDefaultPolicy: "deny",
    consulScriptChecks: false,
    rescheduleGraceHa: 120,
    rescheduleGraceRandom: 30,
    operationsKept: 2000,
  });
  assert.equal(resolveMasterSettings({ dataDir: "/d" }, { BERTH_PORT: "" }, defaults).port, 8500);
});

test("bad values are ConfigErrors naming where they came from", () => {
  const cases: [Record<string, string>, Record<string, string>, RegExp][] = [
    [{ port: "abc" }, {}, /invalid --port "abc": must be an integer from 0 to 65535/],
    [{ port: "70000" }, {}, /--port "70000"/],
    [{ port: "-1" }, {}, /--port/],
    [{}, { BERTH_PORT: "80a" }, /invalid BERTH_PORT "80a"/],
    [{ logLevel: "loud" }, {}, /invalid --log-level "loud"/],
    [{}, { BERTH_LOG_LEVEL: "verbose" }, /BERTH_LOG_LEVEL/],
    [{ host: " " }, {}, /--host/],
    [{ dataDir: "" }, {}, /--data-dir/],
    [{ jwtTtl: "soon" }, {}, /invalid --jwt-ttl "soon": must be a duration from 1s to 720h/],
    [{ jwtTtl: "0" }, {}, /--jwt-ttl/],
    [{ jwtTtl: "-1h" }, {}, /--jwt-ttl/],
    [{ jwtTtl: "500ms" }, {}, /--jwt-ttl/],
    [{}, { BERTH_JWT_TTL: "31d" }, /invalid BERTH_JWT_TTL/],
    [{}, { BERTH_JWT_TTL: "721h" }, /invalid BERTH_JWT_TTL/],
    [{ consulAcl: "on" }, {}, /invalid --consul-acl "on": must be enabled or disabled/],
    [
      {},
      { BERTH_CONSUL_ACL_DEFAULT_POLICY: "maybe" },
      /invalid BERTH_CONSUL_ACL_DEFAULT_POLICY "maybe": must be allow or deny/,
    ],
  ];
  for (const [flags, env, message] of cases) {
    assert.throws(
      () => resolveMasterSettings({ dataDir: "/d", ...flags }, env, defaults),
      (error: unknown) => {
        return error instanceof ConfigError && message.test(error.message);
      },
    );
  }
});

test("the JWT lifetime is a Go duration or a number of seconds", () => {
  const ttl = (jwtTtl: string) => resolveMasterSettings({ dataDir: "/d", jwtTtl }, {}, defaults).jwtTtl;
  assert.equal(ttl("90m"), 5400);
  assert.equal(ttl("1h30m"), 5400);
  assert.equal(ttl("3600"), 3600);
  assert.equal(ttl("720h"), 720 * 3600);
  assert.equal(resolveMasterSettings({ dataDir: "/d" }, { BERTH_JWT_TTL: "15m" }, defaults).jwtTtl, 900);
});

test("Consul ACLs can be disabled and their default policy opened, by flag or environment", () => {
  const acl = (flags: Record<string, string>, env: Record<string, string>) => {
    const settings = resolveMasterSettings({ dataDir: "/d", ...flags }, env, defaults);
    return [settings.consulAcl, settings.consulAclDefaultPolicy];
  };
  assert.deepEqual(acl({}, {}), [true, "deny"]);
  assert.deepEqual(acl({}, { BERTH_CONSUL_ACL: "disabled", BERTH_CONSUL_ACL_DEFAULT_POLICY: "allow" }), [
    false,
    "allow",
  ]);
  assert.deepEqual(acl({ consulAcl: "enabled" }, { BERTH_CONSUL_ACL: "disabled" }), [true, "deny"]);
});

test("a required setting without a default names both the flag and the variable", () => {
  assert.throws(() => resolveMasterSettings({}, {}, defaults), /--data-dir \(or BERTH_DATA_DIR\) is required/);
});

test("the reschedule grace periods are seconds or Go durations, from flag or environment", () => {
  const grace = (flags: Record<string, string>, env: Record<string, string>) => {
    const settings = resolveMasterSettings({ dataDir: "/d", ...flags }, env, defaults);
    return [settings.rescheduleGraceHa, settings.rescheduleGraceRandom];
  };
  assert.deepEqual(grace({}, {}), [120, 30]);
  assert.deepEqual(grace({ rescheduleGraceHa: "5m" }, { BERTH_RESCHEDULE_GRACE_RANDOM: "10" }), [300, 10]);
  for (const [flags, env, message] of [
    [{ rescheduleGraceHa: "0" }, {}, /invalid --reschedule-grace-ha "0"/],
    [{ rescheduleGraceHa: "1500ms" }, {}, /--reschedule-grace-ha/],
    [{}, { BERTH_RESCHEDULE_GRACE_RANDOM: "soon" }, /invalid BERTH_RESCHEDULE_GRACE_RANDOM "soon"/],
  ] as const) {
    assert.throws(() => resolveMasterSettings({ dataDir: "/d", ...flags }, env, defaults), message);
  }
});

test("how many finished operations are kept is a whole number from 100 on, from flag or environment", () => {
  const kept = (flags: Record<string, string>, env: Record<string, string>) =>
    resolveMasterSettings({ dataDir: "/d", ...flags }, env, defaults).operationsKept;
  assert.equal(kept({}, {}), 2000);
  assert.equal(kept({ operationsKept: "100" }, {}), 100);
  assert.equal(kept({}, { BERTH_OPERATIONS_KEPT: "50000" }), 50000);
  assert.equal(kept({ operationsKept: "300" }, { BERTH_OPERATIONS_KEPT: "50000" }), 300);
  for (const [flags, env, message] of [
    [{ operationsKept: "99" }, {}, /invalid --operations-kept "99": must be an integer from 100 to 1000000/],
    [{ operationsKept: "0" }, {}, /--operations-kept/],
    [{ operationsKept: "many" }, {}, /invalid --operations-kept "many"/],
    [{ operationsKept: "1e4" }, {}, /--operations-kept/],
    [{ operationsKept: "-500" }, {}, /--operations-kept/],
    [{}, { BERTH_OPERATIONS_KEPT: "2000.5" }, /invalid BERTH_OPERATIONS_KEPT "2000.5"/],
  ] as const) {
    assert.throws(
      () => resolveMasterSettings({ dataDir: "/d", ...flags }, env, defaults),
      (error: unknown) => error instanceof ConfigError && message.test(error.message),
    );
  }
});
