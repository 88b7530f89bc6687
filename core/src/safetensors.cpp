#include "moin/safetensors.h"

#include "moin/atomicfile.h"
#include "moin/utf8.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// The data section is read and written with memcpy, so the host must share the file's byte order.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors.cpp assumes a little-endian host");

namespace moin {

namespace {

using Json = nlohmann::json;

// The limit of the reference implementation (safetensors' MAX_HEADER_SIZE): a larger header is
// a corrupt length field, and refusing it early avoids parsing a gigabyte of garbage.
constexpr uint64_t kMaxHeaderSize = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";
constexpr const char* kCorruptHint =
    "the file is damaged or was not written by a safetensors writer; download or export it again";
constexpr const char* kTruncatedHint =
    "the file is probably truncated (an interrupted download or copy?); download it again";

struct DTypeEntry {
    DType dtype;
    const char* name;
    size_t size;
};
constexpr DTypeEntry kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::F64, "F64", 8}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2}, {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
    {DType::Bool, "BOOL", 1},
};

std::string supportedDTypes()
{
    std::string names;
    for (const DTypeEntry& entry : kDTypes)
        names += (names.empty() ? "" : ", ") + std::string(entry.name);
    return names;
}

bool lookupDType(const std::string& name, DType* dtype)
{
    for (const DTypeEntry& entry : kDTypes) {
        if (name == entry.name) {
            *dtype = entry.dtype;
            return true;
        }
    }
    return false;
}

