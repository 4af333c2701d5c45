#!/usr/bin/env python3
"""Write a Zarr v2/v3 interop corpus with zarr-python (and tensorstore when importable).

Usage:
    make_corpus.py OUTDIR [--only SECTION,...]

SECTION: dtypes, fill, codecs, sharding, keys_shapes, groups, tensorstore, structured,
numcodecs_v3 (the
interop tests run everything under zarr-python 3.1, then `--only structured,numcodecs_v3` under
zarr-python 3.4, whose v3 spellings differ).

Writes stores under OUTDIR, expected values under OUTDIR/values/, and OUTDIR/manifest.json:
a list of entries
    {"store", "path", "writer", "zarr_format", "data_type", "shape", "values",
     "region"?, "region_values"?, "note", "category",
     "attributes"? (expected array attributes), "optional"? (true for unregistered /
     non-spec extensions), "readers"? (readers able to read it, when not all are)}
plus OUTDIR/groups.json listing the groups written (store, path, zarr_format, attributes,
members, consolidated). The manifest is itself a valid check_arrays.py manifest.

Values files use the CLI values format (see check_arrays.py / README.md). Everything is
deterministic (seeded numpy RNG); gzip headers carry the wall-clock mtime, so store bytes
are not reproducible, only the values.
"""

import json
import os
import re
import shutil
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")

import numcodecs  # noqa: E402
import zarr  # noqa: E402
from zarr.codecs import (  # noqa: E402
    BloscCodec, BytesCodec, Crc32cCodec, GzipCodec, ShardingCodec, TransposeCodec, ZstdCodec,
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_arrays import encode_values, name_of_numpy_dtype, parse_region  # noqa: E402

try:
    import tensorstore as ts
except ImportError:
    ts = None

try:
    from zarr.core.dtype import VariableLengthBytes
except ImportError:  # pragma: no cover
    VariableLengthBytes = None

try:
    from zarr.codecs.numcodecs import LZ4 as NcLZ4, Zlib as NcZlib
except ImportError:  # pragma: no cover
    try:
        from numcodecs.zarr3 import LZ4 as NcLZ4, Zlib as NcZlib
    except ImportError:
        NcLZ4 = NcZlib = None

_UNSET = object()

STRINGS = ["", "a", "grüße", "😀🎉", "a\x00b", "\x00", "日本語テキスト", "tab\tnew\nline",
           "quote\"back\\slash", "ünïcødé ✓", "x" * 40, "", "end\x00"]
BYTES = [b"", b"\x00", b"\xff\xfe\x00\x01", b"abc", bytes(range(0, 256, 7)),
         "grüße".encode("utf-8"), b"", b"\x00\x00tail"]
U_VALUES = ["", "a", "grüß", "😀🎉", "ab\x00c", "日本", "xyz", "é"]
S_VALUES = [b"", b"a", b"ab\x00c", b"\xff\xfe", b"hello", b"\x00\x01", b"zz"]


def sanitize(s):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s).strip("_") or "root"


class Corpus:
    def __init__(self, outdir):
        self.out = os.path.abspath(outdir)
        self.entries = []
        self.groups = []
        self.stores = set()
        self.skipped = []
        self.rng = np.random.default_rng(20240611)
        os.makedirs(os.path.join(self.out, "values"), exist_ok=True)

    # ---------------------------------------------------------------- bookkeeping
    def store_dir(self, store):
        return os.path.join(self.out, store)

    def zstore(self, store):
        self.stores.add(store)
        return zarr.storage.LocalStore(self.store_dir(store))

    def group(self, store, path, fmt, attributes=None):
        """Create a group with zarr-python (and record it for groups.json)."""
        st = self.zstore(store)
        zarr.open_group(st, path=path or None, mode="w", zarr_format=fmt,
                        attributes=attributes or {})
        self.groups.append({"store": store, "path": path, "zarr_format": fmt,
                            "attributes": attributes or {}, "consolidated": False})

    def add_entry(self, store, path, writer, fmt, data_type, expected, note, category,
                  region=None, **extra):
        idx = len(self.entries)
        base = f"values/{idx:03d}_{sanitize(store.replace('.zarr', ''))}__{sanitize(path)}"
        with open(os.path.join(self.out, base + ".bin"), "wb") as f:
            f.write(encode_values(expected, data_type))
        e = {"store": store, "path": path, "writer": writer, "zarr_format": fmt,
             "data_type": data_type, "shape": [int(s) for s in expected.shape],
             "values": base + ".bin"}
        if region is not None:
            sub = expected[parse_region(region, expected.ndim)]
            with open(os.path.join(self.out, base + ".region.bin"), "wb") as f:
                f.write(encode_values(sub, data_type))
            e["region"] = region
            e["region_values"] = base + ".region.bin"
        e["note"] = note
        e["category"] = category
        e.update({k: v for k, v in extra.items() if v is not None})
        self.entries.append(e)
        return e

    # ---------------------------------------------------------------- writers
    def zp(self, store, path, fmt, data, note, category, *, chunks, dtype=None,
           fill_value=_UNSET, sels=None, data_type=None, region=None, optional=None,
           readers=None, attributes=None, **kw):
        """Create + write an array with zarr-python.

        data: the full intended array; sels: list of selections actually written (None =
        everything). Unwritten elements are expected to read as fill_value."""
        st = self.zstore(store)
        args = dict(name=path or None, shape=data.shape, chunks=chunks,
                    dtype=dtype if dtype is not None else data.dtype, zarr_format=fmt)
        if fill_value is not _UNSET:
            args["fill_value"] = fill_value
        if attributes:
            args["attributes"] = attributes
        args.update(kw)
        arr = zarr.create_array(st, **args)
        if data.size:
            if sels is None:
                arr[...] = data
            else:
                for s in sels:
                    arr[s] = data[s]
        expected = data
        if sels is not None:
            fv = arr.fill_value if fill_value is _UNSET else fill_value
            expected = np.empty(data.shape, dtype=data.dtype)
            expected[...] = fv
            for s in sels:
                expected[s] = data[s]
        dtn = data_type or name_of_numpy_dtype(data.dtype)
        return self.add_entry(store, path, "zarr-python", fmt, dtn, expected, note, category,
                              region=region, optional=optional, readers=readers,
                              attributes=attributes)

    def ts_write(self, store, path, fmt, metadata, data, note, category, *, sels=None,
                 expected=None, region=None, optional=None, readers=None):
        if ts is None:
            self.skipped.append(f"{store}/{path}: tensorstore not importable")
            return None
        self.stores.add(store)
        node = os.path.join(self.store_dir(store), path) if path else self.store_dir(store)
        spec = {"driver": "zarr3" if fmt == 3 else "zarr",
                "kvstore": {"driver": "file", "path": node + "/"},
                "metadata": metadata, "create": True}
        t = ts.open(spec).result()
        if sels is None:
            t[...] = data
        else:
            for s in sels:
                t[s] = data[s]
        if expected is None:
            expected = data
        return self.add_entry(store, path, "tensorstore", fmt, name_of_numpy_dtype(data.dtype),
                              expected, note, category, region=region, optional=optional,
                              readers=readers)

    def patch_json(self, store, path, fname, fn):
        p = os.path.join(self.store_dir(store), path, fname) if path else \
            os.path.join(self.store_dir(store), fname)
        with open(p, "rb") as f:
            meta = json.loads(f.read())
        fn(meta)
        with open(p, "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2, ensure_ascii=False)

    # ---------------------------------------------------------------- data
    def gen(self, dtype, shape, smooth=False):
        dt = np.dtype(dtype)
        rng = self.rng
        n = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if dt.kind == "b":
            v = rng.integers(0, 2, n).astype(bool)
        elif dt.kind in "iu":
            info = np.iinfo(dt)
            if smooth:
                v = (np.arange(n) % 97 + rng.integers(0, 4, n)).astype(dt)
            else:
                v = rng.integers(int(info.min), int(info.max), size=n, dtype=dt.newbyteorder("="),
                                 endpoint=True).astype(dt)
                if n >= 2:
                    v[0] = info.min
                    v[-1] = info.max
                if n >= 4:
                    v[1] = 0
        elif dt.kind == "f":
            if smooth:
                v = (np.sin(np.arange(n) / 7.0) * 100 + rng.standard_normal(n) * 0.01).astype(dt)
            else:
                v = (rng.standard_normal(n) * 1000).astype(dt)
                specials = [np.nan, np.inf, -np.inf, -0.0, 0.0,
                            np.finfo(dt).smallest_subnormal, np.finfo(dt).max, np.finfo(dt).tiny]
                if n >= 16:
                    for i, s in enumerate(specials):
                        v[1 + 2 * i] = s
        elif dt.kind == "c":
            part = np.dtype(f"f{dt.itemsize // 2}")
            re_ = self.gen(part, (n,), smooth)
            im_ = self.gen(part, (n,), smooth)[::-1]
            v = np.empty(n, dtype=dt)
            v.real = re_
            v.imag = im_
        elif dt.kind == "U":
            width = dt.itemsize // 4
            pool = [s[:width] for s in U_VALUES]
            v = np.array([pool[i] for i in rng.integers(0, len(pool), n)], dtype=dt)
        elif dt.kind == "S":
            pool = [s[:dt.itemsize] for s in S_VALUES]
            v = np.array([pool[i] for i in rng.integers(0, len(pool), n)], dtype=dt)
        else:
            raise ValueError(dt)
        return v.reshape(shape)

    def gen_obj(self, pool, shape):
        n = int(np.prod(shape, dtype=np.int64)) if shape else 1
        v = np.empty(n, dtype=object)
        for i in range(n):
            v[i] = pool[i % len(pool)] if i < len(pool) else pool[int(self.rng.integers(len(pool)))]
        return v.reshape(shape)


# ======================================================================================
# corpus sections
# ======================================================================================

NUM_TYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
             "float16", "float32", "float64", "complex64", "complex128"]
