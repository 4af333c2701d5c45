/// How one epoch of a minibatch loader is cut and ordered (`MinibatchLoader`).
public struct LoaderOptions: Sendable, Hashable {
    /// Rows per batch.
    public var batchSize: Int
    /// Rows per block: blocks of contiguous rows are the unit of reading and of shuffling.
    public var blockRows: Int
    /// Blocks fetched together (a window): their reads are coalesced and decoded in parallel,
    /// and their rows are shuffled together.
    public var preloadBlocks: Int
    /// Block-shuffled (`true`) or sequential (`false`: blocks and rows in store order).
    public var shuffle: Bool
    /// Whether the last batch of a worker's epoch is dropped when it is short.
    public var dropLast: Bool
    /// The seed: the same seed and epoch give the same order on every machine.
    public var seed: UInt64
    /// This worker's number, `0..<worldSize`.
    public var rank: Int
    /// The number of workers sharing each epoch.
    public var worldSize: Int

    /// Options; the defaults are annbatch's recommended ones for a shuffled epoch: blocks of
    /// 256 rows, 32 blocks per window, batches of 256.
    public init(
        batchSize: Int = 256, blockRows: Int = 256, preloadBlocks: Int = 32, shuffle: Bool = true, dropLast: Bool = false,
        seed: UInt64 = 0, rank: Int = 0, worldSize: Int = 1
    ) {
        self.batchSize = batchSize
        self.blockRows = blockRows
        self.preloadBlocks = preloadBlocks
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
        self.rank = rank
        self.worldSize = worldSize
    }
}

/// The plan of one epoch for one worker: windows of blocks, and the batches cut from each
/// window's rows.
///
/// Rows `0..<rowCount` are cut into blocks of `blockRows` contiguous rows (the last of each
/// segment may be shorter). With `shuffle`, the block order is a permutation drawn from `(seed, epoch)`; the
/// worker `rank` of `worldSize` takes every `worldSize`-th block of that order, starting at
/// `rank`, so the workers' shares are disjoint and together cover every row exactly once (their
/// block counts differ by at most one). The worker's blocks are grouped into windows of
/// `preloadBlocks`; a window's rows are permuted (drawn from the same generator) and cut into
/// batches of `batchSize`; the last batch of the last window may be short (dropped with
/// `dropLast`). Without `shuffle`, blocks and rows keep their order.
///
/// The generator is this package's own (SplitMix64 and Fisher–Yates), so an order depends only
/// on the seed and the epoch, not on the Swift version or the machine.
public struct EpochPlan: Sendable, Hashable {
    /// One window: its blocks, and its batches as positions into the window's rows.
    public struct Window: Sendable, Hashable {
        /// The blocks, sorted by first row (the order they are read in).
        public let blocks: [Range<Int>]
        /// Each batch: positions into the window's rows (the rows of `blocks`, in order).
        public let batches: [[Int]]

        /// The window's rows, in read order.
        public var rows: [Int] { blocks.flatMap { Array($0) } }
    }

    /// The windows, in delivery order.
    public let windows: [Window]

    /// The plan of `epoch` over `rowCount` rows.
    public init(rowCount: Int, options o: LoaderOptions, epoch: Int = 0) throws(AnnDataError) {
        try self.init(segments: [rowCount], options: o, epoch: epoch)
    }

    /// The plan of `epoch` over consecutive segments of rows (the stores of a collection, with
    /// these row counts): blocks never cross a segment's end.
    public init(segments: [Int], options o: LoaderOptions, epoch: Int = 0) throws(AnnDataError) {
        guard segments.allSatisfy({ $0 >= 0 }), o.batchSize > 0, o.blockRows > 0, o.preloadBlocks > 0 else {
            throw .invalidElement(path: "", reason: "a loader needs positive batch size, block rows and preload blocks")
        }
        guard o.worldSize > 0, (0..<o.worldSize).contains(o.rank) else {
            throw .invalidElement(path: "", reason: "rank \(o.rank) is not a worker of a world of \(o.worldSize)")
        }
        var rng = SplitMix64(seed: o.seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(truncatingIfNeeded: epoch &+ 1))
        var blocks: [Range<Int>] = []
        var base = 0
        for n in segments {
            blocks += stride(from: base, to: base + n, by: o.blockRows).map { $0..<Swift.min($0 + o.blockRows, base + n) }
            base += n
        }
        if o.shuffle { rng.shuffle(&blocks) }
        let mine = stride(from: o.rank, to: blocks.count, by: o.worldSize).map { blocks[$0] }
        var windows: [Window] = []
        var start = 0
        while start < mine.count {
            let group = mine[start..<Swift.min(start + o.preloadBlocks, mine.count)].sorted { $0.lowerBound < $1.lowerBound }
            start += o.preloadBlocks
            let n = group.reduce(0) { $0 + $1.count }
            var positions = Array(0..<n)
            if o.shuffle { rng.shuffle(&positions) }
            let batches = stride(from: 0, to: n, by: o.batchSize).map { Array(positions[$0..<Swift.min($0 + o.batchSize, n)]) }
            windows.append(Window(blocks: group, batches: batches))
        }
        // drop_last drops the worker's one short batch, at the end of its epoch.
        if o.dropLast, var last = windows.popLast() {
            var batches = last.batches
            if let b = batches.last, b.count < o.batchSize { batches.removeLast() }
            last = Window(blocks: last.blocks, batches: batches)
            windows.append(last)
        }
        self.windows = windows
    }

    /// The number of batches in the epoch.
    public var batchCount: Int { windows.reduce(0) { $0 + $1.batches.count } }
}

/// SplitMix64 (Steele, Lea and Flood): a small, fast generator with a fixed definition, so that
/// the orders it draws are the same everywhere.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (multiply-shift: the bias is below 2^-32 for any bound that fits
    /// in 32 bits).
    mutating func next(below bound: Int) -> Int {
        Int((UInt64(next() >> 32) &* UInt64(bound)) >> 32)
    }

    /// Fisher–Yates, from the end.
    mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = next(below: i + 1)
            if i != j { a.swapAt(i, j) }
        }
    }
}
