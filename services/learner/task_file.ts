/** Reads a curriculum: one `parlmt.v1.Task` per line, in proto3 JSON. */
import { fromJsonString } from "@bufbuild/protobuf";
import { type Task, TaskSchema } from "@parlmt/gen/parlmt/v1/common_pb.ts";

/** The tasks of a JSONL file; errors name the file and line. Duplicate ids are rejected. */
export async function readTaskFile(path: string): Promise<Task[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new RangeError(`Cannot read task file "${path}": ${(err as Error).message}`, {
      cause: err,
    });
  }
  const tasks: Task[] = [];
  const ids = new Set<string>();
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let task: Task;
    try {
      task = fromJsonString(TaskSchema, line);
    } catch (err) {
      throw new SyntaxError(`Invalid task at ${path}:${i + 1}: ${(err as Error).message}`);
    }
    if (!task.id) throw new TypeError(`Invalid task at ${path}:${i + 1}: the id is empty`);
    if (ids.has(task.id)) {
      throw new RangeError(`Duplicate task id "${task.id}" at ${path}:${i + 1}`);
    }
    ids.add(task.id);
    tasks.push(task);
  });
  return tasks;
}
