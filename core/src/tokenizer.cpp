#include "moin/tokenizer.h"

#include "moin/error.h"
#include "spm_shim.h"

#include <dlfcn.h>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>

namespace fs = std::filesystem;

namespace moin {
namespace {

constexpr const char* kShimFileName = "libmoin_sentencepiece.so";
constexpr size_t kErrorSize = 1024;

// Function table of the isolated sentencepiece shim (see spm_shim.h).
struct SpmApi {
    std::string path;
    decltype(&moin_spm_abi_version) abiVersion = nullptr;
    decltype(&moin_spm_load) load = nullptr;
    decltype(&moin_spm_free) free = nullptr;
    decltype(&moin_spm_encode) encode = nullptr;
    decltype(&moin_spm_decode) decode = nullptr;
    decltype(&moin_spm_free_buffer) freeBuffer = nullptr;
    decltype(&moin_spm_vocab_size) vocabSize = nullptr;
    decltype(&moin_spm_bos_id) bosId = nullptr;
    decltype(&moin_spm_eos_id) eosId = nullptr;
    decltype(&moin_spm_unk_id) unkId = nullptr;
    decltype(&moin_spm_pad_id) padId = nullptr;
    decltype(&moin_spm_id_to_piece) idToPiece = nullptr;
    decltype(&moin_spm_piece_to_id) pieceToId = nullptr;
    decltype(&moin_spm_train) train = nullptr;
};

std::vector<std::string> shimCandidates()
{
    std::vector<std::string> candidates;
    if (const char* explicitPath = std::getenv("MOIN_SENTENCEPIECE_LIBRARY"))
        candidates.emplace_back(explicitPath);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const fs::path dir = exe.parent_path();
        candidates.push_back((dir / kShimFileName).string());
        candidates.push_back((dir / ".." / "lib" / "moin-studio" / kShimFileName).string());
    }
#ifdef MOIN_SPM_BUILD_PATH
    candidates.emplace_back(MOIN_SPM_BUILD_PATH);
#endif
#ifdef MOIN_SPM_INSTALL_PATH
    candidates.emplace_back(MOIN_SPM_INSTALL_PATH);
#endif
    return candidates;
}

template <typename Fn>
void bind(void* handle, const char* name, Fn& fn, const std::string& path)
{
    fn = reinterpret_cast<Fn>(dlsym(handle, name));
    if (!fn) {
        throw Error("the tokenizer library " + path + " lacks the function " + name
                    + " (hint: it belongs to another version of MoIN Studio; reinstall)");
    }
}

const SpmApi& spmApi()
{
    static std::once_flag once;
    static SpmApi api;
    static std::string loadError;
    std::call_once(once, [] {
        std::ostringstream tried;
        void* handle = nullptr;
        std::string path;
        for (const std::string& candidate : shimCandidates()) {
            std::error_code ec;
            if (!fs::exists(candidate, ec)) {
                tried << "\n  " << candidate << " (not found)";
                continue;
            }
            // RTLD_LOCAL keeps sentencepiece's protobuf copy out of the global scope;
            // RTLD_DEEPBIND makes the shim bind to that copy rather than LibTorch's.
            handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
            if (handle) {
                path = candidate;
                break;
            }
            tried << "\n  " << candidate << " (" << dlerror() << ")";
        }
        if (!handle) {
            loadError = "cannot load the tokenizer library " + std::string(kShimFileName)
                        + "; tried:" + tried.str()
                        + "\n(hint: set MOIN_SENTENCEPIECE_LIBRARY to its path, or reinstall)";
            return;
        }
        try {
            api.path = path;
            bind(handle, "moin_spm_abi_version", api.abiVersion, path);
            if (api.abiVersion() != MOIN_SPM_ABI_VERSION) {
                throw Error("the tokenizer library " + path + " has interface version "
                            + std::to_string(api.abiVersion()) + ", this program needs "
                            + std::to_string(MOIN_SPM_ABI_VERSION) + " (hint: reinstall)");
            }
            bind(handle, "moin_spm_load", api.load, path);
            bind(handle, "moin_spm_free", api.free, path);
            bind(handle, "moin_spm_encode", api.encode, path);
            bind(handle, "moin_spm_decode", api.decode, path);
            bind(handle, "moin_spm_free_buffer", api.freeBuffer, path);
            bind(handle, "moin_spm_vocab_size", api.vocabSize, path);
            bind(handle, "moin_spm_bos_id", api.bosId, path);
            bind(handle, "moin_spm_eos_id", api.eosId, path);
            bind(handle, "moin_spm_unk_id", api.unkId, path);
            bind(handle, "moin_spm_pad_id", api.padId, path);
            bind(handle, "moin_spm_id_to_piece", api.idToPiece, path);
            bind(handle, "moin_spm_piece_to_id", api.pieceToId, path);
            bind(handle, "moin_spm_train", api.train, path);
        } catch (const Error& e) {
            loadError = e.what();
            api = SpmApi{};
        }
        // The handle stays open for the life of the process: models point into it.
    });
    if (!loadError.empty())
        throw Error(loadError);
    return api;
}

} // namespace

