import Zarr

/// A pandas masked array of integers (`Int8`...`UInt64`) or booleans (`boolean`): values plus a
/// mask where `true` means missing.
public struct NullableArray: Sendable, Equatable {
    /// The values (1-D; integer for `nullable-integer`, bool for `nullable-boolean`). Masked
    /// positions hold 0 / false when written.
    public var values: NDArray
    /// `true` where the value is missing.
    public var mask: [Bool]

    /// A masked array; throws when the lengths differ.
    public init(values: NDArray, mask: [Bool]) throws(AnnDataError) {
        guard values.shape.count == 1, values.count == mask.count else {
            throw .shapeMismatch(path: "", reason: "values of shape \(values.shape) and a mask of \(mask.count)")
        }
        self.values = values
        self.mask = mask
    }

    /// The number of values.
    public var count: Int { mask.count }
}

/// A pandas string array with missing values (`nullable-string-array`).
public struct NullableStrings: Sendable, Equatable {
    /// The strings; masked positions hold `""` when written.
    public var values: [String]
    /// `true` where the value is missing.
    public var mask: [Bool]
    /// The `na-value` attribute (`"NA"` for pandas' `string` dtype, `"NaN"` for pandas 3's
    /// `str`); `nil` when absent (anndata 0.12 writes none; readers assume `"NA"`).
    public var naValue: String?

    /// A nullable string array; throws when the lengths differ.
    public init(values: [String], mask: [Bool], naValue: String? = nil) throws(AnnDataError) {
        guard values.count == mask.count else {
            throw .shapeMismatch(path: "", reason: "\(values.count) values and a mask of \(mask.count)")
        }
        self.values = values
        self.mask = mask
        self.naValue = naValue
    }

    /// The number of values.
    public var count: Int { values.count }
    /// The values with `nil` at missing positions.
    public var optionalValues: [String?] { zip(values, mask).map { $1 ? nil : $0 } }
}

/// An awkward array as anndata stores it: the form (a JSON string), the length, and the named
/// buffers (`node0-offsets`, ...) as arrays. Round-tripped, not interpreted.
public struct AwkwardArray: Sendable, Equatable {
    /// The serialised awkward form (a JSON document in a string).
    public var form: String
    /// The outer length.
    public var length: Int
    /// The buffers by name, in order.
    public var buffers: OrderedDict<NDArray>

    /// An awkward array from its parts.
    public init(form: String, length: Int, buffers: OrderedDict<NDArray>) {
        self.form = form
        self.length = length
        self.buffers = buffers
    }
}
