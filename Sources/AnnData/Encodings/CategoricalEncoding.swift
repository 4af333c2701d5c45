import Zarr

/// `categorical` 0.2.0: a group with `ordered` (a JSON boolean), `codes` and `categories`.
enum CategoricalEncoding {
    static let encoding = ElementEncoding("categorical", "0.2.0", read: { reader, path, node in
        guard case .group = node else { throw AnnDataError.invalidElement(path: path, reason: "a categorical must be a group") }
        guard let ordered = node.attributes["ordered"]?.bool else {
            throw AnnDataError.invalidElement(path: path, reason: "attribute 'ordered' must be a JSON boolean, found \(node.attributes["ordered"]?.serializedString() ?? "nothing")")
        }
        let codes = try await reader.readArray(path + "/codes")
        let categories: NDArray
        switch try await reader.read(path + "/categories") {
        case .strings(let a), .array(let a): categories = a
        case .nullableStrings(let n): categories = try NDArray(strings: n.values, shape: [n.count])
        case let other:
            throw AnnDataError.invalidElement(path: path + "/categories", reason: "categories must be an array, found \(other.encodingType)")
        }
        let c = Categorical(unchecked: codes, categories: categories, ordered: ordered)
        try c.validate(path: path)
        return .categorical(c)
    }, write: { writer, path, element in
        guard case .categorical(let c) = element else { throw AnnDataError.invalidElement(path: path, reason: "not a categorical") }
        try c.validate(path: path)
        var attrs = writer.encodingAttributes("categorical")
        attrs["ordered"] = .bool(c.ordered)
        try await writer.createGroup(path, attributes: attrs)
        try await writer.write(.array(c.codes), at: path + "/codes")
        try await writer.write(c.categories.dataType == .string ? .strings(c.categories) : .array(c.categories), at: path + "/categories")
    })
}
