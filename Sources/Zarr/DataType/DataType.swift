/// The element type of an array, independent of the Zarr format that names it.
///
/// Fixed-size types are held in memory in little-endian byte order; the `bytes` codec (or the
/// v2 dtype's byte order) decides what is stored.
public indirect enum DataType: Sendable, Hashable, CustomStringConvertible {
    /// Booleans, one byte each (0 or 1).
    case bool
    /// Signed integers of 1, 2, 4 and 8 bytes.
    case int8, int16, int32, int64
    /// Unsigned integers of 1, 2, 4 and 8 bytes.
    case uint8, uint16, uint32, uint64
    /// IEEE 754 floats of 2, 4 and 8 bytes.
    case float16, float32, float64
    /// Complex numbers: two float32 (or float64) parts, real part first.
    case complex64, complex128
    /// Variable-length UTF-8 strings (v3 `string`, v2 `|O` + vlen-utf8).
    case string
    /// Variable-length byte strings (v3 `bytes`, v2 `|O` + vlen-bytes).
    case bytes
    /// Fixed-length UTF-32 strings of `length` code points (v2 `U<n>`, v3 `fixed_length_utf32`).
    case fixedUTF32(length: Int)
    /// Fixed-length, zero-padded byte strings (v2 `S<n>`, v3 `null_terminated_bytes`).
    case fixedBytes(length: Int)
    /// Opaque raw bytes (v2 `V<n>`, v3 `r<bits>`).
    case raw(bytes: Int)
    /// A record of named fields (numpy structured dtypes), packed without padding.
    case structured([StructField])

    /// The size of one element in bytes, or `nil` for variable-length types.
    public var itemSize: Int? {
        switch self {
        case .bool, .int8, .uint8: return 1
        case .int16, .uint16, .float16: return 2
        case .int32, .uint32, .float32: return 4
        case .int64, .uint64, .float64, .complex64: return 8
        case .complex128: return 16
        case .string, .bytes: return nil
        case .fixedUTF32(let n):
            let (m, overflow) = n.multipliedReportingOverflow(by: 4)
            return overflow ? Int.max : m
        case .fixedBytes(let n), .raw(let n): return n
        case .structured(let fields):
            // A variable-length field has no fixed size, so neither has the record (parsing
            // refuses such fields); sizes saturate at `Int.max` instead of overflowing.
            var total = 0
            for f in fields {
                guard let size = f.type.itemSize else { return nil }
                let (part, o1) = size.multipliedReportingOverflow(by: f.count)
                let (sum, o2) = total.addingReportingOverflow(part)
                if o1 || o2 { return Int.max }
                total = sum
            }
            return total
        }
    }

    /// The largest element this engine accepts from metadata, in bytes (16 MiB): larger
    /// fixed-length strings or records are refused as typed errors, so that a hostile dtype
    /// such as `<U4611686018427387904` cannot overflow or allocate absurdly.
    public static let maxItemSize = 1 << 24

    /// Throws unless the element size is known and at most `maxItemSize` (variable-length
    /// types pass: their elements are sized by the data).
    func checkItemSize() throws(ZarrError) {
        if isVariableLength { return }
        guard let size = itemSize, size <= Self.maxItemSize else {
            throw .unsupportedDataType("\(name): elements larger than \(Self.maxItemSize) bytes are not supported")
        }
    }

    /// Builds a structured type, refusing variable-length fields, negative or overflowing
    /// sub-array shapes and records larger than `maxItemSize`.
    static func checkedStructured(_ fields: [StructField]) throws(ZarrError) -> DataType {
        for f in fields {
            if f.type.isVariableLength || f.type.itemSize == nil {
                throw .unsupportedDataType("structured field '\(f.name)' has the variable-length type \(f.type.name)")
            }
        }
        let t = DataType.structured(fields)
        try t.checkItemSize()
        return t
    }

    /// Reads a structured field's sub-array shape: a list of non-negative integers whose
    /// product stays within `maxItemSize`.
    static func fieldShape(_ json: JSONValue?, field: String) throws(ZarrError) -> [Int] {
        guard let json, !json.isNull else { return [] }
        guard let list = json.array else { throw .invalidMetadata(path: "", reason: "structured field '\(field)': the shape must be a list") }
        var shape: [Int] = []
        var count = 1
        for v in list {
            guard let i = v.int, i >= 0 else {
                throw .invalidMetadata(path: "", reason: "structured field '\(field)': shape entries must be non-negative integers")
            }
            let (p, o) = count.multipliedReportingOverflow(by: i)
            guard !o, p <= maxItemSize else { throw .unsupportedDataType("structured field '\(field)': shape \(list.map { $0.serializedString() }) is too large") }
            count = p
            shape.append(i)
        }
        return shape
    }

    /// Whether elements have a variable length.
    public var isVariableLength: Bool { self == .string || self == .bytes }

    /// The byte units that are swapped between byte orders: the whole item for numbers, each
    /// part of a complex, each code point of UTF-32; `1` when nothing swaps.
    public var swapUnit: Int {
        switch self {
        case .complex64: return 4
        case .complex128: return 8
        case .fixedUTF32: return 4
        case .fixedBytes, .raw, .string, .bytes, .structured: return 1
        default: return itemSize ?? 1
        }
    }

    /// Whether this is a floating-point or complex type.
    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .float32, .float64, .complex64, .complex128: return true
        default: return false
        }
    }

    /// Whether this is a signed or unsigned integer type.
    public var isInteger: Bool {
        switch self {
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64: return true
        default: return false
        }
    }

    /// The name of the v3 core types (`int32`, `float64`, `string`, ...); the CLI prints it for
    /// v2 arrays too, with `U<n>` / `S<n>` for fixed-length strings.
    public var name: String {
        switch self {
        case .bool: return "bool"
        case .int8: return "int8"
        case .int16: return "int16"
        case .int32: return "int32"
        case .int64: return "int64"
        case .uint8: return "uint8"
        case .uint16: return "uint16"
        case .uint32: return "uint32"
        case .uint64: return "uint64"
        case .float16: return "float16"
        case .float32: return "float32"
        case .float64: return "float64"
        case .complex64: return "complex64"
        case .complex128: return "complex128"
        case .string: return "string"
        case .bytes: return "bytes"
        case .fixedUTF32(let n): return "U\(n)"
        case .fixedBytes(let n): return "S\(n)"
        case .raw(let n): return "r\(n * 8)"
        case .structured: return "structured"
        }
    }

    /// A readable, one-line description.
    public var description: String { name }

    /// The numeric types by v3 name.
    static let numericByName: [String: DataType] = [
        "bool": .bool, "int8": .int8, "int16": .int16, "int32": .int32, "int64": .int64,
        "uint8": .uint8, "uint16": .uint16, "uint32": .uint32, "uint64": .uint64,
        "float16": .float16, "float32": .float32, "float64": .float64,
        "complex64": .complex64, "complex128": .complex128,
    ]
}

/// A field of a structured data type.
public struct StructField: Sendable, Hashable {
    /// The field name.
    public var name: String
    /// The element type of the field.
    public var type: DataType
    /// The number of elements for sub-array fields (`1` for scalars).
    public var count: Int
    /// The sub-array shape (`[]` for scalars), kept for round-trips.
    public var shape: [Int]
    /// Whether the field is stored big-endian (v2 only; in memory it is little-endian).
    public var bigEndian: Bool

    /// A field.
    public init(name: String, type: DataType, shape: [Int] = [], bigEndian: Bool = false) {
        self.name = name
        self.type = type
        self.shape = shape
        var n = 1
        for s in shape {
            let (p, o) = n.multipliedReportingOverflow(by: Swift.max(s, 0))
            n = o ? Int.max : p
        }
        self.count = n
        self.bigEndian = bigEndian
    }
}
