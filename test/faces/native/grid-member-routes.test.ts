import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { errorShapeOf } from "../../support/face-error-shapes.ts";
import { gridCallers, userHeaders } from "../../support/grid-callers.ts";
import { send, sendJson } from "../../support/http-client.ts";
import { startTestMaster } from "../../support/test-master.ts";

const nativeError = errorShapeOf("native");

interface Member {
  readonly username: string;
  readonly role: string;
}

describe("native grid members", () => {
  it("lists, adds (by username or email), promotes and removes members", async (t) => {
    const master = await startTestMaster(t);
    const callers = await gridCallers(master, "matrix");
    const created = await sendJson(
      master.url,
      "/v1/users",
      "POST",
      { username: "neo", email: "neo@example.com", password: "a-test-user-password" },
      master.auth,
    );
    assert.equal(created.status, 201);

    const added = await sendJson(
      master.url,
      "/v1/grids/matrix/users",
      "POST",
      { email: "neo@example.com" },
      callers.gridAdmin,
    );
    assert.equal(added.status, 201, added.text);
    assert.deepEqual(Object.keys(added.json() as object), ["id", "username", "email", "role"]);
    assert.equal((added.json() as Member).role, "member");

    const promoted = await sendJson(
      master.url,
      "/v1/grids/matrix/users",
      "POST",
      { username: "neo", role: "grid_admin" },
      callers.gridAdmin,
    );
    assert.equal((promoted.json() as Member).role, "grid_admin");

    const listed = await send(master.url, "/v1/grids/matrix/users", { headers: callers.gridAdmin });
    assert.equal(listed.status, 200);
    assert.deepEqual((listed.json() as { users: Member[] }).users.map((user) => [user.username, user.role]).sort(), [
      ["matrix-admin", "grid_admin"],
      ["matrix-member", "member"],
      ["neo", "grid_admin"],
    ]);

    const removed = await send(master.url, "/v1/grids/matrix/users/neo", { method: "DELETE", headers: master.auth });
    assert.equal(removed.status, 200);
    nativeError(await send(master.url, "/v1/grids/matrix/users/neo", { method: "DELETE", headers: master.auth }), 404);
  });

  it("lets only master_admin and grid_admin see or change membership", async (t) => {
    const master = await startTestMaster(t);
    const callers = await gridCallers(master, "matrix");
    await userHeaders(master, "neo");
    for (const caller of ["member", "outsider"] as const) {
      nativeError(await send(master.url, "/v1/grids/matrix/users", { headers: callers[caller] }), 403);
      nativeError(
        await sendJson(master.url, "/v1/grids/matrix/users", "POST", { username: "neo" }, callers[caller]),
        403,
      );
      nativeError(
        await send(master.url, "/v1/grids/matrix/users/matrix-member", { method: "DELETE", headers: callers[caller] }),
        403,
      );
    }
    nativeError(await send(master.url, "/v1/grids/matrix/users"), 401);
    assert.equal((await send(master.url, "/v1/grids/matrix/users", { headers: master.auth })).status, 200);
    // A grid_admin of one grid is nobody in another.
    nativeError(await send(master.url, "/v1/grids/default/users", { headers: callers.gridAdmin }), 403);
  });

  it("names the field for an unknown user or bad role; an unknown grid is 404", async (t) => {
    const master = await startTestMaster(t);
    const unknown = await sendJson(master.url, "/v1/grids/default/users", "POST", { username: "ghost" }, master.auth);
    nativeError(unknown, 422);
    assert.deepEqual(unknown.json(), { error: { username: "no such user" } });
    const noOne = await sendJson(master.url, "/v1/grids/default/users", "POST", {}, master.auth);
    nativeError(noOne, 422);
    const badRole = await sendJson(
      master.url,
      "/v1/grids/default/users",
      "POST",
      { username: "admin", role: "master_admin" },
      master.auth,
    );
    assert.match(nativeError(badRole, 422), /"role"/);
    nativeError(await send(master.url, "/v1/grids/nope/users", { headers: master.auth }), 404);
    nativeError(await sendJson(master.url, "/v1/grids/nope/users", "POST", { username: "admin" }, master.auth), 404);
  });
});
