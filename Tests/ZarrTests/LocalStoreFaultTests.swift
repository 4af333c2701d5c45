import Foundation
import Synchronization
import Testing
@testable import Zarr

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Unblocks a reader stuck opening the named pipe at `path` after `seconds` (by opening it for
/// writing), so that a regression fails the test instead of hanging it.
private final class PipeWatchdog: Sendable {
    let done = Atomic<Bool>(false)
    init(_ path: String, seconds: Double = 30) {
        let thread = Thread { [self] in
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if self.done.load(ordering: .relaxed) { return }
                Thread.sleep(forTimeInterval: 0.05)
            }
            let fd = open(path, O_WRONLY | O_NONBLOCK)
            if fd >= 0 { close(fd) }
        }
        thread.start()
    }
    func finish() { done.store(true, ordering: .relaxed) }
}

/// Hostile local stores: named pipes, symbolic links leading out of (or back into) the store,
/// names that are not UTF-8, stale temporary files, and sparse files far larger than memory.
/// Each must give a typed error naming the key — never a hang, a loop, data from outside the
/// store, a silently dropped entry, or an allocation abort.
@Suite struct LocalStoreFaultTests {
    func makeFIFO(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        #expect(mkfifo(path, 0o644) == 0)
    }

    /// A v3 int32 array of 4 elements in chunks of 2 at `path`, both chunks written.
    func makeArray(_ store: LocalStore, path: String = "a", codecs: [CodecSpec]? = nil, chunk: Int = 2) async throws -> ZarrArray {
        let meta = ArrayMetadata(shape: [4], chunkShape: [chunk], dataType: .int32, codecs: codecs)
        let a = try await ZarrArray.create(store, path: path, metadata: meta)
        try await a.write(all: try NDArray([Int32(1), 2, 3, 4], shape: [4]))
        return a
    }

    // MARK: - Named pipes