NP_OF = {"bool": "|b1", "int8": "|i1", "int16": "<i2", "int32": "<i4", "int64": "<i8",
         "uint8": "|u1", "uint16": "<u2", "uint32": "<u4", "uint64": "<u8", "float16": "<f2",
         "float32": "<f4", "float64": "<f8", "complex64": "<c8", "complex128": "<c16"}


def section_dtypes(c):
    # ---- v3 data types
    s = "v3_dtypes.zarr"
    c.group(s, "", 3, {"section": "v3 data types"})
    regions = {"int16": "1:5,2:5", "uint64": "0:7,3:5", "float64": "2:7,0:3",
               "complex128": "3:6,0:5"}
    for t in NUM_TYPES:
        data = c.gen(NP_OF[t], (7, 5))
        c.zp(s, t, 3, data, f"v3 {t}, chunks (3,2) ragged, extremes/specials", "dtype",
             chunks=(3, 2), region=regions.get(t))
    data = c.gen_obj(STRINGS, (13,))
    c.zp(s, "string", 3, data, "v3 string (vlen-utf8): empty, NUL, non-ASCII, emoji",
         "dtype", chunks=(4,), dtype=str, data_type="string", region="2:9")
    data = c.gen_obj(STRINGS, (3, 5))
    c.zp(s, "string_2d", 3, data, "v3 string rank 2, zstd", "dtype", chunks=(2, 2), dtype=str,
         data_type="string")
    if VariableLengthBytes is not None:
        data = c.gen_obj(BYTES, (8,))
        c.zp(s, "bytes_vlb", 3, data, "v3 bytes as zarr-python writes it: data_type "
             "'variable_length_bytes' (unregistered alias of 'bytes') + vlen-bytes", "dtype",
             chunks=(3,), dtype=VariableLengthBytes(), data_type="bytes")
        e = c.zp(s, "bytes", 3, data, "v3 bytes: data_type patched to registry name 'bytes' + "
                 "vlen-bytes, fill_value base64", "dtype", chunks=(3,),
                 dtype=VariableLengthBytes(), data_type="bytes", region="2:7")
        c.patch_json(s, "bytes", "zarr.json", lambda m: m.__setitem__("data_type", "bytes"))
    else:
        c.skipped.append(f"{s}/bytes: zarr-python has no VariableLengthBytes")
    data = c.gen("<U4", (6,))
    c.zp(s, "fixed_U4", 3, data, "v3 fixed_length_utf32 {length_bytes:16} (registry extension)",
         "dtype", chunks=(4,), optional=True)
    data = c.gen("S5", (6,))
    c.zp(s, "fixed_S5", 3, data, "v3 null_terminated_bytes {length_bytes:5} (zarr-python only, "
         "unregistered)", "dtype", chunks=(4,), optional=True)

    # ---- v2 data types
    s = "v2_dtypes.zarr"
    c.group(s, "", 2, {"section": "v2 data types"})
    for t in NUM_TYPES:
        data = c.gen(NP_OF[t], (7, 5))
        c.zp(s, t, 2, data, f"v2 {NP_OF[t]}, chunks (3,2) ragged", "dtype", chunks=(3, 2),
             region="1:6,1:4" if t == "int32" else None)
    for dt, reg in [(">i2", None), (">i4", "2:6,1:5"), (">u8", None), (">f4", None),
                    (">f8", None), (">c8", None), (">c16", "0:4,2:5")]:
        data = c.gen(dt, (7, 5))
        c.zp(s, "be_" + dt[1:], 2, data, f"v2 big-endian {dt}", "dtype", chunks=(3, 2),
             region=reg)
    data = c.gen_obj(STRINGS, (13,))
    c.zp(s, "obj_utf8", 2, data, "v2 |O + vlen-utf8 filter", "dtype", chunks=(4,), dtype=str,
         data_type="string", region="3:11")
    if VariableLengthBytes is not None:
        data = c.gen_obj(BYTES, (8,))
        c.zp(s, "obj_bytes", 2, data, "v2 |O + vlen-bytes filter", "dtype", chunks=(3,),
             dtype=VariableLengthBytes(), data_type="bytes")
    c.zp(s, "U5", 2, c.gen("<U5", (9,)), "v2 <U5 (UTF-32LE, non-BMP emoji)", "dtype",
         chunks=(4,))
    c.zp(s, "be_U3", 2, c.gen(">U3", (9,)), "v2 >U3 big-endian UTF-32", "dtype", chunks=(4,))
    c.zp(s, "S6", 2, c.gen("S6", (9,)), "v2 |S6 (embedded NUL)", "dtype", chunks=(4,))
    c.zp(s, "order_F_2d", 2, c.gen("<i4", (7, 5)), "v2 order F rank 2, ragged chunks", "order",
         chunks=(3, 2), order="F", region="1:6,0:3")
    c.zp(s, "order_F_3d", 2, c.gen("<f8", (4, 5, 6)), "v2 order F rank 3", "order",
         chunks=(3, 2, 4), order="F", region="1:3,0:4,2:5")
    c.zp(s, "order_F_be_c16", 2, c.gen(">c16", (5, 4)), "v2 order F, big-endian complex",
         "order", chunks=(2, 3), order="F")
    c.zp(s, "order_F_1d", 2, c.gen("<u2", (9,)), "v2 order F rank 1 (same as C)", "order",
         chunks=(4,), order="F")