struct Tokenizer::Impl {
    const SpmApi* api = nullptr;
    MoinSpmProcessor* processor = nullptr;
    std::string modelPath;
    ~Impl()
    {
        if (processor)
            api->free(processor);
    }
};

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : m_impl(std::move(impl)) {}

std::string Tokenizer::backendPath() { return spmApi().path; }

Tokenizer Tokenizer::load(const std::string& modelPath)
{
    std::error_code ec;
    if (!fs::is_regular_file(modelPath, ec)) {
        throw Error("tokenizer model " + modelPath
                    + " does not exist or is not a file (expected a sentencepiece .model file, "
                      "such as a Llama checkpoint's tokenizer.model)");
    }
    const SpmApi& api = spmApi();
    auto impl = std::make_shared<Impl>();
    impl->api = &api;
    impl->modelPath = modelPath;
    char err[kErrorSize] = {};
    if (api.load(modelPath.c_str(), &impl->processor, err, sizeof err) != 0) {
        throw Error("cannot read tokenizer model " + modelPath + ": " + err
                    + " (hint: expected a sentencepiece model, such as tokenizer.model)");
    }
    return Tokenizer(std::move(impl));
}

std::string Tokenizer::train(const TokenizerTrainOptions& options)
{
    if (options.inputFiles.empty())
        throw Error("tokenizer training needs at least one input text file; none was given");
    for (const std::string& file : options.inputFiles) {
        std::error_code ec;
        if (!fs::is_regular_file(file, ec))
            throw Error("tokenizer training input " + file + " does not exist or is not a file");
        // sentencepiece separates input files with commas.
        if (file.find(',') != std::string::npos) {
            throw Error("tokenizer training input " + file
                        + " has a comma in its path, which sentencepiece cannot take; "
                          "rename or copy it");
        }
        if (fs::file_size(file, ec) == 0)
            throw Error("tokenizer training input " + file + " is empty");
    }
    if (options.modelPrefix.empty())
        throw Error("tokenizer training needs an output prefix (writes <prefix>.model)");
    if (options.vocabSize < 8 || options.vocabSize > 1000000) {
        throw Error("tokenizer vocabulary size must be between 8 and 1,000,000; got "
                    + std::to_string(options.vocabSize));
    }
    if (options.modelType != "bpe" && options.modelType != "unigram") {
        throw Error("tokenizer model type must be 'bpe' or 'unigram'; got '"
                    + options.modelType + "'");
    }
    const fs::path prefix(options.modelPrefix);
    if (prefix.has_parent_path()) {
        std::error_code ec;
        fs::create_directories(prefix.parent_path(), ec);
    }

    std::string inputs;
    for (const std::string& file : options.inputFiles)
        inputs += (inputs.empty() ? "" : ",") + file;
    std::vector<std::pair<std::string, std::string>> flags = {
        {"input", inputs},
        {"model_prefix", options.modelPrefix},
        {"vocab_size", std::to_string(options.vocabSize)},
        {"model_type", options.modelType},
        {"character_coverage", std::to_string(options.characterCoverage)},
        {"input_sentence_size", std::to_string(options.inputSentenceSize)},
        {"shuffle_input_sentence", "true"},
        {"minloglevel", "1"},
        // Llama's conventions: <unk>=0, <s>=1, </s>=2, no padding piece.
        {"unk_id", "0"},
        {"bos_id", "1"},
        {"eos_id", "2"},
        {"pad_id", "-1"},
        // Vocabularies smaller than the corpus's character set must still be trainable.
        {"hard_vocab_limit", "false"},
    };
    if (options.llamaStyle) {
        flags.emplace_back("split_digits", "true");
        flags.emplace_back("byte_fallback", "true");
        // Text comes back exactly as it went in: no NFKC folding, no whitespace squeezing.
        flags.emplace_back("normalization_rule_name", "identity");
        flags.emplace_back("remove_extra_whitespaces", "false");
        flags.emplace_back("allow_whitespace_only_pieces", "true");
    }
    std::vector<const char*> keys;
    std::vector<const char*> values;
    for (const auto& [key, value] : flags) {
        keys.push_back(key.c_str());
        values.push_back(value.c_str());
    }
    const SpmApi& api = spmApi();
    char err[kErrorSize] = {};
    if (api.train(keys.data(), values.data(), keys.size(), err, sizeof err) != 0)
        throw Error(std::string("tokenizer training failed: ") + err);
    return options.modelPrefix + ".model";
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const
{
    int32_t* ids = nullptr;
    size_t count = 0;
    char err[kErrorSize] = {};
    if (m_impl->api->encode(m_impl->processor, text.data(), text.size(), &ids, &count, err,
                            sizeof err)
        != 0) {
        throw Error(std::string("cannot tokenize text: ") + err);
    }
    std::vector<int32_t> result(ids, ids + count);
    m_impl->api->freeBuffer(ids);
    return result;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const
{
    char* text = nullptr;
    size_t size = 0;
    char err[kErrorSize] = {};
    if (m_impl->api->decode(m_impl->processor, ids.data(), ids.size(), &text, &size, err,
                            sizeof err)
        != 0) {
        throw Error(std::string("cannot decode token ids: ") + err);
    }
    std::string result(text, size);
    m_impl->api->freeBuffer(text);
    return result;
}

int Tokenizer::vocabSize() const { return m_impl->api->vocabSize(m_impl->processor); }
int Tokenizer::bosId() const { return m_impl->api->bosId(m_impl->processor); }
int Tokenizer::eosId() const { return m_impl->api->eosId(m_impl->processor); }
int Tokenizer::unkId() const { return m_impl->api->unkId(m_impl->processor); }
int Tokenizer::padId() const { return m_impl->api->padId(m_impl->processor); }

std::string Tokenizer::idToPiece(int id) const
{
    char piece[256] = {};
    const int length = m_impl->api->idToPiece(m_impl->processor, id, piece, sizeof piece);
    if (length < 0) {
        throw Error("token id " + std::to_string(id) + " is outside the vocabulary [0, "
                    + std::to_string(vocabSize()) + ")");
    }
    if (static_cast<size_t>(length) < sizeof piece)
        return std::string(piece, static_cast<size_t>(length));
    std::string longPiece(static_cast<size_t>(length) + 1, '\0');
    m_impl->api->idToPiece(m_impl->processor, id, longPiece.data(), longPiece.size());
    longPiece.resize(static_cast<size_t>(length));
    return longPiece;
}

int Tokenizer::pieceToId(const std::string& piece) const
{
    return m_impl->api->pieceToId(m_impl->processor, piece.c_str());
}

const std::string& Tokenizer::modelPath() const { return m_impl->modelPath; }

} // namespace moin
