import AnnData
import Zarr
import ZarrHDF5

/// The AnnData workloads of `peers.py` on `stores/ad_{default,sharded}.zarr`.
///
///   ad-write      input: the AnnData built from `src/` (X CSR float32/int32/int64, obs with 5
///                 columns, var with 2), before the timer; timed: write the whole object as
///                 Zarr v3 with the variant's layout and consolidated metadata. `default`: zstd
///                 level 0, zarr-python's chunk guess, no sharding; `sharded`: X's arrays in
///                 chunks of 2^15 inside shards of 2^24 elements. bytes = X's nbytes.
///   ad-read-full  timed: open + read the whole AnnData.
///   ad-read-x     timed: open + read X into CSR. bytes = X's nbytes.
///   ad-read-obs   timed: open + read obs. bytes = 0; check = obs shape and the n_counts sum.
///
///   ad-batch-contig  timed: open X lazily (metadata only), then for each of the 100 starts of
///                 sel.ad_batch_contig_starts, in order, the CSR of rows [s, s+256), streamed as
///                 `RowBatches` with 4 batches read ahead (every batch read from the store; no
///                 decoded chunk kept between batches). bytes = the batches' nbytes; check =
///                 their nnz and data sum.
///   ad-batch-random  the same with the 100 sorted 256-row lists of sel.ad_batch_random, each
///                 read with `LazyMatrix.rows([Int])`, in order, one after another.
///   ad-lazy-rows  timed: open lazily, then X's rows sel.ad_rows_1000 (1000 sorted rows) as CSR
///                 (X only, as peers.py's array-level implementations do). bytes = its nbytes.
///   ad-lazy-column  timed: open lazily, then X's column n_vars / 2 for every cell (a CSR of
///                 n_obs x 1: indptr and indices read whole, data where the column has values).
///                 bytes = its nbytes; check = its nnz, shape and data sum.
enum AnnDataWorkloads {
    static let variants = ["default", "sharded"]

    static let all: [BenchWorkload] = [
        BenchWorkload(name: "ad-write", variants: variants,
                      summary: "write the AnnData built from src/ as Zarr v3 (consolidated)", run: write),
        BenchWorkload(name: "ad-read-full", variants: variants,
                      summary: "open + read the whole AnnData", run: readFull),
        BenchWorkload(name: "ad-read-x", variants: variants,
                      summary: "open + read X into CSR", run: readX),
        BenchWorkload(name: "ad-read-obs", variants: variants,
                      summary: "open + read obs into a data frame", run: readObs),
        BenchWorkload(name: "ad-batch-contig", variants: variants,
                      summary: "100 minibatches of 256 contiguous rows of X (lazy, 4 read ahead)", run: batchContig),
        BenchWorkload(name: "ad-batch-random", variants: variants,
                      summary: "100 minibatches of 256 sorted random rows of X (lazy)", run: batchRandom),
        BenchWorkload(name: "ad-lazy-rows", variants: variants,
                      summary: "open lazily, read X's 1000 sorted rows sel.ad_rows_1000 as CSR", run: lazyRows),
        BenchWorkload(name: "ad-lazy-column", variants: variants,
                      summary: "open lazily, read X's column n_vars/2 for every cell", run: lazyColumn),
        BenchWorkload(name: "h5ad-read-x", variants: ["default", "gzip"],
                      summary: "open stores/ad.h5ad (gzip: stores/ad_gzip.h5ad) + read X into CSR", run: h5adReadX),
    ]

    /// peers.py's `BATCH`.
    static let batchSize = 256

    /// peers.py's `SPARSE_CHUNK` and `SPARSE_SHARD`: X's layout in the sharded variant.
    static let sparseChunk = 1 << 15
    static let sparseShard = 1 << 24

    static func storePath(_ c: BenchContext) throws -> String {
        guard variants.contains(c.variant) else { throw BenchError("unknown ad variant '\(c.variant)'") }
        return c.store("ad_\(c.variant).zarr")
    }

    // MARK: - reads

    @Sendable static func readFull(_ c: BenchContext) async throws -> BenchResult {
        let path = try storePath(c)
        let (adata, secs) = try await BenchClock.time {
            try await AnnData.read(from: c.readableStore(path), concurrency: c.options)
        }
        guard case .sparse(let x)? = adata.X else { throw BenchError("X of \(path) is not a sparse matrix") }
        return try csrResult(x, secs, extra: ["obs_shape": .integers([adata.nObs, adata.obs.columns.count])])
    }

    @Sendable static func readX(_ c: BenchContext) async throws -> BenchResult {
        let path = try storePath(c)
        let (x, secs) = try await BenchClock.time {
            try await readElement(c.readableStore(path), path: "X", concurrency: c.options)
        }
        guard case .sparse(let m) = x else { throw BenchError("X of \(path) is not a sparse matrix") }
        return try csrResult(m, secs)
    }

