#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A fixed set of threads for blocking file I/O (`open`, `pread`, `write`, `rename`, directory
/// walks and tree removals), as swift-nio's `NIOThreadPool` is for its `NonBlockingFileIO`.
///
/// Swift's cooperative pool has one thread per core; a system call that blocks there (a slow or
/// network disk, a cold page cache, the removal of a large tree) holds a thread that every other
/// task needs. `LocalStore` and `ZipStore` therefore do their system calls through `run(_:)`:
/// the calling task suspends, one of this pool's threads does the work, and the task resumes
/// with the result.
///
/// Threads are started on demand, up to `threadCount`, and then kept; a pool that goes away
/// lets its threads end. The size is fixed when the pool is made: give a store its own pool to
/// change it (`LocalStore(root:ioPool:)`); there is no global setting. `shared` is the default
/// every store uses.
public final class BlockingIOPool: Sendable {
    /// The most threads that run blocking work at once.
    public let threadCount: Int
    private let queue: BlockingJobQueue

    /// The default size: twice the active cores, at most 16 (I/O waits, so more threads than
    /// cores keep a disk busy; more than 16 rarely helps a local disk).
    public static var defaultThreadCount: Int { min(16, 2 * Parallel.activeCores) }

    /// The pool stores use unless given another: `defaultThreadCount` threads, started on first
    /// use. Immutable.
    public static let shared = BlockingIOPool()

    /// A pool of at most `threads` threads (at least one).
    public init(threads: Int = BlockingIOPool.defaultThreadCount) {
        threadCount = max(1, threads)
        queue = BlockingJobQueue(limit: threadCount)
    }

    deinit { queue.shutdown() }

    /// Runs `body` on one of the pool's threads and returns its result or rethrows its error.
    /// A task cancelled before `body` starts gets `CancellationError` and `body` never runs;
    /// once started, `body` runs to the end (blocking work cannot be interrupted).
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try Task.checkCancellation()
        let cancelled = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                queue.enqueue {
                    if cancelled.isSet {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        continuation.resume(with: Result { try body() })
                    }
                }
            }
        } onCancel: {
            cancelled.set()
        }
    }

    /// Runs `body` on one of the pool's threads even when the task is cancelled: for cleanup
    /// (removing a temporary directory) that must happen however the work before it ended.
    func runRegardless<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            queue.enqueue { continuation.resume(with: Result { try body() }) }
        }
    }

    /// `runRegardless` for work that cannot fail.
    func runRegardless(_ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.enqueue {
                body()
                continuation.resume()
            }
        }
    }
}

/// Set once when the waiting task is cancelled; read by the job before it starts.
private final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .acquiring) }
    func set() { flag.store(true, ordering: .releasing) }
}

/// The jobs of a `BlockingIOPool` and its threads: a FIFO under a pthread mutex, with a
/// condition variable the idle threads wait on.
private final class BlockingJobQueue: @unchecked Sendable {
    // Everything below the pointers is guarded by `mutex`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var threads = 0
    private var idle = 0
    private var stopping = false
    let limit: Int

    /// Stack of each thread: directory removals recurse once per level.
    static let stackSize = 8 << 20

    init(limit: Int) {
        self.limit = limit
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Adds `job`, starting a thread when every running one is busy and the limit allows.
    func enqueue(_ job: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(mutex)
        jobs.append(job)
        let spawn = jobs.count - head > idle && threads < limit
        if spawn { threads += 1 }
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
        guard spawn, !startThread() else { return }
        // No thread could be started: give the count back, and when no thread runs at all, do
        // the waiting jobs here rather than leave them waiting forever.
        pthread_mutex_lock(mutex)
        threads -= 1
        let none = threads == 0
        pthread_mutex_unlock(mutex)
        if none { while let next = take() { next() } }
    }

    /// The next job, or `nil` when there is none.
    private func take() -> (@Sendable () -> Void)? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return nextLocked()
    }

    /// The next job (the caller holds the mutex), compacting the queue now and then.
    private func nextLocked() -> (@Sendable () -> Void)? {
        guard head < jobs.count else { return nil }
        let job = jobs[head]
        head += 1
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= jobs.count {
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }

    /// Lets the threads end once the queue is empty.
    func shutdown() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// A thread's life: take jobs until the pool shuts down.
    fileprivate func work() {
        pthread_mutex_lock(mutex)
        while true {
            if let job = nextLocked() {
                pthread_mutex_unlock(mutex)
                job()
                pthread_mutex_lock(mutex)
                continue
            }
            if stopping { break }
            idle += 1
            pthread_cond_wait(condition, mutex)
            idle -= 1
        }
        threads -= 1
        pthread_mutex_unlock(mutex)
    }

    /// Starts a detached thread that runs `work()`; `false` when none could be started.
    private func startThread() -> Bool {
        var attributes = pthread_attr_t()
        guard pthread_attr_init(&attributes) == 0 else { return false }
        defer { pthread_attr_destroy(&attributes) }
        _ = pthread_attr_setstacksize(&attributes, Self.stackSize)
        _ = pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let context = Unmanaged.passRetained(self).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t?
        #else
        var thread = pthread_t()
        #endif
        let result = pthread_create(&thread, &attributes, { context in
            #if canImport(Darwin)
            let queue = Unmanaged<BlockingJobQueue>.fromOpaque(context).takeRetainedValue()
            #else
            guard let context else { return nil }
            let queue = Unmanaged<BlockingJobQueue>.fromOpaque(context).takeRetainedValue()
            #endif
            queue.work()
            return nil
        }, context)
        if result != 0 {
            Unmanaged<BlockingJobQueue>.fromOpaque(context).release()
            return false
        }
        return true
    }
}
