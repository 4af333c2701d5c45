/// What a codec sees at its place in the chain: the shape and type of the chunk it encodes,
/// and the fill value. Codecs change it as data moves through the chain (transpose permutes
/// the shape).
public struct ChunkSpec: Sendable, Hashable {
    /// The chunk shape.
    public var shape: [Int]
    /// The element type.
    public var dataType: DataType
    /// The fill value.
    public var fillValue: FillValue
    /// A spec.
    public init(shape: [Int], dataType: DataType, fillValue: FillValue) {
        self.shape = shape; self.dataType = dataType; self.fillValue = fillValue
    }
    /// The number of elements (`Int.max` when the product overflows: such a spec fails
    /// every size check instead of trapping).
    public var count: Int {
        var n = 1
        for s in shape {
            let (p, o) = n.multipliedReportingOverflow(by: s)
            if o { return Int.max }
            n = p
        }
        return n
    }

    /// The bytes of one chunk of fixed-size elements, `nil` for variable-length elements or
    /// when the size overflows.
    public var byteCount: Int? {
        guard let size = dataType.itemSize else { return nil }
        let (b, o) = count.multipliedReportingOverflow(by: size)
        return o || count == Int.max ? nil : b
    }
}

/// Bounds on what decoding a chunk may produce, passed to each read (a value, not a global).
/// Chunks of fixed-size elements are bounded by the size their shape implies; chunks of
/// variable-length elements (`vlen-utf8`, `vlen-bytes`), whose decoded size no metadata gives,
/// by `maxVariableLengthChunkBytes`. A compressed stream that would decode to more is a typed
/// error, found while decoding and before the memory is taken.
public struct DecodeLimits: Sendable, Hashable {
    /// The most bytes the bytes→bytes codecs may produce for one chunk whose decoded size is
    /// not implied by its shape (variable-length elements). Default: 2 GiB, beyond any
    /// realistic chunk of strings, far below what a decompression bomb asks for.
    public var maxVariableLengthChunkBytes: Int

    /// Limits; `maxVariableLengthChunkBytes` defaults to 2 GiB.
    public init(maxVariableLengthChunkBytes: Int = DecodeLimits.defaultVariableLengthChunkBytes) {
        self.maxVariableLengthChunkBytes = Swift.max(0, maxVariableLengthChunkBytes)
    }

    /// 2 GiB.
    public static let defaultVariableLengthChunkBytes = 1 << 31
    /// The default limits.
    public static let standard = DecodeLimits()
}

/// The three kinds of v3 codec.
public enum CodecKind: Sendable {
    /// Array in, array out (transpose).
    case arrayToArray
    /// Array in, bytes out: exactly one per chain (bytes, vlen-utf8, sharding_indexed).
    case arrayToBytes
    /// Bytes in, bytes out (compressors, checksums).
    case bytesToBytes
}

/// A codec that knows its names and configuration. One file per codec, each owning its v3 name,
/// its v2 (numcodecs) id and its configuration; the registry lists them.
public protocol Codec: Sendable {
    /// The registered v3 name (`zstd`, `sharding_indexed`).
    static var v3Name: String { get }
    /// The numcodecs id used in v2 metadata, or `nil` if v2 has no such codec.
    static var v2ID: String? { get }
    /// The kind of codec.
    static var kind: CodecKind { get }
    /// Builds the codec from a v3 configuration; `spec` is what the codec will receive.
    init(v3Configuration: JSONObject, spec: ChunkSpec) throws(ZarrError)
    /// The v3 configuration to write; `nil` writes the bare name.
    var v3Configuration: JSONObject? { get }
    /// The name written in v3 metadata (default: `v3Name`).
    var v3WrittenName: String { get }
}

extension Codec {
    /// The v3 name, unless a codec overrides it.
    public var v3WrittenName: String { Self.v3Name }
    /// The codec's v3 metadata entry.
    public var v3JSON: JSONValue {
        var o: JSONObject = ["name": .string(v3WrittenName)]
        if let c = v3Configuration { o["configuration"] = .object(c) }
        return .object(o)
    }
}

/// A codec that can also appear in v2 metadata, as a compressor or filter.
public protocol V2Codec: Codec {
    /// Builds the codec from a v2 compressor/filter object (which includes `id`).
    init(v2Configuration: JSONObject, spec: ChunkSpec) throws(ZarrError)
    /// The v2 compressor/filter object, with `id`.
    var v2Configuration: JSONObject { get }
}

/// A codec from array to array (transpose).
public protocol ArrayToArrayCodec: Codec {
    /// The spec that the next codec receives.
    func encodedSpec(_ spec: ChunkSpec) throws(ZarrError) -> ChunkSpec
    /// Encodes a chunk of `spec`.
    func encode(_ chunk: NDArray) throws(ZarrError) -> NDArray
    /// Decodes back to a chunk of `spec`.
    func decode(_ chunk: NDArray, spec: ChunkSpec) throws(ZarrError) -> NDArray
}

