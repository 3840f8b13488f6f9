/**
 * BFCL `MathAPI` (stateless; docs/bfcl-spec.md §5.2).
 * @module
 */
import {
  isPyNumber,
  pyAbs,
  pyAdd,
  PyDict,
  pyEquals,
  PyError,
  pyIter,
  pyLt,
  pyMul,
  PyOpaque,
  pyPow,
  pyRepr,
  pyRound,
  pyStr,
  pySub,
  pySum,
  pyTrueDiv,
  pyTruthy,
  type PyValue,
  toFloat,
} from "@parlmt/pycompat";
import { type BfclEnv, dict, type MethodDef, params, type ParamSpec } from "./bfcl_env.ts";
import {
  decFrom,
  decSqrt,
  decToStr,
  dpsToPrec,
  fromNumber,
  mpDiv,
  mpLog,
  mpToStr,
  reprDigits,
} from "./_mpf.ts";

const MAX_PRECISION_DIGITS = 5000;
const TO_METERS: [string, number | bigint][] = [
  ["km", 1000n],
  ["m", 1n],
  ["cm", 0.01],
  ["mm", 0.001],
  ["um", 1e-6],
  ["nm", 1e-9],
];
const IMPERIAL: [string, number][] = [
  ["cm_to_in", 0.393701],
  ["in_to_cm", 2.54],
  ["m_to_ft", 3.28084],
  ["ft_to_m", 0.3048],
  ["m_to_yd", 1.09361],
  ["yd_to_m", 0.9144],
  ["km_to_miles", 0.621371],
  ["miles_to_km", 1.60934],
  ["kg_to_lb", 2.20462],
  ["lb_to_kg", 0.453592],
  ["celsius_to_fahrenheit", 1.8],
  ["fahrenheit_to_celsius", 5 / 9],
];

function isRealNumber(v: PyValue): boolean {
  return isPyNumber(v);
}

/** Catch Python's TypeError like `except TypeError: return {"error": msg}`. */
function onTypeError(fn: () => PyValue, message: string): PyValue {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PyError && err.pyType === "TypeError") return dict(["error", message]);
    throw err;
  }
}

function logarithm(value: PyValue, base: PyValue, precision: PyValue): PyValue {
  if (!isPyNumber(precision)) {
    return dict(["error", `'${typeof precision === "string" ? "str" : "object"}' precision`]);
  }
  const dps = Math.trunc(toFloat(precision));
  if (dps > MAX_PRECISION_DIGITS) {
    return dict([
      "error",
      `precision ${dps} exceeds the supported maximum ${MAX_PRECISION_DIGITS}`,
    ]);
  }
  if (!isPyNumber(value) || !isPyNumber(base)) {
    const bad = isPyNumber(value) ? base : value;
    return dict(["error", `cannot create mpf from ${pyRepr(bad)}`]);
  }
  const prec = dpsToPrec(dps);
  const toMpf = (v: boolean | bigint | number) =>
    typeof v === "number" ? fromNumber(v) : { man: BigInt(v), exp: 0 };
  const x = toFloat(value);
  const b = toFloat(base);
  if (!(x > 0) || !(b > 0) || !Number.isFinite(x) || !Number.isFinite(b) || b === 1) {
    // Outside the real, finite case mpmath gives inf/nan/mpc; approximate with doubles.
    const r = Math.log(x) / Math.log(b);
    const text = Number.isNaN(r)
      ? "nan"
      : r === Infinity
      ? "+inf"
      : r === -Infinity
      ? "-inf"
      : String(r);
    return dict(["result", new PyOpaque("mpf", `mpf('${text}')`)]);
  }
  const q = mpDiv(mpLog(toMpf(value), prec), mpLog(toMpf(base), prec), prec);
  return dict(["result", new PyOpaque("mpf", `mpf('${mpToStr(q, reprDigits(prec))}')`)]);
}

function mean(numbers: PyValue): PyValue {
  if (!pyTruthy(numbers)) return dict(["error", "Cannot calculate mean of an empty list"]);
  return onTypeError(
    () => dict(["result", pyTrueDiv(pySum(numbers), BigInt([...pyIter(numbers)].length))]),
    "All elements in the list must be numbers",
  );
}

