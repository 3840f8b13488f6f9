#!/usr/bin/env python3
"""Calls PARL-MT services from Python with message classes built at run time from the
descriptor set that buf produces (shared/gen/parlmt.binpb). No generated Python code.

Usage: parlmt_client.py DESCRIPTOR_SET CALLS_JSON
CALLS_JSON is a list of {"address", "service", "method", "request"}; prints one JSON object
per call: {"ok": true, "response": {...}} or {"ok": false, "code": "NOT_FOUND", "details": ...}.
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory


def load_pool(path):
    fds = descriptor_pb2.FileDescriptorSet.FromString(open(path, "rb").read())
    pool = descriptor_pool.DescriptorPool()
    for file_proto in fds.file:  # buf writes files in dependency order
        pool.Add(file_proto)
    return pool


def message_class(pool, full_name):
    descriptor = pool.FindMessageTypeByName(full_name)
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


def call(pool, spec):
    service = pool.FindServiceByName(spec["service"])
    method = service.FindMethodByName(spec["method"])
    request_cls = message_class(pool, method.input_type.full_name)
    response_cls = message_class(pool, method.output_type.full_name)
    with grpc.insecure_channel(spec["address"]) as channel:
        stub = channel.unary_unary(
            "/%s/%s" % (service.full_name, method.name),
            request_serializer=request_cls.SerializeToString,
            response_deserializer=response_cls.FromString,
        )
        request = json_format.ParseDict(spec.get("request", {}), request_cls())
        try:
            response = stub(request, timeout=10)
        except grpc.RpcError as err:
            return {"ok": False, "code": err.code().name, "details": err.details()}
    return {"ok": True, "response": json_format.MessageToDict(response)}


def main():
    pool = load_pool(sys.argv[1])
    for spec in json.loads(sys.argv[2]):
        print(json.dumps(call(pool, spec)), flush=True)


if __name__ == "__main__":
    main()
