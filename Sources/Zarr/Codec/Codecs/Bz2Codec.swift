import CBzip2

/// `bz2` (numcodecs id `bz2`; in v3 metadata it appears as `numcodecs.bz2`): a bzip2 stream.
///
/// Decoding streams (the decoded size is not recorded) and, like Python's `bz2.decompress`,
/// accepts several concatenated streams; anything after a stream must be another stream.
public struct Bz2Codec: BytesToBytesCodec, V2Codec {
    /// The v3 name, `bz2` (not a registered v3 codec; written as `numcodecs.bz2`).
    public static let v3Name = "bz2"
    /// The numcodecs id, `bz2`.
    public static let v2ID: String? = "bz2"
    /// A bytes→bytes codec.
    public static let kind = CodecKind.bytesToBytes
    /// Written as `numcodecs.bz2` in v3 metadata: a bare `bz2` is not a registered v3
    /// codec, so it is only read, never written.
    public var v3WrittenName: String { "numcodecs.bz2" }

    /// The compression level, 1...9: the block size in units of 100 kB.
    public var level: Int

    /// A bzip2 codec at `level` (1...9; numcodecs' default is 1).
    public init(level: Int = 1) throws(ZarrError) {
        try Self.check(level)
        self.level = level
    }

    /// Reads `{"level": n}`; a missing level means 1, as in numcodecs.
    public init(v3Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        let level = try c.int("level", codec: Self.v3Name) ?? 1
        try Self.check(level)
        self.level = level
    }

    /// Reads `{"id": "bz2", "level": n}`.
    public init(v2Configuration c: JSONObject, spec: ChunkSpec) throws(ZarrError) {
        try self.init(v3Configuration: c, spec: spec)
    }

    static func check(_ level: Int) throws(ZarrError) {
        guard (1...9).contains(level) else {
            throw .invalidCodecConfiguration(codec: v3Name, reason: "level \(level) outside 1...9")
        }
    }

    /// `{"level": n}`.
    public var v3Configuration: JSONObject? { ["level": .integer(level)] }
    /// `{"id": "bz2", "level": n}`.
    public var v2Configuration: JSONObject { ["id": "bz2", "level": .integer(level)] }

