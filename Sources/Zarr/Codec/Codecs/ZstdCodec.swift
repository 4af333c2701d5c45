import CZstd

/// `zstd` (v3 default compressor; numcodecs id `zstd`). Always writes the frame content size;
/// decodes frames that lack it by streaming.
public struct ZstdCodec: BytesToBytesCodec, V2Codec {
    /// The v3 name, `zstd`.
    public static let v3Name = "zstd"
    /// The numcodecs id, `zstd`.
    public static let v2ID: String? = "zstd"
    /// A bytes→bytes codec.
    public static let kind = CodecKind.bytesToBytes

    /// The compression level, -131072...22; 0 is the library default.
    public var level: Int
    /// Whether frames carry a content checksum.
    public var checksum: Bool

    /// A zstd codec.
    public init(level: Int = 0, checksum: Bool = false) {
        self.level = level
        self.checksum = checksum
    }

    /// Reads the v3 configuration; an invalid one is a typed error.
    public init(v3Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        try self.init(configuration: try Configuration(v3: c))
    }

    /// A zstd codec of a typed configuration; a level outside -131072...22 is a typed error.
    public init(configuration: Configuration) throws(ZarrError) {
        level = configuration.level
        checksum = configuration.checksum
        guard (-131072...22).contains(level) else {
            throw .invalidCodecConfiguration(codec: Self.v3Name, reason: "level \(level) outside -131072...22")
        }
    }

    /// The typed configuration.
    public var configuration: Configuration { Configuration(level: level, checksum: checksum) }

    /// The typed v3 configuration of `zstd`.
    public struct Configuration: Sendable, Hashable {
        /// The compression level (0: the library default).
        public var level: Int
        /// Whether frames carry a content checksum.
        public var checksum: Bool
        /// A configuration.
        public init(level: Int = 0, checksum: Bool = false) { self.level = level; self.checksum = checksum }
        /// Reads `{"level": n, "checksum": b}`; missing members mean 0 and false.
        init(v3 c: JSONObject) throws(ZarrError) {
            level = try c.int("level", codec: ZstdCodec.v3Name) ?? 0
            checksum = try c.bool("checksum", codec: ZstdCodec.v3Name) ?? false
        }
        /// `{"level", "checksum"}`.
        var v3JSON: JSONObject { ["level": .integer(level), "checksum": .bool(checksum)] }
    }

    /// Reads the numcodecs configuration (with `id`), as for v3.
    public init(v2Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        try self.init(v3Configuration: c, spec: spec)
    }

    /// The v3 configuration written to metadata.
    public var v3Configuration: JSONObject? { configuration.v3JSON }
    /// The numcodecs object, with `id`.
    public var v2Configuration: JSONObject {
        var o: JSONObject = ["id": "zstd", "level": .integer(level)]
        if checksum { o["checksum"] = true }
        return o
    }

    static func check(_ code: Int) throws(ZarrError) {
        if ZSTD_isError(code) != 0 {
            throw .codecFailure(codec: "zstd", reason: String(cString: ZSTD_getErrorName(code)))
        }
    }

