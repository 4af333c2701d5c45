#!/usr/bin/env python3
"""Check Zarr arrays (e.g. written by the Swift `anndata zarr` CLI) against expected values.

Usage:
    check_arrays.py MANIFEST

MANIFEST is a JSON list of entries (the same format make_corpus.py writes):
    {"store": "<dir relative to the manifest>", "path": "<node path, '' for root>",
     "zarr_format": 2|3, "data_type": "<v3 core name, U<n>/S<n> for fixed strings>",
     "shape": [...], "values": "<values file relative to the manifest>",
     "region": "1:5,2:9" (optional), "region_values": "<file>" (with region),
     "readers": ["zarr-python", "tensorstore"] (optional: restrict the readers tried),
     "attributes": {...} (optional: expected array attributes, compared with the metadata)}

"values" holds the expected FULL array; when "region" is present the sub-region read is
compared with "region_values" as well. Each array is opened with zarr-python and, when
tensorstore is importable and the array only uses features tensorstore supports (see
/work/shared/ZARR-NOTES.md section 3), with tensorstore too.

Prints one line per array, "ok <store>/<path> [readers]", "MISMATCH <store>/<path> [reader]:
reason" or "skip <store>/<path>: reason", then "N passed, M failed". Exit status 1 if any failed.

This module also holds the values-file codec used by make_corpus.py (encode_values /
decode_values). Values files are C order: fixed-size numbers little-endian (complex: real
then imaginary), bool one byte 0/1, variable-length `string`/`bytes` as per element a uint32
LE byte length then the bytes, `U<n>` as n UTF-32LE code points zero padded, `S<n>` as n
bytes zero padded.
"""

import json
import os
import re
import struct
import sys
import traceback
import warnings

import numpy as np

warnings.filterwarnings("ignore")

try:  # zarr-python is required for checking but not for importing the codec helpers
    import zarr
except ImportError:  # pragma: no cover
    zarr = None

try:
    import tensorstore as ts
except ImportError:
    ts = None

# --------------------------------------------------------------------------------------
# data types and the values-file codec
# --------------------------------------------------------------------------------------

NUMERIC = {
    "bool": "|b1",
    "int8": "|i1", "int16": "<i2", "int32": "<i4", "int64": "<i8",
    "uint8": "|u1", "uint16": "<u2", "uint32": "<u4", "uint64": "<u8",
    "float16": "<f2", "float32": "<f4", "float64": "<f8",
    "complex64": "<c8", "complex128": "<c16",
}
_FIXED_RE = re.compile(r"^([US])(\d+)$")


def numpy_dtype_for(data_type):
    """Little-endian numpy dtype for a printed data_type name (object for string/bytes)."""
    if data_type in NUMERIC:
        return np.dtype(NUMERIC[data_type])
    if data_type in ("string", "bytes"):
        return np.dtype(object)
    m = _FIXED_RE.match(data_type)
    if m:
        kind, n = m.group(1), int(m.group(2))
        return np.dtype(f"<U{n}" if kind == "U" else f"S{n}")
    raise ValueError(f"unknown data_type {data_type!r}")


def name_of_numpy_dtype(dt):
    """Printed data_type name of a numpy dtype (None for object / variable-length)."""
    dt = np.dtype(dt)
    if dt.kind == "b":
        return "bool"
    if dt.kind == "i":
        return f"int{dt.itemsize * 8}"
    if dt.kind == "u":
        return f"uint{dt.itemsize * 8}"
    if dt.kind == "f":
        return f"float{dt.itemsize * 8}"
    if dt.kind == "c":
        return f"complex{dt.itemsize * 8}"
    if dt.kind == "U":
        return f"U{dt.itemsize // 4}"
    if dt.kind == "S":
        return f"S{dt.itemsize}"
    if dt.kind == "T":  # numpy StringDType
        return "string"
    if dt.names is not None:
        return "structured"
    return None


def packed_records(a):
    """The bytes of a structured array as the values file holds them: records packed
    without padding, every field little-endian."""
    a = np.asarray(a)
    fields = []
    for name in a.dtype.names:
        ft = a.dtype.fields[name][0]
        base, sub = (ft.base, ft.shape) if ft.subdtype is not None else (ft, ())
        le = base.newbyteorder("<") if base.byteorder in "<>=" else base
        fields.append((name, le, sub) if sub else (name, le))
    return np.ascontiguousarray(a.astype(np.dtype(fields))).tobytes(order="C")


