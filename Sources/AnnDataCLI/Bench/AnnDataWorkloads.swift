import Zarr

/// The AnnData workloads of `peers.py` (on `stores/ad_{default,sharded}.zarr`). Not yet
/// implemented; `BenchRegistry` already includes this list, so adding one is adding an entry:
///
///     BenchWorkload(name: "ad-read-x", variants: variants, summary: "...", run: readX)
///
/// with `@Sendable static func readX(_ c: BenchContext) async throws -> BenchResult`. As in
/// `DenseWorkloads`: load inputs (for writes, from `c.source(...)`, see the manifest's `X`,
/// `obs`, `var`) before the timer; time with `BenchClock.time` (opening the store is timed for
/// reads); compute the check after it with `BenchCheck.csr(nnz:shape:sum:)` (X data summed as
/// float64) or `BenchCheck.array`; use `c.options` for the engine's concurrency; put writes
/// under `c.scratch`, report `disk_bytes` in `extra` and remove the output unless `c.keep`.
///
/// peers.py's definitions (timer coverage and `bytes`):
///   ad-write      write the full object from src (X CSR, obs 5 cols, var 2 cols, empty
///                 uns/obsm/...) as zarr v3 with the variant's layout, consolidated metadata;
///                 bytes = X data+indices+indptr nbytes.
///   ad-read-full  open + read the whole AnnData (X as CSR, obs, var).
///   ad-read-x     open + read X only into CSR; bytes = data+indices+indptr nbytes.
///   ad-read-obs   open + read obs only (index, 2 categoricals, 2 floats, 1 string); bytes = 0.
///   ad-lazy-rows, ad-batch-contig, ad-batch-random: see the docstring of peers.py.
enum AnnDataWorkloads {
    static let variants = ["default", "sharded"]

    static let all: [BenchWorkload] = []
}
