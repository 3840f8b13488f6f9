/** An async iterator over the messages of a grpc-js readable or duplex stream. */
import type { Readable } from "node:stream";

/**
 * Yields each `data` event of `stream` until `end`, throwing on `error`. Written with events
 * instead of `Readable[Symbol.asyncIterator]` because Deno's polyfill of the latter waits for
 * the writable side of a duplex to finish too, which deadlocks a bidi call that answers each
 * request. Pauses the stream while more than `highWaterMark` messages wait.
 */
export async function* readableMessages(
  stream: Readable,
  highWaterMark = 16,
): AsyncGenerator<unknown> {
  const queue: unknown[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const onData = (message: unknown) => {
    queue.push(message);
    if (queue.length >= highWaterMark) stream.pause();
    notify();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = (error: unknown) => {
    failure = { error };
    notify();
  };
  stream.on("data", onData);
  stream.on("end", onEnd);
  stream.on("error", onError);
  try {
    while (true) {
      if (queue.length > 0) {
        const message = queue.shift();
        if (queue.length < highWaterMark / 2 && stream.isPaused()) stream.resume();
        yield message;
      } else if (failure) {
        throw failure.error;
      } else if (ended) {
        return;
      } else {
        await new Promise<void>((resolve) => (wake = resolve));
      }
    }
  } finally {
    stream.off("data", onData);
    stream.off("end", onEnd);
    stream.off("error", onError);
  }
}
