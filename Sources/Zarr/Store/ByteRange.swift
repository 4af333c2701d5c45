/// A part of a stored value: everything, `length` bytes at `offset`, everything from
/// `offset`, or the last `length` bytes (a suffix request, as HTTP and S3 serve it).
public enum ByteRange: Sendable, Hashable {
    /// The whole value.
    case all
    /// `length` bytes from `offset` (fewer at the end of the value).
    case slice(offset: Int, length: Int)
    /// Everything from `offset` on.
    case from(offset: Int)
    /// The last `length` bytes (all of a shorter value).
    case suffix(length: Int)

    /// The absolute half-open range in a value of `size` bytes, clamped to it.
    public func resolved(size: Int) -> Range<Int> {
        switch self {
        case .all: return 0..<size
        case .slice(let o, let l):
            let lo = min(max(o, 0), size)
            return lo..<(max(l, 0) >= size - lo ? size : lo + max(l, 0))
        case .from(let o): return min(max(o, 0), size)..<size
        case .suffix(let l): return max(0, size - max(l, 0))..<size
        }
    }
}
