import { request } from "node:http";
import { connect } from "node:net";
import type { HealthCheck } from "../protocol/instance-spec.ts";

/** One probe's verdict and what to tell the operator about it. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly output: string;
}

/** Runs one health check against a container at `host` (its address, or 127.0.0.1 on the host's network). */
export function probeHealth(check: HealthCheck, host: string): Promise<ProbeResult> {
  const timeoutMs = check.timeout * 1000;
  return check.protocol === "http"
    ? probeHttp(host, check.port, check.uri, timeoutMs)
    : probeTcp(host, check.port, timeoutMs);
}

/** Passes when a TCP connection to host:port is accepted within the timeout. */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(
      () => finish({ ok: false, output: `tcp ${host}:${port}: no answer in ${timeoutMs} ms` }),
      timeoutMs,
    );
    timer.unref();
    socket.once("connect", () => finish({ ok: true, output: `tcp ${host}:${port}: connected` }));
    socket.once("error", (error) => finish({ ok: false, output: `tcp ${host}:${port}: ${error.message}` }));
    function finish(result: ProbeResult): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    }
  });
}

/** GET http://host:port<uri>: passes on 200-399 (redirects are not followed) within the timeout. */
export function probeHttp(host: string, port: number, uri: string, timeoutMs: number): Promise<ProbeResult> {
  const target = `http://${host}:${port}${uri.startsWith("/") ? uri : `/${uri}`}`;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outgoing.destroy();
      resolve(result);
    };
    // A fresh connection per check (no keep-alive agent): a check says whether the container accepts one now.
    const outgoing = request(
      target,
      { method: "GET", agent: false, headers: { "user-agent": "berth-agent" } },
      (response) => {
        const status = response.statusCode ?? 0;
        response.resume();
        finish({ ok: status >= 200 && status < 400, output: `GET ${target}: HTTP ${status}` });
      },
    );
    const timer = setTimeout(
      () => finish({ ok: false, output: `GET ${target}: no answer in ${timeoutMs} ms` }),
      timeoutMs,
    );
    timer.unref();
    outgoing.once("error", (error) => finish({ ok: false, output: `GET ${target}: ${error.message}` }));
    outgoing.end();
  });
}
