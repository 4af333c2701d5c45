#!/usr/bin/env python
"""compare_anndata.py - compares two AnnData stores element by element with the running anndata.

    compare_anndata.py A B [--verbose] [--loose-strings]
    compare_anndata.py --self-test STORE [--verbose]

A and B are read with the installed anndata: a path ending in `.h5ad` with `anndata.read_h5ad`,
anything else (a `.zarr` directory) with `anndata.read_zarr`. Everything is compared generically
(no reference data needed), one check per element:

* `shape`, `obs_names` / `var_names` (values, dtype, name);
* `X`, each of `layers`, `obsm`, `varm`, `obsp`, `varp`: the kind (numpy array, CSR, CSC, data
  frame, awkward array, ...), shape and dtype, and the values exactly (floats bit for bit, except
  that any NaN equals any NaN); sparse matrices by format, shape, dtype and their canonical
  (sorted-indices) indptr / indices / data. The integer width of sparse indices is not compared
  (anndata itself writes int32 or int64 depending on the size);
* `obs` / `var` (and data frames anywhere): index (values, dtype, name), column order, and per
  column the dtype and values; categoricals by categories (values and dtype), `ordered` and codes;
  nullable (masked) columns by mask and values;
* `uns` recursively: the key set of every mapping, and every leaf (arrays by dtype/shape/values,
  data frames and sparse matrices as above, scalars by kind and value — a numpy scalar must keep
  its dtype when both sides have one; a Python scalar and a numpy scalar of the same kind and value
  are equal, since anndata's readers return either depending on the format);
* `raw`: present on both or neither; then its X, var (and var_names), varm.
Mapping key *order* is not compared (only data-frame column order is).

`--loose-strings`: the string dtypes (object, numpy U / StringDType, pandas `str` / `string`)
are one family (a string column written as a nullable-string-array compares equal to an object
column when there are no missing values). Off by default: a round trip must keep the dtype.

Output: `FAIL PATH: reason` per failure (`ok PATH` too with --verbose), then `N passed, M failed`.
Exit status 0 when everything passed, 1 on any failure, 2 on a usage error (unreadable store).

`--self-test STORE`: reads STORE, compares it with itself and with a copy written to a temporary
store of the same format and read back (both must pass; the copy is skipped with a line when
anndata cannot write what it read, e.g. Python complex scalars in uns), then applies each of a list of
mutations to a deep copy (X values, X dtype, X format, a layer, obs column order / dtype / values,
categories order, `ordered`, a nullable mask, index values and name, obsm / obsp values, uns
nested values / scalar kind / extra key, raw dropped / raw.X values ...) and checks that the
comparer reports at least one failure for each one that applies to the data. Prints one line
per mutation and `N passed, M failed`; exit 1 when a mutation goes unnoticed.
"""
from __future__ import annotations

import argparse
import copy
import shutil
import sys
import tempfile
import traceback
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse


# ----------------------------------------------------------------------------- reading

def read_store(path: Path | str):
    import anndata as ad

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file or directory")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if p.name.endswith(".h5ad"):
            return ad.read_h5ad(p)
        return ad.read_zarr(str(p))


def write_store(adata, path: Path) -> None:
    import anndata as ad

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ad.settings.override(allow_write_nullable_strings=True):
            if path.name.endswith(".h5ad"):
                adata.write_h5ad(path, convert_strings_to_categoricals=False)
            else:
                adata.write_zarr(str(path), convert_strings_to_categoricals=False)


# ----------------------------------------------------------------------------- report

class Report:
    def __init__(self, verbose: bool = False, loose_strings: bool = False):
        self.passed = 0
        self.failed = 0
        self.failures: list[str] = []
        self.verbose = verbose
        self.loose_strings = loose_strings

    def add(self, path: str, problems: list[str]) -> None:
        if problems:
            self.failed += 1
            msg = f"{path}: " + "; ".join(problems[:4]) + (f" (+{len(problems) - 4} more)" if len(problems) > 4 else "")
            self.failures.append(msg)
        else:
            self.passed += 1
            if self.verbose:
                print(f"ok       {path}")


# ----------------------------------------------------------------------------- values

def _short(v, n: int = 60) -> str:
    s = repr(v)
    return s if len(s) <= n else s[: n - 3] + "..."


