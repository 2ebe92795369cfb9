import { createServer, type Server, type Socket } from "node:net";
import type { TestContext } from "node:test";

/** A loopback TCP proxy that can cut a link the hard way: stop passing bytes while both sockets stay open. */
export interface TcpProxy {
  /** http://127.0.0.1:<port>, forwarding to the target. */
  readonly url: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Every open connection goes silent (no FIN, no RST): what a dead network or a frozen peer looks like. */
  blackhole(): void;
}

export async function startTcpProxy(t: TestContext, targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const open = new Set<[Socket, Socket]>();
  const silenced = new Set<[Socket, Socket]>();
  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted++;
    const upstream = new (client.constructor as typeof Socket)();
    upstream.connect(Number(target.port), target.hostname);
    const pair: [Socket, Socket] = [client, upstream];
    open.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      // A blackholed pair stays as it is: neither end may learn that the other one closed.
      if (silenced.has(pair)) return;
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const [client, upstream] of open) {
      client.destroy();
      upstream.destroy();
    }
    server.close();
  });
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    connections: () => accepted,
    blackhole() {
      for (const pair of open) {
        const [client, upstream] = pair;
        silenced.add(pair);
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
  };
}
