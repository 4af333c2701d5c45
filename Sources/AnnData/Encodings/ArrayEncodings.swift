import Zarr

/// `array` 0.2.0: a dense numeric or bool array of any rank.
enum ArrayEncoding {
    static let encoding = ElementEncoding("array", "0.2.0", read: { reader, path, _ in
        let a = try await reader.readArray(path)
        switch a.dataType {
        case .string: return .strings(a)
        case .structured: return .recArray(a)
        default: return .array(a)
        }
    }, write: { writer, path, element in
        guard case .array(let a) = element else { throw AnnDataError.invalidElement(path: path, reason: "not an array") }
        if a.dataType.isVariableLength {
            throw AnnDataError.invalidElement(path: path, reason: "an `array` element must be numeric or bool; use a string array")
        }
        let role: ArrayRole = path == "X" ? .x : .data
        try await writer.writeArray(path, a, attributes: writer.encodingAttributes("array"), role: a.shape.isEmpty ? .scalar : role)
    })
}

/// `string-array` 0.2.0: variable-length UTF-8 strings of any rank.
enum StringArrayEncoding {
    static let encoding = ElementEncoding("string-array", "0.2.0", read: { reader, path, _ in
        let a = try await reader.readArray(path)
        guard a.dataType == .string else {
            throw AnnDataError.invalidElement(path: path, reason: "a string-array holds \(a.dataType), not strings")
        }
        return .strings(a)
    }, write: { writer, path, element in
        guard case .strings(let a) = element else { throw AnnDataError.invalidElement(path: path, reason: "not a string array") }
        try await writer.writeArray(path, a, attributes: writer.encodingAttributes("string-array"), role: a.shape.isEmpty ? .scalar : .data)
    })
}

/// `rec-array` 0.2.0: a numpy structured array (written with v3's `structured` data type,
/// which zarr-python 3.1 and 3.4 both read).
enum RecArrayEncoding {
    static let encoding = ElementEncoding("rec-array", "0.2.0", read: { reader, path, _ in
        let a = try await reader.readArray(path)
        guard case .structured = a.dataType else {
            throw AnnDataError.invalidElement(path: path, reason: "a rec-array holds \(a.dataType), not records")
        }
        return .recArray(a)
    }, write: { writer, path, element in
        guard case .recArray(let a) = element, case .structured(let fields) = a.dataType else {
            throw AnnDataError.invalidElement(path: path, reason: "not a structured array")
        }
        if writer.format == .v3, fields.contains(where: { !$0.shape.isEmpty }) {
            throw AnnDataError.unsupported(path: path, reason: "rec-array fields with sub-array shapes are not readable by anndata 0.12 in Zarr v3")
        }
        try await writer.writeArray(path, a, attributes: writer.encodingAttributes("rec-array"), role: .recArray)
    })
}

/// `numeric-scalar` 0.2.0 and `string` 0.2.0: 0-d arrays.
enum ScalarEncodings {
    static let numeric = ElementEncoding("numeric-scalar", "0.2.0", read: { reader, path, _ in
        let a = try await reader.readArray(path)
        guard a.shape.isEmpty, !a.dataType.isVariableLength else {
            throw AnnDataError.invalidElement(path: path, reason: "a numeric-scalar must be a 0-d number, found \(a.dataType) of shape \(a.shape)")
        }
        return .scalar(a)
    }, write: { writer, path, element in
        guard case .scalar(let a) = element, a.shape.isEmpty else {
            throw AnnDataError.invalidElement(path: path, reason: "a numeric scalar must be 0-d")
        }
        try await writer.writeArray(path, a, attributes: writer.encodingAttributes("numeric-scalar"), role: .scalar)
    })

    static let string = ElementEncoding("string", "0.2.0", read: { reader, path, _ in
        let a = try await reader.readArray(path)
        guard a.shape.isEmpty, a.dataType == .string, let s = try a.strings().first else {
            throw AnnDataError.invalidElement(path: path, reason: "a string element must be a 0-d string, found \(a.dataType) of shape \(a.shape)")
        }
        return .string(s)
    }, write: { writer, path, element in
        guard case .string(let s) = element else { throw AnnDataError.invalidElement(path: path, reason: "not a string") }
        let a = try NDArray(strings: [s], shape: [])
        try await writer.writeArray(path, a, attributes: writer.encodingAttributes("string"), role: .scalar)
    })
}

/// `null` 0.1.0: Python `None`, a 0-d bool array without chunks.
enum NullEncoding {
    static let encoding = ElementEncoding("null", "0.1.0", read: { _, _, _ in .null }, write: { writer, path, _ in
        let a = NDArray(repeating: .zero(for: .bool), dataType: .bool, shape: [])
        try await writer.writeArray(path, a, attributes: writer.encodingAttributes("null"), role: .null)
    })
}
