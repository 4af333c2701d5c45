import ArgumentParser
import Foundation
import Zarr

/// Options shared by the verbs that name a node.
struct NodeOptions: ParsableArguments {
    @Argument(help: "The store: a directory, a .zip archive (read-only), an http(s):// URL (read-only; groups need consolidated metadata) or an s3://bucket/prefix URL.")
    var store: String

    @Option(help: "The node path inside the store (default: the root).")
    var path: String = ""

    /// The normalised node path. Any absolute path is refused, `/` included (the library
    /// reads `/` as the root; on the command line it is an absolute path).
    func nodePath() throws -> String {
        if path.hasPrefix("/") { throw ZarrError.invalidKey(path, reason: "absolute paths are not allowed") }
        return try StoreKey.normalizeNodePath(path)
    }
}

struct ZarrCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create an array or group from a zarr.json, .zarray or .zgroup document.")

    @OptionGroup var node: NodeOptions
    @Option(help: "The metadata document.") var metadata: String
    @Option(help: "A JSON object of attributes to merge (the document's keys win).") var attributes: String?

    func run() async throws {
        let path = try node.nodePath()
        let store = try StoreLocation.writable(node.store)
        let doc = try JSONValue.parse(try ValuesFile.read(metadata))
        let lock = try await StoreLocation.writeLock(node.store, create: true)
        defer { lock?.release() }
        // Never write into (or, at the root, replace) something that is not a Zarr store.
        if case .other(let example) = try await StoreContents.inspect(store) {
            throw ZarrError.refusedDestination(node.store, reason: "it is not empty and not a Zarr store (it holds '\(example)')")
        }
        let consolidated = path.isEmpty ? false : try await ConsolidatedMetadata.read(store, path: "") != nil
        var extra = JSONObject()
        if let attributes {
            guard let o = try JSONValue.parse(try ValuesFile.read(attributes)).object else {
                throw ZarrError.invalidMetadata(path: attributes, reason: "attributes must be a JSON object")
            }
            extra = o
        }
        guard let o = doc.object else { throw ZarrError.invalidMetadata(path: metadata, reason: "not a JSON object") }
        switch o["zarr_format"]?.int {
        case 3:
            var node = try NodeMetadata.parseV3(doc, path: path)
            switch node {
            case .array(var a):
                var merged = extra
                merged.merge(a.attributes)
                a.attributes = merged
                node = .array(a)
                try await ZarrArray.create(store, path: path, metadata: a)
            case .group(var g):
                var merged = extra
                merged.merge(g.attributes)
                g.attributes = merged
                node = .group(g)
                try await NodeMetadata.removeNode(store, path: path)
                try await ZarrGroup.create(store, path: path, format: .v3, attributes: g.attributes)
            }
        case 2:
            if o["dtype"] != nil || o["chunks"] != nil {
                let a = try ArrayMetadata.parseV2(doc, attributes: extra, path: path)
                try await ZarrArray.create(store, path: path, metadata: a)
            } else {
                try await NodeMetadata.removeNode(store, path: path)
                try await ZarrGroup.create(store, path: path, format: .v2, attributes: extra)
            }
        default:
            throw ZarrError.invalidMetadata(path: metadata, reason: "zarr_format must be 2 or 3")
        }
        // Keep the store's consolidated metadata true to its nodes.
        if consolidated, let listable = store as? any WritableStore & ListableStore {
            try await ConsolidatedMetadata.consolidate(listable)
        }
    }
}

struct ZarrWrite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "write", abstract: "Write values into an array region.")

    @OptionGroup var node: NodeOptions
    @Option(help: "The region, start:stop per dimension, comma separated (default: the whole array).") var region: String?
    @Option(help: "The values file (C order; see the README).") var values: String

    func run() async throws {
        let path = try node.nodePath()
        let store = try StoreLocation.writable(node.store)
        // Writes of partial chunks and shards read, modify and write: one writer at a time.
        let lock = try await StoreLocation.writeLock(node.store)
        defer { lock?.release() }
        let array = try await ZarrArray.open(store, path: path)
        let sel = try region.map { try RegionArgument.parse($0, rank: array.shape.count) } ?? array.fullRegion
        try array.checkRegion(sel)  // a region outside the array is refused before the values are read
        let data = try NDArray(packed: try ValuesFile.read(values), dataType: array.dataType, shape: sel.map(\.count))
        try await array.write(data, at: sel.map(\.lowerBound))
    }
}

