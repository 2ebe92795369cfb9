import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { DatacenterDirectory } from "../../core/consul/datacenter-directory.ts";
import { isWriteVerb, type KvOperation } from "../../core/consul/kv-operation.ts";
import type { KvService } from "../../core/consul/kv-service.ts";
import { BadRequestError } from "../../core/errors/bad-request-error.ts";
import { PayloadTooLargeError } from "../../core/errors/payload-too-large-error.ts";
import { aclOf } from "../../http/request-principal.ts";
import type { ConsulReadServices } from "./consul-blocking-read.ts";
import { consulObject, rawBody } from "./consul-body.ts";
import { consistencyOf, setConsulQueryMeta } from "./consul-query-meta.ts";
import { datacenterOf } from "./consul-query-params.ts";
import { dirEntryJson } from "./dir-entry-json.ts";
import { canonicalUint64, uint64Index, uint64Problem } from "./uint64-text.ts";

/** Consul's txn_max_req_len default. */
export const TXN_MAX_REQUEST_SIZE = 512 * 1024;
/** Consul's cap on the operations of one transaction. */
export const TXN_MAX_OPS = 64;

export interface TxnRouteServices extends ConsulReadServices {
  readonly kv: KvService;
  readonly datacenters: DatacenterDirectory;
}

/** A JSON number with the digits it was written with, so that a uint64 survives parsing exactly. */
class JsonNumber {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

const uint64Field = z
  .instanceof(JsonNumber, { error: "must be an unsigned 64-bit integer" })
  .refine((number) => uint64Problem(number.text) === undefined, { error: "must be an unsigned 64-bit integer" })
  .transform((number) => canonicalUint64(number.text));

/** Go decodes base64 strictly (padding required); newlines are skipped. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const kvOpSchema = consulObject({
  Verb: z.string({ error: "must be a string" }).default(""),
  Key: z.string({ error: "must be a string" }).default(""),
  Value: z
    .string({ error: "must be a base64 string" })
    .transform((text) => text.replace(/[\r\n]/g, ""))
    .refine((text) => BASE64.test(text), { error: "illegal base64 data" })
    .nullish(),
  Flags: uint64Field.default("0"),
  Index: uint64Field.default("0"),
  Session: z.string({ error: "must be a string" }).default(""),
});

const txnSchema = z.array(
  consulObject({
    KV: kvOpSchema.nullish(),
    Node: z.unknown().optional(),
    Service: z.unknown().optional(),
    Check: z.unknown().optional(),
  }),
  { error: "must be a JSON array of operations" },
);

/**
 * `/v1/txn`: up to 64 KV operations applied atomically (200 with every result, or 409 with every
 * failed operation and nothing written). A transaction of reads only is served as a read.
 */
export function registerTxnRoutes(app: FastifyInstance, services: TxnRouteServices): void {
  const { kv, datacenters } = services;
  const tooLarge = () => new PayloadTooLargeError(`Request body too large, max size: ${TXN_MAX_REQUEST_SIZE} bytes`);

  app.put(
    "/v1/txn",
    {
      preParsing: async (request) => {
        if (Number(request.headers["content-length"] ?? 0) > TXN_MAX_REQUEST_SIZE) throw tooLarge();
      },
      bodyLimit: TXN_MAX_REQUEST_SIZE,
    },
    async (request, reply) => {
      const ops = parseTxn(rawBody(request.body).toString("utf8"));
      const dc = await datacenterOf(request, datacenters);
      if (!ops.some((op) => isWriteVerb(op.verb))) {
        // Served like a read (consistency modes and leader headers), but never blocking: no index.
        setConsulQueryMeta(reply, {
          knownLeader: services.cluster.status().leader !== "",
          consistency: consistencyOf(request.query),
        });
      }
      const outcome = await kv.transact(dc, ops, aclOf(request));
      const body = outcome.ok
        ? `{"Results":[${outcome.results.map((entry) => `{"KV":${dirEntryJson(entry)}}`).join(",")}],"Errors":null}`
        : `{"Results":null,"Errors":${JSON.stringify(outcome.errors.map((e) => ({ OpIndex: e.opIndex, What: e.what })))}}`;
      return reply
        .code(outcome.ok ? 200 : 409)
        .type("application/json")
        .send(body);
    },
  );
}

/** The body's KV operations, or a 400 "Failed to parse body" / 413 as Consul answers. */
function parseTxn(text: string): KvOperation[] {
  let json: unknown;
  try {
    json = JSON.parse(text, (_key, value, context?: { source?: string }) =>
      typeof value === "number" ? new JsonNumber(context?.source ?? String(value)) : value,
    );
  } catch (error) {
    throw new BadRequestError(`Failed to parse body: ${(error as Error).message}`);
  }
  const parsed = txnSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join(".") ?? "";
    throw new BadRequestError(`Failed to parse body: ${path === "" ? "" : `${path}: `}${issue?.message ?? "invalid"}`);
  }
  if (parsed.data.length > TXN_MAX_OPS) {
    throw new PayloadTooLargeError(`Transaction contains too many operations (${parsed.data.length} > ${TXN_MAX_OPS})`);
  }
  if (parsed.data.some((op) => op.Node != null || op.Service != null || op.Check != null)) {
    throw new BadRequestError("Failed to parse body: only KV operations are supported");
  }
  // An operation with no KV part is skipped, as Consul's conversion skips it.
  return parsed.data.flatMap(({ KV: op }) =>
    op
      ? [
          {
            verb: op.Verb,
            key: op.Key,
            value: op.Value ? Buffer.from(op.Value, "base64").toString("base64") : null,
            flags: op.Flags,
            index: uint64Index(op.Index),
            session: op.Session,
          },
        ]
      : [],
  );
}
