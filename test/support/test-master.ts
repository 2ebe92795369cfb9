import type { TestContext } from "node:test";
import { type RunningMaster, startMaster } from "../../src/master/start-master.ts";
import { makeTempDir } from "./temp-dir.ts";

/** A real master on a free loopback port with its data in a temp dir; closed when the test ends. */
export async function startTestMaster(t: TestContext, dataDir?: string): Promise<RunningMaster> {
  const master = await startMaster({
    host: "127.0.0.1",
    port: 0,
    dataDir: dataDir ?? (await makeTempDir(t)),
    logLevel: "silent",
    dev: false,
    print: () => {},
  });
  t.after(() => master.close());
  return master;
}
