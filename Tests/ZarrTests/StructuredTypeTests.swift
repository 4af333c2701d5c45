import Testing
@testable import Zarr

/// Structured (record) data types at the Zarr level: v2 dtype lists, v3 `structured`
/// (zarr-python 3.1) and `struct` (3.4); Swift writes the legacy `structured` spelling.
@Suite struct StructuredTypeTests {
    /// [a <i4, b <f8, c S3], as numpy packs it.
    let type = DataType.structured([
        StructField(name: "a", type: .int32), StructField(name: "b", type: .float64), StructField(name: "c", type: .fixedBytes(length: 3)),
    ])

    func record(_ a: Int32, _ b: Double, _ c: String) -> [UInt8] {
        var out = withUnsafeBytes(of: a.littleEndian) { Array($0) } + withUnsafeBytes(of: b.bitPattern.littleEndian) { Array($0) }
        out += Array(c.utf8) + [UInt8](repeating: 0, count: 3 - c.utf8.count)
        return out
    }

    @Test func parsesEverySpelling() throws {
        let v2 = try DataType.fromV2([["a", "<i4"], ["b", "<f8"], ["c", "|S3"]])
        #expect(v2.dataType == type)
        #expect(type.itemSize == 15)
        let s31 = try DataType.fromV3(["name": "structured", "configuration": ["fields": [
            ["a", "int32"], ["b", "float64"], ["c", ["name": "null_terminated_bytes", "configuration": ["length_bytes": 3]]]]]])
        let s34 = try DataType.fromV3(["name": "struct", "configuration": ["fields": [
            ["name": "a", "data_type": "int32"], ["name": "b", "data_type": "float64"],
            ["name": "c", "data_type": ["name": "null_terminated_bytes", "configuration": ["length_bytes": 3]]]]]])
        #expect(s31 == type)
        #expect(s34 == type)
        #expect(type.v3JSON["name"] == "structured")
        #expect(try DataType.fromV3(type.v3JSON) == type)
        // Fill values: base64 of the record (3.1, v2) and an object of fields (3.4).
        let fill = record(7, 0.5, "zz")
        #expect(try FillValue.parse("BwAAAAAAAAAAAOA/enoA", type: type, v2: false) == .fixed(fill))
        #expect(try FillValue.parse(["a": 7, "b": 0.5, "c": "eno="], type: type, v2: false) == .fixed(fill))
        #expect(throws: ZarrError.self) { try FillValue.parse(["a": 7, "b": 0.5], type: type, v2: false) }
    }

    @Test(arguments: [ZarrFormat.v2, .v3])
    func roundTripsWithAFill(_ format: ZarrFormat) async throws {
        let store = MemoryStore()
        let fill = FillValue.fixed(record(7, 0.5, "zz"))
        let a = try await ZarrArray.create(store, path: "r", metadata: ArrayMetadata(
            shape: [7], chunkShape: [3], dataType: type, fillValue: fill, zarrFormat: format,
            v2: V2ArrayOptions(compressor: ["id": "zstd", "level": 1])))
        let written = record(1, 1.5, "ab") + record(-2, .nan, "") + record(3, -0.0, "xyz") + record(4, 2.25, "q")
        try await a.write(try NDArray(packed: written, dataType: type, shape: [4]), at: [0])
        let back = try await ZarrArray.open(store, path: "r")
        #expect(back.dataType == type)
        #expect(back.metadata.fillValue == fill)
        let expected = written + record(7, 0.5, "zz") + record(7, 0.5, "zz") + record(7, 0.5, "zz")
        #expect(try await back.read().packedBytes() == expected)
        #expect(try await back.read([2..<6]).packedBytes() == Array(expected[30..<90]))
        // Chunk 2 holds only fill values: not written.
        #expect(try await store.get(format == .v3 ? "r/c/2" : "r/2") == nil)
        if format == .v3 {
            let doc = try JSONValue.parse(try #require(try await store.get("r/zarr.json")))
            #expect(doc["data_type"]?["name"] == "structured")
        }
    }

    @Test func v2FieldsKeepTheirByteOrder() async throws {
        let store = MemoryStore()
        let text = #"{"zarr_format":2,"shape":[2],"chunks":[2],"dtype":[["x",">i2"],["y","<u4"]],"fill_value":null,"order":"C","filters":null,"compressor":null}"#
        try await store.set("m/.zarray", Array(text.utf8))
        // Stored: x big-endian, y little-endian.
        try await store.set("m/0", [0x01, 0x02, 0x03, 0, 0, 0, 0xFF, 0xFE, 0x04, 0, 0, 0])
        let a = try await ZarrArray.open(store, path: "m")
        // In memory every field is little-endian.
        #expect(try await a.read().packedBytes() == [0x02, 0x01, 0x03, 0, 0, 0, 0xFE, 0xFF, 0x04, 0, 0, 0])
        try await a.write(all: try NDArray(packed: [0x02, 0x01, 0x05, 0, 0, 0, 0xFE, 0xFF, 0x06, 0, 0, 0], dataType: a.dataType, shape: [2]))
        #expect(try await store.get("m/0") == [0x01, 0x02, 0x05, 0, 0, 0, 0xFF, 0xFE, 0x06, 0, 0, 0])
    }
}
