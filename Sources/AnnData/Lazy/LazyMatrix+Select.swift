import Zarr

extension LazyMatrix {
    /// The submatrix at `rows` and `columns` (`nil` = all; any order, repeats allowed), read
    /// from the store, in the stored layout (dense, CSR or CSC). A dense matrix of rank > 2
    /// keeps its trailing axes whole.
    ///
    /// Cost: one selection read per array, so every chunk is fetched and decoded at most once
    /// per call. Dense: the chunks the selection crosses. Sparse: the major-axis entries of
    /// `indptr` the selection needs (rows of CSR, columns of CSC), then the spans of those
    /// rows (columns) of `indices`; with a minor-axis selection (columns of CSR, rows of CSC)
    /// the kept entries are found from `indices` and only the chunks of `data` that hold them
    /// are read. Reading one column of a CSR matrix therefore reads `indptr` and `indices`
    /// whole once and `data` where that column has values.
    ///
    /// With `recycler`, the big arrays of the result (a dense matrix's values; a sparse one's
    /// `data` and `indices` when no minor-axis selection filters them) are decoded into
    /// buffers taken from it, and can be given back once used (`BufferRecycler.recycle`).
    public func select(rows: [Int]?, columns: [Int]?, recycling recycler: BufferRecycler? = nil) async throws(AnnDataError) -> Matrix {
        try check(rows, extent: shape[0], axis: "row")
        if let columns {
            guard shape.count >= 2 else { throw .invalidElement(path: path, reason: "a 1-D array has no columns to select") }
            try check(columns, extent: shape[1], axis: "column")
        }
        let conc = concurrency
        switch layout {
        case .dense(let a):
            var selection: [DimensionSelection] = a.shape.map { _ in .all }
            if let rows { selection[0] = .indices(rows) }
            if let columns { selection[1] = .indices(columns) }
            let sel = selection
            return .dense(try await annotating(path) { try await a.read(sel, recycling: recycler, options: conc) })
        case .sparse(let format, let data, let indices, let indptr):
            let (major, minor) = format == .csr ? (rows, columns) : (columns, rows)
            return .sparse(try await sparseSelect(format, major: major, minor: minor, data: data, indices: indices, indptr: indptr,
                                                  recycling: recycler))
        }
    }

    func check(_ selection: [Int]?, extent: Int, axis: String) throws(AnnDataError) {
        if let bad = selection?.first(where: { $0 < 0 || $0 >= extent }) {
            throw .invalidElement(path: path, reason: "\(axis) \(bad) is outside 0..<\(extent)")
        }
    }

    /// The spans of `data`/`indices` that hold the major-axis entries `major` (`nil` = all),
    /// from one read of `indptr`.
    func majorSpans(_ major: [Int]?, indptr: ZarrArray, nnz: Int) async throws(AnnDataError) -> [Range<Int>] {
        let conc = concurrency
        let ptrPath = path + "/indptr"
        var spans: [Range<Int>] = []
        if let major {
            var positions: [Int] = []
            positions.reserveCapacity(2 * major.count)
            for r in major { positions.append(r); positions.append(r + 1) }
            let sel = positions
            let offsets = IntegerView.ints(try await annotating(ptrPath) { try await indptr.read([.indices(sel)], options: conc) })
            guard offsets.count == positions.count else {
                throw .invalidElement(path: ptrPath, reason: "expected \(positions.count) integer offsets, found \(offsets.count)")
            }
            spans.reserveCapacity(major.count)
            for k in 0..<major.count {
                let lo = offsets[2 * k], hi = offsets[2 * k + 1]
                guard 0 <= lo, lo <= hi, hi <= nnz else {
                    throw .invalidElement(path: ptrPath, reason: "entry \(major[k]) spans \(lo)..<\(hi), outside 0...\(nnz)")
                }
                spans.append(lo..<hi)
            }
        } else {
            let offsets = IntegerView.ints(try await annotating(ptrPath) { try await indptr.read(options: conc) })
            spans.reserveCapacity(offsets.count)
            for k in 0..<max(0, offsets.count - 1) {
                let lo = offsets[k], hi = offsets[k + 1]
                guard 0 <= lo, lo <= hi, hi <= nnz else {
                    throw .invalidElement(path: ptrPath, reason: "entry \(k) spans \(lo)..<\(hi), outside 0...\(nnz)")
                }
                spans.append(lo..<hi)
            }
        }
        return spans
    }

