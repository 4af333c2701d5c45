import CDeflate
import CZlib

/// `gzip` (v3 core codec; numcodecs id `gzip`): an RFC 1952 gzip container.
///
/// Encoding uses libdeflate. Decoding never looks at header fields such as the mtime, accepts
/// several concatenated members (and zero padding after them, as Python's `gzip` does) and uses
/// libdeflate when the trailer's size is right, zlib's streaming inflate otherwise.
public struct GzipCodec: BytesToBytesCodec, V2Codec {
    /// The v3 name, `gzip`.
    public static let v3Name = "gzip"
    /// The numcodecs id, `gzip`.
    public static let v2ID: String? = "gzip"
    /// A bytes→bytes codec.
    public static let kind = CodecKind.bytesToBytes

    /// The compression level, 0...9 (0 stores without compressing). `-1`, zlib's "default",
    /// is accepted from v2 metadata and compresses at level 6.
    public var level: Int

    /// A gzip codec at `level` (0...9; zarr-python's default is 5, numcodecs' is 1).
    public init(level: Int = 5) throws(ZarrError) {
        try DeflateSupport.checkLevel(level, codec: Self.v3Name, allowDefault: false)
        self.level = level
    }

    /// Reads `{"level": n}`; a missing level means 5, as in zarr-python.
    public init(v3Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        try self.init(configuration: try Configuration(v3: c))
    }

    /// A gzip codec of a typed configuration; a level outside 0...9 is a typed error.
    public init(configuration: Configuration) throws(ZarrError) {
        try DeflateSupport.checkLevel(configuration.level, codec: Self.v3Name, allowDefault: false)
        self.level = configuration.level
    }

    /// The typed configuration.
    public var configuration: Configuration { Configuration(level: level) }

    /// The typed v3 configuration of `gzip`.
    public struct Configuration: Sendable, Hashable {
        /// The compression level, 0...9.
        public var level: Int
        /// A configuration.
        public init(level: Int = 5) { self.level = level }
        /// Reads `{"level": n}`; a missing level means 5, as in zarr-python.
        init(v3 c: JSONObject) throws(ZarrError) {
            level = try c.int("level", codec: GzipCodec.v3Name) ?? 5
        }
        /// `{"level": n}`.
        var v3JSON: JSONObject { ["level": .integer(level)] }
    }

    /// Reads `{"id": "gzip", "level": n}`; a missing level means 1, as in numcodecs.
    public init(v2Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        let level = try c.int("level", codec: Self.v3Name) ?? 1
        try DeflateSupport.checkLevel(level, codec: Self.v3Name, allowDefault: true)
        self.level = level
    }

    /// `{"level": n}`.
    public var v3Configuration: JSONObject? { configuration.v3JSON }
    /// `{"id": "gzip", "level": n}`.
    public var v2Configuration: JSONObject { ["id": "gzip", "level": .integer(level)] }

    /// Compresses `bytes` into one gzip member (mtime 0).
    public func encode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        try DeflateSupport.compress(bytes, level: level, container: .gzip, codec: Self.v3Name)
    }

    /// Decompresses a gzip stream of one or more members, within the default limit.
    public func decode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        try decode(bytes, expectedSize: nil)
    }

    /// Decompresses into exactly `expectedSize` bytes when known (at most the default limit otherwise).
    public func decode(_ bytes: [UInt8], expectedSize: Int?) throws(ZarrError) -> [UInt8] {
        try decode(bytes, expectedSize: expectedSize, limit: expectedSize ?? DecodeLimits.standard.maxVariableLengthChunkBytes)
    }

    /// Decompresses a gzip stream of one or more members into at most `limit` bytes; a
    /// trailer or a stream that says more is a typed error before more memory is taken.
    public func decode(_ bytes: [UInt8], expectedSize: Int?, limit: Int) throws(ZarrError) -> [UInt8] {
        let trailer = Self.trailerSize(bytes)
        // The last member's ISIZE is its size modulo 2^32: the data holds at least that much.
        if let isize = trailer, isize > limit {
            throw .codecFailure(codec: Self.v3Name, reason: "the gzip trailer says \(isize) bytes, more than the \(limit) the chunk can hold")
        }
        // Fast path: one member whose ISIZE trailer gives the exact size.
        if let isize = trailer, isize <= DeflateSupport.maxExpansion(bytes.count), expectedSize == nil || expectedSize == isize {
            var ok = false
            let out = try LargeBuffer.bytes(Swift.max(isize, 1), what: "gzip output") { buf in
                let r = DeflateSupport.libdeflateDecompress(
                    bytes, into: UnsafeMutableRawBufferPointer(buf), container: .gzip)
                ok = r.result == LIBDEFLATE_SUCCESS && r.inUsed == bytes.count && r.outUsed == isize
                return ok ? isize : 0
            }
            if ok { return out }
        }
        // Several members, a size beyond 4 GiB or corrupt data: zlib reports what is wrong.
        let hint = trailer.map { Swift.min($0, DeflateSupport.maxExpansion(bytes.count)) }
        return try DeflateSupport.inflate(bytes, container: .gzip, sizeHint: hint, limit: limit, codec: Self.v3Name)
    }

    /// Decodes straight into `destination` when the stream is one member of exactly that size.
    public func decode(_ bytes: [UInt8], into destination: UnsafeMutableRawBufferPointer) throws(ZarrError) -> Bool {
        guard destination.count > 0, let isize = Self.trailerSize(bytes), isize == destination.count else { return false }
        let r = DeflateSupport.libdeflateDecompress(bytes, into: destination, container: .gzip)
        // Anything else (several members, corrupt data) goes through `decode`, which explains.
        return r.result == LIBDEFLATE_SUCCESS && r.inUsed == bytes.count && r.outUsed == destination.count
    }

    /// The ISIZE field of the last member (the decoded size modulo 2^32), if the input can hold one.
    static func trailerSize(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 18 else { return nil }
        let n = bytes.count
        return Int(bytes[n - 4]) | Int(bytes[n - 3]) << 8 | Int(bytes[n - 2]) << 16 | Int(bytes[n - 1]) << 24
    }
}
