import Zarr

/// `nullable-integer`, `nullable-boolean` and `nullable-string-array` 0.1.0: groups with
/// `values` and a bool `mask` (`true` = missing).
enum NullableEncodings {
    static let integer = ElementEncoding("nullable-integer", "0.1.0", read: { reader, path, node in
        let (values, mask) = try await parts(reader, path, node)
        guard values.dataType.isInteger else {
            throw AnnDataError.invalidElement(path: path + "/values", reason: "nullable-integer values have type \(values.dataType)")
        }
        return .nullableInteger(try NullableArray(values: values, mask: mask))
    }, write: { writer, path, element in
        guard case .nullableInteger(let n) = element else { throw AnnDataError.invalidElement(path: path, reason: "not a nullable integer array") }
        try await write(writer, path, type: "nullable-integer", values: .array(try zeroed(n.values, n.mask, path: path)), mask: n.mask, extra: [:])
    })

    static let boolean = ElementEncoding("nullable-boolean", "0.1.0", read: { reader, path, node in
        let (values, mask) = try await parts(reader, path, node)
        guard values.dataType == .bool else {
            throw AnnDataError.invalidElement(path: path + "/values", reason: "nullable-boolean values have type \(values.dataType)")
        }
        return .nullableBoolean(try NullableArray(values: values, mask: mask))
    }, write: { writer, path, element in
        guard case .nullableBoolean(let n) = element else { throw AnnDataError.invalidElement(path: path, reason: "not a nullable boolean array") }
        try await write(writer, path, type: "nullable-boolean", values: .array(try zeroed(n.values, n.mask, path: path)), mask: n.mask, extra: [:])
    })

    static let string = ElementEncoding("nullable-string-array", "0.1.0", read: { reader, path, node in
        let (values, mask) = try await parts(reader, path, node)
        guard values.dataType == .string else {
            throw AnnDataError.invalidElement(path: path + "/values", reason: "nullable-string-array values have type \(values.dataType)")
        }
        var na: String?
        if let v = node.attributes["na-value"] {
            guard let s = v.string, s == "NA" || s == "NaN" else {
                throw AnnDataError.invalidElement(path: path, reason: "attribute 'na-value' must be \"NA\" or \"NaN\", found \(v.serializedString())")
            }
            na = s
        }
        return .nullableStrings(try NullableStrings(values: try values.strings(), mask: mask, naValue: na))
    }, write: { writer, path, element in
        guard case .nullableStrings(let n) = element else { throw AnnDataError.invalidElement(path: path, reason: "not a nullable string array") }
        guard n.values.count == n.mask.count else {
            throw AnnDataError.shapeMismatch(path: path, reason: "\(n.values.count) values and a mask of \(n.mask.count)")
        }
        let values = zip(n.values, n.mask).map { $1 ? "" : $0 }
        var extra = JSONObject()
        extra["na-value"] = .string(n.naValue ?? "NA")
        try await write(writer, path, type: "nullable-string-array", values: .strings(values), mask: n.mask, extra: extra)
    })

    static func parts(_ reader: ElementReader, _ path: String, _ node: NodeMetadata) async throws -> (NDArray, [Bool]) {
        guard case .group = node else { throw AnnDataError.invalidElement(path: path, reason: "a nullable array must be a group") }
        let values = try await reader.readArray(path + "/values")
        let maskArray = try await reader.readArray(path + "/mask")
        guard maskArray.dataType == .bool, maskArray.shape.count == 1 else {
            throw AnnDataError.invalidElement(path: path + "/mask", reason: "mask must be a 1-D bool array, found \(maskArray.dataType) of shape \(maskArray.shape)")
        }
        guard values.shape == maskArray.shape else {
            throw AnnDataError.shapeMismatch(path: path, reason: "values of shape \(values.shape) and mask of shape \(maskArray.shape)")
        }
        return (values, try maskArray.values(as: Bool.self))
    }

    /// Values with masked positions set to zero / false, as anndata writes them; values and
    /// mask must be 1-D of the same length (the model's members are public and mutable).
    static func zeroed(_ values: NDArray, _ mask: [Bool], path: String) throws(AnnDataError) -> NDArray {
        guard values.shape == [mask.count] else {
            throw .shapeMismatch(path: path, reason: "values of shape \(values.shape) and a mask of \(mask.count)")
        }
        guard let size = values.dataType.itemSize, mask.contains(true) else { return values }
        var b = values.bytes
        for (i, m) in mask.enumerated() where m { for k in 0..<size { b[i * size + k] = 0 } }
        return (try? NDArray(dataType: values.dataType, shape: values.shape, storage: .fixed(b))) ?? values
    }

    static func write(_ writer: ElementWriter, _ path: String, type: String, values: Element, mask: [Bool], extra: JSONObject) async throws {
        var attrs = writer.encodingAttributes(type)
        attrs.merge(extra)
        try await writer.createGroup(path, attributes: attrs)
        try await writer.write(values, at: path + "/values")
        try await writer.write(.array(try NDArray(mask, shape: [mask.count])), at: path + "/mask")
    }
}

extension Element {
    /// A 1-D string array element; never fails for 1-D input.
    static func strings(_ values: [String], shape: [Int]) throws -> Element {
        .strings(try NDArray(strings: values, shape: shape))
    }
}