def encode_values(arr, data_type):
    """Encode an array as a values file (bytes)."""
    if data_type in ("string", "bytes"):
        out = bytearray()
        flat = np.asarray(arr, dtype=object).reshape(-1) if np.asarray(arr).dtype.kind != "T" \
            else np.asarray(arr).reshape(-1)
        for v in flat.tolist():
            if data_type == "string":
                if not isinstance(v, str):
                    raise TypeError(f"string element is {type(v).__name__}")
                b = v.encode("utf-8")
            else:
                if not isinstance(v, (bytes, bytearray)):
                    raise TypeError(f"bytes element is {type(v).__name__}")
                b = bytes(v)
            out += struct.pack("<I", len(b)) + b
        return bytes(out)
    if data_type == "structured":
        return packed_records(arr)
    dt = numpy_dtype_for(data_type)
    a = np.asarray(arr)
    if a.dtype.kind != dt.kind or a.dtype.itemsize != dt.itemsize:
        a = a.astype(dt)
    return to_little(a).tobytes(order="C")


def decode_values(buf, data_type, shape):
    """Decode a values file into a numpy array (object array for string/bytes)."""
    shape = tuple(int(s) for s in shape)
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if data_type in ("string", "bytes"):
        items = []
        pos = 0
        for i in range(count):
            if pos + 4 > len(buf):
                raise ValueError(f"values file truncated at element {i}")
            (n,) = struct.unpack_from("<I", buf, pos)
            pos += 4
            if pos + n > len(buf):
                raise ValueError(f"values file truncated in element {i}")
            b = bytes(buf[pos:pos + n])
            pos += n
            items.append(b.decode("utf-8") if data_type == "string" else b)
        if pos != len(buf):
            raise ValueError(f"values file has {len(buf) - pos} trailing bytes")
        out = np.empty(count, dtype=object)
        for i, v in enumerate(items):
            out[i] = v
        return out.reshape(shape)
    if data_type == "structured":
        # The record layout comes from the array that is read: kept as raw bytes here and
        # compared with packed_records() of what the reader returns.
        return np.frombuffer(bytes(buf), dtype=np.uint8).copy()
    dt = numpy_dtype_for(data_type)
    if len(buf) != count * dt.itemsize:
        raise ValueError(f"values file has {len(buf)} bytes, expected {count * dt.itemsize} "
                         f"({count} x {dt.itemsize})")
    return np.frombuffer(bytes(buf), dtype=dt).reshape(shape).copy()


def to_little(a):
    """Same values, little-endian (or byte-order free) dtype, C contiguous; bits preserved."""
    a = np.ascontiguousarray(a)
    if a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and sys.byteorder == "big"):
        a = a.byteswap().view(a.dtype.newbyteorder("<"))
    return np.ascontiguousarray(a)


def parse_region(sel, rank):
    parts = [p.strip() for p in sel.split(",")] if sel.strip() else []
    if len(parts) != rank:
        raise ValueError(f"region {sel!r} has {len(parts)} dimensions, array has {rank}")
    out = []
    for p in parts:
        a, b = p.split(":")
        out.append(slice(int(a), int(b)))
    return tuple(out)


# --------------------------------------------------------------------------------------
# comparison
# --------------------------------------------------------------------------------------

def _fmt_index(flat_index, shape):
    if not shape:
        return "()"
    return str(tuple(int(i) for i in np.unravel_index(flat_index, shape)))


def _float_bits_mismatch(e, a):
    """Indices (flat) where float arrays e and a differ: bitwise, except NaN == NaN."""
    uint = {2: np.uint16, 4: np.uint32, 8: np.uint64}[e.dtype.itemsize]
    e = to_little(e).reshape(-1)
    a = to_little(a).reshape(-1)
    eb = e.view(uint)
    ab = a.view(uint)
    both_nan = np.isnan(e) & np.isnan(a)
    return np.nonzero((eb != ab) & ~both_nan)[0]


