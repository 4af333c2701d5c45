import Zarr

/// Reads the values of an integer `NDArray` of any width as `Int`, and scans them in place
/// (no `[Int]` copy: `indices` of a large matrix hold hundreds of millions of values).
enum IntegerView {
    /// Every value as `Int` (empty for a non-integer array). Allocates: for small arrays only.
    static func ints(_ a: NDArray) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(a.count)
        _ = scan(a) { _, v in out.append(v); return false }
        return out
    }

    /// The value at `i` (0 when `i` is out of bounds or the array is not of integers).
    static func value(_ a: NDArray, at i: Int) -> Int {
        guard i >= 0, i < a.count else { return 0 }
        var found = 0
        _ = scan(a, from: i) { _, v in found = v; return true }
        return found
    }

    /// `values` as a 1-D array of `type` (an integer type; Int64 otherwise); throws when a value
    /// does not fit.
    static func array(_ values: [Int], like type: DataType) throws -> NDArray {
        func make<T: ZarrScalar & FixedWidthInteger>(_: T.Type) throws -> NDArray {
            var out: [T] = []
            out.reserveCapacity(values.count)
            for v in values {
                guard let x = T(exactly: v) else { throw ZarrError.valueMismatch("\(v) does not fit \(type)") }
                out.append(x)
            }
            return try NDArray(out, shape: [values.count])
        }
        switch type {
        case .int8: return try make(Int8.self)
        case .uint8: return try make(UInt8.self)
        case .int16: return try make(Int16.self)
        case .uint16: return try make(UInt16.self)
        case .int32: return try make(Int32.self)
        case .uint32: return try make(UInt32.self)
        case .uint64: return try make(UInt64.self)
        default: return try make(Int64.self)
        }
    }

    /// The first position whose value lies outside `range`. Cost: one branch-free min/max pass
    /// (vectorised) over the values; the position is searched only when one is outside.
    static func firstIndex(_ a: NDArray, outside range: Range<Int>) -> Int? {
        let lo = range.lowerBound, hi = range.upperBound
        if let (mn, mx) = bounds(a), mn >= lo, mx < hi { return nil }
        return scan(a) { _, v in v < lo || v >= hi }
    }

    /// The smallest and largest value (`nil` for an empty or non-integer array).
    static func bounds(_ a: NDArray) -> (Int, Int)? {
        guard case .fixed(let bytes) = a.storage, a.count > 0 else { return nil }
        func run<T: FixedWidthInteger>(_: T.Type) -> (Int, Int) {
            bytes.withUnsafeBytes { raw in
                let n = raw.count / MemoryLayout<T>.size
                var mn = T.max, mx = T.min
                for i in 0..<n {
                    let v = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
                    mn = Swift.min(mn, v); mx = Swift.max(mx, v)
                }
                return (Int(truncatingIfNeeded: mn), Int(truncatingIfNeeded: mx))
            }
        }
        switch a.dataType {
        case .int8: return run(Int8.self)
        case .uint8: return run(UInt8.self)
        case .int16: return run(Int16.self)
        case .uint16: return run(UInt16.self)
        case .int32: return run(Int32.self)
        case .uint32: return run(UInt32.self)
        case .int64: return run(Int64.self)
        default: return nil  // uint64 may not fit Int: scanned
        }
    }

    /// The first position whose value is smaller than the one before it.
    static func firstDecrease(_ a: NDArray) -> Int? {
        var previous = Int.min
        return scan(a) { _, v in
            defer { previous = v }
            return v < previous
        }
    }

    /// Calls `stop` with each position and value from `start` on, until it returns true;
    /// returns that position. Non-integer arrays are not scanned.
    @inline(__always)
    static func scan(_ a: NDArray, from start: Int = 0, _ stop: (Int, Int) -> Bool) -> Int? {
        guard case .fixed(let bytes) = a.storage else { return nil }
        return bytes.withUnsafeBytes { raw -> Int? in
            switch a.dataType {
            case .int8: return scan(raw, Int8.self, start, stop)
            case .uint8: return scan(raw, UInt8.self, start, stop)
            case .int16: return scan(raw, Int16.self, start, stop)
            case .uint16: return scan(raw, UInt16.self, start, stop)
            case .int32: return scan(raw, Int32.self, start, stop)
            case .uint32: return scan(raw, UInt32.self, start, stop)
            case .int64: return scan(raw, Int64.self, start, stop)
            case .uint64: return scan(raw, UInt64.self, start, stop)
            default: return nil
            }
        }
    }

    @inline(__always)
    private static func scan<T: FixedWidthInteger>(
        _ raw: UnsafeRawBufferPointer, _: T.Type, _ start: Int, _ stop: (Int, Int) -> Bool
    ) -> Int? {
        let n = raw.count / MemoryLayout<T>.size
        var i = start
        while i < n {
            if stop(i, Int(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))) { return i }
            i += 1
        }
        return nil
    }
}
