/**
 * Python compatibility for exact re-implementations of Python benchmarks: the Python value
 * model, `json.dumps`/`json.loads`, `repr`, CPython's `random.Random`, operators with
 * Python's types and error texts, and `str` helpers.
 * @module
 */
export * from "./py_value.ts";
export * from "./py_repr.ts";
export * from "./py_json.ts";
export * from "./py_random.ts";
export * from "./py_error.ts";
export * from "./py_ops.ts";
export * from "./py_str.ts";
