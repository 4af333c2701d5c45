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
            return try await RowGather.read(a, rows: rows, options: c.options)
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
        let bytes: JSONValue = ["name": "bytes", "configuration": ["endian": "little"]]
        let zstd: JSONValue = ["name": "zstd", "configuration": ["level": 0, "checksum": false]]
        let blosc: JSONValue = ["name": "blosc", "configuration": [
            "typesize": 4, "cname": "lz4", "clevel": 5, "shuffle": "shuffle", "blocksize": 0]]
        switch c.variant {
        case "zstd":
            return ArrayMetadata(shape: shape, chunkShape: chunk, dataType: .float32, codecs: [bytes, zstd])
        case "blosc":
            return ArrayMetadata(shape: shape, chunkShape: chunk, dataType: .float32, codecs: [bytes, blosc])
        case "shard":
            let shard = try BenchContext.ints(c.manifestValue("dense", "layout", "shard"), "dense.layout.shard")
            let sharding: JSONValue = ["name": "sharding_indexed", "configuration": [
                "chunk_shape": .integers(chunk), "codecs": [bytes, zstd],
                "index_codecs": [bytes, ["name": "crc32c"]], "index_location": "end"]]
            return ArrayMetadata(shape: shape, chunkShape: shard, dataType: .float32, codecs: [sharding])
        default:
            throw BenchError("unknown dense variant '\(c.variant)'")
        }
    }
}

/// An orthogonal selection of whole rows of a 2-d array, built from rectangular region reads:
/// the rows are grouped by the chunk row (the inner chunk row for sharded arrays) they fall in;
/// each group is read as the band from its first to its last selected row, split by columns
/// into pieces of whole chunk columns of at most `budget` bytes, and the selected rows are
/// copied out of each piece. Pieces are read concurrently (`options.codecThreads` at once, each
/// decoding on one thread), so the decoders never wait for one another between pieces and the
/// piece buffers stay small enough for malloc to reuse them rather than fault in fresh pages.
enum RowGather {
    static func read(_ a: ZarrArray, rows: [Int], options: ConcurrencyOptions, budget: Int = defaultBudget) async throws -> NDArray {
        guard a.shape.count == 2 else { throw BenchError("row selection needs a 2-d array, not rank \(a.shape.count)") }
        guard let item = a.dataType.itemSize else { throw BenchError("row selection needs a fixed-size type") }
        let (nRows, nCols) = (a.shape[0], a.shape[1])
        for (i, r) in rows.enumerated() {
            guard r >= 0, r < nRows else { throw BenchError("row \(r) is outside 0..<\(nRows)") }
            guard i == 0 || rows[i - 1] <= r else { throw BenchError("the rows must be sorted") }
        }
        var block = a.metadata.chunkShape
        if let s = a.chain.arrayToBytes as? ShardingCodec, a.chain.arrayToArray.isEmpty, a.chain.bytesToBytes.isEmpty {
            block = s.innerChunkShape
        }
        // Columns per piece: whole chunk columns, as many as the budget allows (at least one).
        let perChunkColumn = block[0] * block[1] * item
        let groupCols = min(nCols, max(1, budget / max(1, perChunkColumn)) * block[1])
        var pieces: [Piece] = []
        var i = 0
        while i < rows.count {
            let band = rows[i] / block[0]
            var j = i
            while j < rows.count, rows[j] / block[0] == band { j += 1 }
            for c0 in stride(from: 0, to: nCols, by: groupCols) {
                pieces.append(Piece(selected: i..<j, columns: c0..<min(nCols, c0 + groupCols)))
            }
            i = j
        }
        let rowBytes = nCols * item
        let total = rows.count * rowBytes
        // The tasks fill a raw buffer (an array's storage cannot be lent across awaits), which
        // is then copied into the result once.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 16)
        defer { buffer.deallocate() }
        let target = OutputPointer(base: buffer.baseAddress!)
        let pieceOptions = ConcurrencyOptions(codecThreads: 1, ioRequests: options.ioRequests)
        _ = try await Parallel.map(pieces, limit: options.codecThreads) { p in
            let lo = rows[p.selected.lowerBound], hi = rows[p.selected.upperBound - 1] + 1
            let part = try await a.read([lo..<hi, p.columns], options: pieceOptions)
            let w = p.columns.count * item
            part.bytes.withUnsafeBytes { src in
                guard let s = src.baseAddress else { return }
                for k in p.selected {
                    // Pieces write disjoint (row, column range) spans of the buffer.
                    (target.base + k * rowBytes + p.columns.lowerBound * item).copyMemory(from: s + (rows[k] - lo) * w, byteCount: w)
                }
            }
        }
        let out = [UInt8](unsafeUninitializedCapacity: total) { dst, n in
            if total > 0 { UnsafeMutableRawBufferPointer(dst).copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<total])) }
            n = total
        }
        return try NDArray(dataType: a.dataType, shape: [rows.count, nCols], storage: .fixed(out))
    }

    /// Bytes per piece; `ANNDATA_BENCH_ROW_PIECE_MIB` overrides it (for tuning).
    static var defaultBudget: Int {
        if let v = getenv("ANNDATA_BENCH_ROW_PIECE_MIB"), let m = Int(String(cString: v)), m > 0 { return m << 20 }
        return 4 << 20
    }

    struct Piece: Sendable {
        var selected: Range<Int>
        var columns: Range<Int>
    }

    /// The output buffer, shared by the piece tasks (each writes its own spans).
    struct OutputPointer: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
    }
}
