#pragma once
// The base model a workspace is built on: the built-in small base, or a Hugging Face
// Llama folder the user points at (TinyLlama-1.1B, the paper's base, for instance).
#include "moin/model.h"

#include <string>

namespace moin {

/// What a quick look at a base model folder found (weights are checked, not loaded).
struct BaseModelInfo {
    /// Absolute, normalised folder path.
    std::string directory;
    LlamaConfig config;
    /// tokenizer.model inside the folder; the workspace's tokenizer.
    std::string tokenizerPath;
};

/// The folder of the built-in base: $MOIN_BASE_MODEL if set, else the installed copy
/// (<prefix>/share/moin-studio/base-model), else the source tree's resources/base-model.
/// Throws moin::Error listing the places tried if none has a config.json.
std::string builtinBaseModelDirectory();

/// Checks that `directory` is a usable base: config.json of a supported Llama, weights whose
/// headers are valid, and a tokenizer.model. Throws moin::Error saying what is missing.
BaseModelInfo inspectBaseModel(const std::string& directory);

} // namespace moin
