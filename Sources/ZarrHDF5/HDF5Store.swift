#if canImport(Glibc)
import Glibc
#endif
import CHDF5
import Synchronization
import Zarr

/// An HDF5 file (an `.h5ad`) seen as a Zarr v2 store, so that every Zarr reader and writer
/// of this package — and every AnnData encoding on top of them — works on HDF5 unchanged.
///
/// Each HDF5 group is a v2 group (`.zgroup`, `.zattrs`), each dataset a v2 array (`.zarray`,
/// `.zattrs`) whose chunks are the dataset's chunks:
/// - **chunked datasets of numbers** whose filters are shuffle, deflate and h5py's LZF are
///   presented with the matching v2 `filters`/`compressor` (`shuffle`, `zlib`, `lzf`); a chunk
///   is located with one short library call and read with `pread` outside the library, and the
///   Zarr codecs decode it on their own threads, in parallel;
/// - **contiguous datasets of numbers** (what anndata writes uncompressed) are cut into virtual
///   chunks of whole rows (about `contiguousChunkBytes`), each one `pread` at its file offset;
/// - **strings** (variable or fixed length), compound types (legacy data frames, complex
///   numbers), compact datasets and other filters are read through the library
///   (`H5Dread` of the chunk's region), strings presented as `vlen-utf8`.
///
/// Every libhdf5 call runs on one serial executor shared by the process (`HDF5Library`), since
/// Debian's libhdf5 is not thread-safe.
///
/// A store made by `create(path:)` is writable: `.zgroup` makes a group, `.zarray` a chunked
/// dataset (shuffle/zlib/lzf become the HDF5 filters), `.zattrs` the attributes, a chunk key
/// one `H5Dwrite_chunk` (numbers, encoded by the Zarr codecs beforehand) or one `H5Dwrite` of
/// the chunk's region (strings, compound types). See `HDF5Store+Write.swift`.
///
/// Close the store with `close()` when done; a store dropped without it closes its file on the
/// executor shortly after.
public final class HDF5Store: WritableStore, ListableStore {
    /// The file's path.
    public let path: String
    /// Whether the store was created for writing.
    public let isWritable: Bool
    /// Size limits for metadata documents and chunks.
    public let readLimits: ReadLimits
    /// The threads that run `pread`s.
    let ioPool: BlockingIOPool
    /// The library's file id.
    let file: hid_t
    /// A descriptor of the file for `pread` (read-only stores), or -1.
    let descriptor: Int32
    let state: Mutex<State>

    /// The target size of a virtual chunk of a contiguous dataset: 4 MiB of whole rows.
    public static let contiguousChunkBytes = 4 << 20

    struct State: ~Copyable {
        var closed = false
        /// Open dataset ids by object path (closed by `close()`).
        var openDatasets: [String: hid_t] = [:]
        /// What each dataset looks like, by object path.
        var datasets: [String: DatasetInfo] = [:]
        /// Each object's kind, by object path (`nil`: nothing there).
        var kinds: [String: ObjectKind?] = [:]
        /// Attributes set before their object was created, by object path.
        var pendingAttributes: [String: JSONObject] = [:]
        /// Where each chunk of a dataset lies (read-only stores), by object path.
        var chunkTables: [String: Task<ChunkTable?, any Error>] = [:]
    }

    /// What sits at an object path.
    enum ObjectKind: Sendable, Hashable { case group, dataset }

    init(path: String, file: hid_t, descriptor: Int32, writable: Bool, readLimits: ReadLimits, ioPool: BlockingIOPool) {
        self.path = path
        self.file = file
        self.descriptor = descriptor
        self.isWritable = writable
        self.readLimits = readLimits
        self.ioPool = ioPool
        self.state = Mutex(State())
    }

    deinit {
        let (open, wasClosed) = state.withLock { s in (Array(s.openDatasets.values), s.closed) }
        guard !wasClosed else { return }
        let file = self.file, fd = self.descriptor
        if fd >= 0 { Glibc.close(fd) }
        Task.detached {
            _ = try? await HDF5Library.run {
                for d in open { H5Dclose(d) }
                H5Fclose(file)
            }
        }
    }

