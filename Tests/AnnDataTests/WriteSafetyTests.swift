import AnnData
import Foundation
import Synchronization
import Testing
import Zarr

/// `AnnData.write` loses nothing: on stores without rename (S3, memory) the root metadata is
/// written last, so an interrupted write is no store at all; destinations that are not stores
/// are refused; an existing store is replaced only when the options allow it.
@Suite("Write safety")
struct WriteSafetyTests {
    /// A memory store whose `set` fails after `allowed` successful writes (a dying writer).
    final class DyingStore: WritableStore, ListableStore {
        let base = MemoryStore()
        let allowed: Int
        let writes = Mutex(0)
        init(allowed: Int) { self.allowed = allowed }
        var storeDescription: String { "dying-store" }
        func get(_ key: String) async throws -> [UInt8]? { try await base.get(key) }
        func get(_ key: String, range: ByteRange) async throws -> [UInt8]? { try await base.get(key, range: range) }
        func set(_ key: String, _ value: [UInt8]) async throws {
            let n = writes.withLock { $0 += 1; return $0 }
            if n > allowed { throw ZarrError.io(key: key, reason: "connection lost (injected)") }
            try await base.set(key, value)
        }
        func delete(_ key: String) async throws { try await base.delete(key) }
        func deletePrefix(_ prefix: String) async throws { try await base.deletePrefix(prefix) }
        func list(prefix: String) async throws -> [String] { try await base.list(prefix: prefix) }
        func listDirectory(_ prefix: String) async throws -> StoreListing { try await base.listDirectory(prefix) }
    }

    @Test(arguments: [ZarrFormat.v3, .v2])
    func anInterruptedWriteIsNotAStore(_ format: ZarrFormat) async throws {
        // How many writes a whole store takes, then die at points spread over them.
        let full = DyingStore(allowed: .max)
        try await Small.make().write(to: full, options: WriteOptions(zarrFormat: format))
        let total = full.writes.withLock { $0 }
        // The node document that makes the store a store comes last.
        let rootKey = format == .v3 ? "zarr.json" : ".zgroup"
        #expect(try await full.base.list(prefix: "").contains(rootKey))
        for allowed in stride(from: 0, to: total, by: max(1, total / 7)) {
            let store = DyingStore(allowed: allowed)
            await #expect(throws: AnnDataError.self) { try await Small.make().write(to: store, options: WriteOptions(zarrFormat: format)) }
            #expect(try await store.base.get(rootKey) == nil, "after \(allowed) of \(total) writes the root document exists")
            await #expect(throws: AnnDataError.self) { _ = try await AnnData.read(from: store.base) }
            let problems = await validate(store.base)
            #expect(!problems.isEmpty, "validate passes a store interrupted after \(allowed) of \(total) writes")
        }
    }

    @Test func refusesForeignDataAndHonoursThePolicy() async throws {
        let store = MemoryStore()
        try await store.set("notes.txt", Array("keep".utf8))
        await #expect(throws: AnnDataError.self) { try await Small.make().write(to: store) }
        #expect(try await store.get("notes.txt") == Array("keep".utf8))

        let existing = MemoryStore()
        try await Small.make().write(to: existing)
        var refuse = WriteOptions()
        refuse.existingStore = .refuse
        await #expect(throws: AnnDataError.self) { try await Small.make().write(to: existing, options: refuse) }
        try await Small.make().write(to: existing)  // .replace, the default
        _ = try await AnnData.read(from: existing)
    }

    /// `writeElement` and `deleteElement` on a local store: updates land whole; one that fails
    /// midway leaves the old element as it was, and nothing of the attempt is left or listed.
    @Test(arguments: [ZarrFormat.v3, .v2])
    func localElementUpdatesAreAllOrNothing(_ format: ZarrFormat) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("anndata-elem-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = LocalStore(root: dir + "/s.zarr")
        try await Small.make().write(to: store, options: WriteOptions(zarrFormat: format))
        try await writeElement(.dict(["x": .strings(["p", "q"])]), store: store, path: "uns/new/deeper")
        #expect(try await readElement(store, path: "uns/new/deeper/x") == .strings(["p", "q"]))
        let before = try await AnnData.read(from: store)

        // Replace uns with a dict whose second entry fails to write.
        var options = WriteOptions()
        options.dispatch = { path, _, _ in
            if path == "uns/b" { throw ZarrError.io(key: path, reason: "disk gone (injected)") }
            return .write
        }
        let replacement: Element = .dict(["a": .strings(["1"]), "b": .strings(["2"])])
        await #expect(throws: AnnDataError.self) { try await writeElement(replacement, store: store, path: "uns", options: options) }
        let after = try await AnnData.read(from: store)
        #expect(after.uns == before.uns, "the failed update changed uns")
        #expect(await validate(store).isEmpty)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0 != "s.zarr" }
        #expect(leftovers.isEmpty, "left beside the store: \(leftovers)")

        // A whole update and a deletion.
        try await writeElement(replacement, store: store, path: "uns")
        #expect(try await AnnData.read(from: store).uns == ["a": .strings(["1"]), "b": .strings(["2"])])
        try await deleteElement(store: store, path: "uns/a")
        #expect(try await AnnData.read(from: store).uns == ["b": .strings(["2"])])
        #expect(await validate(store).isEmpty)
    }
}