    func sparseSelect(
        _ format: SparseMatrix.Format, major: [Int]?, minor: [Int]?, data: ZarrArray, indices: ZarrArray, indptr: ZarrArray,
        recycling recycler: BufferRecycler? = nil
    ) async throws(AnnDataError) -> SparseMatrix {
        let majorExtent = format == .csr ? shape[0] : shape[1]
        let minorExtent = format == .csr ? shape[1] : shape[0]
        let spans = try await majorSpans(major, indptr: indptr, nnz: data.shape[0])
        var map: MinorAxisMap?
        if let minor { map = try MinorAxisMap(minor, extent: minorExtent, path: path) }
        let ptrType = indptr.metadata.dataType
        guard let map else {
            return try await sparsePart(format, spans: spans, majorCount: major?.count ?? majorExtent, minorExtent: minorExtent,
                                        minor: nil, data: data, indices: indices, indptrType: ptrType, recycling: recycler)
        }
        // A minor-axis filter keeps few of the entries it reads: read them in blocks of about
        // `filterBlockEntries` (whole rows), so that the indices read for filtering never need
        // more memory than a block (a chunk that straddles two blocks is read by both).
        var parts: [SparseMatrix] = []
        var start = 0, entries = 0
        for (k, s) in spans.enumerated() {
            if entries > 0 && entries + s.count > Self.filterBlockEntries {
                parts.append(try await sparsePart(format, spans: Array(spans[start..<k]), majorCount: k - start, minorExtent: minorExtent,
                                                  minor: map, data: data, indices: indices, indptrType: .int64))
                start = k; entries = 0
            }
            entries += s.count
        }
        parts.append(try await sparsePart(format, spans: Array(spans[start...]), majorCount: spans.count - start, minorExtent: minorExtent,
                                          minor: map, data: data, indices: indices, indptrType: .int64))
        return try Self.joiningMajor(parts, format: format, minorCount: map.outputCount, like: (data.dataType, indices.metadata.dataType, ptrType), path: path)
    }

    /// Entries read per block when filtering the minor axis (16 Mi: 64 MiB of int32 indices).
    static var filterBlockEntries: Int { 16 << 20 }

    /// Parts (consecutive major ranges of one result) joined along the major axis.
    static func joiningMajor(
        _ parts: [SparseMatrix], format: SparseMatrix.Format, minorCount: Int, like types: (DataType, DataType, DataType), path: String
    ) throws(AnnDataError) -> SparseMatrix {
        if parts.count == 1, let only = parts.first, only.indptr.dataType == types.2 { return only }
        var ptr = [0]
        for p in parts {
            let local = IntegerView.ints(p.indptr)
            let base = ptr[ptr.count - 1]
            ptr.append(contentsOf: local.dropFirst().map { $0 + base })
        }
        let majors = ptr.count - 1
        return try annotatingSync(path) {
            let data = try NDArray.concatenating(parts.map(\.data), dataType: types.0, trailingShape: [])
            let indices = try NDArray.concatenating(parts.map(\.indices), dataType: types.1, trailingShape: [])
            let m = SparseMatrix(unchecked: format, shape: format == .csr ? [majors, minorCount] : [minorCount, majors], data: data,
                                 indices: indices, indptr: try IntegerView.array(ptr, like: types.2))
            return m
        }
    }

