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

    /// Opens the group at `path` (reading consolidated metadata when present).
    public static func open(_ store: any ReadableStore, path: String = "") async throws -> ZarrGroup {
        let p = try StoreKey.normalizeNodePath(path)
        guard case .group(let g) = try await NodeMetadata.read(store, path: p) else {
            throw ZarrError.nodeKindMismatch(path: p, expected: "a group")
        }
        let c = try await ConsolidatedMetadata.read(store, path: p)
        return ZarrGroup(store: store, path: p, metadata: g, consolidated: c)
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
    /// wrote meanwhile are kept; returns the new attributes.
    @discardableResult
    public static func updateAttributes(
        _ store: any WritableStore, path: String, _ change: @Sendable (inout JSONObject) -> Void
    ) async throws -> JSONObject {
        let p = try StoreKey.normalizeNodePath(path)
        let prefix = StoreKey.prefix(of: p)
        var node = try await NodeMetadata.read(store, path: p)
        var keepConsolidated: JSONValue?
        if let bytes = try await store.get(prefix + NodeMetadata.Keys.v3) {
            keepConsolidated = try NodeMetadata.parseJSON(bytes, key: prefix + NodeMetadata.Keys.v3)["consolidated_metadata"]
        }
        switch node {
        case .array(var a): change(&a.attributes); node = .array(a)
        case .group(var g): change(&g.attributes); node = .group(g)
        }
        for (key, doc) in node.documents() {
            var d = doc
            if key == NodeMetadata.Keys.v3, let cm = keepConsolidated, var o = d.object {
                o["consolidated_metadata"] = cm
                d = .object(o)
            }
            try await store.set(prefix + key, d.serialized())
        }
        return node.attributes
    }
}
