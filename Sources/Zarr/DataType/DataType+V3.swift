extension DataType {
    /// Parses a v3 `data_type` member: a core name, or an extension object.
    public static func fromV3(_ json: JSONValue) throws(ZarrError) -> DataType {
        let name: String
        var config = JSONObject()
        switch json {
        case .string(let s): name = s
        case .object(let o):
            guard let n = o["name"]?.string else { throw .invalidMetadata(path: "", reason: "data_type object without a name") }
            name = n
            if let c = o["configuration"] {
                guard let co = c.object else { throw .invalidMetadata(path: "", reason: "data_type configuration is not an object") }
                config = co
            }
        default:
            throw .invalidMetadata(path: "", reason: "data_type must be a string or an object")
        }
        if let t = numericByName[name] { return t }
        let t = try extensionType(name, config: config, json: json)
        try t.checkItemSize()
        return t
    }

    /// The extension data types, by name.
    static func extensionType(_ name: String, config: JSONObject, json: JSONValue) throws(ZarrError) -> DataType {
        switch name {
        case "string", "variable_length_utf8": return .string
        case "bytes", "variable_length_bytes": return .bytes
        case "fixed_length_utf32":
            guard let n = config["length_bytes"]?.int, n >= 0, n % 4 == 0 else {
                throw .invalidMetadata(path: "", reason: "fixed_length_utf32 needs length_bytes, a multiple of 4")
            }
            return .fixedUTF32(length: n / 4)
        case "null_terminated_bytes", "fixed_length_bytes":
            guard let n = config["length_bytes"]?.int, n >= 0 else {
                throw .invalidMetadata(path: "", reason: "\(name) needs length_bytes")
            }
            return .fixedBytes(length: n)
        case "raw_bytes":
            guard let n = config["length_bytes"]?.int, n > 0 else { throw .invalidMetadata(path: "", reason: "raw_bytes needs length_bytes") }
            return .raw(bytes: n)
        case "structured":
            // zarr-python 3.1: {"fields": [[name, type], ...]}
            guard let fields = config["fields"]?.array else { throw .invalidMetadata(path: "", reason: "structured needs fields") }
            var out: [StructField] = []
            for f in fields {
                guard let pair = f.array, pair.count >= 2, let fname = pair[0].string else {
                    throw .invalidMetadata(path: "", reason: "invalid structured field \(f.serializedString())")
                }
                let shape = try fieldShape(pair.count > 2 ? pair[2] : nil, field: fname)
                out.append(StructField(name: fname, type: try fromV3(pair[1]), shape: shape))
            }
            return try checkedStructured(out)
        case "struct":
            // zarr-python 3.4: {"fields": [{"name": ..., "data_type": ...}, ...]}
            guard let fields = config["fields"]?.array else { throw .invalidMetadata(path: "", reason: "struct needs fields") }
            var out: [StructField] = []
            for f in fields {
                guard let fo = f.object, let fname = fo["name"]?.string, let ft = fo["data_type"] else {
                    throw .invalidMetadata(path: "", reason: "invalid struct field \(f.serializedString())")
                }
                out.append(StructField(name: fname, type: try fromV3(ft)))
            }
            return try checkedStructured(out)
        default:
            if name.count > 1, name.hasPrefix("r"), let bits = Int(name.dropFirst()), bits > 0, bits % 8 == 0 {
                return .raw(bytes: bits / 8)
            }
            throw .unsupportedDataType(json.serializedString())
        }
    }

    /// The v3 `data_type` member. Structured types use the `structured` spelling, which both
    /// zarr-python 3.1 and 3.4 read.
    public var v3JSON: JSONValue {
        switch self {
        case .string: return "string"
        case .bytes: return "bytes"
        case .fixedUTF32(let n):
            return ["name": "fixed_length_utf32", "configuration": ["length_bytes": .integer(4 * n)]]
        case .fixedBytes(let n):
            return ["name": "null_terminated_bytes", "configuration": ["length_bytes": .integer(n)]]
        case .raw(let n): return .string("r\(n * 8)")
        case .structured(let fields):
            let list: [JSONValue] = fields.map { f in
                f.shape.isEmpty ? [.string(f.name), f.type.v3JSON] : [.string(f.name), f.type.v3JSON, .integers(f.shape)]
            }
            return ["name": "structured", "configuration": ["fields": .array(list)]]
        default: return .string(name)
        }
    }
}
