import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Nothing is lost: `convert` refuses destinations it must not replace, writes into a sibling
/// temporary directory swapped in when complete (so `kill -9`, a full disk or a failure leave the
/// old store intact), cleans what a killed run left, and concurrent writers fail loudly or take
/// turns instead of losing updates.
@Suite(.serialized, .timeLimit(.minutes(10))) struct WriteSafetyTests {
    /// A scratch folder with `src.zarr`: an AnnData written as Zarr v2 by anndata 0.13.4, large
    /// enough (~60 MB) that a convert takes a measurable time.
    static func bigFixture() async throws -> String {
        let tmp = NSTemporaryDirectory() + "anndata-safety-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let script = """
            import sys, warnings, numpy as np, scipy.sparse as sp, anndata as ad
            warnings.simplefilter("ignore")
            rng = np.random.default_rng(0)
            n, m = 15000, 1000
            a = ad.AnnData(X=rng.random((n, m), dtype=np.float32),
                           layers={"counts": sp.random(n, m, density=0.1, format="csr", dtype=np.float32, random_state=0)})
            a.obs["n"] = np.arange(n)
            a.uns["note"] = "old"
            ad.settings.zarr_write_format = 2
            a.write_zarr(sys.argv[1])
            """
        let r = try await Subprocess.run([Paths.root + "/.venv312/bin/python", "-c", script, tmp + "/src.zarr"])
        try #require(r.status == 0, "fixture: \(r.output.suffix(2000))")
        return tmp
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static func copyTree(_ from: String, _ to: String) async throws {
        try? FileManager.default.removeItem(atPath: to)
        let r = try await Subprocess.run(["/bin/cp", "-a", from, to])
        try #require(r.status == 0, "cp: \(r.output)")
    }

    /// Leftover temporary directories of writes to `name` in `parent`.
    static func partials(_ parent: String, _ name: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: parent).filter { $0.hasPrefix(".\(name).zarr-partial-") }
    }

    /// Starts the CLI with `arguments`, sends SIGKILL after `delay`, and waits for it to end.
    /// Returns whether it had already finished (status 0) before the kill.
    static func runAndKill(_ arguments: [String], after delay: Duration) async throws -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Paths.cli)
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        let (exits, exited) = AsyncStream<(Int32, Process.TerminationReason)>.makeStream()
        p.terminationHandler = { exited.yield(($0.terminationStatus, $0.terminationReason)); exited.finish() }
        try p.run()
        try await Task.sleep(for: delay)
        kill(p.processIdentifier, SIGKILL)
        var result: (Int32, Process.TerminationReason) = (-1, .uncaughtSignal)
        for await r in exits { result = r }
        return result.1 == .exit && result.0 == 0
    }

    @Test func refusesWhatItMustNotReplace() async throws {
        let tmp = NSTemporaryDirectory() + "anndata-refuse-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let fixtures = try #require(Paths.fixtureScript)
        var r = try await Subprocess.run([Paths.root + "/.venv312/bin/python", fixtures, "make", tmp + "/py", "--format", "2"])
        try #require(r.status == 0, "\(r.output.suffix(2000))")
        let src = tmp + "/py/kitchen_sink.zarr"

        // A folder of someone's documents is never emptied.
        let docs = tmp + "/docs"
        try FileManager.default.createDirectory(atPath: docs, withIntermediateDirectories: true)
        try "keep me".write(toFile: docs + "/notes.txt", atomically: true, encoding: .utf8)
        for extra in [[], ["--overwrite"]] {
            r = try await Subprocess.run([Paths.cli, "convert", src, docs] + extra)
            #expect(r.status != 0 && r.output.contains("not empty and not a Zarr store"), "\(r.output)")
        }
        #expect(try String(contentsOfFile: docs + "/notes.txt", encoding: .utf8) == "keep me")
        // A regular file is not a store either.
        r = try await Subprocess.run([Paths.cli, "convert", src, docs + "/notes.txt", "--overwrite"])
        #expect(r.status != 0 && r.output.contains("not a directory"), "\(r.output)")
        // `zarr create` at such a folder refuses too (it used to empty it).
        let group = tmp + "/group.json"
        try #"{"zarr_format": 3, "node_type": "group", "attributes": {}}"#.write(toFile: group, atomically: true, encoding: .utf8)
        r = try await Subprocess.run([Paths.cli, "zarr", "create", docs, "--metadata", group])
        #expect(r.status != 0 && r.output.contains("not empty and not a Zarr store"), "\(r.output)")
        #expect(Self.exists(docs + "/notes.txt"))

        // An existing store is replaced only with --overwrite.
        let out = tmp + "/out.zarr"
        r = try await Subprocess.run([Paths.cli, "convert", src, out])
        #expect(r.status == 0, "\(r.output)")
        r = try await Subprocess.run([Paths.cli, "convert", src, out, "--zarr-format", "2"])
        #expect(r.status != 0 && r.output.contains("--overwrite"), "\(r.output)")
        #expect(Self.exists(out + "/zarr.json") && !Self.exists(out + "/.zgroup"))
        r = try await Subprocess.run([Paths.cli, "convert", src, out, "--zarr-format", "2", "--overwrite"])
        #expect(r.status == 0 && Self.exists(out + "/.zgroup") && !Self.exists(out + "/zarr.json"), "\(r.output)")

        // Source and destination must not contain each other.
        for (dst, words) in [(tmp + "/py", "contains the source"), (src + "/copy", "inside the source"), (src, "the source itself")] {
            r = try await Subprocess.run([Paths.cli, "convert", src, dst, "--overwrite"])
            #expect(r.status != 0 && r.output.contains(words), "\(dst): \(r.output)")
        }
        r = try await Subprocess.run([Paths.cli, "validate", src])
        #expect(r.status == 0, "the source must be intact: \(r.output)")
        #expect(try Self.partials(tmp, "out.zarr").isEmpty && Self.partials(tmp + "/py", "kitchen_sink.zarr").isEmpty)
    }

    /// `kill -9` at points spread over a convert onto an existing store: the destination is
    /// always the old store or the complete new one, and the next run removes what was left.
    @Test func killDuringConvertLeavesOldOrNewStore() async throws {
        let tmp = try await Self.bigFixture()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let src = tmp + "/src.zarr", dst = tmp + "/dst.zarr"
        // How long a whole convert takes here.
        try await Self.copyTree(src, dst)
        let clock = ContinuousClock()
        let start = clock.now
        var r = try await Subprocess.run([Paths.cli, "convert", src, dst, "--overwrite"])
        let full = clock.now - start
        try #require(r.status == 0, "\(r.output)")

        var sawOld = 0, sawNew = 0
        // Three early points (reading the source, or the first writes) and points spread over
        // the measured run.
        let points: [Duration] = [.milliseconds(40), .milliseconds(120), .milliseconds(250)] + (1...6).map { full * (Double($0) / 7.0) }
        for (k, point) in points.enumerated() {
            try await Self.copyTree(src, dst)  // the "old" store: Zarr v2
            let finished = try await Self.runAndKill(["convert", src, dst, "--overwrite"], after: point)
            let isOld = Self.exists(dst + "/.zgroup"), isNew = Self.exists(dst + "/zarr.json")
            #expect(isOld != isNew, "kill point \(k): neither or both formats at the destination")
            if isOld { sawOld += 1 } else { sawNew += 1 }
            if finished { #expect(isNew, "kill point \(k): finished but the old store is there") }
            r = try await Subprocess.run([Paths.cli, "validate", dst])
            #expect(r.status == 0, "kill point \(k) (\(isOld ? "old" : "new") store): \(r.output)")
        }
        // Runs killed before the swap must have happened (else the points are too late to test).
        #expect(sawOld > 0, "every kill point came after the swap (\(sawNew) new); the fixture is too small")
        // The next run removes what the killed runs left.
        r = try await Subprocess.run([Paths.cli, "convert", src, dst, "--overwrite"])
        #expect(r.status == 0, "\(r.output)")
        let left = try Self.partials(tmp, "dst.zarr")
        #expect(left.isEmpty, "left: \(left)")
    }

    /// Two converts to one destination at once: each either completes or fails saying the store
    /// is busy, and the destination is a valid store afterwards.
    @Test func concurrentConvertsFailLoudly() async throws {
        let tmp = try await Self.bigFixture()
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let src = tmp + "/src.zarr", dst = tmp + "/dst.zarr"
        var busy = 0
        for round in 1...4 {
            let jobs: [@Sendable () async throws -> (status: Int32, output: String)] = [
                { try await Subprocess.run([Paths.cli, "convert", src, dst, "--overwrite"]) },
                { try await Subprocess.run([Paths.cli, "convert", src, dst, "--overwrite", "--zarr-format", "2"]) },
            ]
            let results = try await Subprocess.bounded(jobs, width: 2)
            for r in results where r.status != 0 {
                #expect(r.output.contains("busy"), "round \(round): a failure other than 'busy': \(r.output)")
                busy += 1
            }
            #expect(results.contains { $0.status == 0 }, "round \(round): no convert succeeded")
            let v = try await Subprocess.run([Paths.cli, "validate", dst])
            #expect(v.status == 0, "round \(round): \(v.output)")
        }
        #expect(try Self.partials(tmp, "dst.zarr").isEmpty)
        print("concurrent converts: \(busy) of 8 refused as busy")
    }

    /// A temporary directory that a killed writer left is removed by the next write; one whose
    /// writer is alive (holds its lock) is left alone.
    @Test func abandonedTemporaryDirectoriesAreRemoved() async throws {
        let tmp = NSTemporaryDirectory() + "anndata-abandoned-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let fixtures = try #require(Paths.fixtureScript)
        var r = try await Subprocess.run([Paths.root + "/.venv312/bin/python", fixtures, "make", tmp + "/py"])
        try #require(r.status == 0, "\(r.output.suffix(2000))")
        let dead = tmp + "/.out.zarr.zarr-partial-dead", live = tmp + "/.out.zarr.zarr-partial-live"
        for d in [dead, live] {
            try FileManager.default.createDirectory(atPath: d + "/X", withIntermediateDirectories: true)
            try "x".write(toFile: d + "/X/zarr.json", atomically: true, encoding: .utf8)
        }
        let fd = open(live, O_RDONLY | O_DIRECTORY)
        try #require(fd >= 0)
        defer { close(fd) }
        try #require(flock(fd, LOCK_EX) == 0)
        r = try await Subprocess.run([Paths.cli, "convert", tmp + "/py/kitchen_sink.zarr", tmp + "/out.zarr"])
        #expect(r.status == 0, "\(r.output)")
        #expect(!Self.exists(dead), "the abandoned directory is still there")
        #expect(Self.exists(live + "/X/zarr.json"), "a live writer's directory was removed")
    }

    /// A full disk (a 3 MB tmpfs) fails the convert with a clear message and leaves the old
    /// store intact. Needs permission to mount (root in CI); otherwise it says so and passes.
    @Test func fullDiskLeavesOldStore() async throws {
        let tmp = NSTemporaryDirectory() + "anndata-full-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let fixtures = try #require(Paths.fixtureScript)
        var r = try await Subprocess.run([Paths.root + "/.venv312/bin/python", fixtures, "make", tmp + "/py", "--format", "2"])
        try #require(r.status == 0, "\(r.output.suffix(2000))")
        let disk = tmp + "/disk"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        r = try await Subprocess.run(["/bin/mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", disk])
        guard r.status == 0 else {
            print("fullDiskLeavesOldStore: cannot mount a tmpfs here (\(r.output.trimmingCharacters(in: .whitespacesAndNewlines))); not run")
            return
        }
        defer { Shell.runToExit(["/bin/umount", "-l", disk]) }
        let dst = disk + "/dst.zarr"
        try await Self.copyTree(tmp + "/py/kitchen_sink.zarr", dst)  // the old store, v2
        // Fill most of the rest of the disk so the new store cannot fit.
        r = try await Subprocess.run(["/bin/sh", "-c", "head -c 2500000 /dev/urandom > \(disk)/ballast"])
        let big = try await Self.bigFixture()
        defer { try? FileManager.default.removeItem(atPath: big) }
        r = try await Subprocess.run([Paths.cli, "convert", big + "/src.zarr", dst, "--overwrite", "--compressor", "none"])
        #expect(r.status != 0 && r.output.contains("No space left on device"), "\(r.output)")
        #expect(Self.exists(dst + "/.zgroup") && !Self.exists(dst + "/zarr.json"))
        r = try await Subprocess.run([Paths.cli, "validate", dst])
        #expect(r.status == 0, "the old store must be intact: \(r.output)")
        #expect(try Self.partials(disk, "dst.zarr").isEmpty)
    }

    /// Concurrent `zarr write`s into different inner chunks of one shard take turns: no update
    /// is lost.
    @Test func concurrentShardWritesKeepEveryUpdate() async throws {
        let tmp = NSTemporaryDirectory() + "anndata-shardrmw-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let meta = tmp + "/a.json"
        try """
            {"zarr_format": 3, "node_type": "array", "shape": [40], "data_type": "int32",
             "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [40]}},
             "chunk_key_encoding": {"name": "default"}, "fill_value": 0,
             "codecs": [{"name": "sharding_indexed", "configuration": {"chunk_shape": [10],
               "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
               "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]}}]}
            """.write(toFile: meta, atomically: true, encoding: .utf8)
        for part in 0..<4 {
            var values = [UInt8]()
            for _ in 0..<10 { withUnsafeBytes(of: Int32(part + 1).littleEndian) { values += $0 } }
            try Data(values).write(to: URL(fileURLWithPath: tmp + "/v\(part).bin"))
        }
        for round in 1...5 {
            let store = tmp + "/s\(round).zarr"
            var r = try await Subprocess.run([Paths.cli, "zarr", "create", store, "--path", "a", "--metadata", meta])
            try #require(r.status == 0, "\(r.output)")
            let jobs: [@Sendable () async throws -> (status: Int32, output: String)] = (0..<4).map { part in
                { try await Subprocess.run([Paths.cli, "zarr", "write", store, "--path", "a", "--region", "\(part * 10):\(part * 10 + 10)",
                                            "--values", tmp + "/v\(part).bin"]) }
            }
            for w in try await Subprocess.bounded(jobs, width: 4) { #expect(w.status == 0, "\(w.output)") }
            r = try await Subprocess.run([Paths.cli, "zarr", "read", store, "--path", "a", "--out", tmp + "/out.bin"])
            try #require(r.status == 0, "\(r.output)")
            let out = try [UInt8](Data(contentsOf: URL(fileURLWithPath: tmp + "/out.bin")))
            let ints: [Int32] = stride(from: 0, to: out.count, by: 4).map { Int32(out[$0]) }
            let expected: [Int32] = (0..<40).map { Int32($0 / 10 + 1) }
            #expect(ints == expected, "round \(round): an update was lost: \(ints)")
        }
    }

    /// `zarr create` inside a consolidated store keeps its consolidated metadata true, so the
    /// store still converts.
    @Test func createKeepsConsolidatedMetadataFresh() async throws {
        let tmp = NSTemporaryDirectory() + "anndata-createcons-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let fixtures = try #require(Paths.fixtureScript)
        var r = try await Subprocess.run([Paths.root + "/.venv312/bin/python", fixtures, "make", tmp + "/py"])
        try #require(r.status == 0, "\(r.output.suffix(2000))")
        let store = tmp + "/py/kitchen_sink.zarr"
        let group = tmp + "/group.json"
        try #"{"zarr_format": 3, "node_type": "group", "attributes": {"encoding-type": "dict", "encoding-version": "0.1.0"}}"#
            .write(toFile: group, atomically: true, encoding: .utf8)
        r = try await Subprocess.run([Paths.cli, "zarr", "create", store, "--path", "uns/new", "--metadata", group])
        #expect(r.status == 0, "\(r.output)")
        r = try await Subprocess.run([Paths.cli, "convert", store, tmp + "/copy.zarr"])
        #expect(r.status == 0 && !r.output.contains("consolidated metadata disagrees"), "\(r.output)")
        #expect(Self.exists(tmp + "/copy.zarr/uns/new/zarr.json"))
    }
}
