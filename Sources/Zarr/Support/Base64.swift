/// Standard base64 (RFC 4648, with padding), as v2 fill values use for byte types.
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            for s in [18, 12, 6, 0] { out.append(alphabet[Int((v >> UInt32(s)) & 63)]) }
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            var v = UInt32(bytes[i]) << 16
            if rest == 2 { v |= UInt32(bytes[i + 1]) << 8 }
            out.append(alphabet[Int((v >> 18) & 63)])
            out.append(alphabet[Int((v >> 12) & 63)])
            out.append(rest == 2 ? alphabet[Int((v >> 6) & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The decoded bytes, or `nil` if `text` is not valid base64.
    static func decode(_ text: String) -> [UInt8]? {
        var vals: [UInt8] = []
        var pad = 0
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): vals.append(c - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): vals.append(c - 97 + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): vals.append(c - 48 + 52)
            case UInt8(ascii: "+"), UInt8(ascii: "-"): vals.append(62)
            case UInt8(ascii: "/"), UInt8(ascii: "_"): vals.append(63)
            case UInt8(ascii: "="): pad += 1; continue
            default: return nil
            }
            if pad > 0 { return nil }
        }
        if vals.count % 4 == 1 || pad > 2 { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < vals.count {
            let n = min(4, vals.count - i)
            var v: UInt32 = 0
            for j in 0..<4 { v = v << 6 | (j < n ? UInt32(vals[i + j]) : 0) }
            out.append(UInt8(v >> 16 & 255))
            if n > 2 { out.append(UInt8(v >> 8 & 255)) }
            if n > 3 { out.append(UInt8(v & 255)) }
            i += 4
        }
        return out
    }
}