def section_fill(c):
    s = "v3_fill.zarr"
    c.group(s, "", 3)
    sel = [np.s_[1:3]]
    cases = [
        ("f64_nan", "<f8", np.nan), ("f32_inf", "<f4", np.inf), ("f64_neginf", "<f8", -np.inf),
        ("f64_negzero", "<f8", -0.0), ("f16_nan", "<f2", np.nan), ("f32_1e-7", "<f4", 1e-7),
        ("i64_min", "<i8", -2**63), ("i64_max", "<i8", 2**63 - 1),
        ("u64_max", "<u8", 2**64 - 1), ("i64_2p53p1", "<i8", 9007199254740993),
        ("i8_min", "|i1", -128), ("u8_max", "|u1", 255), ("u32_max", "<u4", 2**32 - 1),
        ("c128", "<c16", complex(1.5, -2.25)), ("c64_nan_neginf", "<c8",
                                                complex(float("nan"), float("-inf"))),
        ("bool_true", "|b1", True),
    ]
    for name, dt, fv in cases:
        data = c.gen(dt, (10,))
        c.zp(s, name, 3, data, f"v3 fill_value {fv!r}; only [1:3] written, chunks 1-2 missing",
             "fill", chunks=(4,), fill_value=fv, sels=sel,
             region="0:6" if name in ("f64_nan", "u64_max", "c64_nan_neginf") else None)
    data = c.gen_obj(STRINGS, (10,))
    c.zp(s, "string", 3, data, "v3 string fill_value 'fill ✓ grüße', partial write", "fill",
         chunks=(4,), dtype=str, data_type="string", fill_value="fill ✓ grüße", sels=sel)
    if VariableLengthBytes is not None:
        data = c.gen_obj(BYTES, (10,))
        c.zp(s, "bytes", 3, data, "v3 variable_length_bytes fill_value b'\\x00ab' (base64)",
             "fill", chunks=(4,), dtype=VariableLengthBytes(), data_type="bytes",
             fill_value=b"\x00ab", sels=sel)
    data = c.gen("<i4", (6, 8))
    c.zp(s, "i32_2d_missing", 3, data, "v3 rank 2 fill 42, most chunks missing", "fill",
         chunks=(3, 3), fill_value=42, sels=[np.s_[0:3, 0:3], np.s_[4:5, 7:8]],
         region="2:6,1:8")
    # hex fill values: write with the numerically equal fill, then patch zarr.json; whole
    # chunks only (chunk 0) so no element holds the old fill's bits.
    hexes = [("hex_f32_1p5", "<f4", 1.5, "0x3fc00000", None),
             ("hex_f64_nan_payload", "<f8", np.nan, "0x7ff8000000000001", 0x7ff8000000000001),
             ("hex_f16_1p5", "<f2", 1.5, "0x3e00", None),
             ("hex_c64", "<c8", complex(1.5, -0.0), ["0x3fc00000", "0x80000000"], None)]
    for name, dt, fv, hx, payload in hexes:
        data = c.gen(dt, (10,))
        data[0:4] = np.arange(1, 5)
        expected = np.empty(10, dtype=dt)
        expected[...] = fv
        if payload is not None:
            expected.view("<u8")[4:] = payload
        expected[0:4] = data[0:4]
        # write chunk 0 fully, then patch
        st = c.zstore(s)
        a = zarr.create_array(st, name=name, shape=(10,), chunks=(4,), dtype=dt, fill_value=fv)
        a[0:4] = data[0:4]
        c.patch_json(s, name, "zarr.json", lambda m, hx=hx: m.__setitem__("fill_value", hx))
        c.add_entry(s, name, "zarr-python", 3, name_of_numpy_dtype(np.dtype(dt)), expected,
                    f"v3 fill_value given as hex {hx!r} (zarr.json patched after writing); "
                    "chunk 0 written, chunks 1-2 missing", "fill")

    s = "v2_fill.zarr"
    c.group(s, "", 2)
    for name, dt, fv in [("f8_nan", "<f8", np.nan), ("f4_inf", "<f4", np.inf),
                         ("f8_neginf", "<f8", -np.inf), ("f8_negzero", "<f8", -0.0),
                         ("i8_min", "<i8", -2**63), ("i8_max", "<i8", 2**63 - 1),
                         ("u8_max", "<u8", 2**64 - 1), ("i8_2p53p1", "<i8", 9007199254740993),
                         ("be_i8_2p53p1", ">i8", 9007199254740993),
                         ("c16", "<c16", complex(-1.25, float("inf"))),
                         ("be_c16", ">c16", complex(2.5, -0.5)),
                         ("bool_true", "|b1", True), ("U4", "<U4", "fï✓"),
                         ("S4", "S4", b"ab\x00z")]:
        data = c.gen(dt, (10,))
        c.zp(s, name, 2, data, f"v2 fill_value {fv!r}; only [1:3] written", "fill",
             chunks=(4,), fill_value=fv, sels=sel,
             region="2:9" if name in ("f8_nan", "S4") else None)
    data = c.gen_obj(STRINGS, (10,))
    c.zp(s, "obj_utf8", 2, data, "v2 |O vlen-utf8 fill_value 'x✓', partial write", "fill",
         chunks=(4,), dtype=str, data_type="string", fill_value="x✓", sels=sel)
    data = c.gen("<f4", (10,)) + np.float32(1e6)  # no chunk equal to zero
    data = np.where(np.isfinite(data), data, np.float32(7)).astype("<f4")
    c.zp(s, "fill_null", 2, data, "v2 fill_value null (every chunk written)", "fill",
         chunks=(4,), fill_value=None)


