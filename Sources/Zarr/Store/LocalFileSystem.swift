#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CLocalFS
import Synchronization

/// What a store entry is when it is neither a regular file nor a directory.
public enum SpecialFileKind: String, Sendable, Hashable {
    /// A symbolic link (below a local store's root: never followed).
    case symbolicLink = "symbolic link"
    /// A named pipe (FIFO): reading it could block forever.
    case namedPipe = "named pipe"
    /// A Unix-domain socket.
    case socket
    /// A character device.
    case characterDevice = "character device"
    /// A block device.
    case blockDevice = "block device"
    /// Anything else that is not a regular file or a directory.
    case other = "special file"

    /// The kind of a `st_mode` that is not a regular file or directory.
    init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFLNK: self = .symbolicLink
        case S_IFIFO: self = .namedPipe
        case S_IFSOCK: self = .socket
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        default: self = .other
        }
    }
}

/// Directory-relative POSIX file access for `LocalStore`.
///
/// The policy: the root path may be, or pass through, a symbolic link; below it nothing is
/// followed. Every path below the root is opened one component at a time relative to the
/// directory above it, directories with `O_DIRECTORY | O_NOFOLLOW` and values with
/// `O_NOFOLLOW | O_NONBLOCK` (so that a named pipe cannot block the open) followed by `fstat`,
/// which refuses everything but regular files. A symbolic link met on the way is
/// `ZarrError.unsupportedEntry(kind: .symbolicLink)` naming its key — never data from outside
/// the store, and never a loop. Directories are created (`mkdirat`) and values renamed
/// (`renameat`) relative to directory descriptors opened the same way, so a write cannot pass
/// through a symbolic link either.
enum LocalFS {
    static let directoryFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK
    static let valueFlags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC

