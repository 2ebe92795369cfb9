import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { SecretBox } from "../../../src/core/crypto/secret-box.ts";
import { PullCredentialsService } from "../../../src/core/registries/pull-credentials-service.ts";
import { RegistryService } from "../../../src/core/registries/registry-service.ts";
import { agentHello, desiredInstance, nodeCore, nodeFacts } from "../../support/node-fixtures.ts";

describe("pull credentials service", () => {
  it("gives a node its grid's login only for a registry its desired instances pull from, as it is now", async (t) => {
    const core = await nodeCore(t);
    await core.nodeLinks.join(core.grid, agentHello("one"));
    await core.nodeLinks.join(core.grid, agentHello("two", { facts: nodeFacts({ node_id: "E2" }) }));
    const registries = new RegistryService(core.store, core.grids, new SecretBox(randomBytes(32)));
    const pulls = new PullCredentialsService(core.nodeInstances, registries);
    const login = (url: string, password: string) => ({ url, username: "bot", password });
    await registries.create(core.admin, "default", login("https://quay.io/", "quay-password"));
    const image = "127.0.0.1:5000/team/app";
    await core.nodeInstances.setDesired("default", "one", [desiredInstance(1, { image }), desiredInstance(2)]);

    assert.equal(await pulls.forPull("default", "one", `${image}:latest`), null, "no registry stored yet");
    await registries.create(core.admin, "default", login("http://127.0.0.1:5000", "local-password"));
    const granted = { username: "bot", password: "local-password", serveraddress: "127.0.0.1:5000" };
    assert.deepEqual(await pulls.forPull("default", "one", `${image}:latest`), granted, "added after it was desired");
    assert.deepEqual(await pulls.forPull("default", "one", "127.0.0.1:5000/other:2"), granted, "per registry");

    assert.equal(await pulls.forPull("default", "one", "quay.io/coreos/etcd"), null, "no instance pulls from it");
    assert.equal(await pulls.forPull("default", "two", `${image}:latest`), null, "another node's image");
    assert.equal(await pulls.forPull("default", "one", "busybox:latest"), null, "desired, but no login for Hub");
    assert.equal(await pulls.forPull("default", "one", "Not A Reference"), null);
  });
});
