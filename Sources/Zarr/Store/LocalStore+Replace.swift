import CLocalFS
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing a whole local store so that nothing is lost: the new store is written into a sibling
/// temporary directory (`.<name>.zarr-partial-<random>`) and swapped into place only when
/// complete.
///
/// - The destination is refused when it is not empty and not a Zarr store, or when it is a
///   store and the policy says `.refuse`; it is refused when it is a symbolic link or not a
///   directory.
/// - Concurrent writers of one destination fail loudly: each holds an exclusive advisory lock
///   (`flock`) on the destination directory for the whole write; a second writer gets
///   `ZarrError.storeBusy` at once.
/// - The swap is one atomic `renameat2(RENAME_EXCHANGE)`: readers see the old store or the new
///   one. Until then the old store is untouched, so a failure, a full disk or `kill -9` leaves it
///   intact; the abandoned temporary directory is recognised by name and removed by the next
///   write to the same destination (only when no live writer holds its lock). Where the file
///   system cannot exchange, the old store is renamed aside first (a short window in which the
///   destination is missing, never half-written).
///
/// Cost: one extra directory, two renames and the removal of the old store's files. The file
/// system work (directory checks, renames, removals of whole trees) runs on a `BlockingIOPool`,
/// never on the Swift concurrency pool; the swap and the removals happen even when the task is
/// cancelled meanwhile, so that nothing is left half done.
public enum LocalStoreReplacement {
    /// The marker in the names of temporary directories.
    static let marker = ".zarr-partial-"

    /// Writes a new store for `root` through `body`, which gets an empty `LocalStore` in a
    /// temporary directory, and swaps it into place when `body` returns. On any error the
    /// temporary directory is removed and the destination is left as it was. The stores `body`
    /// gets, and the replacement's own file system work, use `ioPool`.
    public static func write<T: Sendable>(
        root: String, existing: ExistingStorePolicy, metrics: StoreMetrics? = nil, ioPool: BlockingIOPool = .shared,
        _ body: (LocalStore) async throws -> T
    ) async throws -> T {
        let dst = try destinationPath(root)
        let (parent, name) = split(dst)
        let lock = try await ioPool.run { () throws -> DirectoryLock in
            try LocalFS.makeDirectories(parent)
            removeAbandoned(in: parent, name: name)
            var st = stat()
            if lstat(dst, &st) != 0 {
                guard errno == ENOENT else { throw ZarrError.io(key: dst, reason: LocalStore.errnoText()) }
                // A new destination: an empty directory holds its place (and its lock).
                if mkdir(dst, 0o755) != 0 && errno != EEXIST { throw ZarrError.io(key: dst, reason: LocalStore.errnoText()) }
            } else if (st.st_mode & S_IFMT) == S_IFLNK {
                throw ZarrError.refusedDestination(dst, reason: "it is a symbolic link (give the directory it points to)")
            } else if (st.st_mode & S_IFMT) != S_IFDIR {
                throw ZarrError.refusedDestination(dst, reason: "it exists and is not a directory")
            }
            return try DirectoryLock(dst)
        }
        defer { lock.release() }
        // Inspect under the lock: nobody else is replacing it now.
        try existing.check(try await StoreContents.inspect(LocalStore(root: dst, ioPool: ioPool)), destination: dst)

        let tmp = parent + "/." + name + marker + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let tmpLock = try await ioPool.run { () throws -> DirectoryLock in try makeLockedTemporary(tmp) }
        defer { tmpLock.release() }
        let result: T
        do {
            result = try await body(LocalStore(root: tmp, metrics: metrics, ioPool: ioPool))
        } catch {
            await ioPool.runRegardless { _ = zarr_remove_tree(tmp) }
            throw error
        }
        // `tmp` then holds the old store (or the empty placeholder): removed now, or by the next
        // write if this process dies first.
        try await ioPool.runRegardless { () throws in
            try swap(tmp, into: dst)
            _ = zarr_remove_tree(tmp)
        }
        return result
    }

    /// Makes the temporary directory `tmp` and locks it (removing it again when the lock fails).
    static func makeLockedTemporary(_ tmp: String) throws(ZarrError) -> DirectoryLock {
        guard mkdir(tmp, 0o755) == 0 else { throw ZarrError.io(key: tmp, reason: LocalStore.errnoText()) }
        do { return try DirectoryLock(tmp) } catch { _ = zarr_remove_tree(tmp); throw error }
    }

