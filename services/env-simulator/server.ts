/** The EnvService handlers: a thin proto <-> domain adapter over the session store. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  Benchmark,
  type CheckResultSchema,
  type FunctionDocSchema,
  Role,
  type Task,
  type TaskSchema,
} from "@parlmt/gen/parlmt/v1/common_pb.ts";
import type { EnvService } from "@parlmt/gen/parlmt/v1/env_pb.ts";
import {
  createTauSession,
  type DefaultUser,
  parseTauTaskId,
  tauCheck,
  tauOpening,
  TauSession,
  tauTaskSummaries,
  tauTools,
} from "./tau_sessions.ts";
import { dbHash, loadTasks } from "./taubench/mod.ts";
import { Code, RpcError, type ServiceImpl } from "@parlmt/grpc";
import { parsePyJson, PyDict, pyJsonDumps } from "@parlmt/pycompat";
import type { EnvConfig } from "./config.ts";
import {
  BFCL_CATEGORIES,
  type BfclTask,
  type CheckResult,
  createEpisode,
  type Episode,
  EpisodeDoneError,
  EpisodeNotFoundError,
  EXECUTION_ERROR_PREFIX,
  type FunctionDoc,
  getTask,
  type InlineTask,
  listTasks,
  MAXIMUM_STEP_LIMIT,
  type ParsedCallExpr,
  type SessionStore,
} from "./mod.ts";

/** A BFCL episode in the session store. */
export class BfclSession {
  readonly kind = "bfcl";
  constructor(readonly episode: Episode) {}
  fork(): BfclSession {
    return new BfclSession(this.episode.fork());
  }
}

/** What a session holds. */
export type EnvSession = BfclSession | TauSession;

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

/** Maps the env-simulator's domain errors to status codes. */
export function envErrorMapper(err: unknown): RpcError | undefined {
  if (err instanceof EpisodeNotFoundError) {
    return new RpcError(Code.NOT_FOUND, err.message, { cause: err });
  }
  if (err instanceof EpisodeDoneError) {
    return new RpcError(Code.FAILED_PRECONDITION, err.message, { cause: err });
  }
  return undefined;
}

function invalid(err: unknown, what: string): RpcError {
  if (err instanceof RpcError) return err;
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) {
    return new RpcError(Code.INVALID_ARGUMENT, `${what}: ${err.message}`, { cause: err });
  }
  throw err;
}

function toolDoc(doc: FunctionDoc): MessageInitShape<typeof FunctionDocSchema> {
  return {
    name: doc.name,
    description: doc.description,
    parametersJson: JSON.stringify(doc.parameters),
    responseJson: doc.response ? JSON.stringify(doc.response) : "",
  };
}

function userMessages(episode: Episode, turn?: number) {
  return episode.userMessages(turn).map((m) => ({
    role: m.role === "user" ? Role.USER : m.role === "system" ? Role.SYSTEM : Role.ASSISTANT,
    content: m.content,
  }));
}

function summary(task: BfclTask) {
  return {
    id: task.id,
    benchmark: Benchmark.BFCL,
    category: task.category,
    involvedClasses: [...task.involvedClasses],
    turnCount: task.question.length,
  };
}

function fullTask(task: BfclTask): MessageInitShape<typeof TaskSchema> {
  return {
    ...summary(task),
    initialConfigJson: pyJsonDumps(task.initialConfig),
    turns: task.question.map((messages, t) => ({
      userMessages: messages.map((m) => ({
        role: m.role === "user" ? Role.USER : Role.SYSTEM,
        content: m.content,
      })),
      groundTruthCalls: [...(task.groundTruth[t] ?? [])],
      revealedFunctions: [...(task.missedFunction.get(t) ?? [])],
    })),
  };
}

function checkResult(result: CheckResult): MessageInitShape<typeof CheckResultSchema> {
  return {
    success: result.valid,
    errorType: result.errorType ?? "",
    turns: result.turns.map((d) => ({
      turnIndex: d.turn,
      stateOk: d.stateMismatches.length === 0,
      responseOk: d.missingResults.length === 0,
      message: d.stateMismatches.length > 0 || d.missingResults.length > 0
        ? (result.errorMessage ?? "")
        : "",
    })),
    reward: result.valid ? 1 : 0,
    detailsJson: JSON.stringify({ errorMessage: result.errorMessage ?? "", turns: result.turns }),
  };
}