    static func errnoText(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

    /// The components of a validated key (or of a prefix without its trailing `/`) as C
    /// strings in one buffer.
    struct Components {
        /// The key's bytes with every `/` replaced by NUL, NUL-terminated.
        var bytes: [CChar]
        /// The key's bytes, NUL-terminated.
        let path: [CChar]
        /// Where each component starts in `bytes`.
        var starts: [Int]
        /// The key.
        let key: String

        init(_ key: String) {
            self.key = key
            path = Array(key.utf8CString)
            bytes = path
            starts = key.isEmpty ? [] : [0]
            for i in 0..<(bytes.count - 1) where bytes[i] == CChar(UInt8(ascii: "/")) {
                bytes[i] = 0
                starts.append(i + 1)
            }
        }

        var count: Int { starts.count }

        /// The key up to and including component `i`, for messages.
        func prefix(through i: Int) -> String {
            let end = i + 1 < starts.count ? starts[i + 1] - 1 : bytes.count - 1
            return String(decoding: bytes[0..<end].map { $0 == 0 ? UInt8(ascii: "/") : UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        /// Calls `body` with the first `depth` components, joined by `/`, as a C string.
        func withPath<T>(depth: Int, _ body: (UnsafePointer<CChar>) -> T) -> T {
            if depth >= starts.count { return body(path) }
            var cut = path
            cut[starts[depth] - 1] = 0
            return body(cut)
        }

        /// Calls `body` with component `i` as a C string.
        func withComponent<T>(_ i: Int, _ body: (UnsafePointer<CChar>) throws(ZarrError) -> T) throws(ZarrError) -> T {
            let start = starts[i]
            let result: Result<T, ZarrError> = bytes.withUnsafeBufferPointer { buf in
                guard let base = buf.baseAddress else { return .failure(.invalidKey(key, reason: "empty key")) }
                do throws(ZarrError) { return .success(try body(base + start)) } catch { return .failure(error) }
            }
            return try result.get()
        }
    }

    /// The `st_mode` of `name` in `dir`, without following a symbolic link; `nil` when it does
    /// not exist.
    static func lstatMode(_ dir: Int32, _ name: UnsafePointer<CChar>) -> mode_t? {
        var st = stat()
        guard fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return st.st_mode & S_IFMT
    }

    /// Opens the store root (following symbolic links in its own path). `nil` when it does not
    /// exist (or is not a directory) and `create` is false.
    static func openRoot(_ root: String, create: Bool) throws(ZarrError) -> Int32? {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK)
        if fd >= 0 { return fd }
        let e = errno
        guard create else {
            if e == ENOENT || e == ENOTDIR { return nil }
            throw .io(key: root, reason: errnoText(e))
        }
        guard e == ENOENT else { throw .io(key: root, reason: errnoText(e)) }
        try makeDirectories(root)
        let again = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK)
        guard again >= 0 else { throw .io(key: root, reason: errnoText()) }
        return again
    }

    /// Creates `dir` and its missing parents (the root of a store, by its own path).
    static func makeDirectories(_ dir: String) throws(ZarrError) {
        if mkdir(dir, 0o755) == 0 || errno == EEXIST { return }
        guard errno == ENOENT else { throw .io(key: dir, reason: errnoText()) }
        if let slash = dir.lastIndex(of: "/"), slash != dir.startIndex {
            try makeDirectories(String(dir[..<slash]))
        }
        if mkdir(dir, 0o755) != 0 && errno != EEXIST { throw .io(key: dir, reason: errnoText()) }
    }

    /// Opens the directory made of the first `depth` components of `path` below `root`,
    /// never following a symbolic link: `nil` when a component is missing (or is a file) and
    /// `create` is false; missing directories are made when it is true. The caller closes the
    /// descriptor.
    static func openDirectory(root: String, _ path: Components, depth: Int, create: Bool) throws(ZarrError) -> Int32? {
        guard var fd = try openRoot(root, create: create) else { return nil }
        if depth > 0, let r = path.withPath(depth: depth, { openBeneath(fd, $0, flags: directoryFlags) }) {
            if r.fd >= 0 { close(fd); return r.fd }
            if !create && r.errno == ENOENT { close(fd); return nil }
            // A symbolic link (ELOOP, or ENOTDIR for the last component), a file in the way, a
            // missing directory to make, ...: the walk says precisely.
        }
        for i in 0..<depth {
            let parent = fd
            defer { close(parent) }
            guard let next = try path.withComponent(i, { (name) throws(ZarrError) -> Int32? in
                try openChild(parent, name, create: create) { path.prefix(through: i) }
            }) else { return nil }
            fd = next
        }
        return fd
    }

    /// Opens the directory `name` in `dir` without following a symbolic link (making it when
    /// missing and `create`); `nil` when it is missing or not a directory and not `create`.
    static func openChild(
        _ dir: Int32, _ name: UnsafePointer<CChar>, create: Bool, key: () -> String
    ) throws(ZarrError) -> Int32? {
        var made = false
        while true {
            let fd = openat(dir, name, directoryFlags)
            if fd >= 0 { return fd }
            let e = errno
            if e == EINTR { continue }
            if e == ENOENT {
                guard create, !made else {
                    if create { throw .io(key: key(), reason: errnoText(e)) }
                    return nil
                }
                if mkdirat(dir, name, 0o755) != 0 && errno != EEXIST { throw .io(key: key(), reason: errnoText()) }
                made = true
                continue
            }
            if e == ENOTDIR || e == ELOOP {
                guard let mode = lstatMode(dir, name) else { return nil }
                if mode == S_IFLNK { throw .unsupportedEntry(key: key(), kind: .symbolicLink) }
                if mode == S_IFDIR { continue }  // replaced meanwhile
                if create {
                    if mode == S_IFREG { throw .io(key: key(), reason: "a file is in the way of a directory") }
                    throw .unsupportedEntry(key: key(), kind: SpecialFileKind(mode: mode))
                }
                return nil
            }
            throw .io(key: key(), reason: errnoText(e))
        }
    }

    /// Whether `openat2` may be tried (cleared when the system lacks it).
    static let beneathAvailable = Atomic<Bool>(true)

    /// Opens `path` (components joined by `/`) below the directory `dir` in one call,
    /// following no symbolic link (`openat2` with `RESOLVE_NO_SYMLINKS`; `path` is made of
    /// validated key components, never `..`, so it cannot leave `dir` otherwise):
    /// the descriptor, or `-1` and the error. `nil` when that cannot be done here, and the
    /// caller walks the components itself.
    static func openBeneath(_ dir: Int32, _ path: UnsafePointer<CChar>, flags: Int32) -> (fd: Int32, errno: Int32)? {
        guard beneathAvailable.load(ordering: .relaxed) else { return nil }
        for _ in 0..<8 {
            let fd = zarr_open_beneath(dir, path, flags, 0)
            if fd >= 0 { return (fd, 0) }
            let e = errno
            if e == EINTR || e == EAGAIN { continue }
            if e == ENOSYS { beneathAvailable.store(false, ordering: .relaxed); return nil }
            if e == EPERM || e == EINVAL || e == E2BIG { return nil }  // a sandbox: walk instead
            return (-1, e)
        }
        return nil
    }

    /// Opens the value at `key` below the open root `rootFD` for reading: `nil` when it is
    /// missing or a directory; `unsupportedEntry` for a symbolic link on the way or at the key,
    /// or a special file (a named pipe is never waited on).
    static func openValue(root rootFD: Int32, _ path: Components) throws(ZarrError) -> OpenFile? {
        let key = path.key
        if let r = path.withPath(depth: path.count, { openBeneath(rootFD, $0, flags: valueFlags) }) {
            if r.fd >= 0 { return try opened(r.fd, key: key) }
            if r.errno == ENOENT { return nil }
            // ELOOP (a symbolic link), ENOTDIR (a file in the way), ENXIO (a socket), ...: the
            // walk says precisely.
        }
        var dir = dup(rootFD)
        guard dir >= 0 else { throw .io(key: key, reason: errnoText()) }
        for i in 0..<(path.count - 1) {
            let parent = dir
            defer { close(parent) }
            guard let next = try path.withComponent(i, { (name) throws(ZarrError) -> Int32? in
                try openChild(parent, name, create: false) { path.prefix(through: i) }
            }) else { return nil }
            dir = next
        }
        defer { close(dir) }
        return try path.withComponent(path.count - 1) { (name) throws(ZarrError) in try openValue(dir, name, key: key) }
    }

    /// An open value: its descriptor and size.
    struct OpenFile {
        var fd: Int32
        var size: Int
    }

    /// Opens the regular file `name` in `dir` for reading: `nil` when it is missing or a
    /// directory; `unsupportedEntry` for a symbolic link or a special file (never blocking).
    static func openValue(_ dir: Int32, _ name: UnsafePointer<CChar>, key: String) throws(ZarrError) -> OpenFile? {
        var fd: Int32
        repeat { fd = openat(dir, name, valueFlags) } while fd < 0 && errno == EINTR
        if fd < 0 {
            let e = errno
            if e == ENOENT || e == ENOTDIR { return nil }
            if e == ELOOP || e == ENXIO || e == EOPNOTSUPP, let mode = lstatMode(dir, name), mode != S_IFREG, mode != S_IFDIR {
                throw .unsupportedEntry(key: key, kind: SpecialFileKind(mode: mode))
            }
            throw .io(key: key, reason: errnoText(e))
        }
        return try opened(fd, key: key)
    }

    /// `fd` as an open value when it is a regular file (else it is closed): `nil` for a
    /// directory, `unsupportedEntry` for a special file.
    static func opened(_ fd: Int32, key: String) throws(ZarrError) -> OpenFile? {
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw .io(key: key, reason: errnoText(e))
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return OpenFile(fd: fd, size: Int(st.st_size))
        case S_IFDIR: close(fd); return nil
        default: close(fd); throw .unsupportedEntry(key: key, kind: SpecialFileKind(mode: st.st_mode))
        }
    }

    /// Reads `count` bytes at `offset` of `fd`, into a buffer from `recycler` when it has one
    /// big enough.
    static func read(_ fd: Int32, offset: Int, count: Int, key: String, recycling recycler: BufferRecycler? = nil) throws(ZarrError) -> [UInt8] {
        var failure: ZarrError?
        /// Fills `base` from the file; the bytes read.
        func fill(_ base: UnsafeMutablePointer<UInt8>) -> Int {
            var done = 0
            while done < count {
                let n = pread(fd, base + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = .io(key: key, reason: errnoText())
                    return done
                }
                if n == 0 { break }
                done += n
            }
            return done
        }
        var bytes: [UInt8]
        if var reused = recycler?.reused(count) {
            let done = reused.withUnsafeMutableBufferPointer { buf in buf.baseAddress.map(fill) ?? 0 }
            if done < count { reused.removeLast(count - done) }
            bytes = reused
        } else {
            bytes = [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
                initialized = buf.baseAddress.map(fill) ?? 0
            }
        }
        if let failure { throw failure }
        guard bytes.count == count else { throw .io(key: key, reason: "file shrank while reading") }
        return bytes
    }

    /// Writes all of `buf` to `fd`; the error text, or `nil`.
    static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer) -> String? {
        guard let base = buf.baseAddress else { return nil }
        var done = 0
        while done < buf.count {
            let n = write(fd, base + done, buf.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return errnoText()
            }
            done += n
        }
        return nil
    }