def compare(expected, actual, data_type):
    """None when equal, else a reason string."""
    actual = np.asarray(actual)
    if data_type == "structured":
        if actual.dtype.names is None:
            return f"dtype {actual.dtype} is not structured"
        got_bytes = packed_records(actual)
        want = expected.tobytes()
        if got_bytes != want:
            first = next((i for i, (x, y) in enumerate(zip(got_bytes, want)) if x != y), min(len(got_bytes), len(want)))
            return f"record bytes differ (got {len(got_bytes)} bytes, want {len(want)}; first difference at byte {first})"
        return None
    if tuple(actual.shape) != tuple(expected.shape):
        return f"shape {list(actual.shape)} != expected {list(expected.shape)}"
    got = name_of_numpy_dtype(actual.dtype)
    if got is None and actual.dtype.kind == "O" and data_type in ("string", "bytes"):
        got = data_type  # element types are checked below
    if got != data_type:
        return f"dtype {actual.dtype} ({got}) != expected {data_type}"
    shape = expected.shape
    if data_type in ("string", "bytes"):
        want_type = str if data_type == "string" else bytes
        ev = expected.reshape(-1).tolist()
        av = actual.reshape(-1).tolist()
        bad = []
        for i, (x, y) in enumerate(zip(ev, av)):
            if not isinstance(y, want_type) or x != y:
                bad.append(i)
                if len(bad) >= 3:
                    break
        if bad:
            return "values differ at " + "; ".join(
                f"{_fmt_index(i, shape)}: got {av[i]!r} want {ev[i]!r}" for i in bad)
        return None
    if data_type[0] in "US" and _FIXED_RE.match(data_type):
        eb = to_little(expected).reshape(-1)
        ab = to_little(actual).reshape(-1)
        bad = [i for i in range(eb.size) if eb[i:i + 1].tobytes() != ab[i:i + 1].tobytes()][:3]
        if bad:
            return "values differ at " + "; ".join(
                f"{_fmt_index(i, shape)}: got {ab[i:i+1].tobytes()!r} want {eb[i:i+1].tobytes()!r}"
                for i in bad)
        return None
    if data_type.startswith("float"):
        bad = _float_bits_mismatch(expected, actual)
    elif data_type.startswith("complex"):
        part = np.dtype(f"<f{expected.dtype.itemsize // 2}")
        e2 = to_little(expected).view(part).reshape(-1, 2)
        a2 = to_little(actual).view(part).reshape(-1, 2)
        bad_re = _float_bits_mismatch(e2[:, 0], a2[:, 0])
        bad_im = _float_bits_mismatch(e2[:, 1], a2[:, 1])
        bad = np.union1d(bad_re, bad_im)
    else:  # bool and integers: exact
        e = to_little(expected).reshape(-1)
        a = to_little(actual).reshape(-1)
        bad = np.nonzero(e != a)[0]
    if len(bad):
        ef = expected.reshape(-1)
        af = actual.reshape(-1)
        shown = "; ".join(f"{_fmt_index(i, shape)}: got {af[i]!r} want {ef[i]!r}" for i in bad[:3])
        return f"{len(bad)} value(s) differ, e.g. {shown}"
    return None


# --------------------------------------------------------------------------------------
# metadata inspection (from disk, independent of any reader)
# --------------------------------------------------------------------------------------

def load_node_metadata(node_dir):
    """(zarr_format, metadata dict) of the array at node_dir."""
    p3 = os.path.join(node_dir, "zarr.json")
    p2 = os.path.join(node_dir, ".zarray")
    if os.path.exists(p3):
        with open(p3, "rb") as f:
            return 3, json.loads(f.read())
    if os.path.exists(p2):
        with open(p2, "rb") as f:
            return 2, json.loads(f.read())
    raise FileNotFoundError(f"no zarr.json or .zarray in {node_dir}")


def _ext_name(x):
    return x if isinstance(x, str) else x.get("name")


