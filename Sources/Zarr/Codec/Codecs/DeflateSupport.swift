import CDeflate
import CZlib

/// DEFLATE helpers shared by the gzip and zlib codecs: libdeflate for whole buffers, zlib for
/// streaming when the decoded size is unknown.
enum DeflateSupport {
    /// The container around the DEFLATE data.
    enum Container { case gzip, zlib }

    /// Validates a level: 0...9, and `-1` (zlib's default) where v2 metadata may carry it.
    static func checkLevel(_ level: Int, codec: String, allowDefault: Bool) throws(ZarrError) {
        guard (0...9).contains(level) || (allowDefault && level == -1) else {
            throw .invalidCodecConfiguration(codec: codec, reason: "level \(level) outside 0...9")
        }
    }

    /// An upper bound on what DEFLATE can expand `n` input bytes to (its ratio is at most
    /// about 1032:1), used to distrust size hints.
    static func maxExpansion(_ n: Int) -> Int {
        let (m, overflow) = n.multipliedReportingOverflow(by: 1032)
        return overflow ? Int.max : m + 1024
    }

    /// Calls `body` with a pointer that is never nil, even for an empty array.
    static func withInput<R>(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
        bytes.withUnsafeBufferPointer { buf in
            if let p = buf.baseAddress, buf.count > 0 { return body(p, buf.count) }
            var zero: UInt8 = 0
            return withUnsafePointer(to: &zero) { body($0, 0) }
        }
    }

    /// Compresses with libdeflate into a gzip or zlib container.
    static func compress(_ bytes: [UInt8], level: Int, container: Container, codec: String) throws(ZarrError) -> [UInt8] {
        let libLevel = level < 0 ? 6 : level
        guard let c = libdeflate_alloc_compressor(Int32(libLevel)) else {
            throw .codecFailure(codec: codec, reason: "cannot create a level \(level) compressor")
        }
        defer { libdeflate_free_compressor(c) }
        let bound = container == .gzip
            ? libdeflate_gzip_compress_bound(c, bytes.count)
            : libdeflate_zlib_compress_bound(c, bytes.count)
        var written = 0
        let out = try LargeBuffer.bytes(bound, what: "\(codec) output") { buf in
            written = withInput(bytes) { src, n in
                container == .gzip
                    ? libdeflate_gzip_compress(c, src, n, buf.baseAddress, bound)
                    : libdeflate_zlib_compress(c, src, n, buf.baseAddress, bound)
            }
            return Swift.max(written, 0)
        }
        guard written > 0 else { throw .codecFailure(codec: codec, reason: "compression failed") }
        return out
    }

    /// Decompresses one gzip member or zlib stream with libdeflate into `destination`.
    static func libdeflateDecompress(
        _ bytes: [UInt8], into destination: UnsafeMutableRawBufferPointer, container: Container
    ) -> (result: libdeflate_result, inUsed: Int, outUsed: Int) {
        guard let d = libdeflate_alloc_decompressor() else { return (LIBDEFLATE_BAD_DATA, 0, 0) }
        defer { libdeflate_free_decompressor(d) }
        var inUsed = 0
        var outUsed = 0
        let r = withInput(bytes) { src, n in
            container == .gzip
                ? libdeflate_gzip_decompress_ex(d, src, n, destination.baseAddress, destination.count, &inUsed, &outUsed)
                : libdeflate_zlib_decompress_ex(d, src, n, destination.baseAddress, destination.count, &inUsed, &outUsed)
        }
        return (r, inUsed, outUsed)
    }

    /// Streams `bytes` through zlib's inflate into at most `limit` bytes (more is a typed
    /// error, found before more memory is taken). gzip accepts several members and trailing
    /// zero padding; zlib stops at the end of the first stream.
    static func inflate(_ bytes: [UInt8], container: Container, sizeHint: Int?, limit: Int, codec: String) throws(ZarrError) -> [UInt8] {
        guard !bytes.isEmpty else { throw .codecFailure(codec: codec, reason: "empty input") }
        var strm = z_stream()
        let windowBits: Int32 = container == .gzip ? 16 + 15 : 15
        guard inflateInit2_(&strm, windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .codecFailure(codec: codec, reason: "cannot initialise zlib")
        }
        defer { inflateEnd(&strm) }

        let piece = 1 << 30
        var out = try BoundedOutput(
            initial: Swift.max(sizeHint ?? 0, Swift.min(4 * bytes.count, 1 << 26)), limit: limit, codec: codec)
        var failure: String?
        var thrown: ZarrError?
        bytes.withUnsafeBufferPointer { src in
            guard let base = src.baseAddress else { failure = "empty input"; return }
            var fed = 0
            while true {
                if strm.avail_in == 0 && fed < src.count {
                    let n = Swift.min(src.count - fed, piece)
                    strm.next_in = UnsafeMutablePointer(mutating: base + fed)
                    strm.avail_in = UInt32(n)
                    fed += n
                }
                do throws(ZarrError) { try out.makeRoom() } catch { thrown = error; return }
                let produced = out.produced
                let (ret, used): (Int32, Int) = out.buffer.withUnsafeMutableBufferPointer { o in
                    guard let ob = o.baseAddress else { return (Z_MEM_ERROR, 0) }
                    let avail = Swift.min(o.count - produced, piece)
                    strm.next_out = ob + produced
                    strm.avail_out = UInt32(avail)
                    let r = CZlib.inflate(&strm, Z_NO_FLUSH)
                    return (r, avail - Int(strm.avail_out))
                }
                out.produced += used
                if out.exceeded { thrown = out.tooLarge; return }
                let remaining = src.count - fed + Int(strm.avail_in)
                switch ret {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    guard container == .gzip, remaining > 0 else { return }
                    // Another member follows, unless the rest is zero padding.
                    let start = src.count - remaining
                    if src[start...].allSatisfy({ $0 == 0 }) { return }
                    guard inflateReset(&strm) == Z_OK else { failure = "cannot reset zlib"; return }
                case Z_BUF_ERROR:
                    if remaining == 0 { failure = "truncated stream"; return }
                default:
                    if let m = strm.msg {
                        failure = String(cString: m)
                    } else {
                        failure = ret == Z_NEED_DICT ? "stream needs a preset dictionary" : "zlib error \(ret)"
                    }
                    return
                }
            }
        }
        if let thrown { throw thrown }
        if let failure { throw .codecFailure(codec: codec, reason: failure) }
        return try out.finish()
    }
}
