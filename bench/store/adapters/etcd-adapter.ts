/** The bench adapter for etcd, through the npm `etcd3` client (one client, one gRPC channel). */

import { Etcd3, type IKeyValue } from "etcd3";
import type { JsonValue, KeyValue } from "../../../src/store/state-store.ts";
import { etcdGoHeapBytes, processRssBytes } from "../etcd-server.ts";
import type { BenchStore, BenchWatch, ServerMemory } from "../workloads.ts";

/** Decode an etcd record the way a Berth etcd backend would hand it out. */
function toKeyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString(),
    value: JSON.parse(kv.value.toString()) as JsonValue,
    create_revision: Number(kv.create_revision),
    mod_revision: Number(kv.mod_revision),
    version: Number(kv.version),
    lease: Number(kv.lease),
  };
}

/**
 * @param serverPid the etcd server's pid, to read its RSS; omit when it is not local. Its Go heap
 *   is read too when it serves /debug/pprof (started with pprof: true).
 * Reads are etcd's default, linearizable (a ReadIndex round through raft), like a backend would use.
 */
export function etcdAdapter(clientUrl: string, serverPid?: number): BenchStore {
  const client = new Etcd3({ hosts: clientUrl });
  return {
    name: "etcd",
    async put(key, value) {
      await client.put(key).value(JSON.stringify(value)).exec();
    },
    async get(key) {
      const response = await client.get(key).exec();
      const kv = response.kvs[0];
      return kv === undefined ? undefined : toKeyValue(kv).value;
    },
    async range(prefix) {
      const response = await client.getAll().prefix(prefix).exec();
      return response.kvs.map(toKeyValue).length;
    },
    async watch(prefix, onEvents): Promise<BenchWatch> {
      const watcher = await client.watch().prefix(prefix).create();
      watcher.on("data", (response) => {
        if (response.events.length > 0) {
          for (const event of response.events) if (event.kv) toKeyValue(event.kv);
          onEvents(response.events.length);
        }
      });
      return { cancel: () => watcher.cancel() };
    },
    ...(serverPid === undefined
      ? {}
      : {
          async serverMemory(): Promise<ServerMemory> {
            const heap = await etcdGoHeapBytes(clientUrl).catch(() => undefined);
            return { rss: await processRssBytes(serverPid), heap };
          },
        }),
    async close() {
      client.close();
    },
  };
}