def section_codecs(c):
    s = "v3_codecs.zarr"
    c.group(s, "", 3)
    shape, chunks = (20, 15), (8, 6)
    for dt in ["<i2", "<i4", "<u8", "<f8", "<c8", "<c16", "<f2"]:
        t = name_of_numpy_dtype(np.dtype(dt))
        c.zp(s, f"bytes_big_{t}", 3, c.gen(dt, shape), f"bytes endian big, {t}", "codec",
             chunks=chunks, serializer=BytesCodec(endian="big"), compressors=None,
             region="5:17,3:11" if t == "complex64" else None)
    c.zp(s, "bytes_little_i32", 3, c.gen("<i4", shape), "bytes endian little, no compressor",
         "codec", chunks=chunks, serializer=BytesCodec(endian="little"), compressors=None)
    c.zp(s, "bytes_u8_no_endian", 3, c.gen("|u1", shape), "1-byte type, bare bytes codec",
         "codec", chunks=chunks, compressors=None)
    c.zp(s, "transpose_2d", 3, c.gen("<i4", (7, 9)), "transpose [1,0]", "codec", chunks=(3, 4),
         filters=[TransposeCodec(order=(1, 0))], compressors=None)
    for order in [(2, 0, 1), (1, 2, 0), (0, 2, 1)]:
        nm = "transpose_3d_" + "".join(map(str, order))
        c.zp(s, nm, 3, c.gen("<f4", (4, 5, 6)), f"transpose {list(order)}, ragged", "codec",
             chunks=(3, 2, 4), filters=[TransposeCodec(order=order)],
             region="1:4,1:5,0:5" if order == (2, 0, 1) else None)
    c.zp(s, "transpose_big_c16", 3, c.gen("<c16", (5, 6)), "transpose [1,0] + bytes big",
         "codec", chunks=(2, 4), filters=[TransposeCodec(order=(1, 0))],
         serializer=BytesCodec(endian="big"), compressors=None)
    for lvl in [0, 3, -5, 19]:
        c.zp(s, f"zstd_{lvl}".replace("-", "m"), 3, c.gen("<f8", shape), f"zstd level {lvl}",
             "codec", chunks=chunks, compressors=ZstdCodec(level=lvl))
    c.zp(s, "zstd_checksum", 3, c.gen("<i8", shape), "zstd level 3 checksum true", "codec",
         chunks=chunks, compressors=ZstdCodec(level=3, checksum=True))
    for cname in ["lz4", "lz4hc", "blosclz", "zstd", "zlib"]:
        for shuffle in ["noshuffle", "shuffle", "bitshuffle"]:
            for size, dt in [(4, "<i4"), (8, "<f8")]:
                nm = f"blosc_{cname}_{shuffle}_{size}"
                c.zp(s, nm, 3, c.gen(dt, shape, smooth=True),
                     f"blosc cname {cname} shuffle {shuffle} typesize {size}", "codec",
                     chunks=chunks, compressors=BloscCodec(cname=cname, clevel=5,
                                                           shuffle=shuffle, typesize=size),
                     region="3:18,2:13" if nm == "blosc_zstd_bitshuffle_8" else None)
    c.zp(s, "blosc_tiny_memcpyed", 3, c.gen("<i4", (3,)), "blosc on a tiny chunk "
         "(stored memcpyed)", "codec", chunks=(3,),
         compressors=BloscCodec(cname="lz4", clevel=5, shuffle="shuffle", typesize=4))
    for lvl in [1, 9]:
        c.zp(s, f"gzip_{lvl}", 3, c.gen("<i4", shape, smooth=True), f"gzip level {lvl}",
             "codec", chunks=chunks, compressors=GzipCodec(level=lvl))
    c.zp(s, "crc32c", 3, c.gen("<u2", shape), "bytes + crc32c", "codec", chunks=chunks,
         compressors=Crc32cCodec())
    c.zp(s, "zstd_crc32c", 3, c.gen("<f4", shape), "bytes + zstd + crc32c", "codec",
         chunks=chunks, compressors=[ZstdCodec(level=1), Crc32cCodec()])
    if NcZlib is not None:
        c.zp(s, "numcodecs_zlib", 3, c.gen("<f8", shape, smooth=True),
             "numcodecs.zlib (zarr-python's v3 wrapper of a numcodecs compressor)", "codec",
             chunks=chunks, compressors=[NcZlib(level=4)])
        c.zp(s, "numcodecs_lz4", 3, c.gen("<i4", shape, smooth=True),
             "numcodecs.lz4 (u32 LE size + LZ4 block)", "codec", chunks=chunks,
             compressors=[NcLZ4(acceleration=1)])
    else:
        c.skipped.append(f"{s}/numcodecs_*: no numcodecs v3 wrappers")

    s = "v2_codecs.zarr"
    c.group(s, "", 2)
    comps = [("blosc_shuffle0", numcodecs.Blosc("lz4", 5, 0)),
             ("blosc_shuffle1", numcodecs.Blosc("zstd", 5, 1)),
             ("blosc_shuffle2", numcodecs.Blosc("blosclz", 5, 2)),
             ("blosc_shuffle_auto", numcodecs.Blosc("zlib", 5, -1)),
             ("zstd", numcodecs.Zstd(level=3)),
             ("zstd_checksum", numcodecs.Zstd(level=3, checksum=True)),
             ("zlib", numcodecs.Zlib(level=6)), ("gzip", numcodecs.GZip(level=6)),
             ("lz4", numcodecs.LZ4(acceleration=1)), ("bz2", numcodecs.BZ2(level=9)),
             ("null", None)]
    for name, comp in comps:
        dt = "<f8" if name in ("blosc_shuffle1", "zlib") else "<i4"
        c.zp(s, name, 2, c.gen(dt, shape, smooth=True), f"v2 compressor {name}", "codec",
             chunks=chunks, compressors=comp,
             region="1:19,4:14" if name in ("lz4", "blosc_shuffle2") else None)
    c.zp(s, "be_blosc", 2, c.gen(">f8", shape, smooth=True), "v2 >f8 + blosc shuffle", "codec",
         chunks=chunks, compressors=numcodecs.Blosc("lz4", 5, 1))


