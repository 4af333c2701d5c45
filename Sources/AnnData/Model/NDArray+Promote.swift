import Zarr

/// numpy's promotion rules for the numeric types AnnData elements hold (what
/// `np.concatenate` gives for arrays of two types), and conversions between them.
enum NumericPromotion {
    /// Bits of integer precision a type holds exactly (a float's significand).
    private static func exactBits(_ t: DataType) -> Int {
        switch t {
        case .bool: return 1
        case .int8: return 7
        case .uint8: return 8
        case .int16: return 15
        case .uint16: return 16
        case .int32: return 31
        case .uint32: return 32
        case .int64: return 63
        case .uint64: return 64
        case .float16: return 11
        case .float32: return 24
        default: return 53
        }
    }

    /// The type two numeric types promote to (`nil` when either is not a number or bool).
    static func common(_ a: DataType, _ b: DataType) -> DataType? {
        if a == b { return a }
        let numeric: Set<DataType> = [.bool, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .float16, .float32, .float64]
        guard numeric.contains(a), numeric.contains(b) else { return nil }
        if a == .bool { return b }
        if b == .bool { return a }
        let signed: [DataType] = [.int8, .int16, .int32, .int64], unsigned: [DataType] = [.uint8, .uint16, .uint32, .uint64]
        let floats: [DataType] = [.float16, .float32, .float64]
        if let fa = floats.firstIndex(of: a), let fb = floats.firstIndex(of: b) { return floats[max(fa, fb)] }
        if floats.contains(a) || floats.contains(b) {
            let (f, i) = floats.contains(a) ? (a, b) : (b, a)
            return floats.first { exactBits($0) >= exactBits(i) && exactBits($0) >= exactBits(f) } ?? .float64
        }
        if let sa = signed.firstIndex(of: a), let sb = signed.firstIndex(of: b) { return signed[max(sa, sb)] }
        if let ua = unsigned.firstIndex(of: a), let ub = unsigned.firstIndex(of: b) { return unsigned[max(ua, ub)] }
        // One signed, one unsigned: the narrowest signed type holding both, else float64.
        let bits = max(exactBits(a), exactBits(b))
        return signed.first { exactBits($0) >= bits } ?? .float64
    }

    /// The type all of `types` promote to (`nil` for an empty list or a non-numeric type,
    /// unless every type is the same).
    static func common(_ types: [DataType]) -> DataType? {
        guard var out = types.first else { return nil }
        for t in types.dropFirst() {
            guard let c = common(out, t) else { return nil }
            out = c
        }
        return out
    }

    /// The value that stands for a missing one in an array of `t`: NaN for floats, zero
    /// otherwise.
    static func missing(_ t: DataType) -> FillValue {
        switch t {
        case .float32: return .fixed(withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { Array($0) })
        case .float64: return .fixed(withUnsafeBytes(of: Double.nan.bitPattern.littleEndian) { Array($0) })
        case .float16: return .fixed([0x00, 0x7e])
        default: return .zero(for: t)
        }
    }

    /// The type `t` becomes when missing values (NaN) are filled in: float64 — anndata 0.13
    /// fills with a float64 NaN (`xp.where`), which promotes float32 as well (0.12 kept float32).
    static func holdingNaN(_ t: DataType) -> DataType { .float64 }
}

extension NDArray {
    /// The same values as `type` (a numeric type at least as wide, from
    /// `NumericPromotion.common`); the array itself when the type is already `type`.
    func converted(to type: DataType) throws(ZarrError) -> NDArray {
        if dataType == type { return self }
        switch type {
        case .float64: return try NDArray(try doubles(), shape: shape)
        case .float32: return try NDArray(try doubles().map { Float($0) }, shape: shape)
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64:
            let values: [Int]
            if dataType == .bool { values = try doubles().map { $0 != 0 ? 1 : 0 } }
            else if dataType.isInteger { values = IntegerView.ints(self) }
            else { throw .valueMismatch("cannot convert \(dataType) to \(type)") }
            do {
                var out = try IntegerView.array(values, like: type)
                out.shape = shape
                return out
            } catch let e as ZarrError { throw e } catch { throw .valueMismatch("\(error)") }
        default: throw .valueMismatch("cannot convert \(dataType) to \(type)")
        }
    }
}

extension NDArray {
    /// Each element's bytes, for fixed-size and variable-length arrays alike: keys that tell
    /// equal values of one data type (categories, say) apart.
    var elementKeys: [[UInt8]] {
        switch storage {
        case .variable(let v): return v
        case .fixed(let b):
            let size = dataType.itemSize ?? 1
            guard size > 0 else { return [] }
            return stride(from: 0, to: b.count, by: size).map { Array(b[$0..<min($0 + size, b.count)]) }
        }
    }
}
