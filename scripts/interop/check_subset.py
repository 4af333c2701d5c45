#!/usr/bin/env python
"""check_subset.py - checks a store written by `anndata subset` against Python anndata.

    check_subset.py SRC CANDIDATE [--obs-names FILE] [--var-names FILE]
                    [--obs-query EXPR] [--var-query EXPR] [--require-consolidated] [--quiet]
    check_subset.py --batch JOBS.json [--quiet]
    check_subset.py --self-test SRC [selection options] [--quiet]

SRC (a directory store or a `.zarr.zip`) is read with the installed anndata
(`anndata.read_zarr`). The selection is computed the way the CLI contract of `anndata subset`
says (issue 10), independently of the CLI:

* `--obs-names FILE` / `--var-names FILE`: one name per line (UTF-8, `\\n` or `\\r\\n`; a final
  line break does not add a name); the result follows the file's order. Repeated names are kept
  twice (anndata allows `adata[["a", "a"]]`); a source index with duplicates, or a name the
  index lacks, is a usage error (anndata refuses both).
* `--obs-query EXPR` / `--var-query EXPR`: the query language of the contract, parsed and
  evaluated here (NOT pandas `query`, whose missing-value rules differ):
      expr    := and ('or' and)*          and := not ('and' not)*
      not     := 'not' not | '(' expr ')' | COL OP VALUE | COL 'in' LIST | COL 'not' 'in' LIST
                 | COL 'is' ['not'] 'null'
      OP      := == | != | < | <= | > | >=      LIST := '[' [VALUE (',' VALUE)* [',']] ']'
      COL     := bare name ([A-Za-z0-9_.]+) | `any name in backquotes`
      VALUE   := number (also nan, inf, -inf) | true | false | True | False
                 | 'string' | "string"   (backslash escapes; \\n \\t \\r)
  `index` names the index unless a column has that name. A comparison (including `!=` and
  `not in`) with a missing value is false (`is null` is true there); `not` negates what it
  encloses. Numbers compare exactly (Python int/float semantics); bools are the numbers 0 and 1.
  Strings compare by code point. Categoricals compare by category value; ordered categoricals
  compare `< <= > >=` by category order (the value must then be a category). A string compared
  with a number/bool column, or a number/bool with a string column (categoricals by their
  categories) is a usage error. The query keeps store order.
* names and a query on the same axis: the names in file order that satisfy the query.

expected = adata[obs_sel, var_sel].copy() (default anndata settings: unused categories are
removed and `uns['<col>_colors']` are trimmed, or deleted when their length differs from the
number of categories, by anndata itself; the categoricals of data frames in obsm/varm lose their
unused categories too, without colors). CANDIDATE is read with `anndata.read_zarr` and every
element of `expected` is compared with it (values, dtypes, index and names, column order,
categories and `ordered`, nullable masks, obsm/varm/obsp/varp, layers, uns recursively, raw).
Sparse matrices compare by format and values (`(a != b).nnz == 0`), not by entry order. The
on-disk nodes (encoding-type/-version, dtypes, shapes, data-frame attributes) must equal what
this anndata writes for `expected` (written to a temporary store in CANDIDATE's zarr format),
with the tolerances of the shared checker (`/work/shared/interop/anndata_fixtures.py`: a string
column without missing values may be a string-array or a nullable-string-array; sparse indices
and categorical codes may use any integer width). Consolidated metadata must match the nodes
when present; `--require-consolidated` fails when it is absent. Where an element of CANDIDATE
differs from `expected` and Python's own store of `expected`, read back, differs from
`expected` too, the element is compared with that round trip instead (e.g. `read_zarr` drops
`raw` of 0-cell stores: `raw` is then read element by element, for CANDIDATE and SRC alike).

Output: one line per element (`ok       PATH` or `FAIL     PATH: reason`; `--quiet` prints
failures only) and a final `N passed, M failed`. Exit status 0 when everything passed, 1 on
any failure, 2 on a usage error (bad arguments, a malformed query, unknown names/columns, a
value of the wrong type).

`--batch JOBS.json`: a JSON list of argument lists (`["SRC", "CANDIDATE", "--obs-query", ...]`)
checked in one interpreter; for each it prints `== CANDIDATE`, the FAIL lines and
`result CANDIDATE: N passed, M failed` (or `result CANDIDATE: usage error: ...`), then a final
`N passed, M failed` over the jobs. Exit 1 when any job failed or had a usage error.

`--self-test SRC [selection options]`: proves the checker on SRC: the expected subset written
by Python anndata itself (Zarr v3 and v2) must pass, and a set of mutated candidates (wrong row
order, categories not trimmed, colors not trimmed, a changed value, a dropped element, a
changed dtype, a missing consolidated metadata, ...) must each fail. Exit 0 when all hold.

The shared fixtures module is found through `$ANNDATA_SHARED_DIR/interop`, `../shared` next to
the repository, or `/work/shared/interop`.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

warnings.simplefilter("ignore")


def _load_fixtures():
    here = Path(__file__).resolve()
    roots = []
    if os.environ.get("ANNDATA_SHARED_DIR"):
        roots.append(Path(os.environ["ANNDATA_SHARED_DIR"]))
    roots += [here.parents[2].parent / "shared", Path("/work/shared")]
    for r in roots:
        if (r / "interop" / "anndata_fixtures.py").exists():
            sys.path.insert(0, str(r / "interop"))
            import anndata_fixtures  # noqa: PLC0415

            return anndata_fixtures
    raise SystemExit("check_subset: shared/interop/anndata_fixtures.py not found (set ANNDATA_SHARED_DIR)")


fx = _load_fixtures()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import sparse  # noqa: E402


class UsageError(Exception):
    """A bad argument, names file, or query: exit status 2."""


# --------------------------------------------------------------------------- #
# Names files                                                                  #
# --------------------------------------------------------------------------- #


def read_names(path: str) -> list[str]:
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read names file {path}: {e}") from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"names file {path} is not UTF-8: {e}") from e
    if text == "":
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def names_to_positions(index: pd.Index, names: list[str], axis: str) -> np.ndarray:
    if not index.is_unique:
        dup = index[index.duplicated()].unique()[:3].tolist()
        raise UsageError(f"{axis} names of the source are not unique (e.g. {dup}); anndata refuses to select by name")
    pos = index.get_indexer(pd.Index(names, dtype=object))
    missing = [n for n, p in zip(names, pos) if p < 0]
    if missing:
        raise UsageError(f"{len(missing)} unknown {axis} name(s): {missing[:5]}")
    return pos.astype(np.int64)


# --------------------------------------------------------------------------- #
# Query language: tokenizer, recursive-descent parser, evaluator               #
# --------------------------------------------------------------------------- #

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+|inf|Inf|nan|NaN)(?:[eE][+-]?\d+)?(?![A-Za-z0-9_.])")
_WORD = re.compile(r"[A-Za-z0-9_.]+")
_OPS = ["==", "!=", "<=", ">=", "<", ">"]
_KEYWORDS = {"and", "or", "not", "in", "is", "true", "false", "True", "False"}


class Tok:
    __slots__ = ("kind", "text", "value", "pos")

    def __init__(self, kind, text, value, pos):
        self.kind, self.text, self.value, self.pos = kind, text, value, pos

    def __repr__(self):
        return f"{self.kind}:{self.text}@{self.pos}"


def tokenize(expr: str) -> list[Tok]:
    toks: list[Tok] = []
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c.isspace():
            i += 1
            continue
        if c in "()[],":
            toks.append(Tok(c, c, None, i))
            i += 1
            continue
        op = next((o for o in _OPS if expr.startswith(o, i)), None)
        if op:
            toks.append(Tok("op", op, op, i))
            i += len(op)
            continue
        if c in "'\"":
            j, out = i + 1, []
            while j < n and expr[j] != c:
                if expr[j] == "\\" and j + 1 < n:
                    j += 1
                    out.append({"n": "\n", "t": "\t", "r": "\r"}.get(expr[j], expr[j]))
                else:
                    out.append(expr[j])
                j += 1
            if j >= n:
                raise UsageError(f"malformed query at position {i}: unterminated string")
            toks.append(Tok("string", expr[i:j + 1], "".join(out), i))
            i = j + 1
            continue
        if c == "`":
            j = expr.find("`", i + 1)
            if j < 0:
                raise UsageError(f"malformed query at position {i}: unterminated backquoted name")
            toks.append(Tok("qname", expr[i:j + 1], expr[i + 1:j], i))
            i = j + 1
            continue
        m = _NUMBER.match(expr, i)
        if m:
            t = m.group(0)
            try:
                v = int(t)
            except ValueError:
                v = float(t)
            toks.append(Tok("number", t, v, i))
            i = m.end()
            continue
        m = _WORD.match(expr, i)
        if m:
            w = m.group(0)
            toks.append(Tok("kw" if w in _KEYWORDS else "word", w, w, i))
            i = m.end()
            continue
        raise UsageError(f"malformed query at position {i}: unexpected character {c!r}")
    toks.append(Tok("end", "", None, n))
    return toks


class Parser:
    """AST nodes: ('or', a, b) ('and', a, b) ('not', a) ('cmp', col, op, value) ('in', col, [values], negated)."""

    def __init__(self, expr: str):
        self.toks = tokenize(expr)
        self.i = 0

    def peek(self) -> Tok:
        return self.toks[self.i]

    def take(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def fail(self, what: str):
        t = self.peek()
        got = "the end of the query" if t.kind == "end" else repr(t.text)
        raise UsageError(f"malformed query at position {t.pos}: expected {what}, found {got}")

    def is_kw(self, w: str) -> bool:
        t = self.peek()
        return t.kind == "kw" and t.text == w

    def parse(self):
        node = self.parse_or()
        if self.peek().kind != "end":
            self.fail("'and', 'or' or the end of the query")
        return node

    def parse_or(self):
        node = self.parse_and()
        while self.is_kw("or"):
            self.take()
            node = ("or", node, self.parse_and())
        return node

    def parse_and(self):
        node = self.parse_not()
        while self.is_kw("and"):
            self.take()
            node = ("and", node, self.parse_not())
        return node

    def parse_not(self):
        if self.is_kw("not"):
            self.take()
            return ("not", self.parse_not())
        if self.peek().kind == "(":
            self.take()
            node = self.parse_or()
            if self.peek().kind != ")":
                self.fail("')'")
            self.take()
            return node
        return self.parse_comparison()

    def parse_column(self) -> str:
        t = self.peek()
        if t.kind in ("word", "qname"):
            self.take()
            return t.value
        if t.kind == "number" and t.text[0] not in "+-":
            self.take()
            return t.text
        self.fail("a column name")

    def parse_value(self):
        t = self.peek()
        if t.kind in ("string", "number"):
            self.take()
            return t.value
        if t.kind == "kw" and t.text in ("true", "false", "True", "False"):
            self.take()
            return t.text in ("true", "True")
        if t.kind == "word" and t.text in ("nan", "NaN", "inf", "Inf"):
            self.take()
            return float(t.text)

        self.fail("a value (number, true, false or a quoted string)")

    def parse_list(self) -> list:
        if self.peek().kind != "[":
            self.fail("'['")
        self.take()
        vals = []
        if self.peek().kind == "]":
            self.take()
            return vals
        while True:
            vals.append(self.parse_value())
            t = self.peek()
            if t.kind == ",":
                self.take()
                if self.peek().kind == "]":  # a trailing comma
                    self.take()
                    return vals
                continue
            if t.kind == "]":
                self.take()
                return vals
            self.fail("',' or ']'")

    def parse_comparison(self):
        col = self.parse_column()
        t = self.peek()
        if t.kind == "op":
            self.take()
            return ("cmp", col, t.text, self.parse_value())
        if self.is_kw("in"):
            self.take()
            return ("in", col, self.parse_list(), False)
        if self.is_kw("is"):
            self.take()
            negated = False
            if self.is_kw("not"):
                self.take()
                negated = True
            t = self.peek()
            if not (t.kind == "word" and t.text == "null"):
                self.fail("'null'")
            self.take()
            return ("null", col, negated)
        if self.is_kw("not"):
            self.take()
            if not self.is_kw("in"):
                self.fail("'in'")
            self.take()
            return ("in", col, self.parse_list(), True)
        self.fail("a comparison operator, 'in' or 'not in'")


def parse_query(expr: str):
    return Parser(expr).parse()


def _kind_of_value(v) -> str:
    if isinstance(v, (bool, int, float)):  # bools are the numbers 0 and 1
        return "number"
    return "string"


def _pyop(op, a, b) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


class Column:
    """A column (or the index) as Python values + a missing mask + a value kind."""

    def __init__(self, name, values: list, missing: np.ndarray, kind: str, *, categories=None, ordered=False, codes=None):
        self.name, self.values, self.missing, self.kind = name, values, missing, kind
        self.categories, self.ordered, self.codes = categories, ordered, codes


def _plain_kind(dtype) -> str:
    if isinstance(dtype, pd.StringDtype) or str(dtype) == "str":
        return "string"
    if isinstance(dtype, pd.BooleanDtype):
        return "number"
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and hasattr(dtype, "numpy_dtype"):
        k = np.dtype(dtype.numpy_dtype).kind
        return "number" if k in "biuf" else "other"
    try:
        k = np.dtype(dtype).kind
    except TypeError:
        return "other"
    return {"b": "number", "i": "number", "u": "number", "f": "number", "O": "string", "U": "string", "T": "string"}.get(k, "other")


def _values_and_missing(series_like) -> tuple[list, np.ndarray]:
    s = pd.Series(series_like) if not isinstance(series_like, pd.Series) else series_like
    missing = np.asarray(s.isna(), dtype=bool)
    vals = [None if m else (v.item() if isinstance(v, np.generic) else v) for v, m in zip(s.tolist(), missing)]
    return vals, missing


def get_column(df: pd.DataFrame, name: str, axis: str) -> Column:
    if name in df.columns:
        s = df[name]
    elif name == "index":
        vals, missing = _values_and_missing(pd.Series(df.index.to_numpy(dtype=object)))
        return Column(name, vals, missing, "string")
    else:
        raise UsageError(f"unknown {axis} column {name!r}")
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        kind = _plain_kind(cats.dtype)
        cvals = [v.item() if isinstance(v, np.generic) else v for v in cats.tolist()]
        codes = np.asarray(s.cat.codes, dtype=np.int64)
        return Column(name, [None if c < 0 else cvals[c] for c in codes], codes < 0, kind,
                      categories=cvals, ordered=bool(s.cat.ordered), codes=codes)
    kind = _plain_kind(s.dtype)
    if kind == "other":
        raise UsageError(f"{axis} column {name!r} has dtype {s.dtype}, which queries do not support")
    vals, missing = _values_and_missing(s)
    return Column(name, vals, missing, kind)


def _check_fit(col: Column, value, axis: str):
    vk = _kind_of_value(value)
    if vk != col.kind:
        what = {"number": "a number or boolean", "string": "a string"}[vk]
        raise UsageError(f"{axis} column {col.name!r} holds {col.kind} values and cannot be compared with {what} ({value!r})")


def evaluate(node, df: pd.DataFrame, axis: str) -> np.ndarray:
    n = len(df)
    kind = node[0]
    if kind == "or":
        return evaluate(node[1], df, axis) | evaluate(node[2], df, axis)
    if kind == "and":
        return evaluate(node[1], df, axis) & evaluate(node[2], df, axis)
    if kind == "not":
        return ~evaluate(node[1], df, axis)
    col = get_column(df, node[1], axis)
    if kind == "null":
        return ~col.missing if node[2] else col.missing.copy()
    if kind == "cmp":
        _, _, op, value = node
        _check_fit(col, value, axis)
        if col.categories is not None and col.ordered and op in ("<", "<=", ">", ">="):
            if value not in col.categories:
                raise UsageError(f"{value!r} is not a category of the ordered {axis} column {col.name!r}")
            rank = col.categories.index(value)
            return np.array([not m and _pyop(op, int(c), rank) for c, m in zip(col.codes, col.missing)], dtype=bool)
        return np.array([not m and bool(_pyop(op, v, value)) for v, m in zip(col.values, col.missing)], dtype=bool)
    _, _, values, negated = node
    for v in values:
        _check_fit(col, v, axis)
    out = np.zeros(n, dtype=bool)
    for i, (v, m) in enumerate(zip(col.values, col.missing)):
        if m:
            continue
        hit = any(v == w for w in values)
        out[i] = (not hit) if negated else hit
    return out


def query_positions(df: pd.DataFrame, expr: str, axis: str) -> np.ndarray:
    return evaluate(parse_query(expr), df, axis)


# --------------------------------------------------------------------------- #
# Reading                                                                      #
# --------------------------------------------------------------------------- #


def open_store(path: str):
    import zarr

    if str(path).endswith(".zip"):
        return zarr.storage.ZipStore(str(path), mode="r")
    return str(path)


def read_anndata(path: str):
    """anndata.read_zarr, plus `raw` read element by element when read_zarr drops it (it does
    for stores with 0 observations) although the store has one."""
    import anndata as ad
    import zarr

    store = open_store(path)
    adata = ad.read_zarr(store)
    if adata.raw is None:
        g = zarr.open_group(store, mode="r")
        if "raw" in g:
            raw = ad.io.read_elem(g["raw"]) if hasattr(ad, "io") and hasattr(ad.io, "read_elem") \
                else ad.experimental.read_elem(g["raw"])
            if isinstance(raw, ad.AnnData):  # the raw group reads as an AnnData (encoding "raw")
                raw = {"X": raw.X, "var": raw.var, "varm": dict(raw.varm)}
            if not isinstance(raw, dict) or raw.get("X") is None:
                return adata  # an empty raw group: nothing to rebuild
            r = ad.AnnData(X=raw.get("X"), var=raw.get("var"), obs=pd.DataFrame(index=adata.obs_names.copy()))
            for k, v in (raw.get("varm") or {}).items():
                r.varm[k] = v
            adata.raw = r
    return adata


def numeric_scalar_dtypes(path: str) -> dict[str, np.dtype]:
    """uns paths of numeric-scalar nodes -> their on-disk dtype (read_zarr turns them into
    Python scalars; the expected store must keep the numpy dtype)."""
    import zarr

    out: dict[str, np.dtype] = {}
    root = zarr.open_group(open_store(path), mode="r")
    if "uns" not in root:
        return out

    def walk(g, prefix):
        for name, child in g.members():
            p = f"{prefix}/{name}"
            if isinstance(child, zarr.Group):
                if child.attrs.get("encoding-type") in (None, "dict"):
                    walk(child, p)
            elif child.attrs.get("encoding-type") == "numeric-scalar":
                dt = child.dtype.to_native_dtype() if hasattr(child.dtype, "to_native_dtype") else child.dtype
                out[p] = np.dtype(dt)

    walk(root["uns"], "uns")
    return out


def restore_scalars(uns: dict, dtypes: dict[str, np.dtype]):
    for p, dt in dtypes.items():
        parts = p.split("/")[1:]
        cur = uns
        for k in parts[:-1]:
            cur = cur.get(k) if isinstance(cur, dict) or hasattr(cur, "get") else None
            if cur is None:
                break
        if cur is not None and parts[-1] in cur:
            v = cur[parts[-1]]
            if not isinstance(v, np.generic):
                cur[parts[-1]] = dt.type(v)


def zarr_format(path: str) -> int:
    p = Path(path)
    if (p / "zarr.json").exists():
        return 3
    if (p / ".zgroup").exists():
        return 2
    raise UsageError(f"{path}: neither a Zarr v2 nor a Zarr v3 group")


# --------------------------------------------------------------------------- #
# Expected subset                                                              #
# --------------------------------------------------------------------------- #


def select_axis(df: pd.DataFrame, names_file, query, axis):
    if names_file is None and query is None:
        return slice(None)
    if names_file is not None:
        pos = names_to_positions(df.index, read_names(names_file), axis)
    else:
        pos = np.arange(len(df), dtype=np.int64)
    if query is not None:
        keep = query_positions(df, query, axis)
        pos = pos[keep[pos]] if len(pos) else pos
    return pos


_SOURCES: dict[str, object] = {}


def read_source(src: str):
    """read_anndata(src), kept for the other jobs of a batch (never modified)."""
    key = str(Path(src).resolve())
    if key not in _SOURCES:
        if len(_SOURCES) >= 4:
            _SOURCES.pop(next(iter(_SOURCES)))
        _SOURCES[key] = read_anndata(src)
    return _SOURCES[key]


def expected_subset(src: str, opts: dict):
    adata = read_source(src)
    oidx = select_axis(adata.obs, opts.get("obs_names"), opts.get("obs_query"), "obs")
    vidx = select_axis(adata.var, opts.get("var_names"), opts.get("var_query"), "var")
    expected = adata[oidx, vidx].copy()
    restore_scalars(expected.uns, numeric_scalar_dtypes(src))
    return expected


def write_expected(adata, path: Path, fmt: int, consolidate: bool = True):
    fx.write_store(adata, path, zarr_format=fmt, consolidate=consolidate)


# --------------------------------------------------------------------------- #
# Comparison                                                                   #
# --------------------------------------------------------------------------- #


def compare_sparse(ref, got) -> list[str]:
    if hasattr(got, "compute"):
        got = got.compute()
    if not sparse.issparse(got):
        return [f"expected sparse {ref.format}, got {type(got).__name__}"]
    probs = []
    if got.format != ref.format:
        probs.append(f"sparse format {got.format} != {ref.format}")
    if got.shape != ref.shape:
        return probs + [f"shape {got.shape} != {ref.shape}"]
    if got.dtype != ref.dtype:
        probs.append(f"dtype {got.dtype} != {ref.dtype}")
    # private copies: nothing below may touch the arrays of `ref` or `got`
    a, b = sparse.csr_matrix(ref, copy=True), sparse.csr_matrix(got, copy=True)
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        # NaN never equals itself: compare the NaN patterns separately, then the rest
        an, bn = a.copy(), b.copy()
        an.data = np.isnan(an.data).astype(np.int8)
        bn.data = np.isnan(bn.data).astype(np.int8)
        an.eliminate_zeros()
        bn.eliminate_zeros()
        if (an != bn).nnz:
            probs.append("NaN positions differ")
        a.data = np.where(np.isnan(a.data), 0, a.data)
        b.data = np.where(np.isnan(b.data), 0, b.data)
    diff = a != b
    if diff.nnz:
        r, c = diff.nonzero()
        probs.append(f"values differ ({diff.nnz} cells), first at ({r[0]}, {c[0]}): {b[r[0], c[0]]} != {a[r[0], c[0]]}")
    return probs


def compare_el(el, got) -> list[str]:
    if got is fx._MISSING:
        return ["missing"]
    if el.kind == "value" and sparse.issparse(el.ref):
        return compare_sparse(el.ref, got)
    if el.kind == "anndata":
        probs = [] if got.shape == el.ref.shape else [f"shape {got.shape} != {el.ref.shape}"]
        probs += [f"obs_names: {p}" for p in fx.compare_strings(el.ref.obs_names, got.obs_names)]
        probs += [f"var_names: {p}" for p in fx.compare_strings(el.ref.var_names, got.var_names)]
        if (el.ref.raw is None) != (got.raw is None):
            probs.append(f"raw {'missing' if got.raw is None else 'unexpected'}")
        return probs
    if el.kind == "raw":
        probs = [] if got is not None and got.shape == el.ref.shape else ["raw missing or wrong shape"]
        if got is not None:
            probs += [f"raw var_names: {p}" for p in fx.compare_strings(el.ref.var_names, got.var_names)]
        return probs
    return fx.compare_element(el, got, lazy_quirks={})


def compare_structure(ref_nodes, cand_nodes, owned: list[str], awkward: list[str]) -> list[str]:
    """The shared checker's node comparison, except for awkward arrays: anndata's own subset
    of an awkward array is a `ListArray` (starts/stops) carrying anndata's view parameters,
    while a packed `ListOffsetArray` holds the same values; awkward arrays are compared by
    type and values (element comparison) plus encoding and length here, not by form."""
    probs = []
    plain = [p for p in owned if not any(p == a or p.startswith(a + "/") for a in awkward)]
    probs += fx.compare_nodes(ref_nodes, cand_nodes, plain)
    for a in awkward:
        if a not in owned:
            continue
        r, c = ref_nodes[a], cand_nodes.get(a)
        if c is None:
            probs.append(f"{a}: node missing on disk")
            continue
        for key in ("encoding-type", "encoding-version", "length"):
            if fx._jsonable(c.attrs.get(key)) != fx._jsonable(r.attrs.get(key)):
                probs.append(f"{a}: attribute {key} {c.attrs.get(key)!r} != {r.attrs.get(key)!r}")
        try:
            json.loads(c.attrs.get("form", ""))
        except (TypeError, ValueError):
            probs.append(f"{a}: awkward form missing or not JSON")
    return probs


def elements_of(adata):
    els = fx.list_elements(adata)
    # uns dicts nested in mappings are listed; numeric scalars compare by value here and by
    # on-disk dtype in the structure comparison
    return els


class Report:
    def __init__(self, quiet: bool, out=None):
        self.passed = self.failed = 0
        self.quiet = quiet
        self.out = out or sys.stdout
        self.fail_lines: list[str] = []

    def line(self, label, probs):
        if probs:
            self.failed += 1
            s = f"FAIL     {label}: " + "; ".join(probs)
            self.fail_lines.append(s)
            print(s[:1000], file=self.out)
        else:
            self.passed += 1
            if not self.quiet:
                print(f"ok       {label}", file=self.out)

    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"


def check(src: str, candidate: str, opts: dict, *, require_consolidated: bool, quiet: bool,
          expected=None, out=None) -> Report:
    """Compares CANDIDATE with the expected subset of SRC; raises UsageError on bad input."""
    rep = Report(quiet, out)
    if expected is None:
        expected = expected_subset(src, opts)
    cand_path = Path(candidate)
    if not cand_path.exists():
        rep.line("store", [f"{candidate} does not exist"])
        return rep
    try:
        fmt = zarr_format(candidate)
    except UsageError as e:
        rep.line("store", [str(e)])
        return rep
    print(f"# {candidate}: expected {expected.n_obs} x {expected.n_vars}, zarr format {fmt}", file=rep.out)

    status, probs = fx.check_consolidated(cand_path)
    if status == "absent":
        if require_consolidated:
            rep.line("store:consolidated-metadata", ["store has no consolidated metadata"])
        elif not quiet:
            print("skip     store:consolidated-metadata: absent (allowed)", file=rep.out)
    else:
        rep.line("store:consolidated-metadata", probs)

    tmp = Path(tempfile.mkdtemp(prefix="check_subset_"))
    try:
        ref_store = tmp / "expected.zarr"
        write_expected(expected, ref_store, fmt)
        ref_nodes = fx.read_tree(ref_store)
        try:
            cand_nodes = fx.read_tree(cand_path)
        except Exception as e:  # noqa: BLE001
            cand_nodes = None
            rep.line("store:open", [f"cannot open with zarr: {type(e).__name__}: {e}"])
        try:
            got = read_anndata(candidate)
        except Exception as e:  # noqa: BLE001
            got = None
            rep.line("read_zarr", [f"anndata cannot read the candidate: {type(e).__name__}: {e}"])
        # Where the candidate differs from `expected` and Python reading its own expected store
        # does not give `expected` back for that element either, the candidate is compared with
        # Python's own round trip instead (read only when needed).
        roundtrip: list = []

        def python_round_trip():
            if not roundtrip:
                try:
                    roundtrip.append(read_anndata(str(ref_store)))
                except Exception:  # noqa: BLE001
                    roundtrip.append(None)
            return roundtrip[0]

        elements = elements_of(expected)
        awkward = [p for p, n in ref_nodes.items() if n.attrs.get("encoding-type") == "awkward-array"]
        owned = fx.element_owned_nodes(elements, ref_nodes)
        for el in elements:
            label = el.path or "<root>"
            probs = []
            note = ""
            if got is not None:
                try:
                    probs += compare_el(el, fx.resolve(got, el.path))
                except Exception as e:  # noqa: BLE001
                    probs.append(f"comparison raised {type(e).__name__}: {e}")
                rt = python_round_trip() if probs else None
                if rt is not None:
                    try:
                        self_probs = compare_el(el, fx.resolve(rt, el.path))
                    except Exception as e:  # noqa: BLE001
                        self_probs = [f"raised {type(e).__name__}: {e}"]
                    if self_probs:
                        try:
                            probs = compare_el(fx.Element(el.path, el.kind, fx.resolve(rt, el.path)), fx.resolve(got, el.path))
                        except Exception as e:  # noqa: BLE001
                            probs = [f"comparison raised {type(e).__name__}: {e}"]
                        note = " (compared with Python's own round trip: " + "; ".join(self_probs)[:100] + ")"
            else:
                probs.append("not read")
            if cand_nodes is not None:
                try:
                    probs += compare_structure(ref_nodes, cand_nodes, owned.get(el.path, []), awkward)
                except Exception as e:  # noqa: BLE001
                    probs.append(f"structure comparison raised {type(e).__name__}: {e}")
            rep.line(label + (note if not probs else ""), probs)
        if cand_nodes is not None:
            extra = []
            for n in sorted(set(cand_nodes) - set(ref_nodes)):
                parent = n.rsplit("/", 1)[0] if "/" in n else ""
                leaf = n.rsplit("/", 1)[-1]
                if parent in ref_nodes and ref_nodes[parent].attrs.get("encoding-type") == "string-array" \
                        and leaf in ("values", "mask"):
                    continue
                if any(n.startswith(e + "/") for e in extra + awkward):
                    continue
                extra.append(n)
            rep.line("store:no-unexpected-nodes", [f"unexpected nodes {extra[:8]}"] if extra else [])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rep


# --------------------------------------------------------------------------- #
# Self-test: the checker passes Python's own subset and fails mutated ones     #
# --------------------------------------------------------------------------- #


def _swap_first_rows(a):
    if a.n_obs < 2:
        return None
    idx = np.arange(a.n_obs)
    idx[[0, 1]] = idx[[1, 0]]
    return a[idx].copy()


def self_test(src: str, opts: dict, quiet: bool) -> int:
    import anndata as ad

    expected = expected_subset(src, opts)
    print(f"# self-test on {src}: expected {expected.n_obs} x {expected.n_vars}")
    full = read_anndata(src)
    restore_scalars(full.uns, numeric_scalar_dtypes(src))
    oidx = select_axis(full.obs, opts.get("obs_names"), opts.get("obs_query"), "obs")
    vidx = select_axis(full.var, opts.get("var_names"), opts.get("var_query"), "var")
    ok = True
    tmp = Path(tempfile.mkdtemp(prefix="check_subset_self_"))
    sink = open(os.devnull, "w")  # noqa: SIM115
    try:
        for fmt in (3, 2):
            p = tmp / f"good_v{fmt}.zarr"
            write_expected(expected, p, fmt)
            rep = check(src, str(p), opts, require_consolidated=True, quiet=True, out=sink)
            good = rep.failed == 0
            ok &= good
            print(f"{'ok  ' if good else 'BAD '} Python's own subset (zarr v{fmt}) passes: {rep.summary()}"
                  + ("" if good else "\n    " + "\n    ".join(rep.fail_lines[:10])))

        def untrimmed():
            with ad.settings.override(remove_unused_categories=False):
                return full[oidx, vidx].copy()

        def colors_untrimmed():
            m = expected.copy()
            for k in list(full.uns.keys()):
                if k.endswith("_colors"):
                    m.uns[k] = full.uns[k]
            return m

        def change_x():
            m = expected.copy()
            if m.n_obs == 0 or m.n_vars == 0:
                return None
            x = m.X
            if sparse.issparse(x):
                x = x.tolil()
                x[0, 0] = x[0, 0] + 1
                m.X = sparse.csr_matrix(x) if expected.X.format == "csr" else sparse.csc_matrix(x)
            else:
                x = np.array(x)
                x[0, 0] += 1
                m.X = x
            return m

        def drop(attr, key):
            def f():
                m = expected.copy()
                if key not in getattr(m, attr):
                    return None
                del getattr(m, attr)[key]
                return m
            return f

        def int_to_float():
            m = expected.copy()
            col = next((c for c in m.obs.columns if m.obs[c].dtype == np.int64), None)
            if col is None:
                return None
            m.obs[col] = m.obs[col].astype(np.float64)
            return m

        def csr_as_csc():
            m = expected.copy()
            if not sparse.issparse(m.X):
                k = next((k for k, v in m.layers.items() if k is not None and sparse.issparse(v)), None)
                if k is None:
                    return None
                m.layers[k] = sparse.csc_matrix(m.layers[k]) if m.layers[k].format == "csr" else sparse.csr_matrix(m.layers[k])
                return m
            m.X = sparse.csc_matrix(m.X) if m.X.format == "csr" else sparse.csr_matrix(m.X)
            return m

        def swap_vars():
            if expected.n_vars < 2:
                return None
            idx = np.arange(expected.n_vars)
            idx[[0, 1]] = idx[[1, 0]]
            return expected[:, idx].copy()

        def drop_row():
            if expected.n_obs < 1:
                return None
            return expected[1:].copy()

        def nullable_mask():
            m = expected.copy()
            col = next((c for c in m.obs.columns if str(m.obs[c].dtype) in ("Int64", "Int32")), None)
            if col is None or m.n_obs == 0:
                return None
            s = m.obs[col].copy()
            s.iloc[0] = pd.NA if not pd.isna(s.iloc[0]) else 1
            m.obs[col] = s
            return m

        def raw_changed():
            m = expected.copy()
            if m.raw is None or m.n_obs == 0:
                return None
            r = m.raw.to_adata()
            r = r[:, ::-1].copy()
            m.raw = r
            return m

        def obsm_frame_untrimmed():
            m = expected.copy()
            for k, df in list(m.obsm.items()):
                if not isinstance(df, pd.DataFrame):
                    continue
                for c in df.columns:
                    full_cats = full.obsm[k][c].cat.categories if isinstance(full.obsm[k][c].dtype, pd.CategoricalDtype) else None
                    if full_cats is not None and len(full_cats) != len(df[c].cat.categories):
                        df = df.copy()
                        df[c] = pd.Categorical(df[c].astype(object), categories=full_cats, ordered=df[c].cat.ordered)
                        m.obsm[k] = df
                        return m
            return None

        mutations = [
            ("unused categories of an obsm data frame kept", obsm_frame_untrimmed),
            ("rows in a wrong order", lambda: _swap_first_rows(expected)),
            ("vars in a wrong order", swap_vars),
            ("a row missing", drop_row),
            ("unused categories not removed (and colors not trimmed)", untrimmed),
            ("colors not trimmed", colors_untrimmed),
            ("one X value changed", change_x),
            ("obsm element dropped", drop("obsm", "X_pca")),
            ("layer dropped", drop("layers", "counts")),
            ("int64 obs column written as float64", int_to_float),
            ("sparse format swapped", csr_as_csc),
            ("nullable mask changed", nullable_mask),
            ("raw var order changed", raw_changed),
        ]
        for name, make in mutations:
            try:
                m = make()
            except Exception as e:  # noqa: BLE001
                print(f"BAD  mutation '{name}' could not be built: {type(e).__name__}: {e}")
                ok = False
                continue
            if m is None:
                print(f"n/a  mutation '{name}': not applicable to this selection")
                continue
            p = tmp / "mutant.zarr"
            write_expected(m, p, 3)
            rep = check(src, str(p), opts, require_consolidated=True, quiet=True, expected=expected, out=sink)
            caught = rep.failed > 0
            if name.startswith("colors not trimmed") and all(
                    not k.endswith("_colors") or len(full.uns[k]) == len(expected.uns.get(k, [])) for k in full.uns):
                print(f"n/a  mutation '{name}': the selection keeps every category")
                continue
            if name.startswith("unused categories") and rep.failed == 0:
                print(f"n/a  mutation '{name}': the selection keeps every category")
                continue
            ok &= caught
            first = rep.fail_lines[0][9:130] if rep.fail_lines else ""
            print(f"{'ok  ' if caught else 'BAD '} mutation '{name}' is caught: {rep.failed} failure(s), first: {first}")
        # consolidated metadata missing / stale
        p = tmp / "unconsolidated.zarr"
        write_expected(expected, p, 3, consolidate=False)
        rep = check(src, str(p), opts, require_consolidated=True, quiet=True, expected=expected, out=sink)
        ok &= rep.failed > 0
        print(f"{'ok  ' if rep.failed else 'BAD '} no consolidated metadata with --require-consolidated is caught: {rep.summary()}")
        rep = check(src, str(p), opts, require_consolidated=False, quiet=True, expected=expected, out=sink)
        ok &= rep.failed == 0
        print(f"{'ok  ' if not rep.failed else 'BAD '} no consolidated metadata without --require-consolidated passes: {rep.summary()}")
        p = tmp / "good_v3.zarr"
        doc = json.loads((p / "zarr.json").read_text())
        cm = doc["consolidated_metadata"]["metadata"]
        victim = next(k for k in cm if cm[k].get("node_type") == "array")
        cm[victim]["shape"] = [s + 1 for s in cm[victim]["shape"]]
        (p / "zarr.json").write_text(json.dumps(doc))
        rep = check(src, str(p), opts, require_consolidated=True, quiet=True, expected=expected, out=sink)
        ok &= rep.failed > 0
        print(f"{'ok  ' if rep.failed else 'BAD '} stale consolidated metadata ({victim}) is caught: {rep.summary()}")
        # a wrong encoding on disk: an obs string column re-labelled as categorical
        p = tmp / "good_v2.zarr"
        zattrs = p / "obs" / "int64" / ".zattrs"
        if zattrs.exists():
            a = json.loads(zattrs.read_text())
            a["encoding-version"] = "9.9.9"
            zattrs.write_text(json.dumps(a))
            rep = check(src, str(p), opts, require_consolidated=False, quiet=True, expected=expected, out=sink)
            ok &= rep.failed > 0
            print(f"{'ok  ' if rep.failed else 'BAD '} a changed encoding-version on disk is caught: {rep.summary()}")
    finally:
        sink.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("self-test passed" if ok else "self-test FAILED")
    return 0 if ok else 1


# --------------------------------------------------------------------------- #
# CLI                                                                          #
# --------------------------------------------------------------------------- #

VALUE_OPTS = {"--obs-names": "obs_names", "--var-names": "var_names", "--obs-query": "obs_query", "--var-query": "var_query"}


def parse_args(argv: list[str]) -> dict:
    args = {"positional": [], "opts": {}, "require_consolidated": False, "quiet": False, "self_test": False, "batch": None}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in VALUE_OPTS:
            if i + 1 >= len(argv):
                raise UsageError(f"{a} needs a value")
            if VALUE_OPTS[a] in args["opts"]:
                raise UsageError(f"{a} given twice")
            args["opts"][VALUE_OPTS[a]] = argv[i + 1]
            i += 2
            continue
        if a == "--require-consolidated":
            args["require_consolidated"] = True
        elif a == "--quiet":
            args["quiet"] = True
        elif a == "--self-test":
            args["self_test"] = True
        elif a == "--batch":
            if i + 1 >= len(argv):
                raise UsageError("--batch needs a file")
            args["batch"] = argv[i + 1]
            i += 2
            continue
        elif a in ("-h", "--help"):
            print(__doc__)
            raise SystemExit(0)
        elif a.startswith("--"):
            raise UsageError(f"unknown option {a}")
        else:
            args["positional"].append(a)
        i += 1
    return args


def run_one(argv: list[str], quiet_default: bool = False, out=None) -> tuple[int, Report | None, str]:
    args = parse_args(argv)
    pos = args["positional"]
    if len(pos) != 2:
        raise UsageError("expected SRC and CANDIDATE")
    rep = check(pos[0], pos[1], args["opts"], require_consolidated=args["require_consolidated"],
                quiet=args["quiet"] or quiet_default, out=out)
    return (0 if rep.failed == 0 else 1), rep, pos[1]


def run_batch(path: str, quiet: bool) -> int:
    try:
        jobs = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read batch file {path}: {e}") from e
    if not isinstance(jobs, list) or not all(isinstance(j, list) and all(isinstance(x, str) for x in j) for j in jobs):
        raise UsageError("the batch file must hold a JSON list of argument lists")
    passed = failed = 0
    for job in jobs:
        label = job[1] if len(job) > 1 else "?"
        print(f"== {label}")
        try:
            status, rep, _ = run_one(job, quiet_default=True)
            print(f"result {label}: {rep.summary()}")
        except UsageError as e:
            status = 1
            print(f"result {label}: usage error: {e}")
        except Exception:  # noqa: BLE001
            status = 1
            print("FAIL     checker raised: " + " | ".join(traceback.format_exc().strip().splitlines()[-3:]))
            print(f"result {label}: checker crashed")
        if status == 0:
            passed += 1
        else:
            failed += 1
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def main(argv: list[str]) -> int:
    try:
        args = parse_args(argv)
        if args["batch"]:
            return run_batch(args["batch"], args["quiet"])
        if args["self_test"]:
            if len(args["positional"]) != 1:
                raise UsageError("--self-test takes SRC only")
            return self_test(args["positional"][0], args["opts"], args["quiet"])
        status, rep, _ = run_one(argv)
        print(rep.summary())
        return status
    except UsageError as e:
        print(f"check_subset: usage error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
