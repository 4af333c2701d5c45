import Zarr

extension ConcatPlan {
    /// One block of one store's rows, as the reader hands it to the writer.
    enum StackedBlock: Sendable {
        case dense(NDArray)
        case sparse(SparseMatrix)
    }

    /// Streams `spec` into `path`: dense when every part is dense (a store's missing columns and
    /// missing parts are NaN, so integers become float64), else CSR (missing entries are
    /// zeros; dense parts keep their non-zero values). Blocks of about `blockBytes` of one store
    /// are read one ahead of the writer, which fills whole rows of chunks (`SlabWriter`).
    func writeStacked(_ spec: StackedMatrix, to w: ElementWriter, at path: String, role: ArrayRole) async throws(AnnDataError) {
        if spec.isSparse {
            try await writeStackedSparse(spec, to: w, at: path)
        } else {
            try await writeStackedDense(spec, to: w, at: path, role: role)
        }
    }

    /// Blocks of rows of each part: `(part, rows)`, in order.
    func blocks(rowsPerBlock: (Int) -> Int) -> [(part: Int, rows: Range<Int>)] {
        var out: [(part: Int, rows: Range<Int>)] = []
        for (i, n) in counts.enumerated() {
            let step = max(1, rowsPerBlock(i))
            for start in stride(from: 0, to: n, by: step) { out.append((i, start..<min(start + step, n))) }
        }
        return out
    }

    func writeStackedDense(_ spec: StackedMatrix, to w: ElementWriter, at path: String, role: ArrayRole) async throws(AnnDataError) {
        var types: [DataType] = []
        for (m, cols) in zip(spec.parts, spec.columns) {
            guard let m, case .dense(let a) = m.layout else { types.append(.float64); continue }
            let widened = cols.map { $0.count < spec.outColumns } ?? false
            types.append(widened ? NumericPromotion.holdingNaN(a.dataType) : a.dataType)
        }
        guard let outType = NumericPromotion.common(types), let itemSize = outType.itemSize else {
            throw .unsupported(path: path, reason: "arrays of \(Set(types.map(\.description)).sorted()) cannot be concatenated")
        }
        let shape = [nObs] + spec.trailing
        let meta = try LazyAnnDataView.streamingWriter(w, shape: shape, itemSize: itemSize)
            .arrayMetadata(path, dataType: outType, shape: shape, attributes: w.encodingAttributes("array"), role: role)
        let conc = w.options.concurrency
        let rowBytes = max(1, spec.trailing.reduce(itemSize, *))
        let spec = spec
        try await annotating(path) {
            let out = try await ZarrArray.create(w.store, path: path, metadata: meta)
            var slabs = try SlabWriter(out, options: conc)
            let perBlock = max(slabs.slabRows, (LazyAnnDataView.blockBytes / rowBytes) / slabs.slabRows * slabs.slabRows)
            let list = blocks { _ in perBlock }
            try await LazyAnnDataView.pipelined(list.count, read: { k in
                try await Self.denseBlock(spec, part: list[k].part, rows: list[k].rows, type: outType, path: path)
            }, consume: { (block: NDArray) in try await slabs.append(block) })
            try await slabs.finish()
        }
        w.recorder.record(path, .array(meta))
    }

    /// Rows `rows` of part `i` with the output columns, as `type`.
    static func denseBlock(_ spec: StackedMatrix, part i: Int, rows: Range<Int>, type: DataType, path: String) async throws -> NDArray {
        let shape = [rows.count] + spec.trailing
        guard let m = spec.parts[i] else { return NDArray(repeating: NumericPromotion.missing(type), dataType: type, shape: shape) }
        guard let cols = spec.columns[i] else {
            return try await m.rows(rows).denseValues(path: path).converted(to: type)
        }
        let a = try await m.select(rows: Array(rows), columns: cols.map(\.source)).denseValues(path: path)
        if cols.count == spec.outColumns, cols.enumerated().allSatisfy({ $0.offset == $0.element.out }) { return try a.converted(to: type) }
        // Widen: every output column not filled is missing (NaN).
        guard spec.trailing.count == 1 else { throw ZarrError.valueMismatch("'\(path)': only 2-D arrays can be aligned by column") }
        let values = try a.doubles()
        var out = [Double](repeating: .nan, count: rows.count * spec.outColumns)
        for r in 0..<rows.count {
            for (k, c) in cols.enumerated() { out[r * spec.outColumns + c.out] = values[r * cols.count + k] }
        }
        return try NDArray(out, shape: shape).converted(to: type)
    }

