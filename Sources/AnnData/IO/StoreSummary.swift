import Zarr

/// What `anndata info` prints: the shape, the columns and keys, and how the store is encoded,
/// all from metadata (only the obs/var index arrays' shapes are needed, no chunk is read).
public struct StoreSummary: Sendable {
    /// One column of `obs` or `var`: name and a type description.
    public struct ColumnInfo: Sendable, Equatable {
        /// The column name.
        public var name: String
        /// `int64`, `string`, `categorical[string x 4, ordered]`, `nullable-integer[int32]`, ...
        public var type: String
    }

    /// 2 or 3.
    public var zarrFormat: Int
    /// Number of observations (`nil` when `obs` cannot be read).
    public var nObs: Int?
    /// Number of variables.
    public var nVars: Int?
    /// `X`'s description (`float32 dense`, `float32 csr_matrix`), or `nil` without X.
    public var X: String?
    /// The columns of obs and var.
    public var obsColumns: [ColumnInfo], varColumns: [ColumnInfo]
    /// Keys of `obsm`, `varm`, `obsp`, `varp`, `layers`, `uns` (in that order).
    public var keys: [(name: String, keys: [String])]
    /// Whether the store has a `raw` group.
    public var hasRaw: Bool
    /// Number of arrays and of them sharded.
    public var arrayCount: Int, shardedCount: Int
    /// The compressors used (`zstd(level=0)`, `blosc(lz4)`, `gzip(level=5)`, `none`).
    public var compressors: [String]
    /// Whether consolidated metadata is present, and its problems if stale.
    public var consolidated: Bool, staleEntries: [String]

    /// Summarises the store.
    public static func read(_ store: any ReadableStore) async throws(AnnDataError) -> StoreSummary {
        let (maybeNodes, stale) = try await ElementReader.metadata(of: store)
        guard let nodes = maybeNodes else {
            throw ElementReader.unlistable(store)
        }
        let root = nodes[""]
        let consolidated = try await annotating("") { try await ConsolidatedMetadata.read(store, path: "") != nil }
        func attrs(_ p: String) -> JSONObject { nodes[p]?.attributes ?? [:] }
        func type(_ p: String) -> String { nodes[p].map { ElementReader.encodingKey(of: $0).type } ?? "" }
        func children(_ p: String) -> [String] {
            let prefix = StoreKey.prefix(of: p)
            return nodes.keys.filter { $0.hasPrefix(prefix) && !$0.isEmpty && $0 != p && !$0.dropFirst(prefix.count).contains("/") }
                .map { String($0.dropFirst(prefix.count)) }.sorted()
        }
        func dtype(_ p: String) -> String {
            if case .array(let m)? = nodes[p] { return m.dataType.name }
            return "?"
        }
        func length(_ p: String) -> Int? {
            switch type(p) {
            case "nullable-string-array", "nullable-integer", "nullable-boolean":
                if case .array(let m)? = nodes[p + "/values"] { return m.shape.first }
            case "categorical":
                if case .array(let m)? = nodes[p + "/codes"] { return m.shape.first }
            default:
                if case .array(let m)? = nodes[p] { return m.shape.first }
            }
            return nil
        }
        func describe(_ p: String) -> String {
            switch type(p) {
            case "categorical":
                let n: Int? = { if case .array(let m)? = nodes[p + "/categories"] { return m.shape.first }; return nil }()
                let ordered = attrs(p)["ordered"]?.bool == true ? ", ordered" : ""
                return "categorical[\(dtype(p + "/categories")) x \(n.map(String.init) ?? "?")\(ordered)]"
            case "nullable-integer", "nullable-boolean", "nullable-string-array":
                return "\(type(p))[\(dtype(p + "/values"))]"
            case "csr_matrix", "csc_matrix": return "\(dtype(p + "/data")) \(type(p))"
            case "array": return dtype(p)
            case "string-array": return "string"
            case "": return "(no encoding) \(dtype(p))"
            case let t: return t
            }
        }
        func frame(_ p: String) -> (Int?, [ColumnInfo]) {
            let a = attrs(p)
            let index = a["_index"]?.string ?? "_index"
            let order = a["column-order"]?.array?.compactMap(\.string) ?? []
            return (length(StoreKey.join(p, index)), order.map { ColumnInfo(name: $0, type: describe(StoreKey.join(p, $0))) })
        }
        // Stores from before anndata 0.7 keep obs and var as structured arrays: their length is
        // the number of rows; X's shape is the last resort.
        func xDimension(_ axis: Int) -> Int? {
            if case .array(let m)? = nodes["X"], m.shape.count == 2 { return m.shape[axis] }
            for key in ["shape", "h5sparse_shape"] {
                if let dims = attrs("X")[key]?.array?.compactMap(\.int), dims.count == 2 { return dims[axis] }
            }
            return nil
        }
        var (nObs, obsCols) = frame("obs")
        var (nVars, varCols) = frame("var")
        nObs = nObs ?? length("obs") ?? xDimension(0)
        nVars = nVars ?? length("var") ?? xDimension(1)
        func fields(_ p: String) -> [ColumnInfo] {
            guard case .array(let m)? = nodes[p], case .structured(let fs) = m.dataType else { return [] }
            return fs.map { ColumnInfo(name: $0.name, type: $0.type.name) }
        }
        if obsCols.isEmpty { obsCols = fields("obs") }
        if varCols.isEmpty { varCols = fields("var") }
        var compressors = Set<String>()
        var arrays = 0, sharded = 0
        for case .array(let m) in nodes.values {
            arrays += 1
            if m.zarrFormat == .v2 {
                compressors.insert(codecName(m.v2.compressor))
                continue
            }
            var list = m.codecs
            if case .sharding(let sharding)? = list.first?.configuration {
                sharded += 1
                list = sharding.codecs
            }
            let b2b = list.drop { c in !["bytes", "vlen-utf8", "vlen-bytes"].contains(c.name) }.dropFirst()
            let names = b2b.filter { $0.name != "crc32c" }.map(codecName)
            compressors.insert(names.isEmpty ? "none" : names.joined(separator: "+"))
        }
        var keys: [(String, [String])] = []
        for k in ["obsm", "varm", "obsp", "varp", "layers", "uns"] { keys.append((k, children(k))) }
        return StoreSummary(
            zarrFormat: root?.zarrFormat == .v2 ? 2 : 3, nObs: nObs, nVars: nVars,
            X: nodes["X"] == nil || type("X") == "null" ? nil : describe("X") + (type("X") == "array" ? " dense" : ""),
            obsColumns: obsCols, varColumns: varCols, keys: keys, hasRaw: type("raw") == "raw",
            arrayCount: arrays, shardedCount: sharded, compressors: compressors.sorted(), consolidated: consolidated, staleEntries: stale)
    }

