#if canImport(Glibc)
import Glibc
#endif

/// Page-level advice for big output buffers.
enum LargeBuffer {
    /// Buffers at least this big are advised.
    static let threshold = 8 << 20
    static let hugePage = 2 << 20

    /// Asks the kernel to back the 2 MiB-aligned interior of `buffer` with transparent huge
    /// pages (Linux `MADV_HUGEPAGE`): a fresh buffer of hundreds of MiB then costs hundreds of
    /// page faults instead of hundreds of thousands. Advice only: ignored where unsupported.
    static func adviseHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        guard buffer.count >= threshold, let base = buffer.baseAddress else { return }
        let start = (UInt(bitPattern: base) + UInt(hugePage - 1)) & ~UInt(hugePage - 1)
        let end = (UInt(bitPattern: base) + UInt(buffer.count)) & ~UInt(hugePage - 1)
        guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(p, Int(end - start), MADV_HUGEPAGE)
        #endif
    }
}
