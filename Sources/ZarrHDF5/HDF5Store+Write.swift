import CHDF5
import Zarr

/// Writing: Zarr v2 keys become HDF5 objects.
///
/// - `<group>/.zgroup` creates the group (and missing ancestors).
/// - `<array>/.zarray` creates a chunked dataset with the array's chunk shape, resizable on
///   every axis (`maxshape` unlimited, as anndata makes its sparse arrays), little-endian,
///   with the HDF5 filters of the array's v2 codecs: `shuffle` filters, then a `zlib`
///   (deflate) or `lzf` compressor; no other codec has an HDF5 filter that h5py reads, so any
///   other is refused. Setting `.zarray` again with only the shape changed resizes the dataset.
///   0-d arrays are scalar datasets (not chunked, no filters).
/// - `<node>/.zattrs` replaces the object's attributes (see `HDF5Attributes`); attributes set
///   before their object exists are applied when it is created.
/// - A chunk key writes one chunk: numbers with `H5Dwrite_chunk`, exactly the bytes the Zarr
///   codecs encoded (the HDF5 filters undo them on read); strings, compound types and scalars
///   are decoded with the array's codecs and written with `H5Dwrite` over the chunk's region.
/// - Deleting a chunk key writes fill values over the chunk if it was stored; deleting a
///   prefix removes the objects under it.
///
/// Consolidated metadata (`.zmetadata`) and v3 documents are refused: HDF5 lists its objects.
extension HDF5Store {
    func checkWritable(_ key: String) throws(ZarrError) {
        try checkOpen()
        guard isWritable else { throw .unsupportedOperation("the HDF5 file \(path) was opened read-only (writing '\(key)')") }
    }

    /// Stores `value` at `key` (see the extension's documentation for what each key does).
    public func set(_ key: String, _ value: [UInt8]) async throws {
        try checkWritable(key)
        let (object, leaf) = try Self.split(key)
        switch leaf {
        case ".zgroup":
            try await createGroup(object, key: key)
        case ".zattrs":
            guard let attrs = try Self.parse(value, key: key).object else {
                throw ZarrError.invalidMetadata(path: key, reason: ".zattrs is not an object")
            }
            if try await kind(of: object) == nil {
                state.withLock { $0.pendingAttributes[object] = attrs }
                return
            }
            try await replaceAttributes(attrs, of: object, key: key)
        case ".zarray":
            let attrs = state.withLock { $0.pendingAttributes[object] } ?? [:]
            let metadata = try ArrayMetadata.parseV2(try Self.parse(value, key: key), attributes: attrs, path: object)
            try await createOrResizeDataset(object, metadata: metadata, key: key)
        case "zarr.json", ".zmetadata":
            throw ZarrError.unsupportedOperation("an HDF5 file holds Zarr v2 nodes without consolidated metadata; '\(key)' cannot be written")
        default:
            try await writeChunk(object: object, leaf: leaf, value: value, key: key)
        }
    }

    /// Removes the value at `key`: a stored chunk is overwritten with fill values, a metadata
    /// document removes its object (attributes: all of them).
    public func delete(_ key: String) async throws {
        try checkWritable(key)
        let (object, leaf) = try Self.split(key)
        switch leaf {
        case ".zgroup", ".zarray":
            try await deleteObject(object, key: key)
        case ".zattrs":
            guard try await kind(of: object) != nil else { return }
            try await replaceAttributes([:], of: object, key: key)
        case "zarr.json", ".zmetadata":
            return
        default:
            guard try await kind(of: object) == .dataset else { return }
            let info = try await datasetInfo(object)
            guard let coords = Self.chunkCoordinates(leaf, metadata: info.metadata) else { return }
            guard try await get(key) != nil else { return }
            let fill = try NDArray(filling: info.metadata.fillValue, dataType: info.metadata.dataType, shape: info.metadata.chunkShape)
            try await writeRegion(object: object, coords: coords, values: fill, info: info, key: key)
        }
    }

    /// Removes every object under `prefix` (`""`: everything, and the root's attributes).
    public func deletePrefix(_ prefix: String) async throws {
        try checkWritable(prefix)
        if prefix.isEmpty {
            for child in try await children(of: "") { try await deleteObject(child, key: child) }
            try await delete(".zattrs")
            return
        }
        let object = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        _ = try Self.split(object + "/.zattrs")
        try await deleteObject(object, key: prefix)
    }

