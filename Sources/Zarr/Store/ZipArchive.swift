#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One file in a zip archive, as its central-directory record describes it (Zip64 values
/// already folded in).
struct ZipEntry: Sendable, Equatable {
    /// The raw name bytes, compared against the local file header's copy.
    var rawName: [UInt8]
    /// General-purpose flags (bit 0: encrypted; bit 3: sizes in a data descriptor).
    var flags: UInt16
    /// Compression method (0: stored, 8: deflated).
    var method: UInt16
    /// CRC-32 of the uncompressed bytes.
    var crc32: UInt32
    /// Size of the bytes as stored in the archive.
    var compressedSize: UInt64
    /// Size after decompression.
    var uncompressedSize: UInt64
    /// Absolute file offset of the local file header (any prefix before the archive included).
    var localHeaderOffset: UInt64
}

/// Reads the central directory of a zip archive with POSIX `pread`: the End Of Central
/// Directory record, the Zip64 locator and record when present, and every entry with its Zip64
/// extra field. All structural damage is reported as `ZarrError.io` naming the archive.
enum ZipArchive {
    static let eocdSignature: UInt32 = 0x0605_4b50
    static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    static let zip64EOCDSignature: UInt32 = 0x0606_4b50
    static let centralSignature: UInt32 = 0x0201_4b50
    static let localSignature: UInt32 = 0x0403_4b50

    static let eocdSize = 22
    static let zip64LocatorSize = 20
    static let zip64EOCDSize = 56
    static let centralHeaderSize = 46
    static let localHeaderSize = 30
    /// The EOCD record plus the longest possible archive comment.
    static let maxEOCDSearch = eocdSize + 65_535

