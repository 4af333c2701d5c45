import Foundation
import Synchronization
import Testing
@testable import AnnData
import Zarr

/// `LazyAnnData.append`: rows land after the destination's, only in place; refusals write
/// nothing; an interrupted append is reported and completed by running it again.
@Suite("Append")
struct AppendTests {
    /// A memory store that fails the `failAt`-th metadata write (`zarr.json`), for interrupting
    /// an append in the middle of its metadata phase.
    final class FailingStore: WritableStore, ListableStore {
        let base: MemoryStore
        let failAt: Int
        let metadataWrites = Mutex(0)
        init(_ base: MemoryStore, failAt: Int) { self.base = base; self.failAt = failAt }
        var storeDescription: String { "failing-store" }
        func get(_ key: String) async throws -> [UInt8]? { try await base.get(key) }
        func get(_ key: String, range: ByteRange) async throws -> [UInt8]? { try await base.get(key, range: range) }
        func list(prefix: String) async throws -> [String] { try await base.list(prefix: prefix) }
        func listDirectory(_ prefix: String) async throws -> StoreListing { try await base.listDirectory(prefix) }
        func set(_ key: String, _ value: [UInt8]) async throws {
            if key.hasSuffix("zarr.json") {
                let n = metadataWrites.withLock { $0 += 1; return $0 }
                if n == failAt { throw ZarrError.io(key: key, reason: "power cut (injected)") }
            }
            try await base.set(key, value)
        }
        func delete(_ key: String) async throws { try await base.delete(key) }
        func deletePrefix(_ prefix: String) async throws { try await base.deletePrefix(prefix) }
    }

    /// `rows` cells over genes a, b, c (CSR X in chunks of 16 values, a dense layer in chunks of
    /// 7 rows, categorical and numeric obs columns), cells named `prefix0`, `prefix1`, ...
    static func store(_ prefix: String, rows: Int, categories: [String] = ["x", "y", "z"]) async throws -> MemoryStore {
        let (s, _) = try await AnnDataCollectionTests.store(prefix == "a" ? 1 : 2, rows: rows, genes: ["a", "b", "c"])
        var adata = try await AnnData.read(from: s)
        adata.obs = try DataFrame(index: (0..<rows).map { "\(prefix)\($0)" })
        adata.obs.columns["kind"] = .categorical(try Categorical(codes: (0..<rows).map { $0 % categories.count }, categories: categories))
        adata.obs.columns["n"] = .array(try NDArray((0..<rows).map { Int64($0) }, shape: [rows]))
        adata.layers["dense"] = .dense(try NDArray((0..<(rows * 3)).map { Float($0) }, shape: [rows, 3]))
        let out = MemoryStore()
        var options = WriteOptions()
        options.sharding = .off
        options.dispatch = { path, _, _ in
            path == "X" ? .writeWith(ArrayOverrides(chunks: [16])) : path == "layers/dense" ? .writeWith(ArrayOverrides(chunks: [7, 3])) : .write
        }
        try await adata.write(to: out, options: options)
        return out
    }

