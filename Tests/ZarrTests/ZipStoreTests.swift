import Foundation
import Testing
@testable import Zarr

/// Fixtures for the zip store tests: archives written by Python's `zipfile` (or packed by hand
/// with `struct` for full Zip64), in a fresh temporary directory per test.
private struct ZipFixture {
    let dir: String

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("zipstore-tests-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { dir + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    /// Runs a Python script with `sys.argv[1]` = the fixture directory; the script gets
    /// `pattern(n, k)` and `D = sys.argv[1]` predefined.
    func python(_ body: String) throws {
        let script = """
        import sys, os, struct, zlib, zipfile, warnings
        warnings.simplefilter("ignore")
        D = sys.argv[1]
        def pattern(n, k=7):
            return bytes((i * k + 3) % 256 for i in range(n))

        """ + body
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, dir]
        let errPipe = Pipe()
        process.standardError = errPipe
        try process.run()
        let err = errPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureError.python(String(decoding: err, as: UTF8.self))
        }
    }

    func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
    }
}

private enum FixtureError: Error { case python(String) }

/// The bytes `pattern(n, k)` makes in the Python fixtures.
private func pattern(_ n: Int, _ k: Int = 7) -> [UInt8] { (0..<n).map { UInt8(($0 * k + 3) % 256) } }

/// The `ZarrError` that `body` throws, or `nil` if it returns.
private func caught(_ body: () async throws -> Void) async -> ZarrError? {
    do {
        try await body()
        return nil
    } catch let e as ZarrError {
        return e
    } catch {
        Issue.record("not a ZarrError: \(error)")
        return nil
    }
}

/// Python that writes `basic.zip`: stored and deflated entries, nested keys, a directory
/// entry, a duplicated name, and an archive comment.
private let basicArchive = """
with zipfile.ZipFile(os.path.join(D, "basic.zip"), "w", zipfile.ZIP_STORED) as z:
    z.writestr("zarr.json", b'{"zarr_format": 3}')
    z.writestr("a/zarr.json", b"{}")
    z.writestr("a/b/c/0", pattern(1000))
    z.writestr("a/b/c/1", pattern(300, 11))
    z.writestr("X/c/0/0", b"abcdefgh" * 5000 + pattern(777), compress_type=zipfile.ZIP_DEFLATED)
    z.writestr("empty", b"")
    z.writestr("empty-deflated", b"", compress_type=zipfile.ZIP_DEFLATED)
    z.writestr(zipfile.ZipInfo("dir/"), b"")
    z.writestr("dup", b"first")
    z.writestr("dup", b"second version")
    z.comment = b"an archive comment"
"""

@Suite struct ZipStoreTests {
    @Test func readsStoredAndDeflatedEntries() async throws {
        let f = try ZipFixture()
        defer { f.remove() }
        try f.python(basicArchive)
        let store = try ZipStore(path: f.path("basic.zip"))
        #expect(store.storeDescription == f.path("basic.zip"))
        #expect(try await store.get("zarr.json") == Array(#"{"zarr_format": 3}"#.utf8))
        #expect(try await store.get("a/b/c/0") == pattern(1000))
        #expect(try await store.get("a/b/c/1") == pattern(300, 11))
        let deflated = Array(String(repeating: "abcdefgh", count: 5000).utf8) + pattern(777)
        #expect(try await store.get("X/c/0/0") == deflated)
        #expect(try await store.get("empty") == [])
        #expect(try await store.get("empty-deflated") == [])
        // The last of two entries with the same name wins.
        #expect(try await store.get("dup") == Array("second version".utf8))
        #expect(try await store.get("missing") == nil)
        #expect(try await store.get("dir") == nil)
        #expect(try await store.exists("a/b/c/0"))
        #expect(try await !store.exists("a/b"))
        #expect(try await !store.exists("dir"))
    }

