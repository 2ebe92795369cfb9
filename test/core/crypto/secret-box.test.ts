import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadMasterKey } from "../../../src/core/crypto/master-key.ts";
import { SecretBox } from "../../../src/core/crypto/secret-box.ts";

const root = mkdtempSync(join(tmpdir(), "berth-key-"));
after(() => rmSync(root, { recursive: true, force: true }));

describe("master key", () => {
  it("is created once with mode 0600 and read back unchanged", () => {
    const dir = join(root, "a");
    const first = loadMasterKey(dir, undefined);
    assert.equal(first.length, 32);
    assert.equal(statSync(join(dir, "master.key")).mode & 0o777, 0o600);
    assert.deepEqual(loadMasterKey(dir, undefined), first);
  });

  it("comes from BERTH_MASTER_KEY when set, and refuses a malformed one", () => {
    const key = randomBytes(32);
    assert.deepEqual(loadMasterKey(join(root, "b"), key.toString("base64")), key);
    assert.throws(() => loadMasterKey(join(root, "c"), "c2hvcnQ="), /32 bytes/);
  });

  it("refuses a key file that was damaged", () => {
    const dir = join(root, "d");
    loadMasterKey(dir, undefined);
    writeFileSync(join(dir, "master.key"), "garbage!\n");
    assert.throws(() => loadMasterKey(dir, undefined), /master\.key must hold 32 bytes/);
  });
});

describe("secret box", () => {
  const box = new SecretBox(randomBytes(32));

  it("round-trips and never shows the plaintext in the sealed form", () => {
    const sealed = box.seal("hunter2-very-secret", "/secrets/g/db");
    assert.equal(box.open(sealed, "/secrets/g/db"), "hunter2-very-secret");
    assert.ok(!sealed.includes("hunter2"));
    assert.notEqual(box.seal("same", "ctx"), box.seal("same", "ctx"), "a fresh IV each time");
  });

  it("refuses another context, another key, and tampering", () => {
    const sealed = box.seal("value", "/secrets/g/a");
    assert.throws(() => box.open(sealed, "/secrets/g/b"));
    assert.throws(() => new SecretBox(randomBytes(32)).open(sealed, "/secrets/g/a"));
    const [v, iv, body] = sealed.split(".");
    const flipped = Buffer.from(body!, "base64url");
    flipped[0] = flipped[0]! ^ 1;
    assert.throws(() => box.open(`${v}.${iv}.${flipped.toString("base64url")}`, "/secrets/g/a"));
    assert.throws(() => box.open("plain", "/secrets/g/a"), /not a sealed value/);
  });
});
