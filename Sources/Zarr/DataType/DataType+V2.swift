/// A v2 `dtype` read into a data type, its stored byte order, and the object-array flag.
public struct V2DataType: Sendable, Hashable {
    /// The element type. For `|O` it is decided by the vlen filter (`.string` until then).
    public var dataType: DataType
    /// Whether the stored bytes are big-endian.
    public var bigEndian: Bool
    /// Whether the dtype was `|O` (an object array that a vlen filter encodes).
    public var isObject: Bool
}

extension DataType {
    /// Parses a v2 `dtype`: a numpy typestring (`<i4`, `|b1`, `>U5`, `|O`) or a structured list.
    public static func fromV2(_ json: JSONValue) throws(ZarrError) -> V2DataType {
        if let list = json.array {
            var fields: [StructField] = []
            for f in list {
                guard let pair = f.array, pair.count >= 2, let name = pair[0].string else {
                    throw .invalidMetadata(path: "", reason: "invalid structured dtype field \(f.serializedString())")
                }
                let inner = try fromV2(pair[1])
                if inner.isObject { throw .unsupportedDataType("object field in structured dtype") }
                let shape = try fieldShape(pair.count > 2 ? pair[2] : nil, field: name)
                fields.append(StructField(name: name, type: inner.dataType, shape: shape, bigEndian: inner.bigEndian))
            }
            return V2DataType(dataType: try checkedStructured(fields), bigEndian: false, isObject: false)
        }
        guard let s = json.string, let order = s.first, let kind = s.dropFirst().first else {
            throw .unsupportedDataType(json.serializedString())
        }
        guard order == "<" || order == ">" || order == "|" || order == "=" else {
            throw .unsupportedDataType(s)
        }
        let sizeText = s.dropFirst(2)
        if kind == "O" { return V2DataType(dataType: .string, bigEndian: false, isObject: true) }
        guard let size = Int(sizeText), size >= 0 else { throw .unsupportedDataType(s) }
        let t: DataType
        switch (kind, size) {
        case ("b", 1): t = .bool
        case ("i", 1): t = .int8
        case ("i", 2): t = .int16
        case ("i", 4): t = .int32
        case ("i", 8): t = .int64
        case ("u", 1): t = .uint8
        case ("u", 2): t = .uint16
        case ("u", 4): t = .uint32
        case ("u", 8): t = .uint64
        case ("f", 2): t = .float16
        case ("f", 4): t = .float32
        case ("f", 8): t = .float64
        case ("c", 8): t = .complex64
        case ("c", 16): t = .complex128
        case ("U", _): t = .fixedUTF32(length: size)
        case ("S", _): t = .fixedBytes(length: size)
        case ("V", _) where size > 0: t = .raw(bytes: size)
        default: throw .unsupportedDataType(s)
        }
        try t.checkItemSize()
        return V2DataType(dataType: t, bigEndian: order == ">" && t.swapUnit > 1, isObject: false)
    }

    /// The v2 `dtype` for this type in the given byte order (`|O` for variable-length types).
    public func v2JSON(bigEndian: Bool = false) -> JSONValue {
        let o = bigEndian ? ">" : "<"
        switch self {
        case .bool: return "|b1"
        case .int8: return "|i1"
        case .uint8: return "|u1"
        case .int16: return .string(o + "i2")
        case .int32: return .string(o + "i4")
        case .int64: return .string(o + "i8")
        case .uint16: return .string(o + "u2")
        case .uint32: return .string(o + "u4")
        case .uint64: return .string(o + "u8")
        case .float16: return .string(o + "f2")
        case .float32: return .string(o + "f4")
        case .float64: return .string(o + "f8")
        case .complex64: return .string(o + "c8")
        case .complex128: return .string(o + "c16")
        case .string, .bytes: return "|O"
        case .fixedUTF32(let n): return .string(o + "U\(n)")
        case .fixedBytes(let n): return .string("|S\(n)")
        case .raw(let n): return .string("|V\(n)")
        case .structured(let fields):
            return .array(fields.map { f in
                f.shape.isEmpty
                    ? [.string(f.name), f.type.v2JSON(bigEndian: f.bigEndian)]
                    : [.string(f.name), f.type.v2JSON(bigEndian: f.bigEndian), .integers(f.shape)]
            })
        }
    }
}
