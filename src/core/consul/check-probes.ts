import { execFile } from "node:child_process";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { CheckDefinition } from "./catalog-record.ts";
import type { CheckResult } from "./catalog-service.ts";

/** Consul keeps this much of a check's output. */
export const CHECK_OUTPUT_LIMIT = 4096;

type ProbedDefinition = Exclude<CheckDefinition, { kind: "ttl" }>;

/** Runs one probe of an HTTP, TCP or script check and says what it found (never throws). */
export function probe(definition: ProbedDefinition): Promise<CheckResult> {
  switch (definition.kind) {
    case "http":
      return probeHttp(definition);
    case "tcp":
      return probeTcp(definition);
    case "script":
      return probeScript(definition);
  }
}

/** Consul's truncation of long output: the first 4 KiB and how much there was. */
export function truncateOutput(output: string): string {
  const bytes = Buffer.from(output);
  if (bytes.length <= CHECK_OUTPUT_LIMIT) return output;
  const kept = bytes.subarray(0, CHECK_OUTPUT_LIMIT).toString();
  return `${kept} ... (captured ${CHECK_OUTPUT_LIMIT} of ${bytes.length} bytes)`;
}

/** 2xx passes, 429 (Too Many Requests) warns, anything else (or no answer) is critical. */
function probeHttp(definition: Extract<CheckDefinition, { kind: "http" }>): Promise<CheckResult> {
  const { url, method, header, timeoutMs, tlsSkipVerify } = definition;
  const label = `HTTP ${method} ${url}`;
  return new Promise((resolve) => {
    let request: http.ClientRequest;
    const fail = (error: Error): void => resolve({ status: "critical", output: `${label}: ${error.message}` });
    try {
      const client = url.startsWith("https:") ? https : http;
      request = client.request(url, {
        method,
        headers: { "user-agent": "Consul Health Check", accept: "text/plain, text/*, */*", ...header },
        timeout: timeoutMs,
        rejectUnauthorized: !tlsSkipVerify,
      });
    } catch (error) {
      fail(error as Error);
      return;
    }
    request.on("timeout", () => request.destroy(new Error(`request timed out after ${timeoutMs}ms`)));
    request.on("error", fail);
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on("data", (chunk: Buffer) => {
        if (size < CHECK_OUTPUT_LIMIT) chunks.push(chunk);
        size += chunk.length;
      });
      response.on("error", fail);
      response.on("end", () => {
        const code = response.statusCode ?? 0;
        const body = Buffer.concat(chunks).subarray(0, CHECK_OUTPUT_LIMIT).toString();
        const status = code >= 200 && code <= 299 ? "passing" : code === 429 ? "warning" : "critical";
        resolve({ status, output: `${label}: ${code} ${response.statusMessage ?? ""} Output: ${body}` });
      });
    });
    request.end();
  });
}

/** Passes when a TCP connection opens within the timeout. */
function probeTcp(definition: Extract<CheckDefinition, { kind: "tcp" }>): Promise<CheckResult> {
  const { address, timeoutMs } = definition;
  return new Promise((resolve) => {
    const target = splitHostPort(address);
    if (!target) {
      resolve({ status: "critical", output: `dial tcp ${address}: missing port in address` });
      return;
    }
    const socket = net.connect({ host: target.host, port: target.port, timeout: timeoutMs });
    const finish = (result: CheckResult): void => {
      socket.destroy();
      resolve(result);
    };
    socket.once("connect", () => finish({ status: "passing", output: `TCP connect ${address}: Success` }));
    socket.once("timeout", () => finish({ status: "critical", output: `dial tcp ${address}: i/o timeout` }));
    socket.once("error", (error) => finish({ status: "critical", output: `dial tcp ${address}: ${error.message}` }));
  });
}

/**
 * Runs the program with its arguments, never through a shell: exit 0 passes, 1 warns, anything else
 * (a timeout, a missing program) is critical. The output is stdout and stderr together.
 */
function probeScript(definition: Extract<CheckDefinition, { kind: "script" }>): Promise<CheckResult> {
  const [program = "", ...args] = definition.args;
  return new Promise((resolve) => {
    execFile(
      program,
      args,
      { timeout: definition.timeoutMs, maxBuffer: 1024 * 1024, windowsHide: true },
      (error, stdout, stderr) => {
        const output = truncateOutput(`${stdout}${stderr}`);
        if (!error) {
          resolve({ status: "passing", output });
          return;
        }
        const code = typeof error.code === "number" ? error.code : undefined;
        const reason = error.killed ? `Timed out (${definition.timeoutMs}ms) running check` : error.message;
        resolve({ status: code === 1 ? "warning" : "critical", output: code === undefined ? reason : output });
      },
    );
  });
}

/** "host:port" or "[v6]:port"; undefined without a valid port. */
export function splitHostPort(address: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || port > 65535) return undefined;
  return { host: match[1] ?? match[2] ?? "", port };
}
