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
    /// The number of elements.
    public var count: Int { shape.reduce(1, *) }
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
    /// Returns `false`: the caller uses `decode(_:)`.
    public func decode(_ bytes: [UInt8], into destination: UnsafeMutableRawBufferPointer) throws(ZarrError) -> Bool { false }
}

extension ArrayToBytesCodec {
    /// The encoded size of a chunk of `spec` when it is fixed, `nil` otherwise.
    public func encodedSize(_ spec: ChunkSpec) -> Int? { nil }
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
