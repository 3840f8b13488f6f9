/**
 * The contract shared by the eight BFCL environment classes, and Python argument binding.
 * @module
 */
import {
  keyError,
  pyDeepCopy,
  PyDict,
  PyError,
  type PyKey,
  PyRandom,
  pyTypeName,
  type PyValue,
} from "@parlmt/pycompat";

/** One parameter of a method, in Python signature order. */
export interface ParamSpec {
  /** The parameter name. */
  readonly name: string;
  /** Whether the parameter has a default (then `defaultValue` is used when it is not passed). */
  readonly hasDefault: boolean;
  /** The default value (deep-copied per call unless `sharedDefault` is set). */
  readonly defaultValue?: PyValue;
}

/** A method implementation: receives arguments bound in signature order. */
export type MethodImpl<T> = (self: T, args: PyValue[]) => PyValue;

/** A method table entry: its signature and implementation. */
export interface MethodDef<T> {
  /** Parameters in signature order (without `self`). */
  readonly params: readonly ParamSpec[];
  /** The implementation. */
  readonly impl: MethodImpl<T>;
}

/** One environment class instance (the Python object the BFCL executor keeps per task). */
export interface BfclEnv {
  /** The Python class name, for example `"GorillaFileSystem"`. */
  readonly className: string;
  /** `_load_scenario(deepcopy(config), long_context)`; MathAPI ignores it. */
  loadScenario(scenario: PyDict, longContext: boolean): void;
  /** The public method names (the tools this class offers). */
  methodNames(): readonly string[];
  /** The signature of a public method, or `undefined` if the class has no such method. */
  signature(name: string): readonly ParamSpec[] | undefined;
  /** Call a public method with arguments already bound in signature order. May throw `PyError`. */
  invoke(name: string, args: PyValue[]): PyValue;
  /**
   * The public attributes (`vars(self)` without `_`-prefixed names) in assignment order.
   * File-system nodes are encoded as `{"__File__": ...}` / `{"__Directory__": ...}` dicts, so
   * Python equality of the state is `pyEquals` on these values.
   */
  publicState(): [string, PyValue][];
  /** A deep copy with independent state (aliasing inside the instance is preserved). */
  clone(): BfclEnv;
}

/** Build a parameter list from `[name]` (required) and `[name, default]` entries. */
export function params(...specs: ([string] | [string, PyValue])[]): ParamSpec[] {
  return specs.map((s) =>
    s.length === 1
      ? { name: s[0], hasDefault: false }
      : { name: s[0], hasDefault: true, defaultValue: s[1] }
  );
}

function joinNames(names: string[]): string {
  const q = names.map((n) => `'${n}'`);
  if (q.length === 1) return q[0]!;
  if (q.length === 2) return `${q[0]} and ${q[1]}`;
  return `${q.slice(0, -1).join(", ")}, and ${q[q.length - 1]}`;
}

/**
 * Bind positional and keyword arguments to a signature the way CPython does, raising
 * CPython's `TypeError` texts (`GorillaFileSystem.cd() missing 1 required positional
 * argument: 'folder'`). Defaults are deep-copied unless `shareDefaults` is given, in which
 * case the very same default objects are passed (Python's shared mutable defaults).
 */
