import CLZ4

/// `lz4` (numcodecs id `lz4`; in v3 metadata it appears as `numcodecs.lz4`), with numcodecs'
/// framing: the decoded size as a little-endian u32, then one LZ4 block.
///
/// The size prefix is checked against what an LZ4 block of that length can hold before any
/// memory is allocated.
public struct LZ4Codec: BytesToBytesCodec, V2Codec {
    /// The v3 name, `lz4` (not a registered v3 codec; written as `numcodecs.lz4`).
    public static let v3Name = "lz4"
    /// The numcodecs id, `lz4`.
    public static let v2ID: String? = "lz4"
    /// A bytes→bytes codec.
    public static let kind = CodecKind.bytesToBytes
    /// Written as `numcodecs.lz4` in v3 metadata: a bare `lz4` is not a registered v3
    /// codec, so it is only read, never written.
    public var v3WrittenName: String { "numcodecs.lz4" }

    /// The largest input LZ4 can compress (`LZ4_MAX_INPUT_SIZE`).
    static let maxInputSize = 0x7E00_0000
    /// LZ4 cannot expand a block by more than about 255:1.
    static func maxDecodedSize(blockLength n: Int) -> Int { 255 * n + 64 }

    /// The acceleration factor: 1 is the default; higher is faster and compresses less.
    /// Values below 1 mean 1, as in LZ4 itself.
    public var acceleration: Int

    /// An LZ4 codec.
    public init(acceleration: Int = 1) throws(ZarrError) {
        try Self.check(acceleration)
        self.acceleration = acceleration
    }

    /// Reads `{"acceleration": n}`; a missing value means 1.
    public init(v3Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        let a = try c.int("acceleration", codec: Self.v3Name) ?? 1
        try Self.check(a)
        acceleration = a
    }

    /// Reads `{"id": "lz4", "acceleration": n}`.
    public init(v2Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        try self.init(v3Configuration: c, spec: spec)
    }

    static func check(_ a: Int) throws(ZarrError) {
        guard Int32(exactly: a) != nil else {
            throw .invalidCodecConfiguration(codec: v3Name, reason: "acceleration \(a) out of range")
        }
    }

    /// `{"acceleration": n}`.
    public var v3Configuration: JSONObject? { ["acceleration": .integer(acceleration)] }
    /// `{"id": "lz4", "acceleration": n}`.
    public var v2Configuration: JSONObject { ["id": "lz4", "acceleration": .integer(acceleration)] }

    /// Compresses `bytes` into the size prefix and one LZ4 block.
    public func encode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        guard bytes.count <= Self.maxInputSize else {
            throw .codecFailure(codec: Self.v3Name, reason: "input of \(bytes.count) bytes exceeds LZ4's limit of \(Self.maxInputSize)")
        }
        let n = bytes.count
        let bound = Int(LZ4_compressBound(Int32(n)))
        var written: Int32 = 0
        let out = try LargeBuffer.bytes(4 + bound, what: "lz4 output") { buf in
            guard let dst = buf.baseAddress else { return 0 }
            let size = UInt32(n)
            for i in 0..<4 { dst[i] = UInt8(truncatingIfNeeded: size >> (8 * UInt32(i))) }
            written = Self.withInput(bytes) { src, len in
                (dst + 4).withMemoryRebound(to: CChar.self, capacity: bound) { d in
                    src.withMemoryRebound(to: CChar.self, capacity: Swift.max(len, 1)) { s in
                        LZ4_compress_fast(s, d, Int32(len), Int32(bound), Int32(acceleration))
                    }
                }
            }
            return written > 0 ? 4 + Int(written) : 0
        }
        guard written > 0 else { throw .codecFailure(codec: Self.v3Name, reason: "compression failed") }
        return out
    }

    /// Reads and checks the size prefix.
    static func decodedSize(_ bytes: [UInt8]) throws(ZarrError) -> Int {
        guard bytes.count >= 5 else {
            throw .codecFailure(codec: v3Name, reason: "input of \(bytes.count) bytes is too short for the size prefix and a block")
        }
        let size = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
        let block = bytes.count - 4
        guard size <= Int(Int32.max), size <= maxDecodedSize(blockLength: block), block <= Int(Int32.max) else {
            throw .codecFailure(codec: v3Name, reason: "size prefix \(size) is impossible for a \(block)-byte block")
        }
        return size
    }

    /// Decompresses the block after the prefix into `dst` (of `capacity` bytes); the LZ4 result.
    static func decompress(_ bytes: [UInt8], into dst: UnsafeMutableRawPointer, capacity: Int) -> Int32 {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return -1 }
            let src = (base + 4).assumingMemoryBound(to: CChar.self)
            return LZ4_decompress_safe(src, dst.assumingMemoryBound(to: CChar.self), Int32(raw.count - 4), Int32(capacity))
        }
    }

    /// Decompresses the block after the prefix, which must give exactly the prefixed size.
    public func decode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        try decode(bytes, expectedSize: nil)
    }

    /// Decompresses into at most `expectedSize` bytes when known (the default limit otherwise).
    public func decode(_ bytes: [UInt8], expectedSize: Int?) throws(ZarrError) -> [UInt8] {
        try decode(bytes, expectedSize: expectedSize, limit: expectedSize ?? DecodeLimits.standard.maxVariableLengthChunkBytes)
    }

    /// Decompresses the block after the prefix into at most `limit` bytes: a size prefix that
    /// says more is a typed error before anything is allocated.
    public func decode(_ bytes: [UInt8], expectedSize: Int?, limit: Int) throws(ZarrError) -> [UInt8] {
        let size = try Self.decodedSize(bytes)
        guard size <= limit else {
            throw .codecFailure(codec: Self.v3Name, reason: "size prefix \(size) is more than the \(limit) bytes the chunk can hold")
        }
        var result: Int32 = -1
        let out = try LargeBuffer.bytes(Swift.max(size, 1), what: "lz4 output") { buf in
            guard let dst = buf.baseAddress else { return 0 }
            result = Self.decompress(bytes, into: UnsafeMutableRawPointer(dst), capacity: size)
            return Int(result) == size ? size : 0
        }
        guard Int(result) == size else { throw Self.failure(result, expected: size) }
        return out
    }

    /// Decodes straight into `destination` when the size prefix equals its size.
    public func decode(_ bytes: [UInt8], into destination: UnsafeMutableRawBufferPointer) throws(ZarrError) -> Bool {
        let size = try Self.decodedSize(bytes)
        guard size == destination.count, size > 0, let dst = destination.baseAddress else { return false }
        let result = Self.decompress(bytes, into: dst, capacity: size)
        guard Int(result) == size else { throw Self.failure(result, expected: size) }
        return true
    }

    static func failure(_ result: Int32, expected: Int) -> ZarrError {
        result < 0
            ? .codecFailure(codec: v3Name, reason: "corrupt LZ4 block")
            : .codecFailure(codec: v3Name, reason: "decoded \(result) bytes, the size prefix says \(expected)")
    }

    /// Calls `body` with a pointer that is never nil, even for an empty array.
    static func withInput<R>(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
        bytes.withUnsafeBufferPointer { buf in
            if let p = buf.baseAddress, buf.count > 0 { return body(p, buf.count) }
            var zero: UInt8 = 0
            return withUnsafePointer(to: &zero) { body($0, 0) }
        }
    }
}
