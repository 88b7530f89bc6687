// LoRA adapters on the frozen base: create, attach, merge, and PEFT's file format.
#include "llama.h"
#include "torch_io.h"

#include "moin/atomicfile.h"
#include "moin/error.h"
#include "moin/safetensors.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>

namespace fs = std::filesystem;

namespace moin {

using json = nlohmann::json;

namespace {

const std::set<std::string> kProjectionNames = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                "gate_proj", "up_proj", "down_proj"};
// PEFT's key prefix for a causal LM: PeftModel.base_model (LoraModel).model (LlamaForCausalLM).
const std::string kPeftPrefix = "base_model.model.";

std::string shortName(const std::string& modulePath)
{
    return modulePath.substr(modulePath.find_last_of('.') + 1);
}

std::string shapeText(at::IntArrayRef shape)
{
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

void clearAdapters(LlamaImpl& model)
{
    for (auto& [name, projection] : model.namedProjections())
        projection->lora.reset();
}

} // namespace

double LoraConfig::scaling() const
{
    return useRslora ? alpha / std::sqrt(double(rank)) : alpha / double(rank);
}

void LoraConfig::validate() const
{
    if (rank < 1 || rank > 4096)
        throw Error("LoRA rank must be between 1 and 4096; got " + std::to_string(rank));
    if (!(alpha > 0))
        throw Error("LoRA alpha must be positive; got " + std::to_string(alpha));
    if (!(dropout >= 0 && dropout < 1))
        throw Error("LoRA dropout must be in [0, 1); got " + std::to_string(dropout));
    if (targetModules.empty())
        throw Error("LoRA needs at least one target module (e.g. q_proj, v_proj)");
    for (const std::string& target : targetModules) {
        if (!kProjectionNames.count(target)) {
            throw Error("unknown LoRA target module '" + target
                        + "'; choose from q_proj k_proj v_proj o_proj gate_proj up_proj "
                          "down_proj");
        }
    }
}

std::string LoraConfig::toJson() const
{
    const json j = {
        {"peft_type", "LORA"},
        {"task_type", "CAUSAL_LM"},
        {"r", rank},
        {"lora_alpha", alpha},
        {"lora_dropout", dropout},
        {"target_modules", targetModules},
        {"base_model_name_or_path", baseModel},
        {"bias", "none"},
        {"fan_in_fan_out", false},
        {"inference_mode", true},
        {"init_lora_weights", true},
        {"use_rslora", useRslora},
        {"use_dora", false},
        {"modules_to_save", nullptr},
        {"layers_to_transform", nullptr},
        {"revision", nullptr},
    };
    return j.dump(2) + "\n";
}

LoraConfig LoraConfig::fromJson(const std::string& text, const std::string& source)
{
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        throw Error(source + " is not valid JSON: " + e.what());
    }
    if (!j.is_object())
        throw Error(source + " must hold a JSON object (PEFT's adapter_config.json)");
    const std::string type = j.value("peft_type", std::string());
    if (type != "LORA") {
        throw Error(source + ": peft_type is \"" + type
                    + "\"; MoIN Studio loads LoRA adapters (peft_type \"LORA\")");
    }
    if (j.value("use_dora", false))
        throw Error(source + ": DoRA adapters (use_dora) are not supported");
    if (j.value("fan_in_fan_out", false))
        throw Error(source + ": fan_in_fan_out adapters (GPT-2 style Conv1D) are not supported");
    LoraConfig c;
    try {
        c.rank = j.at("r").get<int>();
        c.alpha = j.value("lora_alpha", double(c.rank));
        c.dropout = j.value("lora_dropout", 0.0);
        c.baseModel = j.value("base_model_name_or_path", std::string());
        c.useRslora = j.value("use_rslora", false);
        c.targetModules.clear();
        const json& targets = j.at("target_modules");
        if (targets.is_string()) {
            // PEFT also takes a regular expression over module paths; record what it matches.
            const std::regex pattern(targets.get<std::string>());
            for (const std::string& name : kProjectionNames) {
                if (std::regex_search("model.layers.0.self_attn." + name, pattern)
                    || std::regex_search("model.layers.0.mlp." + name, pattern))
                    c.targetModules.push_back(name);
            }
        } else {
            c.targetModules = targets.get<std::vector<std::string>>();
        }
    } catch (const json::exception& e) {
        throw Error(source + ": " + e.what() + " (expected PEFT's adapter_config.json keys r, "
                    "lora_alpha, target_modules)");
    } catch (const std::regex_error& e) {
        throw Error(source + ": target_modules is not a valid regular expression");
    }
    try {
        c.validate();
    } catch (const Error& e) {
        throw Error(source + ": " + e.what());
    }
    return c;
}

