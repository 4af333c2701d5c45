/// The regular chunk grid: which chunks a region touches and where they overlap it.
public struct ChunkGrid: Sendable, Hashable {
    /// The array shape.
    public let shape: [Int]
    /// The chunk shape (every extent > 0).
    public let chunkShape: [Int]

    /// A grid.
    public init(shape: [Int], chunkShape: [Int]) {
        self.shape = shape
        self.chunkShape = chunkShape
    }

    /// Chunks per dimension: `ceil(shape / chunk)`.
    public var gridShape: [Int] { zip(shape, chunkShape).map { $0 / $1 + ($0 % $1 == 0 ? 0 : 1) } }

    /// One chunk's overlap with a region.
    public struct Overlap: Sendable {
        /// The chunk's grid index.
        public var chunk: [Int]
        /// Where the overlap starts inside the chunk.
        public var inChunk: [Int]
        /// Where it starts inside the region.
        public var inRegion: [Int]
        /// Its extent.
        public var extent: [Int]
        /// Whether the overlap is the whole chunk.
        public var coversChunk: Bool
    }

    /// Every chunk that `region` touches, in C order of the grid.
    public func overlaps(_ region: [Range<Int>]) -> [Overlap] {
        let rank = shape.count
        if region.contains(where: { $0.isEmpty }) { return [] }
        if rank == 0 { return [Overlap(chunk: [], inChunk: [], inRegion: [], extent: [], coversChunk: true)] }
        let first = (0..<rank).map { region[$0].lowerBound / chunkShape[$0] }
        let last = (0..<rank).map { (region[$0].upperBound - 1) / chunkShape[$0] }
        var out: [Overlap] = []
        var idx = first
        while true {
            var inChunk = [Int](repeating: 0, count: rank)
            var inRegion = [Int](repeating: 0, count: rank)
            var extent = [Int](repeating: 0, count: rank)
            var covers = true
            for d in 0..<rank {
                // c0 <= the region's last index, so neither sum below can overflow even for
                // extents near Int.max.
                let c0 = idx[d] * chunkShape[d]
                let lo = max(c0, region[d].lowerBound)
                let hi = c0 + min(chunkShape[d], region[d].upperBound - c0)
                inChunk[d] = lo - c0
                inRegion[d] = lo - region[d].lowerBound
                extent[d] = hi - lo
                if extent[d] != chunkShape[d] { covers = false }
            }
            out.append(Overlap(chunk: idx, inChunk: inChunk, inRegion: inRegion, extent: extent, coversChunk: covers))
            var d = rank - 1
            while d >= 0 {
                idx[d] += 1
                if idx[d] <= last[d] { break }
                idx[d] = first[d]
                d -= 1
            }
            if d < 0 { break }
        }
        return out
    }

    /// Every chunk index of the grid in C order.
    public var allChunks: [[Int]] {
        overlaps(shape.map { 0..<$0 }).map(\.chunk)
    }
}
