#if canImport(Glibc)
import Glibc
#endif
import Zarr
import ZarrHDF5

/// `.h5ad` files: the same encodings, read and written through `HDF5Store`, which presents an
/// HDF5 file as a Zarr v2 store (see its documentation for how chunks are read and written).
extension AnnData {
    /// Reads the AnnData in the `.h5ad` file at `path` (every encoding, legacy files included).
    /// A missing file, a file that is not HDF5 and corrupt contents are typed errors.
    public static func read(
        h5ad path: String, registry: EncodingRegistry = .standard, concurrency: ConcurrencyOptions = .automatic,
        readCallback: ReadCallback? = nil
    ) async throws(AnnDataError) -> AnnData {
        let store = try await H5AD.open(path)
        do {
            let a = try await read(from: store, registry: registry, concurrency: concurrency, readCallback: readCallback)
            try? await store.close()
            return a
        } catch {
            try? await store.close()
            throw error
        }
    }

    /// Writes this AnnData as an `.h5ad` file at `path`, as anndata's `write_h5ad` lays it out
    /// (see `WriteOptions.forH5AD()` for the compressors). The file is written beside `path`
    /// under a temporary name and renamed into place when complete: a failed or interrupted
    /// write leaves the previous file intact and no file at `path` that looks complete.
    public func write(h5ad path: String, options: WriteOptions = WriteOptions(), registry: EncodingRegistry = .standard) async throws(AnnDataError) {
        try validate()
        let o = try options.forH5AD()
        try await H5AD.replace(path, existing: options.existingStore) { store in
            try await self.writeFresh(to: store, options: o, registry: registry)
        }
    }
}

extension LazyAnnData {
    /// Opens the `.h5ad` file at `path` lazily (metadata only; rows of X and the layers are read
    /// on demand, as on Zarr). The file stays open while the returned value (or a view of it)
    /// lives.
    public static func open(
        h5ad path: String, registry: EncodingRegistry = .standard, concurrency: ConcurrencyOptions = .automatic
    ) async throws(AnnDataError) -> LazyAnnData {
        let store = try await H5AD.open(path)
        return try await open(store, registry: registry, concurrency: concurrency)
    }
}

extension LazyAnnDataView {
    /// Writes the selection as an `.h5ad` file at `path`, streamed as `write(to:)` streams it,
    /// into a temporary file renamed into place when complete.
    public func write(
        h5ad path: String, options: WriteOptions = WriteOptions(), registry: EncodingRegistry = .standard,
        progress: (@Sendable (String) -> Void)? = nil
    ) async throws(AnnDataError) {
        let o = try options.forH5AD()
        try await H5AD.replace(path, existing: options.existingStore) { store in
            try await self.writeFresh(to: store, options: o, registry: registry, progress: progress)
        }
    }
}

extension WriteOptions {
    /// These options for an `.h5ad` file: Zarr v2 nodes without sharding or consolidated
    /// metadata, and a compressor HDF5 has a filter for. `.automatic` and `.none` write
    /// uncompressed datasets (anndata's default); `.gzip(level)` and `.zlib(level)` HDF5's gzip
    /// (deflate) filter; `.lzf` h5py's LZF. zstd and blosc are refused.
    public func forH5AD() throws(AnnDataError) -> WriteOptions {
        var o = self
        o.zarrFormat = .v2
        o.sharding = .off
        o.consolidate = false
        switch compressor {
        case .automatic, .none: o.compressor = .none
        case .gzip(let level), .zlib(let level): o.compressor = .zlib(level: level)
        case .lzf: o.compressor = .lzf
        case .zstd, .blosc:
            throw .unsupported(path: "", reason: "an .h5ad file can be compressed with gzip or lzf (HDF5 filters h5py reads), not \(compressor)")
        }
        return o
    }
}

/// Opening and atomically replacing `.h5ad` files.
enum H5AD {
    static func open(_ path: String) async throws(AnnDataError) -> HDF5Store {
        do { return try await HDF5Store.open(path: path) } catch {
            throw AnnDataError.wrap(error, path: "")
        }
    }

    /// Writes a new HDF5 file through `body` under a temporary name beside `path`, then renames
    /// it to `path`. An existing regular file at `path` is replaced only when it is an HDF5
    /// file and `existing` is `.replace`; anything else there is refused before writing.
    static func replace(
        _ path: String, existing: ExistingStorePolicy, _ body: @escaping @Sendable (HDF5Store) async throws -> Void
    ) async throws(AnnDataError) {
        do {
            try await BlockingIOPool.shared.run { () throws in
                var st = stat()
                guard lstat(path, &st) == 0 else { return }
                guard st.st_mode & S_IFMT == S_IFREG else {
                    throw ZarrError.refusedDestination(path, reason: "it exists and is not a regular file")
                }
                let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw ZarrError.refusedDestination(path, reason: String(cString: strerror(errno))) }
                defer { Glibc.close(fd) }
                var signature = [UInt8](repeating: 0, count: 8)
                let n = Glibc.read(fd, &signature, 8)
                guard n == 8, signature == [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a] else {
                    throw ZarrError.refusedDestination(path, reason: "it exists and is not an HDF5 file")
                }
                if existing == .refuse {
                    throw ZarrError.refusedDestination(path, reason: "it already exists (replace it with --overwrite)")
                }
            }
        } catch {
            throw AnnDataError.wrap(error, path: "")
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        // Hidden, and not ending in .h5ad: an interrupted write leaves nothing that looks like a file.
        let temporary = (directory.isEmpty ? "" : directory + "/") + "." + name + ".partial-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let store: HDF5Store
        do { store = try await HDF5Store.create(path: temporary) } catch { throw AnnDataError.wrap(error, path: "") }
        do {
            try await body(store)
            try await store.close()
            try await BlockingIOPool.shared.run { () throws in
                let fd = Glibc.open(temporary, O_RDONLY | O_CLOEXEC)
                if fd >= 0 { _ = fsync(fd); Glibc.close(fd) }
                guard rename(temporary, path) == 0 else {
                    throw ZarrError.io(key: path, reason: "renaming the finished file into place: \(String(cString: strerror(errno)))")
                }
                let dfd = Glibc.open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                if dfd >= 0 { _ = fsync(dfd); Glibc.close(dfd) }
            }
        } catch {
            try? await store.close()
            _ = try? await BlockingIOPool.shared.run { unlink(temporary) }
            throw AnnDataError.wrap(error, path: "")
        }
    }
}

extension LazyAnnData {
    /// Whether the store holds an AnnData of anndata < 0.7, whose `obs` is a structured array
    /// (such stores are read whole: `AnnData.read`; `open` refuses them).
    public static func isPre07(_ store: any ReadableStore) async throws -> Bool {
        if try await store.exists("obs/.zarray") { return true }
        guard case .array = try? await NodeMetadata.read(store, path: "obs") else { return false }
        return true
    }
}
