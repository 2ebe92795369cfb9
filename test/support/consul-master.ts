import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Consul from "consul";
import type { MasterOptions } from "../../src/master/start-master.ts";
import { send, sendJson } from "./http-client.ts";
import { startTestMaster, type TestMaster } from "./test-master.ts";

export interface ConsulMaster {
  readonly master: TestMaster;
  /** The npm `consul` client, pointed at the master. */
  readonly consul: Consul;
}

/** A test master with Consul ACLs off (unless the options say otherwise) and a Consul client for it. */
export async function startConsulMaster(t: TestContext, options: Partial<MasterOptions> = {}): Promise<ConsulMaster> {
  const master = await startTestMaster(t, undefined, { consulAcl: false, ...options });
  const consul = consulClient(master);
  t.after(() => consul.destroy());
  return { master, consul };
}

/** A Consul client for the master, with a token when given. */
export function consulClient(master: TestMaster, token?: string): Consul {
  const { port } = new URL(master.url);
  return new Consul({ host: "127.0.0.1", port: Number(port), defaults: token === undefined ? {} : { token } });
}

/** A client token with these legacy rules, made with a management client; returns its id. */
export async function clientToken(admin: Consul, rules: string): Promise<string> {
  return ((await admin.acl.legacy.create({ name: rules.slice(0, 64), type: "client", rules })) as { ID: string }).ID;
}

/**
 * A test master with Consul ACLs on under default deny and this master token; a maker of client
 * tokens from legacy rules; and GET and PUT (a JSON body) as a token (none: anonymous).
 */
export async function startConsulAclMaster(t: TestContext, masterToken: string) {
  const { master } = await startConsulMaster(t, { consulAcl: true, consulAclMasterToken: masterToken });
  const admin = consulClient(master, masterToken);
  t.after(() => admin.destroy());
  const headersOf = (id?: string): Record<string, string> => (id === undefined ? {} : { "x-consul-token": id });
  return {
    master,
    token: (rules: string) => clientToken(admin, rules),
    get: (path: string, id?: string) => send(master.url, path, { headers: headersOf(id) }),
    put: (path: string, body?: unknown, id?: string) => sendJson(master.url, path, "PUT", body, headersOf(id)),
  };
}

type CheckOptions = Exclude<Parameters<Consul["agent"]["check"]["register"]>[0], string>;

/** The client's types ask every check for a name and a timeout, which Consul does not: a check as Consul takes it. */
export function looseCheck(options: Omit<CheckOptions, "name" | "timeout"> & { name?: string; timeout?: string }) {
  return options as CheckOptions;
}

/** The status and body of a Consul client call that failed (fails the test when it succeeded). */
export async function consulFailure(call: Promise<unknown>): Promise<{ status: number; body: string }> {
  try {
    await call;
  } catch (error) {
    const response = (error as { response?: { statusCode: number; body: unknown } }).response;
    assert.ok(response, `expected an HTTP error, got ${String(error)}`);
    return {
      status: response.statusCode,
      body: Buffer.isBuffer(response.body) ? response.body.toString() : String(response.body),
    };
  }
  assert.fail("the call succeeded");
}

/** Polls `read` until `done` holds for its result (or fails the test after `ms`). */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`still not there after ${ms}ms: ${JSON.stringify(value)}`);
    await sleep(25);
  }
}
