#if canImport(Glibc)
import Glibc
#endif
import CHDF5
import Zarr

/// One filter of a dataset's pipeline that the Zarr codecs can undo.
enum PipelineFilter: Sendable, Hashable {
    /// HDF5's byte shuffle (numcodecs `shuffle`).
    case shuffle(elementSize: Int)
    /// HDF5's deflate: a zlib stream (numcodecs `zlib`).
    case deflate(level: Int)
    /// h5py's LZF (`lzf`).
    case lzf

    /// The v2 codec object of this filter.
    var v2JSON: JSONValue {
        switch self {
        case .shuffle(let n): return ["id": "shuffle", "elementsize": .int(Int64(n))]
        case .deflate(let level): return ["id": "zlib", "level": .int(Int64(level))]
        case .lzf: return ["id": "lzf"]
        }
    }
}

/// What the store knows about one dataset: how it is presented and how its chunks are read.
struct DatasetInfo: Sendable {
    /// How chunk bytes are obtained.
    enum Access: Sendable {
        /// A chunked dataset whose filters the codecs undo: each chunk located by the library and
        /// read raw (`pread`, or `H5Dread_chunk` in a writable store).
        case rawChunks(filters: [PipelineFilter])
        /// A contiguous dataset at a file offset (`nil`: never written, all fill), cut into
        /// virtual chunks of whole rows.
        case contiguous(offset: UInt64?)
        /// Read through the library (`H5Dread` of each chunk's region).
        case library
        /// An empty dataspace (`h5py.Empty`): no values at all.
        case empty
        /// Read whole when described (rec-arrays with string fields): the one chunk's bytes.
        case materialized([UInt8])
    }

    /// The element type.
    var element: HDF5ElementType
    /// How chunks are read.
    var access: Access
    /// The presented v2 metadata (shape, chunks, dtype, filters, compressor).
    var metadata: ArrayMetadata
    /// The raw filter pipeline when the access is `.rawChunks`.
    var filters: [PipelineFilter] {
        if case .rawChunks(let f) = access { return f }
        return []
    }
}

extension HDF5Store {
    /// The description of the dataset at `object` (cached).
    func datasetInfo(_ object: String) async throws -> DatasetInfo {
        if let cached = state.withLock({ $0.datasets[object] }) { return cached }
        let writable = isWritable
        let info = try await HDF5Library.run { () throws(ZarrError) -> DatasetInfo in
            try self.describe(object, writable: writable)
        }
        state.withLock { $0.datasets[object] = info }
        return info
    }

