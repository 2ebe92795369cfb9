// Child process for the durability test: writes in a loop and prints a line per acknowledged
// write, so the parent knows exactly which writes the store promised were durable.
import { parseArgs } from "node:util";
import { EmbeddedStore } from "../../src/backends/embedded/embedded-store.ts";

const { values } = parseArgs({ options: { path: { type: "string" }, writers: { type: "string", default: "8" } } });
if (!values.path) throw new Error("--path is required");
const store = await EmbeddedStore.open({ path: values.path });
const lease = await store.grantLease(3600);
process.stdout.write(`lease ${lease.id}\n`);

let next = 0;
async function writer(): Promise<never> {
  for (;;) {
    const i = next++;
    const key = `/durable/${String(i).padStart(8, "0")}`;
    const { revision } = await store.put(key, { i, text: `value-${i}` }, i % 10 === 0 ? { lease: lease.id } : {});
    process.stdout.write(`ack ${key} ${revision}\n`);
  }
}
await Promise.all(Array.from({ length: Number(values.writers) }, writer));
