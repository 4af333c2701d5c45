import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Zarr

/// Blocking file I/O runs on a `BlockingIOPool`, never on the cooperative pool: the stores route
/// their system calls through it, its size bounds the work in flight, errors and results come
/// back unchanged, and a task cancelled before its work starts never runs it.
@Suite(.timeLimit(.minutes(1))) struct BlockingIOPoolTests {
    /// A counter shared with the work on the pool.
    final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        private let peak = Atomic<Int>(0)
        var count: Int { value.load(ordering: .acquiring) }
        var most: Int { peak.load(ordering: .acquiring) }
        func up() { _ = peak.max(value.add(1, ordering: .acquiringAndReleasing).newValue, ordering: .relaxed) }
        func down() { value.subtract(1, ordering: .acquiringAndReleasing) }
    }

    /// Holds the only thread of `pool` until `release()`: proof that later work waits for it.
    struct Blocker {
        let gate = DispatchSemaphore(value: 0)
        let task: Task<Void, any Error>

        init(_ pool: BlockingIOPool) async throws {
            let gate = gate, started = Counter()
            task = Task { try await pool.run { started.up(); gate.wait() } }
            while started.count == 0 { try await Task.sleep(for: .milliseconds(5)) }
        }

        func release() async throws {
            gate.signal()
            try await task.value
        }
    }

    @Test func localStoreAndZipStoreDoTheirIOOnThePool() async throws {
        let dir = temporaryDirectory("io-pool")
        let pool = BlockingIOPool(threads: 1)
        let store = LocalStore(root: dir, ioPool: pool)
        try await store.set("a/k", [1, 2, 3])
        let blocker = try await Blocker(pool)
        let done = Counter()
        let reads = Task {
            let value = try await store.get("a/k")
            done.up()
            let part = try await store.get("a/k", range: .slice(offset: 1, length: 1))
            let keys = try await store.list(prefix: "")
            return (value, part, keys)
        }
        try await Task.sleep(for: .milliseconds(200))
        let readsBeforeRelease = done.count
        #expect(readsBeforeRelease == 0, "a read ran while the pool's only thread was busy")
        try await blocker.release()
        let (value, part, keys) = try await reads.value
        #expect(value == [1, 2, 3])
        #expect(part == [2])
        #expect(keys == ["a/k"])

        let zipPath = dir + "/s.zip"
        let (status, output) = try run("/usr/bin/python3", ["-c", "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1],'w'); z.writestr('zarr.json','{}'); z.close()", zipPath])
        #expect(status == 0, "\(output)")
        let zip = try ZipStore(path: zipPath, ioPool: pool)
        let zipBlocker = try await Blocker(pool)
        let zipRead = Task { try await zip.get("zarr.json") }
        try await Task.sleep(for: .milliseconds(100))
        try await zipBlocker.release()
        #expect(try await zipRead.value == Array("{}".utf8))
    }

    @Test func workCancelledBeforeItStartsNeverRuns() async throws {
        let pool = BlockingIOPool(threads: 1)
        let blocker = try await Blocker(pool)
        let ran = Counter()
        let waiting = Task { try await pool.run { ran.up() } }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        try await blocker.release()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(ran.count == 0)
        // A task cancelled before it asks is refused at once; the pool still works.
        let store = LocalStore(root: temporaryDirectory("io-pool-cancel"), ioPool: pool)
        let cancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await store.get("zarr.json")
        }
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(try await pool.run { 42 } == 42)
    }

    @Test func errorsAndResultsComeBackUnchanged() async throws {
        let pool = BlockingIOPool(threads: 2)
        await #expect(throws: ZarrError.io(key: "k", reason: "r")) {
            try await pool.run { throw ZarrError.io(key: "k", reason: "r") }
        }
        let store = LocalStore(root: temporaryDirectory("io-pool-errors"), ioPool: pool)
        await #expect(throws: ZarrError.invalidKey("../x", reason: "'..' segment")) { try await store.get("../x") }
        #expect(try await store.get("missing") == nil)
        #expect(try await pool.run { [1, 2] } == [1, 2])
    }

    @Test func thePoolBoundsTheWorkInFlight() async throws {
        let pool = BlockingIOPool(threads: 3)
        #expect(pool.threadCount == 3)
        let running = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<24 {
                group.addTask {
                    try await pool.run {
                        running.up()
                        usleep(5_000)
                        running.down()
                    }
                }
            }
            try await group.waitForAll()
        }
        let peak = running.most
        #expect(peak <= 3)
        #expect(peak >= 2)
        #expect(BlockingIOPool.shared.threadCount == min(16, 2 * Parallel.activeCores))
        #expect(BlockingIOPool(threads: 0).threadCount == 1)
    }
}
