#include "moin/basemodel.h"

#include "moin/error.h"
#include "moin/safetensors.h"

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

namespace moin {

std::string builtinBaseModelDirectory()
{
    std::vector<fs::path> candidates;
    if (const char* explicitPath = std::getenv("MOIN_BASE_MODEL"))
        candidates.emplace_back(explicitPath);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec)
        candidates.push_back(exe.parent_path() / ".." / "share" / "moin-studio" / "base-model");
#ifdef MOIN_SOURCE_BASE_MODEL
    candidates.emplace_back(MOIN_SOURCE_BASE_MODEL);
#endif
    std::string tried;
    for (const fs::path& candidate : candidates) {
        if (fs::exists(candidate / "config.json", ec))
            return fs::weakly_canonical(candidate, ec).string();
        tried += "\n  " + candidate.string();
    }
    throw Error("the built-in base model is missing; looked in:" + tried
                + "\n(hint: reinstall, set MOIN_BASE_MODEL, or pass a model folder with --base)");
}

BaseModelInfo inspectBaseModel(const std::string& directory)
{
    std::error_code ec;
    const fs::path dir = fs::weakly_canonical(fs::absolute(directory), ec);
    if (!fs::is_directory(dir, ec)) {
        throw Error("base model folder " + directory
                    + " does not exist (expected a Hugging Face Llama folder with config.json, "
                      "model.safetensors and tokenizer.model)");
    }
    BaseModelInfo info;
    info.directory = dir.string();
    if (!fs::exists(dir / "config.json", ec))
        throw Error("base model folder " + info.directory + " has no config.json");
    info.config = LlamaConfig::load((dir / "config.json").string());
    // Opening maps the files and validates every header against the file sizes: cheap even
    // for a 1.1B model, and it catches truncated downloads now rather than at first use.
    SafetensorsCheckpoint::open(info.directory);
    info.tokenizerPath = (dir / "tokenizer.model").string();
    if (!fs::exists(info.tokenizerPath, ec)) {
        throw Error("base model folder " + info.directory
                    + " has no tokenizer.model; a workspace tokenizes its corpus with its base "
                      "model's sentencepiece tokenizer");
    }
    return info;
}

} // namespace moin
