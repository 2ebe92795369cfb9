/** A lean keep-alive HTTP client for load generation (node:http; fetch costs more per request than it measures). */

import { Agent, request } from "node:http";

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export class HttpLoadClient {
  readonly #origin: URL;
  readonly #agent: Agent;

  /** At most `sockets` connections, kept alive between requests. */
  constructor(origin: string, sockets: number) {
    this.#origin = new URL(origin);
    this.#agent = new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  /** Sends the request; `onSocket` hears when its connection is there (for pacing connection storms). */
  send(method: string, path: string, body?: string | Buffer, onSocket?: () => void): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const outgoing = request(
        {
          agent: this.#agent,
          host: this.#origin.hostname,
          port: this.#origin.port,
          method,
          path,
          headers: body === undefined ? {} : { "content-length": Buffer.byteLength(body) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () =>
            resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
          );
          response.on("error", reject);
        },
      );
      outgoing.on("error", reject);
      if (onSocket) {
        outgoing.once("socket", (socket) => {
          if (socket.connecting) socket.once("connect", onSocket);
          else onSocket();
        });
      }
      outgoing.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
