#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib

/// A read-only store over a zip archive, such as the `.zarr.zip` files that zarr-python's
/// `ZipStore` and anndata write (Python's `zipfile`, usually `ZIP_STORED`, sometimes
/// `ZIP_DEFLATED`).
///
/// Entry names are the keys: zarr-python writes them at the archive root (`zarr.json`,
/// `X/c/0/0`). Directory entries (names ending in `/`) are skipped, and when a name appears
/// more than once the last entry in the central directory wins, as in other zip readers. Names
/// that are not valid store keys (`../evil`, absolute paths) are unreachable; a name that is
/// not UTF-8 is reported: listing a prefix above it throws `ZarrError.invalidEntryName`
/// naming its directory, rather than dropping it silently.
///
/// The archive is opened once and read with POSIX `pread`, so concurrent reads need no lock;
/// reads run on a `BlockingIOPool` (the shared one unless given another), never on the Swift
/// concurrency pool.
/// Stored entries serve byte ranges straight from the file; deflated entries are inflated with
/// zlib. Whole reads check the entry's CRC-32. Zip64 archives are supported; multi-disk
/// archives and encrypted entries are not.
///
/// The class is `Sendable` without `@unchecked`: every stored property is an immutable
/// `Sendable` value, and `pread` on the shared descriptor does not move a file position.
public final class ZipStore: ListableStore {
    /// The path of the archive.
    public let path: String
    private let fd: Int32
    /// Counters for the entries read (one `GET` request each), if any.
    public let metrics: StoreMetrics?
    private let fileSize: UInt64
    private let entries: [String: ZipEntry]
    private let sortedKeys: [String]
    /// Entry names that are not UTF-8 (no key can name them), reported by listings.
    private let undecodableNames: [[UInt8]]
    /// The size limits readers apply to this store (the metadata limit also bounds the
    /// archive's central directory).
    public let readLimits: ReadLimits
    /// The threads that do this store's reads.
    public let ioPool: BlockingIOPool

