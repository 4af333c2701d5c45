import Synchronization
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
    /// The sorted child names of every node in `cache`, by path: built once, so that walking
    /// the hierarchy costs time linear in the number of nodes (not a scan of every path per
    /// group).
    let childIndex: [String: [String]]?
    /// Threads and requests for chunk decoding.
    public let concurrency: ConcurrencyOptions
    /// When the cache is a consolidated copy that was not checked node by node up front (a
    /// remote store): checks each node against its own metadata document the first time it is
    /// used.
    let verifier: NodeVerifier?
    /// Called before every element is read (see `dispatching(_:)`).
    let readCallback: ReadCallback?
    /// Rows to read of the arrays of one element (see `selectingRows(_:of:)`).
    let rowSelection: RowSelection?

    /// A reader that looks nodes up directly in the store (no cache).
    public init(store: any ReadableStore, registry: EncodingRegistry = .standard, concurrency: ConcurrencyOptions = .automatic) {
        self.init(store: store, registry: registry, cache: nil, concurrency: concurrency)
    }

    init(
        store: any ReadableStore, registry: EncodingRegistry, cache: [String: NodeMetadata]?, concurrency: ConcurrencyOptions,
        verifier: NodeVerifier? = nil, readCallback: ReadCallback? = nil, rowSelection: RowSelection? = nil
    ) {
        self.store = store
        self.registry = registry
        self.cache = cache
        self.childIndex = cache.map(Self.childIndex(of:))
        self.concurrency = concurrency
        self.verifier = verifier
        self.readCallback = readCallback
        self.rowSelection = rowSelection
    }

    /// Opens a store for reading. Consolidated metadata that disagrees with the nodes is refused
    /// (`staleConsolidatedMetadata`), never used silently:
    /// - a local listable store: every node's metadata is collected and compared up front;
    /// - a remote store with consolidated metadata (`RemoteStore`): one listing per group
    ///   checks that the nodes are the ones the consolidated copy names (when the store can
    ///   list), and each node is compared with its own metadata document when it is first
    ///   read, so reading one element costs a request per node of that element only;
    /// - a store without consolidated metadata: nodes are read as they are needed.
    public static func open(
        _ store: any ReadableStore, registry: EncodingRegistry = .standard, concurrency: ConcurrencyOptions = .automatic
    ) async throws(AnnDataError) -> ElementReader {
        if store is any RemoteStore, let (cache, root) = try await consolidatedCache(of: store) {
            if let listable = store as? any ListableStore {
                let stale = try await structureProblems(listable, cache: cache)
                if !stale.isEmpty { throw .staleConsolidatedMetadata(stale) }
            }
            return ElementReader(store: store, registry: registry, cache: cache, concurrency: concurrency,
                                 verifier: NodeVerifier(verified: ["": root]))
        }
        let (cache, stale) = try await metadata(of: store)
        if !stale.isEmpty { throw .staleConsolidatedMetadata(stale) }
        return ElementReader(store: store, registry: registry, cache: cache, concurrency: concurrency)
    }

    /// The consolidated copy as a cache (with the root's own metadata), or `nil` when the store
    /// has none.
    static func consolidatedCache(of store: any ReadableStore) async throws(AnnDataError) -> ([String: NodeMetadata], NodeMetadata)? {
        try await annotating("") { () async throws -> ([String: NodeMetadata], NodeMetadata)? in
            let root: NodeMetadata
            do { root = try await NodeMetadata.read(store, path: "") } catch ZarrError.nodeNotFound {
                throw AnnDataError.missingElement(path: "")
            }
            guard let consolidated = try await ConsolidatedMetadata.read(store, path: "") else { return nil }
            if let problem = try await rootAttributeProblems(store, root: root).first { throw AnnDataError.staleConsolidatedMetadata([problem]) }
            var map = Dictionary(consolidated.nodes.map { ($0.path, $0.node) }, uniquingKeysWith: { a, _ in a })
            map[""] = root
            return (map, root)
        }
    }

    /// Nodes added or removed behind the consolidated copy's back: each group's child folders
    /// (one listing per group, concurrently) against the children the copy names.
    static func structureProblems(_ store: any ListableStore, cache: [String: NodeMetadata]) async throws(AnnDataError) -> [String] {
        let groups = cache.filter { if case .group = $0.value { return true } else { return false } }.keys.sorted()
        var expected: [String: Set<String>] = [:]
        for path in cache.keys where !path.isEmpty {
            let parent = path.split(separator: "/").dropLast().joined(separator: "/")
            expected[parent, default: []].insert(String(path.split(separator: "/").last ?? ""))
        }
        let known = expected
        return try await annotating("") {
            let found = try await Parallel.map(groups, limit: 16) { group -> [String] in
                let listing = try await store.listDirectory(StoreKey.prefix(of: group))
                let want = known[group] ?? []
                var out: [String] = []
                for name in listing.prefixes where !want.contains(name) {
                    // A folder that is a node (not a chunk folder) but is not in the copy.
                    let child = StoreKey.join(group, name)
                    if try await Self.nodeExists(store, path: child) { out.append("\(child): not in the consolidated metadata") }
                }
                let present = Set(listing.prefixes)
                for name in want.sorted() where !present.contains(name) {
                    out.append("\(StoreKey.join(group, name)): listed in the consolidated metadata but missing")
                }
                return out
            }
            return found.flatMap { $0 }.sorted()
        }
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
        guard root.zarrFormat == .v2, let bytes = try await store.getMetadataDocument(NodeMetadata.Keys.zmetadata) else { return [] }
        guard let doc = try? JSONValue.parse(bytes), let listed = doc["metadata"]?[".zattrs"]?.object else { return [] }
        return listed == root.attributes ? [] : ["/: root attributes in .zmetadata differ from .zattrs"]
    }

    /// The metadata of the node at `path`.
    public func node(_ path: String) async throws(AnnDataError) -> NodeMetadata {
        if let cache {
            guard let n = cache[path] else { throw .missingElement(path: path) }
            if let verifier { try await verifier.verify(path, expected: n, in: store) }
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

    /// Whether a node exists at `path`. Only "no such node" reads as `false`: any other
    /// failure (an HTTP 403, retries exhausted on 5xx, unreadable metadata) is thrown, so that
    /// an element is never silently dropped from what is read.
    public func exists(_ path: String) async throws(AnnDataError) -> Bool {
        if let cache { return cache[path] != nil }
        return try await Self.nodeExists(store, path: path)
    }

    /// Whether `store` has a node at `path`: `false` only when it has none (`nodeNotFound`);
    /// other errors are thrown as `AnnDataError`s naming `path`.
    static func nodeExists(_ store: any ReadableStore, path: String) async throws(AnnDataError) -> Bool {
        try await nodeIfPresent(store, path: path) != nil
    }

    /// The metadata of the node at `path` of `store`, `nil` only when there is no such node;
    /// other errors are thrown as `AnnDataError`s naming `path`.
    static func nodeIfPresent(_ store: any ReadableStore, path: String) async throws(AnnDataError) -> NodeMetadata? {
        do {
            return try await NodeMetadata.read(store, path: path)
        } catch ZarrError.nodeNotFound {
            return nil
        } catch {
            throw AnnDataError.wrap(error, path: path)
        }
    }

    /// The error for a store that can neither list its keys nor offers consolidated metadata,
    /// so the children of its groups cannot be found.
    static func unlistable(_ store: any ReadableStore) -> AnnDataError {
        .unsupported(path: "", reason: unlistableReason(store))
    }

    /// The text of `unlistable(_:)`.
    static func unlistableReason(_ store: any ReadableStore) -> String {
        "the store \(store.storeDescription) cannot list its keys and has no consolidated metadata, "
            + "so the children of its groups cannot be found (write or consolidate it with consolidated metadata, "
            + "e.g. `anndata zarr consolidate` on a local or s3:// copy)"
    }

    /// The sorted child names of every node of `nodes`, by parent path.
    static func childIndex(of nodes: [String: NodeMetadata]) -> [String: [String]] {
        var index: [String: [String]] = [:]
        for path in nodes.keys where !path.isEmpty {
            let utf8 = path.utf8
            if let slash = utf8.lastIndex(of: UInt8(ascii: "/")) {
                index[String(path[..<slash]), default: []].append(String(path[utf8.index(after: slash)...]))
            } else {
                index["", default: []].append(path)
            }
        }
        for key in index.keys { index[key]?.sort() }
        return index
    }

    /// The names of the child nodes of the group at `path`, sorted.
    public func childNames(_ path: String) async throws(AnnDataError) -> [String] {
        if let childIndex { return childIndex[path] ?? [] }
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
        let selection = try await rowSelection(for: path, shape: meta.shape)
        let values = try await annotating(path) {
            let array = try ZarrArray(store: store, path: path, metadata: meta)
            if let selection { return try await array.read(selection, options: conc) }
            return try await array.read(options: conc)
        }
        switch values.dataType {
        case .fixedUTF32, .fixedBytes, .bytes:
            do { return try NDArray(strings: try values.strings(), shape: values.shape) } catch {
                throw .invalidElement(path: path, reason: error.description)
            }
        default: return values
        }
    }

    /// Reads the element at `path`, dispatching on its `encoding-type` / `encoding-version`
    /// (through the read callback, when there is one). A callback that skips it is an error
    /// here: use `readIfIncluded(_:)` where the element may be left out.
    public func read(_ path: String) async throws(AnnDataError) -> Element {
        guard let element = try await readIfIncluded(path) else {
            throw .invalidElement(path: path, reason: "a required element was skipped by the read callback")
        }
        return element
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

/// Checks nodes of a consolidated copy against their own metadata documents, once each.
final class NodeVerifier: Sendable {
    private let verified: Mutex<Set<String>>

    init(verified: [String: NodeMetadata]) { self.verified = Mutex(Set(verified.keys)) }

    /// Throws `staleConsolidatedMetadata` when the node at `path` is missing or its metadata
    /// differs from `expected`.
    func verify(_ path: String, expected: NodeMetadata, in store: any ReadableStore) async throws(AnnDataError) {
        if verified.withLock({ $0.contains(path) }) { return }
        let actual: NodeMetadata
        do {
            actual = try await NodeMetadata.read(store, path: path)
        } catch ZarrError.nodeNotFound {
            throw .staleConsolidatedMetadata(["\(path): listed in the consolidated metadata but missing"])
        } catch {
            throw AnnDataError.wrap(error, path: path)
        }
        guard actual == expected else {
            throw .staleConsolidatedMetadata(["\(path): consolidated metadata differs from the node's own"])
        }
        _ = verified.withLock { $0.insert(path) }
    }
}
