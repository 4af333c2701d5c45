import Zarr

/// Writes an array from consecutive blocks of its first axis, in order, in whole chunks: rows
/// are buffered until they fill a row of chunks (shards, for a sharded array), which is then
/// written in one go, so no chunk is ever read back and rewritten. Peak memory is one row of
/// chunks plus the block being appended.
struct SlabWriter {
    let array: ZarrArray
    let options: ConcurrencyOptions
    /// Rows per row of chunks.
    let slabRows: Int
    private var pending: [NDArray] = []
    private var pendingRows = 0
    /// Rows written so far.
    private(set) var written = 0

    init(_ array: ZarrArray, options: ConcurrencyOptions) {
        self.array = array
        self.options = options
        self.slabRows = max(1, array.metadata.chunkShape.first ?? 1)
    }

    /// Appends `block` (same type and trailing shape as the array) after the rows so far.
    mutating func append(_ block: NDArray) async throws {
        guard let n = block.shape.first, n > 0 else { return }
        pending.append(block)
        pendingRows += n
        if pendingRows >= slabRows { try await flush(whole: true) }
    }

    /// Writes what is buffered.
    mutating func finish() async throws { try await flush(whole: false) }

    private mutating func flush(whole: Bool) async throws {
        guard pendingRows > 0 else { return }
        let trailing = Array(array.shape.dropFirst())
        let joined = pending.count == 1 ? pending[0] : try NDArray.concatenating(pending, dataType: array.dataType, trailingShape: trailing)
        let count = whole ? (pendingRows / slabRows) * slabRows : pendingRows
        let head = count == pendingRows ? joined : try joined.rows(0..<count)
        try await array.write(head, at: [written] + trailing.map { _ in 0 }, options: options)
        written += count
        pending = count == pendingRows ? [] : [try joined.rows(count..<pendingRows)]
        pendingRows -= count
    }
}