    /// The rows (major entries) whose spans are `spans`, filtered by `minor` when given: reads
    /// `indices` of the spans, then `data` of the kept entries only (as runs).
    func sparsePart(
        _ format: SparseMatrix.Format, spans: [Range<Int>], majorCount: Int, minorExtent: Int, minor: MinorAxisMap?,
        data: ZarrArray, indices: ZarrArray, indptrType: DataType, recycling recycler: BufferRecycler? = nil
    ) async throws(AnnDataError) -> SparseMatrix {
        let conc = concurrency
        let lengths = spans.map(\.count)
        // Adjacent spans (consecutive rows) read as one range: same values, far fewer runs.
        var merged: [Range<Int>] = []
        for s in spans where !s.isEmpty {
            if let last = merged.last, last.upperBound == s.lowerBound { merged[merged.count - 1] = last.lowerBound..<s.upperBound } else { merged.append(s) }
        }
        let selection: [DimensionSelection] = [.ranges(merged)]
        var values: NDArray, minorIndices: NDArray, newLengths = lengths
        var minorCount = minorExtent
        if let minor {
            let idx = try await annotating(path + "/indices") { try await indices.read(selection, options: conc) }
            let kept = try minor.filter(minor: idx, lengths: lengths, rowStarts: spans.map(\.lowerBound),
                                        path: path + "/indices")
            // The chunks of `data` that hold kept entries, against those the spans cross.
            let granule = max(1, data.readGranule.first ?? 1)
            var touched = 0, lastChunk = -1
            for p in kept.positions where p / granule != lastChunk { touched += 1; lastChunk = p / granule }
            let spanned = merged.reduce(0) { $0 + ($1.upperBound - 1) / granule - $1.lowerBound / granule + 1 }
            if touched * 2 >= spanned {
                // Most chunks hold kept entries: read the spans whole and pick in memory (one
                // selection of a few spans instead of millions of runs).
                let all = try await annotating(path + "/data") { try await data.read(selection, options: conc) }
                var local: [Int] = []
                local.reserveCapacity(kept.positions.count)
                var row = 0, base = 0
                for p in kept.positions {
                    // Positions come row by row, in span order: advance to the span holding `p`.
                    while !(spans[row].lowerBound <= p && p < spans[row].upperBound) { base += spans[row].count; row += 1 }
                    local.append(base + (p - spans[row].lowerBound))
                }
                let picked = local
                values = try annotatingSync(path + "/data") { try all.taking(picked) }
            } else {
                // Few kept entries: read only the chunks of `data` that hold them, as runs.
                var runs: [Range<Int>] = []
                for src in kept.positions {
                    if let last = runs.last, last.upperBound == src { runs[runs.count - 1] = last.lowerBound..<(src + 1) } else { runs.append(src..<(src + 1)) }
                }
                let dataSel: [DimensionSelection] = [.ranges(runs)]
                values = try await annotating(path + "/data") { try await data.read(dataSel, options: conc) }
            }
            minorIndices = try annotatingSync(path + "/indices") { try IntegerView.array(kept.newMinor, like: indices.metadata.dataType) }
            newLengths = kept.lengths
            minorCount = minor.outputCount
        } else {
            async let v = annotating(path + "/data") { try await data.read(selection, recycling: recycler, options: conc) }
            async let i = annotating(path + "/indices") { try await indices.read(selection, recycling: recycler, options: conc) }
            do { (values, minorIndices) = (try await v, try await i) } catch { throw AnnDataError.wrap(error, path: path) }
        }
        var ptr = [0]
        ptr.reserveCapacity(newLengths.count + 1)
        for n in newLengths { ptr.append(ptr[ptr.count - 1] + n) }
        let shape = format == .csr ? [majorCount, minorCount] : [minorCount, majorCount]
        let m = try annotatingSync(path + "/indptr") {
            SparseMatrix(unchecked: format, shape: shape, data: values, indices: minorIndices,
                         indptr: try IntegerView.array(ptr, like: indptrType))
        }
        try m.validate(path: path)
        return m
    }
}
