import Testing
@testable import Zarr

@Suite struct FillValueTests {
    func bytes<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    @Test func integersUseTheFull64BitRange() throws {
        #expect(try FillValue.parse(.uint(18_446_744_073_709_551_615), type: .uint64, v2: false) == .fixed(bytes(UInt64.max)))
        #expect(try FillValue.parse(.int(Int64.min), type: .int64, v2: false) == .fixed(bytes(Int64.min)))
        #expect(try FillValue.parse(.int(9_007_199_254_740_993), type: .int64, v2: false) == .fixed(bytes(Int64(9_007_199_254_740_993))))
        #expect(throws: ZarrError.self) { try FillValue.parse(.int(300), type: .uint8, v2: false) }
        #expect(throws: ZarrError.self) { try FillValue.parse(.int(-1), type: .uint32, v2: false) }
    }

    @Test func floatForms() throws {
        #expect(try FillValue.parse("NaN", type: .float32, v2: false) == .fixed(bytes(UInt32(0x7fc0_0000))))
        #expect(try FillValue.parse("NaN", type: .float16, v2: false) == .fixed(bytes(UInt16(0x7e00))))
        #expect(try FillValue.parse("NaN", type: .float64, v2: false) == .fixed(bytes(UInt64(0x7ff8_0000_0000_0000))))
        #expect(try FillValue.parse("Infinity", type: .float64, v2: false) == .fixed(bytes(Double.infinity.bitPattern)))
        #expect(try FillValue.parse("-Infinity", type: .float32, v2: false) == .fixed(bytes((-Float.infinity).bitPattern)))
        #expect(try FillValue.parse("0x3fc00000", type: .float32, v2: false) == .fixed(bytes(Float(1.5).bitPattern)))
        #expect(try FillValue.parse(.int(2), type: .float64, v2: false) == .fixed(bytes(Double(2).bitPattern)))
        let negZero = try FillValue.parse(.double(-0.0), type: .float64, v2: false)
        #expect(negZero == .fixed(bytes((-0.0 as Double).bitPattern)))
        #expect(negZero.json(type: .float64, v2: false).serializedString() == "-0.0")
        // A NaN with a payload survives as hex.
        let payload = FillValue.fixed(bytes(UInt32(0x7fc0_0001)))
        #expect(payload.json(type: .float32, v2: false) == "0x7fc00001")
        #expect(try FillValue.parse(payload.json(type: .float32, v2: false), type: .float32, v2: false) == payload)
    }

    @Test func complexBoolStringAndBytes() throws {
        let c = try FillValue.parse([1.5, "NaN"], type: .complex64, v2: false)
        #expect(c == .fixed(bytes(Float(1.5).bitPattern) + bytes(UInt32(0x7fc0_0000))))
        #expect(c.json(type: .complex64, v2: false) == [1.5, "NaN"])
        #expect(try FillValue.parse(true, type: .bool, v2: false) == .fixed([1]))
        #expect(try FillValue.parse("grüße", type: .string, v2: false) == .variable(Array("grüße".utf8)))
        #expect(try FillValue.parse([1, 2, 255], type: .bytes, v2: false) == .variable([1, 2, 255]))
        #expect(try FillValue.parse("YWI=", type: .fixedBytes(length: 4), v2: true) == .fixed([97, 98, 0, 0]))
        #expect(try FillValue.parse("ab", type: .fixedUTF32(length: 3), v2: true) == .fixed([97, 0, 0, 0, 98, 0, 0, 0, 0, 0, 0, 0]))
        #expect(try FillValue.parse(.null, type: .int32, v2: true) == FillValue.none)
        #expect(throws: ZarrError.self) { try FillValue.parse(.null, type: .int32, v2: false) }
        #expect(throws: ZarrError.self) { try FillValue.parse("nope", type: .float32, v2: false) }
        #expect(throws: ZarrError.self) { try FillValue.parse([1], type: .complex128, v2: false) }
    }

    @Test func everyTypeRoundTripsThroughJSON() throws {
        let types: [DataType] = [.bool, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .float16, .float32,
                                 .float64, .complex64, .complex128, .string, .bytes, .fixedUTF32(length: 2), .fixedBytes(length: 3)]
        for t in types {
            for v2 in [false, true] {
                let f = FillValue.zero(for: t)
                #expect(try FillValue.parse(f.json(type: t, v2: v2), type: t, v2: v2) == f, "\(t) v2=\(v2)")
            }
        }
    }
}
