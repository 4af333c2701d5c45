import Synchronization

/// A copy of every node's metadata below a group, kept at the group so a hierarchy opens with one
/// read and no listing: inline in the root `zarr.json` (v3) or in `.zmetadata` (v2), in the
/// shape zarr-python writes. The per-node documents stay authoritative.
public struct ConsolidatedMetadata: Sendable, Hashable {
    /// The format of the hierarchy.
    public var zarrFormat: ZarrFormat
    /// Node path relative to the consolidating group → metadata, in path order.
    public var nodes: [(path: String, node: NodeMetadata)]

    /// Equal when the formats and the node entries (in order) are equal.
    public static func == (a: ConsolidatedMetadata, b: ConsolidatedMetadata) -> Bool {
        a.zarrFormat == b.zarrFormat && a.nodes.count == b.nodes.count
            && zip(a.nodes, b.nodes).allSatisfy { $0.path == $1.path && $0.node == $1.node }
    }
    /// Hashes the format and the node entries.
    public func hash(into h: inout Hasher) { h.combine(zarrFormat); for n in nodes { h.combine(n.path); h.combine(n.node) } }

    /// A consolidated copy of these nodes.
    public init(zarrFormat: ZarrFormat, nodes: [(path: String, node: NodeMetadata)]) {
        self.zarrFormat = zarrFormat
        self.nodes = nodes.sorted { $0.path < $1.path }
    }

    /// The metadata of the node at relative `path`, if listed.
    public subscript(path: String) -> NodeMetadata? { nodes.first { $0.path == path }?.node }

    /// Reads the consolidated metadata of the group at `path`, or `nil` if it has none.
    public static func read(_ store: any ReadableStore, path: String = "") async throws -> ConsolidatedMetadata? {
        let prefix = StoreKey.prefix(of: path)
        if let bytes = try await store.getMetadataDocument(prefix + NodeMetadata.Keys.v3) {
            let doc = try NodeMetadata.parseJSON(bytes, key: prefix + NodeMetadata.Keys.v3)
            return try parseV3Member(doc, path: path)
        }
        if let bytes = try await store.getMetadataDocument(prefix + NodeMetadata.Keys.zmetadata) {
            let doc = try NodeMetadata.parseJSON(bytes, key: prefix + NodeMetadata.Keys.zmetadata)
            return try parseV2(doc, path: path)
        }
        return nil
    }

    /// Parses the `consolidated_metadata` member of a v3 group document, if present.
    public static func parseV3Member(_ doc: JSONValue, path: String) throws(ZarrError) -> ConsolidatedMetadata? {
        guard let cm = doc["consolidated_metadata"], !cm.isNull else { return nil }
        guard let meta = cm["metadata"]?.object else {
            throw .invalidMetadata(path: path, reason: "consolidated_metadata has no 'metadata' object")
        }
        if let kind = cm["kind"]?.string, kind != "inline" {
            throw .invalidMetadata(path: path, reason: "consolidated_metadata kind '\(kind)' is not supported")
        }
        var nodes: [(path: String, node: NodeMetadata)] = []
        for (rel, value) in meta {
            let p = try StoreKey.normalizeNodePath(rel)
            nodes.append((p, try NodeMetadata.parseV3(value, path: StoreKey.join(path, p))))
        }
        return ConsolidatedMetadata(zarrFormat: .v3, nodes: nodes)
    }

    /// Parses a v2 `.zmetadata` document.
    public static func parseV2(_ doc: JSONValue, path: String) throws(ZarrError) -> ConsolidatedMetadata {
        guard let meta = doc["metadata"]?.object else {
            throw .invalidMetadata(path: path, reason: ".zmetadata has no 'metadata' object")
        }
        var attrs: [String: JSONObject] = [:]
        for (key, value) in meta where key == ".zattrs" || key.hasSuffix("/.zattrs") {
            guard let o = value.object else { throw .invalidMetadata(path: path, reason: "\(key) in .zmetadata is not an object") }
            attrs[String(key.dropLast(".zattrs".count)).trimmingSlash] = o
        }
        var nodes: [(path: String, node: NodeMetadata)] = []
        for (key, value) in meta {
            if key == ".zarray" || key.hasSuffix("/.zarray") {
                let rel = try StoreKey.normalizeNodePath(String(key.dropLast(".zarray".count)).trimmingSlash)
                let m = try ArrayMetadata.parseV2(value, attributes: attrs[rel] ?? [:], path: StoreKey.join(path, rel))
                nodes.append((rel, .array(m)))
            } else if key == ".zgroup" || key.hasSuffix("/.zgroup") {
                let rel = try StoreKey.normalizeNodePath(String(key.dropLast(".zgroup".count)).trimmingSlash)
                if rel.isEmpty { continue }  // the consolidating group itself
                nodes.append((rel, .group(GroupMetadata(zarrFormat: .v2, attributes: attrs[rel] ?? [:]))))
            }
        }
        return ConsolidatedMetadata(zarrFormat: .v2, nodes: nodes)
    }