    /// Reads a dataset's type, shape, layout and filters (on the executor).
    func describe(_ object: String, writable: Bool) throws(ZarrError) -> DatasetInfo {
        let d = try datasetID(object)
        let type = try HDF5Library.check(H5Dget_type(d), "reading the type", object)
        defer { H5Tclose(type) }
        let element = try HDF5ElementType.describe(type, key: object)
        let space = try HDF5Library.check(H5Dget_space(d), "reading the shape", object)
        defer { H5Sclose(space) }
        let dcpl = try HDF5Library.check(H5Dget_create_plist(d), "reading the creation properties", object)
        defer { H5Pclose(dcpl) }

        var shape: [Int] = []
        let isNull = H5Sget_simple_extent_type(space) == H5S_NULL
        if !isNull {
            let rank = Int(H5Sget_simple_extent_ndims(space))
            guard rank >= 0 && rank <= 32 else { throw HDF5Library.failure("reading the rank", object) }
            var dims = [hsize_t](repeating: 0, count: max(rank, 1))
            if rank > 0 { H5Sget_simple_extent_dims(space, &dims, nil) }
            shape = dims.prefix(rank).map { Int(clamping: $0) }
            // The sizes below multiply the extents (the empty ones counted as 1): a shape from
            // the file whose bytes overflow 64 bits is refused here, before any of them.
            guard Self.checkedBytes(shape, itemSize: element.dataType.itemSize ?? 16) != nil else {
                throw ZarrError.invalidMetadata(path: object, reason: "the dataset's shape \(shape) holds more bytes than 64 bits can count")
            }
        }
        if element.variableStringFields, !isNull, case .structured(let fields) = element.dataType {
            let (presented, bytes) = try HDF5Compound.materialize(d, fields: fields, count: shape.reduce(1, *), key: object)
            var e = element
            e.dataType = presented
            let chunk = shape.map { max($0, 1) }
            var padded = bytes
            let full = chunk.reduce(1, *) * (presented.itemSize ?? 0)
            if padded.count < full { padded += [UInt8](repeating: 0, count: full - padded.count) }
            let m = ArrayMetadata(shape: shape, chunkShape: chunk, dataType: presented, zarrFormat: .v2, v2: V2ArrayOptions())
            return DatasetInfo(element: e, access: .materialized(padded), metadata: m)
        }
        let itemSize = element.dataType.itemSize ?? 16
        var chunkShape = shape.map { max($0, 1) }
        var access = DatasetInfo.Access.library
        let layout = H5Pget_layout(dcpl)
        if isNull {
            access = .empty
        } else if layout == H5D_CHUNKED, !shape.isEmpty {
            var dims = [hsize_t](repeating: 0, count: shape.count)
            guard H5Pget_chunk(dcpl, Int32(shape.count), &dims) == Int32(shape.count) else {
                throw HDF5Library.failure("reading the chunk shape", object)
            }
            chunkShape = dims.map { max(Int(clamping: $0), 1) }
            guard Self.checkedBytes(chunkShape, itemSize: itemSize) != nil else {
                throw ZarrError.invalidMetadata(path: object, reason: "the dataset's chunk shape \(chunkShape) holds more bytes than 64 bits can count")
            }
            if element.rawBytesMatch, let filters = try Self.mappableFilters(dcpl, itemSize: itemSize, key: object) {
                access = .rawChunks(filters: filters)
            }
        } else if layout == H5D_CONTIGUOUS && !writable {
            // Whole rows of about contiguousChunkBytes.
            if let first = shape.first {
                let rowElements = shape.dropFirst().reduce(1) { $0 * max($1, 1) }
                let rows = max(1, min(first, Self.contiguousChunkBytes / max(1, rowElements * itemSize)))
                chunkShape = [rows] + shape.dropFirst().map { max($0, 1) }
            }
            if element.rawBytesMatch {
                let offset = H5Dget_offset(d)
                access = .contiguous(offset: offset == swh5_haddr_undef() ? nil : UInt64(offset))
            }
        } else if !shape.isEmpty, let first = shape.first {
            let rowElements = shape.dropFirst().reduce(1) { $0 * max($1, 1) }
            let rows = max(1, min(first, Self.contiguousChunkBytes / max(1, rowElements * itemSize)))
            chunkShape = [rows] + shape.dropFirst().map { max($0, 1) }
        }
        if element.dataType == .string, case .library = access, let first = shape.first {
            // Strings: about 64 Ki of them per virtual chunk (unless the file's chunks are used).
            if layout != H5D_CHUNKED {
                let rowElements = shape.dropFirst().reduce(1) { $0 * max($1, 1) }
                chunkShape = [max(1, min(first, 65536 / max(1, rowElements)))] + shape.dropFirst().map { max($0, 1) }
            }
        }

        var v2 = V2ArrayOptions(bigEndian: element.bigEndian)
        if element.dataType == .string {
            v2.filters = [["id": "vlen-utf8"]]
        } else if case .rawChunks(let filters) = access, !filters.isEmpty {
            var list = filters
            if let last = list.last, last != .shuffle(elementSize: itemSize) || list.count > 1 {
                switch last {
                case .deflate, .lzf:
                    v2.compressor = last.v2JSON
                    list.removeLast()
                case .shuffle: break
                }
            }
            v2.filters = list.isEmpty ? .null : .array(list.map(\.v2JSON))
        }
        if !(element.rawBytesMatch) { v2.bigEndian = false }
        let metadata = ArrayMetadata(
            shape: shape, chunkShape: shape.isEmpty ? [] : chunkShape, dataType: element.dataType,
            fillValue: Self.fillValue(dcpl, element: element, key: object), zarrFormat: .v2, v2: v2)
        return DatasetInfo(element: element, access: access, metadata: metadata)
    }

