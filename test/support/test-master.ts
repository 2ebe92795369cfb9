import type { TestContext } from "node:test";
import { BOOTSTRAP_ADMIN } from "../../src/core/users/admin-setup-service.ts";
import { type MasterOptions, type RunningMaster, startMaster } from "../../src/master/start-master.ts";
import { sendJson } from "./http-client.ts";
import { makeTempDir } from "./temp-dir.ts";

/** The password of the admin every test master has (created through BERTH_ADMIN_PASSWORD). */
export const TEST_ADMIN_PASSWORD = "test-admin-password";

export interface TestMaster extends RunningMaster {
  /** Headers that authenticate as the admin, for tests about something other than authentication. */
  readonly auth: { readonly authorization: string };
}

/** A real master on a free loopback port with its data in a temp dir and an admin; closed when the test ends. */
export async function startTestMaster(
  t: TestContext,
  dataDir?: string,
  options: Partial<MasterOptions> = {},
): Promise<TestMaster> {
  const master = await startMaster({
    host: "127.0.0.1",
    port: 0,
    dataDir: dataDir ?? (await makeTempDir(t)),
    logLevel: "silent",
    dev: false,
    adminPassword: TEST_ADMIN_PASSWORD,
    print: () => {},
    ...options,
  });
  t.after(() => master.close());
  return { ...master, auth: { authorization: `Bearer ${await loginToken(master.url)}` } };
}

/** Logs in through the Docker gateway's /api/auth and returns the JWT. */
export async function loginToken(
  url: string,
  username = BOOTSTRAP_ADMIN,
  password = TEST_ADMIN_PASSWORD,
): Promise<string> {
  const response = await sendJson(url, "/api/auth", "POST", { Username: username, Password: password });
  if (response.status !== 200) throw new Error(`login as ${username} failed: ${response.status} ${response.text}`);
  return (response.json() as { jwt: string }).jwt;
}

/** A master as it starts for real (no admin unless options say so), keeping its banner and every log line (trace level). */
export async function startWatchedMaster(t: TestContext, options: Partial<MasterOptions> = {}) {
  const printed: string[] = [];
  const logs: string[] = [];
  const master = await startMaster({
    host: "127.0.0.1",
    port: 0,
    dataDir: await makeTempDir(t),
    logLevel: "trace",
    dev: false,
    print: (line) => printed.push(line),
    logDestination: { write: (line: string) => void logs.push(line) },
    ...options,
  });
  t.after(() => master.close());
  return { master, banner: () => printed.join("\n"), logs: () => logs.join("") };
}
