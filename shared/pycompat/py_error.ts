/**
 * A Python exception raised by emulated Python code.
 * @module
 */

/**
 * A Python exception (`TypeError`, `KeyError`, `ValueError`, ...) raised inside emulated
 * Python code. `message` is Python's `str(e)`, so `"Error during execution: " + e.message`
 * reproduces the BFCL executor's observation text.
 */
export class PyError extends Error {
  /** The Python exception class name, for example `"KeyError"`. */
  readonly pyType: string;

  /** Create a Python exception of type `pyType` whose `str()` is `message`. */
  constructor(pyType: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PyError";
    this.pyType = pyType;
  }
}
