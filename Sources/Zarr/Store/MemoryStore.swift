import Synchronization

/// A store held in memory; useful for tests and scratch work.
public final class MemoryStore: WritableStore, ListableStore {
    private let values = Mutex<[String: [UInt8]]>([:])

    /// An empty store.
    public init() {}

    /// A short description of the store, for messages.
    public var storeDescription: String { "memory" }

    /// The value at `key`, or `nil` when there is none.
    public func get(_ key: String) async throws -> [UInt8]? {
        try StoreKey.validate(key)
        return values.withLock { $0[key] }
    }

    /// The bytes of `range` in the value at `key`, or `nil` when there is none.
    public func get(_ key: String, range: ByteRange) async throws -> [UInt8]? {
        guard let v = try await get(key) else { return nil }
        return Array(v[range.resolved(size: v.count)])
    }

    /// Stores `value` at `key`, replacing any earlier value.
    public func set(_ key: String, _ value: [UInt8]) async throws {
        try StoreKey.validate(key)
        values.withLock { $0[key] = value }
    }

    /// Removes the value at `key`; a missing key is not an error.
    public func delete(_ key: String) async throws {
        try StoreKey.validate(key)
        _ = values.withLock { $0.removeValue(forKey: key) }
    }

    /// Removes every value whose key starts with `prefix` (`""`: everything).
    public func deletePrefix(_ prefix: String) async throws {
        try StoreKey.validatePrefix(prefix)
        values.withLock { dict in
            for k in dict.keys where k.hasPrefix(prefix) { dict.removeValue(forKey: k) }
        }
    }

    /// Every key that starts with `prefix`, sorted.
    public func list(prefix: String) async throws -> [String] {
        try StoreKey.validatePrefix(prefix)
        return values.withLock { $0.keys.filter { $0.hasPrefix(prefix) } }.sorted()
    }

    /// The keys and the child prefixes one level below `prefix`.
    public func listDirectory(_ prefix: String) async throws -> StoreListing {
        let all = try await list(prefix: prefix)
        return StoreListing.directLevel(of: all, under: prefix)
    }
}

extension StoreListing {
    /// The direct level under `prefix` of a flat, sorted list of keys.
    public static func directLevel(of keys: [String], under prefix: String) -> StoreListing {
        var direct: [String] = []
        var dirs: [String] = []
        var seen = Set<String>()
        for k in keys {
            let rest = k.dropFirst(prefix.count)
            if let slash = rest.firstIndex(of: "/") {
                let d = String(rest[..<slash])
                if seen.insert(d).inserted { dirs.append(d) }
            } else {
                direct.append(k)
            }
        }
        return StoreListing(keys: direct, prefixes: dirs)
    }
}
