import Synchronization

/// A small pool of byte buffers handed back after use, so that a loop of similar reads (the
/// windows of a minibatch loader) decodes into memory that is already mapped instead of fresh
/// pages: a fresh buffer costs a page fault and a zeroed page per 4 KiB, about a third of a
/// second per GiB here, which is as much as decoding it.
///
/// Pass it to `ZarrArray.read(_:recycling:options:)`; give an array's storage back with
/// `recycle(_:)` once nothing else uses it. A buffer still shared when it is reused is copied
/// first (copy-on-write), so recycling never changes a value anyone holds; it only fails to
/// save the allocation. At most `limit` buffers, of at most `byteLimit` bytes of capacity in
/// all, are kept (the smallest are dropped first).
public final class BufferRecycler: Sendable {
    /// The most buffers kept.
    public let limit: Int
    /// The most bytes of capacity kept, all buffers together.
    public let byteLimit: Int
    private let buffers = Mutex<(list: [[UInt8]], bytes: Int)>(([], 0))

    /// An empty pool keeping at most `limit` buffers and `byteLimit` bytes.
    public init(limit: Int, byteLimit: Int = .max) {
        self.limit = Swift.max(0, limit)
        self.byteLimit = Swift.max(0, byteLimit)
    }

    /// The kept buffer with the smallest capacity of at least `bytes`, removed from the pool;
    /// `nil` when none is big enough. Cost: linear in the (few) buffers kept.
    func take(atLeast bytes: Int) -> [UInt8]? {
        buffers.withLock { pool in
            var best: Int?
            for (i, b) in pool.list.enumerated() where b.capacity >= bytes {
                if let j = best, pool.list[j].capacity <= b.capacity { continue }
                best = i
            }
            guard let best else { return nil }
            let b = pool.list.remove(at: best)
            pool.bytes -= b.capacity
            return b
        }
    }

    /// Keeps `buffer` for a later read (its contents are irrelevant); beyond `limit` buffers,
    /// the one with the smallest capacity is dropped.
    public func recycle(_ buffer: consuming [UInt8]) {
        let b = buffer
        guard b.capacity > 0, b.capacity <= byteLimit, limit > 0 else { return }
        buffers.withLock { pool in
            pool.list.append(b)
            pool.bytes += b.capacity
            while pool.list.count > limit || pool.bytes > byteLimit,
                  let smallest = pool.list.indices.min(by: { pool.list[$0].capacity < pool.list[$1].capacity }) {
                pool.bytes -= pool.list.remove(at: smallest).capacity
            }
        }
    }

    /// Keeps each of `buffers` (see `recycle(_:)`).
    public func recycle(all buffers: consuming [[UInt8]]) {
        for b in buffers { recycle(b) }
    }

    /// A kept buffer resized to `count` bytes within its capacity (shrinking writes nothing,
    /// growing zeroes only the new tail), whose contents are to be overwritten; `nil` when
    /// none is big enough.
    func reused(_ count: Int) -> [UInt8]? {
        guard var b = take(atLeast: count) else { return nil }
        if b.count > count { b.removeLast(b.count - count) }
        if b.count < count { b.append(contentsOf: repeatElement(0, count: count - b.count)) }
        return b
    }

    /// Keeps the storage of `array` (fixed-size elements only).
    public func recycle(_ array: consuming NDArray) {
        let a = array
        if case .fixed(let bytes) = a.storage { recycle(bytes) }
    }

    /// The number of buffers kept now.
    public var count: Int { buffers.withLock { $0.list.count } }
}
