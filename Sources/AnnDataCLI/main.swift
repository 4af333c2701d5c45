import Zarr
@main struct Main { static func main() {} }
