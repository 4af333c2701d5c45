#!/usr/bin/env python
"""make_h5ad.py - the shared kitchen-sink fixtures as .h5ad (3 compressions) plus a Zarr twin.

    make_h5ad.py OUTDIR [--extras] [--variants dense,csr,csc,empty] [--comps none,gzip,lzf]
                 [--verify] [--quiet]

Runs with either pinned interpreter (.venv: anndata 0.12.7, .venv312: anndata 0.13.4). For every
kitchen-sink variant of the shared fixture maker (`anndata_fixtures.py`: VARIANT_FILE /
build_kitchen_sink) it writes, with the running anndata:

  OUTDIR/<name>.<comp>.h5ad   for comp in none, gzip, lzf: `adata.write_h5ad(path,
                              compression=None|"gzip"|"lzf", convert_strings_to_categoricals=False)`
                              inside `_quiet_settings(allow_write_nullable_strings=True)`, as the
                              fixture maker's own write_h5ad does;
  OUTDIR/<name>.zarr          the same object as Zarr v3 (the fixture maker's write_store: anndata's
                              write_zarr, consolidated), for comparing the h5ad element by element;
  OUTDIR/manifest.json        {"anndata": VERSION, "extras": BOOL, "written": [{"variant", "name",
                              "comp", "h5ad"} ...], "zarr": {variant: "<name>.zarr"},
                              "skipped": [{"variant", "comp", "reason"} ...]}.

<name> is VARIANT_FILE[variant] (kitchen_sink, kitchen_sink_csr, kitchen_sink_csc,
kitchen_sink_empty), so `anndata_fixtures.py check` infers the variant from the file name.
`--extras` adds the fixture maker's extras (awkward `obsm/ragged`, rec-array `uns/rec`).

A combination the running anndata refuses to write is skipped with a printed reason
(`skip <variant> <comp>: <reason>`) and listed in the manifest; no partial file is left. The
known, expected skips are in KNOWN_SKIPS below (currently none: every variant, with and without
extras, writes under both pinned versions); an unexpected refusal is still a skip but makes the
exit status 1.

`--verify` reads every written .h5ad back with the running anndata and compares it with the
Zarr twin (compare_anndata.py's comparer) and runs the shared checker on the .h5ad; any
difference makes the exit status 1.

Output: one `wrote PATH` line per file, `skip ...` lines, and a final
`make_h5ad: N h5ad, M zarr, K skipped (anndata X.Y.Z)`.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import traceback
import warnings
from pathlib import Path

COMPRESSIONS = {"none": None, "gzip": "gzip", "lzf": "lzf"}

# (variant, comp, extras) -> reason: combinations known to be refused by anndata's h5ad writer.
# Checked under anndata 0.12.7 and 0.13.4 (with and without --extras): none are refused.
KNOWN_SKIPS: dict[tuple[str, str, bool], str] = {}


def load_fixtures():
    """The shared fixture maker as the module `anndata_fixtures`: $ANNDATA_SHARED_DIR, then
    ../shared next to the repository, then /work/shared (as scripts/shared-dir and
    check_subset.py look for it)."""
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
    raise SystemExit("make_h5ad: shared/interop/anndata_fixtures.py not found (set ANNDATA_SHARED_DIR)")


def anndata_version() -> str:
    from importlib.metadata import version

    return version("anndata")


def write_h5ad(fx, adata, path: Path, comp: str | None) -> None:
    if path.exists():
        path.unlink()
    with fx._quiet_settings(allow_write_nullable_strings=True):
        adata.write_h5ad(path, compression=comp, convert_strings_to_categoricals=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("outdir")
    ap.add_argument("--extras", action="store_true", help="add the awkward array and the rec-array")
    ap.add_argument("--variants", default=None, help="comma-separated subset of dense,csr,csc,empty")
    ap.add_argument("--comps", default=",".join(COMPRESSIONS), help="comma-separated subset of none,gzip,lzf")
    ap.add_argument("--verify", action="store_true",
                    help="read each .h5ad back, compare it with the Zarr twin and run the shared checker")
    ap.add_argument("--quiet", action="store_true", help="print skips, failures and the summary only")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # awkward's ExperimentalFeatureWarning, zarr's notes
    fx = load_fixtures()
    variants = list(fx.VARIANT_FILE) if not args.variants else args.variants.split(",")
    comps = args.comps.split(",")
    for v in variants:
        if v not in fx.VARIANT_FILE:
            ap.error(f"unknown variant {v}; known: {', '.join(fx.VARIANT_FILE)}")
    for c in comps:
        if c not in COMPRESSIONS:
            ap.error(f"unknown compression {c}; known: {', '.join(COMPRESSIONS)}")
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    version = anndata_version()
    manifest: dict = {"anndata": version, "extras": args.extras, "written": [], "zarr": {}, "skipped": []}
    unexpected = 0
    for v in variants:
        name = fx.VARIANT_FILE[v]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            adata = fx.build_kitchen_sink(v, extras=args.extras)
        z = out / f"{name}.zarr"
        fx.write_store(adata, z, zarr_format=3)
        manifest["zarr"][v] = z.name
        if not args.quiet:
            print(f"wrote {z}")
        for c in comps:
            h = out / f"{name}.{c}.h5ad"
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    # a fresh object each time: writing may not mutate it, but be safe
                    write_h5ad(fx, fx.build_kitchen_sink(v, extras=args.extras), h, COMPRESSIONS[c])
            except Exception as e:  # noqa: BLE001  (anndata raises many kinds)
                if h.exists():
                    h.unlink()
                reason = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
                known = KNOWN_SKIPS.get((v, c, args.extras))
                if known is None:
                    unexpected += 1
                    reason = f"UNEXPECTED {reason}"
                print(f"skip {v} {c}: {known or reason}")
                manifest["skipped"].append({"variant": v, "comp": c, "reason": known or reason})
                continue
            manifest["written"].append({"variant": v, "name": name, "comp": c, "h5ad": h.name})
            if not args.quiet:
                print(f"wrote {h}")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    failed = 0
    if args.verify:
        failed = verify(fx, out, manifest, args.quiet)
    print(f"make_h5ad: {len(manifest['written'])} h5ad, {len(manifest['zarr'])} zarr, "
          f"{len(manifest['skipped'])} skipped (anndata {version})"
          + (f"; verify: {failed} failed" if args.verify else ""))
    return 1 if unexpected or failed else 0


def verify(fx, out: Path, manifest: dict, quiet: bool) -> int:
    """Each h5ad vs its Zarr twin (in memory, string dtypes as one family: read_zarr returns uns
    string arrays as StringDType, read_h5ad as object) and the shared checker on each h5ad;
    returns the number of files with a failure. Known reader quirk tolerated: read_zarr drops
    `raw` of a 0-obs store (the h5ad keeps it)."""
    import contextlib
    import io

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import compare_anndata as cmp  # noqa: PLC0415

    failed = 0
    twins = {}
    for w in manifest["written"]:
        v = w["variant"]
        if v not in twins:
            twins[v] = cmp.read_store(out / manifest["zarr"][v])
        h = out / w["h5ad"]
        rep = cmp.Report(loose_strings=True)
        got = cmp.read_store(h)
        if v == "empty" and twins[v].raw is None and got.raw is not None:
            del got.raw
        cmp.compare_anndata(twins[v], got, rep)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = fx.main(["check", str(h), "--quiet"])
        summary = next((ln for ln in buf.getvalue().splitlines()[::-1] if "passed" in ln), "?")
        bad = rep.failed or rc != 0
        failed += bool(bad)
        if bad or not quiet:
            print(f"verify {h.name}: vs zarr twin {rep.passed} passed, {rep.failed} failed; "
                  f"checker: {summary}")
            for line in rep.failures:
                print(f"  FAIL {line}")
            if rc != 0:
                print("  " + "\n  ".join(ln for ln in buf.getvalue().splitlines() if "MISMATCH" in ln))
    return failed


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        sys.exit(2)
