#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A store in a local directory, the default. Keys map to files below `root`.
///
/// It uses POSIX I/O directly, relative to directory descriptors (see `LocalFS`):
/// - **Only regular files and directories** are read, listed and descended into. The root path
///   may be, or pass through, a symbolic link; **no symbolic link below the root is followed**,
///   for reads, writes, listings or removals. Meeting one (or a named pipe, socket or device)
///   is `ZarrError.unsupportedEntry` naming its key, so a store can never lead outside its root,
///   loop, or block on a pipe. A listing that meets a name that is not UTF-8 throws
///   `ZarrError.invalidEntryName` naming the directory, rather than dropping or mangling it.
/// - **Writes are atomic**: a value goes to a temporary file in the same directory, named
///   `.zarr-tmp.<pid>.<16 hex digits>`, that is renamed over the key, so a failed write leaves
///   the earlier value intact. Names of exactly that form are hidden from listings (and no
///   other name is). Stale temporaries — of a writer that is gone, or untouched for
///   `staleTemporaryAge` seconds — are removed the first time this store writes into their
///   directory, by `deletePrefix`, and by `removeStaleTemporaries()`.
/// - **Sizes are checked before reading** by `get(_:range:limit:)`.
/// - **System calls run on a `BlockingIOPool`** (the shared one unless given another), never on
///   the Swift concurrency pool: every async method suspends while a pool thread does the work.
///   A task cancelled before its work starts gets `CancellationError`; started work finishes.
public struct LocalStore: WritableStore, ListableStore, MultiRangeReadableStore, BufferRecyclingStore {
    /// The directory that holds the store.
    public let root: String
    /// Counters for the store's operations (each read, write, delete and listing counts as
    /// one request: `GET`, `PUT`, `DELETE`, `LIST`), if any.
    public let metrics: StoreMetrics?
    /// The size limits readers apply to this store.
    public let readLimits: ReadLimits
    /// The threads that do this store's system calls.
    public let ioPool: BlockingIOPool
    /// The directories (key prefixes) this store value has written into, whose stale
    /// temporaries are already cleaned.
    private let cleaned = CleanedDirectories()
    /// Buffers of decoded chunks handed back (`recycle`), filled by later reads.
    private let readBuffers = BufferRecycler(limit: 512, byteLimit: LocalStore.recycledBytes)

    /// The most bytes of read buffers kept for reuse (16 MiB).
    public static let recycledBytes = 16 << 20

    /// Seconds after which a temporary file whose writer still runs (or cannot be checked) is
    /// considered abandoned: one hour.
    public static let staleTemporaryAge = 3600

    /// A store rooted at `root` (created on the first write if missing), reporting into
    /// `metrics` when given, doing its system calls on `ioPool`.
    public init(root: String, metrics: StoreMetrics? = nil, readLimits: ReadLimits = .standard, ioPool: BlockingIOPool = .shared) {
        var r = root
        while r.count > 1 && r.hasSuffix("/") { r.removeLast() }
        self.root = r
        self.metrics = metrics
        self.readLimits = readLimits
        self.ioPool = ioPool
    }

    /// A short description of the store, for messages.
    public var storeDescription: String { root }

    func path(_ key: String) -> String { root + "/" + key }

    static func errnoText(_ e: Int32 = errno) -> String { LocalFS.errnoText(e) }

    /// The value at `key`, or `nil` when there is none.
    public func get(_ key: String) async throws -> [UInt8]? {
        try await ioPool.run { [self] in try read(key, range: .all, limit: .max) }
    }

    /// The bytes of `range` in the value at `key`, or `nil` when there is none.
    public func get(_ key: String, range: ByteRange) async throws -> [UInt8]? {
        try await ioPool.run { [self] in try read(key, range: range, limit: .max) }
    }

    /// The bytes of `range` in the value at `key`, or `nil` when there is none; more than
    /// `limit` bytes are refused (`ZarrError.valueTooLarge`) from the file's size, before
    /// anything is allocated or read.
    public func get(_ key: String, range: ByteRange, limit: Int) async throws -> [UInt8]? {
        try await ioPool.run { [self] in try read(key, range: range, limit: limit) }
    }

    /// Ranges of one file read by one pool job (one `open`, then a `pread` per range).
    static let rangesPerJob = 32