function standardDeviation(numbers: PyValue): PyValue {
  if (!pyTruthy(numbers)) {
    return dict(["error", "Cannot calculate standard deviation of an empty list"]);
  }
  return onTypeError(() => {
    const items = [...pyIter(numbers)];
    const n = BigInt(items.length);
    const m = pyTrueDiv(pySum(items), n);
    const variance = pyTrueDiv(pySum(items.map((x) => pyPow(pySub(x, m), 2n))), n);
    return dict(["result", Math.sqrt(variance)]);
  }, "All elements in the list must be numbers");
}

function siUnitConversion(value: PyValue, unitIn: PyValue, unitOut: PyValue): PyValue {
  if (!isRealNumber(value)) return dict(["error", "Value must be a number"]);
  const from = TO_METERS.find(([u]) => u === unitIn);
  const to = TO_METERS.find(([u]) => u === unitOut);
  if (!from || !to) {
    return dict([
      "error",
      `Conversion from '${pyStr(unitIn)}' to '${pyStr(unitOut)}' is not supported`,
    ]);
  }
  const inMeters = pyMul(value, from[1]);
  const result = pyMul(inMeters, pyTrueDiv(1n, to[1]));
  if (
    typeof result === "number" && !Number.isFinite(result) &&
    Number.isFinite(toFloat(value as number))
  ) {
    return dict(["error", "Conversion resulted in a value too large to represent"]);
  }
  return dict(["result", result]);
}

function imperialSiConversion(value: PyValue, unitIn: PyValue, unitOut: PyValue): PyValue {
  if (!isRealNumber(value)) return dict(["error", "Value must be a number"]);
  if (pyEquals(unitIn, unitOut)) return dict(["result", value]);
  const key = `${pyStr(unitIn)}_to_${pyStr(unitOut)}`;
  const entry = IMPERIAL.find(([k]) => k === key);
  if (!entry) {
    return dict([
      "error",
      `Conversion from '${pyStr(unitIn)}' to '${pyStr(unitOut)}' is not supported`,
    ]);
  }
  let result: PyValue;
  if (unitIn === "celsius" && unitOut === "fahrenheit") result = pyAdd(pyMul(value, entry[1]), 32n);
  else if (unitIn === "fahrenheit" && unitOut === "celsius") {
    result = pyMul(pySub(value, 32n), entry[1]);
  } else result = pyMul(value, entry[1]);
  return dict(["result", result]);
}

function squareRoot(number: PyValue, precision: PyValue): PyValue {
  const invalid = "Input must be a number or computation resulted in an invalid operation";
  if (!isPyNumber(number)) {
    if (typeof number === "string" || number === null) {
      throw new PyError(
        "TypeError",
        `'<' not supported between instances of '${
          number === null ? "NoneType" : "str"
        }' and 'int'`,
      );
    }
    return dict(["error", invalid]);
  }
  if (pyLt(number, 0n)) return dict(["error", "Cannot calculate square root of a negative number"]);
  if (typeof precision !== "bigint" && typeof precision !== "boolean") {
    return dict(["error", invalid]);
  }
  const prec = Number(precision);
  if (prec < 1 || prec > MAX_PRECISION_DIGITS) {
    throw new PyError("ValueError", "valid range for prec is [1, MAX_PREC]");
  }
  if (typeof number === "number" && !Number.isFinite(number)) return dict(["error", invalid]);
  const d = decFrom(typeof number === "boolean" ? BigInt(number) : number);
  return dict(["result", new PyOpaque("Decimal", `Decimal('${decToStr(decSqrt(d, prec))}')`)]);
}

function minMax(numbers: PyValue, kind: "min" | "max"): PyValue {
  if (!pyTruthy(numbers)) {
    return dict([
      "error",
      `Cannot find ${kind === "min" ? "minimum" : "maximum"} of an empty list`,
    ]);
  }
  return onTypeError(() => {
    let best: PyValue | undefined;
    for (const x of pyIter(numbers)) {
      if (best === undefined || (kind === "min" ? pyLt(x, best) : pyLt(best, x))) best = x;
    }
    return dict(["result", best ?? null]);
  }, "All elements in the list must be numbers");
}