    /// The bytes of `shape` (empty extents counted as 1) of `itemSize`-byte elements, or `nil`
    /// when the product overflows `Int`.
    static func checkedBytes(_ shape: [Int], itemSize: Int) -> Int? {
        var total = max(itemSize, 1)
        for n in shape {
            let (p, o) = total.multipliedReportingOverflow(by: max(n, 1))
            if o { return nil }
            total = p
        }
        return total
    }

    /// The dataset's fill value when the file sets one (h5py's `fillvalue=`) and the elements are
    /// numbers or booleans: what unwritten chunks read as. `nil` (zeros) otherwise.
    static func fillValue(_ dcpl: hid_t, element: HDF5ElementType, key: String) -> FillValue? {
        guard element.strings == nil, !element.variableStringFields, let size = element.dataType.itemSize, size > 0 else { return nil }
        switch element.dataType {
        case .bool, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .float16, .float32, .float64: break
        default: return nil
        }
        var defined = H5D_FILL_VALUE_UNDEFINED
        guard H5Pfill_value_defined(dcpl, &defined) >= 0, defined == H5D_FILL_VALUE_USER_DEFINED else {
            HDF5Library.clearErrors()
            return nil
        }
        guard let memory = try? HDF5ElementType.memoryType(for: element.dataType, key: key) else { return nil }
        defer { H5Tclose(memory) }
        var bytes = [UInt8](repeating: 0, count: size)
        guard H5Pget_fill_value(dcpl, memory, &bytes) >= 0 else {
            HDF5Library.clearErrors()
            return nil
        }
        return .fixed(bytes)
    }

    /// The pipeline's filters when every one is shuffle, deflate or LZF, in an order a v2 chain
    /// expresses (shuffles first, at most one compressor last); `nil` otherwise.
    static func mappableFilters(_ dcpl: hid_t, itemSize: Int, key: String) throws(ZarrError) -> [PipelineFilter]? {
        let n = H5Pget_nfilters(dcpl)
        guard n >= 0 else { throw HDF5Library.failure("reading the filters", key) }
        var out: [PipelineFilter] = []
        for i in 0..<UInt32(n) {
            var flags: UInt32 = 0
            var count = 8
            var values = [UInt32](repeating: 0, count: 8)
            var name = [CChar](repeating: 0, count: 64)
            var config: UInt32 = 0
            let id = H5Pget_filter2(dcpl, i, &flags, &count, &values, name.count, &name, &config)
            switch id {
            case H5Z_FILTER_SHUFFLE:
                out.append(.shuffle(elementSize: count > 0 && values[0] > 0 ? Int(values[0]) : itemSize))
            case H5Z_FILTER_DEFLATE:
                out.append(.deflate(level: count > 0 ? Int(values[0]) : 4))
            case LZFFilter.id:
                out.append(.lzf)
            default:
                return nil
            }
        }
        // A v2 chain: filters, then one compressor. Shuffles must come before any compressor.
        if let firstCompressor = out.firstIndex(where: { if case .shuffle = $0 { return false } else { return true } }),
           firstCompressor != out.count - 1 {
            return nil
        }
        return out
    }

    /// Parses a v2 chunk key (`"3.0"`, `"0"` for a 0-d array) against the dataset's grid;
    /// `nil` when it is not a chunk of the dataset.
    static func chunkCoordinates(_ leaf: String, metadata: ArrayMetadata) -> [Int]? {
        let grid = metadata.grid
        if metadata.shape.isEmpty { return leaf == "0" ? [] : nil }
        let parts = leaf.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == metadata.shape.count else { return nil }
        var coords: [Int] = []
        for (d, p) in parts.enumerated() {
            guard !p.isEmpty, p.allSatisfy(\.isASCII), p.allSatisfy(\.isNumber), let c = Int(p), c < grid.gridShape[d] else { return nil }
            coords.append(c)
        }
        return coords
    }

