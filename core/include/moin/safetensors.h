#pragma once
// Hugging Face safetensors files: reading (memory-mapped, validated up front), writing (atomic),
// and checkpoints sharded over several files with a `model.safetensors.index.json`.
//
// Format: 8-byte little-endian header length N, N bytes of UTF-8 JSON mapping tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the first byte after the
// header) plus an optional "__metadata__" string->string map, then the little-endian, C-order
// tensor data. Every error is a moin::Error whose message names the file and the tensor.
#include "moin/error.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace moin {

/// Element types of the safetensors format that this reader supports.
enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool };

/// The safetensors spelling of `dtype`: "F32", "F16", "BF16", ..., "BOOL".
const char* dtypeName(DType dtype);
/// Bytes per element of `dtype` (BOOL is one byte).
size_t dtypeSize(DType dtype);
/// The DType spelled `name` in a safetensors header; throws moin::Error for any other name.
DType parseDType(const std::string& name);

/// IEEE binary16 bits -> float; exact (every half is a float), subnormals, inf and NaN included.
float halfToFloat(uint16_t bits);
/// float -> IEEE binary16 bits, rounding to nearest even; overflow gives inf, NaN stays NaN.
uint16_t floatToHalf(float value);
/// bfloat16 bits -> float; exact.
float bfloat16ToFloat(uint16_t bits);
/// float -> bfloat16 bits, rounding to nearest even; NaN stays a (quiet) NaN.
uint16_t floatToBfloat16(float value);

/// One tensor entry of a safetensors header.
struct TensorInfo {
    /// The tensor's name, e.g. "model.layers.0.self_attn.q_proj.weight".
    std::string name;
    /// Element type.
    DType dtype = DType::F32;
    /// Dimensions, outermost first (C order); empty for a scalar.
    std::vector<int64_t> shape;
    /// First byte of the data, relative to the start of the data section.
    uint64_t begin = 0;
    /// One past the last byte of the data, relative to the start of the data section.
    uint64_t end = 0;

    /// Number of elements: the product of `shape` (1 for a scalar, 0 if any dimension is 0).
    int64_t numel() const;
    /// Size of the data in bytes (end - begin).
    uint64_t bytes() const { return end - begin; }
};

/// A safetensors file, memory-mapped read-only. open() checks the whole header against the data
/// section before returning, so every TensorInfo it hands out describes bytes that exist.
/// Movable, not copyable. Thread-safe for concurrent reads.
class SafetensorsFile {
public:
    /// Maps and validates `path`; throws moin::Error saying what is wrong and where.
    static SafetensorsFile open(const std::string& path);

    /// Unmaps the file: every pointer from data() becomes invalid.
    ~SafetensorsFile();
    /// Takes over the mapping of `other`, which is left empty; data() pointers stay valid.
    SafetensorsFile(SafetensorsFile&& other) noexcept;
    /// Unmaps this file and takes over the mapping of `other`, which is left empty.
    SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
    /// Not copyable: the object owns its mapping.
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    /// Every tensor, sorted by data offset (which is the order their bytes appear in the file).
    const std::vector<TensorInfo>& tensors() const { return m_tensors; }
    /// The tensor called `name`, or nullptr; valid as long as this object lives.
    const TensorInfo* find(const std::string& name) const;
    /// The first byte of `info`'s data inside the mapping, valid as long as this object lives.
    /// Not necessarily aligned to the element size: read through memcpy or readAsFloat32().
    /// Throws moin::Error if `info` does not describe a tensor of this file.
    const void* data(const TensorInfo& info) const;
    /// The values of a F32, F16, BF16 or F64 tensor as floats (F64 rounds to nearest);
    /// throws moin::Error for other dtypes. (numel) elements, C order.
    std::vector<float> readAsFloat32(const TensorInfo& info) const;
    /// The "__metadata__" map of the header; empty if the file has none.
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    /// The path this file was opened from.
    const std::string& path() const { return m_path; }
    /// Size of the JSON header in bytes (N, padding included).
    uint64_t headerSize() const { return m_headerSize; }
    /// Size of the data section in bytes (the file size minus 8 minus headerSize()).
    uint64_t dataSize() const { return m_dataSize; }

private:
    SafetensorsFile() = default;
    void release() noexcept;

    std::string m_path;
    void* m_mapping = nullptr; // from mmap, unmapped in the destructor
    size_t m_mappingSize = 0;
    const unsigned char* m_data = nullptr; // start of the data section inside m_mapping
    uint64_t m_headerSize = 0;
    uint64_t m_dataSize = 0;
    std::vector<TensorInfo> m_tensors;
    std::unordered_map<std::string, size_t> m_index; // name -> position in m_tensors
    std::map<std::string, std::string> m_metadata;
};

