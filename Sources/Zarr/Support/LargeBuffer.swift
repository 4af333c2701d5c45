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

    /// This machine's physical memory in bytes (or `Int.max` when unknown).
    static let physicalMemory: Int = {
        #if canImport(Glibc)
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return Int.max }
        let (m, o) = pages.multipliedReportingOverflow(by: size)
        return o ? Int.max : m
        #else
        return Int.max
        #endif
    }()

    /// The bytes of `count` elements of `itemSize` bytes, or a typed error when that
    /// overflows or exceeds physical memory (an allocation that large would trap).
    static func checkedBytes(count: Int, itemSize: Int, what: String) throws(ZarrError) -> Int {
        let (total, overflow) = count.multipliedReportingOverflow(by: itemSize)
        guard !overflow, total <= physicalMemory else {
            throw .unsupportedOperation("\(what) of \(count) elements of \(itemSize) bytes exceeds this machine's memory")
        }
        return total
    }

    /// The number of elements of `shape`, or a typed error when it overflows.
    static func checkedCount(_ shape: [Int], what: String) throws(ZarrError) -> Int {
        var n = 1
        for s in shape {
            let (p, o) = n.multipliedReportingOverflow(by: s)
            guard !o else { throw .unsupportedOperation("\(what) of shape \(shape) has too many elements") }
            n = p
        }
        return n
    }
}