    /// The v3 `consolidated_metadata` member, as zarr-python writes it (nested groups carry an
    /// empty one of their own).
    public func v3Member() -> JSONValue {
        var meta = JSONObject()
        for (p, node) in nodes {
            var doc = node.documents().first?.1 ?? .null
            if case .group = node, var o = doc.object {
                o["consolidated_metadata"] = ["kind": "inline", "must_understand": false, "metadata": [:]]
                doc = .object(o)
            }
            meta[p] = doc
        }
        return ["kind": "inline", "must_understand": false, "metadata": .object(meta)]
    }

    /// The v2 `.zmetadata` document for a group with attributes `rootAttributes`.
    public func v2Document(rootAttributes: JSONObject) -> JSONValue {
        var meta: JSONObject = [".zgroup": GroupMetadata.v2Document, ".zattrs": .object(rootAttributes)]
        for (p, node) in nodes {
            for (name, doc) in node.documents() { meta[p + "/" + name] = doc }
        }
        return ["zarr_consolidated_format": 1, "metadata": .object(meta)]
    }

    /// Walks the hierarchy below the group at `path` by listing, reading every node's own
    /// metadata.
    public static func collect(_ store: any ListableStore, path: String = "", format: ZarrFormat) async throws -> ConsolidatedMetadata {
        // One listing per group; the children of a group are read concurrently (a remote store
        // then costs a round trip per level of the hierarchy, not per node). Nodes are collected
        // in one list (sorted once at the end), so a deep hierarchy costs time linear in its
        // nodes rather than copying every subtree once per level.
        let found = Mutex<[(path: String, node: NodeMetadata)]>([])
        @Sendable func walk(_ rel: String) async throws {
            let full = StoreKey.join(path, rel)
            let listing = try await store.listDirectory(StoreKey.prefix(of: full))
            _ = try await Parallel.map(listing.prefixes.sorted(), limit: 16) { name in
                let childRel = StoreKey.join(rel, name)
                let node: NodeMetadata
                do {
                    node = try await NodeMetadata.read(store, path: StoreKey.join(path, childRel))
                } catch ZarrError.nodeNotFound {
                    return  // a chunk directory (c/, 0/) or foreign data
                }
                found.withLock { $0.append((childRel, node)) }
                if case .group = node { try await walk(childRel) }
            }
        }
        try await walk("")
        return ConsolidatedMetadata(zarrFormat: format, nodes: found.withLock { $0 })
    }

    /// Re-consolidates the group at `path`: collects every node's metadata by listing and writes
    /// it back (v3: into the group's `zarr.json`; v2: `.zmetadata`). Write it last, after the
    /// nodes it describes.
    public static func consolidate(_ store: any WritableStore & ListableStore, path: String = "") async throws {
        let p = try StoreKey.normalizeNodePath(path)
        guard case .group(let group) = try await NodeMetadata.read(store, path: p) else {
            throw ZarrError.nodeKindMismatch(path: p, expected: "a group")
        }
        let c = try await collect(store, path: p, format: group.zarrFormat)
        try await c.write(to: store, path: p, group: group)
    }

    /// Writes this consolidated copy at the group at `path` whose own metadata is `group`.
    /// A node whose metadata would nest the document deeper than the parser accepts is a typed
    /// error naming that node, and nothing is written (the store stays readable).
    public func write(to store: any WritableStore, path: String, group: GroupMetadata) async throws {
        let prefix = StoreKey.prefix(of: path)
        let extra = NodeMetadata.consolidatedExtraDepth(zarrFormat)
        for (p, node) in nodes {
            for (_, doc) in node.documents() { try doc.checkNesting(path: StoreKey.join(path, p), extraDepth: extra) }
        }
        if zarrFormat == .v2 { try JSONValue.object(group.attributes).checkNesting(path: path, extraDepth: extra) }
        switch zarrFormat {
        case .v3:
            guard var doc = group.v3Document().object else { return }
            doc["consolidated_metadata"] = v3Member()
            try await store.set(prefix + NodeMetadata.Keys.v3, try JSONValue.object(doc).serializedForWriting(path: path))
        case .v2:
            try await store.set(prefix + NodeMetadata.Keys.zmetadata, try v2Document(rootAttributes: group.attributes).serializedForWriting(path: path))
        }
    }

    /// The paths whose consolidated copy differs from the node's own metadata, or that are
    /// listed but missing, or present but not listed. Empty when the copy is true.
    public func staleEntries(comparedWith actual: ConsolidatedMetadata) -> [String] {
        var out: [String] = []
        let mine = Dictionary(nodes.map { ($0.path, $0.node) }, uniquingKeysWith: { a, _ in a })
        let theirs = Dictionary(actual.nodes.map { ($0.path, $0.node) }, uniquingKeysWith: { a, _ in a })
        for (p, n) in mine.sorted(by: { $0.key < $1.key }) {
            guard let t = theirs[p] else { out.append("\(p): listed in the consolidated metadata but missing"); continue }
            if t != n { out.append("\(p): consolidated metadata differs from the node's own") }
        }
        for p in theirs.keys.sorted() where mine[p] == nil { out.append("\(p): not in the consolidated metadata") }
        return out
    }
}

extension String {
    var trimmingSlash: String {
        var s = Substring(self)
        while s.hasSuffix("/") { s = s.dropLast() }
        return String(s)
    }
}
