import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { createServer } from "node:tls";
import { promisify } from "node:util";
import { makeTempDir } from "./temp-dir.ts";

/** A TLS front for a plain-HTTP test master, as a reverse proxy would give it in production. */
export interface TlsProxy {
  /** https://127.0.0.1:<port>, forwarding to the target. */
  readonly url: string;
  /** The proxy's self-signed certificate (PEM): the CA an agent must be told to trust. */
  readonly ca: string;
}

/** Terminates TLS on a free loopback port with a fresh self-signed certificate for 127.0.0.1 (made by openssl). */
export async function startTlsProxy(t: TestContext, targetUrl: string): Promise<TlsProxy> {
  const dir = await makeTempDir(t, "berth-tls-");
  const [keyFile, certFile] = [join(dir, "key.pem"), join(dir, "cert.pem")];
  await promisify(execFile)("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "1",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
  ]);
  const [key, cert] = await Promise.all([readFile(keyFile, "utf8"), readFile(certFile, "utf8")]);
  const target = new URL(targetUrl);
  const open = new Set<Socket>();
  const server = createServer({ key, cert }, (client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket
        .on("error", () => {})
        .on("close", () => {
          open.delete(socket);
          client.destroy();
          upstream.destroy();
        });
    }
    client.pipe(upstream).pipe(client);
  });
  // A client that refuses the certificate ends the handshake; that is what the tests look at.
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const socket of open) socket.destroy();
    server.close();
  });
  const { port } = server.address() as { port: number };
  return { url: `https://127.0.0.1:${port}`, ca: cert };
}
