import Testing
@testable import Zarr