    /// Compresses `bytes` into one frame that records its content size.
    public func encode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        try ZstdContexts.withCompression { (ctx) throws(ZarrError) -> [UInt8] in
            try Self.check(ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, Int32(level)))
            try Self.check(ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, checksum ? 1 : 0))
            try Self.check(ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 1))
            let bound = ZSTD_compressBound(bytes.count)
            var result = 0
            let out = try LargeBuffer.bytes(bound, what: "zstd output") { buf in
                result = bytes.withUnsafeBytes { src in
                    ZSTD_compress2(ctx, buf.baseAddress, bound, src.baseAddress, src.count)
                }
                return ZSTD_isError(result) != 0 ? 0 : result
            }
            try Self.check(result)
            return out
        }
    }

    /// Decodes one or more frames, within the default limit. A frame content size beyond
    /// what `bytes` could plausibly expand to is not trusted (the frame is streamed instead),
    /// so a corrupt header cannot make it allocate an absurd buffer.
    public func decode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        try decode(bytes, expectedSize: nil)
    }

    /// The most a zstd input of `n` bytes is trusted to claim when the decoded size is not
    /// known: an RLE block of 4 bytes describes at most 128 KiB (ratio 32768), plus slack.
    static func maxTrustedSize(_ n: Int) -> Int {
        let (m, overflow) = n.multipliedReportingOverflow(by: 32768)
        return overflow ? Int.max : m + (1 << 20)
    }

    /// Decodes one or more frames whose total decoded size must be `expectedSize` when known
    /// (at most the default limit otherwise).
    public func decode(_ bytes: [UInt8], expectedSize: Int?) throws(ZarrError) -> [UInt8] {
        try decode(bytes, expectedSize: expectedSize, limit: expectedSize ?? DecodeLimits.standard.maxVariableLengthChunkBytes)
    }

    /// Decodes one or more frames into at most `limit` bytes (exactly `expectedSize` when
    /// known). A frame header that claims more than `limit` is a typed error, never an
    /// allocation of that size; a claim within the limit is used for one exact allocation
    /// only when it is the expected size or small (64 MiB) and plausible for the input, else the frames are
    /// streamed into a buffer that grows with the actual output and stops at the limit.
    public func decode(_ bytes: [UInt8], expectedSize: Int?, limit: Int) throws(ZarrError) -> [UInt8] {
        let size = bytes.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        if size == ZSTD_CONTENTSIZE_ERROR {
            throw .codecFailure(codec: "zstd", reason: "not a zstd frame")
        }
        if size != ZSTD_CONTENTSIZE_UNKNOWN {
            if size > UInt64(Swift.max(limit, 0)) {
                throw .codecFailure(codec: "zstd", reason: "the frame header claims \(size) bytes, the chunk holds at most \(limit)")
            }
            let n = Int(size)
            if n == expectedSize || n <= Swift.min(Self.maxTrustedSize(bytes.count), 1 << 26) {
                // One frame with a known size; several concatenated frames fall back to streaming.
                var result = 0
                let out = try LargeBuffer.bytes(n, what: "zstd output") { buf in
                    result = bytes.withUnsafeBytes { src in
                        Self.decompress(buf.baseAddress, n, src)
                    }
                    return (ZSTD_isError(result) == 0 && result == n) ? n : 0
                }
                if ZSTD_isError(result) == 0 && result == n { return out }
                // Otherwise (several frames, or a wrong size in the header) stream it.
            }
        }
        return try streamDecode(bytes, limit: limit, initial: expectedSize)
    }

    /// Decodes straight into `destination` when the frame says it holds exactly that many bytes; `false` otherwise.
    public func decode(_ bytes: [UInt8], into destination: UnsafeMutableRawBufferPointer) throws(ZarrError) -> Bool {
        let size = bytes.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        guard size == UInt64(destination.count) else { return false }
        let result = bytes.withUnsafeBytes { src in
            Self.decompress(destination.baseAddress, destination.count, src)
        }
        try Self.check(result)
        guard result == destination.count else {
            throw .codecFailure(codec: "zstd", reason: "decoded \(result) bytes, expected \(destination.count)")
        }
        return true
    }

    /// One-shot decompression with this thread's context (a status code as `ZSTD_decompress`).
    static func decompress(_ dst: UnsafeMutableRawPointer?, _ capacity: Int, _ src: UnsafeRawBufferPointer) -> Int {
        let r = try? ZstdContexts.withDecompression { (ctx) throws(ZarrError) -> Int in
            ZSTD_decompressDCtx(ctx, dst, capacity, src.baseAddress, src.count)
        }
        return r ?? ZSTD_decompress(dst, capacity, src.baseAddress, src.count)
    }

    /// Streams every frame into a buffer that grows with the output; output beyond `limit`
    /// is a typed error, found before more memory is taken.
    func streamDecode(_ bytes: [UInt8], limit: Int, initial: Int? = nil) throws(ZarrError) -> [UInt8] {
        guard let ds = ZSTD_createDStream() else { throw .codecFailure(codec: "zstd", reason: "out of memory") }
        defer { ZSTD_freeDStream(ds) }
        var out = try BoundedOutput(
            initial: initial ?? Swift.min(4 * bytes.count, 1 << 26), limit: limit, codec: "zstd")
        var lastResult = 0
        var failure = 0
        var thrown: ZarrError?
        bytes.withUnsafeBytes { src in
            var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
            repeat {
                do throws(ZarrError) { try out.makeRoom() } catch { thrown = error; return }
                let start = out.produced
                let (r, produced) = out.buffer.withUnsafeMutableBytes { dst in
                    var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: start)
                    let r = ZSTD_decompressStream(ds, &output, &input)
                    return (r, output.pos - start)
                }
                if ZSTD_isError(r) != 0 { failure = r; return }
                lastResult = r
                out.produced += produced
                if out.exceeded { thrown = out.tooLarge; return }
                if produced == 0 && input.pos == input.size && out.produced < out.buffer.count { break }
            } while input.pos < input.size || lastResult != 0
        }
        if let thrown { throw thrown }
        if failure != 0 { try Self.check(failure) }
        guard lastResult == 0 else { throw .codecFailure(codec: "zstd", reason: "truncated frame") }
        return try out.finish()
    }
}
