/// What a read takes along one dimension of an array. A read takes one per dimension and
/// returns their outer (orthogonal) product, in the order each selection gives.
public enum DimensionSelection: Sendable, Hashable {
    /// The whole dimension.
    case all
    /// The indices of a range, in order.
    case range(Range<Int>)
    /// These indices in this order; any order, repeats allowed.
    case indices([Int])
    /// These ranges one after another, in this order (overlaps and repeats allowed): the
    /// spans of rows of a sparse matrix, say.
    case ranges([Range<Int>])
    /// The indices where the mask is true, in order; the mask is as long as the dimension.
    case mask([Bool])
}

/// One dimension of a selection, resolved: runs of consecutive source indices that land on
/// consecutive output positions, sorted by source index.
struct DimensionPlan: Sendable {
    /// `length` source indices from `source` go to output positions from `output`.
    struct Run: Sendable, Hashable {
        var source: Int
        var output: Int
        var length: Int
    }

    /// The runs, sorted by source index (then output position).
    var runs: [Run]
    /// The number of output positions.
    var count: Int

    /// Resolves `selection` on a dimension of `extent`; an index outside it, or a mask of
    /// another length, is a typed error naming `dimension` and `path`.
    init(_ selection: DimensionSelection, extent: Int, dimension: Int, path: String) throws(ZarrError) {
        func outside(_ what: String) -> ZarrError {
            .invalidSelection("\(what) is outside 0:\(extent) on axis \(dimension) at '\(path)'")
        }
        switch selection {
        case .all:
            runs = extent > 0 ? [Run(source: 0, output: 0, length: extent)] : []
            count = extent
        case .range(let r):
            guard r.lowerBound >= 0, r.upperBound <= extent else { throw outside("\(r.lowerBound):\(r.upperBound)") }
            runs = r.isEmpty ? [] : [Run(source: r.lowerBound, output: 0, length: r.count)]
            count = r.count
        case .mask(let mask):
            guard mask.count == extent else {
                throw .invalidSelection("a mask of \(mask.count) entries for axis \(dimension) of extent \(extent) at '\(path)'")
            }
            var out: [Run] = []
            var n = 0
            var i = 0
            while i < mask.count {
                guard mask[i] else { i += 1; continue }
                let start = i
                while i < mask.count, mask[i] { i += 1 }
                out.append(Run(source: start, output: n, length: i - start))
                n += i - start
            }
            runs = out
            count = n
        case .indices(let indices):
            var pairs: [Run] = []
            pairs.reserveCapacity(indices.count)
            var sorted = true
            for (k, i) in indices.enumerated() {
                guard i >= 0, i < extent else { throw outside("index \(i) (position \(k))") }
                if let last = pairs.last, i < last.source { sorted = false }
                pairs.append(Run(source: i, output: k, length: 1))
            }
            if !sorted { pairs.sort { ($0.source, $0.output) < ($1.source, $1.output) } }
            runs = Self.merged(pairs)
            count = indices.count
        case .ranges(let ranges):
            var pairs: [Run] = []
            pairs.reserveCapacity(ranges.count)
            var n = 0
            var sorted = true
            for r in ranges {
                guard r.lowerBound >= 0, r.upperBound <= extent else { throw outside("\(r.lowerBound):\(r.upperBound)") }
                if r.isEmpty { continue }
                if let last = pairs.last, r.lowerBound < last.source { sorted = false }
                pairs.append(Run(source: r.lowerBound, output: n, length: r.count))
                let (total, overflow) = n.addingReportingOverflow(r.count)
                guard !overflow else { throw .invalidSelection("the ranges on axis \(dimension) at '\(path)' select more than Int.max indices") }
                n = total
            }
            if !sorted { pairs.sort { ($0.source, $0.output) < ($1.source, $1.output) } }
            runs = Self.merged(pairs)
            count = n
        }
    }

    /// Joins runs that continue one another in both source and output.
    static func merged(_ sorted: [Run]) -> [Run] {
        var out: [Run] = []
        out.reserveCapacity(sorted.count)
        for r in sorted {
            if let last = out.last, last.source + last.length == r.source, last.output + last.length == r.output {
                out[out.count - 1].length += r.length
            } else {
                out.append(r)
            }
        }
        return out
    }

    /// The runs cut at the boundaries of blocks of `block` indices, grouped by block in
    /// ascending order; each run's source is relative to its block.
    func byBlock(_ block: Int) -> [(block: Int, runs: [Run])] {
        var groups: [Int: [Run]] = [:]
        for r in runs {
            var s = r.source, o = r.output, left = r.length
            while left > 0 {
                let b = s / block, within = s % block
                let take = Swift.min(left, block - within)
                groups[b, default: []].append(Run(source: within, output: o, length: take))
                o += take
                left -= take
                s += take
            }
        }
        return groups.keys.sorted().map { b in
            (b, groups[b, default: []].sorted { ($0.source, $0.output) < ($1.source, $1.output) })
        }
    }

    /// The sorted, disjoint source ranges that `runs` cover.
    static func coveredRanges(_ runs: [Run]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for r in runs.sorted(by: { $0.source < $1.source }) {
            let range = r.source..<(r.source + r.length)
            if let last = out.last, range.lowerBound <= last.upperBound {
                out[out.count - 1] = last.lowerBound..<Swift.max(last.upperBound, range.upperBound)
            } else {
                out.append(range)
            }
        }
        return out
    }

    /// The runs inside `origin..<origin + extent`, with sources relative to `origin`.
    static func clip(_ runs: [Run], origin: Int, extent: Int) -> [Run] {
        var out: [Run] = []
        let end = origin + extent
        for r in runs where r.source < end && r.source + r.length > origin {
            let lo = Swift.max(r.source, origin), hi = Swift.min(r.source + r.length, end)
            out.append(Run(source: lo - origin, output: r.output + (lo - r.source), length: hi - lo))
        }
        return out
    }

    /// The source index of output position `output`, if any run holds it.
    func source(ofOutput output: Int) -> Int? {
        for r in runs where output >= r.output && output < r.output + r.length { return r.source + (output - r.output) }
        return nil
    }
}
