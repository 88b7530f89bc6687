// export-serving: a run's experts laid out for vLLM's multi-LoRA server, built in a temporary
// folder beside the destination and renamed into place.
#include "moin/servingexport.h"

#include "moin/atomicfile.h"
#include "moin/clustering.h"
#include "moin/error.h"
#include "moin/serving.h"
#include "moin/training.h"
#include "moin/version.h"
#include "moin/workspace.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

namespace moin {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const char* const kAdapterFiles[] = {"adapter_config.json", "adapter_model.safetensors"};

// The same prompt as buildChatPrompt() (chatturn.cpp) without its truncation, so that an
// expert answers through vLLM's chat endpoint what it answers through ours.
const char kChatTemplate[]
    = "{%- set ns = namespace(system='', text='') -%}\n"
      "{%- for m in messages -%}\n"
      "{%- if m['role'] in ['system', 'developer'] -%}\n"
      "{%- set ns.system = ns.system ~ ('\\n' if ns.system else '') ~ m['content'] -%}\n"
      "{%- elif m['role'] == 'user' -%}\n"
      "{%- set ns.text = ns.text ~ 'User: ' ~ m['content'] ~ '\\n' -%}\n"
      "{%- else -%}\n"
      "{%- set ns.text = ns.text ~ 'Assistant: ' ~ m['content'] ~ '\\n' -%}\n"
      "{%- endif -%}\n"
      "{%- endfor -%}\n"
      "{{- (ns.system ~ '\\n\\n' if ns.system else '') ~ ns.text ~ 'Assistant:' -}}\n";

/// vLLM accepts these values of --max-lora-rank (vllm/config.py, possible_max_ranks).
int vllmMaxRank(int rank)
{
    for (int allowed : {8, 16, 32, 64, 128, 256, 320, 512})
        if (rank <= allowed)
            return allowed;
    throw Error("an expert has LoRA rank " + std::to_string(rank)
                + "; vLLM serves ranks up to 512 (retrain with a smaller --rank)");
}

/// Quotes a word for a POSIX shell.
std::string shellQuote(const std::string& word)
{
    static const char kPlain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "0123456789-_./=:@%+,";
    if (!word.empty() && word.find_first_not_of(kPlain) == std::string::npos)
        return word;
    std::string out = "'";
    for (char c : word)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

void writeScript(const fs::path& path, const std::string& text)
{
    writeFileAtomically(path.string(), text);
    fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add);
}

bool isEmptyDirectory(const fs::path& path)
{
    std::error_code ec;
    return fs::is_directory(path, ec) && fs::directory_iterator(path, ec) == fs::directory_iterator();
}

} // namespace

std::vector<std::string> servingExportFormats() { return {"vllm"}; }

