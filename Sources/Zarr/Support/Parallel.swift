import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// How many chunks an operation encodes or decodes at once, and how many store requests it
/// keeps in flight. A value passed to each call; there is no global setting.
public struct ConcurrencyOptions: Sendable, Hashable {
    /// Worker threads for CPU work (codecs). Defaults to the machine's active cores.
    public var codecThreads: Int
    /// Store requests in flight at once.
    public var ioRequests: Int
    /// Whether reads ask the kernel (Linux) to back their output buffers of 8 MiB or more with
    /// transparent huge pages: a fresh buffer then costs a page fault per 2 MiB instead of per
    /// 4 KiB, which makes large reads much faster on bare metal; in some virtual machines
    /// zeroing huge pages costs more than it saves, so it is off by default.
    public var hugePages: Bool = false

    /// Options; defaults follow the machine.
    public init(codecThreads: Int? = nil, ioRequests: Int = 16, hugePages: Bool = false) {
        self.hugePages = hugePages
        self.codecThreads = max(1, codecThreads ?? Parallel.activeCores)
        self.ioRequests = max(1, ioRequests)
    }

    /// The defaults for this machine.
    public static var automatic: ConcurrencyOptions { ConcurrencyOptions() }
    /// Everything on the calling thread, one request at a time.
    public static var serial: ConcurrencyOptions { ConcurrencyOptions(codecThreads: 1, ioRequests: 1) }
}

/// Bounded parallel loops for CPU work and for async I/O.
public enum Parallel {
    /// The number of active processor cores: the online processors on Linux
    /// (`sysconf(_SC_NPROCESSORS_ONLN)`), the physical cores on Darwin (`hw.physicalcpu`).
    public static var activeCores: Int {
        #if canImport(Glibc) || canImport(Musl)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #elseif canImport(Darwin)
        return max(1, DarwinSystem.sysctlInteger("hw.physicalcpu") ?? Int(sysconf(_SC_NPROCESSORS_ONLN)))
        #else
        return 4
        #endif
    }

    /// Runs `body(i)` for `i` in `0..<count` on at most `threads` threads, blocking until all are
    /// done; rethrows the first error (the other workers stop taking new items).
    public static func forEach(_ count: Int, threads: Int, _ body: (Int) throws(ZarrError) -> Void) throws(ZarrError) {
        try forEach(count, threads: threads) { (_: Int, i: Int) throws(ZarrError) in try body(i) }
    }

    /// Like `forEach`, also passing the worker number (`0..<threads`), so each worker can keep
    /// its own scratch buffer.
    public static func forEach(_ count: Int, threads: Int, _ body: (_ worker: Int, _ item: Int) throws(ZarrError) -> Void) throws(ZarrError) {
        if count == 0 { return }
        let workers = min(max(1, threads), count)
        if workers == 1 {
            for i in 0..<count { try body(0, i) }
            return
        }
        let next = Atomic<Int>(0)
        let failure = Mutex<ZarrError?>(nil)
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                while true {
                    let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    if i >= count { return }
                    do throws(ZarrError) {
                        try box.value(worker, i)
                    } catch {
                        failure.withLock { if $0 == nil { $0 = error } }
                        next.store(count, ordering: .relaxed)
                        return
                    }
                }
            }
        }
        if let e = failure.withLock({ $0 }) { throw e }
    }

    /// Runs `body` on every item with at most `limit` tasks in flight; returns the results in
    /// item order, or throws the first error (cancelling the rest).
    public static func map<T: Sendable, R: Sendable>(
        _ items: [T], limit: Int, _ body: @escaping @Sendable (T) async throws -> R
    ) async throws -> [R] {
        if items.isEmpty { return [] }
        if limit <= 1 || items.count == 1 {
            var out: [R] = []
            out.reserveCapacity(items.count)
            for item in items { out.append(try await body(item)) }
            return out
        }
        return try await withThrowingTaskGroup(of: (Int, R).self) { group in
            var results = [R?](repeating: nil, count: items.count)
            var next = 0
            while next < min(limit, items.count) {
                let i = next
                group.addTask { (i, try await body(items[i])) }
                next += 1
            }
            while let (i, r) = try await group.next() {
                results[i] = r
                if next < items.count {
                    let j = next
                    group.addTask { (j, try await body(items[j])) }
                    next += 1
                }
            }
            return results.compactMap { $0 }
        }
    }
}

/// Carries a value across a concurrency boundary where the caller guarantees safe use (disjoint
/// writes to a shared buffer, a closure run only during a blocking call).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
