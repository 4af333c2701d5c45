import Zarr

/// A compressed sparse matrix (scipy's CSR or CSC): `data`, `indices` and `indptr` kept as
/// `NDArray`s so any value type and any integer index type round-trips unchanged.
public struct SparseMatrix: Sendable, Equatable {
    /// Row-compressed (`csr_matrix`) or column-compressed (`csc_matrix`).
    public enum Format: String, Sendable, Equatable {
        case csr, csc
        /// The `encoding-type` of this format.
        public var encodingType: String { self == .csr ? "csr_matrix" : "csc_matrix" }
    }

    /// CSR or CSC.
    public var format: Format
    /// `[rows, columns]`.
    public var shape: [Int]
    /// The stored values (1-D, numeric or bool).
    public var data: NDArray
    /// The minor index of each stored value (1-D, any integer type).
    public var indices: NDArray
    /// Offsets into `data` per major row/column (1-D, any integer type, `major + 1` long).
    public var indptr: NDArray

    /// A sparse matrix from its parts, checked with `validate(path:)`.
    public init(format: Format, shape: [Int], data: NDArray, indices: NDArray, indptr: NDArray) throws(AnnDataError) {
        self.format = format
        self.shape = shape
        self.data = data
        self.indices = indices
        self.indptr = indptr
        try validate(path: "")
    }

    /// A matrix from parts that are not checked (readers call `validate` themselves).
    init(unchecked format: Format, shape: [Int], data: NDArray, indices: NDArray, indptr: NDArray) {
        self.format = format; self.shape = shape; self.data = data; self.indices = indices; self.indptr = indptr
    }

    /// The number of stored values.
    public var nnz: Int { data.count }

    /// The problems of this matrix (empty when valid): shape, dtypes, `indptr` monotone from 0
    /// to nnz, indices in range.
    public func problems() -> [String] {
        var out: [String] = []
        guard shape.count == 2, shape.allSatisfy({ $0 >= 0 }) else { return ["shape \(shape) is not 2-D"] }
        guard data.shape.count == 1, indices.shape.count == 1, indptr.shape.count == 1 else {
            return ["data, indices and indptr must be 1-D"]
        }
        guard indices.dataType.isInteger else { return ["indices have non-integer type \(indices.dataType)"] }
        guard indptr.dataType.isInteger else { return ["indptr has non-integer type \(indptr.dataType)"] }
        if data.dataType.isVariableLength { out.append("data has non-numeric type \(data.dataType)") }
        let major = format == .csr ? shape[0] : shape[1]
        let minor = format == .csr ? shape[1] : shape[0]
        if indices.count != data.count { out.append("indices has \(indices.count) entries but data has \(data.count)") }
        guard indptr.count == major + 1 else {
            out.append("indptr has \(indptr.count) entries, expected \(major + 1)")
            return out
        }
        // Scanned in place: `indices` can hold hundreds of millions of values.
        let first = IntegerView.value(indptr, at: 0)
        if first != 0 { out.append("indptr starts at \(first), not 0") }
        if let i = IntegerView.firstDecrease(indptr) {
            out.append("indptr is not monotone (indptr[\(i)] = \(IntegerView.value(indptr, at: i)) < indptr[\(i - 1)] = \(IntegerView.value(indptr, at: i - 1)))")
        }
        let last = IntegerView.value(indptr, at: major)
        if last != data.count { out.append("indptr ends at \(last), but there are \(data.count) stored values") }
        if let bad = IntegerView.firstIndex(indices, outside: 0..<minor) {
            out.append("indices[\(bad)] = \(IntegerView.value(indices, at: bad)) is outside 0..<\(minor)")
        }
        return out
    }

    /// Throws `invalidElement` naming `path` when `problems()` is not empty.
    public func validate(path: String) throws(AnnDataError) {
        let p = problems()
        if !p.isEmpty { throw .invalidElement(path: path, reason: p.joined(separator: "; ")) }
    }

    /// The dense matrix (row-major, same value type).
    public func toDense() throws(AnnDataError) -> NDArray {
        try validate(path: "")
        guard let size = data.dataType.itemSize else { throw .invalidElement(path: "", reason: "non-numeric data") }
        let (cells, o1) = shape[0].multipliedReportingOverflow(by: shape[1])
        let (byteCount, o2) = cells.multipliedReportingOverflow(by: size)
        guard !o1, !o2, byteCount <= 1 << 40 else {
            throw .invalidElement(path: "", reason: "a dense \(shape[0]) x \(shape[1]) matrix of \(data.dataType) is too large")
        }
        var out = [UInt8](repeating: 0, count: byteCount)
        let ptr = IntegerView.ints(indptr), idx = IntegerView.ints(indices)
        let src = data.bytes
        for major in 0..<(ptr.count - 1) {
            for k in ptr[major]..<ptr[major + 1] {
                let (r, c) = format == .csr ? (major, idx[k]) : (idx[k], major)
                let o = (r * shape[1] + c) * size
                for b in 0..<size { out[o + b] = src[k * size + b] }
            }
        }
        do {
            return try NDArray(dataType: data.dataType, shape: shape, storage: .fixed(out))
        } catch {
            throw .invalidElement(path: "", reason: error.description)
        }
    }
}
