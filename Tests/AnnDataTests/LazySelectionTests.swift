import AnnData
import Foundation
import Synchronization
import Testing
import Zarr

/// Lazy selections equal eager ones: for every element kind of the Python-written kitchen
/// sinks (anndata 0.12 and 0.13, Zarr v2 and v3, sharded and not, dense/CSR/CSC/empty X),
/// every selection form on both axes gives, through `LazyAnnDataView.load()` and through
/// `write(to:)` read back, what the eager read followed by `AnnData.subset(obs:var:)` gives;
/// and the chunk-level costs the issue promises hold (queries read only their columns, a
/// column of a CSR matrix reads each chunk at most once).
@Suite("Lazy selections")
struct LazySelectionTests {
    /// The fixture sets: which Python, which `make` arguments.
    static let sets: [(Python, [String])] = [
        (.a13, ["--variant", "all", "--extras"]), (.a12, ["--variant", "all", "--extras"]),
        (.a13, ["--variant", "all", "--format", "2"]), (.a13, ["--variant", "all", "--shard"]),
    ]

    /// Every selection form over an axis of `labels`, with the positions it means (computed
    /// here, independently of the library).
    static func forms(_ labels: [String]) -> [(AxisSelection, [Int]?)] {
        let n = labels.count
        var out: [(AxisSelection, [Int]?)] = [(.all, nil), (.range(0..<0), [])]
        if n >= 8 { out.append((.range(3..<(n - 4)), Array(3..<(n - 4)))) }
        let picks = n == 0 ? [] : [n - 1, 2 % n, 2 % n, 0, n / 2]
        out.append((.indices(picks), picks))
        let mask = (0..<n).map { $0 % 3 != 1 }
        out.append((.mask(mask), (0..<n).filter { mask[$0] }))
        let named = Array(stride(from: n - 1, through: 0, by: -4))
        out.append((.names(named.map { labels[$0] }), named))
        return out
    }

    @Test(arguments: 0..<4)
    func everySelectionOfEveryFixtureEqualsTheEagerSubset(_ set: Int) async throws {
        let (python, args) = Self.sets[set]
        let dir = try await Fixtures.shared.directory(python, args)
        for variant in Variant.allCases {
            let store = LocalStore(root: dir.appendingPathComponent(variant.fileName).path)
            let eager = try await AnnData.read(from: store)
            let lazy = try await LazyAnnData.open(store)
            #expect(lazy.nObs == eager.nObs && lazy.nVars == eager.nVars)
            let obsForms = Self.forms(eager.obs.indexValues.map { $0 ?? "" })
            let varForms = Self.forms(eager.var.indexValues.map { $0 ?? "" })
            for (o, op) in obsForms {
                for (v, vp) in varForms {
                    let expected = try eager.subset(obs: op, var: vp)
                    let got = try await lazy.select(obs: o, var: v).load()
                    let diff = Compare.anndata(got, expected)
                    #expect(diff.isEmpty, "\(python) \(args) \(variant) obs \(o) var \(v): \(diff.prefix(5))")
                }
            }
        }
    }

    @Test(arguments: [WriteOptions(), WriteOptions(zarrFormat: .v2, compressor: .blosc), WriteOptions(sharding: .auto(targetBytes: 4096))])
    func writtenViewsReadBackAsTheEagerSubset(_ options: WriteOptions) async throws {
        let dir = try await Fixtures.shared.directory(.a13, ["--variant", "all", "--extras"])
        for variant in Variant.allCases {
            let store = LocalStore(root: dir.appendingPathComponent(variant.fileName).path)
            let eager = try await AnnData.read(from: store)
            let lazy = try await LazyAnnData.open(store)
            let n = eager.nObs, m = eager.nVars
            let obsPicks = (0..<n).filter { $0 % 5 != 2 }.reversed().map { $0 }, varPicks = n == 0 ? [Int]() : [m - 1, 0, 3, 3, 17]
            for (o, op, v, vp) in [(AxisSelection.indices(obsPicks), Optional(obsPicks), AxisSelection.indices(varPicks), Optional(varPicks)),
                                   (.all, nil, .range(2..<9), Array(2..<9)), (.range(0..<0), [], .all, nil)] {
                let expected = try eager.subset(obs: op, var: vp)
                let out = MemoryStore()
                try await lazy.select(obs: o, var: v).write(to: out, options: options)
                let back = try await AnnData.read(from: out)
                let diff = Compare.anndata(back, expected)
                #expect(diff.isEmpty, "\(variant) \(options.zarrFormat) obs \(op?.count ?? n) var \(vp?.count ?? m): \(diff.prefix(5))")
                #expect(await AnnData.validate(out).isEmpty)
            }
        }
    }