export function bindArguments(
  qualname: string,
  spec: readonly ParamSpec[],
  args: readonly PyValue[],
  kwargs: readonly (readonly [string, PyValue])[],
  shareDefaults = false,
): PyValue[] {
  const bound: (PyValue | undefined)[] = new Array(spec.length).fill(undefined);
  for (let i = 0; i < Math.min(args.length, spec.length); i++) bound[i] = args[i];
  for (const [key, value] of kwargs) {
    const idx = spec.findIndex((p) => p.name === key);
    if (idx < 0) {
      throw new PyError("TypeError", `${qualname}() got an unexpected keyword argument '${key}'`);
    }
    if (bound[idx] !== undefined) {
      throw new PyError("TypeError", `${qualname}() got multiple values for argument '${key}'`);
    }
    bound[idx] = value;
  }
  if (args.length > spec.length) {
    const required = spec.filter((p) => !p.hasDefault).length;
    const takes = required === spec.length
      ? `${spec.length + 1} positional argument${spec.length === 0 ? "" : "s"}`
      : `from ${required + 1} to ${spec.length + 1} positional arguments`;
    const given = args.length + 1;
    throw new PyError(
      "TypeError",
      `${qualname}() takes ${takes} but ${given} ${given === 1 ? "was" : "were"} given`,
    );
  }
  const missing = spec.filter((p, i) => bound[i] === undefined && !p.hasDefault).map((p) => p.name);
  if (missing.length > 0) {
    throw new PyError(
      "TypeError",
      `${qualname}() missing ${missing.length} required positional argument${
        missing.length === 1 ? "" : "s"
      }: ${joinNames(missing)}`,
    );
  }
  return spec.map((p, i) => {
    const v = bound[i];
    if (v !== undefined) return v;
    const d = p.defaultValue ?? null;
    return shareDefaults ? d : pyDeepCopy(d);
  });
}

/** `scenario.get(key, default)` (the value is used as is, like the reference). */
export function scenarioGet(scenario: PyDict, key: PyKey, fallback: PyValue): PyValue {
  return scenario.has(key) ? scenario.get(key)! : fallback;
}

/** Require a dict-typed value or raise Python's AttributeError for `.attr`. */
export function requireDict(v: PyValue, attribute: string): PyDict {
  if (v instanceof PyDict) return v;
  throw new PyError("AttributeError", `'${pyTypeName(v)}' object has no attribute '${attribute}'`);
}

/** Python `v[key]` on a dict: `KeyError` when missing, `TypeError` when `v` is not a dict. */
export function subscript(v: PyValue, key: PyKey): PyValue {
  if (v instanceof PyDict) {
    const x = v.get(key);
    if (x === undefined) throw keyError(key);
    return x;
  }
  throw new PyError("TypeError", `'${pyTypeName(v)}' object is not subscriptable`);
}

/** A `{key: value}` dict literal with insertion order. */
export function dict(...entries: [PyKey, PyValue][]): PyDict {
  return new PyDict(entries);
}

/**
 * Base of the stateful classes: the instance attributes live in one insertion-ordered dict
 * (`vars(self)` order), the seeded generator beside them.
 */
export abstract class StatefulEnv<Self extends StatefulEnv<Self>> implements BfclEnv {
  abstract readonly className: string;
  /** `vars(self)`: attribute name → value (names starting with `_` are private). */
  protected attrs = new PyDict();
  /** `self._random`, when the class has one. */
  protected random: PyRandom | undefined;

  protected abstract methods(): Record<string, MethodDef<Self>>;
  protected abstract create(): Self;
  abstract loadScenario(scenario: PyDict, longContext: boolean): void;

  /** Read an attribute. */
  protected get(name: string): PyValue {
    return this.attrs.get(name) ?? null;
  }

  /** Assign an attribute. */
  protected set(name: string, value: PyValue): void {
    this.attrs.set(name, value);
  }

  /** `self._random` (created by `_load_scenario`). */
  protected rng(): PyRandom {
    if (!this.random) {
      throw new PyError("AttributeError", `'${this.className}' object has no attribute '_random'`);
    }
    return this.random;
  }

  methodNames(): readonly string[] {
    return Object.keys(this.methods());
  }

  signature(name: string): readonly ParamSpec[] | undefined {
    const m = this.methods();
    return Object.hasOwn(m, name) ? m[name]!.params : undefined;
  }

  invoke(name: string, args: PyValue[]): PyValue {
    return this.methods()[name]!.impl(this as unknown as Self, args);
  }

  publicState(): [string, PyValue][] {
    return [...this.attrs].filter(([k]) => !String(k).startsWith("_")) as [string, PyValue][];
  }

  clone(): Self {
    const copy = this.create();
    copy.attrs = pyDeepCopy(this.attrs);
    copy.random = this.random ? PyRandom.fromState(this.random.getState()) : undefined;
    this.cloneExtra(copy);
    return copy;
  }

  /** Copy extra private fields in `clone()`. */
  protected cloneExtra(_copy: Self): void {}
}
