import Zarr

/// One minibatch: which rows, and their values.
public struct RowBatch: Sendable {
    /// The rows of the matrix this batch holds.
    public let rows: Range<Int>
    /// Those rows, all columns.
    public let matrix: Matrix
}

/// Minibatches of a lazy matrix as an `AsyncSequence`, with bounded prefetch: while the
/// consumer works on one batch, at most `prefetch` batches are being read ahead, and no more
/// (a slow consumer holds the reads back). Batches arrive in order. Every batch is read from
/// the store (no decoded chunk is kept between batches). When iteration stops early or fails,
/// the reads still in flight are cancelled.
public struct RowBatches: AsyncSequence, Sendable {
    public typealias Element = RowBatch

    /// The matrix.
    public let matrix: LazyMatrix
    /// The row ranges, in the order they are delivered.
    public let ranges: [Range<Int>]
    /// Batches read ahead of the consumer (at least 1).
    public let prefetch: Int

    /// Iterates over the batches.
    public func makeAsyncIterator() -> Iterator { Iterator(matrix: matrix, ranges: ranges, prefetch: Swift.max(1, prefetch)) }

    /// The iterator: a FIFO of at most `prefetch` reads in flight.
    public struct Iterator: AsyncIteratorProtocol {
        let matrix: LazyMatrix
        let ranges: [Range<Int>]
        let prefetch: Int
        var started = 0
        var delivered = 0
        var inFlight: [Task<Matrix, any Error>] = []

        /// The next batch, `nil` after the last; a failed read throws and ends the sequence.
        public mutating func next() async throws -> RowBatch? {
            while inFlight.count < prefetch && started < ranges.count {
                let m = matrix, r = ranges[started]
                inFlight.append(Task { try await m.rows(r) })
                started += 1
            }
            guard !inFlight.isEmpty else { return nil }
            let task = inFlight.removeFirst()
            do {
                let value = try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
                defer { delivered += 1 }
                return RowBatch(rows: ranges[delivered], matrix: value)
            } catch {
                for t in inFlight { t.cancel() }
                inFlight.removeAll()
                started = ranges.count
                throw error
            }
        }
    }
}

extension LazyMatrix {
    /// Consecutive batches of `size` rows (the last may be shorter), `prefetch` read ahead.
    public func batches(size: Int, prefetch: Int = 2) throws(AnnDataError) -> RowBatches {
        guard size > 0 else { throw .invalidElement(path: path, reason: "a batch size must be positive, got \(size)") }
        let ranges = stride(from: 0, to: rowCount, by: size).map { $0..<Swift.min($0 + size, rowCount) }
        return RowBatches(matrix: self, ranges: ranges, prefetch: prefetch)
    }

    /// Batches of the given row ranges, in that order, `prefetch` read ahead.
    public func batches(_ ranges: [Range<Int>], prefetch: Int = 2) throws(AnnDataError) -> RowBatches {
        if let bad = ranges.first(where: { $0.lowerBound < 0 || $0.upperBound > rowCount }) {
            throw .invalidElement(path: path, reason: "rows \(bad) are outside 0..<\(rowCount)")
        }
        return RowBatches(matrix: self, ranges: ranges, prefetch: prefetch)
    }
}
