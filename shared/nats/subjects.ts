/** Every NATS subject, stream and bucket name the project uses, in one place. */

/** Announcements of new weights versions (protobuf `parlmt.v1.WeightsAnnouncement`). */
export const WEIGHTS_ANNOUNCED_SUBJECT = "parlmt.weights.announced.v1";

/** JetStream stream that keeps the last announcements, so late subscribers find the newest. */
export const WEIGHTS_STREAM = "PARLMT_WEIGHTS";

/** JetStream object store bucket that holds weights payloads. */
export const WEIGHTS_BUCKET = "parlmt-weights";

/** Object name of a weights version. */
export function weightsObjectName(version: bigint): string {
  return `weights-v${version.toString().padStart(12, "0")}`;
}
