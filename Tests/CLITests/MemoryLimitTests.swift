import Foundation
import Testing
import Zarr

/// Issue 8, crashes through the CLI: under a memory limit (`ulimit -v`), hostile metadata,
/// decompression bombs and regions end in a typed error and exit status 1, never a signal.
@Suite struct MemoryLimitTests {
    /// The address-space limit the CLI runs under, in KiB: enough for the CLI itself (its
    /// threads reserve a few hundred MiB), far below what the inputs ask for.
    static let limitKiB = 1_000_000

    func tmp() -> String {
        let d = NSTemporaryDirectory() + "anndata-memlimit-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    func write(_ bytes: [UInt8], _ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// Runs the CLI under `ulimit -v`; the status, whether it exited (rather than died of a
    /// signal) and its output.
    func cli(_ args: [String]) throws -> (status: Int32, exited: Bool, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "ulimit -v \(Self.limitKiB) && exec \"$0\" \"$@\"", ZarrVerbTests.binary] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, p.terminationReason == .exit, String(decoding: data, as: UTF8.self))
    }

    static func arrayDocument(shape: String, type: String, chunk: String, codecs: String) -> [UInt8] {
        Array(#"{"zarr_format":3,"node_type":"array","shape":[\#(shape)],"data_type":"\#(type)","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[\#(chunk)]}},"chunk_key_encoding":{"name":"default"},"fill_value":\#(type == "string" ? "\"\"" : "0"),"codecs":\#(codecs)}"#.utf8)
    }

    /// A 300-byte zarr.json declaring 2^31 int64 elements (16 GiB): the read is refused with a
    /// typed error saying what can be allocated, not aborted.
    @Test func hugeDeclaredArraysAreRefusedUnderAMemoryLimit() throws {
        let d = tmp()
        try write(Self.arrayDocument(shape: "2147483648", type: "int64", chunk: "1048576", codecs: #"[{"name":"bytes","configuration":{"endian":"little"}}]"#), d + "/s/zarr.json")
        let r = try cli(["zarr", "read", d + "/s", "--out", d + "/o.bin"])
        #expect(r.exited && r.status == 1, "\(r)")
        #expect(r.output.contains("out of memory") && r.output.contains("17179869184"), "\(r.output)")
        #expect(!FileManager.default.fileExists(atPath: d + "/o.bin"))
    }

    /// Decompression bombs in a fixed-size chunk (bz2, 1 GiB from a few KiB) and in a
    /// vlen-utf8 array (zstd, 16 GiB from 512 KiB, with and without a size in the header).
    @Test func decompressionBombsAreTypedErrorsUnderAMemoryLimit() throws {
        let d = tmp()
        // bz2: 1024 concatenated streams of 1 MiB of zeros, as the only chunk of 64 int64.
        let stream = try Bz2Codec(level: 1).encode([UInt8](repeating: 0, count: 1 << 20))
        let bz2Bomb = Array([[UInt8]](repeating: stream, count: 1024).joined())
        try write(Self.arrayDocument(shape: "64", type: "int64", chunk: "64", codecs: #"[{"name":"bytes","configuration":{"endian":"little"}},{"name":"numcodecs.bz2","configuration":{"level":1}}]"#), d + "/bz2/zarr.json")
        try write(bz2Bomb, d + "/bz2/c/0")
        var r = try cli(["zarr", "read", d + "/bz2", "--out", d + "/o.bin"])
        #expect(r.exited && r.status == 1, "\(r)")
        #expect(r.output.contains("'c/0'") && r.output.contains("512"), "\(r.output)")

        let vlen = #"[{"name":"vlen-utf8"},{"name":"zstd","configuration":{"level":1,"checksum":false}}]"#
        for (name, claimed) in [("unknown", nil), ("claimed", UInt64(1) << 34)] as [(String, UInt64?)] {
            try write(Self.arrayDocument(shape: "4", type: "string", chunk: "4", codecs: vlen), d + "/\(name)/zarr.json")
            try write(FaultCrashBombs.zstdRLE(blocks: 131_072, claimed: claimed), d + "/\(name)/c/0")
            r = try cli(["zarr", "read", d + "/\(name)", "--out", d + "/o.bin"])
            #expect(r.exited && r.status == 1, "\(name): \(r)")
            #expect(r.output.contains("'c/0'"), "\(name): \(r.output)")
        }
    }

    /// `zarr write --region 0:9223372036854775807` on a 10-element array used to trap in
    /// `NDArray(packed:)`; a shape of Int64.max with a small chunk used to trap in the chunk grid.
    @Test func regionsAndShapesNearInt64MaxAreTypedErrorsOrWork() throws {
        let d = tmp()
        try write(Self.arrayDocument(shape: "10", type: "int64", chunk: "4", codecs: #"[{"name":"bytes","configuration":{"endian":"little"}}]"#), d + "/ten/zarr.json")
        try write([UInt8](repeating: 1, count: 8), d + "/v8.bin")
        var r = try cli(["zarr", "write", d + "/ten", "--region", "0:9223372036854775807", "--values", d + "/v8.bin"])
        #expect(r.exited && r.status == 1, "\(r)")
        #expect(r.output.contains("outside"), "\(r.output)")
        r = try cli(["zarr", "read", d + "/ten", "--region", "9223372036854775806:9223372036854775807", "--out", d + "/o.bin"])
        #expect(r.exited && r.status == 1, "\(r)")

        try write(Self.arrayDocument(shape: "9223372036854775807", type: "int8", chunk: "4", codecs: #"[{"name":"bytes"}]"#), d + "/max/zarr.json")
        try write([1, 2, 3], d + "/v3.bin")
        r = try cli(["zarr", "write", d + "/max", "--region", "9223372036854775804:9223372036854775807", "--values", d + "/v3.bin"])
        #expect(r.exited && r.status == 0, "\(r)")
        r = try cli(["zarr", "read", d + "/max", "--region", "9223372036854775803:9223372036854775807", "--out", d + "/o.bin"])
        #expect(r.exited && r.status == 0, "\(r)")
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: d + "/o.bin"))) == [0, 1, 2, 3])
        r = try cli(["zarr", "read", d + "/max", "--out", d + "/all.bin"])
        #expect(r.exited && r.status == 1, "\(r)")
    }
}

/// Hand-made zstd frames for the bomb tests.
enum FaultCrashBombs {
    /// A zstd frame of `blocks` RLE blocks of 128 KiB each (4 bytes per block: 16 GiB from
    /// 512 KiB); `claimed` puts a content size in the header.
    static func zstdRLE(blocks: Int, byte: UInt8 = 0x41, claimed: UInt64? = nil) -> [UInt8] {
        var f: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
        if let claimed {
            f.append(0xE0)  // 8-byte content size, single segment
            for b in 0..<8 { f.append(UInt8(truncatingIfNeeded: claimed >> (8 * UInt64(b)))) }
        } else {
            f += [0x00, 0x38]
        }
        for i in 0..<blocks {
            let header = (131_072 << 3) | (1 << 1) | (i == blocks - 1 ? 1 : 0)
            f += [UInt8(header & 255), UInt8(header >> 8 & 255), UInt8(header >> 16 & 255), byte]
        }
        return f
    }
}