    /// The parts `ranges` of the value at `key`, in order, or `nil` when there is none: the
    /// file is opened once per group of `rangesPerJob` ranges (groups run in parallel on the
    /// pool), each range read into its own buffer. Every range counts as one `GET`.
    public func get(_ key: String, ranges: [ByteRange]) async throws -> [[UInt8]]? {
        if ranges.isEmpty { return [] }
        let groups = stride(from: 0, to: ranges.count, by: Self.rangesPerJob).map { Array(ranges[$0..<Swift.min($0 + Self.rangesPerJob, ranges.count)]) }
        let parts = try await Parallel.map(groups, limit: groups.count) { [self] group in
            try await ioPool.run { [self] in try read(key, ranges: group) }
        }
        var out: [[UInt8]] = []
        out.reserveCapacity(ranges.count)
        for p in parts {
            guard let p else {
                // Found by one group and not by another: the value went away between them.
                if parts.contains(where: { $0 != nil }) { throw ZarrError.corruptChunk(key: key, reason: "the value disappeared while it was read") }
                return nil
            }
            out.append(contentsOf: p)
        }
        return out
    }

    /// Keeps `buffers` (bytes this store returned, now decoded) for later reads, up to
    /// `recycledBytes` in all.
    public func recycle(_ buffers: consuming [[UInt8]]) { readBuffers.recycle(all: buffers) }

    /// The parts `ranges` of the value at `key` (one `open`), or `nil` when there is none; a
    /// part longer than `limit` is refused from the file's size, before anything is read.
    func read(_ key: String, ranges: [ByteRange], limit: Int = .max) throws(ZarrError) -> [[UInt8]]? {
        try StoreKey.validate(key)
        for _ in ranges { metrics?.recordRequest(method: "GET", bytesSent: 0) }
        let parts = LocalFS.Components(key)
        guard let rootFD = try LocalFS.openRoot(root, create: false) else { return nil }
        defer { close(rootFD) }
        guard let file = try LocalFS.openValue(root: rootFD, parts) else { return nil }
        defer { close(file.fd) }
        var out: [[UInt8]] = []
        out.reserveCapacity(ranges.count)
        for range in ranges {
            let r = range.resolved(size: file.size)
            if r.count > limit { throw .valueTooLarge(key: key, size: r.count, limit: limit) }
            let bytes = try LocalFS.read(file.fd, offset: r.lowerBound, count: r.count, key: key, recycling: readBuffers)
            metrics?.recordReceived(bytes.count)
            out.append(bytes)
        }
        return out
    }

    func read(_ key: String, range: ByteRange, limit: Int) throws(ZarrError) -> [UInt8]? {
        try read(key, ranges: [range], limit: limit)?.first
    }

    /// What is at `key`: its `st_mode` type and size, `nil` when nothing is. A symbolic link
    /// on the way, or at the key, throws.
    private func entry(_ key: String) throws(ZarrError) -> (mode: mode_t, size: Int)? {
        try StoreKey.validate(key)
        let parts = LocalFS.Components(key)
        guard let dir = try LocalFS.openDirectory(root: root, parts, depth: parts.count - 1, create: false) else { return nil }
        defer { close(dir) }
        return try parts.withComponent(parts.count - 1) { name -> (mode_t, Int)? in
            var st = stat()
            guard fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
            return (st.st_mode & S_IFMT, Int(st.st_size))
        }
    }

    /// Whether a value (a regular file) exists at `key`. A symbolic link or special file there
    /// is `ZarrError.unsupportedEntry`.
    public func exists(_ key: String) async throws -> Bool {
        try await ioPool.run { [self] in try size(of: key) != nil }
    }

    /// The size of the value at `key`, or `nil`. A symbolic link or special file there is
    /// `ZarrError.unsupportedEntry`.
    public func size(of key: String) throws -> Int? {
        guard let e = try entry(key) else { return nil }
        switch e.mode {
        case S_IFREG: return e.size
        case S_IFDIR: return nil
        default: throw ZarrError.unsupportedEntry(key: key, kind: SpecialFileKind(mode: e.mode))
        }
    }

    /// Stores `value` at `key` atomically: a temporary file in the same directory, renamed over the key.
    public func set(_ key: String, _ value: [UInt8]) async throws {
        try await ioPool.run { [self] in try write(key, value, writeAll: LocalFS.writeAll) }
    }

