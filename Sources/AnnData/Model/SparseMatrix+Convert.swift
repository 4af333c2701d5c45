import Zarr

extension SparseMatrix {
    /// This matrix as CSR. A CSC matrix is transposed by a counting sort over its entries:
    /// O(nnz + rows) time, one copy of `data` and `indices`; a CSR matrix is returned as is.
    func toCSR(path: String) throws(AnnDataError) -> SparseMatrix {
        guard format == .csc else { return self }
        let rows = shape[0], size = data.dataType.itemSize ?? 0
        let rowOf = IntegerView.ints(indices), ptr = IntegerView.ints(indptr)
        guard ptr.count == shape[1] + 1, ptr.first == 0, ptr.last == rowOf.count, zip(ptr, ptr.dropFirst()).allSatisfy({ $0 <= $1 }),
              data.count == rowOf.count else {
            throw .invalidElement(path: path, reason: "indptr of the CSC matrix is not monotone from 0 to nnz \(rowOf.count)")
        }
        var counts = [Int](repeating: 0, count: rows + 1)
        for r in rowOf {
            guard r >= 0, r < rows else { throw .invalidElement(path: path, reason: "row index \(r) is outside 0..<\(rows)") }
            counts[r + 1] += 1
        }
        for r in 0..<rows { counts[r + 1] += counts[r] }
        var next = counts
        var columns = [Int](repeating: 0, count: rowOf.count)
        var out = [UInt8](repeating: 0, count: rowOf.count * size)
        let source = data.bytes
        for c in 0..<(ptr.count - 1) {
            for k in ptr[c]..<ptr[c + 1] {
                let at = next[rowOf[k]]
                next[rowOf[k]] += 1
                columns[at] = c
                if size > 0 { out.replaceSubrange(at * size..<(at + 1) * size, with: source[k * size..<(k + 1) * size]) }
            }
        }
        return try annotatingSync(path) {
            SparseMatrix(unchecked: .csr, shape: shape, data: try NDArray(dataType: data.dataType, shape: [rowOf.count], storage: .fixed(out)),
                         indices: try IntegerView.array(columns, like: .int64), indptr: try IntegerView.array(counts, like: .int64))
        }
    }

    /// The entries of a dense 2-D array that are not zero (NaN is kept, as scipy keeps it),
    /// as CSR. O(rows x columns).
    static func csr(dense a: NDArray, path: String) throws(AnnDataError) -> SparseMatrix {
        guard a.shape.count == 2 else { throw .invalidElement(path: path, reason: "only a 2-D array can be made sparse, not shape \(a.shape)") }
        let rows = a.shape[0], cols = a.shape[1], size = a.dataType.itemSize ?? 0
        let values = try annotatingSync(path) { try a.doubles() }
        let source = a.bytes
        var data: [UInt8] = [], columns: [Int] = [], ptr = [0]
        for r in 0..<rows {
            for c in 0..<cols where values[r * cols + c] != 0 {
                let k = r * cols + c
                data.append(contentsOf: source[k * size..<(k + 1) * size])
                columns.append(c)
            }
            ptr.append(columns.count)
        }
        return try annotatingSync(path) {
            SparseMatrix(unchecked: .csr, shape: [rows, cols], data: try NDArray(dataType: a.dataType, shape: [columns.count], storage: .fixed(data)),
                         indices: try IntegerView.array(columns, like: .int64), indptr: try IntegerView.array(ptr, like: .int64))
        }
    }
}