    /// Opens the archive at `path` and reads its central directory.
    ///
    /// Throws `ZarrError.io` if the file cannot be opened or is not a readable zip archive (no
    /// end of central directory record, a truncated directory, entries pointing past the end of
    /// the file), `ZarrError.unsupportedEntry` when `path` is not a regular file (a named pipe
    /// is refused without blocking), `ZarrError.valueTooLarge` for a central directory over
    /// `readLimits.metadataDocumentBytes`, and `ZarrError.unsupportedOperation` for multi-disk
    /// archives. Reads run on `ioPool`.
    public init(
        path: String, metrics: StoreMetrics? = nil, readLimits: ReadLimits = .standard, ioPool: BlockingIOPool = .shared
    ) throws(ZarrError) {
        // O_NONBLOCK: opening a named pipe must not wait for a writer; fstat then refuses it.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw .io(key: path, reason: String(cString: strerror(errno))) }
        do throws(ZarrError) {
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw ZarrError.io(key: path, reason: String(cString: strerror(errno))) }
            guard (st.st_mode & S_IFMT) == S_IFREG else {
                if (st.st_mode & S_IFMT) == S_IFDIR { throw ZarrError.io(key: path, reason: "a directory, not a zip archive") }
                throw ZarrError.unsupportedEntry(key: path, kind: SpecialFileKind(mode: st.st_mode))
            }
            let size = UInt64(max(0, st.st_size))
            let list = try ZipArchive.readDirectory(fd: fd, fileSize: size, path: path,
                                                    maxDirectoryBytes: readLimits.metadataDocumentBytes)
            var map: [String: ZipEntry] = [:]
            var undecodable: [[UInt8]] = []
            for entry in list {
                guard let key = Self.key(forEntryName: entry.rawName) else {
                    if String(validating: entry.rawName, as: UTF8.self) == nil { undecodable.append(entry.rawName) }
                    continue
                }
                map[key] = entry  // a later entry replaces an earlier one
            }
            self.path = path
            self.metrics = metrics
            self.fd = fd
            self.fileSize = size
            self.entries = map
            self.sortedKeys = map.keys.sorted()
            self.readLimits = readLimits
            self.ioPool = ioPool
            self.undecodableNames = undecodable
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// The key an entry name maps to, or `nil` for directory entries and names that are not
    /// valid keys (hostile paths, bytes that are not UTF-8).
    static func key(forEntryName raw: [UInt8]) -> String? {
        guard let last = raw.last, last != UInt8(ascii: "/") else { return nil }
        let name = String(decoding: raw, as: UTF8.self)
        guard Array(name.utf8) == raw else { return nil }  // not valid UTF-8
        do { try StoreKey.validate(name) } catch { return nil }
        return name
    }

    /// The archive path.
    public var storeDescription: String { path }

    /// The number of keys in the archive.
    public var count: Int { sortedKeys.count }

    /// The whole value at `key`, or `nil` if the archive has no such entry.
    ///
    /// Throws `ZarrError.invalidKey` for keys such as `../x`, `ZarrError.corruptChunk` when the
    /// entry fails to inflate, has the wrong size, or fails its CRC-32 check, `ZarrError.io`
    /// when the archive is truncated, and `ZarrError.unsupportedOperation` for compression
    /// methods other than stored and deflated, or encrypted entries.
    public func get(_ key: String) async throws -> [UInt8]? {
        try await ioPool.run { [self] in try readValue(key) }
    }

    /// `get(_:)` on the calling thread.
    private func readValue(_ key: String) throws(ZarrError) -> [UInt8]? {
        try StoreKey.validate(key)
        metrics?.recordRequest(method: "GET", bytesSent: 0)
        guard let entry = entries[key] else { return nil }
        let value = try readWhole(entry, key: key)
        metrics?.recordReceived(value.count)
        return value
    }

    /// Part of the value at `key`, or `nil` if the archive has no such entry; a range past the
    /// end is clamped. Stored entries read only the requested bytes (no CRC check is possible
    /// then); deflated entries are inflated whole and sliced.
    public func get(_ key: String, range: ByteRange) async throws -> [UInt8]? {
        try await ioPool.run { [self] in try readPart(key, range: range) }
    }

    /// `get(_:range:)` on the calling thread.
    private func readPart(_ key: String, range: ByteRange) throws(ZarrError) -> [UInt8]? {
        if case .all = range { return try readValue(key) }
        try StoreKey.validate(key)
        metrics?.recordRequest(method: "GET", bytesSent: 0)
        guard let entry = entries[key] else { return nil }
        try checkReadable(entry, key: key)
        if entry.method == 0 {
            let size = try storedSize(entry, key: key)
            let r = Self.clamp(range, size: size)
            let start = try dataStart(entry, key: key)
            let part = try ZipArchive.readExactly(fd: fd, offset: start + UInt64(r.lowerBound), count: r.count,
                                                  fileSize: fileSize, key: key, what: "entry data")
            metrics?.recordReceived(part.count)
            return part
        }
        let whole = try readWhole(entry, key: key)
        let part = Array(whole[Self.clamp(range, size: whole.count)])
        metrics?.recordReceived(part.count)
        return part
    }

    /// Part of the value at `key`, refused with `ZarrError.valueTooLarge` before it is read
    /// when it is longer than `limit` bytes. Deflated entries are inflated whole, so their
    /// whole size counts against the limit.
    public func get(_ key: String, range: ByteRange, limit: Int) async throws -> [UInt8]? {
        try StoreKey.validate(key)
        guard let entry = entries[key] else { return nil }
        let whole = entry.uncompressedSize > UInt64(Int.max) ? Int.max : Int(entry.uncompressedSize)
        let size = entry.method == 0 ? Self.clamp(range, size: whole).count : whole
        if size > limit { throw ZarrError.valueTooLarge(key: key, size: size, limit: limit) }
        return try await get(key, range: range)
    }

    /// Whether the archive has an entry for `key`.
    public func exists(_ key: String) async throws(ZarrError) -> Bool {
        try StoreKey.validate(key)
        return entries[key] != nil
    }

    /// Every key under `prefix` (`""` for all), at any depth, sorted.
    public func list(prefix: String) async throws(ZarrError) -> [String] {
        try StoreKey.validatePrefix(prefix)
        let prefixBytes = Array(prefix.utf8)
        for raw in undecodableNames where raw.starts(with: prefixBytes) {
            // The first component that is not UTF-8, and the directory that holds it.
            var start = 0
            for (i, b) in raw.enumerated() where b == UInt8(ascii: "/") || i == raw.count - 1 {
                let end = b == UInt8(ascii: "/") ? i : i + 1
                let component = Array(raw[start..<end])
                if String(validating: component, as: UTF8.self) == nil {
                    throw .invalidEntryName(directory: String(decoding: raw[..<start], as: UTF8.self),
                                            name: LocalFS.display(component))
                }
                start = i + 1
            }
        }
        if prefix.isEmpty { return sortedKeys }
        return sortedKeys.filter { $0.hasPrefix(prefix) }
    }

    /// The keys and child prefixes directly under `prefix` (`""` or `a/b/`).
    public func listDirectory(_ prefix: String) async throws(ZarrError) -> StoreListing {
        let all = try await list(prefix: prefix)
        return StoreListing.directLevel(of: all, under: prefix)
    }

    // MARK: - Reading entries

    /// `range` resolved against `size`, like `ByteRange.resolved(size:)` but safe from
    /// overflow for huge offsets or lengths.
    static func clamp(_ range: ByteRange, size: Int) -> Range<Int> {
        switch range {
        case .all: return 0..<size
        case .slice(let o, let l):
            let lo = min(max(o, 0), size)
            let len = max(l, 0)
            return lo..<(len > size - lo ? size : lo + len)
        case .from(let o): return min(max(o, 0), size)..<size
        case .suffix(let l): return (max(l, 0) >= size ? 0 : size - max(l, 0))..<size
        }
    }

    /// Refuses entries this store cannot decode.
    private func checkReadable(_ entry: ZipEntry, key: String) throws(ZarrError) {
        if entry.flags & 1 != 0 { throw .unsupportedOperation("encrypted zip entry '\(key)' in \(path)") }
        guard entry.method == 0 || entry.method == 8 else {
            throw .unsupportedOperation("zip compression method \(entry.method) of '\(key)' in \(path) "
                + "(only stored and deflated are supported)")
        }
    }

    /// The size of a stored entry, checked against its compressed size.
    private func storedSize(_ entry: ZipEntry, key: String) throws(ZarrError) -> Int {
        guard entry.compressedSize == entry.uncompressedSize else {
            throw .corruptChunk(key: key, reason: "stored zip entry has compressed size \(entry.compressedSize) "
                + "but uncompressed size \(entry.uncompressedSize)")
        }
        guard entry.compressedSize <= UInt64(Int.max) else {
            throw .corruptChunk(key: key, reason: "zip entry size \(entry.compressedSize) is absurd")
        }
        return Int(entry.compressedSize)
    }

    /// The file offset of an entry's data, from its local file header (whose extra field may
    /// differ in length from the central directory's). Checks the header's signature and name.
    private func dataStart(_ entry: ZipEntry, key: String) throws(ZarrError) -> UInt64 {
        let headerLength = ZipArchive.localHeaderSize + entry.rawName.count
        let header = try ZipArchive.readExactly(fd: fd, offset: entry.localHeaderOffset, count: headerLength,
                                                fileSize: fileSize, key: key, what: "local file header")
        var r = ZipByteReader(header, at: 0)
        guard r.u32() == ZipArchive.localSignature else {
            throw .io(key: key, reason: "corrupt archive \(path): bad local file header signature "
                + "at \(entry.localHeaderOffset)")
        }
        r.pos = 26
        let nameLength = Int(r.u16())
        let extraLength = UInt64(r.u16())
        guard nameLength == entry.rawName.count,
              header[ZipArchive.localHeaderSize...].elementsEqual(entry.rawName) else {
            throw .io(key: key, reason: "corrupt archive \(path): local file header name does not match "
                + "the central directory")
        }
        let start = entry.localHeaderOffset + UInt64(headerLength) + extraLength
        guard start <= fileSize, entry.compressedSize <= fileSize - start else {
            throw .io(key: key, reason: "truncated archive \(path): entry data runs past the end of the file")
        }
        return start
    }

    /// The whole, decompressed, CRC-checked value of an entry.
    private func readWhole(_ entry: ZipEntry, key: String) throws(ZarrError) -> [UInt8] {
        try checkReadable(entry, key: key)
        let start = try dataStart(entry, key: key)
        let value: [UInt8]
        if entry.method == 0 {
            let size = try storedSize(entry, key: key)
            value = try ZipArchive.readExactly(fd: fd, offset: start, count: size, fileSize: fileSize,
                                               key: key, what: "entry data")
        } else {
            // Deflate cannot expand data more than about 1032:1, so a larger claim is a lie
            // (and would make us allocate an absurd buffer).
            let csize = entry.compressedSize
            guard entry.uncompressedSize <= UInt64(Int.max - 1),
                  csize <= UInt64(Int.max),
                  entry.uncompressedSize / 1032 <= csize + 1 else {
                throw .corruptChunk(key: key, reason: "zip entry claims an absurd uncompressed size "
                    + "\(entry.uncompressedSize) for \(csize) compressed bytes")
            }
            let compressed = try ZipArchive.readExactly(fd: fd, offset: start, count: Int(csize),
                                                        fileSize: fileSize, key: key, what: "entry data")
            value = try Self.inflateRaw(compressed, expected: Int(entry.uncompressedSize), key: key)
        }
        let crc = Self.crc32Of(value)
        guard crc == entry.crc32 else {
            throw .corruptChunk(key: key, reason: "zip entry CRC-32 mismatch (expected "
                + "\(String(entry.crc32, radix: 16)), got \(String(crc, radix: 16)))")
        }
        return value
    }

    /// The CRC-32 (zlib's) of `bytes`.
    static func crc32Of(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buf -> UInt32 in
            guard let base = buf.baseAddress else { return 0 }
            var crc = crc32(0, nil, 0)
            var p = 0
            while p < buf.count {
                let n = min(buf.count - p, 1 << 30)
                crc = crc32(crc, base + p, uInt(n))
                p += n
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }

    /// Inflates a raw deflate stream that must decode to exactly `expected` bytes.
    static func inflateRaw(_ input: [UInt8], expected: Int, key: String) throws(ZarrError) -> [UInt8] {
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw .codecFailure(codec: "zip deflate", reason: "inflateInit2 failed (\(initStatus))")
        }
        defer { inflateEnd(&stream) }
        // One spare byte: filling it means the entry inflates to more than it claims.
        let capacity = expected + 1
        var failure: String?
        var input = input
        let output = [UInt8](unsafeUninitializedCapacity: capacity) { outBuf, initialized in
            input.withUnsafeMutableBufferPointer { inBuf in
                guard let outBase = outBuf.baseAddress else { failure = "no output buffer"; return }
                var inPos = 0
                var outPos = 0
                while true {
                    let inChunk = min(inBuf.count - inPos, Int(UInt32.max))
                    let outChunk = min(capacity - outPos, Int(UInt32.max))
                    stream.next_in = inBuf.baseAddress.map { $0 + inPos }
                    stream.avail_in = uInt(inChunk)
                    stream.next_out = outBase + outPos
                    stream.avail_out = uInt(outChunk)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    inPos += inChunk - Int(stream.avail_in)
                    outPos += outChunk - Int(stream.avail_out)
                    if status == Z_STREAM_END { break }
                    if status == Z_OK || status == Z_BUF_ERROR {
                        if outPos == capacity { failure = "inflates to more than \(expected) bytes"; break }
                        if inPos == inBuf.count { failure = "deflate stream is truncated"; break }
                        if status == Z_OK { continue }
                        failure = "inflate made no progress"
                        break
                    }
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    failure = "invalid deflate data: \(message)"
                    break
                }
                initialized = outPos
            }
        }
        if let failure { throw .corruptChunk(key: key, reason: "zip entry " + failure) }
        guard output.count == expected else {
            throw .corruptChunk(key: key, reason: "zip entry inflates to \(output.count) bytes, expected \(expected)")
        }
        return output
    }
}
