#!/usr/bin/env python
"""check_concat.py - checks a store written by `anndata concat` against Python anndata.

    check_concat.py CANDIDATE SRC... [--join inner|outer] [--label NAME] [--keys K1,K2,...]
                    [--index-unique SEP] [--require-consolidated] [--quiet]
    check_concat.py --batch JOBS.json [--quiet]
    check_concat.py --make SRC OUTDIR [--format 2|3]
    check_concat.py --self-test SRC... [--join ...]
    check_concat.py --append CANDIDATE DST_BEFORE SRC [--require-consolidated] [--quiet]
    check_concat.py --make-append SRC OUTDIR [--format 2|3]

Each SRC is read with the installed anndata (as `check_subset.read_anndata` reads it);
expected = `anndata.concat(srcs, axis="obs", join=J, merge="same", label=NAME, keys=KEYS,
index_unique=SEP)` (pairwise=False and uns_merge=None: obsp and uns are empty). CANDIDATE is
then compared with `expected` element by element and node by node, exactly as
`check_subset.py` compares a subset with `adata[...]` (values, dtypes, encodings, categories,
index names, consolidated metadata; see its documentation for the tolerances).

`--make SRC OUTDIR` writes three stores cut from SRC with partly overlapping genes and cells,
with Python anndata (Zarr format 3 unless `--format 2`): `part_a.zarr` = cells 0-24, genes
0-17; `part_b.zarr` = cells 15-39, genes 7-24 in reverse order; `part_c.zarr` = cells 30-39,
every other gene, without some obs columns (int32, bool, str_object, cat_unordered,
nullable_int64, nullable_bool, str_pd_string), obsm X_umap and df, layer counts and raw. (The cell ranges overlap on purpose: concat with `--index-unique` keeps them
apart.)

`--append`: CANDIDATE is DST_BEFORE after `anndata append SRC DST`: expected =
`anndata.concat([dst, src], join="inner", merge="first", pairwise=True)` with DST's own var,
varm, varp, uns and raw var/varm (an append keeps them). `--make-append SRC OUTDIR` writes
`dst.zarr` (cells 0-24) and `src.zarr` (cells 25-39) of SRC without its CSC layer (an append
into a CSC matrix is refused). In a `--batch` job, `--append` may lead the argument list.

`--batch JOBS.json`: a JSON list of argument lists (`["CANDIDATE", "SRC", ..., "--join", ...]`)
checked in one interpreter; prints `== CANDIDATE`, the FAIL lines and `result CANDIDATE: N
passed, M failed`, then `N passed, M failed` over the jobs. Exit 1 when any job failed.

`--self-test`: Python's own concatenation of the sources, written by anndata, must pass, and
one with a changed value and one with the obs rows of the last store dropped must each fail.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import check_subset as cs  # noqa: E402

fx = cs.fx
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import sparse  # noqa: E402

VALUE_OPTS = {"--join": "join", "--label": "label", "--keys": "keys", "--index-unique": "index_unique", "--format": "format"}


def parse(argv: list[str]) -> dict:
    out = {"positional": [], "opts": {}, "require_consolidated": False, "quiet": False, "batch": None, "make": False,
           "self_test": False, "append": False, "make_append": False}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in VALUE_OPTS:
            if i + 1 >= len(argv):
                raise cs.UsageError(f"{a} needs a value")
            out["opts"][VALUE_OPTS[a]] = argv[i + 1]
            i += 2
            continue
        if a == "--batch":
            out["batch"] = argv[i + 1]
            i += 2
            continue
        flag = {"--require-consolidated": "require_consolidated", "--quiet": "quiet", "--make": "make", "--self-test": "self_test",
                "--append": "append", "--make-append": "make_append"}.get(a)
        if flag:
            out[flag] = True
        elif a.startswith("--"):
            raise cs.UsageError(f"unknown option {a}")
        else:
            out["positional"].append(a)
        i += 1
    return out


def expected_concat(srcs: list[str], opts: dict):
    import anndata as ad

    adatas = [cs.read_anndata(s) for s in srcs]
    keys = opts["keys"].split(",") if opts.get("keys") else None
    out = ad.concat(adatas, axis="obs", join=opts.get("join", "inner"), merge="same", label=opts.get("label"),
                    keys=keys, index_unique=opts.get("index_unique"))
    if tuple(int(x) for x in ad.__version__.split(".")[:2]) < (0, 13):
        if opts.get("join") == "outer":
            upcast_like_013(out, adatas)
        keep_format_like_013(out, adatas)
    return out


def keep_format_like_013(out, adatas) -> None:
    """anndata 0.12 turns a sparse varm/varp matrix that reindexing reorders into CSR; 0.13
    keeps its format (the first store's), as the CLI does."""
    for m in ("varm", "varp"):
        for k, v in list(getattr(out, m).items()):
            src = getattr(adatas[0], m).get(k)
            if sparse.issparse(v) and sparse.issparse(src) and v.format != src.format:
                getattr(out, m)[k] = v.asformat(src.format)


def upcast_like_013(out, adatas) -> None:
    """anndata 0.12 keeps float32 (float16) when an outer join fills a dense matrix's missing
    genes (or obsm columns) with NaN; 0.13 fills with a float64 NaN through `xp.where`, which
    makes the result float64. The CLI follows 0.13: under 0.12 the expected elements where
    that fill happens are upcast the same way (nothing else changes)."""
    def dense_small_float(v):
        return isinstance(v, np.ndarray) and v.dtype in (np.float16, np.float32)

    union = set(out.var_names)
    lacks_genes = any(not union.issubset(set(a.var_names)) for a in adatas)
    if lacks_genes and dense_small_float(out.X):
        out.X = out.X.astype(np.float64)
    for k in list(out.layers.keys()):
        if lacks_genes and dense_small_float(out.layers[k]):
            out.layers[k] = out.layers[k].astype(np.float64)
    for k in list(out.obsm.keys()):
        widths = {a.obsm[k].shape[1] for a in adatas if k in a.obsm and getattr(a.obsm[k], "ndim", 0) >= 2}
        if len(widths) > 1 and dense_small_float(out.obsm[k]):
            out.obsm[k] = out.obsm[k].astype(np.float64)


def check(candidate: str, srcs: list[str], opts: dict, *, require_consolidated: bool, quiet: bool, expected=None):
    if expected is None:
        expected = expected_concat(srcs, opts)
    return cs.check(srcs[0], candidate, {}, require_consolidated=require_consolidated, quiet=quiet, expected=expected)


def expected_append(dst_before: str, src: str):
    import anndata as ad

    dst, new = cs.read_anndata(dst_before), cs.read_anndata(src)
    out = ad.concat([dst, new], axis="obs", join="inner", merge="first", pairwise=True)
    out.var = dst.var.copy()
    for k in list(out.varm.keys()):
        del out.varm[k]
    for k, v in dst.varm.items():
        out.varm[k] = v
    for k in list(out.varp.keys()):
        del out.varp[k]
    for k, v in dst.varp.items():
        out.varp[k] = v
    out.uns = dst.uns.copy()
    cs.restore_scalars(out.uns, cs.numeric_scalar_dtypes(dst_before))
    if out.raw is not None and dst.raw is not None:
        raw = ad.AnnData(X=out.raw.X, var=dst.raw.var.copy(), obs=pd.DataFrame(index=out.obs_names.copy()))
        for k, v in dst.raw.varm.items():
            raw.varm[k] = v
        out.raw = raw
    return out


def make_append(src: str, outdir: str, fmt: int) -> int:
    adata = cs.read_anndata(src)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    for name, view in {"dst.zarr": adata[:25], "src.zarr": adata[25:]}.items():
        a = view.copy()
        for k in [k for k, v in a.layers.items() if sparse.issparse(v) and v.format == "csc"]:
            del a.layers[k]
        cs.restore_scalars(a.uns, cs.numeric_scalar_dtypes(src))
        fx.write_store(a, out / name, zarr_format=fmt, consolidate=True)
        print(f"wrote {out / name}: {a.n_obs} x {a.n_vars}")
    return 0


def make(src: str, outdir: str, fmt: int) -> int:
    adata = cs.read_anndata(src)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    n_var = adata.n_vars
    parts = {
        "part_a.zarr": adata[:25, :18],
        "part_b.zarr": adata[15:, list(range(n_var - 1, 6, -1))],
        "part_c.zarr": adata[30:, ::2],
    }
    for name, view in parts.items():
        a = view.copy()
        a.uns = {}
        if name == "part_c.zarr":
            # some obs columns, an obsm array, a layer and raw missing: what outer joins fill in
            a.obs = a.obs.drop(columns=[c for c in ("int32", "bool", "str_object", "cat_unordered", "nullable_int64",
                                                    "nullable_bool", "str_pd_string") if c in a.obs.columns])
            for k in ("X_umap", "df"):
                a.obsm.pop(k, None)
            a.layers.pop("counts", None)
            a.raw = None
        fx.write_store(a, out / name, zarr_format=fmt, consolidate=True)
        print(f"wrote {out / name}: {a.n_obs} x {a.n_vars}")
    return 0


def self_test(srcs: list[str], opts: dict) -> int:
    expected = expected_concat(srcs, opts)
    tmp = Path(tempfile.mkdtemp(prefix="check_concat_self_"))
    ok = True
    try:
        good = tmp / "good.zarr"
        fx.write_store(expected, good, zarr_format=3, consolidate=True)
        rep = check(str(good), srcs, opts, require_consolidated=True, quiet=True, expected=expected)
        print(f"python's own concat: {rep.summary()}")
        ok &= rep.failed == 0
        bad = expected.copy()
        if bad.obsm:
            k = next(iter(bad.obsm))
            v = bad.obsm[k]
            if isinstance(v, np.ndarray) and v.size:
                v = v.copy()
                v.flat[0] = v.flat[0] + 1
                bad.obsm[k] = v
        bad.obs = bad.obs.iloc[:, ::-1]
        p = tmp / "bad.zarr"
        fx.write_store(bad, p, zarr_format=3, consolidate=True)
        rep = check(str(p), srcs, opts, require_consolidated=True, quiet=True, expected=expected)
        print(f"a changed value and reversed obs columns: {rep.summary()}")
        ok &= rep.failed > 0
        short = expected[: expected.n_obs - 1].copy()
        p = tmp / "short.zarr"
        fx.write_store(short, p, zarr_format=3, consolidate=True)
        rep = check(str(p), srcs, opts, require_consolidated=True, quiet=True, expected=expected)
        print(f"a row dropped: {rep.summary()}")
        ok &= rep.failed > 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("self-test " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


def run_check(a: dict, quiet: bool):
    pos = a["positional"]
    if a["append"]:
        if len(pos) != 3:
            raise cs.UsageError("--append takes CANDIDATE, DST_BEFORE and SRC")
        return cs.check(pos[1], pos[0], {}, require_consolidated=a["require_consolidated"], quiet=quiet,
                        expected=expected_append(pos[1], pos[2]))
    if len(pos) < 2:
        raise cs.UsageError("expected CANDIDATE and at least one SRC")
    return check(pos[0], pos[1:], a["opts"], require_consolidated=a["require_consolidated"], quiet=quiet)


def run_batch(path: str) -> int:
    jobs = json.loads(Path(path).read_text())
    passed = failed = 0
    for job in jobs:
        label = next((x for x in job if not x.startswith("--")), "?")
        print(f"== {label}")
        try:
            a = parse(job)
            label = a["positional"][0]
            rep = run_check(a, quiet=True)
            print(f"result {label}: {rep.summary()}")
            status = 0 if rep.failed == 0 else 1
        except Exception:  # noqa: BLE001
            status = 1
            print("FAIL     checker raised: " + " | ".join(traceback.format_exc().strip().splitlines()[-3:]))
            print(f"result {label}: checker crashed")
        passed += status == 0
        failed += status != 0
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def main(argv: list[str]) -> int:
    try:
        a = parse(argv)
        if a["batch"]:
            return run_batch(a["batch"])
        if a["make"]:
            if len(a["positional"]) != 2:
                raise cs.UsageError("--make takes SRC and OUTDIR")
            return make(a["positional"][0], a["positional"][1], int(a["opts"].get("format", "3")))
        if a["make_append"]:
            if len(a["positional"]) != 2:
                raise cs.UsageError("--make-append takes SRC and OUTDIR")
            return make_append(a["positional"][0], a["positional"][1], int(a["opts"].get("format", "3")))
        if a["self_test"]:
            return self_test(a["positional"], a["opts"])
        rep = run_check(a, quiet=a["quiet"])
        print(rep.summary())
        return 0 if rep.failed == 0 else 1
    except cs.UsageError as e:
        print(f"check_concat: usage error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
