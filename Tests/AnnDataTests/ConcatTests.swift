import Foundation
import Testing
@testable import AnnData
import Zarr

/// `LazyAnnData.concat` in the library: rows and genes against the stores' own values, the
/// alignment and stacking rules it is built on, and refusals before anything is written.
@Suite("Concat")
struct ConcatTests {
    @Test func joinsAlignAsPandasDoes() {
        let a = ["g2", "g1", "g3"], b = ["g3", "g2", "g9"]
        #expect(AnnDataCollection.Join.inner.aligned([a, b]) == ["g2", "g3"])
        #expect(AnnDataCollection.Join.outer.aligned([a, b]) == ["g1", "g2", "g3", "g9"])
        // Equal lists (also unsorted ones) stay as they are; an empty list leaves the other.
        #expect(AnnDataCollection.Join.outer.aligned([a, a, a]) == a)
        #expect(AnnDataCollection.Join.outer.aligned([[], a]) == a)
        #expect(AnnDataCollection.Join.inner.aligned([a, []]) == [])
        // Code point order: upper case before lower case, "é" after "z".
        #expect(AnnDataCollection.Join.outer.aligned([["b", "é"], ["B", "z"]]) == ["B", "b", "z", "é"])
    }

    @Test func naturalOrderIsNatsorts() {
        #expect(NaturalOrder.natsorted(["c10", "c2", "c1", "b", "a10b", "a9b", "10", "9"]) == ["9", "10", "a9b", "a10b", "b", "c1", "c2", "c10"])
    }

    @Test func promotionFollowsNumpy() {
        #expect(NumericPromotion.common(.int32, .int64) == .int64)
        #expect(NumericPromotion.common(.uint8, .int8) == .int16)
        #expect(NumericPromotion.common(.int16, .float32) == .float32)
        #expect(NumericPromotion.common(.int32, .float32) == .float64)
        #expect(NumericPromotion.common(.bool, .uint16) == .uint16)
        #expect(NumericPromotion.common(.uint64, .int64) == .float64)
        #expect(NumericPromotion.common(.string, .int64) == nil)
    }

    @Test func columnsStackWithMissingBlocks() throws {
        let ints = Column.array(try NDArray([Int32(1), 2], shape: [2]))
        let stacked = try Column.stacking([ints, nil], counts: [2, 1], path: "obs/x")
        guard case .array(let a) = stacked else { Issue.record("not an array: \(stacked)"); return }
        #expect(a.dataType == .float64)
        let v = try a.doubles()
        #expect(v[0] == 1 && v[1] == 2 && v[2].isNaN)
        let bools = Column.array(try NDArray([true, false], shape: [2]))
        guard case .nullableBoolean(let n) = try Column.stacking([nil, bools], counts: [1, 2], path: "obs/b") else { Issue.record("not nullable"); return }
        #expect(n.mask == [true, false, false])
        #expect(try Column.stacking([.strings(["a"]), nil], counts: [1, 1], path: "obs/s") == .strings(["a", "nan"]))
        // Categoricals: the first's order when it holds every category, else natsort's union.
        let c1 = try Categorical(codes: [0, 1], categories: ["z", "a"]), c2 = try Categorical(codes: [0], categories: ["a"])
        guard case .categorical(let k) = try Column.stacking([.categorical(c1), .categorical(c2)], counts: [2, 1], path: "obs/c") else { return }
        #expect(try k.categories.strings() == ["z", "a"] && k.codeValues == [0, 1, 1])
        let c3 = try Categorical(codes: [0, -1], categories: ["c10"]), c4 = try Categorical(codes: [0], categories: ["c9"])
        guard case .categorical(let m) = try Column.stacking([.categorical(c3), .categorical(c4), nil], counts: [2, 1, 2], path: "obs/c") else { return }
        #expect(try m.categories.strings() == ["c9", "c10"] && m.codeValues == [1, -1, 0, -1, -1])
        // Numeric categories: the union in numeric order.
        let n1 = try Categorical(codes: try NDArray([Int8(0), 1], shape: [2]), categories: try NDArray([Int64(20), 10], shape: [2]))
        let n2 = try Categorical(codes: try NDArray([Int8(0)], shape: [1]), categories: try NDArray([Int64(5)], shape: [1]))
        guard case .categorical(let nk) = try Column.stacking([.categorical(n1), .categorical(n2)], counts: [2, 1], path: "obs/n") else { return }
        #expect(try nk.categories.values(as: Int64.self) == [5, 10, 20] && nk.codeValues == [2, 1, 0])
        // Kinds pandas would turn into Python objects are refused, naming the column.
        #expect(throws: AnnDataError.self) { try Column.stacking([bools, ints], counts: [2, 2], path: "obs/mixed") }
        let ordered = try Categorical(codes: [0], categories: ["lo", "hi"], ordered: true)
        let other = try Categorical(codes: [0], categories: ["hi", "lo"], ordered: true)
        #expect(throws: AnnDataError.self) { try Column.stacking([.categorical(ordered), .categorical(other)], counts: [1, 1], path: "obs/o") }
    }