def section_sharding(c):
    s = "v3_sharding.zarr"
    c.group(s, "", 3)
    shape = (10, 9)
    c.zp(s, "index_end_crc", 3, c.gen("<i4", shape), "shard (4,6) inner (2,3), index end, "
         "index bytes+crc32c, inner zstd, ragged edge shards", "sharding", chunks=(4, 6),
         serializer=ShardingCodec(chunk_shape=(2, 3), codecs=[BytesCodec(), ZstdCodec(level=3)],
                                  index_codecs=[BytesCodec(), Crc32cCodec()],
                                  index_location="end"),
         compressors=None, region="3:9,2:8")
    c.zp(s, "index_start", 3, c.gen("<f8", shape), "index_location start, index bytes only",
         "sharding", chunks=(4, 6),
         serializer=ShardingCodec(chunk_shape=(2, 3), codecs=[BytesCodec()],
                                  index_codecs=[BytesCodec()], index_location="start"),
         compressors=None)
    c.zp(s, "index_start_crc_gzip", 3, c.gen("<u2", shape), "index start + crc32c, inner gzip",
         "sharding", chunks=(4, 6),
         serializer=ShardingCodec(chunk_shape=(2, 3), codecs=[BytesCodec(), GzipCodec(level=5)],
                                  index_codecs=[BytesCodec(), Crc32cCodec()],
                                  index_location="start"),
         compressors=None)
    c.zp(s, "shards_param", 3, c.gen("<c8", shape), "zarr-python shards=(4,6) chunks=(2,3) "
         "defaults", "sharding", chunks=(2, 3), shards=(4, 6))
    data = c.gen("<i2", (12, 12))
    c.zp(s, "partial_empty", 3, data, "shard (8,8) inner (2,2), fill -7: one shard partially "
         "written, some inner chunks and shards never written", "sharding", chunks=(8, 8),
         fill_value=-7, sels=[np.s_[0:2, 0:4], np.s_[5:7, 3:5], np.s_[9:10, 10:12]],
         serializer=ShardingCodec(chunk_shape=(2, 2)), compressors=None, region="0:8,2:12")
    c.zp(s, "nested", 3, c.gen("<f4", shape), "nested sharding: shard (8,8) > (4,4) > (2,2)",
         "sharding", chunks=(8, 8),
         serializer=ShardingCodec(chunk_shape=(4, 4),
                                  codecs=[ShardingCodec(chunk_shape=(2, 2),
                                                        codecs=[BytesCodec(),
                                                                ZstdCodec(level=1)])]),
         compressors=None, region="1:10,3:8")
    c.zp(s, "transpose_square", 3, c.gen("<i4", shape), "transpose [1,0] then sharding, "
         "square shard (4,4) inner (2,2)", "sharding", chunks=(4, 4),
         filters=[TransposeCodec(order=(1, 0))], serializer=ShardingCodec(chunk_shape=(2, 2)),
         compressors=None)
    c.zp(s, "rank3_big", 3, c.gen("<i8", (5, 6, 7)), "rank 3 sharding, inner bytes big + "
         "blosc", "sharding", chunks=(4, 4, 4),
         serializer=ShardingCodec(chunk_shape=(2, 2, 4), codecs=[
             BytesCodec(endian="big"),
             BloscCodec(cname="zstd", clevel=3, shuffle="shuffle", typesize=8)]),
         compressors=None)
    c.zp(s, "strings", 3, c.gen_obj(STRINGS, (9,)), "v3 string inside shards (vlen-utf8 inner)",
         "sharding", chunks=(4,), dtype=str, data_type="string",
         serializer=ShardingCodec(chunk_shape=(2,), codecs=[zarr.codecs.VLenUTF8Codec()]),
         compressors=None)
    c.zp(s, "crc_after_shard", 3, c.gen("<i4", shape), "bytes->bytes codec (crc32c) after "
         "sharding_indexed (legal; tensorstore cannot)", "sharding", chunks=(4, 6),
         serializer=ShardingCodec(chunk_shape=(2, 3)), compressors=Crc32cCodec())


def section_keys_shapes(c):
    s = "v3_keys.zarr"
    c.group(s, "", 3)
    for nm, cke in [("default_slash", {"name": "default", "configuration": {"separator": "/"}}),
                    ("default_dot", {"name": "default", "configuration": {"separator": "."}}),
                    ("v2_dot", {"name": "v2", "configuration": {"separator": "."}}),
                    ("v2_slash", {"name": "v2", "configuration": {"separator": "/"}})]:
        c.zp(s, nm, 3, c.gen("<i4", (5, 7)), f"chunk key encoding {cke}", "keys", chunks=(2, 3),
             chunk_key_encoding=cke, region="1:4,2:7" if nm == "v2_slash" else None)
        c.zp(s, nm + "_0d", 3, c.gen("<f8", ()), f"0-d array, chunk key encoding {cke}",
             "keys", chunks=(), chunk_key_encoding=cke)
    s = "v2_keys.zarr"
    c.group(s, "", 2)
    for sep in ["/", "."]:
        nm = "nested" if sep == "/" else "flat"
        c.zp(s, nm, 2, c.gen("<i4", (5, 7, 3)), f"v2 dimension_separator {sep!r}", "keys",
             chunks=(2, 3, 2), chunk_key_encoding={"name": "v2", "separator": sep},
             region="0:5,1:6,1:3" if sep == "/" else None)

    for fmt in (3, 2):
        s = f"v{fmt}_shapes.zarr"
        c.group(s, "", fmt)
        c.zp(s, "scalar_f64", fmt, c.gen("<f8", ()), "0-d float64", "shape", chunks=())
        c.zp(s, "scalar_i32_unwritten", fmt, np.array(5, dtype="<i4"), "0-d, never written: "
             "reads fill 5", "shape", chunks=(), fill_value=5, sels=[])
        sc = np.empty((), dtype=object)
        sc[()] = "grüße 😀"
        c.zp(s, "scalar_string", fmt, sc, "0-d string" + (" (|O vlen-utf8)" if fmt == 2 else ""),
             "shape", chunks=(), dtype=str, data_type="string")
        if fmt == 2:
            c.zp(s, "scalar_U3", fmt, np.array("a\x00", dtype="<U3"), "0-d <U3 holding 'a' "
                 "(trailing NULs)", "shape", chunks=())
        c.zp(s, "empty_1d", fmt, np.zeros((0,), "<f4"), "shape [0]", "shape", chunks=(4,))
        c.zp(s, "empty_3x0", fmt, np.zeros((3, 0), "<i2"), "shape [3,0]", "shape",
             chunks=(2, 2))
        c.zp(s, "rank1", fmt, c.gen("<u4", (17,)), "rank 1 ragged", "shape", chunks=(5,))
        c.zp(s, "rank2", fmt, c.gen("<i8", (7, 9)), "rank 2 ragged", "shape", chunks=(3, 4))
        c.zp(s, "rank3", fmt, c.gen("<f4", (4, 5, 6)), "rank 3 ragged", "shape",
             chunks=(3, 2, 4))
        c.zp(s, "rank4", fmt, c.gen("<i2", (3, 4, 2, 5)), "rank 4 ragged", "shape",
             chunks=(2, 3, 2, 2), region="1:3,0:4,1:2,2:5" if fmt == 3 else None)
        c.zp(s, "single_chunk", fmt, c.gen("<i4", (5, 7)), "1-element chunk grid, "
             "chunk == shape", "shape", chunks=(5, 7))
        c.zp(s, "chunk_bigger", fmt, c.gen("<f8", (5, 7)), "1-element chunk grid, chunk "
             "(8,8) bigger than shape (5,7)", "shape", chunks=(8, 8))
        c.zp(s, "chunk_ones", fmt, c.gen("|u1", (3, 4)), "chunk shape (1,1)", "shape",
             chunks=(1, 1))


