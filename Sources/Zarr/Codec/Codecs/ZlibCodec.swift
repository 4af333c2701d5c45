import CDeflate
import CZlib

/// `zlib` (numcodecs id `zlib`; in v3 metadata it appears as `numcodecs.zlib`): an RFC 1950
/// stream, a 2-byte header, DEFLATE data and an Adler-32 trailer.
///
/// Encoding uses libdeflate; decoding streams through zlib's inflate (the decoded size is not
/// recorded), or uses libdeflate straight into a buffer of known size. Data after the end of
/// the stream is ignored, as Python's `zlib.decompress` does.
public struct ZlibCodec: BytesToBytesCodec, V2Codec {
    /// The v3 name, `zlib` (not a registered v3 codec; written as `numcodecs.zlib`).
    public static let v3Name = "zlib"
    /// The numcodecs id, `zlib`.
    public static let v2ID: String? = "zlib"
    /// A bytes→bytes codec.
    public static let kind = CodecKind.bytesToBytes
    /// Written as `numcodecs.zlib` in v3 metadata: a bare `zlib` is not a registered v3
    /// codec, so it is only read, never written.
    public var v3WrittenName: String { "numcodecs.zlib" }

    /// The compression level, 0...9 (0 stores without compressing). `-1`, zlib's "default",
    /// is accepted from v2 metadata and compresses at level 6.
    public var level: Int

    /// A zlib codec at `level` (0...9; numcodecs' default is 1).
    public init(level: Int = 1) throws(ZarrError) {
        try DeflateSupport.checkLevel(level, codec: Self.v3Name, allowDefault: false)
        self.level = level
    }

    /// Reads `{"level": n}`; a missing level means 1, as in numcodecs.
    public init(v3Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        let level = try c.int("level", codec: Self.v3Name) ?? 1
        try DeflateSupport.checkLevel(level, codec: Self.v3Name, allowDefault: true)
        self.level = level
    }

    /// Reads `{"id": "zlib", "level": n}`; a missing level means 1, as in numcodecs.
    public init(v2Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        try self.init(v3Configuration: c, spec: spec)
    }

    /// `{"level": n}`.
    public var v3Configuration: JSONObject? { ["level": .integer(level)] }
    /// `{"id": "zlib", "level": n}`.
    public var v2Configuration: JSONObject { ["id": "zlib", "level": .integer(level)] }

    /// Compresses `bytes` into one zlib stream.
    public func encode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        try DeflateSupport.compress(bytes, level: level, container: .zlib, codec: Self.v3Name)
    }

    /// Decompresses one zlib stream, within the default limit.
    public func decode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        try decode(bytes, expectedSize: nil)
    }

    /// Decompresses one zlib stream into at most `expectedSize` bytes when known (the default limit otherwise).
    public func decode(_ bytes: [UInt8], expectedSize: Int?) throws(ZarrError) -> [UInt8] {
        try decode(bytes, expectedSize: expectedSize, limit: expectedSize ?? DecodeLimits.standard.maxVariableLengthChunkBytes)
    }

    /// Decompresses one zlib stream into at most `limit` bytes (more is a typed error).
    public func decode(_ bytes: [UInt8], expectedSize: Int?, limit: Int) throws(ZarrError) -> [UInt8] {
        try DeflateSupport.inflate(bytes, container: .zlib, sizeHint: expectedSize, limit: limit, codec: Self.v3Name)
    }

    /// Decodes straight into `destination` when the stream decodes to exactly its size.
    public func decode(_ bytes: [UInt8], into destination: UnsafeMutableRawBufferPointer) throws(ZarrError) -> Bool {
        guard destination.count > 0, bytes.count >= 6 else { return false }
        let r = DeflateSupport.libdeflateDecompress(bytes, into: destination, container: .zlib)
        // Anything else (a different size, corrupt data) goes through `decode`, which explains.
        return r.result == LIBDEFLATE_SUCCESS && r.outUsed == destination.count
    }
}