ServingExportResult exportServing(Workspace& workspace, const std::string& directory,
                                  const ServingExportOptions& options)
{
    const std::vector<std::string> formats = servingExportFormats();
    if (std::find(formats.begin(), formats.end(), options.format) == formats.end()) {
        std::string list;
        for (const std::string& f : formats)
            list += (list.empty() ? "" : ", ") + f;
        throw Error("unknown serving format '" + options.format + "'; the formats are: " + list);
    }
    if (directory.empty())
        throw Error("no destination folder given for export-serving");
    const fs::path target = fs::absolute(directory).lexically_normal();
    std::error_code ec;
    if (fs::exists(target, ec) && !isEmptyDirectory(target)) {
        if (!fs::is_directory(target, ec))
            throw Error("'" + target.string() + "' exists and is not a folder; choose a new "
                        "folder for the export");
        if (!options.force)
            throw Error("'" + target.string() + "' is not empty; choose a new folder, or pass "
                        "--force to replace its content");
        // --force replaces an earlier export, never another folder that happens to be named.
        if (!fs::exists(target / "manifest.json", ec))
            throw Error("'" + target.string() + "' is not empty and holds no earlier export "
                        "(no manifest.json), so --force does not replace it; choose a new "
                        "folder for the export");
    }
    // The export must not swallow what it is made from: the folder must not be, or contain,
    // the workspace or the base model, nor lie inside the base model (a folder inside the
    // workspace, such as ws/serving, is fine).
    const auto resolved = [](const fs::path& path) {
        std::error_code error;
        const fs::path canonical = fs::weakly_canonical(path, error);
        return error ? fs::absolute(path).lexically_normal() : canonical;
    };
    const auto within = [](const fs::path& inner, const fs::path& outer) {
        const fs::path relative = inner.lexically_relative(outer);
        return !relative.empty() && *relative.begin() != "..";
    };
    const fs::path resolvedTarget = resolved(target);
    const fs::path workspaceDir = resolved(workspace.directory());
    const fs::path baseDir = resolved(workspace.baseModelDirectory());
    if (within(workspaceDir, resolvedTarget) || within(baseDir, resolvedTarget)
        || within(resolvedTarget, baseDir)) {
        const fs::path& source = within(workspaceDir, resolvedTarget) ? workspaceDir : baseDir;
        throw Error("the export folder '" + target.string() + "' overlaps '" + source.string()
                    + "', which the export is made from; choose a folder outside it");
    }

    ServingExportResult result;
    result.directory = target.string();
    result.runId = options.runId ? options.runId : activeClusterRun(workspace);
    if (result.runId == 0)
        throw Error("the workspace has no clustering run, so it has no experts (see `moin "
                    "cluster` and `moin train`)");
    const std::vector<ExpertInfo> experts = TrainingQueue(workspace).experts(result.runId);
    if (experts.empty())
        throw Error("run " + std::to_string(result.runId)
                    + " has no trained experts yet; train some with `moin train` first");
    std::map<int, std::vector<std::string>> keywords;
    for (const ClusterInfo& cluster : listClusters(workspace, result.runId))
        keywords[cluster.cluster] = cluster.keywords;
    const std::string workspaceBase = fs::absolute(workspace.baseModelDirectory()).string();

    // Built beside the target (same file system), renamed into place at the end.
    const fs::path staging = target.parent_path()
        / (target.filename().string() + ".tmp-" + std::to_string(::getpid()));
    fs::remove_all(staging, ec);
    fs::create_directories(staging / "adapters", ec);
    if (ec)
        throw Error("cannot create " + staging.string() + ": " + ec.message()
                    + " (hint: is the parent folder writable?)");
    try {
        json manifestExperts = json::array();
        for (const ExpertInfo& expert : experts) {
            const std::string name = expertModelName(expert.cluster);
            const fs::path into = staging / "adapters" / name;
            fs::create_directories(into);
            for (const char* file : kAdapterFiles)
                copyFileAtomically((fs::path(expert.adapterPath) / file).string(),
                                   (into / file).string());
            const json config = json::parse(readFile((into / "adapter_config.json").string()));
            const int rank = config.value("r", 0);
            result.maxRank = std::max(result.maxRank, rank);
            result.experts.push_back(expert.cluster);
            manifestExperts.push_back({{"name", name}, {"cluster", expert.cluster},
                                       {"path", "adapters/" + name}, {"rank", rank},
                                       {"lora_alpha", config.value("lora_alpha", json())},
                                       {"target_modules", config.value("target_modules", json())},
                                       {"keywords", keywords[expert.cluster]},
                                       {"source", expert.adapterPath},
                                       {"job", expert.jobId}});
        }
        result.serverMaxRank = vllmMaxRank(result.maxRank);

        std::string baseInScript = "\"$BASE\"";
        result.baseModel = workspaceBase;
        if (options.copyBase) {
            fs::create_directories(staging / "base");
            for (const fs::directory_entry& entry : fs::directory_iterator(workspaceBase)) {
                if (entry.is_regular_file())
                    fs::copy_file(entry.path(), staging / "base" / entry.path().filename());
            }
            result.baseModel = (target / "base").string();
        }
        writeFileAtomically((staging / "chat-template.jinja").string(), kChatTemplate);

        // vLLM keeps --max-loras adapters on the GPU per batch and the rest in CPU memory.
        const int count = int(experts.size());
        const int onGpu = std::min(count, 32);
        std::ostringstream command;
        command << "vllm serve " << baseInScript << " --served-model-name base --enable-lora"
                << " --max-loras " << onGpu << " --max-cpu-loras " << count
                << " --max-lora-rank " << result.serverMaxRank
                << " --chat-template \"$HERE/chat-template.jinja\" --lora-modules";
        for (const ExpertInfo& expert : experts) {
            const std::string name = expertModelName(expert.cluster);
            command << " " << name << "=\"$HERE/adapters/" << name << "\"";
        }
        command << " \"$@\"";
        result.launchCommand = command.str();
        std::ostringstream launch;
        launch << "#!/bin/sh\n"
               << "# vLLM's OpenAI-compatible server with the base model (as 'base') and the "
               << count << " experts of\n# run " << result.runId
               << " as LoRA adapters (expert-N). Written by `moin export-serving`.\n"
               << "# Extra arguments go to vllm (e.g. --port 8000 --host 0.0.0.0).\n"
               << "# Then route to it: ./moin-upstream.sh http://HOST:8000\n"
               << "set -e\n"
               << "HERE=$(cd \"$(dirname \"$0\")\" && pwd)\n"
               << "BASE=" << (options.copyBase ? std::string("\"$HERE/base\"")
                                               : shellQuote(workspaceBase))
               << "\n"
               << "exec " << result.launchCommand << "\n";
        writeScript(staging / "launch-vllm.sh", launch.str());

        const std::string workspaceDir = fs::absolute(workspace.directory()).string();
        std::ostringstream front;
        front << "#!/bin/sh\n"
              << "# The router in front of the server launch-vllm.sh starts: routes each request "
                 "here and\n# forwards it with model = the chosen expert; records the chat in "
                 "the workspace.\n"
              << "# Usage: ./moin-upstream.sh [UPSTREAM_URL] [moin serve options...]\n"
              << "set -e\n"
              << "UPSTREAM=${1:-http://127.0.0.1:8000}\n"
              << "[ $# -gt 0 ] && shift\n"
              << "exec moin serve " << shellQuote(workspaceDir) << " --run " << result.runId
              << " --upstream \"$UPSTREAM\" \"$@\"\n";
        writeScript(staging / "moin-upstream.sh", front.str());

        const json manifest = {
            {"format", options.format},
            {"moin_version", moinVersion()},
            {"workspace", workspaceDir},
            {"run", result.runId},
            {"base_model",
             {{"path", options.copyBase ? std::string("base") : workspaceBase},
              {"copied", options.copyBase},
              {"source", workspaceBase},
              {"served_name", "base"}}},
            {"max_lora_rank", result.maxRank},
            {"server_max_lora_rank", result.serverMaxRank},
            {"chat_template", "chat-template.jinja"},
            {"launch", "launch-vllm.sh"},
            {"front", "moin-upstream.sh"},
            {"launch_command", result.launchCommand},
            {"experts", manifestExperts}};
        writeFileAtomically((staging / "manifest.json").string(), manifest.dump(2) + "\n");

        // Into place: an empty or absent target is replaced at once; a full one (with --force)
        // is moved aside first and removed only after the new folder is in place.
        const fs::path aside = target.parent_path()
            / (target.filename().string() + ".old-" + std::to_string(::getpid()));
        const bool replacing = fs::exists(target);
        if (replacing)
            fs::rename(target, aside);
        try {
            fs::rename(staging, target);
        } catch (...) {
            if (replacing)
                fs::rename(aside, target);
            throw;
        }
        if (replacing)
            fs::remove_all(aside, ec);
    } catch (const fs::filesystem_error& e) {
        fs::remove_all(staging, ec);
        throw Error(std::string("cannot write the export: ") + e.what()
                    + " (hint: check free space and permissions)");
    } catch (...) {
        fs::remove_all(staging, ec);
        throw;
    }
    return result;
}

} // namespace moin
