/// A store that reads several parts of one value at once, merging nearby parts into fewer
/// requests. The remote stores adopt it; a caller with many small ranges of one key (inner
/// chunks of a shard) saves a round trip per merged range.
public protocol MultiRangeReadableStore: ReadableStore {
    /// The parts `ranges` of the value at `key`, in the order given (each clamped to the value
    /// like `get(_:range:)`), or `nil` if there is no value at `key`.
    func get(_ key: String, ranges: [ByteRange]) async throws -> [[UInt8]]?
}

/// How `get(_:ranges:)` merges ranges: two `.slice` ranges become one request when they
/// overlap, touch, or leave a gap of at most `maxGap` bytes between them, as long as the merged
/// request stays within `maxRequestBytes`. `.all`, `.from` and `.suffix` ranges are fetched on
/// their own.
public struct RangeCoalescing: Sendable, Hashable {
    /// The largest gap between two ranges that still merges them (0: only adjacent or
    /// overlapping ranges merge).
    public var maxGap: Int
    /// The largest merged request, in bytes.
    public var maxRequestBytes: Int

    /// Merge rules; by default adjacent and overlapping ranges merge, up to 64 MiB a request.
    public init(maxGap: Int = 0, maxRequestBytes: Int = 64 << 20) {
        self.maxGap = max(0, maxGap)
        self.maxRequestBytes = max(1, maxRequestBytes)
    }

    /// No merging: one request per range.
    public static var none: RangeCoalescing { RangeCoalescing(maxGap: 0, maxRequestBytes: 1) }

    /// The plan for `ranges`: the requests to send, and for each input range the request that
    /// holds it and where in that request's bytes it starts (`nil` offset: the whole response).
    public func plan(_ ranges: [ByteRange]) -> (requests: [ByteRange], pieces: [(request: Int, offset: Int?, length: Int?)]) {
        var requests: [ByteRange] = []
        var pieces = [(request: Int, offset: Int?, length: Int?)](repeating: (0, nil, nil), count: ranges.count)
        var slices: [(index: Int, offset: Int, length: Int)] = []
        for (i, r) in ranges.enumerated() {
            if case .slice(let o, let l) = r {
                slices.append((i, max(o, 0), max(l, 0)))
            } else {
                pieces[i] = (requests.count, nil, nil)
                requests.append(r)
            }
        }
        slices.sort { ($0.offset, $0.length) < ($1.offset, $1.length) }
        var k = 0
        while k < slices.count {
            let start = slices[k].offset
            var end = Self.end(slices[k])
            var j = k + 1
            while j < slices.count {
                let next = slices[j]
                let gap = next.offset > end ? next.offset - end : 0
                let newEnd = max(end, Self.end(next))
                guard gap <= maxGap, newEnd - start <= maxRequestBytes || next.length == 0 && next.offset <= end else { break }
                end = newEnd
                j += 1
            }
            let request = requests.count
            requests.append(.slice(offset: start, length: end - start))
            for s in slices[k..<j] { pieces[s.index] = (request, s.offset - start, s.length) }
            k = j
        }
        return (requests, pieces)
    }

    private static func end(_ s: (index: Int, offset: Int, length: Int)) -> Int {
        let (e, overflow) = s.offset.addingReportingOverflow(s.length)
        return overflow ? Int.max : e
    }

    /// Reads `ranges` of `key` through `fetch` (one call per planned request, at most `limit`
    /// at once) and cuts the answers apart; `nil` if any request found no value. A store that
    /// adopts `MultiRangeReadableStore` implements `get(_:ranges:)` with it.
    public func read(
        _ key: String, ranges: [ByteRange], limit: Int,
        fetch: @escaping @Sendable (ByteRange) async throws -> [UInt8]?
    ) async throws -> [[UInt8]]? {
        let (requests, pieces) = plan(ranges)
        let answers = try await Parallel.map(requests, limit: limit) { try await fetch($0) }
        var out: [[UInt8]] = []
        out.reserveCapacity(ranges.count)
        for piece in pieces {
            guard let bytes = answers[piece.request] else { return nil }
            guard let offset = piece.offset, let length = piece.length else { out.append(bytes); continue }
            let lo = min(offset, bytes.count)
            let hi = length >= bytes.count - lo ? bytes.count : lo + length
            out.append(Array(bytes[lo..<hi]))
        }
        return out
    }
}
