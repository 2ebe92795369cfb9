import type { TestContext } from "node:test";
import WebSocket from "ws";
import { berthVersion } from "../../src/config/berth-version.ts";
import { type HelloMessage, LINK_PATH, NODE_HEADER } from "../../src/protocol/link-messages.ts";
import { nodeFacts } from "./node-fixtures.ts";

/** A hand-driven agent link: sends what a test says and keeps everything the master sends. */
export interface RawLink {
  readonly socket: WebSocket;
  /** Parsed messages, in arrival order. */
  readonly messages: Record<string, unknown>[];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
  /** Resolves with the first message (already received or coming) of that type. */
  next(type: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export type RawCredentials = { grid: string; name: string; token: string } | { gridToken: string } | undefined;

/** Opens a link to the master with the credentials (none: no Authorization header). */
export async function openRawLink(
  t: TestContext,
  masterUrl: string,
  credentials: RawCredentials,
  options: { autoPong?: boolean } = {},
): Promise<RawLink> {
  const headers: Record<string, string> = {};
  if (credentials && "gridToken" in credentials) headers.authorization = `Bearer ${credentials.gridToken}`;
  if (credentials && "token" in credentials) {
    headers.authorization = `Bearer ${credentials.token}`;
    headers[NODE_HEADER] = `${credentials.grid}/${credentials.name}`;
  }
  const socket = new WebSocket(new URL(LINK_PATH, masterUrl.replace(/^http/, "ws")), {
    headers,
    autoPong: options.autoPong ?? true,
  });
  t.after(() => socket.terminate());
  const messages: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  socket.on("message", (data) => {
    messages.push(JSON.parse(data.toString()));
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return {
    socket,
    messages,
    closed,
    send: (message) => socket.send(JSON.stringify(message)),
    async next(type, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find((message) => message.type === type);
        if (found) return found;
        if (Date.now() > deadline)
          throw new Error(`no ${type} within ${timeoutMs} ms; got ${JSON.stringify(messages)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
  };
}

/** A hello as a current agent on engine ENGINE:ONE sends it. */
export function helloMessage(name: string, overrides: Partial<HelloMessage> = {}): HelloMessage {
  return {
    type: "hello",
    agent_version: berthVersion,
    time: Date.now(),
    name,
    labels: [],
    facts: nodeFacts(),
    ...overrides,
  };
}