    static func parse(_ bytes: [UInt8], key: String) throws(ZarrError) -> JSONValue {
        do { return try JSONValue.parse(bytes) } catch {
            throw .invalidMetadata(path: key, reason: "not JSON: \(error)")
        }
    }

    private func forget(_ object: String) {
        state.withLock { s in
            let prefix = object + "/"
            for k in s.kinds.keys where k == object || k.hasPrefix(prefix) { s.kinds[k] = nil }
            for k in s.datasets.keys where k == object || k.hasPrefix(prefix) { s.datasets[k] = nil }
        }
    }

    private func deleteObject(_ object: String, key: String) async throws {
        guard !object.isEmpty, try await kind(of: object) != nil else { return }
        let file = self.file
        try await HDF5Library.run { () throws in
            // Close the ids this store holds under it first.
            let prefix = object + "/"
            let open = self.state.withLock { s in
                let ids = s.openDatasets.filter { $0.key == object || $0.key.hasPrefix(prefix) }
                for k in ids.keys { s.openDatasets[k] = nil }
                return Array(ids.values)
            }
            for d in open { H5Dclose(d) }
            try HDF5Library.check(H5Ldelete(file, Self.hdf5Name(object), swh5_default()), "deleting", key)
        }
        forget(object)
    }

    private func createGroup(_ object: String, key: String) async throws {
        switch try await kind(of: object) {
        case .group?: break
        case .dataset?: throw ZarrError.nodeKindMismatch(path: object, expected: "a group (an HDF5 dataset is there)")
        case nil:
            let file = self.file
            try await HDF5Library.run { () throws in
                let lcpl = try HDF5Library.check(H5Pcreate(swh5_link_create()), "making link properties", key)
                defer { H5Pclose(lcpl) }
                H5Pset_create_intermediate_group(lcpl, 1)
                let g = try HDF5Library.check(H5Gcreate2(file, Self.hdf5Name(object), lcpl, swh5_default(), swh5_default()), "creating the group", key)
                H5Gclose(g)
            }
            forget(object)
            try await createdAncestors(of: object, key: key)
        }
        try await applyPendingAttributes(object, key: key)
    }

    /// After an object was created with its missing ancestors (intermediate groups): forgets
    /// what was cached about them ("nothing there") and applies attributes set before they
    /// existed.
    private func createdAncestors(of object: String, key: String) async throws {
        let parts = object.split(separator: "/")
        let ancestors = (0..<max(0, parts.count - 1)).map { parts[...$0].joined(separator: "/") }
        state.withLock { s in for a in ancestors { s.kinds[a] = nil } }
        for a in ancestors { try await applyPendingAttributes(a, key: a + "/.zattrs") }
    }

    private func applyPendingAttributes(_ object: String, key: String) async throws {
        guard let attrs = state.withLock({ $0.pendingAttributes.removeValue(forKey: object) }) else { return }
        try await replaceAttributes(attrs, of: object, key: key)
    }

    /// Replaces every attribute of the object at `object` by `attrs` (on the executor).
    private func replaceAttributes(_ attrs: JSONObject, of object: String, key: String) async throws {
        let file = self.file
        try await HDF5Library.run { () throws in
            let o = H5Oopen(file, Self.hdf5Name(object), swh5_default())
            guard o >= 0 else { throw HDF5Library.failure("opening", key) }
            defer { H5Oclose(o) }
            try HDF5Attributes.write(attrs, to: o, key: key)
        }
    }

    /// The HDF5 filters for an array's v2 codecs, or a typed refusal.
    static func filters(for m: ArrayMetadata, key: String) throws(ZarrError) -> [PipelineFilter] {
        var out: [PipelineFilter] = []
        if case .array(let list) = m.v2.filters {
            for f in list {
                switch f["id"]?.string {
                case "vlen-utf8"?: continue
                case "shuffle"?:
                    let n = f["elementsize"]?.int ?? m.dataType.itemSize ?? 1
                    out.append(.shuffle(elementSize: Int(n)))
                case let id:
                    throw .unsupportedCodec("'\(id ?? "?")' in '\(key)': an HDF5 file takes shuffle, zlib (gzip) or lzf")
                }
            }
        }
        switch m.v2.compressor {
        case .null: break
        case let c:
            switch c["id"]?.string {
            case "zlib"?: out.append(.deflate(level: Int(c["level"]?.int ?? 4)))
            case "lzf"?: out.append(.lzf)
            case let id:
                throw .unsupportedCodec("'\(id ?? "?")' in '\(key)': an HDF5 file takes shuffle, zlib (gzip) or lzf")
            }
        }
        return out
    }

