import { createRequire } from "node:module";
import { parentPort } from "node:worker_threads";
import type { HclParserReply, HclParserRequest } from "./hcl-parser.ts";

// js-hcl-parser is HashiCorp's HCL1 parser compiled to JavaScript (GopherJS). It ships no types,
// returns its errors as strings instead of throwing, and can leave its runtime broken after a
// stack overflow, which is why it runs here, in a worker the master can kill and replace.
const hcl = createRequire(import.meta.url)("js-hcl-parser") as { parse(text: string): string };

const port = parentPort;
if (port === null) throw new Error("hcl-parser-worker must run in a worker thread");

port.postMessage("ready");
port.on("message", (request: HclParserRequest) => {
  let reply: HclParserReply;
  try {
    const output = hcl.parse(request.text);
    try {
      reply = { id: request.id, json: JSON.parse(output) };
    } catch {
      reply = { id: request.id, error: output };
    }
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
    // A thrown error (a stack overflow on deep input) may have corrupted the Go runtime: start afresh.
    port.postMessage(reply);
    process.exit(1);
  }
  port.postMessage(reply);
});
