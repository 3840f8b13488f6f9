/**
 * A scripted user for offline tests and replays (spec §8.4): a fixed first utterance (the
 * instruction by default), then scripted replies, and `###STOP###` after the agent's k-th
 * text message.
 * @module
 */
import type { UserSimulator } from "./user.ts";

/** Options for {@linkcode ScriptedUser}. */
export interface ScriptedUserOptions {
  /**
   * The first utterance; by default the instruction itself.
   * @default {undefined}
   */
  readonly first?: string;
  /**
   * Replies to the agent's text messages, in order; after they run out the user says `ok`.
   * @default {[]}
   */
  readonly replies?: readonly string[];
  /**
   * Say `###STOP###` in answer to the agent's k-th text message (1-based); never when 0.
   * @default {0}
   */
  readonly stopAfter?: number;
}

/** A deterministic user that follows a script. */
export class ScriptedUser implements UserSimulator {
  #options: ScriptedUserOptions;
  #seen = 0;
  /** The agent's text messages received so far. */
  readonly received: string[] = [];

  /** Create a scripted user. */
  constructor(options: ScriptedUserOptions = {}) {
    const { stopAfter = 0 } = options;
    if (!Number.isInteger(stopAfter) || stopAfter < 0) {
      throw new RangeError(`Invalid stopAfter ${stopAfter}: expected a non-negative integer`);
    }
    this.#options = options;
  }

  /** Return the first utterance. */
  reset(instruction: string): Promise<string> {
    this.#seen = 0;
    this.received.length = 0;
    return Promise.resolve(this.#options.first ?? instruction);
  }

  /** Return the next scripted reply (or `###STOP###`). */
  step(content: string): Promise<string> {
    this.received.push(content);
    this.#seen++;
    const { replies = [], stopAfter = 0 } = this.#options;
    if (stopAfter > 0 && this.#seen >= stopAfter) return Promise.resolve("###STOP###");
    return Promise.resolve(replies[this.#seen - 1] ?? "ok");
  }
}
