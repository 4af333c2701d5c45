/// The value that missing chunks and the parts of edge chunks outside the array hold.
public enum FillValue: Sendable, Hashable {
    /// v2 `null`: contents of missing chunks are undefined (read as zeros).
    case none
    /// One element of a fixed-size type, in its in-memory (little-endian) byte form.
    case fixed([UInt8])
    /// A variable-length string (UTF-8) or byte string.
    case variable([UInt8])

    /// The default fill value of a type: zeros, or the empty string.
    public static func zero(for type: DataType) -> FillValue {
        if let n = type.itemSize { return .fixed([UInt8](repeating: 0, count: n)) }
        return .variable([])
    }

    /// The element bytes to fill with (zeros for `.none`).
    public func elementBytes(for type: DataType) -> [UInt8] {
        switch self {
        case .fixed(let b): return b
        case .variable(let b): return b
        case .none: return [UInt8](repeating: 0, count: type.itemSize ?? 0)
        }
    }
}

extension FillValue {
    static func littleEndian<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }

    static func bitsOf(_ d: Double, _ type: DataType) -> [UInt8] {
        switch type {
        case .float16: return littleEndian(Float16(d).bitPattern)
        case .float32: return littleEndian(Float(d).bitPattern)
        default: return littleEndian(d.bitPattern)
        }
    }

    /// Parses one float part: a number, `NaN`, `Infinity`, `-Infinity` or a `0x` bit pattern.
    static func floatBytes(_ json: JSONValue, _ type: DataType) throws(ZarrError) -> [UInt8] {
        switch json {
        case .int, .uint, .double:
            guard let d = json.double else { break }
            if case .double(let raw) = json, raw.isNaN {
                return nanBytes(type)
            }
            return bitsOf(d, type)
        case .string(let s):
            switch s {
            case "NaN", "nan": return nanBytes(type)
            case "Infinity", "inf": return bitsOf(.infinity, type)
            case "-Infinity", "-inf": return bitsOf(-.infinity, type)
            default:
                if s.hasPrefix("0x"), let bits = UInt64(s.dropFirst(2), radix: 16) {
                    switch type {
                    case .float16: if let b = UInt16(exactly: bits) { return littleEndian(b) }
                    case .float32: if let b = UInt32(exactly: bits) { return littleEndian(b) }
                    default: return littleEndian(bits)
                    }
                }
            }
        default: break
        }
        throw .invalidMetadata(path: "", reason: "invalid fill_value \(json.serializedString()) for \(type)")
    }

    static func nanBytes(_ type: DataType) -> [UInt8] {
        switch type {
        case .float16: return littleEndian(UInt16(0x7e00))
        case .float32: return littleEndian(UInt32(0x7fc0_0000))
        default: return littleEndian(UInt64(0x7ff8_0000_0000_0000))
        }
    }

    static func integerBytes(_ json: JSONValue, _ type: DataType) throws(ZarrError) -> [UInt8] {
        let bad = ZarrError.invalidMetadata(path: "", reason: "fill_value \(json.serializedString()) does not fit \(type)")
        var signed: Int64?
        var unsigned: UInt64?
        switch json {
        case .int(let v): signed = v; unsigned = UInt64(exactly: v)
        case .uint(let v): unsigned = v
        case .double(let d): signed = Int64(exactly: d); unsigned = UInt64(exactly: d)
        case .bool(let b): signed = b ? 1 : 0; unsigned = b ? 1 : 0
        default: throw bad
        }
        func s<T: FixedWidthInteger & SignedInteger>(_: T.Type) throws(ZarrError) -> [UInt8] {
            guard let v = signed, let t = T(exactly: v) else { throw bad }
            return littleEndian(t)
        }
        func u<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) throws(ZarrError) -> [UInt8] {
            guard let v = unsigned, let t = T(exactly: v) else { throw bad }
            return littleEndian(t)
        }
        switch type {
        case .int8: return try s(Int8.self)
        case .int16: return try s(Int16.self)
        case .int32: return try s(Int32.self)
        case .int64: return try s(Int64.self)
        case .uint8: return try u(UInt8.self)
        case .uint16: return try u(UInt16.self)
        case .uint32: return try u(UInt32.self)
        default: return try u(UInt64.self)
        }
    }

    /// Parses a `fill_value` member for `type`. `v2` selects the v2 conventions (base64 for
    /// byte types, `null` allowed).
    public static func parse(_ json: JSONValue, type: DataType, v2: Bool) throws(ZarrError) -> FillValue {
        if json.isNull {
            if v2 { return .none }
            throw .invalidMetadata(path: "", reason: "fill_value null is not allowed in Zarr v3")
        }
        let bad = ZarrError.invalidMetadata(path: "", reason: "invalid fill_value \(json.serializedString()) for \(type)")
        // zarr-python writes 0 for many v2 types whose natural fill is something else.
        let isZero: Bool = { if case .int(0) = json { return true }; return false }()
        switch type {
        case .bool:
            switch json {
            case .bool(let b): return .fixed([b ? 1 : 0])
            case .int(let v): return .fixed([v != 0 ? 1 : 0])
            default: throw bad
            }
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64:
            return .fixed(try integerBytes(json, type))
        case .float16, .float32, .float64:
            return .fixed(try floatBytes(json, type))
        case .complex64, .complex128:
            let part: DataType = type == .complex64 ? .float32 : .float64
            if let pair = json.array, pair.count == 2 {
                return .fixed(try floatBytes(pair[0], part) + floatBytes(pair[1], part))
            }
            // A single real number is accepted for the real part.
            return .fixed(try floatBytes(json, part) + bitsOf(0, part))
        case .string:
            if let s = json.string { return .variable(Array(s.utf8)) }
            if isZero { return .variable([]) }
            throw bad
        case .bytes:
            if let list = json.array {
                var out: [UInt8] = []
                for v in list {
                    guard let i = v.int, let b = UInt8(exactly: i) else { throw bad }
                    out.append(b)
                }
                return .variable(out)
            }
            if let s = json.string, let b = Base64.decode(s) { return .variable(b) }
            if isZero { return .variable([]) }
            throw bad
        case .fixedUTF32(let n):
            if let s = json.string {
                var units = s.unicodeScalars.map { $0.value }
                guard units.count <= n else { throw bad }
                units += repeatElement(0, count: n - units.count)
                return .fixed(units.flatMap { littleEndian($0) })
            }
            if isZero { return zero(for: type) }
            throw bad
        case .fixedBytes(let n), .raw(let n):
            var bytes: [UInt8]
            if let s = json.string, let b = Base64.decode(s) {
                bytes = b
            } else if let list = json.array {
                bytes = []
                for v in list {
                    guard let i = v.int, let b = UInt8(exactly: i) else { throw bad }
                    bytes.append(b)
                }
            } else if isZero {
                bytes = []
            } else {
                throw bad
            }
            guard bytes.count <= n else { throw bad }
            bytes += repeatElement(0, count: n - bytes.count)
            return .fixed(bytes)
        case .structured(let fields):
            let n = type.itemSize ?? 0
            if let s = json.string, let b = Base64.decode(s), b.count == n { return .fixed(b) }
            if isZero { return zero(for: type) }
            // zarr-python 3.4 writes an object of field values ({"i": 0, "f": 0.0, "s": ""}).
            if let o = json.object {
                var out: [UInt8] = []
                for f in fields {
                    let size = (f.type.itemSize ?? 0) * f.count
                    guard let v = o[f.name] else { throw bad }
                    var part: [UInt8]
                    if f.count == 1, case .fixed(let b) = try parse(v, type: f.type, v2: v2) { part = b } else if v.int == 0 {
                        part = [UInt8](repeating: 0, count: size)
                    } else { throw bad }
                    guard part.count == size else { throw bad }
                    out += part
                }
                return .fixed(out)
            }
            throw bad
        }
    }

    /// The `fill_value` member for `type`; `v2` selects the v2 conventions.
    public func json(type: DataType, v2: Bool) -> JSONValue {
        let bytes: [UInt8]
        switch self {
        case .none: return v2 ? .null : FillValue.zero(for: type).json(type: type, v2: false)
        case .variable(let b):
            if type == .string { return .string(String(decoding: b, as: UTF8.self)) }
            return .string(Base64.encode(b))  // zarr-python reads only the base64 form
        case .fixed(let b): bytes = b
        }
        func load<T: FixedWidthInteger>(_: T.Type, _ at: Int = 0) -> T {
            var v: T = 0
            for i in (0..<MemoryLayout<T>.size).reversed() where at + i < bytes.count { v = v << 8 | T(truncatingIfNeeded: bytes[at + i]) }
            return v
        }
        func float(_ t: DataType, at: Int) -> JSONValue {
            let d: Double
            let canonicalNaN: Bool
            let hex: String
            switch t {
            case .float16:
                let bits: UInt16 = load(UInt16.self, at)
                d = Double(Float16(bitPattern: bits)); canonicalNaN = bits == 0x7e00
                hex = "0x" + String(bits, radix: 16)
            case .float32:
                let bits: UInt32 = load(UInt32.self, at)
                d = Double(Float(bitPattern: bits)); canonicalNaN = bits == 0x7fc0_0000
                hex = "0x" + String(bits, radix: 16)
            default:
                let bits: UInt64 = load(UInt64.self, at)
                d = Double(bitPattern: bits); canonicalNaN = bits == 0x7ff8_0000_0000_0000
                hex = "0x" + String(bits, radix: 16)
            }
            if d.isNaN { return canonicalNaN || v2 ? "NaN" : .string(hex) }
            if d.isInfinite { return d > 0 ? "Infinity" : "-Infinity" }
            return .double(d)
        }
        switch type {
        case .bool: return .bool(bytes.first ?? 0 != 0)
        case .int8: return .int(Int64(load(Int8.self)))
        case .int16: return .int(Int64(load(Int16.self)))
        case .int32: return .int(Int64(load(Int32.self)))
        case .int64: return .int(load(Int64.self))
        case .uint8: return .int(Int64(load(UInt8.self)))
        case .uint16: return .int(Int64(load(UInt16.self)))
        case .uint32: return .int(Int64(load(UInt32.self)))
        case .uint64:
            let v = load(UInt64.self)
            return v <= UInt64(Int64.max) ? .int(Int64(v)) : .uint(v)
        case .float16, .float32, .float64: return float(type, at: 0)
        case .complex64: return [float(.float32, at: 0), float(.float32, at: 4)]
        case .complex128: return [float(.float64, at: 0), float(.float64, at: 8)]
        case .fixedUTF32:
            var scalars = String.UnicodeScalarView()
            var i = 0
            while i + 4 <= bytes.count {
                let v = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
                if v == 0 { break }
                if let u = Unicode.Scalar(v) { scalars.append(u) }
                i += 4
            }
            return .string(String(scalars))
        case .fixedBytes, .structured:
            return .string(Base64.encode(bytes))
        case .raw:
            return v2 ? .string(Base64.encode(bytes)) : .array(bytes.map { .int(Int64($0)) })
        case .string, .bytes:
            return .null
        }
    }
}