    @Test func viewsComposeAndQueriesFollowTheViewOrder() async throws {
        let dir = try await Fixtures.shared.directory(.a13, ["--variant", "all", "--extras"])
        let store = LocalStore(root: dir.appendingPathComponent(Variant.csr.fileName).path)
        let eager = try await AnnData.read(from: store)
        let lazy = try await LazyAnnData.open(store)
        // A view of a view: positions compose.
        let first = try await lazy.select(obs: .indices([30, 1, 2, 9, 9, 20]), var: .range(5..<15))
        let second = try await first.select(obs: .indices([4, 0, 3]), var: .mask((0..<10).map { $0 % 2 == 0 }))
        #expect(second.obsPositions == [9, 30, 9] && second.varPositions == [5, 7, 9, 11, 13])
        let composed = try await second.load()
        #expect(Compare.anndata(composed, try eager.subset(obs: [9, 30, 9], var: [5, 7, 9, 11, 13])).isEmpty)
        // A query on a view keeps the view's order.
        let q = try Query(parsing: "int64 > -1000 and cat_unordered != 'NK'")
        let queried = try await first.obs(where: q)
        let int64 = try #require(eager.obs.columns["int64"]), cats = try #require(eager.obs.columns["cat_unordered"])
        guard case .array(let ints) = int64, case .categorical(let c) = cats else { Issue.record("fixture columns changed"); return }
        let values: [Int64] = try ints.values(), codes = c.codeValues, names = try c.categories.strings()
        let expected = [30, 1, 2, 9, 9, 20].filter { values[$0] > -1000 && codes[$0] >= 0 && names[codes[$0]] != "NK" }
        #expect(queried.obsPositions == expected)
        // Names must exist and be unique in the index.
        await #expect(throws: AnnDataError.self) { _ = try await lazy.select(obs: .names(["cell_000", "nope"])) }
        await #expect(throws: AnnDataError.self) { _ = try await lazy.select(obs: .mask([true])) }
        await #expect(throws: AnnDataError.self) { _ = try await lazy.select(var: .indices([25])) }
    }

    /// A query reads only the columns it names: every obs key fetched belongs to them.
    @Test func aQueryReadsOnlyTheColumnsItNames() async throws {
        let dir = try await Fixtures.shared.directory(.a13, ["--variant", "all", "--extras"])
        let base = MemoryStore()
        let eager = try await AnnData.read(from: LocalStore(root: dir.appendingPathComponent(Variant.dense.fileName).path))
        try await eager.write(to: base)
        let store = LazyTests.CountingStore(base, counting: "obs/")
        let lazy = try await LazyAnnData.open(store)
        store.gets.withLock { $0.removeAll() }
        let view = try await lazy.obs(where: try Query(parsing: "cat_ordered in ['low', 'high'] or `float64` < 0"))
        let keys = store.gets.withLock { $0 }
        #expect(!keys.isEmpty && view.nObs > 0)
        #expect(keys.allSatisfy { $0.hasPrefix("obs/cat_ordered/") || $0.hasPrefix("obs/float64/") }, "\(keys)")
        #expect(Set(keys).count == keys.count, "a key was fetched twice: \(keys)")
    }

    /// One column of a CSR matrix in chunks of 100 entries: `indptr` and `indices` are read
    /// whole, `data` only where the column has values, and no chunk twice.
    @Test func aColumnOfCSRReadsEachChunkAtMostOnce() async throws {
        let rows = 2000
        // Column 49 only in every 200th row: most data chunks hold none of it.
        let (base, X) = try await LazyTests.chunkedCSRStore(rows: rows, cols: 50) { r in
            ((r % 200 == 0 ? [49] : []) + (0..<4).map { (r + 7 * $0) % 40 }).sorted().map { ($0, Float(r * 100 + $0)) }
        }
        let data = X.data
        let store = LazyTests.CountingStore(base, counting: "X/")
        let lazyX = try #require(try await LazyAnnData.open(store).X)
        store.gets.withLock { $0.removeAll() }
        let column = try await lazyX.select(rows: nil, columns: [49])
        let keys = store.gets.withLock { $0 }
        #expect(Set(keys).count == keys.count, "a chunk was fetched twice")
        let dataKeys = keys.filter { $0.hasPrefix("X/data/") }, indexKeys = keys.filter { $0.hasPrefix("X/indices/") }
        let dataChunks = (data.count + 99) / 100
        #expect(indexKeys.count == dataChunks, "indices are read whole, once")
        #expect(dataKeys.count > 0 && dataKeys.count < dataChunks, "data only where column 49 has values: \(dataKeys.count) of \(dataChunks)")
        #expect(column == .sparse(try X.selecting(rows: nil, columns: [49])))
        guard case .sparse(let got) = column else { return }
        #expect(got.shape == [rows, 1] && got.nnz == rows / 200)
    }
}
