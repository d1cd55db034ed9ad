#!/usr/bin/python3
"""Reads a TensorBoard event file with python3-protobuf (Debian) and prints its scalars as JSON
lines {"step", "tag", "value"} after checking every record's masked CRC32C. The Event, Summary
and Value messages are declared here with their TensorBoard field numbers, so no tensorboard
package is needed.  Usage: read_tfevents.py FILE"""
import json
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


fd = descriptor_pb2.FileDescriptorProto(name="ev.proto", package="tb")
F = descriptor_pb2.FieldDescriptorProto
val = fd.message_type.add(name="Value")
val.field.add(name="tag", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
val.field.add(name="simple_value", number=2, type=F.TYPE_FLOAT, label=F.LABEL_OPTIONAL)
summ = fd.message_type.add(name="Summary")
summ.field.add(name="value", number=1, type=F.TYPE_MESSAGE, type_name=".tb.Value", label=F.LABEL_REPEATED)
ev = fd.message_type.add(name="Event")
ev.field.add(name="wall_time", number=1, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
ev.field.add(name="step", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
ev.field.add(name="file_version", number=3, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
ev.field.add(name="summary", number=5, type=F.TYPE_MESSAGE, type_name=".tb.Summary", label=F.LABEL_OPTIONAL)
pool = descriptor_pool.DescriptorPool()
pool.Add(fd)
try:
    Event = message_factory.GetMessageClass(pool.FindMessageTypeByName("tb.Event"))
except AttributeError:  # older protobuf
    Event = message_factory.MessageFactory(pool).GetPrototype(pool.FindMessageTypeByName("tb.Event"))

data = open(sys.argv[1], "rb").read()
pos, first = 0, True
while pos < len(data):
    (n,) = struct.unpack_from("<Q", data, pos)
    (lcrc,) = struct.unpack_from("<I", data, pos + 8)
    assert lcrc == masked(data[pos:pos + 8]), "bad length CRC"
    body = data[pos + 12:pos + 12 + n]
    (dcrc,) = struct.unpack_from("<I", data, pos + 12 + n)
    assert dcrc == masked(body), "bad data CRC"
    pos += 16 + n
    e = Event()
    e.ParseFromString(body)
    if first:
        assert e.file_version == "brain.Event:2", e.file_version
        first = False
        continue
    for v in e.summary.value:
        print(json.dumps({"step": e.step, "tag": v.tag, "value": v.simple_value}))
