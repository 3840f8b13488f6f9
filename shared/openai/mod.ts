/** A client of OpenAI-compatible chat endpoints. */
export * from "./chat_completions.ts";