    @Test func aNamedPipeIsRefusedWithoutBlocking() async throws {
        let dir = temporaryDirectory("fifo")
        let store = LocalStore(root: dir)
        let a = try await makeArray(store)
        // A named pipe as a chunk.
        try FileManager.default.removeItem(atPath: dir + "/a/c/1")
        try makeFIFO(dir + "/a/c/1")
        let watchdog = PipeWatchdog(dir + "/a/c/1")
        defer { watchdog.finish() }
        let start = Date()
        await #expect(throws: ZarrError.unsupportedEntry(key: "a/c/1", kind: .namedPipe)) { _ = try await store.get("a/c/1") }
        await #expect(throws: ZarrError.unsupportedEntry(key: "a/c/1", kind: .namedPipe)) { _ = try await a.read() }
        await #expect(throws: ZarrError.unsupportedEntry(key: "a/c/1", kind: .namedPipe)) { _ = try await store.exists("a/c/1") }
        await #expect(throws: ZarrError.unsupportedEntry(key: "a/c/1", kind: .namedPipe)) { _ = try await store.listDirectory("a/c/") }
        // A named pipe as zarr.json.
        try makeFIFO(dir + "/g/zarr.json")
        let watchdog2 = PipeWatchdog(dir + "/g/zarr.json")
        defer { watchdog2.finish() }
        await #expect(throws: ZarrError.unsupportedEntry(key: "g/zarr.json", kind: .namedPipe)) {
            _ = try await NodeMetadata.read(store, path: "g")
        }
        #expect(Date().timeIntervalSince(start) < 25, "a read waited on the pipe (until the watchdog opened it)")
        // Replacing it by a write is fine: the pipe is renamed over, never opened.
        try await store.set("a/c/1", try a.chain.encode(try NDArray([Int32(7), 8], shape: [2])))
        #expect(try await a.read() == (try NDArray([Int32(1), 2, 7, 8], shape: [4])))
    }

    @Test func aNamedPipeAsZipArchiveIsRefusedWithoutBlocking() throws {
        let dir = temporaryDirectory("fifo-zip")
        let path = dir + "/store.zip"
        try makeFIFO(path)
        let watchdog = PipeWatchdog(path)
        defer { watchdog.finish() }
        let start = Date()
        #expect(throws: ZarrError.unsupportedEntry(key: path, kind: .namedPipe)) { _ = try ZipStore(path: path) }
        #expect(Date().timeIntervalSince(start) < 25, "opening the archive waited on the pipe (until the watchdog opened it)")
    }

    // MARK: - Symbolic links

    @Test func aChunkSymlinkedOutsideTheStoreIsNotRead() async throws {
        let base = temporaryDirectory("symlink-chunk")
        let store = LocalStore(root: base + "/store")
        let a = try await makeArray(store)
        let outside = base + "/secret"
        try Data([0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48]).write(to: URL(fileURLWithPath: outside))
        try FileManager.default.removeItem(atPath: base + "/store/a/c/1")
        try FileManager.default.createSymbolicLink(atPath: base + "/store/a/c/1", withDestinationPath: outside)
        let refused = ZarrError.unsupportedEntry(key: "a/c/1", kind: .symbolicLink)
        await #expect(throws: refused) { _ = try await store.get("a/c/1") }
        await #expect(throws: refused) { _ = try await store.get("a/c/1", range: .slice(offset: 0, length: 2)) }
        await #expect(throws: refused) { _ = try await a.read() }
        await #expect(throws: refused) { _ = try await store.exists("a/c/1") }
        await #expect(throws: refused) { _ = try await store.list(prefix: "") }
        // Even a link that stays inside the store is not followed.
        try FileManager.default.removeItem(atPath: base + "/store/a/c/1")
        try FileManager.default.createSymbolicLink(atPath: base + "/store/a/c/1", withDestinationPath: "0")
        await #expect(throws: refused) { _ = try await a.read() }
        // Deleting the array removes the link, not what it points to.
        try FileManager.default.removeItem(atPath: base + "/store/a/c/1")
        try FileManager.default.createSymbolicLink(atPath: base + "/store/a/c/1", withDestinationPath: outside)
        try await store.deletePrefix("a/")
        #expect(FileManager.default.fileExists(atPath: outside))
        #expect(!FileManager.default.fileExists(atPath: base + "/store/a"))
    }

    @Test func aDirectorySymlinkedOutsideIsNeitherReadNorWrittenThrough() async throws {
        let base = temporaryDirectory("symlink-dir")
        let store = LocalStore(root: base + "/store")
        _ = try await makeArray(store)
        let outside = base + "/elsewhere"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: outside + "/0"))
        try FileManager.default.removeItem(atPath: base + "/store/a/c")
        try FileManager.default.createSymbolicLink(atPath: base + "/store/a/c", withDestinationPath: outside)
        let refused = ZarrError.unsupportedEntry(key: "a/c", kind: .symbolicLink)
        await #expect(throws: refused) { _ = try await store.get("a/c/0") }
        await #expect(throws: refused) { try await store.set("a/c/1", [9]) }
        await #expect(throws: refused) { try await store.delete("a/c/0") }
        await #expect(throws: refused) { _ = try await store.listDirectory("a/c/") }
        await #expect(throws: refused) { _ = try await store.listDirectory("a/") }
        // Nothing was created or removed outside the root.
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["0"])
    }

    @Test func loopingSymlinksEndInAnErrorNotARecursion() async throws {
        let dir = temporaryDirectory("symlink-loop")
        let store = LocalStore(root: dir)
        try await ZarrGroup.create(store, path: "uns/inner")
        try FileManager.default.createSymbolicLink(atPath: dir + "/uns/up", withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: dir + "/uns/inner/up", withDestinationPath: "../..")
        await #expect(throws: ZarrError.self) { _ = try await ConsolidatedMetadata.collect(store, format: .v3) }
        await #expect(throws: ZarrError.unsupportedEntry(key: "uns/up", kind: .symbolicLink)) {
            _ = try await NodeMetadata.read(store, path: "uns/up")
        }
        await #expect(throws: ZarrError.self) { try await ConsolidatedMetadata.consolidate(store) }
        // Removing the store removes the links only.
        try await store.deletePrefix("")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [])
    }

    @Test func theRootItselfMayBeASymlink() async throws {
        let base = temporaryDirectory("symlink-root")
        let real = LocalStore(root: base + "/real")
        _ = try await makeArray(real)
        try FileManager.default.createSymbolicLink(atPath: base + "/link", withDestinationPath: base + "/real")
        let linked = LocalStore(root: base + "/link/")
        let a = try await ZarrArray.open(linked, path: "a")
        #expect(try await a.read() == (try NDArray([Int32(1), 2, 3, 4], shape: [4])))
        try await linked.set("a/c/0", try a.chain.encode(try NDArray([Int32(5), 6], shape: [2])))
        #expect(try await real.get("a/c/0") == (try await linked.get("a/c/0")))
        #expect(try await linked.list(prefix: "a/") == ["a/c/0", "a/c/1", "a/zarr.json"])
    }

    @Test func theComponentWalkAgreesWithOpenat2() async throws {
        // The fallback used where openat2 is missing gives the same answers (and errors).
        let base = temporaryDirectory("walk")
        let store = LocalStore(root: base)
        try await store.set("x/y/z", [1, 2])
        try FileManager.default.createSymbolicLink(atPath: base + "/x/link", withDestinationPath: "y")
        for key in ["x/y/z", "x/y/missing", "x/missing/z", "x/y/z/under-a-file", "x/link/z", "x/link"] {
            let parts = LocalFS.Components(key)
            let fd = open(base, O_RDONLY | O_DIRECTORY)
            defer { close(fd) }
            func viaWalk() throws -> Int? {
                var dir = dup(fd)
                for i in 0..<(parts.count - 1) {
                    let parent = dir
                    defer { close(parent) }
                    guard let next = try parts.withComponent(i, { (n) throws(ZarrError) in
                        try LocalFS.openChild(parent, n, create: false) { parts.prefix(through: i) }
                    }) else { return nil }
                    dir = next
                }
                defer { close(dir) }
                let file = try parts.withComponent(parts.count - 1) { (n) throws(ZarrError) in try LocalFS.openValue(dir, n, key: key) }
                if let file { close(file.fd) }
                return file?.size
            }
            let walked = Result { try viaWalk() }
            let direct = Result { () throws -> Int? in
                let file = try LocalFS.openValue(root: fd, parts)
                if let file { close(file.fd) }
                return file?.size
            }
            #expect(String(describing: walked) == String(describing: direct), "\(key)")
        }
    }

    // MARK: - Names that are not UTF-8

    @Test func aNameThatIsNotUTF8IsReportedNotDropped() async throws {
        let dir = temporaryDirectory("latin1")
        let store = LocalStore(root: dir)
        try await ZarrGroup.create(store, path: "uns/ok")
        let bad: [CChar] = Array((dir + "/uns/caf").utf8CString.dropLast()) + [CChar(bitPattern: 0xE9), 0]
        #expect(mkdir(bad, 0o755) == 0)
        let expected = ZarrError.invalidEntryName(directory: "uns/", name: "caf\\xE9")
        await #expect(throws: expected) { _ = try await store.listDirectory("uns/") }
        await #expect(throws: expected) { _ = try await store.list(prefix: "") }
        await #expect(throws: expected) { _ = try await ConsolidatedMetadata.collect(store, format: .v3) }
        #expect(expected.description.contains("caf\\xE9"))
        // It can still be removed with its parent.
        try await store.deletePrefix("uns/")
        #expect(try await store.list(prefix: "") == ["zarr.json"])
    }

    @Test func aZipEntryNameThatIsNotUTF8IsReportedNotDropped() async throws {
        let dir = temporaryDirectory("latin1-zip")
        let zip = dir + "/a.zip"
        let script = """
            import zipfile, sys
            with zipfile.ZipFile(sys.argv[1], 'w') as z:
                z.writestr('zarr.json', '{}')
                z.writestr('uns/ok/zarr.json', '{}')
                z.writestr('uns/cafX/zarr.json', '{}')
            data = open(sys.argv[1], 'rb').read().replace(b'cafX', b'caf\\xe9')
            open(sys.argv[1], 'wb').write(data)
            """
        let (status, output) = try run("/usr/bin/env", ["python3", "-c", script, zip])
        #expect(status == 0, "\(output)")
        let store = try ZipStore(path: zip)
        let expected = ZarrError.invalidEntryName(directory: "uns/", name: "caf\\xE9")
        await #expect(throws: expected) { _ = try await store.listDirectory("uns/") }
        await #expect(throws: expected) { _ = try await store.list(prefix: "") }
        #expect(try await store.list(prefix: "uns/ok/") == ["uns/ok/zarr.json"])
    }

    // MARK: - Temporary files

    /// The id of a process that has exited.
    func deadPID() throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    @Test func temporaryNamesDoNotCollideWithKeys() async throws {
        let dir = temporaryDirectory("tmpnames")
        let store = LocalStore(root: dir)
        // Keys that look temporary but are not of the exact form are ordinary keys.
        for key in ["obs/.tmp-score/zarr.json", "obs/.tmp-x", "obs/.zarr-tmp.12.abc", "obs/.zarr-tmp.1.0123456789ABCDEF"] {
            try await store.set(key, [1])
        }
        #expect(try await store.list(prefix: "obs/")
                == ["obs/.tmp-score/zarr.json", "obs/.tmp-x", "obs/.zarr-tmp.1.0123456789ABCDEF", "obs/.zarr-tmp.12.abc"])
        #expect(try await store.listDirectory("obs/").prefixes == [".tmp-score"])
        #expect(try await store.get("obs/.tmp-x") == [1])
        #expect(LocalFS.temporaryOwner(Array(LocalFS.temporaryName().utf8CString)) == getpid())
        #expect(LocalFS.temporaryOwner(Array(".zarr-tmp.77.0123456789abcdef".utf8CString)) == 77)
        #expect(LocalFS.temporaryOwner(Array(".zarr-tmp.77.0123456789abcdef0".utf8CString)) == nil)
    }

    @Test func staleTemporariesAreHiddenAndCleaned() async throws {
        let dir = temporaryDirectory("stale")
        try await LocalStore(root: dir).set("X/c/0", [1])
        let dead = try deadPID()
        let staleName = ".zarr-tmp.\(dead).00000000000000aa"
        let liveName = ".zarr-tmp.\(getpid()).00000000000000bb"
        let oldName = ".zarr-tmp.\(getpid()).00000000000000cc"
        for name in [staleName, liveName, oldName] {
            try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: dir + "/X/c/" + name))
        }
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -7200)],
                                              ofItemAtPath: dir + "/X/c/" + oldName)
        let store = LocalStore(root: dir)
        // Hidden from listings.
        #expect(try await store.list(prefix: "") == ["X/c/0"])
        // The next write into the directory removes those of dead writers and old ones only.
        try await store.set("X/c/1", [2])
        var left = try FileManager.default.contentsOfDirectory(atPath: dir + "/X/c").sorted()
        #expect(left == [liveName, "0", "1"].sorted())
        // The helper does the same for the whole store; deletePrefix removes them all.
        try Data([1]).write(to: URL(fileURLWithPath: dir + "/X/" + staleName))
        #expect(try store.removeStaleTemporaries() == 1)
        #expect(try store.removeStaleTemporaries(maxAge: -1) == 1)
        left = try FileManager.default.contentsOfDirectory(atPath: dir + "/X/c").sorted()
        #expect(left == ["0", "1"])
        try Data([1]).write(to: URL(fileURLWithPath: dir + "/X/c/" + liveName))
        try await store.deletePrefix("")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [])
    }

    // MARK: - Size limits

    func sparse(_ path: String, size: off_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(ftruncate(fd, size) == 0)
    }

    @Test func aHugeSparseMetadataDocumentIsRefusedBeforeReading() async throws {
        let dir = temporaryDirectory("sparse-meta")
        let store = LocalStore(root: dir)
        try await ZarrGroup.create(store, path: "g")
        let size: off_t = 100 << 30
        try sparse(dir + "/g/zarr.json", size: size)
        let start = Date()
        let expected = ZarrError.valueTooLarge(key: "g/zarr.json", size: Int(size), limit: ReadLimits.standard.metadataDocumentBytes)
        await #expect(throws: expected) { _ = try await NodeMetadata.read(store, path: "g") }
        await #expect(throws: expected) { _ = try await ZarrGroup.open(store, path: "g") }
        try sparse(dir + "/zarr.json", size: size)
        await #expect(throws: ZarrError.self) { _ = try await ConsolidatedMetadata.read(store) }
        // The limit is the store's.
        try await store.set("h/zarr.json", Array(#"{"zarr_format":3,"node_type":"group","attributes":{}}"#.utf8))
        let small = LocalStore(root: dir, readLimits: ReadLimits(metadataDocumentBytes: 10))
        await #expect(throws: ZarrError.valueTooLarge(key: "h/zarr.json", size: 53, limit: 10)) {
            _ = try await NodeMetadata.read(small, path: "h")
        }
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func aHugeSparseChunkIsRefusedBeforeReading() async throws {
        let dir = temporaryDirectory("sparse-chunk")
        let store = LocalStore(root: dir)
        let a = try await makeArray(store)
        let size: off_t = 100 << 30
        try sparse(dir + "/a/c/1", size: size)
        let limit = a.encodedChunkLimit
        #expect(limit == ReadLimits.encodedChunkBound(decodedBytes: 8, pieces: 1))
        await #expect(throws: ZarrError.valueTooLarge(key: "a/c/1", size: Int(size), limit: limit)) { _ = try await a.read() }
        // A chunk just inside the bound is read (and fails only as corrupt data).
        try sparse(dir + "/a/c/1", size: off_t(limit))
        await #expect(throws: ZarrError.self) { _ = try await a.read() }
        // Writing into the other half of that chunk reads it first: refused the same way.
        try sparse(dir + "/a/c/1", size: size)
        await #expect(throws: ZarrError.valueTooLarge(key: "a/c/1", size: Int(size), limit: limit)) {
            try await a.write(try NDArray([Int32(9)], shape: [1]), at: [3])
        }
        // Sharded: the whole shard, and an inner chunk addressed by its index.
        let spec = ChunkSpec(shape: [4], dataType: .int32, fillValue: .zero(for: .int32))
        let codec = try ShardingCodec(shardSpec: spec, innerChunkShape: [2])
        let s = try await makeArray(store, path: "s", codecs: [codec.codecSpec], chunk: 4)
        try sparse(dir + "/s/c/0", size: size)
        await #expect(throws: ZarrError.valueTooLarge(key: "s/c/0", size: Int(size), limit: s.encodedChunkLimit)) { _ = try await s.read() }
        #expect(s.encodedChunkLimit == ReadLimits.encodedChunkBound(decodedBytes: 16, pieces: 3))
    }

    @Test func variableLengthChunksHaveTheStoresCap() async throws {
        let dir = temporaryDirectory("sparse-vlen")
        let store = LocalStore(root: dir, readLimits: ReadLimits(variableLengthChunkBytes: 1 << 20))
        let meta = ArrayMetadata(shape: [2], chunkShape: [2], dataType: .string)
        let a = try await ZarrArray.create(store, path: "v", metadata: meta)
        try await a.write(all: try NDArray(strings: ["a", "b"], shape: [2]))
        #expect(try await a.read().strings() == ["a", "b"])
        try sparse(dir + "/v/c/0", size: 10 << 30)
        await #expect(throws: ZarrError.valueTooLarge(key: "v/c/0", size: 10 << 30, limit: 1 << 20)) { _ = try await a.read() }
    }

    @Test func readsWithALimit() async throws {
        let dir = temporaryDirectory("limit")
        let local = LocalStore(root: dir)
        let memory = MemoryStore()
        for store in [local, memory] as [any WritableStore] {
            try await store.set("k", Array(0..<100))
            #expect(try await store.get("k", range: .all, limit: 100) == Array(0..<100))
            #expect(try await store.get("k", range: .slice(offset: 10, length: 5), limit: 5) == Array(10..<15))
            #expect(try await store.get("missing", range: .all, limit: 0) == nil)
            await #expect(throws: ZarrError.valueTooLarge(key: "k", size: 100, limit: 99)) {
                _ = try await store.get("k", range: .all, limit: 99)
            }
            await #expect(throws: ZarrError.valueTooLarge(key: "k", size: 6, limit: 5)) {
                _ = try await store.get("k", range: .suffix(length: 6), limit: 5)
            }
        }
        // A zip entry is checked against its recorded size before it is read.
        let zip = dir + "/a.zip"
        let script = "import zipfile,sys\nwith zipfile.ZipFile(sys.argv[1],'w') as z: z.writestr('k', bytes(range(100)))"
        let (status, output) = try run("/usr/bin/env", ["python3", "-c", script, zip])
        #expect(status == 0, "\(output)")
        let store = try ZipStore(path: zip)
        #expect(try await store.get("k", range: .all, limit: 100) == Array(0..<100))
        #expect(try await store.get("k", range: .slice(offset: 0, length: 3), limit: 3) == [0, 1, 2])
        await #expect(throws: ZarrError.valueTooLarge(key: "k", size: 100, limit: 99)) { _ = try await store.get("k", range: .all, limit: 99) }
    }
}
