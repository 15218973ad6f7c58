#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/corpus/<harness>/ in the harnesses' input formats.

Each harness reads its input front to back as a sequence of small choices (fuzz/fuzz_input.hpp,
fuzz/fuzz_case.hpp); the encoders below mirror those readers, one byte per choice, so each seed
is a small meaningful case libFuzzer mutates from. Run it from anywhere; it rewrites the seed-*
files and leaves every other corpus entry (inputs kept from fuzzing, findings) alone.
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def u8(v):
    return bytes([v & 0xFF])


def u16(v):
    return struct.pack("<H", v & 0xFFFF)


def u32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


def u64(v):
    return struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)


def f32(x):
    return struct.pack("<f", x)


def i8(v):
    return u8(v & 0xFF)


# fz::palette: index 31 is "raw float bits follow".
PALETTE = {0.0: 0, 1.0: 2, 0.5: 3, 1e-7: 4, "min": 6, "denorm": 7, "max": 9, "inf": 11, "-inf": 12,
           "nan": 13, 1e30: 15, -1e30: 16, 65520.0: 21, 2.5: 23, -1.0: 24, 0.1: 29}


def pal(x):
    return u8(PALETTE[x]) if x in PALETTE else u8(31) + f32(x)


# ---- fuzz_case.hpp -------------------------------------------------------------------------------
LS = {0.0: 0, 0.1: 1, 0.5: 2, 1.0: 3, "nan": 4, -0.25: 5, 1.5: 6}
HUGE = {1 << 16: 240, 1 << 32: 243, (1 << 32) + 1: 244, (1 << 64) - 1: 248}
PRED_TYPES = {"f32": 0, "f16": 1, "bf16": 2, "qi8": 3, "qu8": 4}
LABEL_TYPES = {"i32": 0, "i64": 1, "u8": 2, "u16": 3, "f32": 4}


