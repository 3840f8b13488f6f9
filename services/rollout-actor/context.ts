/**
 * What the policy sees at each step (DESIGN.md §3): in `full` mode the whole transcript; in
 * `progress` mode the latest progress block and the messages since it, which removes the
 * contextual redundancy PAG-RL trains away.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type ChatMessageSchema, ContextMode, Role } from "@parlmt/gen/parlmt/v1/common_pb.ts";

/** A transcript message (the actor's own record). */
export interface TranscriptMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  /** For assistant messages: the progress block they opened with, if any. */
  progress?: string;
}

const ROLES = {
  system: Role.SYSTEM,
  user: Role.USER,
  assistant: Role.ASSISTANT,
  tool: Role.TOOL,
} as const;

/** The prompt messages for the next generation. */
export function buildContext(
  transcript: readonly TranscriptMessage[],
  mode: ContextMode,
): MessageInitShape<typeof ChatMessageSchema>[] {
  let window: readonly TranscriptMessage[] = transcript;
  if (mode === ContextMode.PROGRESS) {
    let last = -1;
    transcript.forEach((m, i) => {
      if (m.role === "assistant" && m.progress !== undefined) last = i;
    });
    if (last >= 0) {
      const system = transcript.filter((m, i) => m.role === "system" && i < last);
      // The message with the latest block stands for everything before it (as in the SFT data).
      window = [...system, ...transcript.slice(last)];
    }
  }
  return window.map((m) => ({ role: ROLES[m.role], content: m.content }));
}
