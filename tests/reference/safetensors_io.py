"""Minimal safetensors reader/writer for the Tandem reference scripts.

Owns: parsing and writing the safetensors container (8-byte little-endian
header length, JSON header, raw little-endian data) and the sharded-folder
index (model.safetensors.index.json), for dtypes F64, F32, F16 and BF16.
Deliberately does not: memory-map, validate every corner the C++ loader
validates (that loader has its own error tests), or depend on the
`safetensors` package (none is installed; this is an independent second
implementation so the C++ loader is checked against something it did not
write).

BF16 is handled without relying on torch's bfloat16 kernels: reading shifts
the 16 stored bits into the high half of a float32; writing rounds a float32
to nearest-even on its top 16 bits.
"""

import json
import os
import struct

import torch

# dtype tag -> (bytes per element, torch dtype used to reinterpret the bytes)
_RAW = {
    "F64": (8, torch.float64),
    "F32": (4, torch.float32),
    "F16": (2, torch.float16),
    "BF16": (2, torch.int16),
}


def _bf16_bits_to_f32(bits):
    # bits: int16 tensor holding bf16 patterns -> float32 with those as the top half.
    wide = bits.to(torch.int32) & 0xFFFF
    return (wide << 16).view(torch.float32)


def _f32_to_bf16_bits(x):
    # Round to nearest, ties to even, on the 16 dropped bits. NaN is not expected in
    # model weights; it would round to some NaN/inf pattern and is not special-cased.
    bits = x.contiguous().to(torch.float32).view(torch.int32).to(torch.int64) & 0xFFFFFFFF
    lsb = (bits >> 16) & 1
    rounded = (bits + 0x7FFF + lsb) >> 16
    return (rounded & 0xFFFF).to(torch.int32).to(torch.int16)  # wraps into int16 range


def read_file(path):
    """Returns (dict name -> float tensor in its stored precision upcast to >= f32, metadata).

    F16 and BF16 come back as float32 (exactly representable), F32 as float32,
    F64 as float64.
    """
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError(f"{path}: header length {n} runs past the end of the file ({len(blob)} bytes)")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None)
    data = bytearray(blob[8 + n:])  # writable copy so torch.frombuffer does not warn
    out = {}
    for name, info in header.items():
        dtype = info["dtype"]
        if dtype not in _RAW:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {dtype}")
        size, tdt = _RAW[dtype]
        begin, end = info["data_offsets"]
        shape = list(info["shape"])
        count = 1
        for s in shape:
            count *= s
        if end - begin != count * size or end > len(data) or begin < 0:
            raise ValueError(f"{path}: tensor {name}: offsets [{begin},{end}] disagree with shape {shape} "
                             f"dtype {dtype} or the file size")
        if count == 0:
            t = torch.zeros(shape, dtype=torch.float32 if dtype != "F64" else torch.float64)
        else:
            t = torch.frombuffer(data, dtype=tdt, count=count, offset=begin).reshape(shape)
            if dtype == "BF16":
                t = _bf16_bits_to_f32(t)
            elif dtype == "F16":
                t = t.to(torch.float32)
            else:
                t = t.clone()
        out[name] = t
    return out, meta


def encode(tensor, dtype):
    """Bytes of `tensor` in safetensors dtype `dtype` (F64, F32, F16, BF16)."""
    t = tensor.detach().contiguous()
    if dtype == "F64":
        raw = t.to(torch.float64)
    elif dtype == "F32":
        raw = t.to(torch.float32)
    elif dtype == "F16":
        raw = t.to(torch.float16)
    elif dtype == "BF16":
        raw = _f32_to_bf16_bits(t.to(torch.float32))
    else:
        raise ValueError(f"unsupported dtype for writing: {dtype}")
    return raw.numpy().tobytes()


def write_file(path, tensors, dtype="F32", metadata=None):
    """Writes {name: tensor} to `path` (temporary file, then rename). Names are stored sorted."""
    header = {}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        b = encode(t, dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    header["__metadata__"] = dict(metadata or {"format": "pt"})
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * ((8 - len(hbytes) % 8) % 8)  # keep data 8-byte aligned, as the reference writer does
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for b in chunks:
            f.write(b)
    os.replace(tmp, path)
    return offset


def read_folder(folder):
    """All tensors of an HF model folder: model.safetensors or the shards of its index."""
    index = os.path.join(folder, "model.safetensors.index.json")
    single = os.path.join(folder, "model.safetensors")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        out = {}
        for shard in sorted(set(weight_map.values())):
            tensors, _ = read_file(os.path.join(folder, shard))
            for name, t in tensors.items():
                if weight_map.get(name) != shard:
                    raise ValueError(f"{folder}: tensor {name} found in {shard} but the index maps it to "
                                     f"{weight_map.get(name)}")
                out[name] = t
        missing = [n for n in weight_map if n not in out]
        if missing:
            raise ValueError(f"{folder}: index lists tensors absent from their shards: {missing[:5]}")
        return out
    if os.path.exists(single):
        return read_file(single)[0]
    raise ValueError(f"{folder}: neither model.safetensors nor model.safetensors.index.json")


def write_folder(folder, tensors, dtype="F32", shards=1):
    """Writes model.safetensors, or `shards` files model-0000i-of-0000N.safetensors plus the index."""
    os.makedirs(folder, exist_ok=True)
    if shards <= 1:
        write_file(os.path.join(folder, "model.safetensors"), tensors, dtype)
        return
    names = sorted(tensors)
    # Contiguous, roughly equal slices of the sorted names; every shard gets at least one tensor.
    shards = min(shards, len(names))
    weight_map = {}
    total = 0
    for i in range(shards):
        part = names[i * len(names) // shards:(i + 1) * len(names) // shards]
        fname = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        total += write_file(os.path.join(folder, fname), {n: tensors[n] for n in part}, dtype)
        for n in part:
            weight_map[n] = fname
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    tmp = os.path.join(folder, "model.safetensors.index.json.tmp")
    with open(tmp, "w") as f:
        json.dump(index, f, indent=2)
    os.replace(tmp, os.path.join(folder, "model.safetensors.index.json"))