    @Test func listsKeys() async throws {
        let f = try ZipFixture()
        defer { f.remove() }
        try f.python(basicArchive)
        let store = try ZipStore(path: f.path("basic.zip"))
        #expect(try await store.list(prefix: "") == [
            "X/c/0/0", "a/b/c/0", "a/b/c/1", "a/zarr.json", "dup", "empty", "empty-deflated", "zarr.json",
        ])
        #expect(try await store.list(prefix: "a/") == ["a/b/c/0", "a/b/c/1", "a/zarr.json"])
        #expect(try await store.list(prefix: "nothing/") == [])
        #expect(try await store.listDirectory("") == StoreListing(
            keys: ["dup", "empty", "empty-deflated", "zarr.json"], prefixes: ["X", "a"]))
        #expect(try await store.listDirectory("a/") == StoreListing(keys: ["a/zarr.json"], prefixes: ["b"]))
        #expect(try await store.listDirectory("a/b/c/") == StoreListing(keys: ["a/b/c/0", "a/b/c/1"], prefixes: []))
        #expect(await caught { _ = try await store.list(prefix: "a") } != nil)
        #expect(await caught { _ = try await store.list(prefix: "../") } != nil)
    }

    @Test func rangeReads() async throws {
        let f = try ZipFixture()
        defer { f.remove() }
        try f.python(basicArchive)
        let store = try ZipStore(path: f.path("basic.zip"))
        let v = pattern(1000)
        #expect(try await store.get("a/b/c/0", range: .slice(offset: 10, length: 20)) == Array(v[10..<30]))
        #expect(try await store.get("a/b/c/0", range: .slice(offset: 990, length: 100)) == Array(v[990...]))
        #expect(try await store.get("a/b/c/0", range: .slice(offset: 5000, length: 10)) == [])
        #expect(try await store.get("a/b/c/0", range: .slice(offset: 1, length: Int.max)) == Array(v[1...]))
        #expect(try await store.get("a/b/c/0", range: .from(offset: 900)) == Array(v[900...]))
        #expect(try await store.get("a/b/c/0", range: .suffix(length: 7)) == Array(v[993...]))
        #expect(try await store.get("a/b/c/0", range: .suffix(length: Int.max)) == v)
        #expect(try await store.get("a/b/c/0", range: .all) == v)
        #expect(try await store.get("a/b/c/0", range: .slice(offset: 0, length: 0)) == [])
        #expect(try await store.get("missing", range: .from(offset: 1)) == nil)
        let deflated = Array(String(repeating: "abcdefgh", count: 5000).utf8) + pattern(777)
        #expect(try await store.get("X/c/0/0", range: .slice(offset: 39_990, length: 20))
            == Array(deflated[39_990..<40_010]))
        #expect(try await store.get("X/c/0/0", range: .suffix(length: 777)) == pattern(777))
    }

    @Test func zip64LocalExtraFromPython() async throws {
        // force_zip64 puts a Zip64 extra field in the local header only, so the local extra
        // length differs from the central one.
        let f = try ZipFixture()
        defer { f.remove() }
        try f.python("""
        with zipfile.ZipFile(os.path.join(D, "z64.zip"), "w", zipfile.ZIP_STORED) as z:
            with z.open("a/0", "w", force_zip64=True) as w:
                w.write(pattern(5000))
            zi = zipfile.ZipInfo("b/0")
            zi.compress_type = zipfile.ZIP_DEFLATED
            with z.open(zi, "w", force_zip64=True) as w:
                w.write(pattern(4000, 3) * 4)
            z.writestr("zarr.json", b"{}")
        """)
        let store = try ZipStore(path: f.path("z64.zip"))
        #expect(try await store.get("a/0") == pattern(5000))
        #expect(try await store.get("b/0") == pattern(4000, 3) + pattern(4000, 3) + pattern(4000, 3) + pattern(4000, 3))
        #expect(try await store.get("a/0", range: .slice(offset: 4990, length: 10)) == Array(pattern(5000)[4990...]))
        #expect(try await store.get("zarr.json") == Array("{}".utf8))
    }

    @Test func fullZip64Archive() async throws {
        // Every size and offset in the central directory lives in Zip64 extra fields, and the
        // directory is found through the Zip64 end record and locator. Python checks the
        // hand-packed archive reads back before the store sees it.
        let f = try ZipFixture()
        defer { f.remove() }
        try f.python("""
        files = [("zarr.json", b'{"zarr_format": 3}', 0), ("x/c/0", pattern(3000), 0),
                 ("x/c/1", b"zzzz" * 2000 + pattern(100), 8)]
        out = bytearray(b"")
        central = bytearray()
        F = 0xFFFFFFFF
        for name, data, method in files:
            n = name.encode()
            if method == 8:
                c = zlib.compressobj(6, zlib.DEFLATED, -15)
                stored = c.compress(data) + c.flush()
            else:
                stored = data
            crc = zlib.crc32(data)
            off = len(out)
            out += struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, method, 0, 0x21, crc, F, F, len(n), 20)
            out += n + struct.pack("<HHQQ", 1, 16, len(data), len(stored)) + stored
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, method, 0, 0x21, crc, F, F,
                                   len(n), 28, 0, 0, 0, 0, F)
            central += n + struct.pack("<HHQQQ", 1, 24, len(data), len(stored), off)
        cd_off = len(out)
        out += central
        z64 = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, len(files), len(files), len(central), cd_off)
        out += struct.pack("<IIQI", 0x07064b50, 0, z64, 1)
        out += struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 0xFFFF, 0xFFFF, F, F, 0)
        p = os.path.join(D, "full64.zip")
        open(p, "wb").write(out)
        with zipfile.ZipFile(p) as z:
            for name, data, _ in files:
                assert z.read(name) == data, name
        open(os.path.join(D, "prefixed64.zip"), "wb").write(b"#!/bin/sh\\nexit 0\\n" + out)
        """)
        for name in ["full64.zip", "prefixed64.zip"] {
            let store = try ZipStore(path: f.path(name))
            #expect(try await store.list(prefix: "") == ["x/c/0", "x/c/1", "zarr.json"])
            #expect(try await store.get("zarr.json") == Array(#"{"zarr_format": 3}"#.utf8))
            #expect(try await store.get("x/c/0") == pattern(3000))
            #expect(try await store.get("x/c/0", range: .slice(offset: 100, length: 3)) == Array(pattern(3000)[100..<103]))
            #expect(try await store.get("x/c/1") == Array(String(repeating: "zzzz", count: 2000).utf8) + pattern(100))
        }
    }

    @Test func commentHoldingAFakeEndRecord() async throws {
        // The end record whose comment reaches exactly the end of the file is the real one
        // (Python's own reader is fooled by this archive).
        let f = try ZipFixture()
        defer { f.remove() }
        try f.python("""
        with zipfile.ZipFile(os.path.join(D, "c.zip"), "w") as z:
            z.writestr("k", pattern(10))
            z.comment = b"PK\\x05\\x06" + bytes(18) + b" trailing comment text"
        """)
        let store = try ZipStore(path: f.path("c.zip"))
        #expect(try await store.get("k") == pattern(10))
    }

    @Test func archiveWithPrependedData() async throws {
        let f = try ZipFixture()
        defer { f.remove() }
        try f.python("""
        import io
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("k", pattern(50))
            z.writestr("d", pattern(5000), compress_type=zipfile.ZIP_DEFLATED)
        open(os.path.join(D, "pre.zip"), "wb").write(b"some stub " * 30 + buf.getvalue())
        """)
        let store = try ZipStore(path: f.path("pre.zip"))
        #expect(try await store.get("k") == pattern(50))
        #expect(try await store.get("d") == pattern(5000))
    }

    @Test func hostileKeysAndEntryNames() async throws {
        let f = try ZipFixture()
        defer { f.remove() }
        try f.python("""
        with zipfile.ZipFile(os.path.join(D, "hostile.zip"), "w") as z:
            z.writestr("../evil", b"evil")
            z.writestr("/abs", b"abs")
            z.writestr("a//b", b"empty segment")
            z.writestr("a/./b", b"dot")
            z.writestr("back\\\\slash", b"backslash")
            z.writestr("ok", b"fine")
        """)
        let store = try ZipStore(path: f.path("hostile.zip"))
        #expect(try await store.list(prefix: "") == ["ok"])
        #expect(try await store.get("ok") == Array("fine".utf8))
        for key in ["../evil", "/abs", "a//b", "a/./b", "../etc/passwd", "", "a/../ok"] {
            let e = await caught { _ = try await store.get(key) }
            guard case .invalidKey = e else { Issue.record("\(key): \(String(describing: e))"); continue }
            #expect(await caught { _ = try await store.get(key, range: .from(offset: 0)) } != nil)
            #expect(await caught { _ = try await store.exists(key) } != nil)
        }
    }

    @Test func unreadableFilesAreTypedErrors() async throws {
        let f = try ZipFixture()
        defer { f.remove() }
        try f.write("garbage.zip", pattern(10_000))
        try f.write("empty.zip", [])
        try f.write("tiny.zip", [0x50, 0x4b, 0x05, 0x06])
        for name in ["garbage.zip", "empty.zip", "tiny.zip", "does-not-exist.zip"] {
            let e = await caught { _ = try ZipStore(path: f.path(name)) }
            guard case .io = e else { Issue.record("\(name): \(String(describing: e))"); continue }
        }
        // A directory is not an archive.
        #expect(await caught { _ = try ZipStore(path: f.dir) } != nil)
    }

    @Test func truncatedAndCorruptArchives() async throws {
        let f = try ZipFixture()
        defer { f.remove() }
        try f.python(basicArchive + """

        data = bytearray(open(os.path.join(D, "basic.zip"), "rb").read())
        with zipfile.ZipFile(os.path.join(D, "basic.zip")) as z:
            zi = z.getinfo("X/c/0/0")
            st = z.getinfo("a/b/c/0")
            cd_offset = z.start_dir
        def data_offset(zi):
            n, m = struct.unpack("<HH", data[zi.header_offset + 26:zi.header_offset + 30])
            return zi.header_offset + 30 + n + m
        bad = bytearray(data)
        bad[data_offset(zi) + zi.compress_size // 2] ^= 0x55
        open(os.path.join(D, "bad-deflate.zip"), "wb").write(bad)
        bad = bytearray(data)
        bad[data_offset(st) + 500] ^= 0x01
        open(os.path.join(D, "bad-stored.zip"), "wb").write(bad)
        # The directory offset in the end record points past the end of the file.
        eocd = len(data) - 22 - len(z.comment)
        bad = bytearray(data)
        bad[eocd + 16:eocd + 20] = struct.pack("<I", 0x7FFFFFF0)
        open(os.path.join(D, "bad-cd-offset.zip"), "wb").write(bad)
        # An entry whose local header offset points past the end of the file.
        cdh = data.find(b"PK\\x01\\x02", cd_offset)
        bad = bytearray(data)
        bad[cdh + 42:cdh + 46] = struct.pack("<I", 0x7FFFFFF0)
        open(os.path.join(D, "bad-entry-offset.zip"), "wb").write(bad)
        # A deflated entry claiming an absurd uncompressed size.
        name = b"X/c/0/0"
        cdh = data.find(b"PK\\x01\\x02", cd_offset)
        while data[cdh + 46:cdh + 46 + len(name)] != name:
            cdh = data.find(b"PK\\x01\\x02", cdh + 4)
        bad = bytearray(data)
        bad[cdh + 24:cdh + 28] = struct.pack("<I", 0xFFFFFFF0)
        open(os.path.join(D, "bad-usize.zip"), "wb").write(bad)
        """)

        let deflateError = await caught { _ = try await ZipStore(path: f.path("bad-deflate.zip")).get("X/c/0/0") }
        guard case .corruptChunk = deflateError else { Issue.record("\(String(describing: deflateError))"); return }
        let storedError = await caught { _ = try await ZipStore(path: f.path("bad-stored.zip")).get("a/b/c/0") }
        guard case .corruptChunk = storedError else { Issue.record("\(String(describing: storedError))"); return }
        // A range read of a stored entry cannot check the CRC, but still works.
        let rangeStore = try ZipStore(path: f.path("bad-stored.zip"))
        #expect(try await rangeStore.get("a/b/c/0", range: .slice(offset: 0, length: 10)) == Array(pattern(1000)[0..<10]))
        #expect(await caught { _ = try ZipStore(path: f.path("bad-cd-offset.zip")) } != nil)
        #expect(await caught { _ = try ZipStore(path: f.path("bad-entry-offset.zip")) } != nil)
        let usizeError = await caught { _ = try await ZipStore(path: f.path("bad-usize.zip")).get("X/c/0/0") }
        guard case .corruptChunk = usizeError else { Issue.record("\(String(describing: usizeError))"); return }

        // A truncated archive fails cleanly or still reads (when only the comment is cut).
        let good = try f.bytes("basic.zip")
        // Every cut inside the directory and end records, a sample of cuts in the data.
        let lengths = Array(stride(from: 0, to: good.count, by: 97)) + Array(max(0, good.count - 700)..<good.count)
        for length in lengths {
            try f.write("cut.zip", Array(good[0..<length]))
            guard let store = try? ZipStore(path: f.path("cut.zip")) else { continue }
            for key in try await store.list(prefix: "") { _ = try? await store.get(key) }
        }
    }

    @Test func everyCorruptedByteIsHandled() async throws {
        // Flip each byte of a small archive in turn: opening and reading must throw or succeed,
        // never crash.
        let f = try ZipFixture()
        defer { f.remove() }
        try f.python("""
        with zipfile.ZipFile(os.path.join(D, "small.zip"), "w") as z:
            z.writestr("a", pattern(40))
            z.writestr("b/c", pattern(200, 1), compress_type=zipfile.ZIP_DEFLATED)
            with z.open("d", "w", force_zip64=True) as w:
                w.write(pattern(30, 5))
        """)
        let good = try f.bytes("small.zip")
        var opened = 0
        for i in good.indices {
            for flip: UInt8 in [0xFF] {
                var bad = good
                bad[i] ^= flip
                try f.write("flip.zip", bad)
                guard let store = try? ZipStore(path: f.path("flip.zip")) else { continue }
                opened += 1
                // A flipped name byte may leave a name that is not UTF-8: a typed error.
                for key in (try? await store.list(prefix: "")) ?? [] {
                    _ = try? await store.get(key)
                    _ = try? await store.get(key, range: .slice(offset: 3, length: 10))
                }
            }
        }
        #expect(opened > 0)
    }
}