def section_groups(c):
    big_attrs = {
        "title": "swift-anndata interop corpus",
        "ünïcødé ✓ key": "välue 😀",
        "日本": ["リスト", 1, 2.5, None, True],
        "nested": {"a": [1, 2, {"b": None, "c": [[], {}]}], "d": {"e": {"f": "deep"}}},
        "int64_max": 2**63 - 1, "int64_min": -2**63, "uint64_max": 2**64 - 1,
        "beyond_double": 9007199254740993, "float": 0.1, "exp": 1e300, "neg": -12,
        "empty_string": "", "empty_obj": {}, "empty_list": [],
    }
    for fmt, consolidated in [(3, True), (3, False), (2, True)]:
        s = f"v{fmt}_groups{'_consolidated' if consolidated else ''}.zarr"
        c.group(s, "", fmt, big_attrs)
        c.group(s, "g1", fmt, {"level": 1, "name": "g1"})
        c.group(s, "g1/g2", fmt, {"level": 2, "list": [1, [2, [3]]]})
        sub = "g1/grüße" if fmt == 3 else "g1/g3"
        c.group(s, sub, fmt, {"unicode group": fmt == 3})
        c.group(s, "empty_group", fmt, {})
        arr_attrs = {"units": "µm", "scale": [1.0, 0.5], "big": 2**64 - 1}
        dn = {"dimension_names": ["y", None]} if fmt == 3 else {}
        c.zp(s, "top", fmt, c.gen("<f8", (6, 4)), "array in root group, attributes"
             + (" + dimension_names" if fmt == 3 else ""), "group", chunks=(4, 4),
             attributes=arr_attrs, **dn)
        c.zp(s, "g1/g2/deep", fmt, c.gen("<i4", (5,)), "array two groups deep", "group",
             chunks=(2,), attributes={"k": "v"}, region="1:4" if consolidated else None)
        c.zp(s, f"{sub}/arr", fmt, c.gen_obj(STRINGS, (5,)),
             "string array in " + ("unicode-named group" if fmt == 3 else "g3"), "group",
             chunks=(3,), dtype=str, data_type="string")
        c.zp(s, "g1/scalar", fmt, c.gen("<c16", ()), "0-d complex in a group", "group",
             chunks=())
        if consolidated:
            zarr.consolidate_metadata(c.zstore(s))
            for g in c.groups:
                if g["store"] == s:
                    g["consolidated"] = True
        for e in c.entries:
            if e["store"] == s:
                e["note"] += "; consolidated store" if consolidated else ""


