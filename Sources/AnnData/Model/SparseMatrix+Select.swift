import Zarr

/// Where each index of a sparse matrix's minor axis goes under a selection of that axis
/// (columns of CSR, rows of CSC): a CSR-like table from source index to output positions, so
/// that any order and repeats are allowed.
struct MinorAxisMap: Sendable {
    /// The source extent of the minor axis.
    let extent: Int
    /// The number of selected positions (the output extent).
    let outputCount: Int
    /// `targets[starts[i]..<starts[i + 1]]` are the output positions of source index `i`.
    let starts: [Int]
    /// Output positions grouped by source index.
    let targets: [Int]
    /// Whether the selection is strictly increasing: the mapping then keeps the order of the
    /// entries of a row, so no row needs sorting.
    let increasing: Bool

    /// The map of `selection` (any order, repeats allowed) over an axis of `extent`.
    init(_ selection: [Int], extent: Int, path: String) throws(AnnDataError) {
        if let bad = selection.first(where: { $0 < 0 || $0 >= extent }) {
            throw .invalidElement(path: path, reason: "index \(bad) is outside 0..<\(extent)")
        }
        var counts = [Int](repeating: 0, count: extent + 1)
        for s in selection { counts[s + 1] += 1 }
        for i in 0..<extent { counts[i + 1] += counts[i] }
        var fill = counts
        var targets = [Int](repeating: 0, count: selection.count)
        for (out, s) in selection.enumerated() {
            targets[fill[s]] = out
            fill[s] += 1
        }
        self.extent = extent
        self.outputCount = selection.count
        self.starts = counts
        self.targets = targets
        self.increasing = zip(selection, selection.dropFirst()).allSatisfy { $0 < $1 }
    }

    /// The kept entries of consecutive rows whose minor indices are `minor` (an integer
    /// array, read in place; row `j` holds `lengths[j]` of them, stored from position
    /// `rowStarts[j]` of the source arrays): for each kept entry in output order, its source
    /// position and its new minor index; and the new length of every row. Rows are sorted by
    /// the new index when the selection is not increasing (repeats and reorderings), as scipy
    /// leaves them canonical.
    ///
    /// Cost: one pass over `minor` (two table lookups per entry); the output holds only the
    /// kept entries.
    func filter(minor: NDArray, lengths: [Int], rowStarts: [Int], path: String) throws(AnnDataError) -> (positions: [Int], newMinor: [Int], lengths: [Int]) {
        let total = lengths.reduce(0, +)
        guard minor.count == total, rowStarts.count == lengths.count else {
            throw .invalidElement(path: path, reason: "\(minor.count) indices for rows holding \(total)")
        }
        var positions: [Int] = [], newMinor: [Int] = []
        var newLengths = [Int](repeating: 0, count: lengths.count)
        var row: [(Int, Int)] = []
        var j = 0, rowFirst = 0, rowEnd = lengths.first ?? 0, before = 0
        var bad: (position: Int, value: Int)?
        let increasing = self.increasing, extent = self.extent, starts = self.starts, targets = self.targets
        func closeRow() {
            if !increasing {
                row.sort { $0.0 < $1.0 }
                for (t, p) in row { positions.append(p); newMinor.append(t) }
                row.removeAll(keepingCapacity: true)
            }
            newLengths[j] = positions.count - before
            before = positions.count
        }
        _ = IntegerView.scan(minor) { p, m in
            while p >= rowEnd { closeRow(); j += 1; rowFirst = rowEnd; rowEnd += lengths[j] }
            guard m >= 0 && m < extent else { bad = (p, m); return true }
            let lo = starts[m], hi = starts[m + 1]
            if lo == hi { return false }
            let source = rowStarts[j] + (p - rowFirst)
            if increasing {
                positions.append(source); newMinor.append(targets[lo])
            } else {
                for t in lo..<hi { row.append((targets[t], source)) }
            }
            return false
        }
        if let bad { throw .invalidElement(path: path, reason: "index \(bad.value) at position \(bad.position) is outside 0..<\(extent)") }
        while j < lengths.count { closeRow(); j += 1 }
        return (positions, newMinor, newLengths)
    }
}

