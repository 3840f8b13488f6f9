/** The package definition that @grpc/reflection reads, built from protobuf-es descriptors. */
import type { DescFile, DescService } from "@bufbuild/protobuf";
import { toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ReflectionService } from "@grpc/reflection";

type PackageDefinition = ConstructorParameters<typeof ReflectionService>[0];

/**
 * Serialised FileDescriptorProtos of the services' files and all their imports, in the shape of
 * a proto-loader package definition (the only part @grpc/reflection reads).
 */
export function reflectionPackage(services: readonly DescService[]): PackageDefinition {
  const files = new Map<string, Uint8Array>();
  const visit = (file: DescFile) => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, toBinary(FileDescriptorProtoSchema, file.proto));
    for (const dep of file.dependencies) visit(dep);
  };
  for (const service of services) visit(service.file);
  const fileDescriptorProtos = [...files.values()];
  const definition: Record<string, unknown> = {};
  for (const service of services) {
    definition[service.typeName] = {
      format: "Protocol Buffers 3 DescriptorProto",
      fileDescriptorProtos,
    };
  }
  return definition as unknown as PackageDefinition;
}