    /// The encoded bytes of one chunk, or `nil` when it was never written (fill).
    func readChunk(object: String, leaf: String, key: String) async throws -> [UInt8]? {
        let info = try await datasetInfo(object)
        let m = info.metadata
        guard let coords = Self.chunkCoordinates(leaf, metadata: m) else { return nil }
        let origin = zip(coords, m.chunkShape).map { $0 * $1 }
        switch info.access {
        case .empty:
            return nil
        case .materialized(let bytes):
            return bytes
        case .rawChunks(let filters):
            return try await readRawChunk(object: object, origin: origin, filters: filters, info: info, key: key)
        case .contiguous(let offset):
            guard let offset else { return nil }
            return try await readContiguous(offset: offset, origin: origin, metadata: m, key: key)
        case .library:
            return try await readThroughLibrary(object: object, origin: origin, info: info, key: key)
        }
    }

    private func readRawChunk(object: String, origin: [Int], filters: [PipelineFilter], info: DatasetInfo, key: String) async throws -> [UInt8]? {
        if !isWritable, let table = try await chunkTable(object, metadata: info.metadata) {
            let m = info.metadata
            var linear = 0
            for (d, o) in origin.enumerated() { linear = linear * m.grid.gridShape[d] + o / m.chunkShape[d] }
            let entry = table.entries[linear]
            guard entry.size > 0 else { return nil }
            var bytes = try await pread(offset: entry.address, count: Int(entry.size), key: key)
            if entry.mask != 0 {
                bytes = try Self.reapplySkippedFilters(bytes, mask: entry.mask, filters: filters, spec: m.chunkSpec, key: key)
            }
            return bytes
        }
        let writable = isWritable
        let located = try await HDF5Library.run { () throws(ZarrError) -> (mask: UInt32, address: UInt64, size: Int, bytes: [UInt8]?)? in
            let d = try self.datasetID(object)
            var offsets = origin.map { hsize_t($0) }
            var mask: UInt32 = 0
            var address: haddr_t = 0
            var size: hsize_t = 0
            try HDF5Library.check(H5Dget_chunk_info_by_coord(d, &offsets, &mask, &address, &size), "locating the chunk", key)
            if address == swh5_haddr_undef() || size == 0 { return nil }
            guard size <= UInt64(UInt32.max) else { throw .corruptChunk(key: key, reason: "the file gives it \(size) bytes, more than HDF5 allows") }
            if writable {
                // A file being written: read through the library, which may hold the chunk in its cache.
                var bytes = [UInt8](repeating: 0, count: Int(size))
                var readMask: UInt32 = 0
                try HDF5Library.check(H5Dread_chunk(d, swh5_default(), &offsets, &readMask, &bytes), "reading the chunk", key)
                return (readMask, UInt64(address), Int(size), bytes)
            }
            return (mask, UInt64(address), Int(size), nil)
        }
        guard let located else { return nil }
        var bytes: [UInt8]
        if let b = located.bytes {
            bytes = b
        } else {
            bytes = try await pread(offset: located.address, count: located.size, key: key)
        }
        if located.mask != 0 {
            bytes = try Self.reapplySkippedFilters(bytes, mask: located.mask, filters: filters, spec: info.metadata.chunkSpec, key: key)
        }
        return bytes
    }