    /// Reads exactly `count` bytes at `offset`, or throws (`what` names the archive part).
    static func readExactly(
        fd: Int32, offset: UInt64, count: Int, fileSize: UInt64, key: String, what: String
    ) throws(ZarrError) -> [UInt8] {
        guard count >= 0 else { throw .io(key: key, reason: "\(what): negative length") }
        if count == 0 { return [] }
        guard offset <= fileSize, UInt64(count) <= fileSize - offset, offset <= UInt64(off_t.max) else {
            throw .io(key: key, reason: "truncated archive: \(what) ends past the end of the file")
        }
        var failure: String?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            guard let base = buf.baseAddress else { return }
            var done = 0
            while done < count {
                let n = pread(fd, base + done, count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        if let failure { throw .io(key: key, reason: "\(what): \(failure)") }
        guard bytes.count == count else {
            throw .io(key: key, reason: "truncated archive: \(what) ends past the end of the file")
        }
        return bytes
    }

    /// Parses the central directory of the archive open on `fd`. Entries come back in
    /// central-directory order (so a later duplicate follows an earlier one).
    static func readDirectory(fd: Int32, fileSize: UInt64, path: String, maxDirectoryBytes: Int = .max) throws(ZarrError) -> [ZipEntry] {
        guard fileSize >= UInt64(eocdSize) else {
            throw .io(key: path, reason: "not a zip archive (\(fileSize) bytes, too short)")
        }
        // The EOCD record sits at the end, followed only by a comment of up to 65,535 bytes.
        let tailCount = Int(min(fileSize, UInt64(maxEOCDSearch)))
        let tailStart = fileSize - UInt64(tailCount)
        let tail = try readExactly(fd: fd, offset: tailStart, count: tailCount, fileSize: fileSize,
                                   key: path, what: "end of central directory")
        guard let eocdIndex = findEOCD(tail) else {
            throw .io(key: path, reason: "not a zip archive (no end of central directory record)")
        }
        let eocdOffset = tailStart + UInt64(eocdIndex)
        var r = ZipByteReader(tail, at: eocdIndex + 4)
        let diskNumber = UInt32(r.u16())
        let cdDisk = UInt32(r.u16())
        _ = r.u16()  // entries on this disk
        var entryCount = UInt64(r.u16())
        var cdSize = UInt64(r.u32())
        var cdOffset = UInt64(r.u32())
        var (disk, dirDisk) = (diskNumber, cdDisk)
        // Where the directory really ends: the (Zip64) end record that follows it.
        var cdEnd = eocdOffset

        // A Zip64 locator sits right before the EOCD record when the archive uses Zip64.
        if eocdOffset >= UInt64(zip64LocatorSize) {
            let locOffset = eocdOffset - UInt64(zip64LocatorSize)
            let loc = try readExactly(fd: fd, offset: locOffset, count: zip64LocatorSize, fileSize: fileSize,
                                      key: path, what: "zip64 end of central directory locator")
            var lr = ZipByteReader(loc, at: 0)
            if lr.u32() == zip64LocatorSignature {
                _ = lr.u32()  // disk with the zip64 EOCD record
                let recordOffset = lr.u64()
                let totalDisks = lr.u32()
                guard totalDisks <= 1 else {
                    throw .unsupportedOperation("multi-disk zip archives are not supported (\(path))")
                }
                let z64Offset = try findZip64EOCD(fd: fd, stated: recordOffset, locatorOffset: locOffset,
                                                  fileSize: fileSize, path: path)
                let rec = try readExactly(fd: fd, offset: z64Offset, count: zip64EOCDSize, fileSize: fileSize,
                                          key: path, what: "zip64 end of central directory record")
                var zr = ZipByteReader(rec, at: 16)  // signature, record size, versions
                disk = zr.u32()
                dirDisk = zr.u32()
                _ = zr.u64()  // entries on this disk
                entryCount = zr.u64()
                cdSize = zr.u64()
                cdOffset = zr.u64()
                cdEnd = z64Offset
            }
        }
        guard disk == 0, dirDisk == 0 else {
            throw .unsupportedOperation("multi-disk zip archives are not supported (\(path))")
        }
        // Data prepended to the archive (a self-extractor stub, say) shifts every offset; like
        // other zip readers, measure it from where the directory really ends.
        guard cdSize <= cdEnd, cdOffset <= cdEnd - cdSize else {
            throw .io(key: path, reason: "corrupt archive: central directory (\(cdSize) bytes at \(cdOffset)) "
                + "does not fit before its end record at \(cdEnd)")
        }
        let base = cdEnd - cdSize - cdOffset
        let cdStart = base + cdOffset
        guard cdSize <= UInt64(Int.max) else {
            throw .io(key: path, reason: "corrupt archive: central directory size \(cdSize) is absurd")
        }
        guard cdSize <= UInt64(max(maxDirectoryBytes, 0)) else {
            throw .valueTooLarge(key: path, size: Int(cdSize), limit: maxDirectoryBytes)
        }
        // Each entry takes at least 46 bytes, so the count cannot exceed what the size allows.
        guard entryCount <= cdSize / UInt64(centralHeaderSize) else {
            throw .io(key: path, reason: "corrupt archive: \(entryCount) entries cannot fit in a "
                + "central directory of \(cdSize) bytes")
        }
        let cd = try readExactly(fd: fd, offset: cdStart, count: Int(cdSize), fileSize: fileSize,
                                 key: path, what: "central directory")
        return try parseEntries(cd, base: base, dataEnd: cdStart, path: path)
    }

    /// The index of the EOCD record in `tail`: preferably one whose comment ends exactly at the
    /// end of the file, otherwise the last complete one.
    static func findEOCD(_ tail: [UInt8]) -> Int? {
        guard tail.count >= eocdSize else { return nil }
        var fallback: Int?
        var i = tail.count - eocdSize
        while i >= 0 {
            if tail[i] == 0x50, tail[i + 1] == 0x4b, tail[i + 2] == 0x05, tail[i + 3] == 0x06 {
                var r = ZipByteReader(tail, at: i + 20)
                let commentLength = Int(r.u16())
                if i + eocdSize + commentLength == tail.count { return i }
                if fallback == nil { fallback = i }
            }
            i -= 1
        }
        return fallback
    }

    /// Where the Zip64 EOCD record is: at the offset the locator states, or (for archives with
    /// prepended data) directly before the locator.
    static func findZip64EOCD(
        fd: Int32, stated: UInt64, locatorOffset: UInt64, fileSize: UInt64, path: String
    ) throws(ZarrError) -> UInt64 {
        var candidates: [UInt64] = []
        if stated <= locatorOffset, locatorOffset - stated >= UInt64(zip64EOCDSize) { candidates.append(stated) }
        if locatorOffset >= UInt64(zip64EOCDSize) { candidates.append(locatorOffset - UInt64(zip64EOCDSize)) }
        for c in candidates {
            let sig = try readExactly(fd: fd, offset: c, count: 4, fileSize: fileSize, key: path,
                                      what: "zip64 end of central directory record")
            var r = ZipByteReader(sig, at: 0)
            if r.u32() == zip64EOCDSignature { return c }
        }
        throw .io(key: path, reason: "corrupt archive: zip64 end of central directory record not found")
    }

    /// Parses central-directory records from `cd`. `base` is added to every local header
    /// offset; every local header must start before `dataEnd` (the directory's start).
    static func parseEntries(_ cd: [UInt8], base: UInt64, dataEnd: UInt64, path: String) throws(ZarrError) -> [ZipEntry] {
        var entries: [ZipEntry] = []
        var pos = 0
        while pos < cd.count {
            guard cd.count - pos >= centralHeaderSize else {
                throw .io(key: path, reason: "corrupt archive: truncated central directory record at \(pos)")
            }
            var r = ZipByteReader(cd, at: pos)
            guard r.u32() == centralSignature else {
                throw .io(key: path, reason: "corrupt archive: bad central directory record signature at \(pos)")
            }
            _ = r.u16()  // version made by
            _ = r.u16()  // version needed
            let flags = r.u16()
            let method = r.u16()
            _ = r.u32()  // modification time and date
            let crc = r.u32()
            let csize32 = r.u32()
            let usize32 = r.u32()
            let nameLength = Int(r.u16())
            let extraLength = Int(r.u16())
            let commentLength = Int(r.u16())
            let disk16 = r.u16()
            _ = r.u16()  // internal attributes
            _ = r.u32()  // external attributes
            let offset32 = r.u32()
            let recordLength = centralHeaderSize + nameLength + extraLength + commentLength
            guard cd.count - pos >= recordLength else {
                throw .io(key: path, reason: "corrupt archive: central directory record at \(pos) runs past its end")
            }
            let nameStart = pos + centralHeaderSize
            let rawName = Array(cd[nameStart..<(nameStart + nameLength)])
            let extraStart = nameStart + nameLength
            var usize = UInt64(usize32)
            var csize = UInt64(csize32)
            var offset = UInt64(offset32)
            var disk = UInt32(disk16)
            if usize32 == 0xFFFF_FFFF || csize32 == 0xFFFF_FFFF || offset32 == 0xFFFF_FFFF || disk16 == 0xFFFF {
                guard let z = zip64Extra(cd, from: extraStart, count: extraLength) else {
                    throw .io(key: path, reason: "corrupt archive: entry '\(displayName(rawName))' needs a zip64 "
                        + "extra field but has none")
                }
                var zr = ZipByteReader(cd, at: z.lowerBound)
                func take8(_ v: inout UInt64) -> Bool {
                    guard z.upperBound - zr.pos >= 8 else { return false }
                    v = zr.u64()
                    return true
                }
                var ok = true
                if usize32 == 0xFFFF_FFFF { ok = ok && take8(&usize) }
                if csize32 == 0xFFFF_FFFF { ok = ok && take8(&csize) }
                if offset32 == 0xFFFF_FFFF { ok = ok && take8(&offset) }
                if disk16 == 0xFFFF {
                    if ok, z.upperBound - zr.pos >= 4 { disk = zr.u32() } else { ok = false }
                }
                guard ok else {
                    throw .io(key: path, reason: "corrupt archive: zip64 extra field of '\(displayName(rawName))' "
                        + "is too short")
                }
            }
            guard disk == 0 else {
                throw .unsupportedOperation("multi-disk zip archives are not supported (\(path))")
            }
            guard offset <= UInt64.max - base, base + offset < dataEnd,
                  csize <= dataEnd - (base + offset) else {
                throw .io(key: path, reason: "corrupt archive: entry '\(displayName(rawName))' "
                    + "(\(csize) bytes at \(offset)) lies past the end of the file data")
            }
            entries.append(ZipEntry(rawName: rawName, flags: flags, method: method, crc32: crc,
                                    compressedSize: csize, uncompressedSize: usize,
                                    localHeaderOffset: base + offset))
            pos += recordLength
        }
        return entries
    }

    /// The payload range of the Zip64 extended-information extra field (id 0x0001), if any.
    static func zip64Extra(_ bytes: [UInt8], from start: Int, count: Int) -> Range<Int>? {
        var p = start
        let end = start + count
        while end - p >= 4 {
            var r = ZipByteReader(bytes, at: p)
            let id = r.u16()
            let size = Int(r.u16())
            guard end - (p + 4) >= size else { return nil }
            if id == 0x0001 { return (p + 4)..<(p + 4 + size) }
            p += 4 + size
        }
        return nil
    }

    /// A printable form of an entry name for messages.
    static func displayName(_ raw: [UInt8]) -> String {
        String(decoding: raw, as: UTF8.self)
    }
}

/// Little-endian reads from a byte array. Callers check the bounds before reading.
struct ZipByteReader {
    let bytes: [UInt8]
    var pos: Int

    init(_ bytes: [UInt8], at pos: Int) { self.bytes = bytes; self.pos = pos }

    mutating func u16() -> UInt16 {
        defer { pos += 2 }
        return UInt16(bytes[pos]) | UInt16(bytes[pos + 1]) << 8
    }

    mutating func u32() -> UInt32 {
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[pos + i]) << (8 * i) }
        pos += 4
        return v
    }

    mutating func u64() -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[pos + i]) << (8 * i) }
        pos += 8
        return v
    }
}