extension SparseMatrix {
    /// The submatrix at `rows` and `columns` (`nil` = all; any order, repeats allowed), in the
    /// same format, as scipy's `m[rows][:, columns]`.
    public func selecting(rows: [Int]?, columns: [Int]?, path: String = "") throws(AnnDataError) -> SparseMatrix {
        let (majorSel, minorSel) = format == .csr ? (rows, columns) : (columns, rows)
        let majorExtent = format == .csr ? shape[0] : shape[1]
        let minorExtent = format == .csr ? shape[1] : shape[0]
        let ptr = IntegerView.ints(indptr)
        let majors = majorSel ?? Array(0..<majorExtent)
        if let bad = majors.first(where: { $0 < 0 || $0 >= majorExtent }) {
            throw .invalidElement(path: path, reason: "index \(bad) is outside 0..<\(majorExtent)")
        }
        if minorSel == nil, let rowsOnly = try gatheringMajors(majors, ptr: ptr, path: path) { return rowsOnly }
        var positions: [Int] = [], lengths: [Int] = []
        positions.reserveCapacity(nnz)
        for r in majors {
            lengths.append(ptr[r + 1] - ptr[r])
            positions.append(contentsOf: ptr[r]..<ptr[r + 1])
        }
        var minor = IntegerView.ints(indices)
        if majorSel != nil { minor = positions.map { minor[$0] } }
        var minorCount = minorExtent
        if let minorSel {
            let map = try MinorAxisMap(minorSel, extent: minorExtent, path: path)
            let minorArray = try annotatingSync(path) { try IntegerView.array(minor, like: .int64) }
            let kept = try map.filter(minor: minorArray, lengths: lengths, rowStarts: majors.map { ptr[$0] }, path: path)
            positions = kept.positions
            minor = kept.newMinor
            lengths = kept.lengths
            minorCount = map.outputCount
        }
        var newPtr = [0]
        newPtr.reserveCapacity(lengths.count + 1)
        for n in lengths { newPtr.append(newPtr[newPtr.count - 1] + n) }
        let outShape = format == .csr ? [majors.count, minorCount] : [minorCount, majors.count]
        return try annotatingSync(path) {
            SparseMatrix(unchecked: format, shape: outShape, data: try data.taking(positions),
                         indices: try IntegerView.array(minor, like: indices.dataType),
                         indptr: try IntegerView.array(newPtr, like: indptr.dataType))
        }
    }
}

extension SparseMatrix {
    /// The majors (CSR rows, CSC columns) at `majors` with every minor: each major's span of
    /// `data` and `indices` copied as bytes, so the cost is the bytes kept, not a conversion of
    /// every stored index (`nil` when `data` or `indices` is not of fixed-size elements).
    func gatheringMajors(_ majors: [Int], ptr: [Int], path: String) throws(AnnDataError) -> SparseMatrix? {
        guard case .fixed(let dataBytes) = data.storage, case .fixed(let indexBytes) = indices.storage,
              let dSize = data.dataType.itemSize, let iSize = indices.dataType.itemSize else { return nil }
        var total = 0
        var newPtr = [0]
        newPtr.reserveCapacity(majors.count + 1)
        for r in majors {
            total += ptr[r + 1] - ptr[r]
            newPtr.append(total)
        }
        var outData = [UInt8](), outIndices = [UInt8]()
        outData.reserveCapacity(total * dSize)
        outIndices.reserveCapacity(total * iSize)
        for r in majors where ptr[r + 1] > ptr[r] {
            outData.append(contentsOf: dataBytes[(ptr[r] * dSize)..<(ptr[r + 1] * dSize)])
            outIndices.append(contentsOf: indexBytes[(ptr[r] * iSize)..<(ptr[r + 1] * iSize)])
        }
        let minorExtent = format == .csr ? shape[1] : shape[0]
        let outShape = format == .csr ? [majors.count, minorExtent] : [minorExtent, majors.count]
        return try annotatingSync(path) {
            SparseMatrix(unchecked: format, shape: outShape,
                         data: try NDArray(dataType: data.dataType, shape: [total], storage: .fixed(outData)),
                         indices: try NDArray(dataType: indices.dataType, shape: [total], storage: .fixed(outIndices)),
                         indptr: try IntegerView.array(newPtr, like: indptr.dataType))
        }
    }
}

/// Runs `body`, turning any error into an `AnnDataError` naming `path`.
func annotatingSync<T>(_ path: String, _ body: () throws -> T) throws(AnnDataError) -> T {
    do { return try body() } catch { throw AnnDataError.wrap(error, path: path) }
}