    /// What an append must give: both stores' rows, the destination's categories.
    static func expected(_ dst: AnnData, _ src: AnnData) throws -> (X: [Float], names: [String?], layer: [Float]) {
        func values(_ m: Matrix?) throws -> [Float] { try #require(m).toDense().values(as: Float.self) }
        return (try values(dst.X) + values(src.X), dst.obs.indexValues + src.obs.indexValues,
                try values(dst.layers["dense"]) + values(src.layers["dense"]))
    }

    @Test func rowsLandAfterTheDestinationsInPlace() async throws {
        let dst = try await Self.store("a", rows: 30), src = try await Self.store("b", rows: 23, categories: ["z", "x"])
        let before = try await AnnData.read(from: dst), added = try await AnnData.read(from: src)
        try await LazyAnnData.append(try await LazyAnnData.open(src), to: dst)
        try await LazyAnnData.append(try await LazyAnnData.open(src), to: dst)
        let after = try await AnnData.read(from: dst)
        let once = try Self.expected(before, added)
        #expect(after.X?.shape == [76, 3])
        #expect(try #require(after.X).toDense().values(as: Float.self) == once.X + (try #require(added.X).toDense().values(as: Float.self)))
        #expect(after.obs.indexValues == once.names + added.obs.indexValues)
        #expect(try #require(after.layers["dense"]).toDense().values(as: Float.self) == once.layer + (try #require(added.layers["dense"]).toDense().values(as: Float.self)))
        // Categories stay the destination's; the source's codes are mapped onto them.
        guard case .categorical(let k)? = after.obs.columns["kind"] else { Issue.record("kind is not categorical"); return }
        #expect(try k.categories.strings() == ["x", "y", "z"])
        #expect(Array(k.codeValues.suffix(4)) == [0, 2, 0, 2])  // source rows 19...22: x z x z
        #expect(await validate(dst).isEmpty)
        // Consolidated metadata matches the nodes.
        let lazy = try await LazyAnnData.open(dst)
        #expect(lazy.nObs == 76)
    }

    @Test func misfitsAreRefusedBeforeAnyWrite() async throws {
        let dst = try await Self.store("a", rows: 10)
        let before = try await dst.list(prefix: "").sorted()
        let snapshot = try await AnnData.read(from: dst)
        // A category the destination lacks; other genes.
        let newCategory = try await Self.store("b", rows: 5, categories: ["x", "w"])
        await #expect(throws: AnnDataError.self) { try await LazyAnnData.append(try await LazyAnnData.open(newCategory), to: dst) }
        let (otherGenes, _) = try await AnnDataCollectionTests.store(3, rows: 4, genes: ["a", "c", "b"])
        await #expect(throws: AnnDataError.self) { try await LazyAnnData.append(try await LazyAnnData.open(otherGenes), to: dst) }
        #expect(try await dst.list(prefix: "").sorted() == before)
        #expect(try await AnnData.read(from: dst) == snapshot)
    }

    @Test func anInterruptedAppendIsReportedAndCompletedByARerun() async throws {
        let src = try await Self.store("b", rows: 23)
        let reference = try await Self.store("a", rows: 30)
        try await LazyAnnData.append(try await LazyAnnData.open(src), to: reference)
        let complete = try await AnnData.read(from: reference)
        // Fail at every metadata write of the append in turn (1: the marker, then the arrays').
        var failAt = 1
        while true {
            let base = try await Self.store("a", rows: 30)
            let old = try await AnnData.read(from: base)
            let failing = FailingStore(base, failAt: failAt)
            do {
                try await LazyAnnData.append(try await LazyAnnData.open(src), to: failing)
                break  // no metadata write was left to fail
            } catch {}
            // Readers see the store as before, or are told that it is incomplete: the consolidated
            // metadata (written last) still describes the old store, and a reader that checks it
            // against the nodes refuses; validate reports the interrupted append.
            let problems = await validate(base)
            if failAt > 1 { #expect(problems.contains { $0.contains("append of 23 cells after 30 was interrupted") }, "failure at \(failAt): \(problems)") }
            do {
                // (A failure at the very last write, the marker's removal, leaves the new data.)
                let seen = try await AnnData.read(from: base)
                #expect(seen == old || seen == complete, "failure at metadata write \(failAt)")
            } catch {
                #expect(failAt > 1 && "\(error)".contains("consolidated metadata disagrees"), "failure at \(failAt): \(error)")
            }
            // ... and running it again completes it.
            try await LazyAnnData.append(try await LazyAnnData.open(src), to: base)
            #expect(try await AnnData.read(from: base) == complete, "rerun after failure at metadata write \(failAt)")
            #expect(await validate(base).isEmpty)
            failAt += 1
        }
        #expect(failAt > 5, "the append wrote too few metadata documents to interrupt: \(failAt)")
    }
}
