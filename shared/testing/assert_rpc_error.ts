/** Asserts that a call fails with a given gRPC status code and a message matching a pattern. */
import assert from "node:assert/strict";
import { type Code, codeName, RpcError } from "@parlmt/grpc";

/** Awaits `call` and asserts it rejected with an RpcError of `code` (and a matching message). */
export async function assertRpcError(
  call: Promise<unknown>,
  code: Code,
  pattern?: RegExp,
): Promise<RpcError> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof RpcError, `expected an RpcError, got ${err}`);
    assert.equal(codeName(err.code), codeName(code), err.message);
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail(`expected ${codeName(code)}`);
}
