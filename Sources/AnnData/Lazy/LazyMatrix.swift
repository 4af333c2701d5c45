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

    /// Rows `range` (all columns), read from the store. A CSC matrix is refused: its rows are
    /// spread over every column, so a row slice costs a full read (read it eagerly instead).
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
            throw .unsupported(path: path, reason: "row slices of a CSC matrix need the whole matrix; read it with readElement")
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

/// Runs `body`, turning any error into an `AnnDataError` naming `path`.
func annotatingSync<T>(_ path: String, _ body: () throws -> T) throws(AnnDataError) -> T {
    do { return try body() } catch { throw AnnDataError.wrap(error, path: path) }
}

extension LazyMatrix {
    /// The rows at `indices` (any order, repeats allowed), all columns, in that order. Rows are
    /// read in ascending order; rows whose values lie close together (less than one chunk
    /// apart) are read as one contiguous span, since their chunks would be decoded anyway.
    public func rows(_ indices: [Int]) async throws(AnnDataError) -> Matrix {
        if let bad = indices.first(where: { $0 < 0 || $0 >= rowCount }) {
            throw .invalidElement(path: path, reason: "row \(bad) is outside 0..<\(rowCount)")
        }
        let unique = Array(Set(indices)).sorted()
        switch layout {
        case .sparse(.csc, _, _, _):
            throw .unsupported(path: path, reason: "row selections of a CSC matrix need the whole matrix; read it with readElement")
        case .dense(let a):
            guard a.dataType.itemSize != nil else {
                throw .unsupported(path: path, reason: "row selections of a variable-length array; read it with readElement")
            }
            // One read per run of consecutive rows.
            var parts: [Int: (NDArray, Int)] = [:]  // first row of a run -> (values, run start)
            var runStart: [Int: Int] = [:]          // row -> first row of its run
            for run in Self.runs(unique, gap: 1) {
                let values = try await rows(run).denseValues(path: path)
                parts[run.lowerBound] = (values, run.lowerBound)
                for r in run { runStart[r] = run.lowerBound }
            }
            let rowBytes = a.shape.dropFirst().reduce(1, *) * (a.dataType.itemSize ?? 0)
            var out = [UInt8]()
            out.reserveCapacity(indices.count * rowBytes)
            for r in indices {
                guard let start = runStart[r], let (values, first) = parts[start] else { continue }
                let offset = (r - first) * rowBytes
                values.bytes.withUnsafeBufferPointer { out.append(contentsOf: $0[offset..<(offset + rowBytes)]) }
            }
            return .dense(try annotatingSync(path) {
                try NDArray(dataType: a.dataType, shape: [indices.count] + a.shape.dropFirst(), storage: .fixed(out))
            })
        case .sparse(.csr, let data, let indicesArray, let indptr):
            return .sparse(try await csrGather(indices, unique: unique, data: data, indices: indicesArray, indptr: indptr))
        }
    }

    /// The length of the chunks `a` is decoded in: the inner chunks of a sharded array, else its
    /// chunks (1-D arrays).
    static func readGranule(_ a: ZarrArray) -> Int {
        let m = a.metadata
        if case .sharding(let sharding)? = m.codecs.first?.configuration, let inner = sharding.chunkShape.first {
            return Swift.max(1, inner)
        }
        return Swift.max(1, m.chunkShape.first ?? 1)
    }

    /// Sorted rows grouped into ranges whose members are less than `gap` apart.
    static func runs(_ sorted: [Int], gap: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for r in sorted {
            if let last = out.last, r - (last.upperBound - 1) <= gap {
                out[out.count - 1] = last.lowerBound..<(r + 1)
            } else {
                out.append(r..<(r + 1))
            }
        }
        return out
    }