def data_type_name_from_metadata(fmt, meta):
    if fmt == 3:
        dt = meta.get("data_type")
        name = _ext_name(dt)
        conf = {} if isinstance(dt, str) else (dt.get("configuration") or {})
        if name in NUMERIC or name == "string":
            return name
        if name in ("bytes", "variable_length_bytes"):
            return "bytes"
        if name == "fixed_length_utf32":
            return f"U{int(conf['length_bytes']) // 4}"
        if name == "null_terminated_bytes":
            return f"S{int(conf['length_bytes'])}"
        if name in ("structured", "struct"):
            return "structured"
        return str(name)
    dt = meta.get("dtype")
    if not isinstance(dt, str):
        return "structured"
    if dt == "|O":
        ids = [f.get("id") for f in (meta.get("filters") or [])]
        if "vlen-utf8" in ids:
            return "string"
        if "vlen-bytes" in ids:
            return "bytes"
        return "object"
    return name_of_numpy_dtype(np.dtype(dt)) or dt


TS_V3_CODECS = {"bytes", "transpose", "gzip", "zstd", "blosc", "crc32c", "sharding_indexed"}
BYTES_TO_BYTES = {"gzip", "zstd", "blosc", "crc32c"}
TS_V2_COMPRESSORS = {"blosc", "zlib", "gzip", "bz2", "zstd"}


def _ts_v3_codecs_reason(codecs):
    seen_sharding = False
    for c in codecs:
        if isinstance(c, str):
            return f"short-hand codec {c!r}"
        name = c.get("name")
        if name not in TS_V3_CODECS:
            return f"codec {name}"
        if seen_sharding and name in BYTES_TO_BYTES:
            return f"{name} after sharding_indexed"
        if name == "sharding_indexed":
            seen_sharding = True
            conf = c.get("configuration") or {}
            for sub in ("codecs", "index_codecs"):
                r = _ts_v3_codecs_reason(conf.get(sub) or [])
                if r:
                    return r
    return None


def tensorstore_unsupported_reason(fmt, meta):
    """None if tensorstore 0.1.86 can read this array (ZARR-NOTES.md section 3), else why not."""
    if fmt == 3:
        dt = _ext_name(meta.get("data_type"))
        if dt not in NUMERIC:
            return f"data type {dt}"
        if meta.get("storage_transformers"):
            return "storage_transformers"
        if _ext_name(meta.get("chunk_key_encoding")) not in ("default", "v2"):
            return "chunk key encoding"
        return _ts_v3_codecs_reason(meta.get("codecs") or [])
    dt = meta.get("dtype")
    if not isinstance(dt, str) or np.dtype(dt).kind not in "biufc":
        return f"dtype {dt}"
    if meta.get("filters"):
        return "v2 filters"
    comp = meta.get("compressor")
    if comp is not None:
        cid = comp.get("id")
        if cid not in TS_V2_COMPRESSORS:
            return f"v2 compressor {cid}"
        if cid == "zstd" and set(comp) - {"id", "level"}:
            return "v2 zstd with extra members"
    return None


# --------------------------------------------------------------------------------------
# readers
# --------------------------------------------------------------------------------------

def read_zarr_python(store_dir, path, fmt, region):
    store = zarr.storage.LocalStore(store_dir, read_only=True)
    arr = zarr.open_array(store=store, path=path, mode="r", zarr_format=fmt)

    def as_array(v):
        # 0-d reads come back as scalars (str, np.str_ of the wrong width, ...)
        if isinstance(v, np.ndarray):
            return v
        out = np.empty((), dtype=arr.dtype)
        out[()] = v
        return out

    full = as_array(arr[...])
    sub = as_array(arr[region]) if region is not None else None
    return full, sub


def read_tensorstore(store_dir, path, fmt, region):
    node = os.path.abspath(os.path.join(store_dir, path)) if path else os.path.abspath(store_dir)
    spec = {"driver": "zarr3" if fmt == 3 else "zarr",
            "kvstore": {"driver": "file", "path": node + "/"}}
    t = ts.open(spec, open=True, read=True).result()
    full = np.asarray(t.read().result())
    sub = np.asarray(t[region].read().result()) if region is not None else None
    return full, sub


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------

