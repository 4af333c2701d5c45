#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A store in a local directory, the default. Keys map to files below `root`.
///
/// It uses POSIX I/O directly: every write goes to a temporary file in the same directory that
/// is then renamed over the key, so a failed write leaves the earlier value intact. Keys are
/// validated, so no key can reach outside `root`.
public struct LocalStore: WritableStore, ListableStore {
    /// The directory that holds the store.
    public let root: String
    /// Counters for the store's operations (each read, write, delete and listing counts as
    /// one request: `GET`, `PUT`, `DELETE`, `LIST`), if any.
    public let metrics: StoreMetrics?

    /// A store rooted at `root` (created on the first write if missing), reporting into
    /// `metrics` when given.
    public init(root: String, metrics: StoreMetrics? = nil) {
        var r = root
        while r.count > 1 && r.hasSuffix("/") { r.removeLast() }
        self.root = r
        self.metrics = metrics
    }

    /// A short description of the store, for messages.
    public var storeDescription: String { root }

    func path(_ key: String) -> String { root + "/" + key }

    static func errnoText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

    /// The value at `key`, or `nil` when there is none.
    public func get(_ key: String) async throws -> [UInt8]? {
        try get(key, range: .all, validated: false)
    }

    /// The bytes of `range` in the value at `key`, or `nil` when there is none.
    public func get(_ key: String, range: ByteRange) async throws -> [UInt8]? {
        try get(key, range: range, validated: false)
    }

    func get(_ key: String, range: ByteRange, validated: Bool) throws -> [UInt8]? {
        try StoreKey.validate(key)
        metrics?.recordRequest(method: "GET", bytesSent: 0)
        let fd = open(path(key), O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR || errno == EISDIR { return nil }
            throw ZarrError.io(key: key, reason: Self.errnoText())
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ZarrError.io(key: key, reason: Self.errnoText()) }
        if (st.st_mode & S_IFMT) == S_IFDIR { return nil }
        let r = range.resolved(size: Int(st.st_size))
        let count = r.count
        return try [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            var done = 0
            while done < count {
                let n = pread(fd, buf.baseAddress! + done, count - done, off_t(r.lowerBound + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ZarrError.io(key: key, reason: Self.errnoText())
                }
                if n == 0 { break }
                done += n
            }
            guard done == count else { throw ZarrError.io(key: key, reason: "file shrank while reading") }
            initialized = count
            metrics?.recordReceived(count)
        }
    }

    /// Whether a value exists at `key`.
    public func exists(_ key: String) async throws -> Bool {
        try StoreKey.validate(key)
        var st = stat()
        return stat(path(key), &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// The size of the value at `key`, or `nil`.
    public func size(of key: String) throws -> Int? {
        try StoreKey.validate(key)
        var st = stat()
        guard stat(path(key), &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(st.st_size)
    }

    static func makeDirectories(_ dir: String) throws {
        if mkdir(dir, 0o755) == 0 || errno == EEXIST { return }
        guard errno == ENOENT else { throw ZarrError.io(key: dir, reason: errnoText()) }
        if let slash = dir.lastIndex(of: "/"), slash != dir.startIndex {
            try makeDirectories(String(dir[..<slash]))
        }
        if mkdir(dir, 0o755) != 0 && errno != EEXIST { throw ZarrError.io(key: dir, reason: errnoText()) }
    }

    /// Stores `value` at `key` atomically: a temporary file in the same directory, renamed over the key.
    public func set(_ key: String, _ value: [UInt8]) async throws {
        try StoreKey.validate(key)
        metrics?.recordRequest(method: "PUT", bytesSent: value.count)
        let target = path(key)
        let dir = String(target[..<(target.lastIndex(of: "/") ?? target.endIndex)])
        try Self.makeDirectories(dir)
        let tmp = dir + "/.tmp-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ZarrError.io(key: key, reason: Self.errnoText()) }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        let writeError: String? = value.withUnsafeBytes { buf in
            var done = 0
            while done < buf.count {
                let n = write(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return Self.errnoText()
                }
                done += n
            }
            return nil
        }
        if close(fd) != 0, writeError == nil { throw ZarrError.io(key: key, reason: Self.errnoText()) }
        if let writeError { throw ZarrError.io(key: key, reason: writeError) }
        guard rename(tmp, target) == 0 else { throw ZarrError.io(key: key, reason: Self.errnoText()) }
        ok = true
    }

    /// Removes the value at `key`; a missing key is not an error.
    public func delete(_ key: String) async throws {
        try StoreKey.validate(key)
        metrics?.recordRequest(method: "DELETE", bytesSent: 0)
        if unlink(path(key)) != 0 && errno != ENOENT && errno != ENOTDIR {
            throw ZarrError.io(key: key, reason: Self.errnoText())
        }
    }

    /// Removes every value whose key starts with `prefix` (`""`: everything).
    public func deletePrefix(_ prefix: String) async throws {
        try StoreKey.validatePrefix(prefix)
        if prefix.isEmpty {
            for name in try Self.entries(root) { try Self.removeTree(root + "/" + name) }
        } else {
            try Self.removeTree(path(String(prefix.dropLast())))
        }
    }

    static func removeTree(_ p: String) throws {
        var st = stat()
        guard lstat(p, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in try entries(p) { try removeTree(p + "/" + name) }
            if rmdir(p) != 0 && errno != ENOENT { throw ZarrError.io(key: p, reason: errnoText()) }
        } else if unlink(p) != 0 && errno != ENOENT {
            throw ZarrError.io(key: p, reason: errnoText())
        }
    }

    /// The names in directory `dir`, without `.` and `..`; empty if it does not exist.
    static func entries(_ dir: String) throws -> [String] {
        guard let d = opendir(dir) else {
            if errno == ENOENT || errno == ENOTDIR { return [] }
            throw ZarrError.io(key: dir, reason: errnoText())
        }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." || name.hasPrefix(".tmp-") { continue }
            names.append(name)
        }
        return names
    }

    static func isDirectory(_ p: String) -> Bool {
        var st = stat()
        return stat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Every key that starts with `prefix`, sorted.
    public func list(prefix: String) async throws -> [String] {
        try StoreKey.validatePrefix(prefix)
        metrics?.recordRequest(method: "LIST", bytesSent: 0)
        var out: [String] = []
        func walk(_ rel: String) throws {
            let dir = rel.isEmpty ? root : path(String(rel.dropLast()))
            for name in try Self.entries(dir) {
                if Self.isDirectory(dir + "/" + name) { try walk(rel + name + "/") } else { out.append(rel + name) }
            }
        }
        try walk(prefix)
        return out.sorted()
    }

    /// The keys and the child prefixes one level below `prefix`.
    public func listDirectory(_ prefix: String) async throws -> StoreListing {
        try StoreKey.validatePrefix(prefix)
        metrics?.recordRequest(method: "LIST", bytesSent: 0)
        let dir = prefix.isEmpty ? root : path(String(prefix.dropLast()))
        var keys: [String] = []
        var dirs: [String] = []
        for name in try Self.entries(dir).sorted() {
            if Self.isDirectory(dir + "/" + name) { dirs.append(name) } else { keys.append(prefix + name) }
        }
        return StoreListing(keys: keys, prefixes: dirs)
    }
}
