#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The output buffer of a streaming decoder (zstd without a trusted size, zlib/gzip inflate,
/// bzip2): it grows as output arrives, never beyond one byte more than `limit` (so that output
/// past the limit is seen and refused), and each growth is checked against what the process
/// can allocate. A decompression bomb therefore ends in a typed error after at most `limit`
/// bytes, whatever its headers claim.
struct BoundedOutput {
    /// The buffer; `produced` bytes of it hold output.
    var buffer: [UInt8]
    /// Bytes of output so far.
    var produced = 0
    /// The most output allowed.
    let limit: Int
    /// The codec, for messages.
    let codec: String

    /// A buffer for at most `limit` bytes of output, starting at `initial` bytes (capped).
    init(initial: Int, limit: Int, codec: String) throws(ZarrError) {
        self.limit = limit
        self.codec = codec
        let cap = limit == Int.max ? Int.max : limit + 1
        let n = Swift.min(Swift.max(initial, 1024), cap)
        buffer = try LargeBuffer.bytes(n, what: "\(codec) output") { _ in n }  // written before it is read
    }

    /// Whether more output than `limit` arrived.
    var exceeded: Bool { produced > limit }

    /// The error for output beyond the limit.
    var tooLarge: ZarrError {
        .codecFailure(codec: codec, reason: "the data decodes to more than the \(limit) bytes the chunk can hold")
    }

    /// Makes room when the buffer is full: doubles it, up to one byte past the limit. Throws
    /// when the output already went past the limit or the memory cannot be had.
    mutating func makeRoom() throws(ZarrError) {
        guard produced == buffer.count else { return }
        if exceeded { throw tooLarge }
        let cap = limit == Int.max ? Int.max : limit + 1
        let (doubled, o) = buffer.count.multipliedReportingOverflow(by: 2)
        let target = Swift.min(o ? Int.max : Swift.max(doubled, buffer.count + (1 << 16)), cap)
        guard target > buffer.count else { throw tooLarge }
        // A new buffer with the output so far copied in; the rest is written by the decoder
        // before it is read (only `produced` bytes ever are).
        let old = buffer
        let kept = produced
        buffer = try LargeBuffer.bytes(target, what: "\(codec) output") { dst in
            old.withUnsafeBytes { src in
                if let s = src.baseAddress, let d = dst.baseAddress, kept > 0 { memcpy(d, s, kept) }
            }
            return target
        }
    }

    /// The output, without the spare room.
    consuming func finish() throws(ZarrError) -> [UInt8] {
        if exceeded { throw tooLarge }
        if buffer.count - produced > produced / 2 + 4096 { return Array(buffer[..<produced]) }  // shed the spare room
        buffer.removeSubrange(produced...)
        return buffer
    }
}
