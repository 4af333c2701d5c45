#!/usr/bin/env python3
"""Python anndata straight on an S3-compatible store, for the remote-store interop tests and
the remote benchmark. Credentials, region and endpoint come from the standard variables
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL), as for Swift.

  s3_anndata.py check s3://BUCKET/PREFIX --fixtures anndata_fixtures.py --via fsspec|obstore
                [--name kitchen_sink.zarr] [CHECK OPTIONS...]
      anndata_fixtures.py check of a store on S3: its objects are copied byte for byte to a
      local folder (for the on-disk structure and consolidated-metadata checks and the lazy
      pass), and the eager read that the values are compared from is anndata.read_zarr
      straight from S3 (zarr FsspecStore on s3fs, or zarr ObjectStore on obstore). The exit
      status is the checker's.
  s3_anndata.py write s3://BUCKET/PREFIX --fixtures anndata_fixtures.py --via fsspec|obstore
                [--variant dense|csr|csc|empty]
      the fixture tool's kitchen-sink AnnData, written by anndata.io.write_zarr straight to S3
      (Zarr v3, consolidated), for Swift to read.
  s3_anndata.py read-x URL --via fsspec|obstore
      open + read X only (anndata.io.read_elem), for the benchmark: one JSON line with
      seconds, nnz and the float64 sum of X's values. URL is s3://BUCKET/PREFIX or http(s)://.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time


def split_s3(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise SystemExit(f"not an s3:// URL: {url}")
    bucket, _, prefix = url[5:].partition("/")
    return bucket, prefix.strip("/")


def endpoint() -> str:
    e = os.environ.get("AWS_ENDPOINT_URL")
    if not e:
        raise SystemExit("AWS_ENDPOINT_URL is not set")
    return e


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def open_store(url: str, via: str, read_only: bool):
    import zarr.storage
    if url.startswith(("http://", "https://")):
        if via == "obstore":
            from obstore.store import HTTPStore
            return zarr.storage.ObjectStore(HTTPStore.from_url(url, client_options={"allow_http": True}), read_only=True)
        import fsspec
        fs = fsspec.filesystem("http", asynchronous=True)
        return zarr.storage.FsspecStore(fs, path=url.rstrip("/"), read_only=True)
    bucket, prefix = split_s3(url)
    if via == "obstore":
        from obstore.store import S3Store
        s = S3Store(bucket, prefix=prefix or None, endpoint=endpoint(), region=region(),
                    access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                    secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                    virtual_hosted_style_request=False, client_options={"allow_http": True})
        return zarr.storage.ObjectStore(s, read_only=read_only)
    import s3fs
    fs = s3fs.S3FileSystem(key=os.environ["AWS_ACCESS_KEY_ID"], secret=os.environ["AWS_SECRET_ACCESS_KEY"],
                           endpoint_url=endpoint(), client_kwargs={"region_name": region()}, asynchronous=True)
    return zarr.storage.FsspecStore(fs, path=f"{bucket}/{prefix}" if prefix else bucket, read_only=read_only)


def load_fixtures(path: str):
    """The fixture tool (shared/interop/anndata_fixtures.py) as a module."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("anndata_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["anndata_fixtures"] = module
    spec.loader.exec_module(module)
    return module


def check(a, checker_args: list[str]) -> int:
    import tempfile
    import warnings
    from pathlib import Path

    import anndata as ad
    import s3fs

    fixtures = load_fixtures(a.fixtures)
    bucket, prefix = split_s3(a.url)
    with tempfile.TemporaryDirectory() as tmp:
        mirror = Path(tmp) / a.name
        fs = s3fs.S3FileSystem(key=os.environ["AWS_ACCESS_KEY_ID"], secret=os.environ["AWS_SECRET_ACCESS_KEY"],
                               endpoint_url=endpoint(), client_kwargs={"region_name": region()})
        root = f"{bucket}/{prefix}" if prefix else bucket
        keys = fs.find(root)
        if not keys:
            raise SystemExit(f"no objects under {a.url}")
        for key in keys:
            local = mirror / key[len(root):].lstrip("/")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(fs.cat_file(key))
        original = fixtures.read_eager
        seen = {"s3_reads": 0}

        def read_eager(store):
            if Path(store) != mirror:
                return original(store)
            seen["s3_reads"] += 1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ad.read_zarr(open_store(a.url, a.via, read_only=True))

        fixtures.read_eager = read_eager
        status = fixtures.main(["check", str(mirror), *checker_args])
        print(json.dumps({"checked": a.url, "via": a.via, "objects": len(keys), "eager_reads_from_s3": seen["s3_reads"]}))
        if seen["s3_reads"] == 0:
            print("the checker never read the store through S3", file=sys.stderr)
            return 1
        return status


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("check")
    r.add_argument("url")
    r.add_argument("--fixtures", required=True, help="path of anndata_fixtures.py")
    r.add_argument("--via", choices=["fsspec", "obstore"], default="fsspec")
    r.add_argument("--name", default="kitchen_sink.zarr", help="the local copy's name (the checker infers the variant from it)")
    w = sub.add_parser("write")
    w.add_argument("url")
    w.add_argument("--fixtures", required=True, help="path of anndata_fixtures.py")
    w.add_argument("--via", choices=["fsspec", "obstore"], default="fsspec")
    w.add_argument("--variant", default="dense")
    x = sub.add_parser("read-x")
    x.add_argument("url")
    x.add_argument("--via", choices=["fsspec", "obstore"], default="fsspec")
    a, rest = ap.parse_known_args(argv)
    if rest and a.cmd != "check":
        ap.error(f"unrecognized arguments: {' '.join(rest)}")

    import anndata as ad
    import numpy as np
    import zarr

    if a.cmd == "check":
        return check(a, rest)
    if a.cmd == "write":
        fixtures = load_fixtures(a.fixtures)
        adata = fixtures.build_kitchen_sink(a.variant, extras=False)
        store = open_store(a.url, a.via, read_only=False)
        with fixtures._quiet_settings(allow_write_nullable_strings=True, auto_shard_zarr_v3=False, zarr_write_format=3):
            ad.io.write_zarr(store, adata, convert_strings_to_categoricals=False)
        zarr.consolidate_metadata(store)
        print(json.dumps({"wrote": a.url, "via": a.via, "variant": a.variant, "shape": list(adata.shape),
                          "anndata": ad.__version__}))
        return 0
    t0 = time.perf_counter()
    g = zarr.open_group(open_store(a.url, a.via, read_only=True), mode="r")
    X = ad.io.read_elem(g["X"])
    secs = time.perf_counter() - t0
    data = X.data if hasattr(X, "data") else np.asarray(X)
    print(json.dumps({"via": a.via, "seconds": round(secs, 4), "nnz": int(getattr(X, "nnz", data.size)),
                      "sum": float(np.asarray(data).sum(dtype=np.float64))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
