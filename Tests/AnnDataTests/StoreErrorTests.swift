import AnnData
import Testing
import Zarr

/// A store failure is an error, never an absent element: a store that answers "forbidden" for
/// some keys must not read as an AnnData without those elements.
@Suite("Store errors surface")
struct StoreErrorTests {
    /// A store over `base` whose reads of keys under `failing` throw (as a remote store does on
    /// an HTTP 403 or after its retries on 5xx are spent); it lists only when `listable`.
    final class FailingStore: ReadableStore {
        let base: MemoryStore
        let failing: String
        init(_ base: MemoryStore, failing: String) { self.base = base; self.failing = failing }
        var storeDescription: String { "failing-store" }
        func check(_ key: String) throws {
            if key.hasPrefix(failing) { throw ZarrError.io(key: key, reason: "HTTP 403 Forbidden (injected)") }
        }
        func get(_ key: String) async throws -> [UInt8]? { try check(key); return try await base.get(key) }
        func get(_ key: String, range: ByteRange) async throws -> [UInt8]? { try check(key); return try await base.get(key, range: range) }
    }

    /// The same, listing through the base store.
    final class FailingListableStore: ListableStore {
        let inner: FailingStore
        init(_ base: MemoryStore, failing: String) { inner = FailingStore(base, failing: failing) }
        var storeDescription: String { inner.storeDescription }
        func get(_ key: String) async throws -> [UInt8]? { try await inner.get(key) }
        func get(_ key: String, range: ByteRange) async throws -> [UInt8]? { try await inner.get(key, range: range) }
        func list(prefix: String) async throws -> [String] { try await inner.base.list(prefix: prefix) }
        func listDirectory(_ prefix: String) async throws -> StoreListing { try await inner.base.listDirectory(prefix) }
    }

    func written(consolidate: Bool = false) async throws -> MemoryStore {
        let store = MemoryStore()
        try await Small.make().write(to: store, options: WriteOptions(consolidate: consolidate))
        return store
    }

    @Test(arguments: ["X/", "raw/", "layers/"])
    func existsThrowsStoreErrorsAndReportsOnlyNotFoundAsAbsent(_ failing: String) async throws {
        let base = try await written()
        let store = FailingListableStore(base, failing: failing)
        let reader = ElementReader(store: store)  // no cache: every check reads the node
        let name = String(failing.dropLast())
        do {
            let found = try await reader.exists(name)
            Issue.record("exists(\(name)) must throw the store's error, returned \(found)")
        } catch {
            #expect(error.path == name, "\(error)")
            #expect(error.description.contains("403"), "\(error)")
        }
        #expect(try await reader.exists("obs"))
        #expect(try await !reader.exists("no-such-element"))
        // Reading the whole AnnData through that reader fails naming the element; before, X or
        // raw silently read as absent.
        do {
            let e = try await reader.read("")
            Issue.record("reading must fail when \(failing) is unreadable, got \(e.encodingType)")
        } catch {
            #expect(error.description.contains("403") && error.description.contains(name), "\(error)")
        }
    }

    @Test func validateReportsUnreadableElements() async throws {
        let base = try await written()
        let problems = await validate(FailingListableStore(base, failing: "layers/sparse/"))
        #expect(problems.contains { $0.contains("403") }, "\(problems)")
        #expect(!problems.isEmpty)
    }

    @Test func aStoreThatCannotListAndIsNotConsolidatedIsRefused() async throws {
        let base = try await written(consolidate: false)
        let store = FailingStore(base, failing: "nothing-fails/")
        let expected = "the store failing-store cannot list its keys and has no consolidated metadata"
        do {
            _ = try await AnnData.read(from: store)
            Issue.record("reading an unlistable, unconsolidated store must fail")
        } catch {
            #expect(error.description.contains(expected), "\(error)")
        }
        let problems = await validate(store)
        #expect(problems.count == 1 && problems.first?.contains(expected) == true, "\(problems)")
        do {
            _ = try await StoreSummary.read(store)
            Issue.record("summarising an unlistable, unconsolidated store must fail")
        } catch {
            #expect(error.description.contains(expected), "\(error)")
        }
        // With consolidated metadata the same store reads and validates.
        let consolidated = FailingStore(try await written(consolidate: true), failing: "nothing-fails/")
        #expect(try await AnnData.read(from: consolidated).nObs == 4)
        #expect(await validate(consolidated).isEmpty)
    }
}
