import Zarr

/// A matrix in a store (`X`, a layer, an `obsm` array), read only where it is sliced: rows of a
/// dense array read just the chunks they cross; rows of a CSR matrix read their part of
/// `indptr`, then just the chunks of `data` and `indices` that hold those rows.
public struct LazyMatrix: Sendable {
    /// How the matrix is stored.
    public enum Layout: Sendable {
        /// A dense array.
        case dense(ZarrArray)
        /// A CSR or CSC matrix: its three arrays.
        case sparse(SparseMatrix.Format, data: ZarrArray, indices: ZarrArray, indptr: ZarrArray)
    }

    /// The element path.
    public let path: String
    /// The shape (rows first).
    public let shape: [Int]
    /// The arrays behind the matrix.
    public let layout: Layout
    /// Threads and requests for each read.
    public let concurrency: ConcurrencyOptions

    /// The matrix at `path`, from its metadata only (no chunk is read).
    public static func open(_ reader: ElementReader, path: String) async throws(AnnDataError) -> LazyMatrix {
        let node = try await reader.node(path)
        func array(_ p: String) async throws(AnnDataError) -> ZarrArray {
            guard case .array(let m) = try await reader.node(p) else {
                throw .invalidElement(path: p, reason: "expected an array, found a group")
            }
            return try annotatingSync(p) { try ZarrArray(store: reader.store, path: p, metadata: m) }
        }
        switch node {
        case .array(let m):
            guard m.shape.count >= 1 else { throw .invalidElement(path: path, reason: "a 0-d array has no rows") }
            return LazyMatrix(path: path, shape: m.shape, layout: .dense(try await array(path)), concurrency: reader.concurrency)
        case .group(let g):
            let type = ElementReader.encodingKey(of: node).type
            let format: SparseMatrix.Format
            switch type {
            case "csr_matrix": format = .csr
            case "csc_matrix": format = .csc
            default: throw .invalidElement(path: path, reason: "expected a dense or sparse matrix, found '\(type)'")
            }
            guard let list = g.attributes["shape"]?.array, list.count == 2, let r = list[0].int, let c = list[1].int, r >= 0, c >= 0 else {
                throw .invalidElement(path: path, reason: "attribute 'shape' must be a list of two non-negative integers")
            }
            let data = try await array(path + "/data"), indices = try await array(path + "/indices")
            let indptr = try await array(path + "/indptr")
            let major = format == .csr ? r : c
            guard indptr.metadata.dataType.isInteger, indices.metadata.dataType.isInteger, data.metadata.dataType.itemSize != nil else {
                throw .invalidElement(path: path, reason: "indptr and indices must hold integers and data fixed-size values")
            }
            guard data.shape.count == 1, indices.shape == data.shape, indptr.shape == [major + 1] else {
                throw .shapeMismatch(path: path, reason: "data \(data.shape), indices \(indices.shape) and indptr \(indptr.shape) do not fit a \(r) x \(c) \(format.encodingType)")
            }
            return LazyMatrix(path: path, shape: [r, c], layout: .sparse(format, data: data, indices: indices, indptr: indptr),
                              concurrency: reader.concurrency)
        }
    }

    /// The number of rows.
    public var rowCount: Int { shape[0] }

    /// Rows `range` (all columns), read from the store. Rows of a CSC matrix are spread over
    /// every column: the slice reads `indices` whole and `data` where those rows have values.
    public func rows(_ range: Range<Int>) async throws(AnnDataError) -> Matrix {
        guard range.lowerBound >= 0, range.upperBound <= rowCount else {
            throw .invalidElement(path: path, reason: "rows \(range) are outside 0..<\(rowCount)")
        }
        switch layout {
        case .dense(let a):
            let region = [range] + a.shape.dropFirst().map { 0..<$0 }
            let conc = concurrency
            return .dense(try await annotating(path) { try await a.read(region, options: conc) })
        case .sparse(.csc, _, _, _):
            // Rows are CSC's minor axis: every column's span is read and filtered.
            return try await select(rows: Array(range), columns: nil)
        case .sparse(.csr, let data, let indices, let indptr):
            return .sparse(try await csrRows(range, data: data, indices: indices, indptr: indptr))
        }
    }

    func csrRows(_ range: Range<Int>, data: ZarrArray, indices: ZarrArray, indptr: ZarrArray) async throws(AnnDataError) -> SparseMatrix {
        let conc = concurrency
        let ptr = try await annotating(path + "/indptr") {
            try await indptr.read([range.lowerBound..<(range.upperBound + 1)], options: conc)
        }
        let offsets = IntegerView.ints(ptr)
        guard let lo = offsets.first, let hi = offsets.last, lo >= 0, lo <= hi, hi <= data.shape[0],
              IntegerView.firstDecrease(ptr) == nil
        else {
            throw .invalidElement(path: path + "/indptr", reason: "indptr of rows \(range) is not monotone within 0...\(data.shape[0])")
        }
        // data and indices of those rows, side by side.
        async let values = annotating(path + "/data") { try await data.read([lo..<hi], options: conc) }
        async let columns = annotating(path + "/indices") { try await indices.read([lo..<hi], options: conc) }
        let rebased = try annotatingSync(path + "/indptr") { try IntegerView.array(offsets.map { $0 - lo }, like: ptr.dataType) }
        let parts: (NDArray, NDArray)
        do { parts = (try await values, try await columns) } catch { throw AnnDataError.wrap(error, path: path) }
        let m = SparseMatrix(unchecked: .csr, shape: [range.count, shape[1]], data: parts.0, indices: parts.1, indptr: rebased)
        try m.validate(path: path)
        return m
    }
}

extension LazyMatrix {
    /// The rows at `indices` (any order, repeats allowed), all columns, in that order:
    /// `select(rows: indices, columns: nil)`.
    ///
    /// Cost: one selection read per array (`ZarrArray.read(_:options:)`), so every chunk the
    /// rows touch is fetched and decoded once, whatever the order or repeats. For CSR, the
    /// rows' `indptr` entries are read first, then `data` and `indices` of just those rows'
    /// spans, side by side; for CSC, every column's span is read and filtered.
    public func rows(_ indices: [Int]) async throws(AnnDataError) -> Matrix {
        try await select(rows: indices, columns: nil)
    }
}

extension Matrix {
    /// The dense values (an error for a sparse matrix).
    func denseValues(path: String) throws(AnnDataError) -> NDArray {
        guard case .dense(let a) = self else { throw .invalidElement(path: path, reason: "expected a dense matrix") }
        return a
    }
}
