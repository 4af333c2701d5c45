import Foundation
import Testing
@testable import Zarr

@Suite struct ZstdCodecTests {
    let data: [UInt8] = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 * 7 / 13) }

    @Test(arguments: [0, 1, 3, 19, 22, -1, -5, -131072])
    func roundTripsAtEveryLevelAndAlwaysWritesTheContentSize(_ level: Int) throws {
        for checksum in [false, true] {
            let codec = ZstdCodec(level: level, checksum: checksum)
            let encoded = try codec.encode(data)
            // Frame header descriptor: bit 2 = checksum flag; the content size field is present.
            let descriptor = encoded[4]
            #expect((descriptor & 0x04 != 0) == checksum)
            #expect(descriptor >> 6 != 0 || descriptor & 0x20 != 0)
            #expect(try codec.decode(encoded) == data)
            var into = [UInt8](repeating: 0, count: data.count)
            let ok = try into.withUnsafeMutableBytes { try codec.decode(encoded, into: $0) }
            #expect(ok && into == data)
        }
    }

    @Test func decodesStreamedFramesWithoutContentSizeAndConcatenatedFrames() throws {
        // The zstd command line tool streams from a pipe and leaves the content size out.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/zstd")
        p.arguments = ["-q", "-c", "-"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        let payload = data
        let writer = Thread { input.fileHandleForWriting.write(Data(payload)); try? input.fileHandleForWriting.close() }
        writer.start()
        let frame = Array(output.fileHandleForReading.readDataToEndOfFile())
        p.waitUntilExit()
        try #require(p.terminationStatus == 0 && frame.count > 8)
        #expect(frame[4] >> 6 == 0 && frame[4] & 0x20 == 0, "the CLI frame should lack the content size")
        let codec = ZstdCodec()
        #expect(try codec.decode(frame) == data)
        let two = try codec.encode([1, 2, 3]) + codec.encode([4, 5])
        #expect(try codec.decode(two) == [1, 2, 3, 4, 5])
        #expect(throws: ZarrError.self) { try codec.decode(Array(frame.prefix(frame.count - 3))) }
        #expect(throws: ZarrError.self) { try codec.decode([0x28, 0xB5, 0x2F, 0xFD]) }
        #expect(throws: ZarrError.self) { try codec.decode([1, 2, 3, 4, 5, 6, 7, 8]) }
        #expect(throws: ZarrError.self) { _ = try ZstdCodec(v3Configuration: ["level": 23], spec: ChunkSpec(shape: [1], dataType: .uint8, fillValue: .zero(for: .uint8))) }
    }
}
