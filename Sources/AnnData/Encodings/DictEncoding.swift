import Zarr

/// `dict` 0.1.0: a group whose children are elements (`uns`, `obsm`, nested mappings).
enum DictEncoding {
    static let encoding = ElementEncoding("dict", "0.1.0", read: { reader, path, node in
        guard case .group = node else { throw AnnDataError.invalidElement(path: path, reason: "a dict must be a group") }
        return .dict(try await readChildren(reader, path))
    }, write: { writer, path, element in
        guard case .dict(let d) = element else { throw AnnDataError.invalidElement(path: path, reason: "not a dict") }
        try await writer.createGroup(path, attributes: writer.encodingAttributes("dict"))
        for (k, v) in d {
            try checkKey(k, path: path)
            try await writer.write(v, at: StoreKey.join(path, k))
        }
    })

    /// Reads every child of the group at `path` as an element, in sorted order (those the read
    /// callback skips are left out).
    static func readChildren(_ reader: ElementReader, _ path: String) async throws -> OrderedDict<Element> {
        var out = OrderedDict<Element>()
        for name in try await reader.childNames(path) {
            if let element = try await reader.readIfIncluded(StoreKey.join(path, name)) { out[name] = element }
        }
        return out
    }

    /// Refuses keys that cannot be node names.
    static func checkKey(_ key: String, path: String) throws(AnnDataError) {
        if key.isEmpty || key.contains("/") || key == "." || key == ".." {
            throw .invalidElement(path: path, reason: "key '\(key)' cannot be stored (empty, '/', '.' or '..')")
        }
    }
}

/// `awkward-array` 0.1.0: attributes `form` (a JSON string) and `length`; one array per buffer.
enum AwkwardEncoding {
    static let encoding = ElementEncoding("awkward-array", "0.1.0", read: { reader, path, node in
        guard case .group = node else { throw AnnDataError.invalidElement(path: path, reason: "an awkward array must be a group") }
        guard let form = node.attributes["form"]?.string else {
            throw AnnDataError.invalidElement(path: path, reason: "attribute 'form' must be a string")
        }
        guard let length = node.attributes["length"]?.int, length >= 0 else {
            throw AnnDataError.invalidElement(path: path, reason: "attribute 'length' must be a non-negative integer")
        }
        var buffers = OrderedDict<NDArray>()
        for name in try await reader.childNames(path) {
            buffers[name] = try await reader.readArray(StoreKey.join(path, name))
        }
        return .awkward(AwkwardArray(form: form, length: length, buffers: buffers))
    }, write: { writer, path, element in
        guard case .awkward(let a) = element else { throw AnnDataError.invalidElement(path: path, reason: "not an awkward array") }
        var attrs = writer.encodingAttributes("awkward-array")
        attrs["length"] = .integer(a.length)
        attrs["form"] = .string(a.form)
        try await writer.createGroup(path, attributes: attrs)
        for (name, buffer) in a.buffers {
            try DictEncoding.checkKey(name, path: path)
            try await writer.write(buffer.dataType == .string ? .strings(buffer) : .array(buffer), at: StoreKey.join(path, name))
        }
    })
}