    private func createOrResizeDataset(_ object: String, metadata m: ArrayMetadata, key: String) async throws {
        guard m.v2.order == "C", !m.v2.bigEndian || m.dataType.swapUnit <= 1 else {
            throw ZarrError.unsupportedOperation("'\(key)': an HDF5 file is written in C order, little-endian")
        }
        let filters = try Self.filters(for: m, key: key)
        let element: HDF5ElementType
        switch m.dataType {
        case .string: element = HDF5ElementType(dataType: .string, bigEndian: false, strings: .variable, rawBytesMatch: false)
        case .bytes, .fixedUTF32, .raw:
            throw ZarrError.unsupportedDataType("\(m.dataType) in an HDF5 file ('\(key)')")
        case .structured, .complex64, .complex128, .fixedBytes:
            element = HDF5ElementType(dataType: m.dataType, bigEndian: false, strings: nil, rawBytesMatch: false)
        default:
            element = HDF5ElementType(dataType: m.dataType, bigEndian: false, strings: nil, rawBytesMatch: true)
        }
        let access: DatasetInfo.Access = element.rawBytesMatch && !m.shape.isEmpty ? .rawChunks(filters: filters) : .library
        let info = DatasetInfo(element: element, access: access, metadata: m)

        switch try await kind(of: object) {
        case .group?:
            throw ZarrError.nodeKindMismatch(path: object, expected: "an array (an HDF5 group is there)")
        case .dataset?:
            let old = try await datasetInfo(object)
            var same = old.metadata
            same.shape = m.shape
            guard same.dataType == m.dataType, same.chunkShape == m.chunkShape, old.filters == info.filters || old.element.strings != nil else {
                throw ZarrError.unsupportedOperation("'\(key)': an existing HDF5 dataset can change its shape only (delete it first)")
            }
            if old.metadata.shape != m.shape {
                try await HDF5Library.run { () throws in
                    let d = try self.datasetID(object)
                    var dims = m.shape.map { hsize_t($0) }
                    try HDF5Library.check(H5Dset_extent(d, &dims), "resizing", key)
                }
            }
            state.withLock { $0.datasets[object] = info }
        case nil:
            let file = self.file
            try await HDF5Library.run { () throws in
                let type: hid_t
                if element.strings != nil {
                    type = try HDF5ElementType.variableStringType(key: key)
                } else if HDF5Compound.hasStringFields(m.dataType), case .structured(let fields) = m.dataType {
                    type = try HDF5Compound.withVariableStrings(fields, key: key).type
                } else {
                    type = try HDF5ElementType.memoryType(for: m.dataType, key: key)
                }
                defer { H5Tclose(type) }
                let space: hid_t
                if m.shape.isEmpty {
                    space = H5Screate(H5S_SCALAR)
                } else {
                    var dims = m.shape.map { hsize_t($0) }
                    var maxDims = [hsize_t](repeating: swh5_unlimited(), count: m.shape.count)
                    space = H5Screate_simple(Int32(m.shape.count), &dims, &maxDims)
                }
                try HDF5Library.check(space, "creating the dataspace", key)
                defer { H5Sclose(space) }
                let dcpl = try HDF5Library.check(H5Pcreate(swh5_dataset_create()), "making creation properties", key)
                defer { H5Pclose(dcpl) }
                if !m.shape.isEmpty {
                    var chunk = m.chunkShape.map { hsize_t($0) }
                    try HDF5Library.check(H5Pset_chunk(dcpl, Int32(chunk.count), &chunk), "setting the chunk shape", key)
                    // A chunk equal to the fill value is not written (deleted): HDF5 must read
                    // it as the array's fill value, not as zeros.
                    if element.rawBytesMatch, case .fixed(var fill) = m.fillValue, fill.contains(where: { $0 != 0 }) {
                        try HDF5Library.check(H5Pset_fill_value(dcpl, type, &fill), "setting the fill value", key)
                    }
                    for f in filters {
                        switch f {
                        case .shuffle: try HDF5Library.check(H5Pset_shuffle(dcpl), "adding the shuffle filter", key)
                        case .deflate(let level): try HDF5Library.check(H5Pset_deflate(dcpl, UInt32(max(0, min(9, level)))), "adding the deflate filter", key)
                        case .lzf:
                            try HDF5Library.check(H5Pset_filter(dcpl, LZFFilter.id, UInt32(H5Z_FLAG_OPTIONAL), 0, nil), "adding the LZF filter", key)
                        }
                    }
                }
                let lcpl = try HDF5Library.check(H5Pcreate(swh5_link_create()), "making link properties", key)
                defer { H5Pclose(lcpl) }
                H5Pset_create_intermediate_group(lcpl, 1)
                let d = try HDF5Library.check(H5Dcreate2(file, Self.hdf5Name(object), type, space, lcpl, dcpl, swh5_default()), "creating the dataset", key)
                self.state.withLock { $0.openDatasets[object] = d }
            }
            state.withLock { s in
                s.datasets[object] = info
                s.kinds[object] = .some(.dataset)
            }
            try await createdAncestors(of: object, key: key)
            try await applyPendingAttributes(object, key: key)
        }
    }

