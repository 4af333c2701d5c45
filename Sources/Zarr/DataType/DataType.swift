/// The element type of an array, independent of the Zarr format that names it.
///
/// Fixed-size types are held in memory in little-endian byte order; the `bytes` codec (or the
/// v2 dtype's byte order) decides what is stored.
public indirect enum DataType: Sendable, Hashable, CustomStringConvertible {
    case bool
    case int8, int16, int32, int64
    case uint8, uint16, uint32, uint64
    case float16, float32, float64
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
        case .fixedUTF32(let n): return 4 * n
        case .fixedBytes(let n), .raw(let n): return n
        case .structured(let fields): return fields.reduce(0) { $0 + ($1.type.itemSize ?? 0) * $1.count }
        }
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
        self.count = shape.reduce(1, *)
        self.bigEndian = bigEndian
    }
}