    @Test func matricesStackRowsAlignedByGene() async throws {
        let g1 = ["a", "b", "c", "d"], g2 = ["c", "e", "a"]
        for (dense, join) in [(false, AnnDataCollection.Join.inner), (false, .outer), (true, .inner), (true, .outer)] {
            let (s1, v1) = try await AnnDataCollectionTests.store(1, rows: 40, genes: g1, dense: dense)
            let (s2, v2) = try await AnnDataCollectionTests.store(2, rows: 25, genes: g2, dense: dense)
            let members = [try await LazyAnnData.open(s1), try await LazyAnnData.open(s2)]
            let out = MemoryStore()
            var options = WriteOptions()
            options.sharding = .off
            try await LazyAnnData.concat(members, to: out, options: ConcatOptions(join: join, label: "from", keys: ["one", "two"], indexUnique: "-"),
                                         writeOptions: options)
            let back = try await AnnData.read(from: out)
            let names = join.aligned([g1, g2])
            #expect(try back.var.indexValues == names.map { Optional($0) })
            #expect(back.obs.indexValues.first == "s1c0-one" && back.obs.indexValues.last == "s2c24-two")
            guard case .categorical(let label)? = back.obs.columns["from"] else { Issue.record("no label column"); continue }
            #expect(label.codeValues == Array(repeating: 0, count: 40) + Array(repeating: 1, count: 25))
            let x = try #require(back.X)
            if case .sparse(let s) = x { #expect(!dense && s.format == .csr) } else { #expect(dense) }
            let expected = AnnDataCollectionTests.expected([(v1, g1), (v2, g2)], names: names, nan: dense)
            let d = try x.toDense(), cols = names.count
            let flat = try d.doubles().map { Float($0) }
            let got = (0..<65).map { Array(flat[($0 * cols)..<(($0 + 1) * cols)]) }
            #expect(AnnDataCollectionTests.same(got, expected), "dense \(dense) \(join)")
            if dense && join == .outer { #expect(try x.toDense().dataType == .float64) }
        }
    }

    @Test func refusalsComeBeforeAnyWrite() async throws {
        let (s1, _) = try await AnnDataCollectionTests.store(1, rows: 5, genes: ["a", "b"])
        let (s2, _) = try await AnnDataCollectionTests.store(2, rows: 5, genes: ["a"], dense: true)
        let members = [try await LazyAnnData.open(s1), try await LazyAnnData.open(s2)]
        let out = MemoryStore()
        await #expect(throws: AnnDataError.self) { try await LazyAnnData.concat([], to: out) }
        await #expect(throws: AnnDataError.self) { try await LazyAnnData.concat(members, to: out, options: ConcatOptions(keys: ["x"])) }
        await #expect(throws: AnnDataError.self) { try await LazyAnnData.concat(members, to: out, options: ConcatOptions(label: "k", keys: ["x", "x"])) }
        #expect(try await out.list(prefix: "").isEmpty)
        // A sparse and a dense X stack as CSR (anndata makes the dense part sparse).
        try await LazyAnnData.concat(members, to: out, options: ConcatOptions(join: .outer))
        let back = try await AnnData.read(from: out)
        guard case .sparse(let s)? = back.X else { Issue.record("expected CSR"); return }
        #expect(s.shape == [10, 2])
    }
}
