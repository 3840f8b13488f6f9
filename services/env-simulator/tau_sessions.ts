/**
 * τ-bench sessions behind EnvService: task ids, creation with a simulated user, one tool call
 * or one text reply per step, and the reward as the checker verdict.
 *
 * Task ids are `taubench_<domain>_<split>_<index>`, e.g. `taubench_retail_test_0`.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  Benchmark,
  type CheckResultSchema,
  type FunctionDocSchema,
  Role,
} from "@parlmt/gen/parlmt/v1/common_pb.ts";
import type { UserSimulatorSpec } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import { Code, RpcError } from "@parlmt/grpc";
import {
  type Domain,
  DOMAINS,
  LlmUserSimulator,
  loadTasks,
  ScriptedUser,
  type Split,
  SPLITS,
  TauEpisode,
  type UserSimulator,
} from "./taubench/mod.ts";

/** The user simulator the service falls back to when a request names none. */
export interface DefaultUser {
  baseUrl: string;
  model: string;
  apiKey: string;
}

/** A τ-bench episode in the session store (it cannot be forked: the user's chat is external). */
export class TauSession {
  readonly kind = "tau";
  constructor(readonly episode: TauEpisode) {}
  fork(): TauSession {
    throw new RpcError(
      Code.FAILED_PRECONDITION,
      "Cannot fork a τ-bench session: its simulated user's conversation cannot be copied",
    );
  }
}

const ID = /^taubench_(retail|airline)_(test|train|dev)_(\d+)$/;

/** Parses a τ-bench task id, or undefined when `id` is not one. */
export function parseTauTaskId(
  id: string,
): { domain: Domain; split: Split; taskIndex: number } | undefined {
  const m = ID.exec(id);
  if (!m) return undefined;
  return { domain: m[1] as Domain, split: m[2] as Split, taskIndex: Number(m[3]) };
}

/** Summaries of the vendored τ-bench tasks, optionally of one domain. */
export function tauTaskSummaries(domain?: string) {
  const out = [];
  for (const d of DOMAINS) {
    if (domain && d !== domain) continue;
    for (const split of SPLITS[d]) {
      const tasks = loadTasks(d, split);
      for (let i = 0; i < tasks.length; i++) {
        out.push({
          id: `taubench_${d}_${split}_${i}`,
          benchmark: Benchmark.TAUBENCH,
          category: d,
          involvedClasses: [d],
          turnCount: 0,
        });
      }
    }
  }
  return out;
}

function userFor(spec: UserSimulatorSpec | undefined, fallback: DefaultUser): UserSimulator {
  if (spec?.kind.case === "scripted") {
    const s = spec.kind.value;
    return new ScriptedUser({
      first: s.first || undefined,
      replies: s.replies,
      stopAfter: s.stopAfter,
    });
  }
  const llm = spec?.kind.case === "llm" ? spec.kind.value : undefined;
  const baseUrl = llm?.baseUrl || fallback.baseUrl;
  if (!baseUrl) {
    throw new RpcError(
      Code.FAILED_PRECONDITION,
      "No user simulator: pass user.llm or user.scripted, or start the service with --user-base-url",
    );
  }
  return new LlmUserSimulator({
    baseUrl,
    model: llm?.model || fallback.model,
    apiKey: llm?.apiKey || fallback.apiKey || undefined,
  });
}

/** Starts a τ-bench episode for a task id, or for an inline task of `domain`. */
export async function createTauSession(
  source: { taskId: string } | { domain: string; task: unknown },
  user: UserSimulatorSpec | undefined,
  fallback: DefaultUser,
  maxSteps: number,
): Promise<TauSession> {
  const simulator = userFor(user, fallback);
  if ("taskId" in source) {
    const ref = parseTauTaskId(source.taskId);
    if (!ref) throw new RpcError(Code.NOT_FOUND, `Unknown task id "${source.taskId}"`);
    try {
      return new TauSession(await TauEpisode.create(ref, { user: simulator, maxSteps }));
    } catch (err) {
      if (err instanceof RangeError) throw new RpcError(Code.NOT_FOUND, err.message);
      throw err;
    }
  }
  if (!(DOMAINS as readonly string[]).includes(source.domain)) {
    throw new RpcError(Code.INVALID_ARGUMENT, `Unknown τ-bench domain "${source.domain}"`);
  }
  try {
    return new TauSession(
      await TauEpisode.create({ domain: source.domain as Domain, task: source.task }, {
        user: simulator,
        maxSteps,
      }),
    );
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) {
      throw new RpcError(Code.INVALID_ARGUMENT, `Invalid task_json: ${err.message}`);
    }
    throw err;
  }
}

/** The agent's tools, from the domain's OpenAI `tools` list. */
export function tauTools(session: TauSession): MessageInitShape<typeof FunctionDocSchema>[] {
  return session.episode.toolsInfo.map((info) => {
    const fn =
      (info as { function?: { name?: string; description?: string; parameters?: unknown } })
        .function ?? {};
    return {
      name: fn.name ?? "",
      description: fn.description ?? "",
      parametersJson: JSON.stringify(fn.parameters ?? {}),
      className: session.episode.domain,
    };
  });
}

/** The agent's system prompt (the domain's policy) and the user's first utterance. */
export function tauOpening(session: TauSession) {
  return [
    { role: Role.SYSTEM, content: session.episode.wiki },
    { role: Role.USER, content: session.episode.firstObservation },
  ];
}

/** The verdict: the reward and its details. */
export function tauCheck(session: TauSession): MessageInitShape<typeof CheckResultSchema> {
  const e = session.episode;
  return {
    success: e.done && e.reward === 1,
    reward: e.reward,
    errorType: e.done ? "" : "taubench:episode_not_finished",
    detailsJson: JSON.stringify({
      endReason: e.endReason ?? null,
      numSteps: e.numSteps,
      reward: e.rewardResult ?? null,
    }, (
      _k,
      v,
    ) => (typeof v === "bigint" ? v.toString() : v)),
  };
}