    /// Compresses `bytes` into one bzip2 stream.
    public func encode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        // bzip2's documented bound: 1% plus 600 bytes.
        let (bound, overflow) = bytes.count.addingReportingOverflow(bytes.count / 100 + 600)
        guard !overflow, bound <= Int(UInt32.max) else {
            throw .codecFailure(codec: Self.v3Name, reason: "input of \(bytes.count) bytes is too large for bzip2's one-call API")
        }
        var result = BZ_OK
        var destLen = UInt32(bound)
        let out = try LargeBuffer.bytes(bound, what: "bz2 output") { buf in
            guard let dst = buf.baseAddress else { result = BZ_MEM_ERROR; return 0 }
            result = Self.withInput(bytes) { src, n in
                dst.withMemoryRebound(to: CChar.self, capacity: bound) { d in
                    src.withMemoryRebound(to: CChar.self, capacity: Swift.max(n, 1)) { s in
                        BZ2_bzBuffToBuffCompress(d, &destLen, UnsafeMutablePointer(mutating: s), UInt32(n), Int32(level), 0, 0)
                    }
                }
            }
            return result == BZ_OK ? Int(destLen) : 0
        }
        guard result == BZ_OK else { throw .codecFailure(codec: Self.v3Name, reason: Self.message(result)) }
        return out
    }

    /// Decompresses one or more concatenated bzip2 streams, within the default limit.
    public func decode(_ bytes: [UInt8]) throws(ZarrError) -> [UInt8] {
        try decode(bytes, expectedSize: nil)
    }

    /// Decompresses into at most `expectedSize` bytes when known (the default limit otherwise).
    public func decode(_ bytes: [UInt8], expectedSize: Int?) throws(ZarrError) -> [UInt8] {
        try decode(bytes, expectedSize: expectedSize, limit: expectedSize ?? DecodeLimits.standard.maxVariableLengthChunkBytes)
    }

    /// Decompresses one or more concatenated bzip2 streams into at most `limit` bytes: the
    /// output grows as it arrives and more than `limit` is a typed error (bzip2 records no
    /// size, so nothing else bounds it).
    public func decode(_ bytes: [UInt8], expectedSize: Int?, limit: Int) throws(ZarrError) -> [UInt8] {
        guard !bytes.isEmpty else { throw .codecFailure(codec: Self.v3Name, reason: "empty input") }
        var strm = bz_stream()
        var initialised = BZ2_bzDecompressInit(&strm, 0, 0) == BZ_OK
        guard initialised else { throw .codecFailure(codec: Self.v3Name, reason: "cannot initialise bzip2") }
        defer { if initialised { BZ2_bzDecompressEnd(&strm) } }

        let piece = 1 << 30
        var out = try BoundedOutput(
            initial: Swift.max(expectedSize ?? 0, Swift.min(4 * bytes.count, 1 << 26)), limit: limit, codec: Self.v3Name)
        var failure: String?
        var thrown: ZarrError?
        bytes.withUnsafeBufferPointer { src in
            guard let base = src.baseAddress else { failure = "empty input"; return }
            var fed = 0
            while true {
                if strm.avail_in == 0 && fed < src.count {
                    let n = Swift.min(src.count - fed, piece)
                    strm.next_in = UnsafeMutableRawPointer(mutating: base + fed).assumingMemoryBound(to: CChar.self)
                    strm.avail_in = UInt32(n)
                    fed += n
                }
                do throws(ZarrError) { try out.makeRoom() } catch { thrown = error; return }
                let produced = out.produced
                let (ret, used, room): (Int32, Int, Int) = out.buffer.withUnsafeMutableBytes { o in
                    guard let ob = o.baseAddress else { return (BZ_MEM_ERROR, 0, 0) }
                    let avail = Swift.min(o.count - produced, piece)
                    strm.next_out = (ob + produced).assumingMemoryBound(to: CChar.self)
                    strm.avail_out = UInt32(avail)
                    let r = BZ2_bzDecompress(&strm)
                    return (r, avail - Int(strm.avail_out), Int(strm.avail_out))
                }
                out.produced += used
                if out.exceeded { thrown = out.tooLarge; return }
                let remaining = src.count - fed + Int(strm.avail_in)
                switch ret {
                case BZ_OK:
                    // All input used and room left over but no end of stream: it is cut short.
                    if remaining == 0 && room > 0 { failure = "truncated stream"; return }
                case BZ_STREAM_END:
                    guard remaining > 0 else { return }
                    // Another stream follows: start afresh on the rest.
                    let next = strm.next_in
                    let avail = strm.avail_in
                    BZ2_bzDecompressEnd(&strm)
                    strm = bz_stream()
                    initialised = BZ2_bzDecompressInit(&strm, 0, 0) == BZ_OK
                    guard initialised else { failure = "cannot initialise bzip2"; return }
                    strm.next_in = next
                    strm.avail_in = avail
                default:
                    failure = Self.message(ret)
                    return
                }
            }
        }
        if let thrown { throw thrown }
        if let failure { throw .codecFailure(codec: Self.v3Name, reason: failure) }
        return try out.finish()
    }

    /// A readable bzip2 error.
    static func message(_ code: Int32) -> String {
        switch code {
        case BZ_DATA_ERROR: return "corrupt data"
        case BZ_DATA_ERROR_MAGIC: return "not a bzip2 stream"
        case BZ_MEM_ERROR: return "out of memory"
        case BZ_OUTBUFF_FULL: return "output buffer full"
        case BZ_PARAM_ERROR: return "invalid parameter"
        case BZ_UNEXPECTED_EOF: return "truncated stream"
        default: return "bzip2 error \(code)"
        }
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
