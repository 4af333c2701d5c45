import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import Zarr

/// The `anndata zarr` verbs are a contract other tools drive the engine through.
@Suite struct ZarrVerbTests {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The built CLI (the test target depends on it, so it is built first).
    static let binary: String = {
        let candidates = [Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("anndata").path,
                          root + "/.build/debug/anndata"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[1]
    }()

    func tmp() -> String {
        let d = NSTemporaryDirectory() + "anndata-cli-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @discardableResult
    func cli(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func write(_ text: String, _ path: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }

    @Test func createWriteReadRegionsV3AndV2() throws {
        let d = tmp()
        try write(#"{"zarr_format":3,"node_type":"array","shape":[4,7],"data_type":"int16","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[3,3]}},"chunk_key_encoding":{"name":"default","configuration":{"separator":"."}},"fill_value":-3,"codecs":[{"name":"bytes","configuration":{"endian":"big"}},{"name":"gzip","configuration":{"level":1}}],"dimension_names":["r",null],"attributes":{"a":1,"b":2}}"#, d + "/m.json")
        try write(#"{"b":"ignored","c":3}"#, d + "/attrs.json")
        var r = try cli(["zarr", "create", d + "/s", "--path", "g/x", "--metadata", d + "/m.json", "--attributes", d + "/attrs.json"])
        #expect(r.status == 0, "\(r.err)")
        let values = (0..<8).flatMap { i -> [UInt8] in let v = UInt16(bitPattern: Int16(i - 4)); return [UInt8(v & 255), UInt8(v >> 8)] }
        try Data(values).write(to: URL(fileURLWithPath: d + "/v.bin"))
        r = try cli(["zarr", "write", d + "/s", "--path", "g/x", "--region", "1:3,2:6", "--values", d + "/v.bin"])
        #expect(r.status == 0, "\(r.err)")
        r = try cli(["zarr", "read", d + "/s", "--path", "g/x", "--region", "1:3,2:6", "--out", d + "/o.bin"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.trimmingCharacters(in: .whitespacesAndNewlines) == #"{"zarr_format":3,"shape":[2,4],"data_type":"int16"}"#)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: d + "/o.bin"))) == values)
        let meta = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: d + "/s/g/x/zarr.json"))))
        let attrs = meta["attributes"]?.object
        #expect(attrs?.keys.sorted() == ["a", "b", "c"])
        #expect(attrs?["a"] == 1 && attrs?["b"] == 2 && attrs?["c"] == 3)
        #expect(meta["dimension_names"] == ["r", nil])
        #expect(FileManager.default.fileExists(atPath: d + "/s/g/zarr.json"))
        #expect(FileManager.default.fileExists(atPath: d + "/s/g/x/c.0.0"))
        // A whole read fills the rest with the fill value.
        r = try cli(["zarr", "read", d + "/s", "--path", "g/x", "--out", d + "/all.bin"])
        #expect(r.out.contains(#""shape":[4,7]"#))
        // --stats counts the store's requests on stderr: zarr.json, then the 2 chunks that the
        // region 1:3,2:6 touches (chunks of 3×3: chunk row 0, chunk columns 0 and 1).
        r = try cli(["zarr", "read", d + "/s", "--path", "g/x", "--region", "1:3,2:6", "--out", d + "/o.bin", "--stats"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("stats: store \(d)/s: 3 requests (GET 3)"), "\(r.err)")
        // Output to a device is written in place, never replaced by a file.
        r = try cli(["zarr", "read", d + "/s", "--path", "g/x", "--out", "/dev/null"])
        #expect(r.status == 0, "\(r.err)")
        var st = stat()
        #expect(stat("/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR)
        // v2, U<n>
        try write(#"{"zarr_format":2,"shape":[3],"chunks":[2],"dtype":"<U2","fill_value":"z","order":"C","filters":null,"compressor":{"id":"zlib","level":1}}"#, d + "/v2.json")
        #expect(try cli(["zarr", "create", d + "/s2", "--path", "u", "--metadata", d + "/v2.json"]).status == 0)
        try Data([0x61, 0, 0, 0, 0x62, 0, 0, 0]).write(to: URL(fileURLWithPath: d + "/u.bin"))
        #expect(try cli(["zarr", "write", d + "/s2", "--path", "u", "--region", "1:2", "--values", d + "/u.bin"]).status == 0)
        r = try cli(["zarr", "read", d + "/s2", "--path", "u", "--out", d + "/uo.bin"])
        #expect(r.out.contains(#""data_type":"U2""#) && r.out.contains(#""zarr_format":2"#))
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: d + "/uo.bin"))) == [0x7a, 0, 0, 0, 0, 0, 0, 0, 0x61, 0, 0, 0, 0x62, 0, 0, 0, 0x7a, 0, 0, 0, 0, 0, 0, 0])
        #expect(FileManager.default.fileExists(atPath: d + "/s2/.zgroup"))
        // consolidate and tree
        #expect(try cli(["zarr", "consolidate", d + "/s"]).status == 0)
        let root = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: d + "/s/zarr.json"))))
        #expect(root["consolidated_metadata"]?["metadata"]?.object?.keys == ["g", "g/x"])
        r = try cli(["zarr", "tree", d + "/s"])
        #expect(r.status == 0 && r.out.contains("x array int16"))
    }

    @Test func stringsZeroDimensionalAndReplacingANode() throws {
        let d = tmp()
        try write(#"{"zarr_format":3,"node_type":"array","shape":[],"data_type":"string","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[]}},"chunk_key_encoding":{"name":"default"},"fill_value":"","codecs":[{"name":"vlen-utf8"}]}"#, d + "/m.json")
        #expect(try cli(["zarr", "create", d + "/s", "--path", "s", "--metadata", d + "/m.json"]).status == 0)
        try Data([6, 0, 0, 0] + Array("grüß".utf8)).write(to: URL(fileURLWithPath: d + "/v.bin"))
        var r = try cli(["zarr", "write", d + "/s", "--path", "s", "--values", d + "/v.bin"])
        #expect(r.status == 0, "\(r.err)")
        r = try cli(["zarr", "read", d + "/s", "--path", "s", "--out", d + "/o.bin"])
        #expect(r.out.contains(#""shape":[]"#) && r.out.contains(#""data_type":"string""#))
        #expect(try cli(["zarr", "read", d + "/s", "--path", "s", "--region", "0:1", "--out", d + "/o.bin"]).status != 0)
        // create over an existing node replaces it and its chunks
        try write(#"{"zarr_format":3,"node_type":"group"}"#, d + "/g.json")
        #expect(try cli(["zarr", "create", d + "/s", "--path", "s", "--metadata", d + "/g.json"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: d + "/s/s/c"))
    }

    @Test func zipStoresAreReadable() throws {
        let d = tmp()
        try write(#"{"zarr_format":3,"node_type":"array","shape":[3],"data_type":"uint8","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[3]}},"chunk_key_encoding":{"name":"default"},"fill_value":0,"codecs":[{"name":"bytes"}]}"#, d + "/m.json")
        // Two entries with the same name: the last wins.
        let py = """
        import zipfile, warnings
        warnings.simplefilter('ignore')
        with zipfile.ZipFile('\(d)/a.zip', 'w') as z:
            z.writestr('zarr.json', '{"zarr_format":3,"node_type":"group"}')
            z.writestr('x/zarr.json', open('\(d)/m.json').read())
            z.writestr('x/c/0', bytes([1, 2, 3]))
            z.writestr('x/c/0', bytes([7, 8, 9]))
        """
        try write(py, d + "/mk.py")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", d + "/mk.py"]
        try p.run()
        p.waitUntilExit()
        let r = try cli(["zarr", "read", d + "/a.zip", "--path", "x", "--out", d + "/o.bin"])
        #expect(r.status == 0, "\(r.err)")
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: d + "/o.bin"))) == [7, 8, 9])
        #expect(try cli(["zarr", "tree", d + "/a.zip"]).out.contains("x array uint8"))
        #expect(try cli(["zarr", "write", d + "/a.zip", "--path", "x", "--values", d + "/o.bin"]).status != 0)
    }

    @Test func errorsAreMessagesAndExitCodesNeverCrashes() throws {
        let d = tmp()
        try FileManager.default.createDirectory(atPath: d + "/s/x", withIntermediateDirectories: true)
        try write(#"{"zarr_format":3,"node_type":"array","shape":[2],"data_type":"int8","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":0,"codecs":[{"name":"bytes"}]}"#, d + "/s/x/zarr.json")
        try write("{not json", d + "/bad.json")
        try write(#"{"zarr_format":3,"node_type":"array","shape":[2],"data_type":"int8","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[2]}},"chunk_key_encoding":{"name":"default"},"fill_value":0,"codecs":[{"name":"lzma"}]}"#, d + "/unknown.json")
        // A store whose root is an array: `--path /` must still be refused as absolute.
        try FileManager.default.createDirectory(atPath: d + "/r", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: d + "/s/x/zarr.json", toPath: d + "/r/zarr.json")
        #expect(try cli(["zarr", "read", d + "/r", "--out", d + "/o"]).status == 0)
        let cases: [[String]] = [
            ["zarr", "read", d + "/r", "--path", "/", "--out", d + "/o"],
            ["zarr", "read", d + "/r", "--path", "//", "--out", d + "/o"],
            ["zarr", "write", d + "/r", "--path", "/", "--values", d + "/o"],
            ["zarr", "create", d + "/s", "--path", "/", "--metadata", d + "/s/x/zarr.json"],
            ["zarr", "read", d + "/s", "--path", "/x", "--out", d + "/o"],
            ["zarr", "read", d + "/s", "--path", "../s/x", "--out", d + "/o"],
            ["zarr", "read", d + "/s", "--path", d + "/s/x", "--out", d + "/o"],
            ["zarr", "read", d + "/s", "--path", "missing", "--out", d + "/o"],
            ["zarr", "read", d + "/s", "--path", "x", "--region", "0:3", "--out", d + "/o"],
            ["zarr", "read", d + "/s", "--path", "x", "--region", "a:b", "--out", d + "/o"],
            ["zarr", "create", d + "/s", "--path", "y", "--metadata", d + "/bad.json"],
            ["zarr", "create", d + "/s", "--path", "y", "--metadata", d + "/unknown.json"],
            ["zarr", "create", d + "/s", "--path", "y", "--metadata", d + "/none.json"],
            ["zarr", "write", d + "/s", "--path", "x", "--values", d + "/bad.json"],
            ["zarr", "read", d + "/nope.zip", "--out", d + "/o"],
            ["zarr", "frobnicate"],
        ]
        for args in cases {
            let r = try cli(args)
            #expect((1...127).contains(r.status), "\(args): status \(r.status)")
            #expect(!r.err.isEmpty, "\(args)")
            #expect(!r.err.contains("Fatal error") && !r.err.contains("Stack dump"), "\(args): \(r.err)")
        }
        #expect(!FileManager.default.fileExists(atPath: d + "/s/y"))
    }
}
