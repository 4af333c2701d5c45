import Zarr

/// Writes an array of fixed-size values from consecutive blocks of its first axis, in order, in
/// whole chunks: rows are copied into one buffer of a row of chunks (shards, for a sharded
/// array), which is written in one go when full, so no chunk is ever read back and rewritten.
/// Peak memory is that buffer (filled once, handed to the write without a copy) plus the block
/// being appended.
struct SlabWriter {
    let array: ZarrArray
    let options: ConcurrencyOptions
    /// Rows per row of chunks.
    let slabRows: Int
    /// Bytes per row.
    let rowBytes: Int
    private var buffer: [UInt8] = []
    /// The next row to write (the start plus the rows written so far).
    private(set) var written = 0

    /// A writer of `array`'s rows from row `start` on (an append after existing rows: the first
    /// write completes the row of chunks `start` lies in, read and rewritten once).
    init(_ array: ZarrArray, options: ConcurrencyOptions, startingAt start: Int = 0) throws(AnnDataError) {
        guard let size = array.dataType.itemSize else {
            throw .unsupported(path: array.path, reason: "streamed writes take fixed-size values, not \(array.dataType)")
        }
        self.array = array
        self.options = options
        self.slabRows = max(1, array.metadata.chunkShape.first ?? 1)
        self.rowBytes = array.shape.dropFirst().reduce(size, *)
        self.written = start
    }

    /// The bytes that complete the current row of chunks.
    private var slabBytes: Int { (slabRows - written % slabRows) * rowBytes }

    /// Appends `block` (same type and trailing shape as the array) after the rows so far.
    mutating func append(_ block: NDArray) async throws {
        guard block.dataType == array.dataType, Array(block.shape.dropFirst()) == Array(array.shape.dropFirst()) else {
            throw ZarrError.valueMismatch("a block of \(block.dataType) \(block.shape) for '\(array.path)' of \(array.dataType) \(array.shape)")
        }
        let bytes = block.bytes
        var offset = 0
        while offset < bytes.count {
            if buffer.isEmpty { buffer.reserveCapacity(max(0, min(slabBytes, ((array.shape.first ?? 0) - written) * rowBytes))) }
            let n = min(slabBytes - buffer.count, bytes.count - offset)
            buffer.append(contentsOf: bytes[offset..<(offset + n)])
            offset += n
            if buffer.count == slabBytes { try await flush() }
        }
    }

    /// Writes what is buffered.
    mutating func finish() async throws { try await flush() }

    private mutating func flush() async throws {
        guard !buffer.isEmpty, rowBytes > 0 else { return }
        let rows = buffer.count / rowBytes
        let slab = try NDArray(dataType: array.dataType, shape: [rows] + array.shape.dropFirst(), storage: .fixed(buffer))
        buffer = []
        try await array.write(slab, at: [written] + array.shape.dropFirst().map { _ in 0 }, options: options)
        written += rows
    }
}
