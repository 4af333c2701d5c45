import AnnData
import Synchronization
import Testing
import Zarr

/// Lazy access: opening reads metadata only, row slices read only the chunks they need and
/// equal the eager read, and minibatches stream in order with bounded prefetch.
@Suite("Lazy access and minibatches")
struct LazyTests {
    /// A listable store over `base` that counts the gets of keys under `counted`.
    final class CountingStore: ListableStore {
        let base: MemoryStore
        let counted: String
        let gets = Mutex<[String]>([])
        init(_ base: MemoryStore, counting prefix: String = "") { self.base = base; counted = prefix }
        var storeDescription: String { "counting-store" }
        func note(_ key: String) { if key.hasPrefix(counted) { gets.withLock { $0.append(key) } } }
        func get(_ key: String) async throws -> [UInt8]? { note(key); return try await base.get(key) }
        func get(_ key: String, range: ByteRange) async throws -> [UInt8]? { note(key); return try await base.get(key, range: range) }
        func list(prefix: String) async throws -> [String] { try await base.list(prefix: prefix) }
        func listDirectory(_ prefix: String) async throws -> StoreListing { try await base.listDirectory(prefix) }
        var count: Int { gets.withLock { $0.count } }
    }

    /// A store whose X is the CSR matrix of `rows` x `cols` with the (column, value) entries
    /// `entries(r)` in row `r` (columns sorted), written in chunks of 100 values; and that matrix.
    static func chunkedCSRStore(rows: Int, cols: Int, entries: (Int) -> [(Int, Float)]) async throws -> (MemoryStore, SparseMatrix) {
        var data: [Float] = [], indices: [Int32] = [], indptr: [Int64] = [0]
        for r in 0..<rows {
            for (c, v) in entries(r) { data.append(v); indices.append(Int32(c)) }
            indptr.append(Int64(data.count))
        }
        let X = try SparseMatrix(format: .csr, shape: [rows, cols], data: try NDArray(data, shape: [data.count]),
                                 indices: try NDArray(indices, shape: [indices.count]), indptr: try NDArray(indptr, shape: [indptr.count]))
        let adata = try AnnData(X: .sparse(X), obs: try DataFrame(index: (0..<rows).map { "c\($0)" }),
                                var: try DataFrame(index: (0..<cols).map { "g\($0)" }))
        let base = MemoryStore()
        var options = WriteOptions()
        options.dispatch = { path, _, _ in path == "X" ? .writeWith(ArrayOverrides(chunks: [100])) : .write }
        try await adata.write(to: base, options: options)
        return (base, X)
    }

    /// Rows `range` of an eager matrix.
    static func rows(_ m: Matrix, _ range: Range<Int>) throws -> Matrix {
        switch m {
        case .dense(let a):
            let width = a.shape.dropFirst().reduce(1, *), size = a.dataType.itemSize ?? 0
            let bytes = Array(a.bytes[(range.lowerBound * width * size)..<(range.upperBound * width * size)])
            return .dense(try NDArray(dataType: a.dataType, shape: [range.count] + a.shape.dropFirst(), storage: .fixed(bytes)))
        case .sparse(let s):
            let dense = try s.toDense()
            let width = s.shape[1], size = dense.dataType.itemSize ?? 0
            return .dense(try NDArray(dataType: dense.dataType, shape: [range.count, width],
                                      storage: .fixed(Array(dense.bytes[(range.lowerBound * width * size)..<(range.upperBound * width * size)]))))
        }
    }

    static func dense(_ m: Matrix) throws -> NDArray {
        switch m {
        case .dense(let a): return a
        case .sparse(let s): return try s.toDense()
        }
    }