std::string shapeString(const std::vector<int64_t>& shape)
{
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

// A key that appears twice in one JSON object. nlohmann::json keeps only the last value, so the
// parser callback is the only place a duplicate can still be seen.
struct DuplicateKey {
    bool found = false;
    std::string key;
    std::string parent; // the top-level key whose object holds the duplicate; empty at top level
};

Json parseJsonDetectingDuplicates(const char* begin, const char* end, DuplicateKey* duplicate)
{
    std::vector<std::set<std::string>> openObjects;
    std::string topLevelKey;
    auto callback = [&](int, Json::parse_event_t event, Json& parsed) {
        switch (event) {
        case Json::parse_event_t::object_start:
            openObjects.emplace_back();
            break;
        case Json::parse_event_t::object_end:
            if (!openObjects.empty())
                openObjects.pop_back();
            break;
        case Json::parse_event_t::key: {
            if (openObjects.empty())
                break;
            const std::string& key = parsed.get_ref<const std::string&>();
            if (openObjects.size() == 1)
                topLevelKey = key;
            if (!openObjects.back().insert(key).second && !duplicate->found) {
                duplicate->found = true;
                duplicate->key = key;
                duplicate->parent = openObjects.size() == 1 ? std::string() : topLevelKey;
            }
            break;
        }
        default:
            break;
        }
        return true;
    };
    return Json::parse(begin, end, callback);
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; users need the rest.
std::string jsonErrorText(const Json::exception& error)
{
    std::string text = error.what();
    const size_t bracket = text.find("] ");
    return bracket == std::string::npos ? text : text.substr(bracket + 2);
}

std::string jsonTypeName(const Json& value)
{
    if (value.is_number_integer())
        return "integer " + value.dump();
    if (value.is_number_float())
        return "number " + value.dump();
    if (value.is_string())
        return "string " + value.dump();
    return std::string(value.type_name());
}

// Product of `shape` times `elementSize`, or false if it does not fit in 63 bits.
bool checkedBytes(const std::vector<int64_t>& shape, size_t elementSize, int64_t* numel,
                  uint64_t* bytes)
{
    constexpr uint64_t kLimit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    for (int64_t dim : shape) {
        if (dim == 0) {
            *numel = 0;
            *bytes = 0;
            return true;
        }
    }
    uint64_t product = 1;
    for (int64_t dim : shape) {
        const uint64_t d = static_cast<uint64_t>(dim);
        if (product > kLimit / d)
            return false;
        product *= d;
    }
    if (product > kLimit / elementSize)
        return false;
    *numel = static_cast<int64_t>(product);
    *bytes = product * elementSize;
    return true;
}

std::string folderOf(const std::string& path)
{
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

bool endsWith(const std::string& text, const std::string& suffix)
{
    return text.size() >= suffix.size()
           && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool isRegularFile(const std::string& path)
{
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

bool isFolder(const std::string& path)
{
    struct stat info {};
    return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// Builds "safetensors file '<path>': [tensor '<name>': ]<problem> (hint: <hint>)".
class FileErrors {
public:
    explicit FileErrors(const std::string& path) : m_path(path) {}
    [[noreturn]] void fail(const std::string& problem, const std::string& hint) const
    {
        throw Error("safetensors file '" + m_path + "': " + problem + " (hint: " + hint + ")");
    }
    [[noreturn]] void failTensor(const std::string& tensor, const std::string& problem,
                                 const std::string& hint) const
    {
        fail("tensor '" + tensor + "': " + problem, hint);
    }

private:
    const std::string& m_path;
};

TensorInfo parseEntry(const FileErrors& errors, const std::string& name, const Json& entry,
                      uint64_t dataSize)
{
    const std::string schemaHint = std::string("each tensor entry must look like "
                                               "{\"dtype\": \"F32\", \"shape\": [2, 3], "
                                               "\"data_offsets\": [0, 24]}; ")
                                   + kCorruptHint;
    if (!entry.is_object())
        errors.failTensor(name, "expected an object with dtype, shape and data_offsets, found "
                                    + jsonTypeName(entry),
                          schemaHint);
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
        if (!entry.contains(key))
            errors.failTensor(name, std::string("the entry has no \"") + key + "\"", schemaHint);
    }

    TensorInfo info;
    info.name = name;

    const Json& dtype = entry["dtype"];
    if (!dtype.is_string())
        errors.failTensor(name, "\"dtype\" must be a string, found " + jsonTypeName(dtype),
                          schemaHint);
    if (!lookupDType(dtype.get<std::string>(), &info.dtype))
        errors.failTensor(name, "unknown dtype '" + dtype.get<std::string>()
                                    + "' (expected one of " + supportedDTypes() + ")",
                          "convert the checkpoint to one of the supported dtypes, e.g. load it "
                          "with PyTorch and save it again as float16 or bfloat16");

    const Json& shape = entry["shape"];
    if (!shape.is_array())
        errors.failTensor(name, "\"shape\" must be an array of integers, found "
                                    + jsonTypeName(shape),
                          schemaHint);
    for (const Json& dim : shape) {
        if (!dim.is_number_integer())
            errors.failTensor(name, "\"shape\" must be an array of integers, found "
                                        + shape.dump(),
                              schemaHint);
        if (dim.is_number_unsigned()) {
            if (dim.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                errors.failTensor(name, "shape " + shape.dump() + " has a dimension too large",
                                  kCorruptHint);
        } else if (dim.get<int64_t>() < 0) {
            errors.failTensor(name, "shape " + shape.dump() + " has a negative dimension",
                              kCorruptHint);
        }
        info.shape.push_back(dim.get<int64_t>());
    }

    const Json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned()
        || !offsets[1].is_number_unsigned())
        errors.failTensor(name, "\"data_offsets\" must be two non-negative integers "
                                "[begin, end], found " + offsets.dump(),
                          schemaHint);
    info.begin = offsets[0].get<uint64_t>();
    info.end = offsets[1].get<uint64_t>();
    const std::string offsetsText =
        "data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) + "]";
    if (info.begin > info.end)
        errors.failTensor(name, offsetsText + ": begin is after end", kCorruptHint);
    if (info.end > dataSize)
        errors.failTensor(name, offsetsText + " reach beyond the data section, which has "
                                    + std::to_string(dataSize) + " bytes",
                          kTruncatedHint);

    int64_t numel = 0;
    uint64_t expectedBytes = 0;
    const size_t elementSize = dtypeSize(info.dtype);
    if (!checkedBytes(info.shape, elementSize, &numel, &expectedBytes))
        errors.failTensor(name, "shape " + shapeString(info.shape)
                                    + " is too large: its byte size overflows 63 bits",
                          kCorruptHint);
    if (info.bytes() != expectedBytes)
        errors.failTensor(name, offsetsText + " span " + std::to_string(info.bytes())
                                    + " bytes, expected " + std::to_string(expectedBytes) + " ("
                                    + dtypeName(info.dtype) + ", shape " + shapeString(info.shape)
                                    + " = " + std::to_string(numel) + " elements x "
                                    + std::to_string(elementSize) + " bytes)",
                          kCorruptHint);
    return info;
}

std::map<std::string, std::string> parseMetadata(const FileErrors& errors, const Json& value)
{
    const std::string hint = std::string("\"__metadata__\" must map strings to strings, e.g. "
                                         "{\"format\": \"pt\"}; ")
                             + kCorruptHint;
    if (!value.is_object())
        errors.fail("\"__metadata__\" must be an object, found " + jsonTypeName(value), hint);
    std::map<std::string, std::string> metadata;
    for (const auto& item : value.items()) {
        if (!item.value().is_string())
            errors.fail("\"__metadata__\" value of '" + item.key() + "' must be a string, found "
                            + jsonTypeName(item.value()),
                        hint);
        metadata[item.key()] = item.value().get<std::string>();
    }
    return metadata;
}

} // namespace

// ---- dtypes and element conversions ------------------------------------------------------------

const char* dtypeName(DType dtype)
{
    for (const DTypeEntry& entry : kDTypes) {
        if (entry.dtype == dtype)
            return entry.name;
    }
    return "?";
}

size_t dtypeSize(DType dtype)
{
    for (const DTypeEntry& entry : kDTypes) {
        if (entry.dtype == dtype)
            return entry.size;
    }
    return 0;
}

DType parseDType(const std::string& name)
{
    DType dtype = DType::F32;
    if (!lookupDType(name, &dtype))
        throw Error("unknown safetensors dtype '" + name + "' (expected one of "
                    + supportedDTypes() + ") (hint: dtype names are upper case, e.g. \"BF16\")");
    return dtype;
}

float halfToFloat(uint16_t bits)
{
    const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
    const uint32_t exponent = (bits >> 10) & 0x1fu;
    uint32_t mantissa = bits & 0x3ffu;
    uint32_t result = 0;
    if (exponent == 0x1f) {
        result = sign | 0x7f800000u | (mantissa << 13); // inf, or NaN keeping its payload
    } else if (exponent != 0) {
        result = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        result = sign;
    } else {
        // Subnormal half: mantissa * 2^-24, a normal float. Shift the leading 1 into the
        // implicit bit position, lowering the exponent once per shift.
        uint32_t floatExponent = 127 - 15 + 1;
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            --floatExponent;
        }
        result = sign | (floatExponent << 23) | ((mantissa & 0x3ffu) << 13);
    }
    float value = 0;
    std::memcpy(&value, &result, sizeof value);
    return value;
}

uint16_t floatToHalf(float value)
{
    uint32_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
    const uint32_t magnitude = bits & 0x7fffffffu;

    if (magnitude >= 0x7f800000u) { // inf or NaN; NaN stays quiet NaN with the top payload bits
        if (magnitude == 0x7f800000u)
            return sign | 0x7c00u;
        return static_cast<uint16_t>(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
    }
    if (magnitude >= 0x477ff000u) // >= 65520, the midpoint above the largest half 65504
        return sign | 0x7c00u;
    if (magnitude >= 0x38800000u) { // >= 2^-14: a normal half
        const uint32_t rebased = magnitude - ((127u - 15u) << 23);
        uint32_t half = rebased >> 13;
        const uint32_t rest = rebased & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
            ++half; // a carry into the exponent is the correct rounding
        return static_cast<uint16_t>(sign | half);
    }
    // Subnormal half or zero: the result is round(value * 2^24).
    const uint32_t exponent = magnitude >> 23;
    if (exponent < 102) // below 2^-25, half the smallest subnormal: rounds to zero
        return sign;
    const uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u; // value = sig * 2^(e-150)
    const uint32_t shift = 126 - exponent;                            // 14..24
    uint32_t half = significand >> shift;
    const uint32_t rest = significand & ((1u << shift) - 1);
    const uint32_t midpoint = 1u << (shift - 1);
    if (rest > midpoint || (rest == midpoint && (half & 1u)))
        ++half; // may become 0x400, the smallest normal: also correct
    return static_cast<uint16_t>(sign | half);
}

float bfloat16ToFloat(uint16_t bits)
{
    const uint32_t widened = static_cast<uint32_t>(bits) << 16;
    float value = 0;
    std::memcpy(&value, &widened, sizeof value);
    return value;
}

uint16_t floatToBfloat16(float value)
{
    uint32_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) // NaN: rounding could carry it into inf
        return static_cast<uint16_t>((bits >> 16) | 0x40u);
    const uint32_t roundingBias = 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<uint16_t>((bits + roundingBias) >> 16);
}

int64_t TensorInfo::numel() const
{
    int64_t count = 1;
    for (int64_t dim : shape)
        count *= dim;
    return count;
}

// ---- SafetensorsFile ---------------------------------------------------------------------------

SafetensorsFile SafetensorsFile::open(const std::string& path)
{
    const FileErrors errors(path);
    SafetensorsFile file;
    file.m_path = path;

    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int error = errno;
        errors.fail(std::string("cannot open: ") + std::strerror(error),
                    error == ENOENT ? "check the path; the file does not exist"
                                    : "check the file's permissions");
    }
    struct stat status {};
    if (::fstat(fd, &status) != 0) {
        const int error = errno;
        ::close(fd);
        errors.fail(std::string("cannot read its size: ") + std::strerror(error),
                    "check that the disk is present");
    }
    if (S_ISDIR(status.st_mode)) {
        ::close(fd);
        errors.fail("this is a folder, expected a .safetensors file",
                    "open the folder as a checkpoint, or pass the .safetensors file in it");
    }
    if (!S_ISREG(status.st_mode)) {
        ::close(fd);
        errors.fail("not a regular file", "copy the data into a regular file first");
    }
    const uint64_t fileSize = static_cast<uint64_t>(status.st_size);
    if (fileSize < 8) {
        ::close(fd);
        errors.fail("the file has " + std::to_string(fileSize)
                        + " bytes, shorter than the 8-byte header length every safetensors "
                          "file starts with",
                    kTruncatedHint);
    }
    if (fileSize > std::numeric_limits<size_t>::max()) {
        ::close(fd);
        errors.fail("the file is too large to map on this machine",
                    "use a 64-bit build");
    }
    void* mapping = ::mmap(nullptr, static_cast<size_t>(fileSize), PROT_READ, MAP_PRIVATE, fd, 0);
    const int mapError = errno;
    ::close(fd); // the mapping keeps the file referenced
    if (mapping == MAP_FAILED)
        errors.fail(std::string("cannot map the file into memory: ") + std::strerror(mapError),
                    "check free address space and that the file system supports mmap");
    file.m_mapping = mapping;
    file.m_mappingSize = static_cast<size_t>(fileSize);

    const auto* bytes = static_cast<const unsigned char*>(mapping);
    uint64_t headerSize = 0;
    for (int i = 7; i >= 0; --i)
        headerSize = (headerSize << 8) | bytes[i];
    if (headerSize > kMaxHeaderSize)
        errors.fail("the header length field says " + std::to_string(headerSize)
                        + " bytes, which exceeds the limit of " + std::to_string(kMaxHeaderSize)
                        + " bytes",
                    std::string("this is not a safetensors file, or ") + kCorruptHint);
    if (headerSize > fileSize - 8)
        errors.fail("the header length field says " + std::to_string(headerSize)
                        + " bytes, but only " + std::to_string(fileSize - 8)
                        + " bytes follow it",
                    kTruncatedHint);
    file.m_headerSize = headerSize;
    file.m_dataSize = fileSize - 8 - headerSize;
    file.m_data = bytes + 8 + headerSize;

    const unsigned char* header = bytes + 8;
    const size_t badByte = invalidUtf8At(
        std::string_view(reinterpret_cast<const char*>(header), static_cast<size_t>(headerSize)));
    if (badByte != std::string::npos)
        errors.fail("the header is not valid UTF-8 (byte " + std::to_string(badByte)
                        + " of the header)",
                    kCorruptHint);

    // nlohmann::json stops at a NUL byte as if the input ended there, which would let anything
    // hide behind one; valid JSON never contains a raw NUL.
    if (const void* nul = std::memchr(header, 0, static_cast<size_t>(headerSize)))
        errors.fail("the header is not valid JSON: it contains a NUL byte (byte "
                        + std::to_string(static_cast<const unsigned char*>(nul) - header)
                        + " of the header)",
                    std::string("headers are padded with spaces, not NULs; ") + kCorruptHint);

    DuplicateKey duplicate;
    Json root;
    try {
        const auto* text = reinterpret_cast<const char*>(header);
        root = parseJsonDetectingDuplicates(text, text + headerSize, &duplicate);
    } catch (const Json::exception& error) {
        errors.fail("the header is not valid JSON: " + jsonErrorText(error), kCorruptHint);
    }
    if (!root.is_object())
        errors.fail("the header must be a JSON object mapping tensor names to entries, found "
                        + jsonTypeName(root),
                    kCorruptHint);
    if (duplicate.found) {
        if (duplicate.key == kMetadataKey)
            errors.fail("the header has \"__metadata__\" twice", kCorruptHint);
        if (duplicate.parent.empty())
            errors.fail("duplicate tensor name '" + duplicate.key
                            + "': the header lists it twice",
                        std::string("a tensor name must be unique; ") + kCorruptHint);
        errors.fail("duplicate key \"" + duplicate.key + "\" in the entry of '"
                        + duplicate.parent + "'",
                    kCorruptHint);
    }

    for (const auto& item : root.items()) {
        if (item.key() == kMetadataKey)
            file.m_metadata = parseMetadata(errors, item.value());
        else
            file.m_tensors.push_back(
                parseEntry(errors, item.key(), item.value(), file.m_dataSize));
    }

    std::sort(file.m_tensors.begin(), file.m_tensors.end(),
              [](const TensorInfo& a, const TensorInfo& b) {
                  return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
              });
    // The format requires the tensors to tile the data section exactly: no overlaps, no holes,
    // no trailing bytes (so no other content can hide in a file that loads fine).
    uint64_t covered = 0;
    const TensorInfo* previous = nullptr;
    for (const TensorInfo& info : file.m_tensors) {
        if (info.begin < covered)
            errors.fail("tensors '" + previous->name + "' [" + std::to_string(previous->begin)
                            + ", " + std::to_string(previous->end) + "] and '" + info.name
                            + "' [" + std::to_string(info.begin) + ", "
                            + std::to_string(info.end) + "] overlap",
                        std::string("each byte belongs to one tensor; ") + kCorruptHint);
        if (info.begin > covered)
            errors.fail("bytes [" + std::to_string(covered) + ", " + std::to_string(info.begin)
                            + ") of the data section, before tensor '" + info.name
                            + "', belong to no tensor (a hole)",
                        std::string("the format forbids holes; ") + kCorruptHint);
        covered = info.end;
        previous = &info;
    }
    if (covered != file.m_dataSize)
        errors.fail("the data section has " + std::to_string(file.m_dataSize)
                        + " bytes, but the tensors cover only " + std::to_string(covered)
                        + " (trailing bytes)",
                    std::string("the format forbids trailing data; ") + kCorruptHint);

    for (size_t i = 0; i < file.m_tensors.size(); ++i)
        file.m_index.emplace(file.m_tensors[i].name, i);
    return file;
}

SafetensorsFile::~SafetensorsFile()
{
    release();
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept
    : m_path(std::move(other.m_path)),
      m_mapping(other.m_mapping),
      m_mappingSize(other.m_mappingSize),
      m_data(other.m_data),
      m_headerSize(other.m_headerSize),
      m_dataSize(other.m_dataSize),
      m_tensors(std::move(other.m_tensors)),
      m_index(std::move(other.m_index)),
      m_metadata(std::move(other.m_metadata))
{
    other.m_mapping = nullptr;
    other.m_mappingSize = 0;
    other.m_data = nullptr;
    other.m_dataSize = 0;
    other.m_tensors.clear();
    other.m_index.clear();
}

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept
{
    if (this != &other) {
        release();
        m_path = std::move(other.m_path);
        m_mapping = other.m_mapping;
        m_mappingSize = other.m_mappingSize;
        m_data = other.m_data;
        m_headerSize = other.m_headerSize;
        m_dataSize = other.m_dataSize;
        m_tensors = std::move(other.m_tensors);
        m_index = std::move(other.m_index);
        m_metadata = std::move(other.m_metadata);
        other.m_mapping = nullptr;
        other.m_mappingSize = 0;
        other.m_data = nullptr;
        other.m_dataSize = 0;
        other.m_tensors.clear();
        other.m_index.clear();
    }
    return *this;
}

void SafetensorsFile::release() noexcept
{
    if (m_mapping)
        ::munmap(m_mapping, m_mappingSize);
    m_mapping = nullptr;
    m_mappingSize = 0;
    m_data = nullptr;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const
{
    const auto it = m_index.find(name);
    return it == m_index.end() ? nullptr : &m_tensors[it->second];
}

const void* SafetensorsFile::data(const TensorInfo& info) const
{
    // An entry of ours is accepted as is; a copy must match ours, so a TensorInfo of another
    // file can never read outside this mapping or the wrong bytes.
    const std::less<const TensorInfo*> before;
    const bool ours = !m_tensors.empty() && !before(&info, m_tensors.data())
                      && before(&info, m_tensors.data() + m_tensors.size());
    if (!ours) {
        const TensorInfo* own = find(info.name);
        if (!own || own->begin != info.begin || own->end != info.end || own->dtype != info.dtype)
            throw Error("safetensors file '" + m_path + "': tensor '" + info.name
                        + "' is not a tensor of this file (hint: look it up with find() on the "
                          "file that holds it)");
    }
    return m_data + info.begin;
}

std::vector<float> SafetensorsFile::readAsFloat32(const TensorInfo& info) const
{
    const auto* bytes = static_cast<const unsigned char*>(data(info));
    const size_t count = static_cast<size_t>(info.numel());
    std::vector<float> values(count);
    switch (info.dtype) {
    case DType::F32:
        if (count)
            std::memcpy(values.data(), bytes, count * sizeof(float));
        break;
    case DType::F16:
    case DType::BF16: {
        const bool isHalf = info.dtype == DType::F16;
        for (size_t i = 0; i < count; ++i) {
            uint16_t bits = 0;
            std::memcpy(&bits, bytes + 2 * i, sizeof bits);
            values[i] = isHalf ? halfToFloat(bits) : bfloat16ToFloat(bits);
        }
        break;
    }
    case DType::F64:
        for (size_t i = 0; i < count; ++i) {
            double value = 0;
            std::memcpy(&value, bytes + 8 * i, sizeof value);
            values[i] = static_cast<float>(value);
        }
        break;
    default:
        throw Error("safetensors file '" + m_path + "': tensor '" + info.name + "' has dtype "
                    + dtypeName(info.dtype) + ", expected a floating-point dtype (F32, F16, "
                    "BF16 or F64) (hint: read integer tensors through data())");
    }
    return values;
}

// ---- SafetensorsWriter -------------------------------------------------------------------------

void SafetensorsWriter::add(const std::string& name, DType dtype, std::vector<int64_t> shape,
                            const void* data, size_t bytes)
{
    addEntry(name, dtype, std::move(shape), data, bytes, true);
}

void SafetensorsWriter::addBorrowed(const std::string& name, DType dtype,
                                    std::vector<int64_t> shape, const void* data, size_t bytes)
{
    addEntry(name, dtype, std::move(shape), data, bytes, false);
}

void SafetensorsWriter::addEntry(const std::string& name, DType dtype, std::vector<int64_t> shape,
                                 const void* data, size_t bytes, bool copy)
{
    auto fail = [&](const std::string& problem, const std::string& hint) {
        throw Error("safetensors writer: tensor '" + name + "': " + problem + " (hint: " + hint
                    + ")");
    };
    const std::string bugHint = "this is a bug in the code that saves the tensor";
    if (name.empty())
        fail("the name is empty", bugHint);
    if (name == kMetadataKey)
        fail("the name \"__metadata__\" is reserved for the metadata map", "rename the tensor");
    if (!isValidUtf8(name))
        fail("the name is not valid UTF-8", bugHint);
    if (m_index.count(name))
        fail("a tensor with this name was already added", "tensor names must be unique");
    for (int64_t dim : shape) {
        if (dim < 0)
            fail("shape " + shapeString(shape) + " has a negative dimension", bugHint);
    }
    int64_t numel = 0;
    uint64_t expected = 0;
    if (!checkedBytes(shape, dtypeSize(dtype), &numel, &expected))
        fail("shape " + shapeString(shape) + " is too large", bugHint);
    if (bytes != expected)
        fail("got " + std::to_string(bytes) + " bytes of data, expected "
                 + std::to_string(expected)
                 + " (" + dtypeName(dtype) + ", shape " + shapeString(shape) + " = "
                 + std::to_string(numel) + " elements x " + std::to_string(dtypeSize(dtype))
                 + " bytes)",
             bugHint);
    if (bytes > 0 && data == nullptr)
        fail("the data pointer is null", bugHint);

    Entry entry;
    entry.info.name = name;
    entry.info.dtype = dtype;
    entry.info.shape = std::move(shape);
    const uint64_t begin = m_entries.empty() ? 0 : m_entries.back().info.end;
    entry.info.begin = begin;
    entry.info.end = begin + bytes;
    if (copy && bytes > 0) {
        const auto* source = static_cast<const unsigned char*>(data);
        entry.owned.assign(source, source + bytes);
        entry.data = nullptr; // set from `owned` at write time: moves of the vector keep it valid
    } else {
        entry.data = data;
    }
    m_index.emplace(name, m_entries.size());
    m_entries.push_back(std::move(entry));
}

void SafetensorsWriter::setMetadata(std::map<std::string, std::string> metadata)
{
    for (const auto& [key, value] : metadata) {
        if (!isValidUtf8(key) || !isValidUtf8(value))
            throw Error("safetensors writer: metadata entry '" + key
                        + "' is not valid UTF-8 (hint: the metadata holds text only; encode "
                          "binary values, e.g. as base64)");
    }
    m_metadata = std::move(metadata);
}

void SafetensorsWriter::write(const std::string& path) const
{
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!m_metadata.empty()) {
        nlohmann::ordered_json metadata = nlohmann::ordered_json::object();
        for (const auto& [key, value] : m_metadata)
            metadata[key] = value;
        header[kMetadataKey] = std::move(metadata);
    }
    for (const Entry& entry : m_entries) {
        nlohmann::ordered_json shape = nlohmann::ordered_json::array();
        for (int64_t dim : entry.info.shape)
            shape.push_back(dim);
        header[entry.info.name] = {
            {"dtype", dtypeName(entry.info.dtype)},
            {"shape", std::move(shape)},
            {"data_offsets", {entry.info.begin, entry.info.end}},
        };
    }
    std::string headerText = header.dump();
    // Padding makes the data section 8-byte aligned in the file, so a reader that maps it can
    // view F64/I64 tensors in place.
    headerText.append((8 - headerText.size() % 8) % 8, ' ');
    unsigned char length[8];
    for (int i = 0; i < 8; ++i)
        length[i] = static_cast<unsigned char>(uint64_t(headerText.size()) >> (8 * i));

    AtomicFileWriter file(path);
    file.write(length, sizeof length);
    file.write(headerText);
    for (const Entry& entry : m_entries) {
        const void* bytes = entry.owned.empty() ? entry.data : entry.owned.data();
        file.write(bytes, static_cast<size_t>(entry.info.bytes()));
    }
    file.commit();
}

// ---- sharded checkpoints -----------------------------------------------------------------------

std::vector<std::string> ShardedIndex::shardFiles() const
{
    std::set<std::string> files;
    for (const auto& item : weightMap)
        files.insert(item.second);
    return {files.begin(), files.end()};
}

ShardedIndex readShardedIndex(const std::string& indexJsonPath)
{
    auto fail = [&](const std::string& problem, const std::string& hint) {
        throw Error("checkpoint index '" + indexJsonPath + "': " + problem + " (hint: " + hint
                    + ")");
    };
    const std::string hint = "an index looks like {\"metadata\": {\"total_size\": 123}, "
                             "\"weight_map\": {\"tensor name\": \"model-00001-of-00002."
                             "safetensors\"}}; download the checkpoint again";
    if (isFolder(indexJsonPath))
        fail("this is a folder, expected a JSON file", "pass model.safetensors.index.json");
    std::ifstream stream(indexJsonPath, std::ios::binary);
    if (!stream) {
        if (::access(indexJsonPath.c_str(), F_OK) != 0)
            fail("the file does not exist", "check the path");
        fail("cannot open the file", "check the file's permissions");
    }
    std::stringstream buffer;
    buffer << stream.rdbuf();
    if (stream.bad())
        fail("cannot read the file", "check that the disk is present");
    const std::string text = buffer.str();
    const size_t badByte = invalidUtf8At(text);
    if (badByte != std::string::npos)
        fail("not valid UTF-8 (byte " + std::to_string(badByte) + ")", hint);

    if (text.find('\0') != std::string::npos)
        fail("not valid JSON: it contains a NUL byte", hint);

    DuplicateKey duplicate;
    Json root;
    try {
        root = parseJsonDetectingDuplicates(text.data(), text.data() + text.size(), &duplicate);
    } catch (const Json::exception& error) {
        fail("not valid JSON: " + jsonErrorText(error), hint);
    }
    if (!root.is_object())
        fail("expected a JSON object, found " + jsonTypeName(root), hint);
    if (duplicate.found)
        fail("duplicate key \"" + duplicate.key + "\""
                 + (duplicate.parent.empty() ? "" : " in \"" + duplicate.parent + "\""),
             "each tensor may be listed once; " + hint);
    if (!root.contains("weight_map"))
        fail("there is no \"weight_map\"", hint);
    const Json& weightMap = root["weight_map"];
    if (!weightMap.is_object())
        fail("\"weight_map\" must be an object, found " + jsonTypeName(weightMap), hint);
    if (weightMap.empty())
        fail("\"weight_map\" lists no tensors", hint);

    ShardedIndex index;
    for (const auto& item : weightMap.items()) {
        if (!item.value().is_string())
            fail("tensor '" + item.key() + "': the shard must be a file name string, found "
                     + jsonTypeName(item.value()),
                 hint);
        const std::string shard = item.value().get<std::string>();
        if (shard.empty() || shard == "." || shard == ".."
            || shard.find_first_of("/\\") != std::string::npos)
            fail("tensor '" + item.key() + "': shard \"" + shard
                     + "\" is not a plain file name",
                 "an index may only name files in its own folder");
        index.weightMap.emplace(item.key(), shard);
    }
    if (root.contains("metadata")) {
        const Json& metadata = root["metadata"];
        if (!metadata.is_object())
            fail("\"metadata\" must be an object, found " + jsonTypeName(metadata), hint);
        // total_size is informational: exporters disagree on its type, so a missing or odd one
        // is not an error.
        const auto size = metadata.find("total_size");
        if (size != metadata.end() && size->is_number_unsigned())
            index.totalSize = size->get<uint64_t>();
        else if (size != metadata.end() && size->is_number_float() && size->get<double>() >= 0)
            index.totalSize = static_cast<uint64_t>(size->get<double>());
    }
    return index;
}

SafetensorsCheckpoint SafetensorsCheckpoint::open(const std::string& path)
{
    std::string singlePath;
    std::string indexPath;
    if (isFolder(path)) {
        const std::string folder = endsWith(path, "/") ? path : path + "/";
        if (isRegularFile(folder + "model.safetensors")) {
            singlePath = folder + "model.safetensors";
        } else if (isRegularFile(folder + "model.safetensors.index.json")) {
            indexPath = folder + "model.safetensors.index.json";
        } else {
            const bool hasPytorch = isRegularFile(folder + "pytorch_model.bin")
                                    || isRegularFile(folder + "pytorch_model.bin.index.json");
            throw Error("checkpoint folder '" + path
                        + "': found neither model.safetensors nor model.safetensors.index.json"
                        + " (hint: "
                        + (hasPytorch ? "this folder holds PyTorch .bin weights; convert them "
                                        "to safetensors first"
                                      : "choose the folder of a Hugging Face checkpoint")
                        + ")");
        }
    } else if (endsWith(path, ".json")) {
        indexPath = path;
    } else {
        singlePath = path;
    }

    SafetensorsCheckpoint checkpoint;
    if (!singlePath.empty()) {
        checkpoint.m_files.push_back(SafetensorsFile::open(singlePath));
        const std::vector<TensorInfo>& tensors = checkpoint.m_files.front().tensors();
        for (size_t i = 0; i < tensors.size(); ++i)
            checkpoint.m_locations[tensors[i].name] = Location{0, i};
        return checkpoint;
    }

    checkpoint.m_sharded = true;
    const ShardedIndex index = readShardedIndex(indexPath);
    const std::string folder = folderOf(indexPath);
    const std::vector<std::string> shards = index.shardFiles();
    std::map<std::string, size_t> shardPosition;
    for (const std::string& shard : shards) {
        const std::string shardPath = folder + "/" + shard;
        if (!isRegularFile(shardPath)) {
            size_t listed = 0;
            std::string example;
            for (const auto& [tensor, file] : index.weightMap) {
                if (file == shard && listed++ == 0)
                    example = tensor;
            }
            throw Error("checkpoint index '" + indexPath + "': shard '" + shard
                        + "' is missing (expected at '" + shardPath + "'; it holds "
                        + std::to_string(listed) + " tensors, e.g. '" + example
                        + "') (hint: the download is incomplete; download the missing shard)");
        }
        shardPosition[shard] = checkpoint.m_files.size();
        checkpoint.m_files.push_back(SafetensorsFile::open(shardPath));
    }
    for (const auto& [tensor, shard] : index.weightMap) {
        const size_t file = shardPosition.at(shard);
        const SafetensorsFile& shardFile = checkpoint.m_files[file];
        const TensorInfo* info = shardFile.find(tensor);
        if (!info)
            throw Error("checkpoint index '" + indexPath + "': tensor '" + tensor
                        + "' is listed in shard '" + shard + "', but that shard has no such "
                          "tensor (hint: the index and the shards come from different versions "
                          "of the checkpoint; download them again together)");
        checkpoint.m_locations[tensor] =
            Location{file, static_cast<size_t>(info - shardFile.tensors().data())};
    }
    return checkpoint;
}

CheckpointTensor SafetensorsCheckpoint::find(const std::string& name) const
{
    const auto it = m_locations.find(name);
    if (it == m_locations.end())
        return {};
    const SafetensorsFile& file = m_files[it->second.file];
    return {&file, &file.tensors()[it->second.tensor]};
}

std::vector<std::string> SafetensorsCheckpoint::tensorNames() const
{
    std::vector<std::string> names;
    names.reserve(m_locations.size());
    for (const auto& item : m_locations)
        names.push_back(item.first);
    return names;
}

} // namespace moin