    private func writeChunk(object: String, leaf: String, value: [UInt8], key: String) async throws {
        guard try await kind(of: object) == .dataset else {
            throw ZarrError.nodeNotFound(path: object)
        }
        let info = try await datasetInfo(object)
        guard let coords = Self.chunkCoordinates(leaf, metadata: info.metadata) else {
            throw ZarrError.invalidKey(key, reason: "not a chunk of the array \(object) (shape \(info.metadata.shape), chunks \(info.metadata.chunkShape))")
        }
        if case .rawChunks = info.access {
            let origin = zip(coords, info.metadata.chunkShape).map { $0 * $1 }
            try await HDF5Library.run { () throws in
                let d = try self.datasetID(object)
                var offsets = origin.map { hsize_t($0) }
                let status = value.withUnsafeBytes { H5Dwrite_chunk(d, swh5_default(), 0, &offsets, $0.count, $0.baseAddress) }
                try HDF5Library.check(status, "writing the chunk", key)
            }
            return
        }
        // Decode with the array's codecs, then write the chunk's region.
        let values = try info.metadata.makeChain().decode(value)
        try await writeRegion(object: object, coords: coords, values: values, info: info, key: key)
    }

    /// Writes a decoded chunk over its region (the part inside the array).
    func writeRegion(object: String, coords: [Int], values: NDArray, info: DatasetInfo, key: String) async throws {
        let m = info.metadata, element = info.element
        let chunk = m.chunkShape
        let origin = zip(coords, chunk).map { $0 * $1 }
        let count = zip(origin, zip(m.shape, chunk)).map { o, sc in min(sc.1, sc.0 - o) }
        try await HDF5Library.run { () throws in
            let d = try self.datasetID(object)
            let selection = try ChunkSelection(d, origin: origin, count: count, chunk: chunk, key: key)
            defer { selection.close() }
            let fileSpace = selection.file, memSpace = selection.memory
            if element.strings != nil {
                guard case .variable(let items) = values.storage else {
                    throw ZarrError.valueMismatch("'\(key)': a string chunk decoded to fixed-size values")
                }
                // HDF5 strings are C strings: a NUL would cut the value short without a word.
                if let i = items.firstIndex(where: { $0.contains(0) }) {
                    throw ZarrError.valueMismatch("'\(key)': string \(i) of the chunk contains a NUL character, which an HDF5 string cannot hold")
                }
                let type = try HDF5ElementType.variableStringType(key: key)
                defer { H5Tclose(type) }
                var storage = items.map { bytes -> [CChar] in bytes.map { CChar(bitPattern: $0) } + [0] }
                var pointers: [UnsafePointer<CChar>?] = []
                pointers.reserveCapacity(storage.count)
                let status = storage.withUnsafeMutableBufferPointer { all -> herr_t in
                    for i in all.indices { all[i].withUnsafeBufferPointer { pointers.append($0.baseAddress) } }
                    return H5Dwrite(d, type, memSpace, fileSpace, swh5_default(), pointers)
                }
                try HDF5Library.check(status, "writing", key)
                return
            }
            if HDF5Compound.hasStringFields(m.dataType), case .structured(let fields) = m.dataType {
                try HDF5Compound.withVariableStringBuffer(values.bytes, fields: fields, count: chunk.reduce(1, *), key: key) { mem, buffer in
                    H5Dwrite(d, mem, memSpace, fileSpace, swh5_default(), buffer)
                }
                return
            }
            let type = try HDF5ElementType.memoryType(for: m.dataType, key: key)
            defer { H5Tclose(type) }
            let bytes = values.bytes
            let status = bytes.withUnsafeBytes { H5Dwrite(d, type, memSpace, fileSpace, swh5_default(), $0.baseAddress) }
            try HDF5Library.check(status, "writing", key)
        }
    }
}