function binary(op: (a: PyValue, b: PyValue) => PyValue, message = "Both inputs must be numbers") {
  return (_: MathAPI, a: PyValue[]) =>
    onTypeError(() => dict(["result", op(a[0]!, a[1]!)]), message);
}

/** Stateless math helpers. */
export class MathAPI implements BfclEnv {
  /** The Python class name. */
  readonly className = "MathAPI";

  loadScenario(_scenario: PyDict, _longContext: boolean): void {
    // Stateless: the reference never loads MathAPI.
  }

  methodNames(): readonly string[] {
    return Object.keys(METHODS);
  }

  signature(name: string): readonly ParamSpec[] | undefined {
    return Object.hasOwn(METHODS, name) ? METHODS[name]!.params : undefined;
  }

  invoke(name: string, args: PyValue[]): PyValue {
    return METHODS[name]!.impl(this, args);
  }

  publicState(): [string, PyValue][] {
    return [];
  }

  clone(): MathAPI {
    return new MathAPI();
  }
}

const METHODS: Record<string, MethodDef<MathAPI>> = {
  absolute_value: {
    params: params(["number"]),
    impl: (_, a) => onTypeError(() => dict(["result", pyAbs(a[0]!)]), "Input must be a number"),
  },
  add: { params: params(["a"], ["b"]), impl: binary(pyAdd) },
  divide: {
    params: params(["a"], ["b"]),
    impl: (_, a) =>
      onTypeError(() => {
        if (isPyNumber(a[1]!) && toFloat(a[1]) === 0) {
          return dict(["error", "Cannot divide by zero"]);
        }
        return dict(["result", pyTrueDiv(a[0]!, a[1]!)]);
      }, "Both inputs must be numbers"),
  },
  imperial_si_conversion: {
    params: params(["value"], ["unit_in"], ["unit_out"]),
    impl: (_, a) => imperialSiConversion(a[0]!, a[1]!, a[2]!),
  },
  logarithm: {
    params: params(["value"], ["base"], ["precision"]),
    impl: (_, a) => logarithm(a[0]!, a[1]!, a[2]!),
  },
  max_value: { params: params(["numbers"]), impl: (_, a) => minMax(a[0]!, "max") },
  mean: { params: params(["numbers"]), impl: (_, a) => mean(a[0]!) },
  min_value: { params: params(["numbers"]), impl: (_, a) => minMax(a[0]!, "min") },
  multiply: {
    params: params(["a"], ["b"]),
    impl: (_, a) => {
      if (!isPyNumber(a[0]!) || !isPyNumber(a[1]!)) {
        return dict(["error", "Both inputs must be numbers"]);
      }
      return dict(["result", pyMul(a[0], a[1])]);
    },
  },
  percentage: {
    params: params(["part"], ["whole"]),
    impl: (_, a) =>
      onTypeError(() => {
        if (isPyNumber(a[1]!) && toFloat(a[1]) === 0) {
          return dict(["error", "Whole value cannot be zero"]);
        }
        return dict(["result", pyMul(pyTrueDiv(a[0]!, a[1]!), 100n)]);
      }, "Both inputs must be numbers"),
  },
  power: { params: params(["base"], ["exponent"]), impl: binary(pyPow) },
  round_number: {
    params: params(["number"], ["decimal_places", 0n]),
    impl: (_, a) =>
      onTypeError(
        () => dict(["result", pyRound(a[0]!, a[1]!)]),
        "First input must be a number, second input must be an integer",
      ),
  },
  si_unit_conversion: {
    params: params(["value"], ["unit_in"], ["unit_out"]),
    impl: (_, a) => siUnitConversion(a[0]!, a[1]!, a[2]!),
  },
  square_root: {
    params: params(["number"], ["precision"]),
    impl: (_, a) => squareRoot(a[0]!, a[1]!),
  },
  standard_deviation: { params: params(["numbers"]), impl: (_, a) => standardDeviation(a[0]!) },
  subtract: { params: params(["a"], ["b"]), impl: binary(pySub) },
  sum_values: {
    params: params(["numbers"]),
    impl: (_, a) => {
      if (!pyTruthy(a[0]!)) return dict(["error", "Cannot calculate sum of an empty list"]);
      return onTypeError(
        () => dict(["result", pySum(a[0]!)]),
        "All elements in the list must be numbers",
      );
    },
  },
};
