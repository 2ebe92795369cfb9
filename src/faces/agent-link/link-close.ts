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
export function closeReason(text: string): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= 123) return text;
  return `${bytes
    .subarray(0, 120)
    .toString("utf8")
    .replace(/\uFFFD$/, "")}…`;
}
