/**
 * The BFCL executor (`execute_multi_turn_func_call`): one set of class instances for a task,
 * and the execution of call strings or parsed calls against it, returning observation strings.
 * @module
 */
import {
  isPyKey,
  pyDeepCopy,
  PyDict,
  PyError,
  pyJsonDumps,
  type PyKey,
  pyNeg,
  pyResultString,
  PySet,
  PyTuple,
  pyTypeName,
  type PyValue,
} from "@parlmt/pycompat";
import { type CallExpr, parseCall, type ParsedCallExpr } from "./call_parser.ts";
import { type BfclEnv, bindArguments } from "./envs/bfcl_env.ts";
import { createEnv, STATELESS_CLASSES } from "./envs/registry.ts";
import { encodeState } from "./state_codec.ts";

/** Names the reference refuses to call (`Function call X is not allowed.`). */
const DENY_LIST = new Set(["kill", "exit", "quit", "remove", "unlink", "popen", "Popen", "run"]);
const MAX_NESTED_CALLS = 32;

/** The prefix of every failed call's observation. */
export const EXECUTION_ERROR_PREFIX = "Error during execution: ";

/** One instance set of a task (the model's or the ground truth's). */
export class Executor {
  readonly #instances: Map<string, BfclEnv>;
  readonly #methodOwner: Map<string, BfclEnv>;

  /**
   * Instantiate `involvedClasses` in order and load each (except MathAPI) with a deep copy of
   * its `initialConfig` entry (missing entries load the class defaults).
   */
  constructor(involvedClasses: readonly string[], initialConfig: PyDict, longContext: boolean) {
    this.#instances = new Map();
    for (const name of involvedClasses) {
      if (this.#instances.has(name)) continue;
      const env = createEnv(name);
      if (!STATELESS_CLASSES.includes(name)) {
        const cfg = initialConfig.get(name);
        env.loadScenario(cfg instanceof PyDict ? pyDeepCopy(cfg) : new PyDict(), longContext);
      }
      this.#instances.set(name, env);
    }
    this.#methodOwner = Executor.#methodMap(this.#instances);
  }

  static #methodMap(instances: Map<string, BfclEnv>): Map<string, BfclEnv> {
    const owner = new Map<string, BfclEnv>();
    for (const env of instances.values()) for (const m of env.methodNames()) owner.set(m, env);
    return owner;
  }

  /** The class instances, by class name, in instantiation order. */
  get instances(): ReadonlyMap<string, BfclEnv> {
    return this.#instances;
  }

  /** The class that owns a method name, if any. */
  ownerOf(method: string): string | undefined {
    return this.#methodOwner.get(method)?.className;
  }

  /** Execute call strings (each a single call in BFCL syntax), one observation per call. */
  executeStrings(calls: readonly string[]): string[] {
    return calls.map((text) => {
      let parsed: ParsedCallExpr;
      try {
        parsed = parseCall(text);
      } catch (err) {
        return EXECUTION_ERROR_PREFIX + (err instanceof Error ? err.message : String(err));
      }
      return this.executeParsed(parsed);
    });
  }

  /** Execute one parsed call; failures become `Error during execution: ...` strings. */
  executeParsed(call: ParsedCallExpr): string {
    try {
      return pyResultString(this.#call(call, 0));
    } catch (err) {
      if (err instanceof PyError) return EXECUTION_ERROR_PREFIX + err.message;
      if (err instanceof RangeError && /call stack/i.test(err.message)) {
        return EXECUTION_ERROR_PREFIX + "maximum recursion depth exceeded";
      }
      return EXECUTION_ERROR_PREFIX + (err instanceof Error ? err.message : String(err));
    }
  }

  #call(call: ParsedCallExpr, depth: number): PyValue {
    if (depth > MAX_NESTED_CALLS) {
      throw new PyError("RecursionError", "maximum recursion depth exceeded");
    }
    const parts = call.name.split(".");
    const checked = parts.length > 1 ? parts[1]! : parts[0]!;
    if (DENY_LIST.has(checked)) {
      throw new PyError("PermissionError", `Function call ${checked} is not allowed.`);
    }
    const owner = parts.length === 1 ? this.#methodOwner.get(call.name) : undefined;
    if (!owner) throw new PyError("NameError", `name '${parts[0]}' is not defined`);
    const args = call.args.map((a) => this.#eval(a, depth));
    const kwargs = call.kwargs.map(([k, v]) => [k, this.#eval(v, depth)] as const);
    const spec = owner.signature(call.name)!;
    const bound = bindArguments(
      `${owner.className}.${call.name}`,
      spec,
      args,
      kwargs,
      owner.className === "TwitterAPI",
    );
    return owner.invoke(call.name, bound);
  }

  #eval(e: CallExpr, depth: number): PyValue {
    switch (e.kind) {
      case "literal":
        return pyDeepCopy(e.value);
      case "name":
        throw new PyError("NameError", `name '${e.id}' is not defined`);
      case "call":
        return this.#call(e.call, depth + 1);
      case "list":
        return e.items.map((x) => this.#eval(x, depth));
      case "tuple":
        return new PyTuple(e.items.map((x) => this.#eval(x, depth)));
      case "set": {
        const s = new PySet();
        for (const x of e.items) s.add(hashable(this.#eval(x, depth)));
        return s;
      }
      case "dict": {
        const d = new PyDict();
        for (const [k, v] of e.entries) d.set(hashable(this.#eval(k, depth)), this.#eval(v, depth));
        return d;
      }
      case "neg":
      case "pos": {
        const v = this.#eval(e.operand, depth);
        const ok = typeof v === "bigint" || typeof v === "number" || typeof v === "boolean";
        if (!ok) {
          throw new PyError(
            "TypeError",
            `bad operand type for unary ${e.kind === "neg" ? "-" : "+"}: '${pyTypeName(v)}'`,
          );
        }
        return e.kind === "neg" ? pyNeg(v) : typeof v === "boolean" ? BigInt(v) : v;
      }
    }
  }

  /** Public state per class (Python values; compare with `pyEquals`). */
  state(): Map<string, PyDict> {
    const out = new Map<string, PyDict>();
    for (const [name, env] of this.#instances) out.set(name, new PyDict(env.publicState()));
    return out;
  }

  /** Public state per class in the oracle's JSON encoding (`json.dumps` text). */
  stateJson(): string {
    const d = new PyDict();
    for (const [name, s] of this.state()) d.set(name, encodeState(s));
    return pyJsonDumps(d);
  }

  /** A deep copy of this instance set (for forking an episode). */
  clone(): Executor {
    const ex = new Executor([], new PyDict(), false);
    for (const [k, env] of this.#instances) ex.#instances.set(k, env.clone());
    for (const [k, v] of Executor.#methodMap(ex.#instances)) ex.#methodOwner.set(k, v);
    return ex;
  }
}

function hashable(v: PyValue): PyKey {
  if (isPyKey(v)) return v;
  throw new PyError("TypeError", `unhashable type: '${pyTypeName(v)}'`);
}
