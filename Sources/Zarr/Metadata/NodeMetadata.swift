/// The metadata of one node: an array or a group.
public enum NodeMetadata: Sendable, Hashable {
    /// An array.
    case array(ArrayMetadata)
    /// A group.
    case group(GroupMetadata)

    /// The node's Zarr format.
    public var zarrFormat: ZarrFormat {
        switch self {
        case .array(let a): return a.zarrFormat
        case .group(let g): return g.zarrFormat
        }
    }

    /// The node's attributes.
    public var attributes: JSONObject {
        switch self {
        case .array(let a): return a.attributes
        case .group(let g): return g.attributes
        }
    }

    /// Metadata key names.
    public enum Keys {
        /// The v3 metadata document, `zarr.json`.
        public static let v3 = "zarr.json"
        /// The v2 array document, `.zarray`.
        public static let zarray = ".zarray"
        /// The v2 group document, `.zgroup`.
        public static let zgroup = ".zgroup"
        /// The v2 attributes document, `.zattrs`.
        public static let zattrs = ".zattrs"
        /// The v2 consolidated metadata document, `.zmetadata`.
        public static let zmetadata = ".zmetadata"
    }

    static func parseJSON(_ bytes: [UInt8], key: String) throws(ZarrError) -> JSONValue {
        do {
            return try JSONValue.parse(bytes)
        } catch {
            throw .invalidMetadata(path: key, reason: error.description)
        }
    }

    /// Parses the v3 document of the node at `path`.
    public static func parseV3(_ json: JSONValue, path: String) throws(ZarrError) -> NodeMetadata {
        switch json["node_type"]?.string {
        case "array": return .array(try ArrayMetadata.parseV3(json, path: path))
        case "group": return .group(try GroupMetadata.parseV3(json, path: path))
        default: throw .invalidMetadata(path: path, reason: "node_type must be 'array' or 'group'")
        }
    }

    /// Reads the node at `path`: v3 `zarr.json` first, then v2 `.zarray` / `.zgroup` (+ `.zattrs`).
    public static func read(_ store: any ReadableStore, path: String) async throws -> NodeMetadata {
        let prefix = StoreKey.prefix(of: path)
        if let bytes = try await store.getMetadataDocument(prefix + Keys.v3) {
            return try parseV3(try parseJSON(bytes, key: prefix + Keys.v3), path: path)
        }
        if let bytes = try await store.getMetadataDocument(prefix + Keys.zarray) {
            let attrs = try await readV2Attributes(store, prefix: prefix)
            return .array(try ArrayMetadata.parseV2(try parseJSON(bytes, key: prefix + Keys.zarray), attributes: attrs, path: path))
        }
        if let bytes = try await store.getMetadataDocument(prefix + Keys.zgroup) {
            let doc = try parseJSON(bytes, key: prefix + Keys.zgroup)
            guard doc["zarr_format"]?.int == 2 else { throw ZarrError.invalidMetadata(path: path, reason: ".zgroup zarr_format is not 2") }
            let attrs = try await readV2Attributes(store, prefix: prefix)
            return .group(GroupMetadata(zarrFormat: .v2, attributes: attrs))
        }
        throw ZarrError.nodeNotFound(path: path)
    }

    static func readV2Attributes(_ store: any ReadableStore, prefix: String) async throws -> JSONObject {
        guard let bytes = try await store.getMetadataDocument(prefix + Keys.zattrs) else { return [:] }
        guard let o = try parseJSON(bytes, key: prefix + Keys.zattrs).object else {
            throw ZarrError.invalidMetadata(path: prefix + Keys.zattrs, reason: ".zattrs is not an object")
        }
        return o
    }

    /// The documents this node is stored as: key (relative to the node prefix) → JSON.
    public func documents() -> [(String, JSONValue)] {
        switch self {
        case .array(let a):
            if a.zarrFormat == .v3 { return [(Keys.v3, a.v3Document())] }
            return [(Keys.zarray, a.v2Document()), (Keys.zattrs, .object(a.attributes))]
        case .group(let g):
            if g.zarrFormat == .v3 { return [(Keys.v3, g.v3Document())] }
            return [(Keys.zgroup, GroupMetadata.v2Document), (Keys.zattrs, .object(g.attributes))]
        }
    }

    /// Writes the node's metadata documents. A document nested deeper than the parser
    /// accepts (attributes, typically) is a typed error naming the node, and nothing is written.
    public static func write(_ node: NodeMetadata, to store: any WritableStore, path: String) async throws {
        let prefix = StoreKey.prefix(of: path)
        let docs = node.documents()
        for (_, doc) in docs { try doc.checkNesting(path: path) }
        for (key, doc) in docs {
            try await store.set(prefix + key, doc.serialized())
        }
    }

    /// How many levels deeper a node's documents sit inside consolidated metadata than on
    /// their own: v3 `{"consolidated_metadata": {"metadata": {path: doc}}}` adds 3, v2
    /// `{"metadata": {"path/.zattrs": doc}}` adds 2.
    public static func consolidatedExtraDepth(_ format: ZarrFormat) -> Int {
        format == .v3 ? 3 : 2
    }

    /// Removes the node at `path` (its metadata, chunks and children), if any.
    public static func removeNode(_ store: any WritableStore, path: String) async throws {
        if path.isEmpty {
            try await store.deletePrefix("")
        } else {
            try await store.deletePrefix(path + "/")
        }
    }

    /// Creates every missing ancestor group of `path` in `format`.
    public static func createParents(_ store: any WritableStore, of path: String, format: ZarrFormat) async throws {
        guard !path.isEmpty else { return }
        var parts = path.split(separator: "/").map(String.init)
        parts.removeLast()
        var current = ""
        var ancestors = [""]
        for p in parts {
            current = StoreKey.join(current, p)
            ancestors.append(current)
        }
        for a in ancestors {
            let prefix = StoreKey.prefix(of: a)
            var exists = try await store.exists(prefix + Keys.v3)
            if !exists { exists = try await store.exists(prefix + Keys.zgroup) }
            if !exists {
                try await write(.group(GroupMetadata(zarrFormat: format)), to: store, path: a)
            }
        }
    }
}