    static func codecName(_ c: CodecSpec) -> String {
        switch c.configuration {
        case .blosc(let b): return "blosc(\(b.cname))"
        case .zstd(let z): return "zstd(level=\(z.level))"
        case .gzip(let g): return "gzip(level=\(g.level))"
        default: return codecName(c.json)
        }
    }

    static func codecName(_ c: JSONValue) -> String {
        if c.isNull { return "none" }
        let name = c["name"]?.string ?? c["id"]?.string ?? "?"
        let conf = c["configuration"] ?? c
        switch name {
        case "blosc": return "blosc(\(conf["cname"]?.string ?? "?"))"
        case "zstd", "gzip", "zlib": return "\(name)(level=\(conf["level"]?.int.map(String.init) ?? "?"))"
        default: return name
        }
    }

    /// The summary as a JSON object (for `anndata info --json`).
    public var json: JSONValue {
        func cols(_ c: [ColumnInfo]) -> JSONValue { .array(c.map { ["name": .string($0.name), "type": .string($0.type)] }) }
        var o: JSONObject = [
            "zarr_format": .integer(zarrFormat),
            "n_obs": nObs.map(JSONValue.integer) ?? .null, "n_vars": nVars.map(JSONValue.integer) ?? .null,
            "X": X.map(JSONValue.string) ?? .null,
            "obs": cols(obsColumns), "var": cols(varColumns),
        ]
        for (k, v) in keys { o[k] = .array(v.map(JSONValue.string)) }
        o["raw"] = .bool(hasRaw)
        o["arrays"] = .integer(arrayCount)
        o["sharded_arrays"] = .integer(shardedCount)
        o["compressors"] = .array(compressors.map(JSONValue.string))
        o["consolidated"] = .bool(consolidated)
        if !staleEntries.isEmpty { o["stale_consolidated_entries"] = .array(staleEntries.map(JSONValue.string)) }
        return .object(o)
    }
}
