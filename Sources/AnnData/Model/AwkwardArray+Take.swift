import Zarr

extension AwkwardArray {
    /// The entries at `rows` (any order, repeats allowed), for the layouts anndata users
    /// store: `NumpyArray` and `ListOffsetArray` (lists of lists too) whose leaves are
    /// `NumpyArray`s. Lists come back packed (fresh offsets from 0, contents gathered), with the
    /// same form; any other layout is refused with a typed error.
    public func takingRows(_ rows: [Int], path: String = "") throws(AnnDataError) -> AwkwardArray {
        if let bad = rows.first(where: { $0 < 0 || $0 >= length }) {
            throw .invalidElement(path: path, reason: "row \(bad) is outside 0..<\(length)")
        }
        let form: JSONValue
        do { form = try JSONValue.parse(self.form) } catch { throw .invalidElement(path: path, reason: "attribute 'form' is not JSON: \(error)") }
        var out = buffers
        try Self.take(form, rows, buffers: &out, path: path)
        return AwkwardArray(form: self.form, length: rows.count, buffers: out)
    }

    /// Replaces the buffers of the node `form` (and below) by their entries at `rows`.
    static func take(_ form: JSONValue, _ rows: [Int], buffers: inout OrderedDict<NDArray>, path: String) throws(AnnDataError) {
        func unsupported(_ why: String) -> AnnDataError {
            .unsupported(path: path, reason: "selecting rows of this awkward array is not supported (\(why))")
        }
        guard let node = form.object, let cls = node["class"]?.string, let key = node["form_key"]?.string else {
            throw unsupported("a form node without class or form_key")
        }
        switch cls {
        case "NumpyArray":
            guard let data = buffers[key + "-data"] else { throw .invalidElement(path: path, reason: "buffer '\(key)-data' is missing") }
            let inner = (node["inner_shape"]?.array ?? []).compactMap(\.int).reduce(1, *)
            // Buffers are flat: each entry is `inner` consecutive values.
            let flat = inner == 1 ? rows : rows.flatMap { r in (r * inner)..<((r + 1) * inner) }
            buffers[key + "-data"] = try annotatingSync(path) { try data.taking(flat) }
        case "ListOffsetArray":
            guard let content = node["content"], let offsetsArray = buffers[key + "-offsets"] else {
                throw .invalidElement(path: path, reason: "buffer '\(key)-offsets' or the content form is missing")
            }
            let offsets = IntegerView.ints(offsetsArray)
            var newOffsets = [0], inner: [Int] = []
            newOffsets.reserveCapacity(rows.count + 1)
            for r in rows {
                guard r + 1 < offsets.count, offsets[r] <= offsets[r + 1], offsets[r] >= 0 else {
                    throw .invalidElement(path: path, reason: "offsets of entry \(r) are not monotone")
                }
                inner.append(contentsOf: offsets[r]..<offsets[r + 1])
                newOffsets.append(newOffsets[newOffsets.count - 1] + offsets[r + 1] - offsets[r])
            }
            buffers[key + "-offsets"] = try annotatingSync(path) { try IntegerView.array(newOffsets, like: offsetsArray.dataType) }
            try take(content, inner, buffers: &buffers, path: path)
        default:
            throw unsupported("layout \(cls)")
        }
    }
}
