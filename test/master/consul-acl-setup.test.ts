import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Consul from "consul";
import { consulAclSetup } from "../../src/master/consul-acl-setup.ts";
import { startWatchedMaster } from "../support/test-master.ts";

describe("Consul ACL setup", () => {
  it("is enabled with default deny and no master token unless told otherwise", () => {
    assert.deepEqual(consulAclSetup({ dev: false }), {
      settings: { enabled: true, defaultPolicy: "deny", masterToken: undefined },
      banner: [],
    });
    const told = consulAclSetup({
      dev: false,
      consulAcl: true,
      consulAclDefaultPolicy: "allow",
      consulAclMasterToken: "from-env",
    });
    assert.deepEqual(told.settings, { enabled: true, defaultPolicy: "allow", masterToken: "from-env" });
    assert.equal(consulAclSetup({ dev: false, consulAclMasterToken: "" }).settings.masterToken, undefined);
  });

  it("gives a dev master a fresh master token and shows it; a chosen one is not echoed", () => {
    const dev = consulAclSetup({ dev: true });
    assert.match(dev.settings.masterToken ?? "", /^[0-9a-f-]{36}$/);
    assert.ok(dev.banner.some((line) => line.includes(`CONSUL_HTTP_TOKEN=${dev.settings.masterToken}`)));
    assert.notEqual(consulAclSetup({ dev: true }).settings.masterToken, dev.settings.masterToken);
    const chosen = consulAclSetup({ dev: true, consulAclMasterToken: "s3cret" });
    assert.equal(chosen.settings.masterToken, "s3cret");
    assert.ok(!chosen.banner.join("\n").includes("s3cret"));
    const disabled = consulAclSetup({ dev: true, consulAcl: false });
    assert.equal(disabled.settings.masterToken, undefined);
    assert.match(disabled.banner.join("\n"), /disabled/);
  });

  it("berth dev prints a master token a Consul client can use, and keeps it out of the log", async (t) => {
    const { master, banner, logs } = await startWatchedMaster(t, { dev: true });
    const token = /export CONSUL_HTTP_TOKEN=(\S+)/.exec(banner())?.[1];
    assert.ok(token, banner());
    const { port } = new URL(master.url);
    const consul = new Consul({ host: "127.0.0.1", port: Number(port), defaults: { token } });
    const listed = (await consul.acl.legacy.list()) as { ID: string }[];
    assert.deepEqual(
      listed.map((entry) => entry.ID),
      ["anonymous"],
    );
    await consul.acl.legacy.info(token);
    assert.ok(!logs().includes(token), "the token is not logged, not even from an ACL path");
  });
});
