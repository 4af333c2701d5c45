import Zarr

/// Reads elements from a store: node metadata (from a verified consolidated copy or the nodes
/// themselves), arrays, and dispatch on `encoding-type` through the registry.
public struct ElementReader: Sendable {
    /// The store.
    public let store: any ReadableStore
    /// The encodings.
    public let registry: EncodingRegistry
    /// Every node's metadata by path (`""` = root), when known up front.
    let cache: [String: NodeMetadata]?
    /// Threads and requests for chunk decoding.
    public let concurrency: ConcurrencyOptions

    /// A reader that looks nodes up directly in the store (no cache).
    public init(store: any ReadableStore, registry: EncodingRegistry = .standard, concurrency: ConcurrencyOptions = .automatic) {
        self.init(store: store, registry: registry, cache: nil, concurrency: concurrency)
    }

    init(store: any ReadableStore, registry: EncodingRegistry, cache: [String: NodeMetadata]?, concurrency: ConcurrencyOptions) {
        self.store = store
        self.registry = registry
        self.cache = cache
        self.concurrency = concurrency
    }

    /// Opens a store for reading. On a listable store every node's metadata is collected, and
    /// consolidated metadata that disagrees with it is refused (`staleConsolidatedMetadata`);
    /// on other stores the consolidated copy (if any) is the cache.
    public static func open(
        _ store: any ReadableStore, registry: EncodingRegistry = .standard, concurrency: ConcurrencyOptions = .automatic
    ) async throws(AnnDataError) -> ElementReader {
        let (cache, stale) = try await metadata(of: store)
        if !stale.isEmpty { throw .staleConsolidatedMetadata(stale) }
        return ElementReader(store: store, registry: registry, cache: cache, concurrency: concurrency)
    }

    /// Every node's metadata by path (`""` = root): collected from the nodes when the store can
    /// list, else the consolidated copy (`nil` when there is neither), plus the problems of the
    /// consolidated copy when both exist.
    public static func metadata(of store: any ReadableStore) async throws(AnnDataError) -> (nodes: [String: NodeMetadata]?, stale: [String]) {
        try await annotating("") { () async throws -> ([String: NodeMetadata]?, [String]) in
            let root: NodeMetadata
            do { root = try await NodeMetadata.read(store, path: "") } catch ZarrError.nodeNotFound {
                throw AnnDataError.missingElement(path: "")
            }
            let consolidated = try await ConsolidatedMetadata.read(store, path: "")
            guard let listable = store as? any ListableStore else {
                guard let consolidated else { return (nil, []) }
                var map = Dictionary(consolidated.nodes.map { ($0.path, $0.node) }, uniquingKeysWith: { a, _ in a })
                map[""] = root
                return (map, [])
            }
            let actual = try await ConsolidatedMetadata.collect(listable, path: "", format: root.zarrFormat)
            var stale: [String] = []
            if let consolidated {
                stale = consolidated.staleEntries(comparedWith: actual)
                stale += try await rootAttributeProblems(store, root: root)
            }
            var map = Dictionary(actual.nodes.map { ($0.path, $0.node) }, uniquingKeysWith: { a, _ in a })
            map[""] = root
            return (map, stale)
        }
    }

    /// v2 only: the root `.zattrs` copy in `.zmetadata` must equal the file.
    static func rootAttributeProblems(_ store: any ReadableStore, root: NodeMetadata) async throws -> [String] {
        guard root.zarrFormat == .v2, let bytes = try await store.get(NodeMetadata.Keys.zmetadata) else { return [] }
        guard let doc = try? JSONValue.parse(bytes), let listed = doc["metadata"]?[".zattrs"]?.object else { return [] }
        return listed == root.attributes ? [] : ["/: root attributes in .zmetadata differ from .zattrs"]
    }

    /// The metadata of the node at `path`.
    public func node(_ path: String) async throws(AnnDataError) -> NodeMetadata {
        if let cache {
            guard let n = cache[path] else { throw .missingElement(path: path) }
            return n
        }
        do {
            return try await NodeMetadata.read(store, path: path)
        } catch ZarrError.nodeNotFound {
            throw .missingElement(path: path)
        } catch {
            throw AnnDataError.wrap(error, path: path)
        }
    }

    /// Whether a node exists at `path`.
    public func exists(_ path: String) async -> Bool {
        if let cache { return cache[path] != nil }
        return (try? await NodeMetadata.read(store, path: path)) != nil
    }

    /// The names of the child nodes of the group at `path`, sorted.
    public func childNames(_ path: String) async throws(AnnDataError) -> [String] {
        if let cache {
            let prefix = StoreKey.prefix(of: path)
            return cache.keys.filter { k in
                !k.isEmpty && k.hasPrefix(prefix) && k.count > prefix.count && !k.dropFirst(prefix.count).contains("/")
            }.map { String($0.dropFirst(prefix.count)) }.sorted()
        }
        return try await annotating(path) {
            let g = try await ZarrGroup.open(store, path: path)
            return try await g.children().map(\.name).sorted()
        }
    }

    /// The attributes of the node at `path`.
    public func attributes(_ path: String) async throws(AnnDataError) -> JSONObject { try await node(path).attributes }

    /// Reads the whole array at `path`. Fixed-length strings (`U<n>`, `S<n>`) come back as
    /// variable-length `.string` values.
    public func readArray(_ path: String) async throws(AnnDataError) -> NDArray {
        let n = try await node(path)
        guard case .array(let meta) = n else {
            throw .invalidElement(path: path, reason: "expected an array, found a group")
        }
        let conc = concurrency
        let values = try await annotating(path) {
            try await ZarrArray(store: store, path: path, metadata: meta).read(options: conc)
        }
        switch values.dataType {
        case .fixedUTF32, .fixedBytes, .bytes:
            do { return try NDArray(strings: try values.strings(), shape: values.shape) } catch {
                throw .invalidElement(path: path, reason: error.description)
            }
        default: return values
        }
    }

    /// Reads the element at `path`, dispatching on its `encoding-type` / `encoding-version`.
    public func read(_ path: String) async throws(AnnDataError) -> Element {
        let n = try await node(path)
        let key = Self.encodingKey(of: n)
        guard let encoding = registry.reader(for: key) else {
            throw .unknownEncoding(path: path, type: key.type, version: key.version)
        }
        return try await annotating(path) { try await encoding.read(self, path, n) }
    }

    /// The encoding pair of a node (`("", "")` without attributes). A non-string attribute is
    /// kept as its JSON text so that the error names it.
    public static func encodingKey(of node: NodeMetadata) -> EncodingKey {
        func text(_ v: JSONValue?) -> String {
            guard let v else { return "" }
            return v.string ?? v.serializedString()
        }
        return EncodingKey(text(node.attributes["encoding-type"]), text(node.attributes["encoding-version"]))
    }

    /// Reads a required string attribute.
    public func stringAttribute(_ attrs: JSONObject, _ key: String, path: String) throws(AnnDataError) -> String {
        guard let s = attrs[key]?.string else {
            throw .invalidElement(path: path, reason: "attribute '\(key)' must be a string")
        }
        return s
    }
}
