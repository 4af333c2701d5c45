import Synchronization

/// A store wrapper that holds back the root metadata documents (`zarr.json`, `.zgroup`,
/// `.zarray`, `.zattrs`, `.zmetadata` at the root) until `commit()`, for stores without an
/// atomic rename (S3, memory). A write interrupted before the commit leaves no root metadata, so
/// the half-written hierarchy is not a Zarr store to any reader (`validate`, `info`, zarr-python)
/// instead of passing for a complete one whose missing chunks read as fill values.
///
/// Reads through the wrapper see the held documents, so code that writes the root group and
/// then reads or consolidates it works unchanged. Costs: the held documents in memory.
public struct RootLastStore<Base: WritableStore>: WritableStore {
    /// The wrapped store.
    public let base: Base
    private let held: HeldDocuments

    /// Wraps `base`.
    public init(_ base: Base) {
        self.base = base
        self.held = HeldDocuments()
    }

    /// A short description of the wrapped store.
    public var storeDescription: String { base.storeDescription }

    /// The held document at `key`, or the base store's value.
    public func get(_ key: String) async throws -> [UInt8]? {
        if let state = held.state(key) { return state.value }
        return try await base.get(key)
    }

    /// Part of the held document at `key`, or of the base store's value.
    public func get(_ key: String, range: ByteRange) async throws -> [UInt8]? {
        if let state = held.state(key) {
            guard let v = state.value else { return nil }
            return Array(v[range.resolved(size: v.count)])
        }
        return try await base.get(key, range: range)
    }

    /// Whether a value exists, held documents included.
    public func exists(_ key: String) async throws -> Bool {
        if let state = held.state(key) { return state.value != nil }
        return try await base.exists(key)
    }

    /// Holds root metadata documents back; writes every other key through.
    public func set(_ key: String, _ value: [UInt8]) async throws {
        if StoreContents.rootKeys.contains(key) { held.set(key, value); return }
        try await base.set(key, value)
    }

    /// Deletes `key` (a held document is dropped and deleted from the base store).
    public func delete(_ key: String) async throws {
        if StoreContents.rootKeys.contains(key) { held.markDeleted(key) }
        try await base.delete(key)
    }

    /// Deletes every key under `prefix`; the whole store (`""`) loses its root metadata first,
    /// so that an interrupted deletion never leaves a root over a partial hierarchy.
    public func deletePrefix(_ prefix: String) async throws {
        if prefix.isEmpty {
            for key in Self.commitOrder(Array(StoreContents.rootKeys)).reversed() {
                held.markDeleted(key)
                try await base.delete(key)
            }
        }
        try await base.deletePrefix(prefix)
    }

    /// Writes the held root documents: attributes and consolidated metadata first, the node
    /// document (`zarr.json`, `.zgroup`, `.zarray`) that makes the store a store last.
    public func commit() async throws {
        for (key, value) in Self.commitOrder(held.pending) { try await base.set(key, value) }
        held.clear()
    }

    /// Keys in commit order: the node documents last.
    static func commitOrder(_ keys: [String]) -> [String] {
        let last: Set<String> = [NodeMetadata.Keys.v3, NodeMetadata.Keys.zgroup, NodeMetadata.Keys.zarray]
        return keys.filter { !last.contains($0) }.sorted() + keys.filter { last.contains($0) }.sorted()
    }

    static func commitOrder(_ docs: [String: [UInt8]]) -> [(String, [UInt8])] {
        commitOrder(Array(docs.keys)).compactMap { k in docs[k].map { (k, $0) } }
    }

    func heldKeys(under prefix: String) -> [String] {
        prefix.isEmpty ? held.pending.keys.sorted() : []
    }
}

extension RootLastStore: ListableStore where Base: ListableStore {
    /// The base store's keys with the held documents.
    public func list(prefix: String) async throws -> [String] {
        let deleted = held.deletedKeys
        let keys = try await base.list(prefix: prefix).filter { !deleted.contains($0) }
        return Array(Set(keys + heldKeys(under: prefix))).sorted()
    }

    /// The base store's listing with the held documents.
    public func listDirectory(_ prefix: String) async throws -> StoreListing {
        var l = try await base.listDirectory(prefix)
        let deleted = held.deletedKeys
        l.keys = Array(Set(l.keys.filter { !deleted.contains($0) } + heldKeys(under: prefix))).sorted()
        return l
    }
}

extension RootLastStore: RemoteStore where Base: RemoteStore {}

/// The held documents: a value, or a deletion not yet superseded.
final class HeldDocuments: Sendable {
    struct State { var value: [UInt8]? }
    private let docs = Mutex<[String: State]>([:])

    func state(_ key: String) -> State? { docs.withLock { $0[key] } }
    func set(_ key: String, _ value: [UInt8]) { docs.withLock { $0[key] = State(value: value) } }
    func markDeleted(_ key: String) { docs.withLock { $0[key] = State(value: nil) } }
    func clear() { docs.withLock { $0 = [:] } }
    var pending: [String: [UInt8]] { docs.withLock { $0.compactMapValues(\.value) } }
    var deletedKeys: Set<String> { docs.withLock { Set($0.filter { $0.value.value == nil }.keys) } }
}

/// Runs `body` on `store` wrapped in a `RootLastStore` (listable when `store` is) and commits
/// the root documents when `body` returns; on error nothing more is written.
public func withRootWrittenLast<T: Sendable>(
    _ store: any WritableStore, _ body: (any WritableStore) async throws -> T
) async throws -> T {
    func run<S: WritableStore>(_ s: S) async throws -> T {
        let wrapped = RootLastStore(s)
        let result = try await body(wrapped)
        try await wrapped.commit()
        return result
    }
    if let listable = store as? any WritableStore & ListableStore { return try await run(listable) }
    return try await run(store)
}