/// The codec from array to bytes: exactly one per chain (bytes, vlen-utf8, sharding_indexed).
public protocol ArrayToBytesCodec: Codec {
    /// Encodes a chunk.
    func encode(_ chunk: NDArray, spec: ChunkSpec) throws(ZarrError) -> [UInt8]
    /// Decodes bytes into a chunk of `spec`.
    func decode(_ bytes: [UInt8], spec: ChunkSpec) throws(ZarrError) -> NDArray
    /// Decodes bytes into a chunk of `spec`, with `limits` on what inner chains (sharding)
    /// may produce. The default ignores the limits.
    func decode(_ bytes: [UInt8], spec: ChunkSpec, limits: DecodeLimits) throws(ZarrError) -> NDArray
    /// The encoded size for `spec` if it is fixed (needed for shard index codecs).
    func encodedSize(_ spec: ChunkSpec) -> Int?
}

/// A codec from bytes to bytes (compressors, checksums).
public protocol BytesToBytesCodec: Codec {
    /// Encodes bytes.
    func encode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8]
    /// Decodes bytes.
    func decode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8]
    /// Decodes bytes whose decoded size is known to be `expectedSize` when it is not `nil`
    /// (the chain knows it for fixed-size chunks). Codecs whose input claims a decoded size
    /// (zstd, blosc, LZ4) refuse a claim beyond it instead of allocating what a corrupt
    /// header asks for. The default ignores the hint.
    func decode(_ bytes: [UInt8], expectedSize: Int?) throws(ZarrError) -> [UInt8]
    /// Decodes bytes into at most `limit` bytes (exactly `expectedSize` when that is known; the
    /// chain passes the chunk's size, or `DecodeLimits.maxVariableLengthChunkBytes` when the
    /// size is not implied). A codec never allocates beyond `limit`, whatever its input
    /// claims; more output is a typed error. The default decodes with `decode(_:expectedSize:)`
    /// and checks the size afterwards.
    func decode(_ bytes: [UInt8], expectedSize: Int?, limit: Int) throws(ZarrError) -> [UInt8]
    /// The encoded size for an input of `n` bytes if it is fixed (crc32c: n + 4).
    func encodedSize(_ n: Int) -> Int?
    /// Decodes straight into `destination` when the decoded size is known to be its size;
    /// returns `false` if this codec cannot (the caller then uses `decode`).
    func decode(_ bytes: [UInt8], into destination: UnsafeMutableRawBufferPointer) throws(ZarrError) -> Bool
}

extension BytesToBytesCodec {
    /// Not fixed, by default.
    public func encodedSize(_ n: Int) -> Int? { nil }
    /// Ignores the hint and calls `decode(_:)`.
    public func decode(_ bytes: [UInt8], expectedSize: Int?) throws(ZarrError) -> [UInt8] { try decode(bytes) }
    /// Decodes with `decode(_:expectedSize:)`, then refuses output beyond `limit`.
    public func decode(_ bytes: [UInt8], expectedSize: Int?, limit: Int) throws(ZarrError) -> [UInt8] {
        let out = try decode(bytes, expectedSize: expectedSize)
        guard out.count <= limit else {
            throw .codecFailure(codec: v3WrittenName, reason: "decoded \(out.count) bytes, more than the \(limit) the chunk can hold")
        }
        return out
    }
    /// Returns `false`: the caller uses `decode(_:)`.
    public func decode(_ bytes: [UInt8], into destination: UnsafeMutableRawBufferPointer) throws(ZarrError) -> Bool { false }
}

extension ArrayToBytesCodec {
    /// The encoded size of a chunk of `spec` when it is fixed, `nil` otherwise.
    public func encodedSize(_ spec: ChunkSpec) -> Int? { nil }
    /// Calls `decode(_:spec:)`.
    public func decode(_ bytes: [UInt8], spec: ChunkSpec, limits: DecodeLimits) throws(ZarrError) -> NDArray {
        try decode(bytes, spec: spec)
    }
}

/// Helpers for reading codec configurations with typed errors.
extension JSONObject {
    func int(_ key: String, codec: String) throws(ZarrError) -> Int? {
        guard let v = self[key], !v.isNull else { return nil }
        guard let i = v.int else { throw .invalidCodecConfiguration(codec: codec, reason: "'\(key)' must be an integer") }
        return i
    }
    func string(_ key: String, codec: String) throws(ZarrError) -> String? {
        guard let v = self[key], !v.isNull else { return nil }
        guard let s = v.string else { throw .invalidCodecConfiguration(codec: codec, reason: "'\(key)' must be a string") }
        return s
    }
    func bool(_ key: String, codec: String) throws(ZarrError) -> Bool? {
        guard let v = self[key], !v.isNull else { return nil }
        guard let b = v.bool else { throw .invalidCodecConfiguration(codec: codec, reason: "'\(key)' must be a boolean") }
        return b
    }
}
