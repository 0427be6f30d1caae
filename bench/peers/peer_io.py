"""Files the PyTorch peers read and write: safetensors with json + numpy (no safetensors
package; acgan_torch.py loads covergan's checkpoints and writes parity results with them),
and every file written under a temporary name and renamed, as covergan writes its own, so
a reader never sees half of one."""
import contextlib
import json
import os
import struct

import numpy as np

_DT = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "U8": np.uint8, "I64": np.int64}
_DT_NAME = {np.dtype(v): k for k, v in _DT.items()}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
        meta = header.pop("__metadata__", {}) or {}
        base = 8 + n
        out = {}
        for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
            a, b = e["data_offsets"]
            dt = np.dtype(_DT[e["dtype"]])
            f.seek(base + a)
            out[name] = np.fromfile(f, dtype=dt, count=(b - a) // dt.itemsize).reshape(e["shape"])
    return out, meta


def write_safetensors(path, tensors, meta=None):
    header, arrays, off = {}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        header[name] = {"dtype": _DT_NAME[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [off, off + arr.nbytes]}
        arrays.append(arr)
        off += arr.nbytes
    if meta:
        header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)

    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for arr in arrays:
                f.write(memoryview(arr).cast("B"))
    write_replacing(path, write)


def write_replacing(path, write):
    """write(tmp) to a temporary name beside path, then renamed to path; the temporary file
    is removed when anything fails."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
