#if canImport(Darwin)
import Darwin

/// The Darwin (macOS) system queries behind `Parallel.activeCores` and
/// `LargeBuffer.allocatable()`; Linux reads `sysconf` and `/proc` instead.
enum DarwinSystem {
    /// The integer value of the `sysctl` variable `name` (32- or 64-bit), or `nil`.
    static func sysctlInteger(_ name: String) -> Int? {
        var value: UInt64 = 0
        var size = MemoryLayout<UInt64>.size
        guard sysctlbyname(name, &value, &size, nil, 0) == 0 else { return nil }
        switch size {
        case MemoryLayout<UInt32>.size: return Int(UInt32(truncatingIfNeeded: value))
        case MemoryLayout<UInt64>.size: return Int(exactly: value)
        default: return nil
        }
    }

    /// This process's peak resident size in bytes (`getrusage`, which counts bytes on
    /// Darwin), or 0 when unknown: what it already holds, as an estimate.
    static func residentPeak() -> Int {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
        return max(0, Int(usage.ru_maxrss))
    }
}
#endif