    @Sendable static func h5adReadX(_ c: BenchContext) async throws -> BenchResult {
        guard ["default", "gzip"].contains(c.variant) else { throw BenchError("unknown h5ad variant '\(c.variant)'") }
        let path = c.store(c.variant == "default" ? "ad.h5ad" : "ad_\(c.variant).h5ad")
        let (x, secs) = try await BenchClock.time { () async throws -> Element in
            let store = try await HDF5Store.open(path: path)
            let x = try await readElement(store, path: "X", concurrency: c.options)
            try await store.close()
            return x
        }
        guard case .sparse(let m) = x else { throw BenchError("X of \(path) is not a sparse matrix") }
        return try csrResult(m, secs)
    }

    @Sendable static func readObs(_ c: BenchContext) async throws -> BenchResult {
        let path = try storePath(c)
        let (obs, secs) = try await BenchClock.time {
            try await readElement(c.readableStore(path), path: "obs", concurrency: c.options)
        }
        guard case .dataFrame(let df) = obs else { throw BenchError("obs of \(path) is not a data frame") }
        guard case .array(let counts)? = df.columns["n_counts"] else { throw BenchError("obs has no numeric n_counts column") }
        return BenchResult(seconds: secs, bytes: 0,
                           check: BenchCheck.array(shape: [df.rowCount, df.columns.count], sum: try BenchCheck.sum(counts)))
    }

    @Sendable static func batchContig(_ c: BenchContext) async throws -> BenchResult {
        let path = try storePath(c)
        let starts = try BenchContext.ints(c.selection("ad_batch_contig_starts"), "ad_batch_contig_starts")
        let (tally, secs) = try await BenchClock.time { () async throws -> BatchTally in
            var tally = BatchTally(path: path)
            for try await batch in try await lazyX(c, path).batches(starts.map { $0..<($0 + batchSize) }, prefetch: 4) {
                try tally.add(batch.matrix)
            }
            return tally
        }
        return tally.result(seconds: secs)
    }

    @Sendable static func batchRandom(_ c: BenchContext) async throws -> BenchResult {
        let path = try storePath(c)
        guard let lists = try c.selection("ad_batch_random").array else { throw BenchError("sel.ad_batch_random is not a list") }
        let batches = try lists.map { try BenchContext.ints($0, "ad_batch_random[i]") }
        let (tally, secs) = try await BenchClock.time { () async throws -> BatchTally in
            let X = try await lazyX(c, path)
            var tally = BatchTally(path: path)
            for rows in batches { try tally.add(try await X.rows(rows)) }
            return tally
        }
        return tally.result(seconds: secs)
    }

    @Sendable static func lazyRows(_ c: BenchContext) async throws -> BenchResult {
        let path = try storePath(c)
        let rows = try BenchContext.ints(c.selection("ad_rows_1000"), "ad_rows_1000")
        let (m, secs) = try await BenchClock.time { try await lazyX(c, path).rows(rows) }
        guard case .sparse(let x) = m else { throw BenchError("X of \(path) is not a sparse matrix") }
        return try csrResult(x, secs)
    }

    @Sendable static func lazyColumn(_ c: BenchContext) async throws -> BenchResult {
        let path = try storePath(c)
        let (m, secs) = try await BenchClock.time { () async throws -> Matrix in
            let X = try await lazyX(c, path)
            return try await X.select(rows: nil, columns: [X.shape[1] / 2])
        }
        guard case .sparse(let x) = m else { throw BenchError("X of \(path) is not a sparse matrix") }
        return try csrResult(x, secs)
    }

    /// X of the store at `path`, opened lazily (metadata only).
    static func lazyX(_ c: BenchContext, _ path: String) async throws -> LazyMatrix {
        guard let X = try await LazyAnnData.open(c.readableStore(path), concurrency: c.options).X else {
            throw BenchError("\(path) has no X")
        }
        return X
    }

    /// What the minibatch workloads report: the batches' nnz, nbytes and data sum.
    struct BatchTally {
        let path: String
        var nnz = 0, bytes = 0, sum = 0.0

        init(path: String) { self.path = path }

        mutating func add(_ matrix: Matrix) throws {
            guard case .sparse(let m) = matrix else { throw BenchError("X of \(path) is not a sparse matrix") }
            nnz += m.nnz
            bytes += nbytes(m)
            sum += try BenchCheck.sum(m.data)
        }

        func result(seconds: Double) -> BenchResult {
            BenchResult(seconds: seconds, bytes: bytes, check: ["nnz": .integer(nnz), "sum": .double(sum)])
        }
    }

    static func csrResult(_ m: SparseMatrix, _ secs: Double, extra: JSONObject = [:]) throws -> BenchResult {
        BenchResult(seconds: secs, bytes: nbytes(m),
                    check: BenchCheck.csr(nnz: m.nnz, shape: m.shape, sum: try BenchCheck.sum(m.data)), extra: extra)
    }

    static func nbytes(_ m: SparseMatrix) -> Int {
        m.data.bytes.count + m.indices.bytes.count + m.indptr.bytes.count
    }

    // MARK: - write

