import Zarr

/// `dataframe` 0.2.0 (read and written) and the legacy 0.1.0 (read only): a group with
/// `_index` (the child holding the row labels) and `column-order`.
enum DataFrameEncoding {
    static let encoding = ElementEncoding("dataframe", "0.2.0", read: { reader, path, node in
        .dataFrame(try await read(reader, path, node, legacy: false))
    }, write: { writer, path, element in
        guard case .dataFrame(let df) = element else { throw AnnDataError.invalidElement(path: path, reason: "not a data frame") }
        try df.validate(path: path)
        var attrs = writer.encodingAttributes("dataframe")
        attrs["_index"] = .string(df.indexKey)
        attrs["column-order"] = .array(df.columns.keys.map { .string($0) })
        try await writer.createGroup(path, attributes: attrs)
        try await writer.write(df.index.element, at: StoreKey.join(path, df.indexKey))
        for (name, column) in df.columns {
            try await writer.write(column.element, at: StoreKey.join(path, name))
        }
    })

    /// Legacy 0.1.0: categorical columns are code arrays whose `categories` attribute names the
    /// array of categories (usually under `__categories/`).
    static let legacy = ElementEncoding("dataframe", "0.1.0", read: { reader, path, node in
        .dataFrame(try await read(reader, path, node, legacy: true))
    })

    static func read(_ reader: ElementReader, _ path: String, _ node: NodeMetadata, legacy: Bool) async throws -> DataFrame {
        guard case .group = node else { throw AnnDataError.invalidElement(path: path, reason: "a data frame must be a group") }
        let attrs = node.attributes
        let indexKey = try reader.stringAttribute(attrs, "_index", path: path)
        guard let orderJSON = attrs["column-order"] else {
            throw AnnDataError.invalidElement(path: path, reason: "attribute 'column-order' is missing")
        }
        // anndata writes a list of strings, `[]` when there are no columns (h5ad's empty float
        // array becomes `[]` in JSON too). Anything else (a bare string, which anndata would
        // split into characters, a number, an object) is refused.
        guard let list = orderJSON.array else {
            throw AnnDataError.invalidElement(
                path: path, reason: "attribute 'column-order' must be a list of strings, not \(kind(of: orderJSON))")
        }
        var order: [String] = []
        for (i, v) in list.enumerated() {
            guard let s = v.string else {
                throw AnnDataError.invalidElement(
                    path: path, reason: "attribute 'column-order' must list strings; entry \(i) is \(kind(of: v))")
            }
            order.append(s)
        }
        guard Set(order).count == order.count else { throw AnnDataError.invalidElement(path: path, reason: "column-order has duplicates") }
        let indexPath = StoreKey.join(path, indexKey)
        guard let indexElement = try await column(reader, indexPath, legacy: legacy) else {
            throw AnnDataError.invalidElement(path: indexPath, reason: "the index of a data frame cannot be skipped by the read callback")
        }
        let index = try Column(indexElement, path: indexPath)
        guard index.stringValues != nil else {
            // anndata reads numeric indexes too; they are labels, kept as strings here.
            if case .array(let a) = index {
                let labels = try a.doubles().map { d in d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d) }
                return try await finish(reader, path, .strings(labels), indexKey, order, legacy)
            }
            throw AnnDataError.invalidElement(path: indexPath, reason: "the index must hold strings")
        }
        return try await finish(reader, path, index, indexKey, order, legacy)
    }

    /// What kind of JSON value `v` is, for messages.
    static func kind(of v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .uint, .double: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    static func finish(_ reader: ElementReader, _ path: String, _ index: Column, _ indexKey: String, _ order: [String], _ legacy: Bool) async throws -> DataFrame {
        var columns = OrderedDict<Column>()
        for name in order {
            let p = StoreKey.join(path, name)
            guard let element = try await column(reader, p, legacy: legacy) else { continue }  // skipped by the read callback
            let c = try Column(element, path: p)
            if c.count != index.count {
                throw AnnDataError.shapeMismatch(path: p, reason: "column has \(c.count) values but the index has \(index.count)")
            }
            columns[name] = c
        }
        return DataFrame(unchecked: index, indexName: indexKey == "_index" ? nil : indexKey, columns: columns)
    }

    /// Reads one column (`nil`: skipped by the read callback); in legacy frames a `categories`
    /// attribute turns codes into a categorical.
    static func column(_ reader: ElementReader, _ path: String, legacy: Bool) async throws -> Element? {
        let node = try await reader.node(path)
        if legacy || ElementReader.encodingKey(of: node).type.isEmpty {
            if case .array = node, let catRef = node.attributes["categories"]?.string {
                let parent = path.split(separator: "/").dropLast().joined(separator: "/")
                let catPath = catRef.hasPrefix("/") ? String(catRef.dropFirst()) : StoreKey.join(parent, catRef)
                let codes = try await reader.readArray(path)
                let categories = try await reader.readArray(catPath)
                let ordered = try await reader.node(catPath).attributes["ordered"]?.bool ?? false
                let c = Categorical(unchecked: codes, categories: categories, ordered: ordered)
                try c.validate(path: path)
                return .categorical(c)
            }
        }
        return try await reader.readIfIncluded(path)
    }
}