def dims(ds):
    out = b""
    for d in ds:
        if d < 10:
            out += u8(d)
        elif d % 8 == 0 and d // 8 < 40:
            out += u8(200 + d // 8)
        elif d in HUGE:
            out += u8(HUGE[d])
        else:
            out += u8(255) + u64(d)
    return out


def floats(values=None, lcg=None, mode=None, const=None, specials=()):
    """A fill_floats descriptor: typical data from a seed (mode 0), any magnitude (1), a constant (2),
    explicit values (3) or confident rows / soft labels / mixed-sign weights (4), then specials."""
    if values is not None:
        out = u8(3) + b"".join(pal(v) for v in values)
    elif const is not None:
        out = u8(2) + pal(const)
    else:
        out = u8(mode) + u32(lcg)
    out += u8(len(specials))
    for at, v in specials:
        out += u16(at) + pal(v)
    return out


def label(v):
    """One set_label choice: 9 is raw (8 bytes for integer labels; float labels use 4)."""
    named = {"-1": 0, "K": 1, "K-1": 2, "0": 3, "ignore": 4, "nan": 7, "inf": 8}
    return u8(named[v]) if isinstance(v, str) else u8(9) + u64(v)


def labels(values=None, lcg=None, with_ignore=False, specials=()):
    if values is not None:
        out = u8(3) + b"".join(label(v) for v in values)
    else:
        out = u8(1 if with_ignore else 0) + u32(lcg)
    out += u8(len(specials))
    for at, v in specials:
        out += u16(at) + label(v)
    return out


def case(sparse=True, cap=0, logits=False, per_class=False, nan=0, ls=0.0, ignore=None, pred="f32",
         truth="f32", weight="f32", shape=(2, 3), axis=-1, truth_form=0, truth_dims=None,
         weight_mode=0, weight_extra=b"", weight_dims=None, null=0, pred_values=b"", truth_values=b"",
         weight_values=b"", with_weights=True, quant=b""):
    out = u8(1 if sparse else 0) + u8([0, 1, 10, 300].index(cap))
    out += u8((1 if logits else 0) | (2 if per_class else 0) | (nan << 2))
    out += u8(LS[ls]) if ls in LS else u8(7) + f32(ls)
    if ignore is None:
        out += u8(0)
    elif -128 <= ignore < 128:
        out += u8(1) + i8(ignore)
    else:
        out += u8(2) + u64(ignore)
    out += u8(PRED_TYPES[pred]) + quant
    out += u8(LABEL_TYPES[truth] if sparse else PRED_TYPES[truth]) + u8(PRED_TYPES[weight])
    out += u8(len(shape)) + dims(shape) + i8(axis)
    if truth_dims is not None:
        out += u8(0xF0) + u8(len(truth_dims)) + dims(truth_dims)
    else:
        out += u8(truth_form)
    if with_weights:
        out += u8(weight_mode)
        if weight_mode == 7:
            out += u8(len(weight_dims)) + dims(weight_dims)
        else:
            out += weight_extra
    out += u8(null)
    out += pred_values + truth_values + (weight_values if with_weights and weight_mode != 0 else b"")
    return out


WORKED_PRED = [0.05, 0.95, 0.0, 0.1, 0.8, 0.1]
# decode_quantization's bytes: scale 0.01 + 40/512 with zero point 5 - 16; softmax's; log_softmax's.
QUANT_LOGITS = u8(9) + u8(40) + u8(5) + u8(5)
QUANT_SOFTMAX = u8(0) + u8(0)
QUANT_LOG_SOFTMAX = u8(1) + u8(0)


def case_seeds(with_weights):
    """(name, case bytes) of the update and losses harnesses."""
    w = with_weights
    return [
        ("worked-sparse-weighted", case(sparse=True, truth="i32", shape=(2, 3), weight_mode=2, with_weights=w,
                                        pred_values=floats(WORKED_PRED), truth_values=labels([1, 2]),
                                        weight_values=floats([0.3, 0.7]))),
        ("worked-categorical", case(sparse=False, shape=(2, 3), with_weights=w, pred_values=floats(WORKED_PRED),
                                    truth_values=floats([0, 1, 0, 0, 0, 1]))),
        ("categorical-logits-axis1-broadcast", case(sparse=False, logits=True, ls=0.1, shape=(4, 5, 6), axis=1,
                                                    weight_mode=5, weight_extra=u8(0b10), with_weights=w,
                                                    pred_values=floats(lcg=7, mode=0),
                                                    truth_values=floats(lcg=8, mode=0),
                                                    weight_values=floats(lcg=9, mode=0))),
        ("sparse-f16-u8-ignore-perclass", case(sparse=True, cap=10, per_class=True, ignore=3, pred="f16",
                                               truth="u8", shape=(16, 10), truth_form=1, with_weights=w,
                                               pred_values=floats(lcg=11, mode=0),
                                               truth_values=labels(lcg=12, with_ignore=True))),
        ("sparse-bf16-rank4-prefix-reject-nan", case(sparse=True, nan=1, pred="bf16", truth="i64",
                                                     shape=(2, 3, 4, 5), weight_mode=6, weight_extra=u8(1),
                                                     with_weights=w, pred_values=floats(lcg=13, mode=0,
                                                                                        specials=[(17, "nan")]),
                                                     truth_values=labels(lcg=14),
                                                     weight_values=floats(lcg=15, mode=0))),
        ("categorical-perclass-cap300-k232", case(sparse=False, cap=300, per_class=True, shape=(3, 232),
                                                  weight_mode=3, with_weights=w, pred_values=floats(lcg=16, mode=4),
                                                  truth_values=floats(lcg=17, mode=4),
                                                  weight_values=floats(lcg=18, mode=4))),
        ("sparse-float-labels-edges", case(sparse=True, truth="f32", shape=(6, 4), ignore=-1, with_weights=w,
                                           pred_values=floats(lcg=19, mode=0),
                                           truth_values=labels(lcg=20, specials=[(0, "K-1"), (1, "0"), (2, "-1")]))),
        ("sparse-bad-label-last-row", case(sparse=True, truth="i32", shape=(40, 3), with_weights=w,
                                           pred_values=floats(lcg=21, mode=0),
                                           truth_values=labels(lcg=22, specials=[(39, "K")]))),
        ("wide-magnitudes-subnormals", case(sparse=False, shape=(8, 7), weight_mode=1, weight="f16", with_weights=w,
                                            pred_values=floats(lcg=23, mode=1, specials=[(0, "denorm"), (3, "max")]),
                                            truth_values=floats(lcg=24, mode=0),
                                            weight_values=floats(const=65520.0))),
        ("invalid-options-ls-nan-axis5", case(sparse=True, ls="nan", axis=5, with_weights=w,
                                              pred_values=floats(lcg=25, mode=0), truth_values=labels(lcg=26))),
        ("rank9", case(sparse=False, shape=(1, 1, 1, 1, 1, 1, 1, 1, 2), with_weights=w,
                       pred_values=floats(const=0.5), truth_values=floats(const=1.0))),
        ("rank0", case(sparse=True, shape=(), with_weights=w, pred_values=floats(const=0.5), truth_values=labels(lcg=1))),
        ("overflowing-dims", case(sparse=False, shape=((1 << 32) + 1, (1 << 32) + 1), with_weights=w,
                                  pred_values=floats(const=0.5), truth_values=floats(const=1.0))),
        ("zero-rows-wide-classes", case(sparse=True, cap=10, shape=(0, 1 << 16), with_weights=w,
                                        pred_values=floats(const=0.5), truth_values=labels(lcg=2))),
        ("too-many-classes", case(sparse=True, cap=1, per_class=True, shape=(2, 3), with_weights=w,
                                  pred_values=floats(WORKED_PRED), truth_values=labels([1, 2]))),
        # Quantized predictions (decode_quantization): a logits scale and zero point, TFLite's
        # fixed softmax and log_softmax parameters, an invalid scale.
        ("sparse-qi8-logits", case(sparse=True, logits=True, pred="qi8", quant=QUANT_LOGITS, shape=(16, 10),
                                   truth="i32", weight_mode=2, with_weights=w, pred_values=floats(lcg=27, mode=0),
                                   truth_values=labels(lcg=28), weight_values=floats(lcg=29, mode=0))),
        ("categorical-qu8-softmax", case(sparse=False, pred="qu8", quant=QUANT_SOFTMAX, shape=(8, 10), ls=0.1,
                                         with_weights=w, pred_values=floats(lcg=30, mode=4),
                                         truth_values=floats(lcg=31, mode=0))),
        ("sparse-qi8-log-softmax-perclass", case(sparse=True, cap=10, per_class=True, logits=True, pred="qi8",
                                                 quant=QUANT_LOG_SOFTMAX, shape=(4, 3, 5), axis=1, with_weights=w,
                                                 pred_values=floats(lcg=32, mode=0), truth_values=labels(lcg=33))),
        ("quantized-scale-nan", case(sparse=True, pred="qu8", quant=u8(4) + u8(0), with_weights=w,
                                     pred_values=floats(WORKED_PRED), truth_values=labels([1, 2]))),
        ("mismatched-weight", case(sparse=True, shape=(2, 3), weight_mode=7, weight_dims=(3, 2), with_weights=w,
                                   pred_values=floats(WORKED_PRED), truth_values=labels([1, 2]),
                                   weight_values=floats(lcg=3, mode=0))),
    ]


# ---- fuzz_deserialize.cpp ------------------------------------------------------------------------
def state_bytes(kind, flags, ls, axis, ignore, cap, total, count, per_class=()):
    b = b"XENT" + u16(1) + u8(kind) + u8(flags) + f32(ls) + u32(axis) + u64(ignore) + u64(cap)
    b += struct.pack("<d", total) + struct.pack("<d", count)
    for t, c in per_class or [(0.0, 0.0)] * cap:
        b += struct.pack("<dd", t, c)
    return b + u32(zlib.crc32(b))


def deserialize_seeds():
    # Options prefix: sparse flag, flags (1 logits, 2 per_class, 4 reject, 8 ignore), ls, axis, ignore, state.
    def head(sparse, flags=0, ls=0.0, axis=-1, ignore=0, state=False, cap_pick=0):
        ls_b = u8(LS[ls]) if ls in LS else u8(7) + f32(ls)
        return u8(1 if sparse else 0) + u8(flags) + ls_b + i8(axis) + i8(ignore) + u8(1 if state else 0) + u8(cap_pick)

    golden = state_bytes(2, 1 | 2 | 4, 0.25, 0xFFFFFFFF, (1 << 64) - 1, 4, 3.0, 2.0,
                         [(1.0, 0.5), (2.0, 1.5), (0.0, 0.0), (0.0, 0.0)])
    return [
        ("own-bytes", head(True, state=True) + u8(2) + u8(0) + u8(0)),
        ("own-bytes-total-patched-resealed", head(False, flags=2, state=True, cap_pick=2) + u8(2) + u8(1) + u8(2)
         + u16(33) + u8(0x7f) + u16(40) + u8(0xff)),
        ("own-bytes-options-patched-resealed", head(True, state=True, cap_pick=1) + u8(2) + u8(1) + u8(1)
         + u16(7) + u8(1)),
        ("own-bytes-cut", head(True, state=True, cap_pick=3) + u8(3) + u16(40)),
        ("own-bytes-and-more", head(False, state=True) + u8(3) + u16(0xFFFF) + b"\x00\x01\x02"),
        ("golden-sparse-cap4", head(True, flags=1 | 2 | 8, ls=0.25, axis=-1, ignore=-1, cap_pick=2) + u8(0) + golden),
        ("golden-into-categorical", head(False, cap_pick=2) + u8(1) + golden),
        ("null-input", head(True) + u8(4) + u8(1)),
        ("empty", head(False) + u8(0)),
    ]


# ---- fuzz_c_api.cpp ------------------------------------------------------------------------------
def c_init(kind=2, options=True, logits=0, ls=0.0, axis=-1, has_ignore=0, ignore=0, reject=0, name=None,
           garbage=False):
    out = u8(kind) + u8(1 if options else 0) + u8(logits) + (u8(LS[ls]) if ls in LS else u8(7) + f32(ls))
    out += u8(0) + i8(axis) + u8(has_ignore) + u8(0) + i8(ignore) + u8(reject)
    out += u8(0) if name is None else u8(len(name)) + name.encode()
    return out + u8(0 if garbage else 1) + (u8(0x11) if garbage else b"")


C_DTYPES = {"f32": 0, "f16": 1, "bf16": 2, "i32": 3, "i64": 4, "u8": 5, "u16": 6, "qi8": 7, "qu8": 8, "bad": 9}


def c_tensor(dtype, shape=None, like=False, seed=1, mode=0, data=b"", rank_raw=None, quant=None):
    if like:
        out = u8(0) + u8(C_DTYPES[dtype]) + u8(0)
    elif rank_raw is not None:  # a rank as 8 raw bytes ("null": no struct at all), then 8 stored dims
        rank = len(shape) if rank_raw == "null" else rank_raw
        out = u8(255 if rank_raw == "null" else 250) + u8(C_DTYPES[dtype]) + u8(0) + u64(rank)
        out += dims(shape + (1,) * (min(rank, 8) - len(shape)))
    else:
        out = u8(len(shape)) + u8(C_DTYPES[dtype]) + u8(0) + dims(shape)
    # quant: decode_quantization's bytes for qi8 / qu8; for other dtypes two flags (0: scale 1, zero point 0).
    return out + u32(seed) + u8(mode) + data + (quant if quant is not None else u8(0) + u8(0)) + u8(1)


def c_update(pred, truth, weight=None):
    return u8(0) + pred + truth + (u8(1) + weight if weight is not None else u8(0))


def c_api_seeds():
    probs = c_tensor("f32", (2, 3), seed=5)
    return [
        ("sparse-update-serialize", c_init(2) + c_update(probs, c_tensor("i64", like=True))
         + u8(2) + u8(0) + u8(1) + u8(6)),
        ("categorical-weighted-merge", c_init(1, ls=0.1) + c_update(probs, c_tensor("f32", like=True),
                                                                   c_tensor("f16", like=True))
         + u8(1) + c_init(1, ls=0.1) + u8(1)),
        ("merge-unlike-kinds", c_init(2) + u8(1) + c_init(1) + u8(1)),
        ("bad-dtype-codes", c_init(2) + c_update(c_tensor("bad", (2, 3)), c_tensor("i32", like=True))
         + c_update(probs, c_tensor("f16", like=True))),
        ("rank-above-max", c_init(1) + c_update(c_tensor("f32", (2, 3), rank_raw=9), c_tensor("f32", like=True))),
        ("rank-huge", c_init(2) + c_update(c_tensor("f32", (2, 3), rank_raw=(1 << 64) - 1),
                                          c_tensor("i32", like=True))),
        ("null-tensor", c_init(2) + c_update(c_tensor("f32", (2, 3), rank_raw="null"), c_tensor("i32", like=True))),
        ("bad-kind", c_init(3) + u8(0) + c_tensor("f32", (2, 3)) + c_tensor("i32", like=True) + u8(0) + u8(2) + u8(0) + u8(1)),
        ("garbage-storage", c_init(2, garbage=True) + u8(4) + u8(3) + u8(0) + u8(4) + b"XENT"),
        ("deserialize-own-resealed", c_init(2, has_ignore=1, ignore=-1, reject=1, name="digits")
         + c_update(probs, c_tensor("u8", like=True)) + u8(3) + u8(2) + u8(1) + u16(35) + u8(0x40) + u8(1)),
        ("quantized-logits-weighted", c_init(2, logits=1)
         + c_update(c_tensor("qi8", (4, 10), seed=7, quant=QUANT_LOGITS), c_tensor("i32", like=True),
                    c_tensor("f32", like=True))),
        ("quantized-softmax-then-bad-zero-point", c_init(1)
         + c_update(c_tensor("qu8", (3, 4), seed=8, quant=QUANT_SOFTMAX), c_tensor("f32", like=True))
         + c_update(c_tensor("qi8", (3, 4), seed=9, quant=u8(0) + u8(2)), c_tensor("f32", like=True))),
        ("status-messages", c_init(1, name="cce") + u8(5) + u32(0xFFFFFFFF) + u8(5) + u32(11) + u8(4)),
    ]


# ---- fuzz_npy.cpp --------------------------------------------------------------------------------
def npy(descr, shape, data, version=1, fortran="False", dict_text=None):
    text = dict_text or "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        descr, fortran, ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else ""))
    prefix = 10 if version == 1 else 12
    total = (prefix + len(text) + 1 + 63) // 64 * 64
    text = text + " " * (total - prefix - len(text) - 1) + "\n"
    length = u16(len(text)) if version == 1 else u32(len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + length + text.encode() + data


def npy_seeds():
    floats6 = b"".join(f32(v) for v in WORKED_PRED)
    return [
        ("f4-2x3", npy("<f4", (2, 3), floats6)),
        ("i8-labels", npy("<i8", (2,), u64(1) + u64(2))),
        ("u1-scalar", npy("|u1", (), b"\x07")),
        ("f2-empty-rows", npy("<f2", (0, 5), b"")),
        ("b1-v2", npy("|b1", (3,), b"\x01\x00\x01", version=2)),
        ("u2-v3", npy("<u2", (2, 1), u16(5) + u16(9), version=3)),
        ("f8-truncated", npy("<f8", (4,), struct.pack("<d", 1.0))),
        ("fortran", npy("<i4", (2, 2), u32(1) * 4, fortran="True")),
        ("big-endian", npy(">f4", (1,), f32(1.0))),
        ("overflowing-shape", npy("<f4", (1 << 62, 8), b"")),
        ("negative-dim", npy("<f4", (), b"", dict_text="{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }")),
    ]


def write(harness, seeds):
    folder = os.path.join(HERE, "corpus", harness)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.startswith("seed-"):
            os.remove(os.path.join(folder, name))
    for name, data in seeds:
        with open(os.path.join(folder, "seed-" + name), "wb") as f:
            f.write(data)


def main():
    priors = [0, 1, 2, 3]
    write("update", [(n, u8(priors[i % 4]) + c) for i, (n, c) in enumerate(case_seeds(True))])
    # losses: out size exactly V's, one short, one over, empty, null, then any (u16).
    write("losses", [(n, u8(i % 5) + c) for i, (n, c) in enumerate(case_seeds(False))])
    write("deserialize", deserialize_seeds())
    write("c_api", c_api_seeds())
    write("npy", npy_seeds())


if __name__ == "__main__":
    main()