def check_entry(base, entry):
    """(status, label, readers, reason) with status in ok / fail / skip."""
    store_rel = entry["store"]
    path = entry.get("path", "") or ""
    label = f"{store_rel}/{path}" if path else store_rel
    store_dir = os.path.join(base, store_rel)
    node_dir = os.path.join(store_dir, path) if path else store_dir
    data_type = entry["data_type"]
    shape = [int(s) for s in entry["shape"]]
    try:
        fmt, meta = load_node_metadata(node_dir)
    except Exception as e:
        return "fail", label, [], f"metadata: {e}"
    want_fmt = entry.get("zarr_format")
    if want_fmt is not None and int(want_fmt) != fmt:
        return "fail", label, [], f"zarr_format on disk {fmt} != expected {want_fmt}"
    md_name = data_type_name_from_metadata(fmt, meta)
    if md_name != data_type:
        return "fail", label, [], f"metadata data type {md_name} != expected {data_type}"
    md_shape = [int(s) for s in meta.get("shape", [])]
    if md_shape != shape:
        return "fail", label, [], f"metadata shape {md_shape} != expected {shape}"
    if entry.get("attributes") is not None:
        if fmt == 3:
            attrs = meta.get("attributes") or {}
        else:
            p = os.path.join(node_dir, ".zattrs")
            attrs = {}
            if os.path.exists(p):
                with open(p, "rb") as f:
                    attrs = json.loads(f.read())
        if attrs != entry["attributes"]:
            return "fail", label, [], f"attributes {attrs!r} != expected {entry['attributes']!r}"
    try:
        with open(os.path.join(base, entry["values"]), "rb") as f:
            expected = decode_values(f.read(), data_type, shape)
        region = None
        expected_region = None
        if entry.get("region") is not None:
            region = parse_region(entry["region"], len(shape))
            if entry.get("region_values"):
                rshape = [len(range(*s.indices(n))) for s, n in zip(region, shape)]
                with open(os.path.join(base, entry["region_values"]), "rb") as f:
                    expected_region = decode_values(f.read(), data_type, rshape)
            else:
                expected_region = expected[region]
    except Exception as e:
        return "fail", label, [], f"values file: {e}"

    allowed = entry.get("readers")
    readers = []
    skipped = []
    if allowed is None or "zarr-python" in allowed:
        readers.append(("zarr-python", read_zarr_python))
    if allowed is None or "tensorstore" in allowed:
        if ts is None:
            skipped.append("tensorstore not importable")
        else:
            why = tensorstore_unsupported_reason(fmt, meta)
            if why is None:
                readers.append(("tensorstore", read_tensorstore))
            elif allowed is not None:
                skipped.append(f"tensorstore does not support {why}")
    if not readers:
        return "skip", label, [], "; ".join(skipped) or "no reader"

    used = []
    failures = []
    for name, fn in readers:
        try:
            full, sub = fn(store_dir, path, fmt, region)
        except Exception as e:
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            failures.append((name, f"open/read failed: {type(e).__name__}: {msg[:300]}"))
            continue
        reason = compare(expected, full, data_type)
        if reason is None and region is not None:
            r = compare(expected_region, sub, data_type)
            if r is not None:
                reason = f"region {entry['region']}: {r}"
        if reason is not None:
            failures.append((name, reason))
        else:
            used.append(name)
    if failures:
        text = "; ".join(f"[{n}] {r}" for n, r in failures)
        if used:
            text += f" (matched expected: {','.join(used)})"
        return "fail", label, [n for n, _ in failures], text
    return "ok", label, used, None


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 2
    if zarr is None:
        print("zarr-python is not importable", file=sys.stderr)
        return 2
    manifest_path = argv[1]
    base = os.path.dirname(os.path.abspath(manifest_path))
    with open(manifest_path, "rb") as f:
        entries = json.loads(f.read())
    if isinstance(entries, dict) and "entries" in entries:
        entries = entries["entries"]
    passed = failed = 0
    for entry in entries:
        try:
            status, label, used, reason = check_entry(base, entry)
        except Exception as e:  # never let one entry stop the run
            status, label, used = "fail", f"{entry.get('store')}/{entry.get('path', '')}", []
            reason = f"checker error: {type(e).__name__}: {e}"
            traceback.print_exc(file=sys.stderr)
        if status == "ok":
            passed += 1
            print(f"ok {label} [{','.join(used)}]")
        elif status == "skip":
            print(f"skip {label}: {reason}")
        else:
            failed += 1
            print(f"MISMATCH {label}: {reason}")
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
