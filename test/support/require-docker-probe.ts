// Child process for docker-engine.test.ts: one test that asks for the engine at DOCKER_HOST.
import { test } from "node:test";
import { requireDocker } from "./docker-engine.ts";

test("needs Docker", async (t) => {
  if ((await requireDocker(t)) === null) return;
  process.stdout.write("engine reached\n");
});