    @Sendable static func write(_ c: BenchContext) async throws -> BenchResult {
        _ = try storePath(c)
        let adata = try BenchAnnDataSource.load(c)
        guard case .sparse(let x)? = adata.X else { throw BenchError("the source X is not sparse") }
        let out = BenchFiles.join(c.scratch, "ad_\(c.variant)_swift-anndata.zarr")
        try BenchFiles.remove(out)
        try BenchFiles.makeDirectories(c.scratch)
        var options = WriteOptions(zarrFormat: .v3, compressor: .zstd(level: 0), sharding: .off,
                                   consolidate: true, concurrency: c.options)
        if c.variant == "sharded" {
            let layout = ArrayOverrides(chunks: [sparseChunk], shards: [sparseShard])
            options.dispatch = { _, encodingType, _ in
                encodingType == "csr_matrix" || encodingType == "csc_matrix" ? .writeWith(layout) : .write
            }
        }
        let ((), secs) = try await BenchClock.time {
            try await adata.write(to: LocalStore(root: out), options: options)
        }
        let disk = BenchFiles.diskUsage(out)
        if !c.keep { try BenchFiles.remove(out) }
        return BenchResult(seconds: secs, bytes: nbytes(x),
                           check: BenchCheck.csr(nnz: x.nnz, shape: x.shape, sum: try BenchCheck.sum(x.data)),
                           extra: ["disk_bytes": .integer(disk)])
    }
}

/// Builds the AnnData of `peers.py`'s `build_adata` from the raw files of `src/` (outside
/// every timer).
enum BenchAnnDataSource {
    static func load(_ c: BenchContext) throws -> AnnData {
        let nObs = try BenchContext.int(c.manifestValue("n_obs"), "n_obs")
        let nVars = try BenchContext.int(c.manifestValue("n_vars"), "n_vars")
        let xFiles = try ["indptr", "indices", "data"].map { k in
            guard let f = try c.manifestValue("X", k).string else { throw BenchError("manifest X.\(k) is not a file name") }
            return c.source(f)
        }
        let indptr = try fixed(.int64, BenchFiles.readFile(xFiles[0]))
        let indices = try fixed(.int32, BenchFiles.readFile(xFiles[1]))
        let data = try fixed(.float32, BenchFiles.readFile(xFiles[2]))
        let x = try SparseMatrix(format: .csr, shape: [nObs, nVars], data: data, indices: indices, indptr: indptr)
        let obs = try frame(c, "obs", rows: nObs)
        let vars = try frame(c, "var", rows: nVars)
        return try AnnData(X: .sparse(x), obs: obs, var: vars)
    }

    static func fixed(_ type: DataType, _ bytes: [UInt8]) throws -> NDArray {
        guard let size = type.itemSize, bytes.count % size == 0 else { throw BenchError("a \(type) file of \(bytes.count) bytes") }
        return try NDArray(dataType: type, shape: [bytes.count / size], storage: .fixed(bytes))
    }

    static func lines(_ path: String) throws -> [String] {
        let bytes = try BenchFiles.readFile(path)
        var out = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if out.last == "" { out.removeLast() }
        return out
    }

    /// The data frame `obs` or `var` as the manifest describes it.
    static func frame(_ c: BenchContext, _ name: String, rows: Int) throws -> DataFrame {
        guard let indexFile = try c.manifestValue(name, "index").string else { throw BenchError("manifest \(name).index is not a file name") }
        let index = try lines(c.source(indexFile))
        guard let specs = try c.manifestValue(name, "columns").array else { throw BenchError("manifest \(name).columns is not a list") }
        var columns = OrderedDict<Column>()
        for spec in specs {
            guard let col = spec["name"]?.string, let kind = spec["kind"]?.string else {
                throw BenchError("manifest \(name).columns holds an entry without name or kind")
            }
            let file = spec["file"]?.string.map(c.source)
            switch kind {
            case "categorical":
                guard let codes = spec["codes"]?.string, let cats = spec["categories"]?.array else {
                    throw BenchError("categorical \(name).\(col) lacks codes or categories")
                }
                let names = try cats.map { v in
                    guard let s = v.string else { throw BenchError("a category of \(name).\(col) is not a string") }
                    return s
                }
                let codeArray = try fixed(.int8, BenchFiles.readFile(c.source(codes)))
                let categories = try NDArray(strings: names, shape: [names.count])
                columns[col] = .categorical(try Categorical(codes: codeArray, categories: categories))
            case "float32", "float64", "bool":
                guard let file else { throw BenchError("\(name).\(col) has no file") }
                let type: DataType = kind == "float32" ? .float32 : kind == "float64" ? .float64 : .bool
                columns[col] = .array(try fixed(type, BenchFiles.readFile(file)))
            case "string":
                guard let file else { throw BenchError("\(name).\(col) has no file") }
                columns[col] = .strings(try lines(file))
            default:
                throw BenchError("unknown column kind '\(kind)' of \(name).\(col)")
            }
        }
        let df = try DataFrame(index: index, columns: columns)
        guard df.rowCount == rows else { throw BenchError("\(name) has \(df.rowCount) rows, the manifest says \(rows)") }
        return df
    }
}
