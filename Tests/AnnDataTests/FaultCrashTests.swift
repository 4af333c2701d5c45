import AnnData
import Foundation
import Testing
import Zarr

/// Issue 8 at the AnnData level: attributes of the wrong type and invalid code points are
/// errors naming the element, never accepted or silently replaced.
@Suite("Fault crash inputs")
struct AnnDataFaultCrashTests: SmallStoreChecks {
    @Test(arguments: [JSONValue.string("group"), 3, ["group": "n"], ["group", 7], [nil]] as [JSONValue])
    func columnOrderMustBeAListOfStrings(_ order: JSONValue) async throws {
        let store = try await written()
        try await ZarrGroup.updateAttributes(store, path: "obs") { $0["column-order"] = order }
        try await ConsolidatedMetadata.consolidate(store)
        let e = await readError(store)
        #expect(e?.path == "obs", "\(String(describing: e))")
        #expect(e?.description.contains("column-order") == true, "\(String(describing: e))")
        #expect(await validate(store).contains { $0.hasPrefix("obs:") && $0.contains("column-order") })
    }

    @Test func emptyColumnOrderIsAccepted() async throws {
        let store = try await written()
        #expect(try await ZarrGroup.open(store, path: "var").attributes["column-order"] == [])
        let a = try await AnnData.read(from: store)
        #expect(a.var.columns.isEmpty)
    }

    @Test(arguments: [ZarrFormat.v3, .v2])
    func invalidCodePointsInFixedLengthStringsNameTheElement(_ format: ZarrFormat) async throws {
        let store = try await written(format)
        func le(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
        let meta = ArrayMetadata(
            shape: [2], chunkShape: [2], dataType: .fixedUTF32(length: 2), fillValue: .zero(for: .fixedUTF32(length: 2)),
            codecs: [["name": "bytes", "configuration": ["endian": "little"]]],
            attributes: ["encoding-type": "array", "encoding-version": "0.2.0"], zarrFormat: format)
        let array = try await ZarrArray.create(store, path: "uns/u", metadata: meta)
        for bad: UInt32 in [0xD800, 0x110000] {
            let values = try NDArray(dataType: .fixedUTF32(length: 2), shape: [2], storage: .fixed(le(0x61) + le(0) + le(0x62) + le(bad)))
            try await array.write(all: values)
            try await ConsolidatedMetadata.consolidate(store)
            let e = await readError(store)
            #expect(e?.path == "uns/u", "\(String(describing: e))")
            #expect(e?.description.contains(String(bad, radix: 16, uppercase: true)) == true, "\(String(describing: e))")
        }
    }
}