    /// `count` bytes at `offset` of the file, read on the I/O pool; a range past the end of the
    /// file (a truncated file, or a corrupt address or size in the file's chunk index) is a
    /// typed error, refused before anything is allocated.
    func pread(offset: UInt64, count: Int, key: String) async throws -> [UInt8] {
        let fd = descriptor
        return try await ioPool.run { () throws(ZarrError) -> [UInt8] in
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw .io(key: key, reason: String(cString: strerror(errno))) }
            let fileSize = UInt64(max(0, st.st_size))
            guard count >= 0, offset <= fileSize, UInt64(count) <= fileSize - offset else {
                throw .corruptChunk(
                    key: key, reason: "the file places it at bytes \(offset)..+\(count), past its end (\(fileSize) bytes): truncated or corrupt file")
            }
            var out = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                var done = 0
                while done < count {
                    let n = Glibc.pread(fd, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    done += n
                }
                initialized = done
            }
            if out.count < count {
                throw .corruptChunk(key: key, reason: "the file ends \(count - out.count) bytes before the end of the chunk (truncated file?)")
            }
            out.reserveCapacity(0)
            return out
        }
    }

    /// A chunk stored with some filters skipped (h5py's LZF is optional: a chunk it cannot
    /// shrink is stored without it, with its mask bit set) made into what the full chain decodes:
    /// the applied filters are undone, then every filter applied. Rare (incompressible chunks).
    static func reapplySkippedFilters(_ bytes: [UInt8], mask: UInt32, filters: [PipelineFilter], spec: ChunkSpec, key: String) throws(ZarrError) -> [UInt8] {
        guard mask >> UInt32(filters.count) == 0 else {
            throw .corruptChunk(key: key, reason: "filter mask \(mask) names filters the dataset does not have")
        }
        let codecs = try filters.map { f throws(ZarrError) -> any BytesToBytesCodec in try codec(for: f, spec: spec, key: key) }
        var b = bytes
        for i in filters.indices.reversed() where mask & (1 << UInt32(i)) == 0 {
            b = try codecs[i].decode(b, expectedSize: nil, limit: max(spec.byteCount ?? b.count, b.count) * 2 + 1024)
        }
        for c in codecs { b = try c.encode(b) }
        return b
    }

    /// The Zarr codec of one filter.
    static func codec(for filter: PipelineFilter, spec: ChunkSpec, key: String) throws(ZarrError) -> any BytesToBytesCodec {
        guard let object = filter.v2JSON.object, let id = object["id"]?.string, let type = CodecRegistry.standard.v2[id] else {
            throw .unsupportedCodec("the HDF5 filter of '\(key)' has no codec here")
        }
        guard let c = try type.init(v2Configuration: object, spec: spec) as? any BytesToBytesCodec else {
            throw .unsupportedCodec("\(id) is not a bytes-to-bytes codec")
        }
        return c
    }

    private func readContiguous(offset: UInt64, origin: [Int], metadata m: ArrayMetadata, key: String) async throws -> [UInt8] {
        let itemSize = m.dataType.itemSize ?? 1
        guard let chunkBytes = m.chunkSpec.byteCount else { throw ZarrError.corruptChunk(key: key, reason: "chunk size overflows") }
        if m.shape.isEmpty { return try await pread(offset: offset, count: itemSize, key: key) }
        let first = origin[0], rows = min(m.chunkShape[0], m.shape[0] - first)
        // Checked: the shape and the offset come from the file.
        var rowBytes = itemSize, overflow = false
        for n in m.shape.dropFirst() {
            let (p, o) = rowBytes.multipliedReportingOverflow(by: n)
            rowBytes = p
            overflow = overflow || o
        }
        let (skip, o1) = first.multipliedReportingOverflow(by: rowBytes)
        let (count, o2) = rows.multipliedReportingOverflow(by: rowBytes)
        let (start, o3) = offset.addingReportingOverflow(UInt64(max(0, skip)))
        guard !overflow, !o1, !o2, !o3 else {
            throw ZarrError.corruptChunk(key: key, reason: "rows \(first)..+\(rows) of the contiguous dataset lie beyond any file")
        }
        var bytes = try await pread(offset: start, count: count, key: key)
        if bytes.count < chunkBytes { bytes.append(contentsOf: repeatElement(0, count: chunkBytes - bytes.count)) }
        return bytes
    }

    /// One chunk read with `H5Dread` of its region; `nil` when the file's chunk there was never
    /// written (read-only stores): fill values, without reading (and converting) a whole chunk
    /// of them.
    private func readThroughLibrary(object: String, origin: [Int], info: DatasetInfo, key: String) async throws -> [UInt8]? {
        let m = info.metadata, element = info.element
        let chunk = m.chunkShape
        let count = zip(origin, zip(m.shape, chunk)).map { o, sc in min(sc.1, sc.0 - o) }
        let n = chunk.reduce(1, *)
        let writable = isWritable
        let result = try await HDF5Library.run { () throws(ZarrError) -> NDArray? in
            let d = try self.datasetID(object)
            if !writable && !m.shape.isEmpty {
                // The presented chunks of a chunked dataset are the file's chunks.
                let dcpl = H5Dget_create_plist(d)
                if dcpl >= 0 {
                    defer { H5Pclose(dcpl) }
                    // Not when the file sets a fill value the presented metadata does not carry.
                    var defined = H5D_FILL_VALUE_UNDEFINED
                    let ownFill = H5Pfill_value_defined(dcpl, &defined) >= 0 && defined == H5D_FILL_VALUE_USER_DEFINED
                        && Self.fillValue(dcpl, element: element, key: key) == nil
                    if H5Pget_layout(dcpl) == H5D_CHUNKED && !ownFill {
                        var offsets = origin.map { hsize_t($0) }
                        var mask: UInt32 = 0
                        var address: haddr_t = 0
                        var size: hsize_t = 0
                        if H5Dget_chunk_info_by_coord(d, &offsets, &mask, &address, &size) >= 0 {
                            if address == swh5_haddr_undef() { return nil }
                        } else {
                            HDF5Library.clearErrors()
                        }
                    }
                } else {
                    HDF5Library.clearErrors()
                }
            }
            let selection = try ChunkSelection(d, origin: origin, count: count, chunk: chunk, key: key)
            defer { selection.close() }
            let fileSpace = selection.file, memSpace = selection.memory
            switch element.strings {
            case .variable?:
                let mem = try HDF5ElementType.variableStringType(key: key)
                defer { H5Tclose(mem) }
                var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
                try HDF5Library.check(H5Dread(d, mem, memSpace, fileSpace, swh5_default(), &pointers), "reading", key)
                let values = pointers.map { p -> [UInt8] in
                    guard let p else { return [] }
                    return Array(UnsafeRawBufferPointer(start: p, count: strlen(p)))
                }
                // Reclaim what the library allocated for the selected elements.
                H5Dvlen_reclaim(mem, memSpace == swh5_all() ? fileSpace : memSpace, swh5_default(), &pointers)
                return try NDArray(dataType: .string, shape: chunk, storage: .variable(values))
            case .fixed(let size, let spacePadded)?:
                let mem = try HDF5Library.check(H5Dget_type(d), "reading the type", key)
                defer { H5Tclose(mem) }
                var raw = [UInt8](repeating: 0, count: n * size)
                try HDF5Library.check(H5Dread(d, mem, memSpace, fileSpace, swh5_default(), &raw), "reading", key)
                let values = raw.withUnsafeBytes { b in
                    (0..<n).map { i in HDF5ElementType.trimFixed(UnsafeRawBufferPointer(rebasing: b[(i * size)..<((i + 1) * size)]), spacePadded: spacePadded) }
                }
                return try NDArray(dataType: .string, shape: chunk, storage: .variable(values))
            case nil:
                let mem = try HDF5ElementType.memoryType(for: element.dataType, key: key)
                defer { H5Tclose(mem) }
                let itemSize = element.dataType.itemSize ?? 0
                var raw = [UInt8](repeating: 0, count: n * itemSize)
                try HDF5Library.check(H5Dread(d, mem, memSpace, fileSpace, swh5_default(), &raw), "reading", key)
                return try NDArray(dataType: element.dataType, shape: chunk, storage: .fixed(raw))
            }
        }
        guard let result else { return nil }
        if element.strings != nil {
            return try VlenUTF8Codec().encode(result, spec: m.chunkSpec)
        }
        return result.bytes
    }
}