    func csrGather(_ wanted: [Int], unique: [Int], data: ZarrArray, indices: ZarrArray, indptr: ZarrArray) async throws(AnnDataError) -> SparseMatrix {
        let conc = concurrency
        // Offsets of every selected row: indptr read per run of nearby rows.
        var span: [Int: (lo: Int, hi: Int)] = [:]
        let ptrGap = Self.readGranule(indptr)
        for run in Self.runs(unique, gap: ptrGap) {
            let ptr = try await annotating(path + "/indptr") { try await indptr.read([run.lowerBound..<(run.upperBound + 1)], options: conc) }
            let offsets = IntegerView.ints(ptr)
            guard offsets.count == run.count + 1 else {
                throw .invalidElement(path: path + "/indptr", reason: "expected \(run.count + 1) integer offsets for rows \(run)")
            }
            for r in unique where run.contains(r) {
                let lo = offsets[r - run.lowerBound], hi = offsets[r - run.lowerBound + 1]
                guard 0 <= lo, lo <= hi, hi <= data.shape[0] else {
                    throw .invalidElement(path: path + "/indptr", reason: "row \(r) spans \(lo)..<\(hi), outside 0...\(data.shape[0])")
                }
                span[r] = (lo, hi)
            }
        }
        // Values: rows less than one (inner) chunk apart are read as one span, since that chunk
        // is decoded either way; a span stops growing at four chunks, so that what is copied
        // out stays near what is needed. Spans are read side by side, as many as codec threads.
        let granule = Self.readGranule(data)
        var reads: [(range: Range<Int>, rows: [Int])] = []
        for r in unique {
            guard let s = span[r] else { continue }
            if let last = reads.last, s.lo - last.range.upperBound <= granule, s.hi - last.range.lowerBound <= 4 * granule {
                reads[reads.count - 1] = (last.range.lowerBound..<Swift.max(last.range.upperBound, s.hi), last.rows + [r])
            } else {
                reads.append((s.lo..<s.hi, [r]))
            }
        }
        var located: [Int: (read: Int, offset: Int)] = [:]
        for (k, read) in reads.enumerated() {
            for r in read.rows { if let s = span[r] { located[r] = (k, s.lo - read.range.lowerBound) } }
        }
        let serial = ConcurrencyOptions(codecThreads: 1, ioRequests: conc.ioRequests)
        let values: [(NDArray, NDArray)]
        do {
            values = try await Parallel.map(reads.map(\.range), limit: conc.codecThreads) { range in
                (try await data.read([range], options: serial), try await indices.read([range], options: serial))
            }
        } catch { throw AnnDataError.wrap(error, path: path) }
        // Assembled in the requested order.
        let dataSize = data.metadata.dataType.itemSize ?? 0, indexSize = indices.metadata.dataType.itemSize ?? 0
        var outData: [UInt8] = [], outIndices: [UInt8] = [], offsets = [0]
        for r in wanted {
            guard let s = span[r], let (k, offset) = located[r] else { continue }
            let n = s.hi - s.lo
            values[k].0.bytes.withUnsafeBufferPointer { outData.append(contentsOf: $0[(offset * dataSize)..<((offset + n) * dataSize)]) }
            values[k].1.bytes.withUnsafeBufferPointer { outIndices.append(contentsOf: $0[(offset * indexSize)..<((offset + n) * indexSize)]) }
            offsets.append(offsets[offsets.count - 1] + n)
        }
        let nnz = offsets[offsets.count - 1]
        let m = try annotatingSync(path) {
            SparseMatrix(unchecked: .csr, shape: [wanted.count, shape[1]],
                         data: try NDArray(dataType: data.metadata.dataType, shape: [nnz], storage: .fixed(outData)),
                         indices: try NDArray(dataType: indices.metadata.dataType, shape: [nnz], storage: .fixed(outIndices)),
                         indptr: try IntegerView.array(offsets, like: indptr.metadata.dataType))
        }
        try m.validate(path: path)
        return m
    }
}

extension Matrix {
    /// The dense values (an error for a sparse matrix).
    func denseValues(path: String) throws(AnnDataError) -> NDArray {
        guard case .dense(let a) = self else { throw .invalidElement(path: path, reason: "expected a dense matrix") }
        return a
    }
}
