/**
 * A store of live episodes keyed by id, with a time-to-live, a maximum count and fork.
 * @module
 */

/** Raised for an unknown or expired session id. */
export class EpisodeNotFoundError extends Error {
  /** Create the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EpisodeNotFoundError";
  }
}

/** Options for {@linkcode SessionStore}. */
export interface SessionStoreOptions {
  /**
   * Idle time after which a session expires, in milliseconds.
   * @default {600_000}
   */
  ttlMs?: number;
  /**
   * Maximum number of live sessions; creating one more throws `RangeError`.
   * @default {10_000}
   */
  maxSessions?: number;
  /**
   * Clock in milliseconds (inject a fake one in tests).
   * @default {Date.now}
   */
  now?: () => number;
  /**
   * Id generator.
   * @default {crypto.randomUUID}
   */
  newId?: () => string;
}

/** Live episodes by id; every access refreshes the TTL; expired ones are swept lazily. */
/** What a session holds: anything that can be deep-copied for a fork. */
export interface Forkable<E> {
  fork(): E;
}

export class SessionStore<E extends Forkable<E>> {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #newId: () => string;
  readonly #sessions = new Map<string, { episode: E; lastUsedMs: number }>();

  /** Create a store. */
  constructor(options: SessionStoreOptions = {}) {
    const {
      ttlMs = 600_000,
      maxSessions = 10_000,
      now = Date.now,
      newId = () => crypto.randomUUID(),
    } = options;
    if (!(ttlMs > 0)) {
      throw new RangeError(`Cannot create SessionStore: ttlMs must be positive, got ${ttlMs}`);
    }
    if (!Number.isInteger(maxSessions) || maxSessions < 1) {
      throw new RangeError(
        `Cannot create SessionStore: maxSessions must be a positive integer, got ${maxSessions}`,
      );
    }
    this.#ttlMs = ttlMs;
    this.#max = maxSessions;
    this.#now = now;
    this.#newId = newId;
  }

  /** Number of live (unexpired) sessions. */
  get size(): number {
    this.sweep();
    return this.#sessions.size;
  }

  /** Remove expired sessions; returns how many were removed. */
  sweep(): number {
    const now = this.#now();
    let n = 0;
    for (const [id, s] of this.#sessions) {
      if (now - s.lastUsedMs >= this.#ttlMs) {
        this.#sessions.delete(id);
        n++;
      }
    }
    return n;
  }

  /** Store an episode under a new id. Throws `RangeError` when the store is full. */
  add(episode: E): string {
    this.sweep();
    if (this.#sessions.size >= this.#max) {
      throw new RangeError(
        `Cannot create session: the maximum of ${this.#max} sessions is reached`,
      );
    }
    const id = this.#newId();
    this.#sessions.set(id, { episode, lastUsedMs: this.#now() });
    return id;
  }

  /** The episode of a session (refreshing its TTL). Throws `EpisodeNotFoundError`. */
  get(id: string): E {
    const s = this.#sessions.get(id);
    if (!s || this.#now() - s.lastUsedMs >= this.#ttlMs) {
      this.#sessions.delete(id);
      throw new EpisodeNotFoundError(`Cannot find session "${id}": unknown or expired`);
    }
    s.lastUsedMs = this.#now();
    return s.episode;
  }

  /** Deep-copy a session's episode into a new session; returns the new id. */
  fork(id: string): string {
    return this.add(this.get(id).fork());
  }

  /** Close a session; returns whether it existed. */
  close(id: string): boolean {
    return this.#sessions.delete(id);
  }
}