    /// Opens an existing HDF5 file for reading. A missing file, something that is not a regular
    /// file (a directory, a named pipe) and a file that is not HDF5 (no HDF5 signature: a
    /// truncated download, another format named `.h5ad`) are typed errors naming the path.
    public static func open(path: String, readLimits: ReadLimits = .standard, ioPool: BlockingIOPool = .shared) async throws -> HDF5Store {
        let fd = try await ioPool.run { () throws(ZarrError) -> Int32 in
            // O_NONBLOCK: opening a named pipe must not wait for a writer; it is refused below.
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            if fd < 0 { throw .io(key: path, reason: String(cString: strerror(errno))) }
            var st = stat()
            guard fstat(fd, &st) == 0 else {
                let reason = String(cString: strerror(errno))
                Glibc.close(fd)
                throw .io(key: path, reason: reason)
            }
            guard st.st_mode & S_IFMT == S_IFREG else {
                Glibc.close(fd)
                throw .invalidMetadata(path: path, reason: "not an HDF5 file (not a regular file)")
            }
            return fd
        }
        do {
            let file = try await HDF5Library.run { () throws(ZarrError) -> hid_t in
                let isHDF5 = H5Fis_hdf5(path)
                if isHDF5 == 0 { throw .invalidMetadata(path: path, reason: "not an HDF5 file (no HDF5 signature)") }
                if isHDF5 < 0 { throw HDF5Library.failure("checking the signature", path) }
                let f = H5Fopen(path, swh5_acc_rdonly(), swh5_default())
                if f < 0 { throw .invalidMetadata(path: path, reason: "cannot open the HDF5 file: \(HDF5Library.lastError())") }
                return f
            }
            return HDF5Store(path: path, file: file, descriptor: fd, writable: false, readLimits: readLimits, ioPool: ioPool)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// Creates a new, empty HDF5 file at `path` for writing; an existing file is an error (write
    /// to a temporary path and rename it into place, as `AnnData.write(h5ad:)` does).
    public static func create(path: String, readLimits: ReadLimits = .standard, ioPool: BlockingIOPool = .shared) async throws -> HDF5Store {
        let file = try await HDF5Library.run { () throws(ZarrError) -> hid_t in
            let f = H5Fcreate(path, swh5_acc_excl(), swh5_default(), swh5_default())
            if f < 0 { throw .io(key: path, reason: "cannot create the HDF5 file: \(HDF5Library.lastError())") }
            return f
        }
        return HDF5Store(path: path, file: file, descriptor: -1, writable: true, readLimits: readLimits, ioPool: ioPool)
    }

    /// Flushes and closes the file (every dataset first). Later calls do nothing; any use of the
    /// store afterwards is an error.
    public func close() async throws {
        let (open, wasClosed) = state.withLock { s in
            let r = (Array(s.openDatasets.values), s.closed)
            s.closed = true
            s.openDatasets = [:]
            return r
        }
        guard !wasClosed else { return }
        if descriptor >= 0 { Glibc.close(descriptor) }
        let file = self.file, writable = isWritable, p = path
        try await HDF5Library.run { () throws in
            for d in open { H5Dclose(d) }
            if writable { try HDF5Library.check(H5Fflush(file, H5F_SCOPE_GLOBAL), "flushing", p) }
            try HDF5Library.check(H5Fclose(file), "closing", p)
        }
    }

    /// The file path.
    public var storeDescription: String { path }

    func checkOpen() throws(ZarrError) {
        if state.withLock({ $0.closed }) { throw .unsupportedOperation("the HDF5 store \(path) is closed") }
    }

    // MARK: - Keys

    /// A key split into its object path (`""`: the root group) and its last component.
    static func split(_ key: String) throws(ZarrError) -> (object: String, leaf: String) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard let leaf = parts.last, !leaf.isEmpty, !parts.dropLast().contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw .invalidKey(key, reason: "not a key of an HDF5 store (empty, '.' or '..' components)")
        }
        return (parts.dropLast().joined(separator: "/"), String(leaf))
    }

    /// The library's name of an object path.
    static func hdf5Name(_ object: String) -> String { "/" + object }

    // MARK: - ReadableStore

    /// The value at `key`: a synthesised metadata document, or a chunk's encoded bytes.
    public func get(_ key: String) async throws -> [UInt8]? {
        try checkOpen()
        let (object, leaf) = try Self.split(key)
        switch leaf {
        case ".zgroup":
            guard try await kind(of: object) == .group else { return nil }
            return JSONValue.object(["zarr_format": 2]).serialized()
        case ".zarray":
            guard try await kind(of: object) == .dataset else { return nil }
            return try await datasetInfo(object).metadata.v2Document().serialized()
        case ".zattrs":
            guard try await kind(of: object) != nil else { return nil }
            let file = self.file
            let attrs = try await HDF5Library.run { () throws(ZarrError) -> JSONObject in
                let o = H5Oopen(file, Self.hdf5Name(object), swh5_default())
                guard o >= 0 else { throw HDF5Library.failure("opening", key) }
                defer { H5Oclose(o) }
                return try HDF5Attributes.read(o, key: key)
            }
            return JSONValue.object(attrs).serialized()
        case "zarr.json", ".zmetadata":
            return nil
        default:
            guard try await kind(of: object) == .dataset else { return nil }
            return try await readChunk(object: object, leaf: leaf, key: key)
        }
    }

    /// Part of the value at `key` (the value is made whole, then cut).
    public func get(_ key: String, range: ByteRange) async throws -> [UInt8]? {
        guard let value = try await get(key) else { return nil }
        if case .all = range { return value }
        return Array(value[range.resolved(size: value.count)])
    }

    /// Whether `key` has a value.
    public func exists(_ key: String) async throws -> Bool {
        try checkOpen()
        let (object, leaf) = try Self.split(key)
        switch leaf {
        case ".zgroup": return try await kind(of: object) == .group
        case ".zarray": return try await kind(of: object) == .dataset
        case ".zattrs": return try await kind(of: object) != nil
        case "zarr.json", ".zmetadata": return false
        default: return try await get(key) != nil
        }
    }

