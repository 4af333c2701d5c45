/// A store that can read values by key: the one capability every store has.
///
/// Keys are `/`-separated relative paths such as `a/b/zarr.json` or `X/c/0/0`.
public protocol ReadableStore: Sendable {
    /// The whole value at `key`, or `nil` if there is none.
    func get(_ key: String) async throws -> [UInt8]?
    /// Part of the value at `key`, or `nil` if there is none. A range past the end is clamped.
    func get(_ key: String, range: ByteRange) async throws -> [UInt8]?
    /// Part of the value at `key` (see `get(_:range:)`), refused with
    /// `ZarrError.valueTooLarge` when it is longer than `limit` bytes. Stores that know a
    /// value's size before reading it (a local file, a zip entry) check it before allocating;
    /// the default implementation reads and then checks.
    func get(_ key: String, range: ByteRange, limit: Int) async throws -> [UInt8]?
    /// Whether a value exists at `key`.
    func exists(_ key: String) async throws -> Bool
    /// A short description for messages (a path or URL).
    var storeDescription: String { get }
    /// The size limits readers apply to this store's metadata documents and variable-length
    /// chunks (`ReadLimits.standard` unless the store was given others).
    var readLimits: ReadLimits { get }
}

/// A store whose every request is a network round trip (HTTP, S3): callers that can choose
/// should prefer fewer requests, such as one consolidated-metadata read over one read per node.
public protocol RemoteStore: ReadableStore {}

/// A store that reads values into buffers it keeps for reuse: a reader done with the bytes it
/// got (decoded them) hands them back, and later reads fill that memory instead of fresh
/// pages. Handing back a buffer that is still used elsewhere is safe (reuse copies first).
public protocol BufferRecyclingStore: ReadableStore {
    /// Takes back buffers that this store's reads returned.
    func recycle(_ buffers: consuming [[UInt8]])
}

/// A store that can also be written.
public protocol WritableStore: ReadableStore {
    /// Stores `value` at `key` atomically: readers see the old value or the new one, never a mix.
    func set(_ key: String, _ value: [UInt8]) async throws
    /// Removes `key`; removing a missing key is not an error.
    func delete(_ key: String) async throws
    /// Removes every key under `prefix` (a `/`-terminated directory prefix, or `""` for all).
    func deletePrefix(_ prefix: String) async throws
}

/// One level of a listing: the values directly under a prefix and the sub-prefixes.
public struct StoreListing: Sendable, Equatable {
    /// Keys directly under the prefix (full keys).
    public var keys: [String]
    /// Names of the child "directories" (without the prefix, without a trailing `/`).
    public var prefixes: [String]
    /// A listing.
    public init(keys: [String], prefixes: [String]) { self.keys = keys; self.prefixes = prefixes }
}

/// A store that can list its keys. HTTP stores cannot; they rely on consolidated metadata.
public protocol ListableStore: ReadableStore {
    /// Every key under `prefix` (`""` for all), at any depth, sorted.
    func list(prefix: String) async throws -> [String]
    /// The keys and child prefixes directly under `prefix` (`""` or `a/b/`).
    func listDirectory(_ prefix: String) async throws -> StoreListing
}

extension ReadableStore {
    /// Whether a value exists at `key`.
    public func exists(_ key: String) async throws -> Bool { try await get(key, range: .slice(offset: 0, length: 0)) != nil }

    /// Reads the part, then refuses it when it is longer than `limit` bytes.
    public func get(_ key: String, range: ByteRange, limit: Int) async throws -> [UInt8]? {
        guard let value = try await get(key, range: range) else { return nil }
        if value.count > limit { throw ZarrError.valueTooLarge(key: key, size: value.count, limit: limit) }
        return value
    }

    /// `ReadLimits.standard`.
    public var readLimits: ReadLimits { .standard }

    /// The metadata document at `key` (`zarr.json`, `.zarray`, `.zgroup`, `.zattrs`,
    /// `.zmetadata`), or `nil`; one larger than `readLimits.metadataDocumentBytes` is refused
    /// with `ZarrError.valueTooLarge` (before it is read, where the store can tell its size).
    public func getMetadataDocument(_ key: String) async throws -> [UInt8]? {
        try await get(key, range: .all, limit: readLimits.metadataDocumentBytes)
    }
}

/// A store that reads, writes and lists.
public typealias ReadWriteListableStore = WritableStore & ListableStore
