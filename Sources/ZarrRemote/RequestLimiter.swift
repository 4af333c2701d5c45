import Synchronization

/// An async counting semaphore: at most `limit` bodies run at once; the others wait in FIFO
/// order without blocking a thread.
final class RequestLimiter: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
        var head = 0
    }

    private let state: Mutex<State>
    /// The number of slots.
    let limit: Int

    init(limit: Int) {
        self.limit = max(1, limit)
        self.state = Mutex(State(available: max(1, limit)))
    }

    private func acquire() async {
        let fast = state.withLock { s -> Bool in
            if s.available > 0 { s.available -= 1; return true }
            return false
        }
        if fast { return }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.available > 0 { s.available -= 1; return true }
                s.waiters.append(c)
                return false
            }
            if resumeNow { c.resume() }
        }
    }

    private func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard s.head < s.waiters.count else { s.available += 1; return nil }
            let c = s.waiters[s.head]
            s.head += 1
            if s.head > 64 && s.head * 2 > s.waiters.count {
                s.waiters.removeFirst(s.head)
                s.head = 0
            }
            return c
        }
        next?.resume()  // the slot passes straight to the next waiter
    }

    /// Runs `body` once a slot is free, and frees the slot after it.
    func run<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        await acquire()
        defer { release() }
        try Task.checkCancellation()
        return try await body()
    }
}