/** An inline task in BFCL's record format (`id`, `question`, `involved_classes`, ...). */
export function inlineTaskFromJson(text: string): InlineTask {
  let plain: unknown;
  try {
    plain = JSON.parse(text);
  } catch (err) {
    throw new SyntaxError(`task_json is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof plain !== "object" || plain === null || Array.isArray(plain)) {
    throw new TypeError("task_json must be a JSON object");
  }
  // Parse again with Python semantics so the initial state keeps int vs float (1 vs 1.0).
  const py = parsePyJson(text);
  const initial = py instanceof PyDict ? py.get("initial_config") : undefined;
  if (initial !== undefined && !(initial instanceof PyDict)) {
    throw new TypeError('Field "initial_config" must be an object');
  }
  return { ...(plain as InlineTask), initial_config: initial };
}

/**
 * A Task message (e.g. a synthetic curriculum task) as an inline BFCL task: user messages and
 * ground truth per turn, functions revealed per turn (miss_func), the initial state parsed with
 * Python types, and long_context from the category.
 */
export function inlineTaskFromProto(task: Task): InlineTask {
  let initial: unknown = undefined;
  if (task.initialConfigJson) {
    initial = parsePyJson(task.initialConfigJson);
    if (!(initial instanceof PyDict)) {
      throw new TypeError('Field "initial_config_json" must be an object');
    }
  }
  const missed: Record<string, string[]> = {};
  task.turns.forEach((turn, t) => {
    if (turn.revealedFunctions.length > 0) missed[String(t)] = [...turn.revealedFunctions];
  });
  return {
    id: task.id,
    question: task.turns.map((turn) =>
      turn.userMessages.map((m) => ({
        role: m.role === Role.SYSTEM ? "system" : "user",
        content: m.content,
      }))
    ),
    involved_classes: [...task.involvedClasses],
    initial_config: initial as PyDict | undefined,
    missed_function: missed,
    ground_truth: task.turns.map((turn) => [...turn.groundTruthCalls]),
    long_context: task.category.includes("long_context"),
    offered_functions: [...task.offeredFunctions],
  };
}

/** A call with JSON keyword arguments as a parsed call expression (nothing is evaluated). */
export function callFromJson(name: string, argumentsJson: string): ParsedCallExpr {
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) {
    throw new TypeError(`Invalid function name ${JSON.stringify(name.slice(0, 100))}`);
  }
  const args = argumentsJson.trim() === "" ? new PyDict() : parsePyJson(argumentsJson);
  if (!(args instanceof PyDict)) {
    throw new TypeError(`arguments_json of "${name}" must be a JSON object`);
  }
  const kwargs: [string, { kind: "literal"; value: never }][] = [];
  for (const [key, value] of args.entries()) {
    kwargs.push([String(key), { kind: "literal", value: value as never }]);
  }
  return { name, args: [], kwargs };
}

function bfcl(session: EnvSession, rpc: string): Episode {
  if (session.kind !== "bfcl") {
    throw new RpcError(
      Code.FAILED_PRECONDITION,
      `${rpc} is for BFCL sessions; this is a τ-bench session`,
    );
  }
  return session.episode;
}

const TAU_CATEGORIES = ["retail", "airline"];

/** The EnvService handlers over `store`. */
export function envService(
  store: SessionStore<EnvSession>,
  config: EnvConfig,
): ServiceImpl<typeof EnvService> {
  const defaultUser: DefaultUser = {
    baseUrl: config.userBaseUrl,
    model: config.userModel,
    apiKey: config.userApiKey,
  };
  const add = (session: EnvSession) => {
    try {
      return store.add(session);
    } catch (err) {
      if (err instanceof RangeError) throw new RpcError(Code.RESOURCE_EXHAUSTED, err.message);
      throw err;
    }
  };
  const checkSize = (what: string, text: string, limit: number) => {
    if (text.length > limit) {
      throw new RpcError(
        Code.RESOURCE_EXHAUSTED,
        `${what} of ${text.length} characters exceeds the limit of ${limit}`,
      );
    }
  };
  return {
    listTasks(req) {
      const wantBfcl = req.benchmark === Benchmark.UNSPECIFIED || req.benchmark === Benchmark.BFCL;
      const wantTau = req.benchmark === Benchmark.UNSPECIFIED ||
        req.benchmark === Benchmark.TAUBENCH;
      const known = [...(wantBfcl ? BFCL_CATEGORIES : []), ...(wantTau ? TAU_CATEGORIES : [])];
      if (req.category && !known.includes(req.category)) {
        throw new RpcError(
          Code.INVALID_ARGUMENT,
          `Unknown category "${req.category}": expected one of ${known.join(", ")}`,
        );
      }
      const all = [
        ...(wantBfcl &&
            (!req.category || (BFCL_CATEGORIES as readonly string[]).includes(req.category))
          ? listTasks(req.category || undefined).map(summary)
          : []),
        ...(wantTau && (!req.category || TAU_CATEGORIES.includes(req.category))
          ? tauTaskSummaries(req.category || undefined)
          : []),
      ];
      const offset = req.pageToken ? Number(req.pageToken) : 0;
      if (!Number.isInteger(offset) || offset < 0) {
        throw new RpcError(Code.INVALID_ARGUMENT, `Invalid page_token "${req.pageToken}"`);
      }
      const size = Math.min(req.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      const next = offset + size < all.length ? String(offset + size) : "";
      return { tasks: all.slice(offset, offset + size), nextPageToken: next, total: all.length };
    },
    getTask(req) {
      const tau = parseTauTaskId(req.taskId);
      if (tau) {
        const t = loadTasks(tau.domain, tau.split)[tau.taskIndex];
        if (!t) throw new RpcError(Code.NOT_FOUND, `Unknown task id "${req.taskId}"`);
        return {
          task: {
            id: req.taskId,
            benchmark: Benchmark.TAUBENCH,
            category: tau.domain,
            involvedClasses: [tau.domain],
            turns: [{
              userMessages: [{ role: Role.USER, content: t.instruction }],
              groundTruthCalls: t.actions.map((a) => `${a.name}(${pyJsonDumps(a.kwargs)})`),
            }],
            split: tau.split,
            sourceJson: JSON.stringify({
              user_id: t.userId,
              instruction: t.instruction,
              outputs: t.outputs,
            }),
          },
        };
      }
      const task = getTask(req.taskId);
      if (!task) throw new RpcError(Code.NOT_FOUND, `Unknown task id "${req.taskId}"`);
      return { task: fullTask(task) };
    },
    async createSession(req) {
      if (req.source.case === "taskId" && parseTauTaskId(req.source.value)) {
        const session = await createTauSession(
          { taskId: req.source.value },
          req.user,
          defaultUser,
          config.tauMaxSteps,
        );
        return {
          sessionId: add(session),
          task: tauTaskSummaries().find((t) => t.id === req.source.value),
          userMessages: tauOpening(session),
          tools: tauTools(session),
        };
      }
      if (req.source.case === "taskJson") {
        checkSize("task_json", req.source.value, config.maxTaskJsonChars);
      }
      if (req.source.case === "taskJson" && req.user?.kind.case !== undefined) {
        // An inline τ-bench task: {"domain": "retail", "task": {...}}.
        let parsed: { domain?: unknown; task?: unknown };
        try {
          parsed = JSON.parse(req.source.value);
        } catch (err) {
          throw new RpcError(
            Code.INVALID_ARGUMENT,
            `Invalid task_json: not valid JSON: ${(err as Error).message}`,
          );
        }
        const session = await createTauSession(
          { domain: String(parsed?.domain), task: parsed?.task },
          req.user,
          defaultUser,
          config.tauMaxSteps,
        );
        return {
          sessionId: add(session),
          userMessages: tauOpening(session),
          tools: tauTools(session),
        };
      }
      let episode: Episode;
      if (req.source.case === "taskId") {
        const id = req.source.value;
        if (!getTask(id)) throw new RpcError(Code.NOT_FOUND, `Unknown task id "${id}"`);
        episode = createEpisode(id);
      } else if (req.source.case === "taskJson") {
        try {
          episode = createEpisode(inlineTaskFromJson(req.source.value));
        } catch (err) {
          throw invalid(err, "Invalid task_json");
        }
      } else if (req.source.case === "task") {
        try {
          episode = createEpisode(inlineTaskFromProto(req.source.value));
        } catch (err) {
          throw invalid(err, "Invalid task");
        }
      } else {
        throw new RpcError(Code.INVALID_ARGUMENT, "CreateSession needs task_id, task_json or task");
      }
      return {
        sessionId: add(new BfclSession(episode)),
        task: summary(episode.task),
        userMessages: userMessages(episode),
        tools: episode.tools().map(toolDoc),
      };
    },
    getTools(req) {
      const session = store.get(req.sessionId);
      if (session.kind === "tau") return { tools: tauTools(session), turnIndex: 0 };
      const episode = session.episode;
      const turn = req.turnIndex ?? episode.turn;
      if (turn >= episode.task.question.length) {
        throw new RpcError(
          Code.INVALID_ARGUMENT,
          `turn_index ${turn} is out of range: the task has ${episode.task.question.length} turns`,
        );
      }
      return { tools: episode.tools(turn).map(toolDoc), turnIndex: turn };
    },
    async execute(req) {
      const session = store.get(req.sessionId);
      if (session.kind === "tau") {
        if (req.calls.case !== "toolCalls" || req.calls.value.calls.length !== 1) {
          throw new RpcError(
            Code.INVALID_ARGUMENT,
            "A τ-bench step is exactly one call in tool_calls (name and arguments_json)",
          );
        }
        const call = req.calls.value.calls[0]!;
        checkSize(`arguments_json of "${call.name}"`, call.argumentsJson, config.maxCallChars);
        const r = await session.episode.step({
          kind: "tool_call",
          name: call.name,
          arguments: call.argumentsJson,
        });
        return {
          results: [{ call, output: r.observation, isError: r.observation.startsWith("Error") }],
          stepsUsed: session.episode.numSteps,
          stepLimit: config.tauMaxSteps,
          forceTerminated: session.episode.endReason === "max_steps",
        };
      }
      const episode = session.episode;
      let calls: string | ParsedCallExpr[];
      try {
        if (req.calls.case === "source") {
          checkSize("Call text", req.calls.value, config.maxCallChars);
          calls = req.calls.value;
        } else if (req.calls.case === "toolCalls") {
          calls = req.calls.value.calls.map((c) => {
            checkSize(`arguments_json of "${c.name}"`, c.argumentsJson, config.maxCallChars);
            return callFromJson(c.name, c.argumentsJson);
          });
        } else {
          throw new RpcError(Code.INVALID_ARGUMENT, "Execute needs source or tool_calls");
        }
      } catch (err) {
        throw invalid(err, "Invalid calls");
      }
      let record;
      try {
        record = episode.step(calls);
      } catch (err) {
        if (err instanceof SyntaxError) throw invalid(err, "Cannot parse calls");
        throw err;
      }
      return {
        results: record.calls.map((source, i) => ({
          call: { name: source.slice(0, source.indexOf("(")), source },
          output: record.results[i]!,
          isError: record.results[i]!.startsWith(EXECUTION_ERROR_PREFIX),
        })),
        stepsUsed: episode.trajectory()[episode.turn]?.length ?? 0,
        stepLimit: MAXIMUM_STEP_LIMIT,
        forceTerminated: episode.forceTerminated,
      };
    },
    async reply(req) {
      const session = store.get(req.sessionId);
      if (session.kind !== "tau") {
        throw new RpcError(
          Code.FAILED_PRECONDITION,
          "Reply is for τ-bench sessions; a BFCL turn ends with AdvanceTurn",
        );
      }
      checkSize("Reply text", req.text, config.maxCallChars);
      const r = await session.episode.step({ kind: "respond", content: req.text });
      return {
        userMessages: r.done ? [] : [{ role: Role.USER, content: r.observation }],
        done: r.done,
      };
    },
    advanceTurn(req) {
      const episode = bfcl(store.get(req.sessionId), "AdvanceTurn");
      episode.advanceTurn();
      if (episode.done) return { turnIndex: episode.turn, done: true };
      return {
        turnIndex: episode.turn,
        userMessages: userMessages(episode),
        tools: episode.tools().map(toolDoc),
        done: false,
      };
    },
    getState(req) {
      const session = store.get(req.sessionId);
      if (session.kind === "tau") {
        return { stateJson: JSON.stringify({ db_hash: dbHash(session.episode.db) }), turnIndex: 0 };
      }
      return { stateJson: session.episode.stateJson(), turnIndex: session.episode.turn };
    },
    evaluate(req) {
      const session = store.get(req.sessionId);
      if (session.kind === "tau") return { result: tauCheck(session) };
      return { result: checkResult(session.episode.evaluate()) };
    },
    forkSession(req) {
      try {
        return { sessionId: store.fork(req.sessionId) };
      } catch (err) {
        if (err instanceof RangeError) throw new RpcError(Code.RESOURCE_EXHAUSTED, err.message);
        throw err;
      }
    },
    closeSession(req) {
      if (!store.close(req.sessionId)) {
        throw new RpcError(
          Code.NOT_FOUND,
          `Cannot close session "${req.sessionId}": unknown or expired`,
        );
      }
      return {};
    },
  };
}
