/**
 * Static shapes. A dimension is a number or a symbolic name (`"batch"`, `"seq"`); graphs built
 * for training use numbers only, inference graphs use names for batch and sequence lengths.
 */

/** One dimension: a size, or a symbolic name for a size known only at run time. */
export type Dim = number | string;

/** A static shape, outermost dimension first, e.g. `[B, T, C]`. */
export type Shape = readonly Dim[];

/** Formats a shape as `[2, "seq", 4]` for error messages. */
export function formatShape(shape: Shape): string {
  return `[${shape.map((d) => JSON.stringify(d)).join(", ")}]`;
}

/** Number of elements, or `undefined` when a dimension is symbolic. */
export function numel(shape: Shape): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== "number") return undefined;
    n *= d;
  }
  return n;
}

/** Whether two shapes are the same dimension by dimension. */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Normalises a possibly negative axis against a rank, throwing a `RangeError` if out of range. */
export function normAxis(axis: number, rank: number, what = "axis"): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    throw new RangeError(`Cannot use ${what} ${axis}: out of range for rank ${rank}`);
  }
  return a;
}

/** Numpy-style broadcast of two shapes, throwing a `RangeError` naming `op` when incompatible. */
export function broadcastShapes(a: Shape, b: Shape, op = "op"): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i - (rank - a.length) >= 0 ? a[i - (rank - a.length)] : 1;
    const db = i - (rank - b.length) >= 0 ? b[i - (rank - b.length)] : 1;
    if (da === db || db === 1) out.push(da!);
    else if (da === 1) out.push(db!);
    else {
      throw new RangeError(
        `Cannot broadcast ${op} shapes ${formatShape(a)} and ${formatShape(b)}: dim ${i}`,
      );
    }
  }
  return out;
}

/** Product of dims as a dim: a number when all are numbers, else a `"a*b"` name. */
export function dimProduct(dims: Shape): Dim {
  const n = numel(dims);
  if (n !== undefined) return n;
  return dims.filter((d) => d !== 1).join("*");
}
