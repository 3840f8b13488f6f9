/**
 * The user simulator interface of a τ-bench episode (the reference's `BaseUserSimulationEnv`).
 * @module
 */

/** A simulated user. */
export interface UserSimulator {
  /** Start a conversation for `instruction`; returns the user's first utterance. */
  reset(instruction: string, signal?: AbortSignal): Promise<string>;
  /** Give the user the agent's text reply; returns the user's answer. */
  step(content: string, signal?: AbortSignal): Promise<string>;
}
