/// Size limits that readers apply before reading a value, so that a hostile or damaged store (a
/// sparse 100 GB file as `zarr.json` or as a chunk) is refused with
/// `ZarrError.valueTooLarge` instead of exhausting memory. A store carries its limits
/// (`ReadableStore.readLimits`); `LocalStore` and `ZipStore` take them at creation.
public struct ReadLimits: Sendable, Hashable {
    /// The largest metadata document read: `zarr.json`, `.zarray`, `.zgroup`, `.zattrs`,
    /// `.zmetadata` (and a zip archive's central directory).
    public var metadataDocumentBytes: Int
    /// The largest encoded chunk (or shard) of an array whose elements have no fixed size
    /// (variable-length strings or bytes), whose decoded size the metadata cannot tell.
    /// Chunks of fixed-size types are bounded by their decoded size instead (see
    /// `encodedChunkBound(decodedBytes:pieces:)`).
    public var variableLengthChunkBytes: Int

    /// Limits.
    public init(metadataDocumentBytes: Int = 256 << 20, variableLengthChunkBytes: Int = 4 << 30) {
        self.metadataDocumentBytes = metadataDocumentBytes
        self.variableLengthChunkBytes = variableLengthChunkBytes
    }

    /// 256 MiB per metadata document, 4 GiB per variable-length chunk.
    public static let standard = ReadLimits()

    /// The most bytes an encoded chunk may take when it decodes to `decodedBytes` bytes made
    /// of `pieces` separately encoded parts (inner chunks of a shard, plus its index): the
    /// codecs' worst-case expansion with a wide margin — an eighth more, 1 KiB of headers per
    /// piece and 1 MiB — saturating at `Int.max`.
    public static func encodedChunkBound(decodedBytes: Int, pieces: Int) -> Int {
        func add(_ a: Int, _ b: Int) -> Int { let (s, o) = a.addingReportingOverflow(b); return o ? .max : s }
        func mul(_ a: Int, _ b: Int) -> Int { let (s, o) = a.multipliedReportingOverflow(by: b); return o ? .max : s }
        let d = max(decodedBytes, 0)
        return add(add(d, d / 8), add(mul(max(pieces, 1), 1 << 10), 1 << 20))
    }
}

extension ReadLimits {
    /// The most bytes an encoded chunk of `spec` made of `parts` separately encoded parts may
    /// take: `encodedChunkBound` of its decoded size, or `variableLengthChunkBytes` for
    /// variable-length elements.
    func encodedLimit(of spec: ChunkSpec, parts: Int) -> Int {
        guard !spec.dataType.isVariableLength else { return variableLengthChunkBytes }
        guard let bytes = spec.byteCount else { return .max }
        return ReadLimits.encodedChunkBound(decodedBytes: bytes, pieces: parts)
    }
}

extension ZarrArray {
    /// The most bytes one stored chunk (a whole shard, for sharded arrays) of this array may
    /// take: its decoded size with the margin of `ReadLimits.encodedChunkBound`, or the
    /// store's `variableLengthChunkBytes` for variable-length types.
    var encodedChunkLimit: Int { chain.encodedChunkLimit(store.readLimits) }
}
