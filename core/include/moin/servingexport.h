#pragma once
// Exporting a run's experts for a multi-LoRA server: the PEFT adapters under the names the API
// uses ("expert-N", the base as "base"), the server's launch command, the command of a
// `moin serve --upstream` front that routes to it, and a manifest tying names, clusters and
// files together.
#include <cstdint>
#include <string>
#include <vector>

namespace moin {

class Workspace;

struct ServingExportOptions {
    /// Target server: "vllm" (see servingExportFormats()). Default "vllm".
    std::string format = "vllm";
    /// Clustering run whose experts are exported; 0 = the active run.
    int64_t runId = 0;
    /// Copy the base model's files into DIR/base instead of naming its folder. Default false.
    bool copyBase = false;
    /// Replace a DIR that is not empty. Default false (refused).
    bool force = false;
};

struct ServingExportResult {
    /// The folder written (absolute).
    std::string directory;
    int64_t runId = 0;
    /// Exported experts' cluster ids, ascending.
    std::vector<int> experts;
    /// The largest LoRA rank among them, and what the server is told (vLLM's next size up).
    int maxRank = 0;
    int serverMaxRank = 0;
    /// The base model folder the server loads (DIR/base when copied).
    std::string baseModel;
    /// The launch command as written into the script (one line).
    std::string launchCommand;
};

/// The formats export-serving writes: {"vllm"}.
std::vector<std::string> servingExportFormats();

/// Writes DIR/adapters/expert-N/ (adapter_config.json + adapter_model.safetensors, byte for byte
/// the workspace's), DIR/base/ when copied, DIR/chat-template.jinja (the chat prompt `moin serve`
/// builds), DIR/launch-vllm.sh, DIR/moin-upstream.sh and DIR/manifest.json. The folder is built
/// beside DIR and renamed into place, so DIR is whole or untouched. Throws moin::Error for an
/// unknown format, a run without trained experts, or a DIR that is not empty (without force).
ServingExportResult exportServing(Workspace& workspace, const std::string& directory,
                                  const ServingExportOptions& options = {});

} // namespace moin