    // MARK: - ListableStore

    /// The metadata keys of every object under `prefix`, at any depth (chunk keys are not
    /// listed: they are implied by each array's shape and chunk shape).
    public func list(prefix: String) async throws -> [String] {
        try checkOpen()
        var out: [String] = []
        var pending = [""]
        while let object = pending.popLast() {
            let listing = try await listDirectory(object.isEmpty ? "" : object + "/")
            out += listing.keys
            for p in listing.prefixes { pending.append(object.isEmpty ? p : object + "/" + p) }
        }
        return out.filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// The metadata keys of the object at `prefix` and the names of its children.
    public func listDirectory(_ prefix: String) async throws -> StoreListing {
        try checkOpen()
        let object = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        if !object.isEmpty { _ = try Self.split(object + "/.zattrs") }
        let base = object.isEmpty ? "" : object + "/"
        switch try await kind(of: object) {
        case .group?:
            let names = try await children(of: object)
            return StoreListing(keys: [base + ".zattrs", base + ".zgroup"], prefixes: names)
        case .dataset?:
            return StoreListing(keys: [base + ".zarray", base + ".zattrs"], prefixes: [])
        case nil:
            return StoreListing(keys: [], prefixes: [])
        }
    }

    // MARK: - Objects

    /// The kind of object at `object`, or `nil` (cached).
    func kind(of object: String) async throws -> ObjectKind? {
        if let cached = state.withLock({ $0.kinds[object] }) { return cached }
        let file = self.file
        let k = try await HDF5Library.run { () -> ObjectKind? in
            // Check each link of the path: H5Oopen of a path through a missing group fails.
            var prefix = ""
            for part in object.split(separator: "/") {
                prefix += "/" + part
                if H5Lexists(file, prefix, swh5_default()) <= 0 { return nil }
            }
            let o = H5Oopen(file, Self.hdf5Name(object), swh5_default())
            guard o >= 0 else { HDF5Library.clearErrors(); return nil }
            defer { H5Oclose(o) }
            switch H5Iget_type(o) {
            case H5I_GROUP: return .group
            case H5I_DATASET: return .dataset
            default: return nil
            }
        }
        state.withLock { $0.kinds[object] = k }
        return k
    }

    /// The names of a group's children, in name order. A child that is the group itself or one
    /// of its ancestors (HDF5 hard links can make cycles) is a typed error: listing it would
    /// walk the same groups forever.
    func children(of object: String) async throws -> [String] {
        let file = self.file
        return try await HDF5Library.run { () throws(ZarrError) -> [String] in
            let g = H5Gopen2(file, Self.hdf5Name(object), swh5_default())
            guard g >= 0 else { throw HDF5Library.failure("opening the group", object) }
            defer { H5Gclose(g) }
            // The group and its ancestors, by (file number, address).
            var ancestors: Set<[UInt64]> = []
            var path = ""
            for part in [""] + object.split(separator: "/").map(String.init) {
                if !part.isEmpty { path += "/" + part }
                var o = H5O_info_t()
                if H5Oget_info_by_name2(file, path.isEmpty ? "/" : path, &o, UInt32(H5O_INFO_BASIC), swh5_default()) >= 0 {
                    ancestors.insert([UInt64(o.fileno), UInt64(o.addr)])
                } else {
                    HDF5Library.clearErrors()
                }
            }
            var info = H5G_info_t()
            try HDF5Library.check(H5Gget_info(g, &info), "reading the group", object)
            var names: [String] = []
            for i in 0..<info.nlinks {
                let n = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, swh5_default())
                guard n >= 0 else { throw HDF5Library.failure("reading a link name", object) }
                var buffer = [CChar](repeating: 0, count: n + 1)
                H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buffer, buffer.count, swh5_default())
                let name = String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                var o = H5O_info_t()
                if H5Oget_info_by_idx2(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, &o, UInt32(H5O_INFO_BASIC), swh5_default()) >= 0 {
                    if ancestors.contains([UInt64(o.fileno), UInt64(o.addr)]) {
                        throw .invalidMetadata(
                            path: object.isEmpty ? name : object + "/" + name,
                            reason: "the HDF5 link leads back to the group or one of its ancestors (a cycle)")
                    }
                } else {
                    // A dangling soft link or an external link to a missing file: listed, absent when read.
                    HDF5Library.clearErrors()
                }
                names.append(name)
            }
            return names
        }
    }

    /// The open dataset id of `object` (opened once, on the executor; call from a job).
    func datasetID(_ object: String) throws(ZarrError) -> hid_t {
        if let d = state.withLock({ $0.openDatasets[object] }) { return d }
        let d = H5Dopen2(file, Self.hdf5Name(object), swh5_default())
        guard d >= 0 else { throw HDF5Library.failure("opening the dataset", object) }
        state.withLock { $0.openDatasets[object] = d }
        return d
    }
}
