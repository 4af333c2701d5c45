import Zarr

/// `csr_matrix` / `csc_matrix` 0.1.0: a group with `shape` and the arrays `data`, `indices`,
/// `indptr` (no encoding attributes on those). Read matrices are validated (indptr monotone
/// from 0 to nnz, indices in range).
enum SparseEncoding {
    static let csr = make(.csr)
    static let csc = make(.csc)

    static func make(_ format: SparseMatrix.Format) -> ElementEncoding {
        ElementEncoding(format.encodingType, "0.1.0", read: { reader, path, node in
            guard case .group = node else { throw AnnDataError.invalidElement(path: path, reason: "a sparse matrix must be a group") }
            return .sparse(try await read(reader, path, format: format, shapeJSON: node.attributes["shape"]))
        }, write: { writer, path, element in
            guard case .sparse(let m) = element else { throw AnnDataError.invalidElement(path: path, reason: "not a sparse matrix") }
            try m.validate(path: path)
            var attrs = writer.encodingAttributes(m.format.encodingType)
            attrs["shape"] = .integers(m.shape)
            try await writer.createGroup(path, attributes: attrs)
            try await writer.writeArray(path + "/data", m.data, attributes: [:])
            try await writer.writeArray(path + "/indices", m.indices, attributes: [:])
            try await writer.writeArray(path + "/indptr", m.indptr, attributes: [:])
        })
    }

    /// Reads and validates the parts of a sparse group.
    static func read(_ reader: ElementReader, _ path: String, format: SparseMatrix.Format, shapeJSON: JSONValue?) async throws -> SparseMatrix {
        guard let list = shapeJSON?.array, list.count == 2, let r = list[0].int, let c = list[1].int, r >= 0, c >= 0 else {
            throw AnnDataError.invalidElement(path: path, reason: "attribute 'shape' must be a list of two non-negative integers")
        }
        let data: NDArray, indices: NDArray, indptr: NDArray
        if reader.store is any RemoteStore {
            // Remote: the three arrays at once, so that one's round trips overlap another's decoding.
            async let d = reader.readArray(path + "/data")
            async let i = reader.readArray(path + "/indices")
            async let p = reader.readArray(path + "/indptr")
            (data, indices, indptr) = (try await d, try await i, try await p)
        } else {
            // Local: one after another, each decoded on every core (three at once only compete
            // for the cores and fault in three fresh buffers together).
            data = try await reader.readArray(path + "/data")
            indices = try await reader.readArray(path + "/indices")
            indptr = try await reader.readArray(path + "/indptr")
        }
        let m = SparseMatrix(unchecked: format, shape: [r, c], data: data, indices: indices, indptr: indptr)
        try m.validate(path: path)
        return m
    }
}