    func writeStackedSparse(_ spec: StackedMatrix, to w: ElementWriter, at path: String) async throws(AnnDataError) {
        guard spec.trailing.count == 1 else { throw .unsupported(path: path, reason: "a sparse matrix and arrays of rank \(spec.trailing.count + 1) cannot be concatenated") }
        var types: [DataType] = []
        var upper = 0
        var entriesPerRow: [Double] = []
        for (i, m) in spec.parts.enumerated() {
            switch m?.layout {
            case .sparse(_, let data, _, _)?:
                types.append(data.dataType)
                upper += data.shape[0]
                entriesPerRow.append(Double(data.shape[0]) / Double(max(1, counts[i])))
            case .dense(let a)?:
                types.append(a.dataType)
                upper += counts[i] * spec.outColumns
                entriesPerRow.append(Double(spec.outColumns))
            case nil:
                entriesPerRow.append(0)
            }
        }
        guard let dataType = NumericPromotion.common(types), let itemSize = dataType.itemSize else {
            throw .unsupported(path: path, reason: "values of \(Set(types.map(\.description)).sorted()) cannot be concatenated")
        }
        let wide = upper > Int(Int32.max) || spec.outColumns > Int(Int32.max)
        let indexType: DataType = wide ? .int64 : .int32
        let indexSize = indexType.itemSize ?? 8
        var attrs = w.encodingAttributes("csr_matrix")
        attrs["shape"] = .integers([nObs, spec.outColumns])
        try await w.createGroup(path, attributes: attrs)
        func meta(_ p: String, _ type: DataType, _ n: Int) throws(AnnDataError) -> ArrayMetadata {
            try LazyAnnDataView.streamingWriter(w, shape: [n], itemSize: type.itemSize ?? 8)
                .arrayMetadata(path + "/" + p, dataType: type, shape: [n], attributes: [:], role: .data)
        }
        let dataMeta = try meta("data", dataType, upper), indicesMeta = try meta("indices", indexType, upper)
        let indptrMeta = try meta("indptr", indexType, nObs + 1)
        let conc = w.options.concurrency
        let perEntry = Double(itemSize + indexSize)
        let list = blocks { i in
            let r = entriesPerRow[i]
            return r == 0 ? 1 << 20 : Int(min(Double(1 << 20), max(1, Double(LazyAnnDataView.blockBytes) / perEntry / r)))
        }
        let spec = spec, nObs = nObs
        let total: Int = try await annotating(path) {
            var dataOut = try SlabWriter(try await ZarrArray.create(w.store, path: path + "/data", metadata: dataMeta), options: conc)
            var indicesOut = try SlabWriter(try await ZarrArray.create(w.store, path: path + "/indices", metadata: indicesMeta), options: conc)
            var indptrOut = try SlabWriter(try await ZarrArray.create(w.store, path: path + "/indptr", metadata: indptrMeta), options: conc)
            try await indptrOut.append(try IntegerView.array([0], like: indexType))
            var offset = 0
            try await LazyAnnDataView.pipelined(list.count, read: { k in
                try await Self.sparseBlock(spec, part: list[k].part, rows: list[k].rows, dataType: dataType, path: path)
            }, consume: { (part: SparseMatrix) in
                try await dataOut.append(part.data)
                try await indicesOut.append(try part.indices.converted(to: indexType))
                let ptr = IntegerView.ints(part.indptr).dropFirst().map { $0 + offset }
                try await indptrOut.append(try IntegerView.array(ptr, like: indexType))
                offset += part.nnz
            })
            try await dataOut.finish(); try await indicesOut.finish(); try await indptrOut.finish()
            guard indptrOut.written == nObs + 1 else { throw ZarrError.valueMismatch("'\(path)': \(indptrOut.written - 1) rows written for \(nObs)") }
            return offset
        }
        // Column selections and zeros of dense parts leave fewer entries than the bound.
        try await LazyAnnDataView.finishSparse(w, at: path, data: dataMeta, indices: indicesMeta, indptr: indptrMeta, entries: total)
    }

    /// Rows `rows` of part `i` as CSR with the output columns, values as `dataType`, indices
    /// as int64.
    static func sparseBlock(_ spec: StackedMatrix, part i: Int, rows: Range<Int>, dataType: DataType, path: String) async throws -> SparseMatrix {
        let shape = [rows.count, spec.outColumns]
        guard let m = spec.parts[i] else {
            return SparseMatrix(unchecked: .csr, shape: shape, data: try NDArray(dataType: dataType, shape: [0], storage: .fixed([])),
                                indices: try IntegerView.array([], like: .int64), indptr: try IntegerView.array(Array(repeating: 0, count: rows.count + 1), like: .int64))
        }
        let cols = spec.columns[i]
        // Whole rows of a CSR part: one contiguous range of indptr, data and indices.
        let selected = cols == nil ? try await m.rows(rows) : try await m.select(rows: Array(rows), columns: cols?.map(\.source))
        var s: SparseMatrix
        switch selected {
        case .sparse(let x): s = try x.toCSR(path: path)
        case .dense(let a): s = try SparseMatrix.csr(dense: a, path: path)
        }
        var indices = s.indices
        if let cols {
            let targets = cols.map(\.out)
            let mapped = try IntegerView.ints(s.indices).map { i throws -> Int in
                guard i >= 0, i < targets.count else { throw ZarrError.valueMismatch("'\(path)': column index \(i) outside 0..<\(targets.count)") }
                return targets[i]
            }
            indices = try IntegerView.array(mapped, like: .int64)
        }
        return SparseMatrix(unchecked: .csr, shape: shape, data: try s.data.converted(to: dataType), indices: indices, indptr: s.indptr)
    }
}
