/// `vlen-utf8`: variable-length UTF-8 strings (v3 `string`; v2 filter on `|O`).
public struct VlenUTF8Codec: ArrayToBytesCodec, V2Codec {
    /// The v3 name, `vlen-utf8`.
    public static let v3Name = "vlen-utf8"
    /// The numcodecs id, `vlen-utf8`.
    public static let v2ID: String? = "vlen-utf8"
    /// An array→bytes codec.
    public static let kind = CodecKind.arrayToBytes

    /// A vlen-utf8 codec.
    public init() {}
    /// The codec has no configuration.
    public init(v3Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {}
    /// The filter has no configuration besides its id.
    public init(v2Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {}
    /// An empty configuration, as zarr-python writes it.
    public var v3Configuration: JSONObject? { [:] }
    /// The v2 filter object.
    public var v2Configuration: JSONObject { ["id": "vlen-utf8"] }

    /// Encodes the elements (a u32 count, then a u32 length and the bytes of each).
    public func encode(_ chunk: NDArray, spec: ChunkSpec) throws(ZarrError) -> [UInt8] {
        try VlenFormat.encode(chunk, codec: Self.v3Name)
    }
    /// Decodes a chunk of `spec`.
    public func decode(_ bytes: [UInt8], spec: ChunkSpec) throws(ZarrError) -> NDArray {
        try VlenFormat.decode(bytes, spec: spec, codec: Self.v3Name, validateUTF8: true)
    }
}