    @Test(arguments: [Variant.dense, .csr])
    func rowSlicesOfPythonStoresEqualTheEagerRead(_ variant: Variant) async throws {
        let dir = try await Fixtures.shared.directory(.a13, ["--variant", "all", "--extras"])
        let store = LocalStore(root: dir.appendingPathComponent(variant.fileName).path)
        let eager = try await AnnData.read(from: store)
        let lazy = try await LazyAnnData.open(store)
        #expect(lazy.nObs == eager.nObs && lazy.nVars == eager.nVars)
        #expect(lazy.layers.keys.sorted() == eager.layers.keys.sorted())
        let X = try #require(lazy.X), eagerX = try #require(eager.X)
        for range in [0..<1, 5..<17, 33..<40, 12..<12] {
            let got = try await X.rows(range)
            #expect(try Self.dense(got) == Self.dense(try Self.rows(eagerX, range)), "X rows \(range)")
            if case .sparse(let s) = eagerX, case .sparse(let g) = got {
                #expect(g.format == .csr && g.indices.dataType == s.indices.dataType && g.indptr.dataType == s.indptr.dataType)
            }
        }
        let layer = try #require(lazy.layers["sparse_csr"])
        #expect(try Self.dense(try await layer.rows(3..<9)) == Self.dense(try Self.rows(try #require(eager.layers["sparse_csr"]), 3..<9)))
        #expect(try await lazy.obs.load() == eager.obs)
        #expect(try await lazy.element("uns/nested") == eager.uns["nested"])
        // Row selections in any order, with repeats: the same rows as the eager matrix.
        let picks = [39, 0, 7, 7, 8, 9, 21, 3]
        let picked = try await X.rows(picks)
        var expected: [UInt8] = []
        for r in picks { expected += try Self.dense(try Self.rows(eagerX, r..<(r + 1))).bytes }
        #expect(try Self.dense(picked).bytes == expected && picked.shape == [picks.count, lazy.nVars])
        #expect(try await X.rows([Int]()).shape == [0, lazy.nVars])
        await #expect(throws: AnnDataError.self) { _ = try await X.rows([0, 40]) }
        // CSC rows: every column's span is read and filtered; the result stays CSC.
        let csc = try #require(lazy.layers["sparse_csc"]), eagerCSC = try #require(eager.layers["sparse_csc"])
        let cscRows = try await csc.rows(0..<2)
        #expect(try Self.dense(cscRows) == Self.dense(try Self.rows(eagerCSC, 0..<2)))
        if case .sparse(let m) = cscRows { #expect(m.format == .csc) } else { Issue.record("CSC rows are not sparse") }
        #expect(try Self.dense(try await csc.rows([1])) == Self.dense(try Self.rows(eagerCSC, 1..<2)))
        await #expect(throws: AnnDataError.self) { _ = try await X.rows(30..<41) }
    }

    @Test func minibatchesCoverTheRowsInOrder() async throws {
        let dir = try await Fixtures.shared.directory(.a12, ["--variant", "all", "--extras"])
        let store = LocalStore(root: dir.appendingPathComponent(Variant.csr.fileName).path)
        let eagerX = try #require(try await AnnData.read(from: store).X)
        let X = try #require(try await LazyAnnData.open(store).X)
        var next = 0
        for try await batch in try X.batches(size: 7, prefetch: 3) {
            #expect(batch.rows.lowerBound == next && batch.rows.count == min(7, 40 - next))
            #expect(try Self.dense(batch.matrix) == Self.dense(try Self.rows(eagerX, batch.rows)))
            next = batch.rows.upperBound
        }
        #expect(next == 40)
        var seen: [Range<Int>] = []
        for try await batch in try X.batches([30..<40, 0..<5, 5..<6]) { seen.append(batch.rows) }
        #expect(seen == [30..<40, 0..<5, 5..<6])
        #expect(throws: AnnDataError.self) { _ = try X.batches(size: 0) }
        #expect(throws: AnnDataError.self) { _ = try X.batches([0..<41]) }
    }

    /// 2,000 rows, 5 values each, in chunks of 100 values: a slice of two rows reads one chunk
    /// of each array; a slow consumer holds the prefetch at its bound.
    @Test func slicesReadOnlyTheirChunksAndPrefetchIsBounded() async throws {
        let (base, _) = try await Self.chunkedCSRStore(rows: 2000, cols: 50) { r in
            (0..<5).map { (r + 7 * $0) % 50 }.sorted().enumerated().map { ($1, Float(r * 5 + $0)) }
        }

        let store = CountingStore(base, counting: "X/")
        let lazy = try await LazyAnnData.open(store)
        func chunkReads(from start: Int = 0, _ array: String = "") -> [String] {
            store.gets.withLock { $0.dropFirst(start).filter { $0.contains("/c/") && $0.hasPrefix("X/" + array) } }
        }
        #expect(chunkReads().isEmpty, "opening reads metadata only: \(store.gets.withLock { $0 })")
        let m = try await #require(lazy.X).rows(10..<12)
        guard case .sparse(let s) = m else { Issue.record("not sparse"); return }
        #expect(try s.data.values(as: Float.self) == (50..<60).map(Float.init))
        #expect(chunkReads().sorted() == ["X/data/c/0", "X/indices/c/0", "X/indptr/c/0"], "\(store.gets.withLock { $0 })")
        // Scattered rows: rows 500 and 1990 are far apart, so two spans (chunks 25 and 99 of
        // data); rows 1000 and 1001 share chunk 50.
        var before = store.count
        let scattered = try await #require(lazy.X).rows([1990, 500, 1000, 1001])
        guard case .sparse(let g) = scattered else { Issue.record("not sparse"); return }
        #expect(try g.data.values(as: Float.self) == [1990, 500, 1000, 1001].flatMap { r in (0..<5).map { Float(r * 5 + $0) } })
        #expect(chunkReads(from: before, "data/").sorted() == ["X/data/c/25", "X/data/c/50", "X/data/c/99"])

        // Prefetch 2, batches of 100 rows (500 values: 5 chunks of data each): after the first
        // batch and a pause, exactly two batches have been read (10 data chunks), not all 20.
        before = store.count
        var iterator = try #require(lazy.X).batches(size: 100, prefetch: 2).makeAsyncIterator()
        let first = try await iterator.next()
        #expect(first?.rows == 0..<100)
        try await Task.sleep(for: .milliseconds(300))
        let dataReads = chunkReads(from: before, "data/")
        #expect(dataReads.sorted() == (0..<10).map { "X/data/c/\($0)" }.sorted(), "\(dataReads)")
    }

    /// A sparse matrix whose indptr is not integer, or whose arrays disagree with its shape, is
    /// a typed error naming it when opened lazily, never a crash later.
    @Test func badSparseLayoutsAreTypedErrors() async throws {
        for (array, metadata) in [
            ("indptr", ArrayMetadata(shape: [5], chunkShape: [5], dataType: .float64)),
            ("indptr", ArrayMetadata(shape: [9], chunkShape: [9], dataType: .int64)),
            ("indices", ArrayMetadata(shape: [1], chunkShape: [1], dataType: .int32)),
        ] {
            let store = MemoryStore()
            try await Small.make().write(to: store, options: WriteOptions(consolidate: false))
            try await ZarrArray.create(store, path: "layers/sparse/" + array, metadata: metadata)
            await #expect {
                _ = try await LazyAnnData.open(store)
            } throws: { error in
                (error as? AnnDataError)?.path == "layers/sparse"
            }
        }
    }
}