    /// `root` without trailing slashes; the file-system root and empty paths are refused.
    static func destinationPath(_ root: String) throws(ZarrError) -> String {
        var r = root
        while r.count > 1 && r.hasSuffix("/") { r.removeLast() }
        let last = r.split(separator: "/").last.map(String.init) ?? ""
        if r.isEmpty || r == "/" || last == "." || last == ".." {
            throw .refusedDestination(root, reason: "a store must be a named directory")
        }
        return r
    }

    /// The parent directory and the last component of `path`.
    static func split(_ path: String) -> (parent: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let parent = slash == path.startIndex ? "/" : String(path[..<slash])
        return (parent, String(path[path.index(after: slash)...]))
    }

    /// Exchanges `tmp` and `dst` atomically; where the file system cannot, moves `dst` aside
    /// into `tmp`'s place by two renames.
    static func swap(_ tmp: String, into dst: String) throws(ZarrError) {
        if zarr_rename_exchange(AT_FDCWD, tmp, dst) == 0 { return }
        let e = errno
        guard e == EINVAL || e == ENOSYS || e == ENOTSUP else { throw .io(key: dst, reason: LocalStore.errnoText(e)) }
        let aside = tmp + ".old"
        guard rename(dst, aside) == 0 else { throw .io(key: dst, reason: LocalStore.errnoText()) }
        guard rename(tmp, dst) == 0 else {
            let text = LocalStore.errnoText()
            _ = rename(aside, dst)
            throw .io(key: dst, reason: text)
        }
        _ = rename(aside, tmp)
    }

    /// Removes the temporary directories of earlier writes to `name` in `parent` whose writer is
    /// gone (its lock is free). Best effort: what cannot be removed now is left for later.
    static func removeAbandoned(in parent: String, name: String) {
        let prefix = "." + name + marker
        guard let dir = opendir(parent) else { return }
        var abandoned: [String] = []
        while let e = readdir(dir) {
            let entry = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if entry.hasPrefix(prefix) { abandoned.append(parent + "/" + entry) }
        }
        closedir(dir)
        for path in abandoned {
            guard let lock = try? DirectoryLock(path) else { continue }  // a live writer
            _ = zarr_remove_tree(path)
            lock.release()
        }
    }
}

/// An exclusive advisory lock (`flock`) on a directory, held until `release()` (or until the
/// process ends, however it ends). Locks are per open file description: two locks on one
/// directory exclude each other even within one process.
public final class DirectoryLock: Sendable {
    private let fd: Int32
    /// The locked directory.
    public let path: String

    /// Locks the directory at `path` now, or throws `ZarrError.storeBusy` when another holder
    /// has it (or replaced the directory meanwhile).
    public init(_ path: String) throws(ZarrError) {
        guard let fd = try Self.tryLock(path) else {
            throw .storeBusy(path, reason: "another process is writing it (try again when it has finished)")
        }
        self.fd = fd
        self.path = path
    }

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// Locks the directory at `path`, waiting (without blocking a thread) while another holder
    /// has it, for at most `timeoutSeconds`; then `ZarrError.storeBusy`.
    public static func waitingLock(_ path: String, timeoutSeconds: Double = 600) async throws -> DirectoryLock {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int(timeoutSeconds * 1000))
        while true {
            if let fd = try tryLock(path) { return DirectoryLock(fd: fd, path: path) }
            guard clock.now < deadline else {
                throw ZarrError.storeBusy(path, reason: "another process kept it locked for \(Int(timeoutSeconds)) s")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The locked descriptor, or `nil` when another holder has the lock.
    private static func tryLock(_ path: String) throws(ZarrError) -> Int32? {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw .io(key: path, reason: LocalStore.errnoText()) }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            if e == EINTR { continue }
            close(fd)
            if e == EWOULDBLOCK { return nil }
            throw .io(key: path, reason: LocalStore.errnoText(e))
        }
        // The path must still name the directory that was locked.
        var held = stat(), now = stat()
        guard fstat(fd, &held) == 0, lstat(path, &now) == 0, held.st_ino == now.st_ino, held.st_dev == now.st_dev else {
            close(fd)
            throw .storeBusy(path, reason: "it was replaced by another writer meanwhile")
        }
        return fd
    }

    /// Releases the lock (also released when this object goes away).
    public func release() {
        flock(fd, LOCK_UN)
    }

    deinit { close(fd) }
}

