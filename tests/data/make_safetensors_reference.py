#!/usr/bin/env python3
"""Independent safetensors reference for tst_safetensors, written from the public format spec
(https://huggingface.co/docs/safetensors) with numpy only: no code shared with the C++ reader.

  make_safetensors_reference.py write OUTDIR   writes OUTDIR/reference.safetensors and, for each
                                               float tensor NAME, OUTDIR/NAME.f32: the values
                                               numpy says it holds, as little-endian float32
  make_safetensors_reference.py check FILE     checks a file written by moin::SafetensorsWriter
                                               (contents agreed with the C++ test)

Exit status: 0 success, 1 check failed, 2 usage error, 77 numpy is not installed (skip).
"""
import json
import struct
import sys

try:
    import numpy as np
except ImportError:
    sys.exit(77)

# float32 bit patterns at the edges of float16/bfloat16 rounding; the C++ test has the same list.
SPECIAL_BITS = [
    0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x477FE000, 0x477FEFFF,
    0x477FF000, 0x33000000, 0x33000001, 0x33800000, 0x33400000, 0x38800000, 0x3F801000,
    0x3F803000, 0x387FF000, 0x7F7FFFFF, 0x00000001, 0x3F808000, 0x3F818000, 0x00018000,
]
RANDOM_COUNT = 4096


def source_floats():
    """RANDOM_COUNT xorshift32-derived float32 values with exponents 2^-27..2^24, then the
    specials: the same sequence the C++ test computes."""
    state = 0x12345678
    bits = []
    for _ in range(RANDOM_COUNT):
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        exponent = 100 + (state >> 23) % 52
        bits.append((state & 0x807FFFFF) | (exponent << 23))
    return np.array(bits + SPECIAL_BITS, dtype=np.uint32).view(np.float32)


def bfloat16_reference(values):
    """float32 -> bfloat16 bits by arithmetic in float64: round the significand to 8 bits with
    numpy's round-half-to-even (np.rint); a different method from the C++ bit trick."""
    x = values.astype(np.float64)
    out = np.empty_like(x)
    finite = np.isfinite(x) & (x != 0)
    _, exponent = np.frexp(x[finite])            # |x| = m * 2^exponent, 0.5 <= m < 1
    exponent = np.maximum(exponent - 1, -126)    # float32 subnormals share the exponent -126
    quantum = np.ldexp(1.0, exponent - 7)        # bfloat16 keeps 8 significant bits
    out[finite] = np.rint(x[finite] / quantum) * quantum
    out[~finite] = x[~finite]
    out[x == 0] = x[x == 0]
    with np.errstate(over="ignore"):
        rounded = out.astype(np.float32)         # beyond the float32 range becomes inf, as it must
    result = (rounded.view(np.uint32) >> 16).astype(np.uint16)
    result[np.isnan(values)] = 0x7FC0
    return result


def reference_tensors():
    src = source_floats()
    with np.errstate(over="ignore"):
        half = src.astype(np.float16)
    bf16_bits = bfloat16_reference(src)
    return {
        "half": ("F16", half, half.astype(np.float32)),
        "bf16": ("BF16", bf16_bits,
                 (bf16_bits.astype(np.uint32) << 16).view(np.float32)),
        "f32": ("F32", src[:15].reshape(3, 5), src[:15].reshape(3, 5)),
        "f64": ("F64", (np.arange(8, dtype=np.float64) / 3 - 1).reshape(2, 2, 2),
                (np.arange(8, dtype=np.float64) / 3 - 1).reshape(2, 2, 2).astype(np.float32)),
        "i64": ("I64", (np.arange(-3, 3, dtype=np.int64) * 10**12).reshape(2, 3), None),
        "u8": ("U8", np.arange(0, 256, 17, dtype=np.uint8), None),
        "flags": ("BOOL", np.array([True, False, True]), None),
        "scalar": ("F32", np.array(3.25, dtype=np.float32), np.array(3.25, dtype=np.float32)),
        "empty": ("F16", np.zeros((0, 4), dtype=np.float16), np.zeros((0, 4), np.float32)),
    }


LITTLE_ENDIAN = {"F16": "<f2", "BF16": "<u2", "F32": "<f4", "F64": "<f8", "I64": "<i8",
                 "I32": "<i4", "U8": "u1", "BOOL": "u1"}


def write(outdir):
    header = {"__metadata__": {"format": "np", "written_by": "make_safetensors_reference.py"}}
    blobs = []
    offset = 0
    # Data in reverse name order, so the file's order differs from the header's key order.
    tensors = reference_tensors()
    for name in sorted(tensors, reverse=True):
        dtype, array, expected = tensors[name]
        blob = np.ascontiguousarray(array).astype(LITTLE_ENDIAN[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
        if expected is not None:
            with open(f"{outdir}/{name}.f32", "wb") as f:
                f.write(np.ascontiguousarray(expected).astype("<f4").tobytes())
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(f"{outdir}/reference.safetensors", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def check(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    if n % 8 != 0:
        return f"header length {n} is not a multiple of 8"
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    if header.get("__metadata__") != {"producer": "moin", "note": "ünïcödé ✓"}:
        return f"unexpected metadata {header.get('__metadata__')!r}"
    entries = sorted(((v["data_offsets"], k) for k, v in header.items() if k != "__metadata__"))
    position = 0
    for (begin, end), name in entries:
        if begin != position:
            return f"tensor {name} starts at {begin}, expected {position}"
        position = end
    if position != len(data):
        return f"tensors cover {position} bytes of {len(data)}"
    if [name for _, name in entries] != ["half", "bf16", "i32", "f64"]:
        return f"tensors not in insertion order: {[name for _, name in entries]}"

    def array(name):
        info = header[name]
        begin, end = info["data_offsets"]
        return np.frombuffer(data[begin:end], dtype=LITTLE_ENDIAN[info["dtype"]]).reshape(
            info["shape"])

    src = source_floats()
    with np.errstate(over="ignore"):
        want_half = src.astype(np.float16).view(np.uint16)
    got_half = array("half").view(np.uint16)
    want_nan = np.isnan(src)
    bad = np.nonzero((got_half != want_half) & ~want_nan)[0]
    if bad.size:
        i = bad[0]
        return (f"half[{i}] of float32 bits {src.view(np.uint32)[i]:#010x}: "
                f"got {got_half[i]:#06x}, numpy says {want_half[i]:#06x} ({bad.size} differ)")
    if not np.all(np.isnan(array("half")[want_nan])):
        return "a NaN did not stay NaN in float16"
    want_bf16 = bfloat16_reference(src)
    got_bf16 = array("bf16")
    bad = np.nonzero(got_bf16 != want_bf16)[0]
    if bad.size:
        i = bad[0]
        return (f"bf16[{i}] of float32 bits {src.view(np.uint32)[i]:#010x}: "
                f"got {got_bf16[i]:#06x}, expected {want_bf16[i]:#06x} ({bad.size} differ)")
    if header["i32"]["shape"] != [3, 4] or not np.array_equal(
            array("i32"), np.arange(-5, 7, dtype=np.int32).reshape(3, 4)):
        return "i32 differs"
    if not np.array_equal(array("f64"), (np.arange(8) / 3 - 1).reshape(2, 2, 2)):
        return "f64 differs"
    return None


def main(argv):
    if len(argv) != 3 or argv[1] not in ("write", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "write":
        write(argv[2])
        return 0
    problem = check(argv[2])
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
