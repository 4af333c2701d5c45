import AnnData
import Foundation
import Testing
import Zarr

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Walking a local store's hierarchy (validate, info, read): linear in the number of nodes,
/// never looping through symbolic links, never silently dropping a node it cannot name, and
/// never mistaking a key for a temporary file.
@Suite struct TraversalFaultTests {
    func temporaryStore(_ name: String) -> (String, LocalStore) {
        let dir = NSTemporaryDirectory() + "swift-anndata-tests/\(name)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return (dir, LocalStore(root: dir))
    }

    /// A small AnnData with `depth` dict groups nested in `uns` (`uns/d/d/...`).
    func nested(_ depth: Int) async throws -> LocalStore {
        let (_, store) = temporaryStore("nested-\(depth)")
        try await Small.make().write(to: store, options: WriteOptions(consolidate: false))
        let doc = Array(#"{"zarr_format":3,"node_type":"group","attributes":{"encoding-type":"dict","encoding-version":"0.1.0"}}"#.utf8)
        var path = "uns"
        for _ in 0..<depth {
            path += "/d"
            try await store.set(path + "/zarr.json", doc)
        }
        return store
    }

    /// Runs the jobs of the tasks that prefer it on a thread of its own, so that a timing is
    /// not held up by other tests blocking the shared cooperative pool (waiting on processes).
    final class DedicatedExecutor: TaskExecutor, @unchecked Sendable {
        let queue = DispatchQueue(label: "traversal-timing")
        func enqueue(_ job: consuming ExecutorJob) {
            let job = UnownedJob(job)
            let executor = asUnownedTaskExecutor()
            queue.async { job.runSynchronously(on: executor) }
        }
    }

    @Test func nestedGroupsTakeLinearTime() async throws {
        let executor = DedicatedExecutor()
        func seconds(_ depth: Int) async throws -> Double {
            let store = try await nested(depth)
            #expect(await validate(store).isEmpty)
            return try await withTaskExecutorPreference(executor) { try await timed(store, depth: depth) }
        }
        // Timed on the dedicated executor: the metadata traversal only. Chunk reads are left
        // out: they hop through unstructured tasks on the shared pool, which other tests
        // (waiting on Python processes) can hold for seconds.
        func timed(_ store: LocalStore, depth: Int) async throws -> Double {
            let clock = ContinuousClock()
            let start = clock.now
            let summary = try await StoreSummary.read(store)
            #expect(summary.keys.first { $0.name == "uns" }?.keys == ["d", "k"])
            let reader = try await ElementReader.open(store)
            for _ in 0..<2 {  // validate walks the groups, then the dict reader does again
                var path = "uns", levels = 0
                while let next = try await reader.childNames(path).first(where: { $0 == "d" }) {
                    path += "/" + next
                    levels += 1
                }
                #expect(levels == depth)
            }
            let elapsed = clock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
        let small = try await seconds(200)
        let large = try await seconds(800)
        // Paths grow with depth, so some per-level cost is inherent; the bound catches a return
        // of the per-group rescans of every path (26 s for validate at 800 levels in a release
        // build; about 5 s for this region in a debug build then, 0.3 s now).
        #expect(large < 2.5, "200 levels: \(small) s, 800 levels: \(large) s (ratio \(large / max(small, 1e-6)))")
    }

    @Test func aColumnNamedLikeATemporaryFileIsRead() async throws {
        let (dir, store) = temporaryStore("tmp-column")
        let obs = try DataFrame(index: ["a", "b"], columns: [".tmp-score": .array(try NDArray([1.5, 2.5], shape: [2]))])
        let a = try AnnData(X: nil, obs: obs, var: try DataFrame(index: ["g"]))
        try await a.write(to: store)
        #expect(FileManager.default.fileExists(atPath: dir + "/obs/.tmp-score/zarr.json"))
        let back = try await AnnData.read(from: store)
        #expect(back.obs.columns.keys == [".tmp-score"])
        #expect(await validate(store).isEmpty)
    }

    @Test func aNodeNameThatIsNotUTF8IsAProblemNamingItsParent() async throws {
        let (dir, store) = temporaryStore("latin1")
        try await Small.make().write(to: store, options: WriteOptions(consolidate: false))
        let bad: [CChar] = Array((dir + "/uns/caf").utf8CString.dropLast()) + [CChar(bitPattern: 0xE9), 0]
        #expect(mkdir(bad, 0o755) == 0)
        let group = Array(#"{"zarr_format":3,"node_type":"group","attributes":{"encoding-type":"dict","encoding-version":"0.1.0"}}"#.utf8)
        let file = Array((dir + "/uns/caf").utf8CString.dropLast()) + [CChar(bitPattern: 0xE9)] + Array("/zarr.json".utf8CString)
        let fd = open(file, O_WRONLY | O_CREAT, 0o644)
        #expect(fd >= 0)
        _ = group.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        let problems = await validate(store)
        #expect(problems.contains { $0.hasPrefix("uns: ") && $0.contains("caf\\xE9") }, "\(problems)")
        await #expect(throws: AnnDataError.self) { _ = try await AnnData.read(from: store) }
        await #expect(throws: AnnDataError.self) { _ = try await StoreSummary.read(store) }
    }

    @Test func symlinkLoopsInUnsAreReportedNotFollowed() async throws {
        let (dir, store) = temporaryStore("loop")
        try await Small.make().write(to: store, options: WriteOptions(consolidate: false))
        try FileManager.default.createSymbolicLink(atPath: dir + "/uns/a", withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: dir + "/uns/b", withDestinationPath: "../uns")
        let problems = await validate(store)
        #expect(problems.contains { $0.contains("'uns/a' is a symbolic link") }, "\(problems)")
        await #expect(throws: AnnDataError.self) { _ = try await AnnData.read(from: store) }
        await #expect(throws: AnnDataError.self) { _ = try await StoreSummary.read(store) }
    }
}