extension LocalStoreReplacement {
    /// Writes the node at `path` of `store` anew, so that an interrupted write leaves the old
    /// node intact: `body` gets a store in which every key under `path` goes to a temporary
    /// directory beside the store (`.<store>.zarr-partial-<random>`, outside the hierarchy, so
    /// no listing ever sees it), and the finished node is swapped into place by one atomic
    /// exchange (or a rename, for a new node). Keys outside `path` (parent groups) are written to
    /// the store directly. Writers of one store take turns (an exclusive lock on its directory,
    /// waited for).
    public static func replaceNode<T: Sendable>(
        in store: LocalStore, path: String, _ body: (any WritableStore) async throws -> T
    ) async throws -> T {
        let node = try StoreKey.normalizeNodePath(path)
        guard !node.isEmpty else { throw ZarrError.invalidKey(path, reason: "replaceNode needs a node below the root") }
        let root = try destinationPath(store.root)
        let pool = store.ioPool
        try await pool.run { () throws in try LocalFS.makeDirectories(root) }
        let lock = try await DirectoryLock.waitingLock(root)
        defer { lock.release() }
        let (parent, name) = split(root)
        let tmp = parent + "/." + name + marker + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let tmpLock = try await pool.run { () throws -> DirectoryLock in
            removeAbandoned(in: parent, name: name)
            return try makeLockedTemporary(tmp)
        }
        let result: T
        do {
            let redirect = NodeRedirectStore(
                base: store, temporary: LocalStore(root: tmp, metrics: store.metrics, ioPool: pool), prefix: node + "/")
            result = try await body(redirect)
            try await pool.runRegardless { () throws in
                let written = tmp + "/" + node, target = root + "/" + node
                var st = stat()
                guard lstat(written, &st) == 0 else { return }  // nothing under the node was written
                if lstat(target, &st) == 0 {
                    try swap(written, into: target)
                } else {
                    try LocalFS.makeDirectories(String(target[..<(target.lastIndex(of: "/") ?? target.endIndex)]))
                    guard rename(written, target) == 0 else { throw ZarrError.io(key: node, reason: LocalStore.errnoText()) }
                }
            }
        } catch {
            await pool.runRegardless { _ = zarr_remove_tree(tmp) }
            tmpLock.release()
            throw error
        }
        await pool.runRegardless { _ = zarr_remove_tree(tmp) }
        tmpLock.release()
        return result
    }

    /// Removes the node at `path` of `store` at once: its directory is renamed out of the store
    /// (one atomic step), then deleted.
    public static func removeNode(in store: LocalStore, path: String) async throws {
        let node = try StoreKey.normalizeNodePath(path)
        guard !node.isEmpty else { throw ZarrError.invalidKey(path, reason: "removeNode needs a node below the root") }
        let root = try destinationPath(store.root)
        let lock = try await DirectoryLock.waitingLock(root)
        defer { lock.release() }
        let (parent, name) = split(root)
        let tmp = parent + "/." + name + marker + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let moved = try await store.ioPool.run { () throws -> Bool in
            if rename(root + "/" + node, tmp) != 0 {
                if errno == ENOENT { return false }
                throw ZarrError.io(key: node, reason: LocalStore.errnoText())
            }
            return true
        }
        if moved { await store.ioPool.runRegardless { _ = zarr_remove_tree(tmp) } }
    }
}

/// A store that sends the keys under `prefix` to `temporary` and all others to `base`: the
/// staging area of `LocalStoreReplacement.replaceNode`.
struct NodeRedirectStore: WritableStore {
    let base: LocalStore
    let temporary: LocalStore
    let prefix: String

    var storeDescription: String { base.storeDescription }

    func route(_ key: String) -> LocalStore { key.hasPrefix(prefix) ? temporary : base }

    func get(_ key: String) async throws -> [UInt8]? { try await route(key).get(key) }
    func get(_ key: String, range: ByteRange) async throws -> [UInt8]? { try await route(key).get(key, range: range) }
    func exists(_ key: String) async throws -> Bool { try await route(key).exists(key) }
    func set(_ key: String, _ value: [UInt8]) async throws { try await route(key).set(key, value) }
    func delete(_ key: String) async throws { try await route(key).delete(key) }
    func deletePrefix(_ p: String) async throws {
        if p.hasPrefix(prefix) { try await temporary.deletePrefix(p); return }
        guard !prefix.hasPrefix(p) else {
            throw ZarrError.unsupportedOperation("deleting '\(p)' while replacing the node '\(prefix.dropLast())' below it")
        }
        try await base.deletePrefix(p)
    }
}
