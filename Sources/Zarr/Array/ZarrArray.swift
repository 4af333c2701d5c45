/// An array in a store: its metadata, its codec chain, and where its chunks live.
///
/// Opening reads only metadata; `read` and `write` (in `ZarrArray+Read.swift` and
/// `ZarrArray+Write.swift`) touch only the chunks a region needs.
public struct ZarrArray: Sendable {
    /// The store that holds the array.
    public let store: any ReadableStore
    /// The node path (`""` for a root array).
    public let path: String
    /// The metadata.
    public let metadata: ArrayMetadata
    /// The codec chain built from the metadata.
    public let chain: CodecChain
    /// What decoding one chunk may produce (see `DecodeLimits`); reads and the
    /// read-modify-write of partly written chunks use it.
    public var decodeLimits: DecodeLimits

    /// An array whose metadata is already known (for example from consolidated metadata);
    /// the metadata is validated (shapes whose sizes overflow are a typed error).
    public init(store: any ReadableStore, path: String, metadata: ArrayMetadata, decodeLimits: DecodeLimits = .standard) throws(ZarrError) {
        let p = try StoreKey.normalizeNodePath(path)
        self.store = store
        self.path = p
        self.metadata = metadata
        self.decodeLimits = decodeLimits
        do throws(ZarrError) {
            try metadata.validate(path: p)
            self.chain = try metadata.makeChain()
        } catch {
            throw error.at(p)
        }
    }

    /// Opens the array at `path`, reading its metadata (v3 `zarr.json`, else v2 `.zarray`).
    public static func open(_ store: any ReadableStore, path: String = "", decodeLimits: DecodeLimits = .standard) async throws -> ZarrArray {
        let p = try StoreKey.normalizeNodePath(path)
        guard case .array(let m) = try await NodeMetadata.read(store, path: p) else {
            throw ZarrError.nodeKindMismatch(path: p, expected: "an array")
        }
        return try ZarrArray(store: store, path: p, metadata: m, decodeLimits: decodeLimits)
    }

    /// Creates (or replaces) an array at `path`: removes any node there and its chunks, writes
    /// the metadata, and creates missing parent groups in the same format. Bare non-spec v3
    /// codec names (`zlib`, `lz4`, `bz2`) are written as `numcodecs.<name>`.
    @discardableResult
    public static func create(
        _ store: any WritableStore, path: String = "", metadata: ArrayMetadata
    ) async throws -> ZarrArray {
        let p = try StoreKey.normalizeNodePath(path)
        var metadata = metadata
        if metadata.zarrFormat == .v3 { metadata.codecs = CodecRegistry.writtenV3Names(metadata.codecs) }
        try metadata.validate(path: p)
        let array = try ZarrArray(store: store, path: p, metadata: metadata)
        try await NodeMetadata.removeNode(store, path: p)
        try await NodeMetadata.createParents(store, of: p, format: metadata.zarrFormat)
        try await NodeMetadata.write(.array(metadata), to: store, path: p)
        return array
    }

    /// The shape.
    public var shape: [Int] { metadata.shape }
    /// The element type.
    public var dataType: DataType { metadata.dataType }
    /// The attributes.
    public var attributes: JSONObject { metadata.attributes }

    /// The store key of chunk `index`.
    public func chunkKey(_ index: [Int]) -> String {
        StoreKey.prefix(of: path) + metadata.chunkKeyEncoding.key(index)
    }

    /// The full region of the array.
    public var fullRegion: [Range<Int>] { metadata.shape.map { 0..<$0 } }

    /// Checks that `region` lies inside the array: a typed error naming the array otherwise.
    public func checkRegion(_ region: [Range<Int>]) throws(ZarrError) {
        guard region.count == shape.count else {
            throw .invalidSelection("\(region.count) ranges for an array of rank \(shape.count) at '\(path)'")
        }
        for (r, n) in zip(region, shape) where r.lowerBound < 0 || r.upperBound > n {
            throw .invalidSelection("\(r.lowerBound):\(r.upperBound) is outside 0:\(n) at '\(path)'")
        }
    }

    /// The codec that encodes whole chunks straight from a region and takes chunks clipped at
    /// the array's edge (sharding alone in the chain), asked of the chain.
    var regionEncoder: (any RegionEncodingCodec)? { chain.regionEncoder }
}