/// Where every chunk of a chunked dataset lies in the file: built in one job on the executor
/// (one B-tree lookup per chunk of the grid), so that reading a chunk needs no library call,
/// only a `pread`. 16 bytes per chunk.
struct ChunkTable: Sendable {
    /// One chunk: file address, stored size (0: not stored) and filter mask.
    struct Entry: Sendable {
        var address: UInt64
        var size: UInt32
        var mask: UInt32
    }
    /// The chunks in C order of the chunk grid.
    var entries: [Entry]

    /// The largest grid a table is built for (16 MiB of entries); larger grids look each chunk
    /// up when it is read.
    static let maxChunks = 1 << 20
}

extension HDF5Store {
    /// The chunk table of a chunked dataset (`nil` when its grid is larger than
    /// `ChunkTable.maxChunks`), built once, on first use (concurrent readers wait for it).
    func chunkTable(_ object: String, metadata m: ArrayMetadata) async throws -> ChunkTable? {
        let task = state.withLock { s -> Task<ChunkTable?, any Error> in
            if let t = s.chunkTables[object] { return t }
            let t = Task { try await self.buildChunkTable(object, metadata: m) }
            s.chunkTables[object] = t
            return t
        }
        return try await task.value
    }

    private func buildChunkTable(_ object: String, metadata m: ArrayMetadata) async throws -> ChunkTable? {
        let grid = m.grid.gridShape
        var total = 1
        for g in grid {
            let (p, o) = total.multipliedReportingOverflow(by: g)
            if o || p > ChunkTable.maxChunks { return nil }
            total = p
        }
        let chunk = m.chunkShape, count = total
        let table = try await HDF5Library.run { () throws(ZarrError) -> ChunkTable in
            let d = try self.datasetID(object)
            var entries: [ChunkTable.Entry] = []
            entries.reserveCapacity(count)
            var coords = [Int](repeating: 0, count: grid.count)
            var offsets = [hsize_t](repeating: 0, count: grid.count)
            for _ in 0..<count {
                for i in coords.indices { offsets[i] = hsize_t(coords[i] * chunk[i]) }
                var mask: UInt32 = 0
                var address: haddr_t = 0
                var size: hsize_t = 0
                try HDF5Library.check(H5Dget_chunk_info_by_coord(d, &offsets, &mask, &address, &size), "locating the chunks", object)
                if address == swh5_haddr_undef() || size == 0 {
                    entries.append(.init(address: 0, size: 0, mask: 0))
                } else {
                    guard size <= UInt64(UInt32.max) else {
                        throw .corruptChunk(key: object, reason: "a chunk of \(size) bytes, more than HDF5 allows")
                    }
                    entries.append(.init(address: UInt64(address), size: UInt32(size), mask: mask))
                }
                // Next grid position, last axis fastest.
                var axis = grid.count - 1
                while axis >= 0 {
                    coords[axis] += 1
                    if coords[axis] < grid[axis] { break }
                    coords[axis] = 0
                    axis -= 1
                }
            }
            return ChunkTable(entries: entries)
        }
        return table
    }
}