void LanguageModel::attachNewAdapter(const LoraConfig& config, uint64_t seed)
{
    config.validate();
    LlamaImpl& model = *m_impl->model;
    clearAdapters(model);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const auto options = torch::TensorOptions().dtype(torch::kFloat32);
    for (auto& [name, projection] : model.namedProjections()) {
        const std::string module = shortName(name);
        if (std::find(config.targetModules.begin(), config.targetModules.end(), module)
            == config.targetModules.end())
            continue;
        auto lora = std::make_shared<LoraWeights>();
        // Kaiming-uniform with a = sqrt(5) (PEFT, torchtune): bound = 1 / sqrt(fan_in).
        const double bound = 1.0 / std::sqrt(double(projection->inFeatures));
        lora->a = torch::empty({config.rank, projection->inFeatures}, options)
                      .uniform_(-bound, bound, generator);
        lora->b = torch::zeros({projection->outFeatures, config.rank}, options);
        lora->a = lora->a.to(model.deviceOf(), model.dtypeOf()).set_requires_grad(true);
        lora->b = lora->b.to(model.deviceOf(), model.dtypeOf()).set_requires_grad(true);
        lora->scaling = config.scaling();
        lora->dropout = config.dropout;
        projection->lora = lora;
    }
    m_impl->adapter = config;
    if (m_impl->adapter->baseModel.empty())
        m_impl->adapter->baseModel = m_impl->directory;
}

LoadedAdapter readAdapter(LlamaImpl& model, const std::string& directory,
                          const std::string& baseDirectory)
{
    const fs::path dir(directory);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        throw Error("adapter folder " + directory + " does not exist (expected PEFT's "
                    "adapter_config.json and adapter_model.safetensors)");
    }
    const fs::path configPath = dir / "adapter_config.json";
    const fs::path weightsPath = dir / "adapter_model.safetensors";
    if (!fs::exists(configPath, ec))
        throw Error("adapter folder " + directory + " has no adapter_config.json");
    if (!fs::exists(weightsPath, ec)) {
        throw Error("adapter folder " + directory + " has no adapter_model.safetensors"
                    + (fs::exists(dir / "adapter_model.bin", ec)
                           ? std::string(" (only the pickle adapter_model.bin; convert it to "
                                         "safetensors)")
                           : std::string()));
    }
    const LoraConfig config = LoraConfig::fromJson(readFile(configPath.string()),
                                                   configPath.string());
    const SafetensorsFile file = SafetensorsFile::open(weightsPath.string());

    std::map<std::string, Projection> projectionsByName;
    for (auto& [name, projection] : model.namedProjections())
        projectionsByName.emplace(name, projection);

    // Validate everything before touching the model, so that a bad adapter changes nothing.
    struct Pair {
        const TensorInfo* a = nullptr;
        const TensorInfo* b = nullptr;
    };
    std::map<std::string, Pair> pairs;
    for (const TensorInfo& info : file.tensors()) {
        std::string key = info.name;
        if (key.rfind(kPeftPrefix, 0) == 0)
            key = key.substr(kPeftPrefix.size());
        // Files saved with the adapter's name inside the key: "lora_A.default.weight".
        static const std::regex named(R"(\.(lora_[AB])\.[A-Za-z0-9_\-]+\.weight$)");
        key = std::regex_replace(key, named, ".$1.weight");
        const bool isA = key.size() > 14 && key.compare(key.size() - 14, 14, ".lora_A.weight") == 0;
        const bool isB = key.size() > 14 && key.compare(key.size() - 14, 14, ".lora_B.weight") == 0;
        if (!isA && !isB) {
            throw Error("adapter tensor '" + info.name + "' in " + weightsPath.string()
                        + " is not a lora_A/lora_B weight of a linear projection; MoIN Studio "
                          "loads LoRA adapters of Llama's projections only");
        }
        const std::string module = key.substr(0, key.size() - 14);
        if (!projectionsByName.count(module)) {
            throw Error("LoRA tensor '" + info.name + "' does not exist in base model "
                        + (baseDirectory.empty() ? std::string("") : baseDirectory + " ")
                        + "(no projection '" + module
                        + "'; hint: maybe wrong base model? the adapter was made for '"
                        + config.baseModel + "')");
        }
        (isA ? pairs[module].a : pairs[module].b) = &info;
    }
    if (pairs.empty())
        throw Error("adapter " + weightsPath.string() + " holds no LoRA tensors");
    for (const auto& [module, pair] : pairs) {
        const Projection& projection = projectionsByName.at(module);
        const std::string prefix = kPeftPrefix + module;
        if (!pair.a || !pair.b) {
            throw Error("LoRA tensor '" + prefix + (pair.a ? ".lora_B.weight" : ".lora_A.weight")
                        + "' is missing from " + weightsPath.string() + " (its "
                        + (pair.a ? "lora_A" : "lora_B") + " is present)");
        }
        const std::vector<int64_t> expectA = {config.rank, projection->inFeatures};
        const std::vector<int64_t> expectB = {projection->outFeatures, config.rank};
        for (const auto& [info, expected] : {std::make_pair(pair.a, expectA),
                                             std::make_pair(pair.b, expectB)}) {
            if (info->shape != expected) {
                throw Error("LoRA tensor '" + info->name + "' has shape "
                            + shapeText(info->shape) + "; expected " + shapeText(expected)
                            + " (rank " + std::to_string(config.rank)
                            + " from adapter_config.json and the base model's projection; "
                              "hint: maybe wrong base model or wrong r?)");
            }
        }
    }

    LoadedAdapter adapter;
    adapter.config = config;
    torch::NoGradGuard noGrad;
    for (const auto& [module, pair] : pairs) {
        auto lora = std::make_shared<LoraWeights>();
        lora->a = tensorView(file, *pair.a).to(model.deviceOf(), model.dtypeOf()).clone();
        lora->b = tensorView(file, *pair.b).to(model.deviceOf(), model.dtypeOf()).clone();
        lora->scaling = config.scaling();
        lora->dropout = config.dropout;
        adapter.bytes += int64_t(lora->a.nbytes() + lora->b.nbytes());
        adapter.byProjection.emplace(module, lora);
    }
    const auto projections = model.namedProjections();
    adapter.byIndex.assign(projections.size(), nullptr);
    for (size_t i = 0; i < projections.size(); ++i) {
        if (auto found = adapter.byProjection.find(projections[i].first);
            found != adapter.byProjection.end())
            adapter.byIndex[i] = found->second.get();
    }
    return adapter;
}

