#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Big buffers: the one place where sizes that come from input (shapes, chunk headers, decoded
/// streams) are checked against what this process can allocate before any memory is taken, so
/// that an allocation the machine cannot give is a typed error, never an abort.
enum LargeBuffer {
    /// Buffers at least this big are advised.
    static let threshold = 8 << 20
    static let hugePage = 2 << 20
    /// Allocations at least this big are checked against the process's limits (reading them
    /// costs a few system calls, negligible next to filling such a buffer).
    static let checkThreshold = 16 << 20
    /// Allocations at least this big are first tried with `malloc`, which can fail, before the
    /// Swift array (whose allocation failure aborts) is made.
    static let probeThreshold = 1 << 20

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

    /// The bytes of `count` elements of `itemSize` bytes, or a typed error when that
    /// overflows or exceeds what this process can allocate (see `allocatable`).
    static func checkedBytes(count: Int, itemSize: Int, what: String) throws(ZarrError) -> Int {
        let (total, overflow) = count.multipliedReportingOverflow(by: itemSize)
        guard !overflow else {
            throw .outOfMemory(what: "\(what) of \(count) elements of \(itemSize) bytes", bytes: nil, available: nil)
        }
        try checkAllocatable(total, what: what)
        return total
    }

    /// The number of elements of `shape`, or a typed error when it overflows.
    static func checkedCount(_ shape: [Int], what: String) throws(ZarrError) -> Int {
        var n = 1
        for s in shape {
            let (p, o) = n.multipliedReportingOverflow(by: s)
            guard !o, s >= 0 else { throw .outOfMemory(what: "\(what) of shape \(shape)", bytes: nil, available: nil) }
            n = p
        }
        return n
    }

    /// Throws unless `bytes` more bytes can be allocated now: a negative or overflowing size,
    /// or one beyond `allocatable()`, is `ZarrError.outOfMemory`. Small sizes pass unchecked.
    static func checkAllocatable(_ bytes: Int, what: @autoclosure () -> String) throws(ZarrError) {
        guard bytes >= 0 else { throw .outOfMemory(what: what(), bytes: nil, available: nil) }
        guard bytes >= checkThreshold else { return }
        let available = allocatable()
        guard bytes <= available.bytes else {
            throw .outOfMemory(what: "\(what()) (\(available.source))", bytes: bytes, available: available.bytes)
        }
    }

    /// Tries to allocate `bytes` with `malloc`, which returns nil instead of aborting, and
    /// frees it: a size the allocator refuses (under `ulimit -v`, say) becomes a typed error
    /// before a Swift array of that size is made.
    static func probe(_ bytes: Int, what: @autoclosure () -> String) throws(ZarrError) {
        guard bytes >= probeThreshold else { return }
        guard let p = malloc(bytes) else {
            throw .outOfMemory(what: "\(what()) (the allocation failed)", bytes: bytes, available: nil)
        }
        free(p)
    }

    /// A byte array of `count` bytes whose contents `initialize` writes (it returns how many
    /// it initialised, at most `count`); checked against the process's limits and tried with
    /// a fallible allocation first, so that a size that cannot be allocated is a typed error.
    static func bytes(
        _ count: Int, what: @autoclosure () -> String,
        _ initialize: (UnsafeMutableBufferPointer<UInt8>) throws(ZarrError) -> Int
    ) throws(ZarrError) -> [UInt8] {
        try checkAllocatable(count, what: what())
        try probe(count, what: what())
        var failure: ZarrError?
        let out = [UInt8](unsafeUninitializedCapacity: count) { buf, n in
            do throws(ZarrError) {
                n = try initialize(buf)
            } catch {
                failure = error
                n = 0
            }
        }
        if let failure { throw failure }
        return out
    }

    /// `count` zero bytes, allocated as `bytes(_:what:_:)` does.
    static func zeros(_ count: Int, what: @autoclosure () -> String) throws(ZarrError) -> [UInt8] {
        try bytes(count, what: what()) { (buf) throws(ZarrError) -> Int in
            if let p = buf.baseAddress { memset(p, 0, count) }
            return count
        }
    }

