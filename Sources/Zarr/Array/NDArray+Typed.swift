/// A Swift type that maps to a fixed-size Zarr data type, for typed access to `NDArray`.
public protocol ZarrScalar: Sendable {
    /// The Zarr data type of this Swift type.
    static var zarrDataType: DataType { get }
}

extension Bool: ZarrScalar { public static var zarrDataType: DataType { .bool } }
extension Int8: ZarrScalar { public static var zarrDataType: DataType { .int8 } }
extension Int16: ZarrScalar { public static var zarrDataType: DataType { .int16 } }
extension Int32: ZarrScalar { public static var zarrDataType: DataType { .int32 } }
extension Int64: ZarrScalar { public static var zarrDataType: DataType { .int64 } }
extension UInt8: ZarrScalar { public static var zarrDataType: DataType { .uint8 } }
extension UInt16: ZarrScalar { public static var zarrDataType: DataType { .uint16 } }
extension UInt32: ZarrScalar { public static var zarrDataType: DataType { .uint32 } }
extension UInt64: ZarrScalar { public static var zarrDataType: DataType { .uint64 } }
extension Float16: ZarrScalar { public static var zarrDataType: DataType { .float16 } }
extension Float: ZarrScalar { public static var zarrDataType: DataType { .float32 } }
extension Double: ZarrScalar { public static var zarrDataType: DataType { .float64 } }

extension NDArray {
    /// An array of typed values (this host is little-endian, as the in-memory form is).
    public init<T: ZarrScalar>(_ values: [T], shape: [Int]) throws(ZarrError) {
        guard try Self.elementCount(shape) == values.count else {
            throw .valueMismatch("\(values.count) values for shape \(shape)")
        }
        let bytes: [UInt8]
        if T.self == Bool.self {
            bytes = unsafeBitCast(values, to: [Bool].self).map { $0 ? 1 : 0 }
        } else {
            bytes = values.withUnsafeBytes { Array($0) }
        }
        try self.init(dataType: T.zarrDataType, shape: shape, storage: .fixed(bytes))
    }

    /// An array of strings.
    public init(strings: [String], shape: [Int]) throws(ZarrError) {
        try self.init(dataType: .string, shape: shape, storage: .variable(strings.map { Array($0.utf8) }))
    }

    /// The values as `T`; throws if the data type is not `T`'s.
    public func values<T: ZarrScalar>(as: T.Type = T.self) throws(ZarrError) -> [T] {
        guard dataType == T.zarrDataType, case .fixed(let b) = storage else {
            throw .valueMismatch("array of \(dataType) read as \(T.zarrDataType)")
        }
        if T.self == Bool.self { return unsafeBitCast(b.map { $0 != 0 }, to: [T].self) }
        let n = b.count / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: n) { buf, count in
            b.withUnsafeBytes { src in
                UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<n * MemoryLayout<T>.stride]))
            }
            count = n
        }
    }

    /// The values converted to `Double` (numbers and bools; complex gives the real part).
    public func doubles() throws(ZarrError) -> [Double] {
        guard case .fixed(let b) = storage else { throw .valueMismatch("\(dataType) is not numeric") }
        switch dataType {
        case .string, .bytes, .fixedUTF32, .fixedBytes, .raw, .structured: throw .valueMismatch("\(dataType) is not numeric")
        default: break
        }
        return b.withUnsafeBytes { (raw) -> [Double] in
            let n = count
            switch dataType {
            case .bool: return (0..<n).map { raw[$0] != 0 ? 1 : 0 }
            case .int8: return (0..<n).map { Double(raw.load(fromByteOffset: $0, as: Int8.self)) }
            case .uint8: return (0..<n).map { Double(raw[$0]) }
            case .int16: return (0..<n).map { Double(raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self)) }
            case .uint16: return (0..<n).map { Double(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) }
            case .int32: return (0..<n).map { Double(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
            case .uint32: return (0..<n).map { Double(raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
            case .int64: return (0..<n).map { Double(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            case .uint64: return (0..<n).map { Double(raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
            case .float16: return (0..<n).map { Double(raw.loadUnaligned(fromByteOffset: $0 * 2, as: Float16.self)) }
            case .float32: return (0..<n).map { Double(raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self)) }
            case .float64: return (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) }
            case .complex64: return (0..<n).map { Double(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Float.self)) }
            case .complex128: return (0..<n).map { raw.loadUnaligned(fromByteOffset: $0 * 16, as: Double.self) }
            default: return []
            }
        }
    }

    /// The values as strings (`.string`, or UTF-32 `U<n>` / zero-padded `S<n>` decoded).
    public func strings() throws(ZarrError) -> [String] {
        switch (dataType, storage) {
        case (.string, .variable(let v)), (.bytes, .variable(let v)):
            return v.map { String(decoding: $0, as: UTF8.self) }
        case (.fixedUTF32(let len), .fixed(let b)):
            // A code unit that is not a Unicode scalar value (a surrogate, or beyond U+10FFFF)
            // is an error, never silently replaced.
            var out: [String] = []
            out.reserveCapacity(count)
            for i in 0..<count {
                var scalars = String.UnicodeScalarView()
                for j in 0..<len {
                    let o = (i * len + j) * 4
                    let v = UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
                    if v == 0 { break }
                    guard let u = Unicode.Scalar(v) else {
                        throw .valueMismatch("element \(i) of a \(dataType.name) array holds 0x\(String(v, radix: 16, uppercase: true)), not a Unicode scalar value")
                    }
                    scalars.append(u)
                }
                out.append(String(scalars))
            }
            return out
        case (.fixedBytes(let len), .fixed(let b)):
            return (0..<count).map { i in
                String(decoding: b[(i * len)..<(i * len + len)].prefix(while: { $0 != 0 }), as: UTF8.self)
            }
        default:
            throw .valueMismatch("\(dataType) values are not strings")
        }
    }
}
