import Zarr
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The dense workloads of `peers.py` on `stores/dense_{zstd,shard,blosc}.zarr` (a float32 array
/// at the store root).
///
///   dense-write       input src/dense.f32 loaded before the timer; timed: create the array with
///                     the variant's codecs and layout, write everything (no fsync).
///   dense-read-full   timed: open, read the whole array.
///   dense-read-rows   timed: open, read the sorted rows sel.dense_rows_1000 (all columns).
///   dense-read-slice  timed: open, read rows [s, s+L) (all columns).
enum DenseWorkloads {
    static let variants = ["zstd", "shard", "blosc"]

    static let all: [BenchWorkload] = [
        BenchWorkload(name: "dense-write", variants: variants,
                      summary: "create + write src/dense.f32 with the variant's codecs", run: write),
        BenchWorkload(name: "dense-read-full", variants: variants,
                      summary: "open + read the whole dense array", run: readFull),
        BenchWorkload(name: "dense-read-rows", variants: variants,
                      summary: "open + read 1000 sorted rows (sel.dense_rows_1000)", run: readRows),
        BenchWorkload(name: "dense-read-slice", variants: variants,
                      summary: "open + read rows [dense_slice_start, +dense_slice_len)", run: readSlice),
    ]

    static func storePath(_ c: BenchContext) -> String { c.store("dense_\(c.variant).zarr") }

    // MARK: - reads

    @Sendable static func readFull(_ c: BenchContext) async throws -> BenchResult {
        let path = storePath(c)
        let (out, secs) = try await BenchClock.time {
            let a = try await ZarrArray.open(c.readableStore(path))
            return try await a.read(nil, options: c.options)
        }
        return try readResult(out, secs, store: path)
    }

    @Sendable static func readSlice(_ c: BenchContext) async throws -> BenchResult {
        let path = storePath(c)
        let s = try BenchContext.int(c.selection("dense_slice_start"), "dense_slice_start")
        let n = try BenchContext.int(c.selection("dense_slice_len"), "dense_slice_len")
        let (out, secs) = try await BenchClock.time {
            let a = try await ZarrArray.open(c.readableStore(path))
            return try await a.read([s..<(s + n), 0..<a.shape[1]], options: c.options)
        }
        return try readResult(out, secs, store: path)
    }

    @Sendable static func readRows(_ c: BenchContext) async throws -> BenchResult {
        let path = storePath(c)
        let rows = try BenchContext.ints(c.selection("dense_rows_1000"), "dense_rows_1000")
        let (out, secs) = try await BenchClock.time {
            let a = try await ZarrArray.open(c.readableStore(path))
            return try await a.read([.indices(rows), .all], options: c.options)
        }
        return try readResult(out, secs, store: path)
    }

    static func readResult(_ out: NDArray, _ secs: Double, store: String) throws -> BenchResult {
        BenchResult(seconds: secs, bytes: out.bytes.count,
                    check: BenchCheck.array(shape: out.shape, sum: try BenchCheck.sum(out)),
                    extra: ["store_bytes": .integer(BenchFiles.diskUsage(store))])
    }

    // MARK: - write

    @Sendable static func write(_ c: BenchContext) async throws -> BenchResult {
        let shape = try BenchContext.ints(c.manifestValue("dense", "shape"), "dense.shape")
        let file = try c.manifestValue("dense", "file").string ?? "dense.f32"
        let metadata = try metadata(c, shape: shape)
        let values = try NDArray(dataType: .float32, shape: shape, storage: .fixed(BenchFiles.readFile(c.source(file))))
        let out = BenchFiles.join(c.scratch, "dense_\(c.variant)_swift-anndata.zarr")
        try BenchFiles.remove(out)
        try BenchFiles.makeDirectories(c.scratch)
        let options = c.options
        let ((), secs) = try await BenchClock.time {
            let a = try await ZarrArray.create(LocalStore(root: out), path: "", metadata: metadata)
            try await a.write(all: values, options: options)
        }
        let disk = BenchFiles.diskUsage(out)
        if !c.keep { try BenchFiles.remove(out) }
        return BenchResult(seconds: secs, bytes: values.bytes.count,
                           check: BenchCheck.array(shape: shape, sum: BenchCheck.sumFloat32(values.bytes)),
                           extra: ["disk_bytes": .integer(disk)])
    }

    /// The metadata `peers.py` gives the variant's store (`ts_dense_spec` / `dense_write_zarr`).
    static func metadata(_ c: BenchContext, shape: [Int]) throws -> ArrayMetadata {
        let chunk = try BenchContext.ints(c.manifestValue("dense", "layout", "chunk"), "dense.layout.chunk")
        let inner = CodecSpec.defaultChain(for: .float32, compressor: .zstd(level: 0, checksum: false))
        switch c.variant {
        case "zstd":
            return ArrayMetadata(shape: shape, chunkShape: chunk, dataType: .float32, codecs: inner)
        case "blosc":
            let blosc = CodecSpec.blosc(cname: "lz4", clevel: 5, shuffle: .byteShuffle, typesize: 4, blocksize: 0)
            return ArrayMetadata(shape: shape, chunkShape: chunk, dataType: .float32, codecs: CodecSpec.defaultChain(for: .float32, compressor: blosc))
        case "shard":
            let shard = try BenchContext.ints(c.manifestValue("dense", "layout", "shard"), "dense.layout.shard")
            return ArrayMetadata(shape: shape, chunkShape: shard, dataType: .float32, codecs: [.sharding(chunkShape: chunk, codecs: inner)])
        default:
            throw BenchError("unknown dense variant '\(c.variant)'")
        }
    }
}
