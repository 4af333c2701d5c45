/// A group's metadata: its format and attributes, plus a consolidated copy of the hierarchy
/// below it when one was written.
public struct GroupMetadata: Sendable, Hashable {
    /// The Zarr format.
    public var zarrFormat: ZarrFormat
    /// User attributes.
    public var attributes: JSONObject
    /// v3 members this engine may ignore (`must_understand: false`); kept.
    public var extraMembers: JSONObject

    /// A group.
    public init(zarrFormat: ZarrFormat = .v3, attributes: JSONObject = [:]) {
        self.zarrFormat = zarrFormat
        self.attributes = attributes
        self.extraMembers = [:]
    }

    /// Parses a v3 group `zarr.json`; the `consolidated_metadata` member is read separately.
    public static func parseV3(_ json: JSONValue, path: String) throws(ZarrError) -> GroupMetadata {
        guard let o = json.object else { throw .invalidMetadata(path: path, reason: "zarr.json is not an object") }
        guard o["zarr_format"]?.int == 3 else { throw .invalidMetadata(path: path, reason: "zarr_format is not 3") }
        guard o["node_type"]?.string == "group" else { throw .nodeKindMismatch(path: path, expected: "a group") }
        var g = GroupMetadata(zarrFormat: .v3)
        for (k, v) in o {
            switch k {
            case "zarr_format", "node_type", "consolidated_metadata": continue
            case "attributes":
                guard let a = v.object else { throw .invalidMetadata(path: path, reason: "attributes must be an object") }
                g.attributes = a
            default:
                guard v.object?["must_understand"]?.bool == false else {
                    throw .invalidMetadata(path: path, reason: "unknown member '\(k)' that must be understood")
                }
                g.extraMembers[k] = v
            }
        }
        return g
    }

    /// The v3 `zarr.json` document (without consolidated metadata).
    public func v3Document() -> JSONValue {
        var o: JSONObject = ["zarr_format": 3, "node_type": "group", "attributes": .object(attributes)]
        o.merge(extraMembers)
        return .object(o)
    }

    /// The v2 `.zgroup` document.
    public static let v2Document: JSONValue = ["zarr_format": 2]
}
