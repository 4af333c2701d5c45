#!/usr/bin/env python
"""Runs the shared AnnData checker (`anndata_fixtures.py check`) on several stores in one
interpreter, so that anndata, zarr and pandas are imported once rather than once per store.

    check_many.py FIXTURES_PY [--no-lazy] STORE[::consolidated] ...

A store given as `PATH::consolidated` is checked with `--require-consolidated`. For each store
it prints a block

    == PATH
    <the checker's MISMATCH / skip lines>
    result PATH: <the checker's 'N passed, M failed[, K skipped]' line>

and it ends with `N passed, M failed` over the stores (a store passes when its checker exits 0).
The exit status is 1 when any store failed, 2 on a usage error.
"""
import contextlib
import importlib.util
import io
import sys
import traceback
import warnings


def load(path):
    spec = importlib.util.spec_from_file_location("anndata_fixtures", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"check_many: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    warnings.simplefilter("ignore")
    fixtures = load(argv[0])
    lazy = "--no-lazy" not in argv[1:]
    stores = [a for a in argv[1:] if a != "--no-lazy"]
    passed = failed = 0
    for spec in stores:
        path, _, flag = spec.partition("::")
        args = ["check", path, "--quiet"]
        if not lazy:
            args.append("--no-lazy")
        if flag == "consolidated":
            args.append("--require-consolidated")
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                status = fixtures.main(args)
        except SystemExit as e:  # argparse or the checker itself exiting
            status = e.code if isinstance(e.code, int) else 1
        except Exception:  # a crash of the checker counts as a failure of this store
            out.write("MISMATCH checker raised:\n" + traceback.format_exc())
            status = 1
        lines = out.getvalue().strip().splitlines()
        summary = next((l for l in reversed(lines) if " passed" in l and " failed" in l), "(no summary)")
        print(f"== {path}")
        for line in lines:
            if line.startswith(("MISMATCH", "skip")):
                print(line[:400])
        print(f"result {path}: {summary}")
        if status == 0:
            passed += 1
        else:
            failed += 1
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