def _is_string_dtype(dt) -> bool:
    if isinstance(dt, pd.StringDtype):
        return True
    if isinstance(dt, np.dtype):
        return dt.kind in "OUT"
    return str(dt) in ("str", "string")


def arrays_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Exact equality of two numpy arrays of the same dtype and shape: floats bit for bit
    (any NaN equals any NaN), complex part by part, objects element by element."""
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc":
        if a.dtype.kind == "c":
            return arrays_equal(a.real, b.real) and arrays_equal(a.imag, b.imag)
        na, nb = np.isnan(a), np.isnan(b)
        if not np.array_equal(na, nb):
            return False
        a2, b2 = np.where(na, 0, a), np.where(nb, 0, b)
        return np.array_equal(np.signbit(a2), np.signbit(b2)) and np.array_equal(a2, b2)
    if a.dtype.names or b.dtype.names:
        if a.dtype.names != b.dtype.names:
            return False
        return all(a[n].dtype == b[n].dtype and arrays_equal(a[n], b[n]) for n in a.dtype.names)
    if a.dtype.kind == "V":
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if a.dtype.kind == "O" or b.dtype.kind == "O":
        fa, fb = a.ravel(), b.ravel()
        for x, y in zip(fa, fb):
            if _is_na(x) and _is_na(y):
                continue
            if type(x) is not type(y) and not (isinstance(x, str) and isinstance(y, str)):
                return False
            if x != y:
                return False
        return True
    return np.array_equal(a, b)


def _is_na(v) -> bool:
    try:
        return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
    except TypeError:
        return False


def first_diff(a: np.ndarray, b: np.ndarray) -> str:
    try:
        fa, fb = np.asarray(a).ravel(), np.asarray(b).ravel()
        for i, (x, y) in enumerate(zip(fa, fb)):
            if _is_na(x) and _is_na(y):
                continue
            if not (x == y and (not isinstance(x, float) or np.signbit(x) == np.signbit(y))):
                return f"first difference at flat index {i}: {_short(x, 30)} != {_short(y, 30)}"
    except Exception:  # noqa: BLE001
        pass
    return "values differ"


def compare_dense(a: np.ndarray, b: np.ndarray, loose: bool) -> list[str]:
    if a.shape != b.shape:
        return [f"shape {a.shape} != {b.shape}"]
    if a.dtype != b.dtype and loose and a.dtype.names and a.dtype.names == b.dtype.names:
        out = []
        for n in a.dtype.names:  # a rec-array: field by field (legacy U<n> fields come back as object)
            out += [f"field {n!r}: {p}" for p in compare_dense(a[n], b[n], loose)]
        return out
    if a.dtype != b.dtype:
        if not (loose and _is_string_dtype(a.dtype) and _is_string_dtype(b.dtype)):
            return [f"dtype {a.dtype} != {b.dtype}"]
        a, b = a.astype(object), b.astype(object)
    if a.dtype.kind in "OUT":
        a, b = a.astype(object), b.astype(object)
    if not arrays_equal(a, b):
        return [first_diff(a, b)]
    return []


def compare_sparse(a, b) -> list[str]:
    out = []
    if a.format != b.format:
        return [f"sparse format {a.format} != {b.format}"]
    if a.shape != b.shape:
        return [f"shape {a.shape} != {b.shape}"]
    if a.dtype != b.dtype:
        out.append(f"dtype {a.dtype} != {b.dtype}")
    if out:
        return out
    ca, cb = a.copy(), b.copy()
    ca.sort_indices()
    cb.sort_indices()
    if ca.nnz != cb.nnz:
        return [f"nnz (stored entries) {ca.nnz} != {cb.nnz}"]
    if not np.array_equal(np.asarray(ca.indptr, dtype=np.int64), np.asarray(cb.indptr, dtype=np.int64)):
        return ["indptr differs: " + first_diff(ca.indptr, cb.indptr)]
    if not np.array_equal(np.asarray(ca.indices, dtype=np.int64), np.asarray(cb.indices, dtype=np.int64)):
        return ["indices differ: " + first_diff(ca.indices, cb.indices)]
    if not arrays_equal(np.asarray(ca.data), np.asarray(cb.data)):
        return ["data differs: " + first_diff(ca.data, cb.data)]
    return []


def compare_index(a: pd.Index, b: pd.Index, loose: bool) -> list[str]:
    out = []
    if a.name != b.name:
        out.append(f"index name {a.name!r} != {b.name!r}")
    if a.dtype != b.dtype and not (loose and _is_string_dtype(a.dtype) and _is_string_dtype(b.dtype)):
        out.append(f"index dtype {a.dtype} != {b.dtype}")
    if len(a) != len(b):
        out.append(f"index length {len(a)} != {len(b)}")
    else:
        va, vb = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
        if not arrays_equal(va, vb):
            out.append("index values: " + first_diff(va, vb))
    return out


def compare_series(a: pd.Series, b: pd.Series, loose: bool) -> list[str]:
    da, db = a.dtype, b.dtype
    if isinstance(da, pd.CategoricalDtype) or isinstance(db, pd.CategoricalDtype):
        if not (isinstance(da, pd.CategoricalDtype) and isinstance(db, pd.CategoricalDtype)):
            return [f"dtype {da} != {db}"]
        out = []
        if da.ordered != db.ordered:
            out.append(f"ordered {da.ordered} != {db.ordered}")
        ca, cb = da.categories, db.categories
        if ca.dtype != cb.dtype and not (loose and _is_string_dtype(ca.dtype) and _is_string_dtype(cb.dtype)):
            out.append(f"categories dtype {ca.dtype} != {cb.dtype}")
        va, vb = np.asarray(ca, dtype=object), np.asarray(cb, dtype=object)
        if len(va) != len(vb) or not arrays_equal(va, vb):
            out.append(f"categories {_short(list(va))} != {_short(list(vb))}")
        codes_a, codes_b = np.asarray(a.cat.codes), np.asarray(b.cat.codes)
        if not np.array_equal(codes_a, codes_b):
            out.append("codes: " + first_diff(codes_a, codes_b))
        return out
    if da != db and not (loose and _is_string_dtype(da) and _is_string_dtype(db)):
        return [f"dtype {da} != {db}"]
    if len(a) != len(b):
        return [f"length {len(a)} != {len(b)}"]
    ma, mb = np.asarray(pd.isna(a)), np.asarray(pd.isna(b))
    if isinstance(da, pd.api.extensions.ExtensionDtype) or isinstance(db, pd.api.extensions.ExtensionDtype) \
            or da.kind == "O":
        if not np.array_equal(ma, mb):
            return ["missing-value mask: " + first_diff(ma, mb)]
        va = np.asarray(a.astype(object), dtype=object)[~ma]
        vb = np.asarray(b.astype(object), dtype=object)[~mb]
        if not arrays_equal(va, vb):
            return ["values: " + first_diff(va, vb)]
        return []
    va, vb = np.asarray(a), np.asarray(b)
    if not arrays_equal(va, vb):
        return ["values: " + first_diff(va, vb)]
    return []


def compare_frame(a: pd.DataFrame, b: pd.DataFrame, loose: bool) -> list[str]:
    out = compare_index(a.index, b.index, loose)
    ca, cb = [str(c) for c in a.columns], [str(c) for c in b.columns]
    if ca != cb:
        out.append(f"columns {_short(ca, 120)} != {_short(cb, 120)}")
        return out
    if a.shape != b.shape:
        out.append(f"shape {a.shape} != {b.shape}")
        return out
    for k in range(a.shape[1]):
        for p in compare_series(a.iloc[:, k], b.iloc[:, k], loose):
            out.append(f"column {ca[k]!r}: {p}")
    return out


def kind_of(v) -> str:
    if v is None:
        return "None"
    if sparse.issparse(v):
        return f"sparse {v.format}"
    if isinstance(v, pd.DataFrame):
        return "DataFrame"
    if isinstance(v, Mapping):
        return "mapping"
    if type(v).__module__.startswith("awkward"):
        return "awkward"
    if isinstance(v, pd.api.extensions.ExtensionArray):
        return f"extension array {type(v).__name__}"
    if isinstance(v, np.ndarray):
        return "ndarray"
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, (int, np.integer)):
        return "int"
    if isinstance(v, (float, np.floating)):
        return "float"
    if isinstance(v, (complex, np.complexfloating)):
        return "complex"
    if isinstance(v, (str, np.str_)):
        return "str"
    if isinstance(v, (bytes, np.bytes_)):
        return "bytes"
    if isinstance(v, (list, tuple)):
        return "list"
    return type(v).__name__


def compare_value(a, b, loose: bool) -> list[str]:
    """One leaf value (not a mapping)."""
    ka, kb = kind_of(a), kind_of(b)
    if ka != kb:
        return [f"kind {ka} != {kb}"]
    if ka == "None":
        return []
    if ka.startswith("sparse"):
        return compare_sparse(a, b)
    if ka == "DataFrame":
        return compare_frame(a, b, loose)
    if ka == "awkward":
        import awkward as ak

        if str(ak.type(a)) != str(ak.type(b)):
            return [f"awkward type {ak.type(a)} != {ak.type(b)}"]
        return [] if ak.to_list(a) == ak.to_list(b) else ["awkward values differ"]
    if ka.startswith("extension array"):
        return compare_series(pd.Series(a), pd.Series(b), loose)
    if ka == "ndarray":
        return compare_dense(a, b, loose)
    if ka == "list":
        return compare_dense(np.asarray(a, dtype=object), np.asarray(b, dtype=object), loose)
    # scalars
    na, nb = isinstance(a, np.generic), isinstance(b, np.generic)
    if na and nb and a.dtype != b.dtype:
        return [f"scalar dtype {a.dtype} != {b.dtype}"]
    if ka in ("float", "complex"):
        ok = arrays_equal(np.asarray([a]), np.asarray([b])) if ka == "float" else (
            arrays_equal(np.asarray([a.real]), np.asarray([b.real])) and
            arrays_equal(np.asarray([a.imag]), np.asarray([b.imag])))
    else:
        ok = a == b
    return [] if ok else [f"value {_short(a, 40)} != {_short(b, 40)}"]


def compare_tree(a, b, path: str, rep: Report) -> None:
    """Mappings recursively (key sets, then each value); leaves with compare_value."""
    if isinstance(a, Mapping) and isinstance(b, Mapping) and not isinstance(a, pd.DataFrame):
        na, nb = {str(k): k for k in a.keys()}, {str(k): k for k in b.keys()}
        ka, kb = set(na), set(nb)
        if ka != kb:
            rep.add(path or "/", [f"keys only in A: {sorted(ka - kb)}, only in B: {sorted(kb - ka)}"])
        else:
            rep.add((path or "") + "/ (keys)", [])
        for k in sorted(ka & kb):
            compare_tree(a[na[k]], b[nb[k]], f"{path}/{k}", rep)
        return
    try:
        rep.add(path, compare_value(a, b, rep.loose_strings))
    except Exception as e:  # noqa: BLE001
        rep.add(path, [f"comparison raised {type(e).__name__}: {e}"])


def compare_anndata(a, b, rep: Report, prefix: str = "") -> None:
    loose = rep.loose_strings
    rep.add(f"{prefix}shape", [] if a.shape == b.shape else [f"{a.shape} != {b.shape}"])
    rep.add(f"{prefix}obs_names", compare_index(a.obs_names, b.obs_names, loose))
    rep.add(f"{prefix}var_names", compare_index(a.var_names, b.var_names, loose))
    rep.add(f"{prefix}obs", compare_frame(a.obs, b.obs, loose))
    rep.add(f"{prefix}var", compare_frame(a.var, b.var, loose))
    compare_tree(a.X, b.X, f"{prefix}X", rep)
    for attr in ("layers", "obsm", "varm", "obsp", "varp"):
        # anndata 0.13 lists X as layers[None]: X is compared above
        ma = {k: v for k, v in getattr(a, attr).items() if k is not None}
        mb = {k: v for k, v in getattr(b, attr).items() if k is not None}
        compare_tree(ma, mb, f"{prefix}{attr}", rep)
    compare_tree(dict(a.uns), dict(b.uns), f"{prefix}uns", rep)
    ra, rb = a.raw, b.raw
    if (ra is None) != (rb is None):
        rep.add(f"{prefix}raw", [f"raw present in A: {ra is not None}, in B: {rb is not None}"])
    elif ra is not None:
        rep.add(f"{prefix}raw/shape", [] if ra.shape == rb.shape else [f"{ra.shape} != {rb.shape}"])
        rep.add(f"{prefix}raw/var_names", compare_index(ra.var_names, rb.var_names, loose))
        rep.add(f"{prefix}raw/var", compare_frame(ra.var, rb.var, loose))
        compare_tree(ra.X, rb.X, f"{prefix}raw/X", rep)
        compare_tree(dict(ra.varm), dict(rb.varm), f"{prefix}raw/varm", rep)


# ----------------------------------------------------------------------------- self-test

def _first_key(m, pred=lambda v: True):
    for k in m:
        if pred(m[k]):
            return k
    return None


def _bump(v):
    """A copy of array-like v with one value changed (None when there is nothing to change)."""
    if sparse.issparse(v):
        if v.nnz == 0:
            return None
        w = v.copy()
        w.data = w.data.copy()
        _bump_flat(w.data)
        return w
    if isinstance(v, np.ndarray) and v.size and v.dtype.kind in "iufcb":
        w = v.copy()
        _bump_flat(w.reshape(-1))
        return w
    return None


def _bump_flat(flat: np.ndarray) -> None:
    """Changes the last finite element of a 1-d view (NaN + 1 would stay NaN); all NaN: -> 0."""
    if flat.dtype.kind == "b":
        flat[-1] = not flat[-1]
        return
    if flat.dtype.kind in "fc":
        finite = np.flatnonzero(np.isfinite(flat))
        if finite.size == 0:
            flat[-1] = 0
            return
        flat[finite[-1]] = flat[finite[-1]] + 1
        return
    flat[-1] = flat[-1] + 1 if flat[-1] < np.iinfo(flat.dtype).max else flat[-1] - 1


def mutations(adata) -> list:
    """(name, function adata -> bool) pairs; the function mutates its argument and returns False
    when the mutation does not apply to this data."""
    m = []

    def x_value(d):
        w = _bump(d.X)
        if w is None:
            return False
        d.X = w
        return True
    m.append(("X one value", x_value))

    def x_dtype(d):
        if d.X is None or d.X.dtype.kind not in "fiu":
            return False
        d.X = d.X.astype(np.float64 if d.X.dtype != np.float64 else np.float32)
        return True
    m.append(("X dtype", x_dtype))

    def x_format(d):
        if d.X is None:
            return False
        d.X = sparse.csr_matrix(d.X) if not sparse.issparse(d.X) else (
            d.X.tocsc() if d.X.format == "csr" else d.X.tocsr())
        return True
    m.append(("X format", x_format))

    def layer_drop(d):
        k = _first_key(d.layers)
        if k is None:
            d.layers["extra"] = np.zeros(d.shape, dtype=np.float32)
        else:
            del d.layers[k]
        return True
    m.append(("layers key set", layer_drop))

    def layer_value(d):
        k = _first_key(d.layers, lambda v: _bump(v) is not None)
        if k is None:
            return False
        d.layers[k] = _bump(d.layers[k])
        return True
    m.append(("layer value", layer_value))

    def obs_order(d):
        if d.obs.shape[1] < 2:
            return False
        cols = list(d.obs.columns)
        d.obs = d.obs[cols[1:] + cols[:1]]
        return True
    m.append(("obs column order", obs_order))

    def obs_dtype(d):
        k = _first_key(d.obs, lambda s: s.dtype.kind in "iu" if isinstance(s.dtype, np.dtype) else False)
        if k is None:
            k = _first_key(d.obs, lambda s: s.dtype.kind == "f" if isinstance(s.dtype, np.dtype) else False)
            if k is None:
                return False
            d.obs[k] = d.obs[k].astype(np.float32 if d.obs[k].dtype != np.float32 else np.float64)
            return True
        d.obs[k] = d.obs[k].astype(np.float64)
        return True
    m.append(("obs column dtype", obs_dtype))

    def obs_value(d):
        k = _first_key(d.obs, lambda s: isinstance(s.dtype, np.dtype) and s.dtype.kind in "iuf" and len(s) > 0)
        if k is None:
            return False
        s = d.obs[k].copy()
        s.iloc[-1] = s.iloc[-1] + 1
        d.obs[k] = s
        return True
    m.append(("obs numeric value", obs_value))

    def cat_reorder(d):
        for frame in (d.obs, d.var):
            k = _first_key(frame, lambda s: isinstance(s.dtype, pd.CategoricalDtype) and len(s.cat.categories) > 1)
            if k is not None:
                cats = list(frame[k].cat.categories)
                frame[k] = frame[k].cat.reorder_categories(cats[::-1])
                return True
        return False
    m.append(("categories order (same values)", cat_reorder))

    def cat_ordered(d):
        for frame in (d.obs, d.var):
            k = _first_key(frame, lambda s: isinstance(s.dtype, pd.CategoricalDtype))
            if k is not None:
                s = frame[k]
                frame[k] = s.cat.as_unordered() if s.cat.ordered else s.cat.as_ordered()
                return True
        return False
    m.append(("categorical ordered flag", cat_ordered))

    def cat_to_str(d):
        for frame in (d.obs, d.var):
            k = _first_key(frame, lambda s: isinstance(s.dtype, pd.CategoricalDtype))
            if k is not None:
                frame[k] = frame[k].astype(object)
                return True
        return False
    m.append(("categorical -> plain strings", cat_to_str))

    def nullable_mask(d):
        for frame in (d.obs, d.var):
            k = _first_key(frame, lambda s: isinstance(s.dtype, (pd.Int8Dtype, pd.Int16Dtype, pd.Int32Dtype,
                                                                 pd.Int64Dtype, pd.UInt8Dtype, pd.BooleanDtype))
                           and len(s) > 0)
            if k is not None:
                s = frame[k].copy()
                s.iloc[0] = pd.NA if not pd.isna(s.iloc[0]) else (s.dropna().iloc[0] if s.notna().any() else 1)
                frame[k] = s
                return True
        return False
    m.append(("nullable mask", nullable_mask))

    def str_value(d):
        for frame in (d.obs, d.var):
            k = _first_key(frame, lambda s: _is_string_dtype(s.dtype) and s.notna().any())
            if k is not None:
                s = frame[k].copy()
                i = int(np.flatnonzero(np.asarray(s.notna()))[0])
                s.iloc[i] = str(s.iloc[i]) + "x"
                frame[k] = s
                return True
        return False
    m.append(("string column value", str_value))

    def obs_names(d):
        if d.n_obs == 0:
            return False
        names = list(d.obs_names)
        names[0] = names[0] + "_changed"
        d.obs_names = names
        return True
    m.append(("obs_names value", obs_names))

    def index_name(d):
        d.var.index.name = (d.var.index.name or "") + "_renamed"
        return True
    m.append(("var index name", index_name))

    def obsm_value(d):
        k = _first_key(d.obsm, lambda v: _bump(v) is not None)
        if k is None:
            return False
        d.obsm[k] = _bump(d.obsm[k])
        return True
    m.append(("obsm value", obsm_value))

    def varm_value(d):
        k = _first_key(d.varm, lambda v: _bump(v) is not None)
        if k is None:
            return False
        d.varm[k] = _bump(d.varm[k])
        return True
    m.append(("varm value", varm_value))

    def obsp_drop(d):
        k = _first_key(d.obsp)
        if k is None:
            return False
        del d.obsp[k]
        return True
    m.append(("obsp key set", obsp_drop))

    def obsp_value(d):
        k = _first_key(d.obsp, lambda v: _bump(v) is not None)
        if k is None:
            return False
        d.obsp[k] = _bump(d.obsp[k])
        return True
    m.append(("obsp value", obsp_value))

    def uns_extra(d):
        d.uns["__extra_key__"] = 1
        return True
    m.append(("uns extra key", uns_extra))

    def uns_nested(d):
        def walk(node):
            for k, v in node.items():
                if isinstance(v, Mapping):
                    if walk(v):
                        return True
                elif _bump(v) is not None:
                    node[k] = _bump(v)
                    return True
            return False
        return walk(d.uns)
    m.append(("uns array value (first, depth first)", uns_nested))

    def uns_scalar_kind(d):
        def walk(node):
            for k, v in node.items():
                if isinstance(v, Mapping):
                    if walk(v):
                        return True
                elif kind_of(v) == "int":
                    node[k] = float(v)
                    return True
                elif kind_of(v) == "str":
                    node[k] = str(v) + "!"
                    return True
            return False
        return walk(d.uns)
    m.append(("uns scalar kind/value", uns_scalar_kind))

    def uns_str_array(d):
        def walk(node):
            for k, v in node.items():
                if isinstance(v, Mapping):
                    if walk(v):
                        return True
                elif isinstance(v, np.ndarray) and v.dtype.kind in "OUT" and v.size:
                    w = v.astype(object).copy()
                    w.reshape(-1)[0] = str(w.reshape(-1)[0]) + "?"
                    node[k] = w.astype(v.dtype) if v.dtype.kind in "OT" else w.astype(str)
                    return True
            return False
        return walk(d.uns)
    m.append(("uns string array value", uns_str_array))

    def uns_frame(d):
        def walk(node):
            for k, v in node.items():
                if isinstance(v, pd.DataFrame):
                    if v.shape[1] == 0:
                        continue
                    w = v.copy()
                    w.columns = [f"{c}_r" if i == 0 else c for i, c in enumerate(w.columns)]
                    node[k] = w
                    return True
                if isinstance(v, Mapping) and walk(v):
                    return True
            return False
        return walk(d.uns)
    m.append(("uns data frame column name", uns_frame))

    def raw_drop(d):
        if d.raw is None:
            return False
        del d.raw
        return True
    m.append(("raw dropped", raw_drop))

    def raw_x(d):
        if d.raw is None:
            return False
        w = _bump(d.raw.X)
        if w is None:
            return False
        import anndata as ad

        r = d.raw.to_adata()
        r.X = w
        d.raw = r
        return True
    m.append(("raw.X value", raw_x))
    return m


def self_test(store: str, verbose: bool) -> int:
    src = read_store(store)
    passed = failed = 0

    def run(name: str, a, b, expect_equal: bool, rep: Report | None = None) -> None:
        nonlocal passed, failed
        rep = rep or Report()
        try:
            compare_anndata(a, b, rep)
            err = None
        except Exception as e:  # noqa: BLE001
            err = f"{type(e).__name__}: {e}"
        caught = err is not None or rep.failed > 0
        ok = (not caught) if expect_equal else caught
        passed += ok
        failed += not ok
        what = err or (rep.failures[0] if rep.failures else f"{rep.passed} passed")
        label = "ok  " if ok else "FAIL"
        print(f"{label} {'identity ' if expect_equal else 'mutation '} {name}: "
              f"{'equal' if not caught else 'caught'} ({what[:150]})")

    run("store vs itself", src, read_store(store), True)
    with tempfile.TemporaryDirectory() as tmp:
        suffix = ".h5ad" if str(store).endswith(".h5ad") else ".zarr"
        p = Path(tmp) / f"copy{suffix}"
        try:
            write_store(src, p)
        except Exception as e:  # noqa: BLE001  (e.g. anndata reads complex scalars it cannot write)
            print(f"skip identity  store vs anndata's own copy: anndata cannot write what it read "
                  f"({type(e).__name__}: {str(e).splitlines()[0][:120]})")
        else:
            copy_back = read_store(p)
            strict = Report()
            compare_anndata(src, copy_back, strict)
            if strict.failed:  # e.g. legacy fixed-length strings come back as object
                print(f"note identity  anndata's own copy differs in string dtypes only if the next line "
                      f"passes: {strict.failures[0][:150]}")
                loose = Report(loose_strings=True)
                run(f"store vs anndata's own copy ({suffix}, --loose-strings)", src, copy_back, True,
                    loose)
            else:
                run(f"store vs anndata's own copy ({suffix})", src, copy_back, True)
    skipped = []
    for name, fn in mutations(src):
        d = src.copy()
        d.uns = copy.deepcopy(dict(src.uns))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                applies = fn(d)
            except Exception as e:  # noqa: BLE001
                print(f"FAIL mutation  {name}: could not apply ({type(e).__name__}: {e})")
                failed += 1
                continue
        if not applies:
            skipped.append(name)
            if verbose:
                print(f"skip mutation  {name}: does not apply to this data")
            continue
        run(name, src, d, False)
    if skipped:
        print(f"(mutations not applicable to this data: {', '.join(skipped)})")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


# ----------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("stores", nargs="*")
    ap.add_argument("--self-test", metavar="STORE")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--loose-strings", action="store_true")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.self_test:
        if args.stores:
            ap.error("--self-test takes one STORE and no other stores")
        try:
            return self_test(args.self_test, args.verbose)
        except FileNotFoundError as e:
            print(f"compare_anndata: {e}", file=sys.stderr)
            return 2
    if len(args.stores) != 2:
        ap.error("give two stores A B (or --self-test STORE)")
    try:
        a, b = read_store(args.stores[0]), read_store(args.stores[1])
    except Exception as e:  # noqa: BLE001
        print(f"compare_anndata: cannot read: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    rep = Report(verbose=args.verbose, loose_strings=args.loose_strings)
    compare_anndata(a, b, rep)
    for f in rep.failures:
        print(f"FAIL     {f}")
    print(f"{rep.passed} passed, {rep.failed} failed")
    return 1 if rep.failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        sys.exit(2)
