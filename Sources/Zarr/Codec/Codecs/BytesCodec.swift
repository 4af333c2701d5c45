/// `bytes`: fixed-size elements in C order, little- or big-endian. In v2 the dtype's byte-order
/// character plays this role, so there is no v2 id.
public struct BytesCodec: ArrayToBytesCodec {
    /// The v3 name, `bytes`.
    public static let v3Name = "bytes"
    /// No numcodecs id: a v3-only codec.
    public static let v2ID: String? = nil
    /// An array→bytes codec.
    public static let kind = CodecKind.arrayToBytes

    /// `true` for big-endian; `nil` when unspecified (only valid for 1-byte types).
    public var bigEndian: Bool?

    /// A bytes codec; `bigEndian: nil` leaves `endian` out (1-byte types).
    public init(bigEndian: Bool? = false) { self.bigEndian = bigEndian }

    /// Reads the v3 configuration; an invalid one is a typed error.
    public init(v3Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        try self.init(configuration: try Configuration(v3: c), spec: spec)
    }

    /// A bytes codec of a typed configuration for chunks of `spec`; an `endian` missing where
    /// `spec` needs one, or a variable-length type, is a typed error.
    public init(configuration: Configuration, spec: ChunkSpec) throws(ZarrError) {
        switch configuration.endian {
        case nil:
            if spec.dataType.swapUnit > 1 {
                throw .invalidCodecConfiguration(codec: Self.v3Name, reason: "'endian' is required for \(spec.dataType)")
            }
            bigEndian = nil
        case .little: bigEndian = false
        case .big: bigEndian = true
        }
        if spec.dataType.isVariableLength {
            throw .invalidCodecConfiguration(codec: Self.v3Name, reason: "\(spec.dataType) needs a vlen codec")
        }
    }

    /// The typed configuration.
    public var configuration: Configuration { Configuration(endian: bigEndian.map { $0 ? .big : .little }) }

    /// The v3 configuration written to metadata.
    public var v3Configuration: JSONObject? { configuration.v3JSON }

    /// A byte order.
    public enum Endian: String, Sendable, Hashable {
        /// Least significant byte first.
        case little
        /// Most significant byte first.
        case big
    }

    /// The typed v3 configuration of `bytes`.
    public struct Configuration: Sendable, Hashable {
        /// The byte order; `nil` leaves `endian` out (1-byte and structured types).
        public var endian: Endian?
        /// A configuration.
        public init(endian: Endian? = .little) { self.endian = endian }
        /// Reads `{"endian": "little"|"big"}` (or nothing).
        init(v3 c: JSONObject) throws(ZarrError) {
            switch try c.string("endian", codec: BytesCodec.v3Name) {
            case nil: endian = nil
            case let e?:
                guard let v = Endian(rawValue: e) else {
                    throw .invalidCodecConfiguration(codec: BytesCodec.v3Name, reason: "unknown endian '\(e)'")
                }
                endian = v
            }
        }
        /// The JSON configuration, `nil` when `endian` is.
        var v3JSON: JSONObject? { endian.map { ["endian": .string($0.rawValue)] } }
    }

    /// The encoded size of a chunk of `spec` when it is fixed, `nil` otherwise.
    public func encodedSize(_ spec: ChunkSpec) -> Int? { spec.byteCount }

    /// Encodes a chunk of `spec` to bytes.
    public func encode(_ chunk: NDArray, spec: ChunkSpec) throws(ZarrError) -> [UInt8] {
        guard case .fixed(var b) = chunk.storage else {
            throw .codecFailure(codec: Self.v3Name, reason: "variable-length data needs a vlen codec")
        }
        ByteSwap.toStored(&b, type: spec.dataType, bigEndian: bigEndian ?? false)
        return b
    }

    /// Decodes bytes into a chunk of `spec`; malformed input is a typed error.
    public func decode(_ bytes: [UInt8], spec: ChunkSpec) throws(ZarrError) -> NDArray {
        guard let size = spec.dataType.itemSize else {
            throw .codecFailure(codec: Self.v3Name, reason: "\(spec.dataType) needs a vlen codec")
        }
        guard let expected = spec.byteCount, bytes.count == expected else {
            throw .codecFailure(codec: Self.v3Name, reason: "decoded \(bytes.count) bytes, expected \(spec.count) elements of \(size) bytes")
        }
        var b = bytes
        ByteSwap.toStored(&b, type: spec.dataType, bigEndian: bigEndian ?? false)  // swapping is its own inverse
        return try NDArray(dataType: spec.dataType, shape: spec.shape, storage: .fixed(b))
    }

    /// Whether decoding is the identity for `type` (little-endian or single-byte units).
    public func isIdentity(for type: DataType) -> Bool {
        if case .structured(let fields) = type { return !(bigEndian ?? false) && !fields.contains { $0.bigEndian } }
        return !(bigEndian ?? false) || type.swapUnit == 1
    }
}

/// Byte-order conversion between the in-memory little-endian form and the stored form.
enum ByteSwap {
    static func toStored(_ b: inout [UInt8], type: DataType, bigEndian: Bool) {
        if case .structured(let fields) = type {
            guard let rec = type.itemSize, rec > 0 else { return }
            var offset = 0
            var plan: [(offset: Int, unit: Int, count: Int)] = []
            for f in fields {
                let size = f.type.itemSize ?? 0
                if (bigEndian || f.bigEndian) && f.type.swapUnit > 1 {
                    plan.append((offset, f.type.swapUnit, size * f.count / f.type.swapUnit))
                }
                offset += size * f.count
            }
            guard !plan.isEmpty else { return }
            b.withUnsafeMutableBytes { p in
                var r = 0
                while r + rec <= p.count {
                    for s in plan { swapUnits(p, from: r + s.offset, unit: s.unit, count: s.count) }
                    r += rec
                }
            }
            return
        }
        let unit = type.swapUnit
        guard bigEndian, unit > 1 else { return }
        b.withUnsafeMutableBytes { p in swapUnits(p, from: 0, unit: unit, count: p.count / unit) }
    }

    static func swapUnits(_ p: UnsafeMutableRawBufferPointer, from start: Int, unit: Int, count: Int) {
        switch unit {
        case 2:
            for i in 0..<count { let o = start + 2 * i; p.storeBytes(of: p.loadUnaligned(fromByteOffset: o, as: UInt16.self).byteSwapped, toByteOffset: o, as: UInt16.self) }
        case 4:
            for i in 0..<count { let o = start + 4 * i; p.storeBytes(of: p.loadUnaligned(fromByteOffset: o, as: UInt32.self).byteSwapped, toByteOffset: o, as: UInt32.self) }
        case 8:
            for i in 0..<count { let o = start + 8 * i; p.storeBytes(of: p.loadUnaligned(fromByteOffset: o, as: UInt64.self).byteSwapped, toByteOffset: o, as: UInt64.self) }
        default:
            for i in 0..<count {
                let o = start + unit * i
                var lo = o, hi = o + unit - 1
                while lo < hi { p.swapAt(lo, hi); lo += 1; hi -= 1 }
            }
        }
    }
}
