extension ArrayMetadata {
    static let knownV3Members: Set<String> = [
        "zarr_format", "node_type", "shape", "data_type", "chunk_grid", "chunk_key_encoding",
        "fill_value", "codecs", "attributes", "storage_transformers", "dimension_names",
    ]

    static func intList(_ v: JSONValue?, _ what: String, path: String) throws(ZarrError) -> [Int] {
        guard let list = v?.array else { throw .invalidMetadata(path: path, reason: "'\(what)' must be a list of integers") }
        var out: [Int] = []
        for x in list {
            guard case .int(let i) = x, let n = Int(exactly: i) else {
                throw .invalidMetadata(path: path, reason: "'\(what)' must be a list of integers")
            }
            out.append(n)
        }
        return out
    }

    /// Parses a v3 array `zarr.json` document.
    public static func parseV3(_ json: JSONValue, path: String) throws(ZarrError) -> ArrayMetadata {
        guard let o = json.object else { throw .invalidMetadata(path: path, reason: "zarr.json is not an object") }
        guard o["zarr_format"]?.int == 3 else { throw .invalidMetadata(path: path, reason: "zarr_format is not 3") }
        guard o["node_type"]?.string == "array" else { throw .nodeKindMismatch(path: path, expected: "an array") }
        var extra = JSONObject()
        for (k, v) in o where !knownV3Members.contains(k) {
            guard v.object?["must_understand"]?.bool == false else {
                throw .invalidMetadata(path: path, reason: "unknown member '\(k)' that must be understood")
            }
            extra[k] = v
        }
        do throws(ZarrError) {
            let shape = try intList(o["shape"], "shape", path: path)
            guard let grid = o["chunk_grid"] else { throw ZarrError.invalidMetadata(path: path, reason: "missing chunk_grid") }
            let gridName = grid.string ?? grid["name"]?.string
            guard gridName == "regular" else {
                throw ZarrError.invalidMetadata(path: path, reason: "unsupported chunk grid \(grid.serializedString())")
            }
            let chunks = try intList(grid["configuration"]?["chunk_shape"], "chunk_shape", path: path)
            guard let dt = o["data_type"] else { throw ZarrError.invalidMetadata(path: path, reason: "missing data_type") }
            let dataType = try DataType.fromV3(dt)
            guard let fv = o["fill_value"] else { throw ZarrError.invalidMetadata(path: path, reason: "missing fill_value") }
            let fill = try FillValue.parse(fv, type: dataType, v2: false)
            guard let cke = o["chunk_key_encoding"] else { throw ZarrError.invalidMetadata(path: path, reason: "missing chunk_key_encoding") }
            let keyEncoding = try ChunkKeyEncoding.fromV3(cke)
            guard let codecs = o["codecs"]?.array, !codecs.isEmpty else {
                throw ZarrError.invalidMetadata(path: path, reason: "codecs must be a non-empty list")
            }
            if let st = o["storage_transformers"] {
                guard let list = st.array else { throw ZarrError.invalidMetadata(path: path, reason: "storage_transformers must be a list") }
                for t in list where t.object?["must_understand"]?.bool != false {
                    throw ZarrError.unsupportedCodec("storage transformer \(t.serializedString())")
                }
            }
            var attrs = JSONObject()
            if let a = o["attributes"] {
                guard let ao = a.object else { throw ZarrError.invalidMetadata(path: path, reason: "attributes must be an object") }
                attrs = ao
            }
            var names: [String?]?
            if let dn = o["dimension_names"], !dn.isNull {
                guard let list = dn.array else { throw ZarrError.invalidMetadata(path: path, reason: "dimension_names must be a list") }
                var out: [String?] = []
                for n in list {
                    if n.isNull { out.append(nil) } else if let s = n.string { out.append(s) } else {
                        throw ZarrError.invalidMetadata(path: path, reason: "dimension_names entries must be strings or null")
                    }
                }
                names = out
            }
            var m = ArrayMetadata(
                shape: shape, chunkShape: chunks, dataType: dataType, fillValue: fill, codecs: codecs.map(CodecSpec.init(json:)),
                chunkKeyEncoding: keyEncoding, attributes: attrs, dimensionNames: names, zarrFormat: .v3)
            m.extraMembers = extra
            try m.validate(path: path)
            return m
        } catch {
            throw error.at(path)
        }
    }

    /// Parses a v2 `.zarray` document (and `.zattrs`, if any).
    public static func parseV2(_ json: JSONValue, attributes: JSONObject = [:], path: String) throws(ZarrError) -> ArrayMetadata {
        guard let o = json.object else { throw .invalidMetadata(path: path, reason: ".zarray is not an object") }
        guard o["zarr_format"]?.int == 2 else { throw .invalidMetadata(path: path, reason: "zarr_format is not 2") }
        do throws(ZarrError) {
            let shape = try intList(o["shape"], "shape", path: path)
            let chunks = try intList(o["chunks"], "chunks", path: path)
            guard let dt = o["dtype"] else { throw ZarrError.invalidMetadata(path: path, reason: "missing dtype") }
            var parsed = try DataType.fromV2(dt)
            let filters = o["filters"] ?? .null
            if parsed.isObject {
                let ids = filters.array?.compactMap { $0["id"]?.string } ?? []
                if ids.contains("vlen-bytes") { parsed.dataType = .bytes } else if ids.contains("vlen-utf8") { parsed.dataType = .string } else {
                    throw ZarrError.unsupportedDataType("|O without a vlen-utf8 or vlen-bytes filter")
                }
            }
            let fill = try FillValue.parse(o["fill_value"] ?? .null, type: parsed.dataType, v2: true)
            let order = o["order"]?.string ?? "C"
            guard order == "C" || order == "F" else { throw ZarrError.invalidMetadata(path: path, reason: "order must be C or F") }
            let sep = o["dimension_separator"]?.string ?? "."
            guard sep == "." || sep == "/" else { throw ZarrError.invalidMetadata(path: path, reason: "invalid dimension_separator") }
            let v2 = V2ArrayOptions(order: order, filters: filters, compressor: o["compressor"] ?? .null, bigEndian: parsed.bigEndian,
                                    explicitSeparator: o["dimension_separator"] != nil)
            let m = ArrayMetadata(
                shape: shape, chunkShape: chunks, dataType: parsed.dataType, fillValue: fill, codecs: [],
                chunkKeyEncoding: ChunkKeyEncoding(.v2, separator: sep), attributes: attributes, zarrFormat: .v2, v2: v2)
            try m.validate(path: path)
            return m
        } catch {
            throw error.at(path)
        }
    }
}

extension ZarrError {
    /// The same error with an empty path filled in.
    func at(_ path: String) -> ZarrError {
        switch self {
        case .invalidMetadata("", let r): return .invalidMetadata(path: path, reason: r)
        case .unsupportedDataType(let d): return .invalidMetadata(path: path, reason: "unsupported data type \(d)")
        case .unsupportedCodec(let c): return .invalidMetadata(path: path, reason: "unsupported codec \(c)")
        case .invalidCodecConfiguration(let c, let r): return .invalidMetadata(path: path, reason: "codec '\(c)': \(r)")
        default: return self
        }
    }
}