def section_tensorstore(c):
    if ts is None:
        c.skipped.append("tensorstore section: tensorstore not importable")
        return
    s = "ts_v3.zarr"
    c.group(s, "", 3, {"writer": "tensorstore arrays inside a zarr-python group"})

    def m3(shape, dtype, chunks, codecs, fill=0, cke=None, **extra):
        m = {"shape": list(shape), "data_type": dtype,
             "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
             "codecs": codecs, "fill_value": fill}
        if cke:
            m["chunk_key_encoding"] = cke
        m.update(extra)
        return m

    LE = {"name": "bytes", "configuration": {"endian": "little"}}
    BE = {"name": "bytes", "configuration": {"endian": "big"}}
    CRC = {"name": "crc32c"}
    DOT = {"name": "default", "configuration": {"separator": "."}}
    V2SLASH = {"name": "v2", "configuration": {"separator": "/"}}
    shape = (10, 9)

    def shard(inner, codecs, index=(LE, CRC), loc=None):
        conf = {"chunk_shape": list(inner), "codecs": codecs, "index_codecs": list(index)}
        if loc:
            conf["index_location"] = loc
        return {"name": "sharding_indexed", "configuration": conf}

    c.ts_write(s, "sharded", 3, m3(shape, "int32", (4, 6), [shard((2, 3), [LE])]),
               c.gen("<i4", shape), "tensorstore sharding (C-order inner chunks), index end "
               "(omitted), ragged edge shards", "tensorstore", region="2:9,1:8")
    c.ts_write(s, "sharded_zstd_start", 3,
               m3(shape, "float64", (4, 6), [shard((2, 3), [LE, {"name": "zstd",
                                                                 "configuration": {"level": 3}}],
                                                  loc="start")]),
               c.gen("<f8", shape), "tensorstore sharding, index start + crc32c, inner zstd",
               "tensorstore")
    data = c.gen("<u2", (12, 12))
    exp = np.full((12, 12), 9, "<u2")
    sels = [np.s_[0:2, 0:4], np.s_[6:7, 5:6]]
    for sl in sels:
        exp[sl] = data[sl]
    c.ts_write(s, "sharded_partial", 3, m3((12, 12), "uint16", (8, 8), [shard((2, 2), [LE])],
                                         fill=9),
               data, "tensorstore sharding, fill 9, partially empty shards", "tensorstore",
               sels=sels, expected=exp)
    c.ts_write(s, "sharded_nested", 3,
               m3(shape, "int16", (8, 8), [shard((4, 4), [shard((2, 2), [LE])])]),
               c.gen("<i2", shape), "tensorstore nested sharding (8,8)>(4,4)>(2,2)",
               "tensorstore")
    c.ts_write(s, "transpose_then_shard_nonsquare", 3,
               m3((8, 12), "int32", (4, 6), [{"name": "transpose", "configuration":
                                              {"order": [1, 0]}},
                                             shard((3, 2), [LE])]),
               c.gen("<i4", (8, 12)), "transpose [1,0] then sharding, shard (4,6), inner (3,2) "
               "applies to the transposed (6,4) shard; zarr-python refuses to open it",
               "tensorstore", readers=["tensorstore"])
    c.ts_write(s, "zstd_dot", 3, m3(shape, "float32", (4, 4), [LE, {"name": "zstd",
               "configuration": {"level": 5}}], cke=DOT), c.gen("<f4", shape),
               "tensorstore zstd level 5, chunk key encoding default '.'", "tensorstore")
    c.ts_write(s, "blosc_v2slash", 3, m3(shape, "int32", (4, 4), [LE, {"name": "blosc",
               "configuration": {"cname": "zstd", "clevel": 5, "shuffle": "shuffle",
                                 "typesize": 4, "blocksize": 0}}], cke=V2SLASH),
               c.gen("<i4", shape, smooth=True), "tensorstore blosc zstd shuffle, chunk key "
               "encoding v2 '/'", "tensorstore", region="3:10,0:5")
    c.ts_write(s, "blosc_lz4_noshuffle", 3, m3(shape, "uint8", (4, 4), [{"name": "bytes"},
               {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 9,
                                                  "shuffle": "noshuffle"}}]),
               c.gen("|u1", shape, smooth=True), "tensorstore blosc lz4 noshuffle, typesize "
               "omitted", "tensorstore")
    c.ts_write(s, "gzip_dot", 3, m3(shape, "float64", (4, 4), [LE, {"name": "gzip",
               "configuration": {"level": 6}}], cke=DOT), c.gen("<f8", shape),
               "tensorstore gzip level 6 (mtime 0), chunk key encoding default '.'",
               "tensorstore")
    c.ts_write(s, "transpose_3d_v2slash", 3,
               m3((4, 5, 6), "int16", (3, 2, 4), [{"name": "transpose", "configuration":
                                                   {"order": [2, 0, 1]}}, LE], cke=V2SLASH),
               c.gen("<i2", (4, 5, 6)), "tensorstore transpose [2,0,1], chunk key encoding v2 "
               "'/'", "tensorstore", region="1:4,0:3,2:6")
    c.ts_write(s, "big_c128_edge", 3, m3((5, 3), "complex128", (2, 2), [BE], fill=[0.0, -0.0]),
               c.gen("<c16", (5, 3)), "tensorstore bytes big complex128, partial edge chunks",
               "tensorstore")
    data = c.gen("<f4", (10,))
    data[0:4] = [1, 2, 3, 4]
    exp = np.empty(10, "<f4")
    exp.view("<u4")[...] = 0x7fc00001
    exp[0:4] = data[0:4]
    c.ts_write(s, "hex_fill_nan_payload", 3, m3((10,), "float32", (4,), [LE],
                                                fill="0x7fc00001"),
               data, "tensorstore float32 fill_value '0x7fc00001' (NaN payload), chunks 1-2 "
               "missing", "tensorstore", sels=[np.s_[0:4]], expected=exp)
    data = c.gen("|b1", (7,))
    exp = np.ones(7, bool)
    exp[0:3] = data[0:3]
    c.ts_write(s, "bool_fill_true", 3, m3((7,), "bool", (3,), [{"name": "bytes"}], fill=True),
               data, "tensorstore bool fill true, partial", "tensorstore", sels=[np.s_[0:3]],
               expected=exp)
    c.ts_write(s, "blosc_snappy", 3, m3(shape, "int32", (4, 4), [LE, {"name": "blosc",
               "configuration": {"cname": "snappy", "clevel": 5, "shuffle": "shuffle",
                                 "typesize": 4}}]), c.gen("<i4", shape, smooth=True),
               "tensorstore blosc snappy (numcodecs has no snappy; optional)", "tensorstore",
               optional=True, readers=["tensorstore"])

    s = "ts_v2.zarr"
    c.group(s, "", 2)

    def m2(shape, dtype, chunks, comp, fill=0, order="C", sep=None):
        m = {"shape": list(shape), "chunks": list(chunks), "dtype": dtype, "compressor": comp,
             "fill_value": fill, "order": order, "filters": None}
        if sep:
            m["dimension_separator"] = sep
        return m

    c.ts_write(s, "zlib_slash", 2, m2(shape, "<i4", (4, 4), {"id": "zlib", "level": 5},
                                     sep="/"),
               c.gen("<i4", shape), "tensorstore v2 zlib, dimension_separator '/'",
               "tensorstore", region="1:7,2:9")
    c.ts_write(s, "blosc_be_f8", 2, m2(shape, ">f8", (4, 4), {"id": "blosc", "cname": "lz4",
               "clevel": 5, "shuffle": 1, "blocksize": 0}), c.gen(">f8", shape),
               "tensorstore v2 >f8 blosc lz4 shuffle", "tensorstore")
    c.ts_write(s, "bz2", 2, m2(shape, "<u2", (4, 4), {"id": "bz2", "level": 9}),
               c.gen("<u2", shape), "tensorstore v2 bz2", "tensorstore")
    c.ts_write(s, "zstd", 2, m2(shape, "<c8", (4, 4), {"id": "zstd", "level": 3}, fill=[1.5, "NaN"]),
               c.gen("<c8", shape), "tensorstore v2 zstd (no checksum member)", "tensorstore")
    c.ts_write(s, "gzip_F", 2, m2((4, 5, 6), "<i8", (3, 2, 4), {"id": "gzip", "level": 5},
                                  order="F"),
               c.gen("<i8", (4, 5, 6)), "tensorstore v2 gzip, order F rank 3", "tensorstore")
    data = c.gen("<f8", (10,))
    exp = np.full(10, np.nan)
    exp[0:3] = data[0:3]
    c.ts_write(s, "nan_fill_null_comp", 2, m2((10,), "<f8", (4,), None, fill="NaN"), data,
               "tensorstore v2 fill NaN, compressor null, partial", "tensorstore",
               sels=[np.s_[0:3]], expected=exp)
    c.ts_write(s, "scalar", 2, m2((), "<i4", (), None), np.array(-17, "<i4"),
               "tensorstore v2 0-d", "tensorstore")


def structured_data(c, dt, n):
    """n records of the structured dtype dt, each field from c.gen."""
    out = np.zeros(n, dtype=dt)
    for name in dt.names:
        out[name] = c.gen(dt.fields[name][0], (n,))
    return out