    // MARK: - Directory entries

    /// One entry of a directory: its raw name (NUL-terminated) and what it is.
    struct Entry {
        var name: [CChar]
        /// `S_IFREG`, `S_IFDIR`, `S_IFLNK`, ... (never `0`: unknown types are looked up).
        var mode: mode_t

        /// The name, or `nil` when it is not valid UTF-8.
        var string: String? {
            String(validating: name.dropLast().lazy.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        /// The name for messages: invalid bytes as `\xNN`.
        var display: String { LocalFS.display(name.dropLast().map { UInt8(bitPattern: $0) }) }

        var isDotOrDotDot: Bool {
            name.count == 2 && name[0] == 0x2E || name.count == 3 && name[0] == 0x2E && name[1] == 0x2E
        }
    }

    /// `name` as text for messages: valid UTF-8 as is, each invalid byte as `\xNN`.
    static func display(_ name: [UInt8]) -> String {
        var out = ""
        var bytes = name[...]
        while !bytes.isEmpty {
            // The longest valid UTF-8 prefix, then one invalid byte.
            var n = bytes.count
            while n > 0, String(validating: bytes.prefix(n), as: UTF8.self) == nil { n -= 1 }
            if n > 0 {
                out += String(decoding: bytes.prefix(n), as: UTF8.self)
                bytes = bytes.dropFirst(n)
            } else if let b = bytes.first {
                out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
                bytes = bytes.dropFirst()
            }
        }
        return out
    }

    /// Every entry of the open directory `dir` except `.` and `..` (the descriptor stays open).
    static func entries(_ dir: Int32, key: String) throws(ZarrError) -> [Entry] {
        let copy = dup(dir)
        guard copy >= 0 else { throw .io(key: key, reason: errnoText()) }
        guard let d = fdopendir(copy) else {
            let e = errno
            close(copy)
            throw .io(key: key, reason: errnoText(e))
        }
        defer { closedir(d) }
        rewinddir(d)
        var out: [Entry] = []
        while true {
            errno = 0
            guard let e = readdir(d) else {
                if errno != 0 { throw .io(key: key, reason: errnoText()) }
                break
            }
            var name = withUnsafeBytes(of: e.pointee.d_name) { raw -> [CChar] in
                let bytes = raw.prefix(while: { $0 != 0 })
                return bytes.map { CChar(bitPattern: $0) }
            }
            name.append(0)
            var entry = Entry(name: name, mode: 0)
            if entry.isDotOrDotDot { continue }
            switch Int32(e.pointee.d_type) {
            case Int32(DT_REG): entry.mode = S_IFREG
            case Int32(DT_DIR): entry.mode = S_IFDIR
            case Int32(DT_LNK): entry.mode = S_IFLNK
            default:
                guard let mode = lstatMode(dir, name) else { continue }  // removed meanwhile
                entry.mode = mode
            }
            out.append(entry)
        }
        return out
    }

    // MARK: - Temporary files

    /// The prefix of the temporary files values are written to before they are renamed into
    /// place: `.zarr-tmp.<pid>.<16 hex digits>`. Only names of exactly this form are
    /// temporaries; they are hidden from listings, and everything else (`.tmp-score`) is a key.
    static let temporaryPrefix: [UInt8] = Array(".zarr-tmp.".utf8)

    /// A fresh temporary name for this process.
    static func temporaryName() -> String {
        let r = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return ".zarr-tmp.\(getpid())." + String(repeating: "0", count: 16 - r.count) + r
    }

    /// The writer's process id when `name` is a temporary name (see `temporaryPrefix`).
    static func temporaryOwner(_ name: [CChar]) -> Int32? {
        let bytes = name.last == 0 ? name.dropLast().map { UInt8(bitPattern: $0) } : name.map { UInt8(bitPattern: $0) }
        guard bytes.count > temporaryPrefix.count + 18, bytes.starts(with: temporaryPrefix) else { return nil }
        let rest = bytes[temporaryPrefix.count...]
        guard let dot = rest.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        let digits = rest[..<dot], hex = rest[(dot + 1)...]
        guard (1...10).contains(digits.count), digits.allSatisfy({ (0x30...0x39).contains($0) }),
              hex.count == 16, hex.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
              let pid = Int32(String(decoding: digits, as: UTF8.self)) else { return nil }
        return pid
    }

    /// Whether the temporary file `name` in `dir`, written by process `pid`, is stale: its
    /// writer is gone, or it has not been written for `maxAge` seconds.
    static func isStale(_ dir: Int32, _ name: [CChar], pid: Int32, maxAge: Int) -> Bool {
        if pid != getpid(), kill(pid, 0) != 0, errno == ESRCH { return true }
        var st = stat()
        guard fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
        #if canImport(Darwin)
        let modified = Int(st.st_mtimespec.tv_sec)
        #else
        let modified = Int(st.st_mtim.tv_sec)
        #endif
        return Int(time(nil)) - modified > maxAge
    }

    /// Removes the stale temporary files (see `isStale`) directly in `dir`; returns how many.
    @discardableResult
    static func removeStaleTemporaries(in dir: Int32, entries: [Entry], maxAge: Int) -> Int {
        var removed = 0
        for e in entries where e.mode == S_IFREG {
            guard let pid = temporaryOwner(e.name), isStale(dir, e.name, pid: pid, maxAge: maxAge) else { continue }
            if unlinkat(dir, e.name, 0) == 0 { removed += 1 }
        }
        return removed
    }

    // MARK: - Removal

    /// Removes `name` in `dir` and, for a directory, everything below it; a symbolic link is
    /// removed itself (never followed). A missing entry is not an error.
    static func remove(_ dir: Int32, _ name: [CChar], key: String) throws(ZarrError) {
        guard let mode = lstatMode(dir, name) else { return }
        if mode == S_IFDIR {
            guard let sub = try openChild(dir, name, create: false, key: { key }) else { return }
            defer { close(sub) }
            try removeContents(sub, key: key)
            if unlinkat(dir, name, AT_REMOVEDIR) != 0 && errno != ENOENT { throw .io(key: key, reason: errnoText()) }
        } else if unlinkat(dir, name, 0) != 0 && errno != ENOENT {
            throw .io(key: key, reason: errnoText())
        }
    }

    /// Removes everything in the open directory `dir` (temporaries and names that are not
    /// UTF-8 included).
    static func removeContents(_ dir: Int32, key: String) throws(ZarrError) {
        for e in try entries(dir, key: key) {
            try remove(dir, e.name, key: key.isEmpty ? e.display : key + "/" + e.display)
        }
    }
}
