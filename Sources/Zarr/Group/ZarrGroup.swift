/// A group in a store: attributes, children, and (when written) consolidated metadata.
public struct ZarrGroup: Sendable {
    /// The store.
    public let store: any ReadableStore
    /// The node path (`""` for the root).
    public let path: String
    /// The group's own metadata.
    public let metadata: GroupMetadata
    /// The consolidated metadata stored at this group, if any.
    public let consolidated: ConsolidatedMetadata?

    /// A group whose metadata is already known.
    public init(store: any ReadableStore, path: String, metadata: GroupMetadata, consolidated: ConsolidatedMetadata? = nil) {
        self.store = store
        self.path = path
        self.metadata = metadata
        self.consolidated = consolidated
    }

    /// Opens the group at `path`. A v3 group's `zarr.json` is read once and yields both the group
    /// and its consolidated metadata; a v2 group also reads `.zmetadata` when present.
    public static func open(_ store: any ReadableStore, path: String = "") async throws -> ZarrGroup {
        let p = try StoreKey.normalizeNodePath(path)
        let prefix = StoreKey.prefix(of: p)
        if let bytes = try await store.getMetadataDocument(prefix + NodeMetadata.Keys.v3) {
            let doc = try NodeMetadata.parseJSON(bytes, key: prefix + NodeMetadata.Keys.v3)
            guard case .group(let g) = try NodeMetadata.parseV3(doc, path: p) else {
                throw ZarrError.nodeKindMismatch(path: p, expected: "a group")
            }
            return ZarrGroup(store: store, path: p, metadata: g, consolidated: try ConsolidatedMetadata.parseV3Member(doc, path: p))
        }
        guard case .group(let g) = try await NodeMetadata.read(store, path: p) else {
            throw ZarrError.nodeKindMismatch(path: p, expected: "a group")
        }
        var consolidated: ConsolidatedMetadata?
        if let bytes = try await store.getMetadataDocument(prefix + NodeMetadata.Keys.zmetadata) {
            consolidated = try ConsolidatedMetadata.parseV2(try NodeMetadata.parseJSON(bytes, key: prefix + NodeMetadata.Keys.zmetadata), path: p)
        }
        return ZarrGroup(store: store, path: p, metadata: g, consolidated: consolidated)
    }

    /// The metadata of the node at relative path `child` below this group: from consolidated
    /// metadata without a store read when present, else read from the store.
    public func node(_ child: String) async throws -> NodeMetadata {
        let rel = try StoreKey.normalizeNodePath(child)
        if rel.isEmpty { return .group(metadata) }
        if let c = consolidated {
            guard let n = c[rel] else { throw ZarrError.nodeNotFound(path: StoreKey.join(path, rel)) }
            return n
        }
        return try await NodeMetadata.read(store, path: StoreKey.join(path, rel))
    }

    /// Opens the array at relative path `child` (no metadata read when consolidated).
    public func array(_ child: String) async throws -> ZarrArray {
        let rel = try StoreKey.normalizeNodePath(child)
        guard case .array(let m) = try await node(rel) else {
            throw ZarrError.nodeKindMismatch(path: StoreKey.join(path, rel), expected: "an array")
        }
        return try ZarrArray(store: store, path: StoreKey.join(path, rel), metadata: m)
    }

    /// Creates (or replaces the attributes of) a group at `path`, with missing parents.
    @discardableResult
    public static func create(
        _ store: any WritableStore, path: String = "", format: ZarrFormat = .v3, attributes: JSONObject = [:]
    ) async throws -> ZarrGroup {
        let p = try StoreKey.normalizeNodePath(path)
        try await NodeMetadata.createParents(store, of: p, format: format)
        let g = GroupMetadata(zarrFormat: format, attributes: attributes)
        try await NodeMetadata.write(.group(g), to: store, path: p)
        return ZarrGroup(store: store, path: p, metadata: g)
    }

    /// The attributes.
    public var attributes: JSONObject { metadata.attributes }

    /// The direct children, by name: from consolidated metadata when present, else by listing.
    public func children() async throws -> [(name: String, node: NodeMetadata)] {
        if let c = consolidated {
            return c.nodes.filter { !$0.path.contains("/") }.map { ($0.path, $0.node) }
        }
        guard let listable = store as? any ListableStore else {
            throw ZarrError.unsupportedOperation(
                "the store \(store.storeDescription) cannot list and the group '\(path)' has no consolidated metadata")
        }
        var out: [(name: String, node: NodeMetadata)] = []
        for name in try await listable.listDirectory(StoreKey.prefix(of: path)).prefixes.sorted() {
            do {
                out.append((name, try await NodeMetadata.read(store, path: StoreKey.join(path, name))))
            } catch ZarrError.nodeNotFound {
                continue
            }
        }
        return out
    }

    /// Updates the attributes by read-modify-write of the current document, so keys that others
    /// wrote meanwhile are kept; returns the new attributes. For v2 only `.zattrs` is written.
    @discardableResult
    public static func updateAttributes(
        _ store: any WritableStore, path: String, _ change: @Sendable (inout JSONObject) -> Void
    ) async throws -> JSONObject {
        let p = try StoreKey.normalizeNodePath(path)
        let prefix = StoreKey.prefix(of: p)
        var node = try await NodeMetadata.read(store, path: p)
        var keepConsolidated: JSONValue?
        if let bytes = try await store.getMetadataDocument(prefix + NodeMetadata.Keys.v3) {
            keepConsolidated = try NodeMetadata.parseJSON(bytes, key: prefix + NodeMetadata.Keys.v3)["consolidated_metadata"]
        }
        switch node {
        case .array(var a): change(&a.attributes); node = .array(a)
        case .group(var g): change(&g.attributes); node = .group(g)
        }
        // v2 keeps attributes in `.zattrs` alone: `.zarray` / `.zgroup` are left untouched.
        let v2 = node.zarrFormat == .v2
        for (key, doc) in node.documents() where !v2 || key == NodeMetadata.Keys.zattrs {
            var d = doc
            if key == NodeMetadata.Keys.v3, let cm = keepConsolidated, var o = d.object {
                o["consolidated_metadata"] = cm
                d = .object(o)
            }
            try await store.set(prefix + key, try d.serializedForWriting(path: p))
        }
        return node.attributes
    }
}