/// The dataspaces that select one chunk's region: in the file, the part of the chunk inside the
/// dataset (`origin`, `count`); in memory, the same part of a whole chunk buffer. A scalar
/// dataset (empty `chunk`) selects everything (`H5S_ALL`) on both sides. Made and closed on the
/// executor.
struct ChunkSelection {
    /// The file dataspace, or `H5S_ALL`.
    let file: hid_t
    /// The memory dataspace, or `H5S_ALL`.
    let memory: hid_t

    init(_ d: hid_t, origin: [Int], count: [Int], chunk: [Int], key: String) throws(ZarrError) {
        guard !chunk.isEmpty else {
            file = swh5_all()
            memory = swh5_all()
            return
        }
        let f = try HDF5Library.check(H5Dget_space(d), "reading the shape", key)
        var start = origin.map { hsize_t($0) }, cnt = count.map { hsize_t($0) }
        guard H5Sselect_hyperslab(f, H5S_SELECT_SET, &start, nil, &cnt, nil) >= 0 else {
            H5Sclose(f)
            throw HDF5Library.failure("selecting", key)
        }
        var dims = chunk.map { hsize_t($0) }
        let m = H5Screate_simple(Int32(chunk.count), &dims, nil)
        guard m >= 0 else { H5Sclose(f); throw HDF5Library.failure("creating a dataspace", key) }
        var zero = [hsize_t](repeating: 0, count: chunk.count)
        guard H5Sselect_hyperslab(m, H5S_SELECT_SET, &zero, nil, &cnt, nil) >= 0 else {
            H5Sclose(f)
            H5Sclose(m)
            throw HDF5Library.failure("selecting", key)
        }
        file = f
        memory = m
    }

    /// Closes the dataspaces.
    func close() {
        if file != swh5_all() { H5Sclose(file) }
        if memory != swh5_all() { H5Sclose(memory) }
    }
}