struct ZarrRead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "read", abstract: "Read an array region into a values file.")

    @OptionGroup var node: NodeOptions
    @Option(help: "The region, start:stop per dimension, comma separated (default: the whole array).") var region: String?
    @Option(help: "Where to write the values.") var out: String
    @OptionGroup var stats: StatsOption

    func run() async throws {
        let path = try node.nodePath()
        let metrics = stats.metrics()
        defer { stats.report([("store", node.store, metrics)]) }
        let store = try await StoreLocation.readable(node.store, metrics: metrics)
        let array = try await ZarrArray.open(store, path: path)
        if array.shape.isEmpty, region != nil { throw ZarrError.invalidSelection("a 0-d array takes no --region") }
        let sel = try region.map { try RegionArgument.parse($0, rank: array.shape.count) }
        let values = try await array.read(sel)
        try ValuesFile.write(values.packedBytes(), to: out)
        let line: JSONValue = [
            "zarr_format": .integer(array.metadata.zarrFormat.rawValue), "shape": .integers(values.shape),
            "data_type": .string(array.dataType.name),
        ]
        print(line.serializedString(indent: 0))
    }
}

struct ZarrConsolidate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "consolidate", abstract: "Write consolidated metadata for the whole hierarchy.")

    @Argument(help: "The store: a directory or an s3://bucket/prefix URL (zip archives and http(s):// URLs are read-only).") var store: String

    func run() async throws {
        let s = try StoreLocation.writable(store)
        let lock = try await StoreLocation.writeLock(store)
        defer { lock?.release() }
        try await ConsolidatedMetadata.consolidate(s)
    }
}

struct ZarrTree: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tree", abstract: "Print the hierarchy, one node per line.")

    @Argument(help: "The store: a directory, a .zip archive, an http(s):// URL (with consolidated metadata) or an s3://bucket/prefix URL.") var store: String
    @OptionGroup var stats: StatsOption

    func run() async throws {
        let metrics = stats.metrics()
        defer { stats.report([("store", store, metrics)]) }
        let s = try await StoreLocation.readable(store, metrics: metrics)
        let root = try await NodeMetadata.read(s, path: "")
        print("/ \(Self.describe(root))")
        if case .group = root {
            let group = try await ZarrGroup.open(s)
            try await Self.printChildren(of: group, store: s, depth: 1)
        }
    }

    static func describe(_ node: NodeMetadata) -> String {
        switch node {
        case .group(let g): return "group (zarr v\(g.zarrFormat.rawValue))"
        case .array(let a):
            return "array \(a.dataType.name) shape [\(a.shape.map(String.init).joined(separator: ", "))] chunks [\(a.chunkShape.map(String.init).joined(separator: ", "))] (zarr v\(a.zarrFormat.rawValue))"
        }
    }

    static func printChildren(of group: ZarrGroup, store: any ReadableStore, depth: Int) async throws {
        for (name, node) in try await group.children() {
            print(String(repeating: "  ", count: depth) + name + " " + describe(node))
            if case .group(let g) = node {
                let path = StoreKey.join(group.path, name)
                let child: ZarrGroup
                if let c = group.consolidated {
                    let nodes = c.nodes.compactMap { entry -> (path: String, node: NodeMetadata)? in
                        entry.path.hasPrefix(name + "/") ? (String(entry.path.dropFirst(name.count + 1)), entry.node) : nil
                    }
                    child = ZarrGroup(store: store, path: path, metadata: g, consolidated: ConsolidatedMetadata(zarrFormat: c.zarrFormat, nodes: nodes))
                } else {
                    child = ZarrGroup(store: store, path: path, metadata: g)
                }
                try await printChildren(of: child, store: store, depth: depth + 1)
            }
        }
    }
}
