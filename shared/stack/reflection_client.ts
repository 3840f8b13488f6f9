/** Server reflection queries against a running service (what grpcurl does). */
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  ServerReflection,
  type ServerReflectionRequestSchema,
  type ServerReflectionResponse,
} from "@parlmt/gen/grpc/reflection/v1/reflection_pb.ts";
import { createClient } from "@parlmt/grpc";

type ReflectionRequest = MessageInitShape<typeof ServerReflectionRequestSchema>;

async function* single(request: ReflectionRequest) {
  yield request;
}

/** Sends one reflection request and returns the first response. */
export async function reflect(
  address: string,
  request: ReflectionRequest,
  timeoutMs = 5000,
): Promise<ServerReflectionResponse> {
  const client = createClient(ServerReflection, address, { timeoutMs });
  try {
    for await (const res of client.serverReflectionInfo(single(request))) return res;
    throw new Error(`No reflection response from ${address}`);
  } finally {
    client.close();
  }
}

/** The fully qualified names of the services a server lists. */
export async function listServices(address: string): Promise<string[]> {
  const res = await reflect(address, { messageRequest: { case: "listServices", value: "*" } });
  if (res.messageResponse.case !== "listServicesResponse") {
    throw new Error(`Unexpected reflection answer "${res.messageResponse.case}" from ${address}`);
  }
  return res.messageResponse.value.service.map((s) => s.name);
}
