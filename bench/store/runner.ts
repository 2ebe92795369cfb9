/**
 * Child-process entry: runs the suite against one store and sends the SuiteReport to the
 * parent over IPC. One process per store keeps memory figures and event loops separate.
 *
 *   node --expose-gc bench/store/runner.ts --store etcd --endpoint http://127.0.0.1:PORT --server-pid PID --plan '{…}'
 *   node --expose-gc bench/store/runner.ts --store berth --data-dir /tmp/x --plan '{…}'
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { berthAdapter, openEmbeddedStore } from "./adapters/berth-adapter.ts";
import { etcdAdapter } from "./adapters/etcd-adapter.ts";
import { runSuite, type SuitePlan } from "./suite.ts";
import type { BenchStore } from "./workloads.ts";

const { values } = parseArgs({
  options: {
    store: { type: "string" },
    endpoint: { type: "string" },
    "server-pid": { type: "string" },
    "data-dir": { type: "string" },
    plan: { type: "string" },
  },
});

// Die with the parent rather than linger.
process.on("disconnect", () => process.exit(1));

const log = (message: string): void => {
  process.stderr.write(`  [${values.store}] ${message}\n`);
};

async function open(): Promise<BenchStore> {
  if (values.store === "etcd") {
    if (values.endpoint === undefined) throw new Error("--endpoint is required for etcd");
    const pid = values["server-pid"] === undefined ? undefined : Number(values["server-pid"]);
    return etcdAdapter(values.endpoint, pid);
  }
  if (values.store === "berth") {
    if (values["data-dir"] === undefined) throw new Error("--data-dir is required for berth");
    return berthAdapter(await openEmbeddedStore(join(values["data-dir"], "berth.sqlite")));
  }
  throw new Error(`unknown --store ${values.store}`);
}

if (values.plan === undefined) throw new Error("--plan is required");
const plan = JSON.parse(values.plan) as SuitePlan;
const store = await open();
try {
  const report = await runSuite(store, plan, log);
  const send = process.send?.bind(process);
  if (send === undefined) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else
    await new Promise<void>((resolve, reject) =>
      send(report, undefined, {}, (error) => (error ? reject(error) : resolve())),
    );
} finally {
  await store.close();
}
process.exit(0);