void LanguageModel::loadAdapter(const std::string& directory)
{
    LlamaImpl& model = *m_impl->model;
    LoadedAdapter adapter = readAdapter(model, directory, m_impl->directory);
    // Validated and read in full: only now is the model changed.
    clearAdapters(model);
    for (auto& [name, projection] : model.namedProjections()) {
        if (auto found = adapter.byProjection.find(name); found != adapter.byProjection.end())
            projection->lora = found->second;
    }
    m_impl->adapter = adapter.config;
}

void LanguageModel::saveAdapter(const std::string& directory) const
{
    if (!m_impl->adapter)
        throw Error("no adapter is attached to the model; nothing to save");
    std::error_code ec;
    fs::create_directories(directory, ec);
    if (ec)
        throw Error("cannot create adapter folder " + directory + ": " + ec.message());
    SafetensorsWriter writer;
    std::vector<torch::Tensor> keepAlive;
    for (const auto& [name, projection] : m_impl->model->namedProjections()) {
        if (!projection->lora)
            continue;
        keepAlive.push_back(projection->lora->a.detach().to(torch::kCPU, torch::kFloat32)
                                .contiguous());
        addTensor(writer, kPeftPrefix + name + ".lora_A.weight", keepAlive.back());
        keepAlive.push_back(projection->lora->b.detach().to(torch::kCPU, torch::kFloat32)
                                .contiguous());
        addTensor(writer, kPeftPrefix + name + ".lora_B.weight", keepAlive.back());
    }
    writer.setMetadata({{"format", "pt"}});
    // Weights first: a folder whose config exists always has its weights beside it.
    writer.write((fs::path(directory) / "adapter_model.safetensors").string());
    writeFileAtomically((fs::path(directory) / "adapter_config.json").string(),
                        m_impl->adapter->toJson());
}

void LanguageModel::detachAdapter()
{
    clearAdapters(*m_impl->model);
    m_impl->adapter.reset();
}

bool LanguageModel::hasAdapter() const { return m_impl->adapter.has_value(); }

std::optional<LoraConfig> LanguageModel::adapterConfig() const { return m_impl->adapter; }

void LanguageModel::mergeAdapter()
{
    if (!m_impl->adapter)
        throw Error("no adapter is attached to the model; nothing to merge");
    torch::NoGradGuard noGrad;
    for (auto& [name, projection] : m_impl->model->namedProjections()) {
        if (!projection->lora)
            continue;
        const LoraWeights& lora = *projection->lora;
        // W (out, in) += scaling * B (out, r) @ A (r, in), accumulated in float32.
        const torch::Tensor delta =
            torch::matmul(lora.b.to(torch::kFloat32), lora.a.to(torch::kFloat32)) * lora.scaling;
        projection->weight.copy_(projection->weight.to(torch::kFloat32) + delta);
    }
    detachAdapter();
}

} // namespace moin