    /// `set`, with the writing of the temporary file as a parameter (tests make it fail).
    func write(_ key: String, _ value: [UInt8], writeAll: (Int32, UnsafeRawBufferPointer) -> String?) throws(ZarrError) {
        try StoreKey.validate(key)
        metrics?.recordRequest(method: "PUT", bytesSent: value.count)
        let parts = LocalFS.Components(key)
        guard let dir = try LocalFS.openDirectory(root: root, parts, depth: parts.count - 1, create: true) else {
            throw .io(key: key, reason: "cannot open its directory")
        }
        defer { close(dir) }
        let directory = parts.count > 1 ? parts.prefix(through: parts.count - 2) : ""
        if cleaned.firstVisit(directory) {
            LocalFS.removeStaleTemporaries(in: dir, entries: (try? LocalFS.entries(dir, key: directory)) ?? [],
                                           maxAge: Self.staleTemporaryAge)
        }
        let tmp = LocalFS.temporaryName()
        let fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(key: key, reason: Self.errnoText()) }
        var ok = false
        defer { if !ok { unlinkat(dir, tmp, 0) } }
        let writeError = value.withUnsafeBytes { writeAll(fd, $0) }
        if close(fd) != 0, writeError == nil { throw .io(key: key, reason: Self.errnoText()) }
        if let writeError { throw .io(key: key, reason: writeError) }
        try parts.withComponent(parts.count - 1) { (name) throws(ZarrError) in
            guard renameat(dir, tmp, dir, name) == 0 else { throw .io(key: key, reason: Self.errnoText()) }
        }
        ok = true
    }

    /// Removes the value at `key`; a missing key is not an error (a symbolic link at the key
    /// is removed itself; one on the way to it is `ZarrError.unsupportedEntry`).
    public func delete(_ key: String) async throws {
        try await ioPool.run { [self] in try remove(key) }
    }

    /// `delete(_:)` on the calling thread.
    private func remove(_ key: String) throws(ZarrError) {
        try StoreKey.validate(key)
        metrics?.recordRequest(method: "DELETE", bytesSent: 0)
        let parts = LocalFS.Components(key)
        guard let dir = try LocalFS.openDirectory(root: root, parts, depth: parts.count - 1, create: false) else { return }
        defer { close(dir) }
        try parts.withComponent(parts.count - 1) { (name) throws(ZarrError) in
            if unlinkat(dir, name, 0) != 0 && errno != ENOENT && errno != ENOTDIR {
                throw .io(key: key, reason: Self.errnoText())
            }
        }
    }

    /// Removes every value whose key starts with `prefix` (`""`: everything), temporary files
    /// and entries that are not keys (names that are not UTF-8, symbolic links, which are
    /// removed themselves, never followed) included.
    public func deletePrefix(_ prefix: String) async throws {
        try await ioPool.run { [self] in try removePrefix(prefix) }
    }

    /// `deletePrefix(_:)` on the calling thread.
    private func removePrefix(_ prefix: String) throws(ZarrError) {
        try StoreKey.validatePrefix(prefix)
        if prefix.isEmpty {
            guard let dir = try LocalFS.openRoot(root, create: false) else { return }
            defer { close(dir) }
            try LocalFS.removeContents(dir, key: "")
            return
        }
        let key = String(prefix.dropLast())
        let parts = LocalFS.Components(key)
        guard let dir = try LocalFS.openDirectory(root: root, parts, depth: parts.count - 1, create: false) else { return }
        defer { close(dir) }
        var name = Array(parts.bytes[parts.starts[parts.count - 1]...])
        if name.last != 0 { name.append(0) }
        try LocalFS.remove(dir, name, key: key)
    }

    /// Removes the stale temporary files of the whole store (those of writers that are gone,
    /// or untouched for `maxAge` seconds) and returns how many there were. Writes clean the
    /// directories they write into; this cleans everything, e.g. after a killed writer.
    @discardableResult
    public func removeStaleTemporaries(maxAge: Int = LocalStore.staleTemporaryAge) throws -> Int {
        guard let dir = try LocalFS.openRoot(root, create: false) else { return 0 }
        defer { close(dir) }
        var removed = 0
        try Self.walkDirectories(dir) { fd, _, entries in
            removed += LocalFS.removeStaleTemporaries(in: fd, entries: entries, maxAge: maxAge)
        }
        return removed
    }

    /// The total size in bytes of the regular files below the root (symbolic links are not
    /// followed; temporaries count), or `nil` when the root is not a directory.
    public func diskUsage() throws -> Int? {
        guard let dir = try LocalFS.openRoot(root, create: false) else { return nil }
        defer { close(dir) }
        var total = 0
        try Self.walkDirectories(dir) { fd, _, entries in
            for e in entries where e.mode == S_IFREG {
                var st = stat()
                if fstatat(fd, e.name, &st, AT_SYMLINK_NOFOLLOW) == 0 { total += Int(st.st_size) }
            }
        }
        return total
    }

    /// Calls `visit` with every directory below (and including) the open directory `dir`:
    /// its descriptor, its key prefix and its entries; symbolic links are not followed.
    static func walkDirectories(
        _ dir: Int32, _ visit: (Int32, String, [LocalFS.Entry]) throws(ZarrError) -> Void
    ) throws(ZarrError) {
        func walk(_ fd: Int32, _ rel: String) throws(ZarrError) {
            let entries = try LocalFS.entries(fd, key: rel)
            try visit(fd, rel, entries)
            for e in entries where e.mode == S_IFDIR {
                let key = rel.isEmpty ? e.display : rel + "/" + e.display
                guard let sub = try LocalFS.openChild(fd, e.name, create: false, key: { key }) else { continue }
                defer { close(sub) }
                try walk(sub, key)
            }
        }
        try walk(dir, "")
    }

    /// The keys and subdirectories of the open directory `dir` (key prefix `prefix`): names
    /// sorted, temporaries left out; a name that is not UTF-8, a symbolic link or a special
    /// file throws.
    static func listing(_ dir: Int32, prefix: String) throws(ZarrError) -> (files: [String], directories: [(String, [CChar])]) {
        var files: [String] = []
        var dirs: [(String, [CChar])] = []
        // In name order, so that the entry an error names does not depend on the file system.
        for e in try LocalFS.entries(dir, key: prefix).sorted(by: { $0.name.lexicographicallyPrecedes($1.name) }) {
            if e.mode == S_IFREG, LocalFS.temporaryOwner(e.name) != nil { continue }
            guard let name = e.string else {
                throw .invalidEntryName(directory: prefix, name: e.display)
            }
            switch e.mode {
            case S_IFREG: files.append(name)
            case S_IFDIR: dirs.append((name, e.name))
            default: throw .unsupportedEntry(key: prefix + name, kind: SpecialFileKind(mode: e.mode))
            }
        }
        files.sort()
        dirs.sort { $0.0 < $1.0 }
        return (files, dirs)
    }

    /// Opens the directory of `prefix` (`""` or `a/b/`), or `nil` when there is none.
    private func openPrefix(_ prefix: String) throws(ZarrError) -> Int32? {
        if prefix.isEmpty { return try LocalFS.openRoot(root, create: false) }
        let parts = LocalFS.Components(String(prefix.dropLast()))
        return try LocalFS.openDirectory(root: root, parts, depth: parts.count, create: false)
    }

    /// Every key that starts with `prefix`, sorted.
    public func list(prefix: String) async throws -> [String] {
        try await ioPool.run { [self] in try keys(prefix: prefix) }
    }

    /// `list(prefix:)` on the calling thread.
    private func keys(prefix: String) throws(ZarrError) -> [String] {
        try StoreKey.validatePrefix(prefix)
        metrics?.recordRequest(method: "LIST", bytesSent: 0)
        guard let dir = try openPrefix(prefix) else { return [] }
        defer { close(dir) }
        var out: [String] = []
        func walk(_ fd: Int32, _ rel: String) throws(ZarrError) {
            let (files, dirs) = try Self.listing(fd, prefix: rel)
            for f in files { out.append(rel + f) }
            for (name, raw) in dirs {
                guard let sub = try LocalFS.openChild(fd, raw, create: false, key: { rel + name }) else { continue }
                defer { close(sub) }
                try walk(sub, rel + name + "/")
            }
        }
        try walk(dir, prefix)
        return out.sorted()
    }

    /// The keys and the child prefixes one level below `prefix`.
    public func listDirectory(_ prefix: String) async throws -> StoreListing {
        try await ioPool.run { [self] in try directoryListing(prefix) }
    }

    /// `listDirectory(_:)` on the calling thread.
    private func directoryListing(_ prefix: String) throws(ZarrError) -> StoreListing {
        try StoreKey.validatePrefix(prefix)
        metrics?.recordRequest(method: "LIST", bytesSent: 0)
        guard let dir = try openPrefix(prefix) else { return StoreListing(keys: [], prefixes: []) }
        defer { close(dir) }
        let (files, dirs) = try Self.listing(dir, prefix: prefix)
        return StoreListing(keys: files.map { prefix + $0 }, prefixes: dirs.map(\.0))
    }
}

/// The directories a `LocalStore` value has cleaned of stale temporaries (shared by its copies).
final class CleanedDirectories: Sendable {
    private let seen = Mutex<Set<String>>([])

    /// `true` the first time `directory` is given.
    func firstVisit(_ directory: String) -> Bool {
        seen.withLock { $0.insert(directory).inserted }
    }
}