    /// Raw memory of `bytes` bytes aligned to `alignment`, or a typed error when it cannot be
    /// allocated (`posix_memalign` fails instead of aborting). Free it with `free`.
    static func allocateRaw(_ bytes: Int, alignment: Int, what: @autoclosure () -> String) throws(ZarrError) -> UnsafeMutableRawBufferPointer {
        try checkAllocatable(bytes, what: what())
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, alignment, Swift.max(bytes, 1)) == 0, let p else {
            throw .outOfMemory(what: "\(what()) (the allocation failed)", bytes: bytes, available: nil)
        }
        return UnsafeMutableRawBufferPointer(start: p, count: bytes)
    }

    /// What this process can still allocate, in bytes, and which limit says so: the least of
    /// the address-space and data-segment limits (`RLIMIT_AS`, `RLIMIT_DATA`) minus what is in
    /// use, the cgroup's `memory.max` minus its non-reclaimable usage (this cgroup and its
    /// ancestors; v1 `memory.limit_in_bytes` too), and `MemAvailable` plus free swap. Physical
    /// memory alone is not the bound: a process under a memory limit aborts long before.
    /// On Darwin: the same rlimits, and physical memory (`hw.memsize`), each minus this
    /// process's peak resident size — macOS compresses and swaps other processes' memory on
    /// demand, so what is free now is no bound, but an allocation beyond the machine's memory is
    /// refused. `Int.max` where nothing is known.
    static func allocatable() -> (bytes: Int, source: String) {
        var best = (bytes: Int.max, source: "no limit known")
        func consider(_ bytes: Int?, _ source: String) {
            if let bytes, bytes < best.bytes { best = (Swift.max(bytes, 0), source) }
        }
        #if os(Linux)
        let status = procFields("/proc/self/status")
        var rl = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &rl) == 0, rl.rlim_cur != rlim_t.max, let limit = Int(exactly: rl.rlim_cur) {
            consider(limit - (status["VmSize"] ?? 0), "address-space limit (ulimit -v) of \(limit) bytes")
        }
        if getrlimit(Int32(RLIMIT_DATA.rawValue), &rl) == 0, rl.rlim_cur != rlim_t.max, let limit = Int(exactly: rl.rlim_cur) {
            consider(limit - (status["VmData"] ?? 0), "data-segment limit (ulimit -d) of \(limit) bytes")
        }
        for (max, used, source) in cgroupLimits() { consider(max - used, source) }
        let meminfo = procFields("/proc/meminfo")
        if let avail = meminfo["MemAvailable"] {
            consider(avail + (meminfo["SwapFree"] ?? 0), "available memory (MemAvailable + SwapFree)")
        }
        #elseif canImport(Darwin)
        let held = DarwinSystem.residentPeak()
        var rl = rlimit()
        if getrlimit(RLIMIT_AS, &rl) == 0, let limit = Int(exactly: rl.rlim_cur), limit < Int.max {
            consider(limit - held, "address-space limit (ulimit -v) of \(limit) bytes")
        }
        if getrlimit(RLIMIT_DATA, &rl) == 0, let limit = Int(exactly: rl.rlim_cur), limit < Int.max {
            consider(limit - held, "data-segment limit (ulimit -d) of \(limit) bytes")
        }
        if let memory = DarwinSystem.sysctlInteger("hw.memsize") {
            consider(memory - held, "physical memory (hw.memsize) of \(memory) bytes")
        }
        #endif
        return best
    }

    #if os(Linux)
    /// The memory limits of this process's cgroup and its ancestors: (limit, usage that cannot
    /// be reclaimed, description). cgroup v2 (`0::/path`: `memory.max`, `memory.current`, file
    /// cache in `memory.stat`) and v1 (`N:memory:/path`: `memory.limit_in_bytes`,
    /// `memory.usage_in_bytes`, `cache`); page cache counts as reclaimable.
    static func cgroupLimits() -> [(Int, Int, String)] {
        var out: [(Int, Int, String)] = []
        guard let text = readSmallFile("/proc/self/cgroup") else { return out }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let v2 = parts[0] == "0" && parts[1].isEmpty
            let v1 = parts[1].split(separator: ",").contains("memory")
            guard v1 || v2 else { continue }
            let base = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory"
            let (maxFile, usageFile, cacheKey) = v2
                ? ("memory.max", "memory.current", "file") : ("memory.limit_in_bytes", "memory.usage_in_bytes", "cache")
            var path = String(parts[2])
            // This cgroup and each ancestor up to the root of the hierarchy.
            for _ in 0..<64 {
                let dir = base + (path == "/" ? "" : path)
                if let maxText = readSmallFile(dir + "/" + maxFile), let max = Int(maxText.trimmed), max < Int.max / 2,
                   let used = readSmallFile(dir + "/" + usageFile).flatMap({ Int($0.trimmed) }) {
                    let cache = readSmallFile(dir + "/memory.stat").flatMap { statField($0, cacheKey) } ?? 0
                    out.append((max, used - cache, "cgroup memory limit of \(max) bytes"))
                }
                guard path != "/", !path.isEmpty, let slash = path.lastIndex(of: "/") else { break }
                path = slash == path.startIndex ? "/" : String(path[..<slash])
            }
        }
        return out
    }

    /// `key value` lines of a cgroup `memory.stat`.
    static func statField(_ text: String, _ key: String) -> Int? {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == key { return Int(parts[1]) }
        }
        return nil
    }

    /// `Name: value kB` lines of /proc files, in bytes.
    static func procFields(_ path: String) -> [String: Int] {
        guard let text = readSmallFile(path) else { return [:] }
        var out: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let parts = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = parts.first, let v = Int(first) else { continue }
            out[String(line[..<colon])] = parts.count > 1 && parts[1] == "kB" ? v.multipliedReportingOverflow(by: 1024).partialValue : v
        }
        return out
    }

    /// The contents of a small (pseudo-)file, or nil.
    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while out.count < 1 << 16 {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
    #endif
}

extension String {
    fileprivate var trimmed: String {
        var s = Substring(self)
        while let c = s.last, c == "\n" || c == " " { s = s.dropLast() }
        return String(s)
    }
}
