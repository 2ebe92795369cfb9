import type { WebSocket } from "@fastify/websocket";
import type { AdmissionRefusal } from "../../core/nodes/admission-refused-error.ts";
import { LINK_CLOSE } from "../../protocol/link-messages.ts";

const codes: Readonly<Record<AdmissionRefusal, number>> = {
  grid_token: LINK_CLOSE.gridTokenRejected,
  node_token: LINK_CLOSE.nodeTokenRejected,
  node_deleted: LINK_CLOSE.nodeDeleted,
  name_taken: LINK_CLOSE.nameTaken,
};

/** The close code that tells the agent why it was refused. */
export function closeCodeFor(refusal: AdmissionRefusal): number {
  return codes[refusal];
}

/** A close reason fits in 123 bytes of UTF-8 (RFC 6455); longer ones are cut. */
function closeReason(text: string): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= 123) return text;
  return `${bytes
    .subarray(0, 120)
    .toString("utf8")
    .replace(/\uFFFD$/, "")}…`;
}

/** How long a closed link may take to answer the close frame before its socket is cut. */
const CLOSE_GRACE_MS = 2_000;

/** Closes an open link with a code and reason; a peer that does not answer within a grace period is cut off. */
export function closeLink(socket: WebSocket, code: number, reason: string): void {
  if (socket.readyState !== socket.OPEN) return;
  socket.close(code, closeReason(reason));
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
}