def section_structured(c):
    """Structured (record) data types: v2 numpy dtype lists, v3 'structured' (zarr-python
    3.1) or 'struct' (zarr-python 3.2+), whichever this zarr-python writes."""
    ver = zarr.__version__.split("+")[0]
    tag = "zarr" + "".join(ver.split(".")[:2])
    dt = np.dtype([("a", "<i4"), ("b", "<f8"), ("c", "S3")])
    fill = np.array((7, 0.5, b"zz"), dtype=dt)[()]
    data = structured_data(c, dt, 7)
    data["c"][:3] = [b"ab", b"", b"xyz"]
    data["b"][1] = np.nan
    data["b"][2] = -0.0
    v3name = "struct" if tuple(int(x) for x in ver.split(".")[:2]) >= (3, 2) else "structured"
    for fmt in (2, 3):
        s = f"v{fmt}_structured_{tag}.zarr"
        c.group(s, "", fmt)
        spelled = "numpy dtype list" if fmt == 2 else f"data_type '{v3name}'"
        c.zp(s, "records", fmt, data, f"v{fmt} structured [a <i4, b <f8, c S3] ({spelled}, "
             f"zarr-python {ver}), fill (7, 0.5, b'zz'), chunks 4-6 missing", "dtype",
             chunks=(3,), fill_value=fill, sels=[np.s_[0:4]], data_type="structured",
             region="2:6")
        c.zp(s, "records_2d", fmt, structured_data(c, np.dtype([("i", "<i8"), ("u", "|u1"),
                                                                 ("f", "<f4")]), 12).reshape(3, 4),
             f"v{fmt} structured rank 2 [i <i8, u u1, f <f4], zero fill, zstd", "dtype",
             chunks=(2, 3), data_type="structured")
    # v2 keeps each field's byte order; zarr-python's v3 has no per-field order (3.1 writes
    # big-endian fields as they are while the metadata says little), so this is v2 only.
    s = f"v2_structured_{tag}.zarr"
    mixed = np.dtype([("x", ">i2"), ("y", "<u4"), ("z", ">f8")])
    c.zp(s, "mixed_endian", 2, structured_data(c, mixed, 9),
         "v2 structured with big- and little-endian fields", "dtype", chunks=(4,),
         data_type="structured")


def section_numcodecs_v3(c):
    """numcodecs compressors and checksums in v3 metadata (`numcodecs.<id>`), as this
    zarr-python writes them through zarr.codecs.numcodecs."""
    try:
        import zarr.codecs.numcodecs as nc
    except ImportError:  # pragma: no cover
        c.skipped.append("numcodecs_v3: zarr.codecs.numcodecs missing")
        return
    ver = zarr.__version__.split("+")[0]
    tag = "zarr" + "".join(ver.split(".")[:2])
    s = f"v3_numcodecs_{tag}.zarr"
    c.group(s, "", 3)
    shape, chunks = (20, 9), (8, 4)
    cases = [("zstd", "<f8", [nc.Zstd(level=3)]),
             ("zstd_checksum", "<i4", [nc.Zstd(level=1, checksum=True)]),
             ("blosc", "<f4", [nc.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)]),
             ("blosc_bitshuffle", "<i8", [nc.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.BITSHUFFLE)]),
             ("gzip", "<u2", [nc.GZip(level=6)]),
             ("bz2", "<i2", [nc.BZ2(level=9)]),
             ("zlib", "<f8", [nc.Zlib(level=4)]),
             ("lz4", "<u4", [nc.LZ4(acceleration=1)]),
             ("crc32c", "<i4", [nc.CRC32C()]),
             ("zstd_crc32c", "<f4", [nc.Zstd(level=1), nc.CRC32C()])]
    for name, dt, comps in cases:
        try:
            c.zp(s, name, 3, c.gen(dt, shape, smooth=True),
                 f"v3 numcodecs.{name.split('_')[0]} as zarr-python {ver} writes it", "codec",
                 chunks=chunks, compressors=comps)
        except Exception as e:  # a wrapper this zarr-python cannot write: say so
            c.skipped.append(f"{s}/{name}: {type(e).__name__}: {e}")


SECTIONS = {"dtypes": section_dtypes, "fill": section_fill, "codecs": section_codecs,
            "sharding": section_sharding, "keys_shapes": section_keys_shapes,
            "groups": section_groups, "tensorstore": section_tensorstore,
            "structured": section_structured, "numcodecs_v3": section_numcodecs_v3}


def main(argv):
    only = None
    if len(argv) == 4 and argv[2] == "--only":
        only = argv[3].split(",")
        argv = argv[:2]
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 2
    t0 = time.time()
    outdir = argv[1]
    if os.path.exists(outdir):
        # only clear what a previous run of this script wrote
        for name in os.listdir(outdir):
            p = os.path.join(outdir, name)
            if name.endswith(".zarr") or name == "values":
                shutil.rmtree(p)
            elif name in ("manifest.json", "groups.json"):
                os.remove(p)
    c = Corpus(outdir)
    for name, section in SECTIONS.items():
        if only is None or name in only:
            section(c)

    # members of each group, for groups.json
    for g in c.groups:
        gdir = os.path.join(c.store_dir(g["store"]), g["path"])
        members = []
        for name in sorted(os.listdir(gdir)):
            p = os.path.join(gdir, name)
            if os.path.isdir(p) and any(os.path.exists(os.path.join(p, f)) for f in
                                        ("zarr.json", ".zarray", ".zgroup")):
                members.append(name)
        g["members"] = members
    with open(os.path.join(c.out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(c.entries, f, indent=1, ensure_ascii=False)
    with open(os.path.join(c.out, "groups.json"), "w", encoding="utf-8") as f:
        json.dump(c.groups, f, indent=1, ensure_ascii=False)

    total = 0
    for root, _, files in os.walk(c.out):
        total += sum(os.path.getsize(os.path.join(root, fn)) for fn in files)
    by_cat = {}
    for e in c.entries:
        by_cat[e["category"]] = by_cat.get(e["category"], 0) + 1
    writers = {}
    for e in c.entries:
        writers[e["writer"]] = writers.get(e["writer"], 0) + 1
    print("versions: zarr %s, numcodecs %s, numpy %s, tensorstore %s" % (
        zarr.__version__, numcodecs.__version__, np.__version__,
        "yes" if ts is not None else "not importable"))
    print("categories: " + ", ".join(f"{k} {v}" for k, v in sorted(by_cat.items())))
    print("writers: " + ", ".join(f"{k} {v}" for k, v in sorted(writers.items())))
    print(f"regions: {sum(1 for e in c.entries if 'region' in e)}; optional: "
          f"{sum(1 for e in c.entries if e.get('optional'))}; groups: {len(c.groups)}")
    for sk in c.skipped:
        print("skipped: " + sk)
    print(f"size: {total / 1e6:.2f} MB, time: {time.time() - t0:.1f} s")
    print(f"corpus: {len(c.entries)} arrays in {len(c.stores)} stores")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