/// Builds a safetensors file in memory order and writes it atomically.
class SafetensorsWriter {
public:
    /// Adds a tensor, copying `bytes` bytes from `data` (little-endian, C order). Throws
    /// moin::Error if bytes != numel * dtypeSize, a dimension is negative, the name is empty,
    /// not UTF-8, "__metadata__", or already added.
    void add(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data,
             size_t bytes);
    /// Like add(), without copying: `data` must stay valid and unchanged until write() returns.
    /// For large tensors (a whole base model) whose owner outlives the writer.
    void addBorrowed(const std::string& name, DType dtype, std::vector<int64_t> shape,
                     const void* data, size_t bytes);
    /// Sets the "__metadata__" map (replacing any earlier one); keys and values must be UTF-8.
    void setMetadata(std::map<std::string, std::string> metadata);
    /// Number of tensors added so far.
    size_t size() const { return m_entries.size(); }

    /// Writes the file: header padded with spaces to a multiple of 8 bytes, then the tensors in
    /// the order they were added, back to back. Writes `path + ".tmp-<pid>"`, fsyncs it and
    /// renames it over `path`, so `path` holds either its old content or the complete new file.
    /// On failure removes the temporary file and throws moin::Error. Threads of one process
    /// must not write the same path at the same time (they would share the temporary file).
    void write(const std::string& path) const;

private:
    struct Entry {
        TensorInfo info;
        const void* data = nullptr;
        std::vector<unsigned char> owned; // empty for borrowed entries
    };
    void addEntry(const std::string& name, DType dtype, std::vector<int64_t> shape,
                  const void* data, size_t bytes, bool copy);

    std::vector<Entry> m_entries; // insertion order
    std::unordered_map<std::string, size_t> m_index;
    std::map<std::string, std::string> m_metadata;
};

/// The index of a sharded checkpoint (`model.safetensors.index.json`).
struct ShardedIndex {
    /// Tensor name -> file name of the shard holding it (relative to the index's folder).
    std::map<std::string, std::string> weightMap;
    /// "metadata.total_size" of the index: the bytes of all tensors, 0 if absent.
    uint64_t totalSize = 0;

    /// Distinct shard file names, sorted.
    std::vector<std::string> shardFiles() const;
};

/// Reads and checks an index file: {"metadata": {...}, "weight_map": {tensor: file}}. Shard
/// names must be plain file names (no folders). Throws moin::Error.
ShardedIndex readShardedIndex(const std::string& indexJsonPath);

/// A tensor found in a checkpoint: the shard that holds it and its entry there.
struct CheckpointTensor {
    /// The shard; nullptr if the tensor was not found. Valid as long as the checkpoint lives.
    const SafetensorsFile* file = nullptr;
    /// The entry in `file`; nullptr if the tensor was not found.
    const TensorInfo* info = nullptr;

    /// True if the tensor was found.
    explicit operator bool() const { return file != nullptr; }
};

/// A Hugging Face checkpoint folder: either one `model.safetensors` or
/// `model.safetensors.index.json` plus the shards it names (the single file wins if both are
/// present, as in transformers). All files are mapped and validated when opened. Movable.
class SafetensorsCheckpoint {
public:
    /// Opens `path`: a checkpoint folder, a `.safetensors` file or an index `.json` file.
    /// Throws moin::Error if no weights are found, a shard named in the index is missing or
    /// invalid, or a tensor of the index is not in its shard.
    static SafetensorsCheckpoint open(const std::string& path);

    /// The tensor `name`, in whichever shard holds it; see CheckpointTensor.
    CheckpointTensor find(const std::string& name) const;
    /// Every tensor name of the checkpoint, sorted. For a sharded checkpoint these are the
    /// index's names; tensors in a shard that the index does not list are ignored.
    std::vector<std::string> tensorNames() const;
    /// The opened files: one, or the shards in sorted file-name order.
    const std::vector<SafetensorsFile>& files() const { return m_files; }
    /// True if opened from an index with shards.
    bool isSharded() const { return m_sharded; }

private:
    SafetensorsCheckpoint() = default;
    struct Location {
        size_t file = 0;
        size_t tensor = 0; // position in m_files[file].tensors()
    };
    std::vector<SafetensorsFile> m_files;
    std::map<std::string, Location> m_locations;
    bool m_sharded = false;
};

} // namespace moin
